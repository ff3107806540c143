#!/bin/sh
# t7202-boot-test-xen.sh - real Xen once: the universal recipe (the demo's)
# built with Loader=systemd-boot (boot-test starts Xen from a systemd-boot
# entry; the template's GRUB entry for Xen is not booted by it: see
# docs/xen.md) and booted through OVMF and systemd-boot into its Xen entry,
# Debian's Xen 4.17 under QEMU, an overlay of the image as its control
# domain: the agent must detect xen/dom0 and activate xen-dom0 (the
# toolstack installed, xenstored and xenconsoled running, xl info
# answering, all asked through dom0's QEMU guest agent). The disk under
# test goes from kvm into a PV guest of that dom0 and back (--as kvm
# --then xen-pv --then kvm): the guest's agent must detect xen/pv and move
# the disk from kvm-guest to xen-pv (console=hvc0 on its entry), and the
# kvm boot after it must reach the agent and move it back. And a dom0 that
# crashes (a CPU with SMAP) fails with Xen's own lines. The one Xen test
# of make check (about 7-13 minutes under TCG, most of it dom0's first
# boot installing the toolstack): skipped with ENLIGHTEN_SKIP_BOOT=1 or
# ENLIGHTEN_SKIP_XEN=1, and under the sanitizer build.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

[ "${ENLIGHTEN_SKIP_BOOT:-0}" = 1 ] && skip_all "ENLIGHTEN_SKIP_BOOT=1"
[ "${ENLIGHTEN_SKIP_XEN:-0}" = 1 ] && skip_all "ENLIGHTEN_SKIP_XEN=1"
[ "${ENLIGHTEN_SANITIZE:-0}" = 1 ] && skip_all "sanitizer build: the guest would run the instrumented agent"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
command -v qemu-io >/dev/null || skip_all "qemu-io missing"
[ -r /usr/share/OVMF/OVMF_CODE.fd ] || skip_all "OVMF missing"
[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi missing"

universal_sdboot || done_testing
img=out/linux-universal.qcow2

# A Xen that does not come up: the CPU with SMAP, on which Xen 4.17 under
# TCG crashes dom0 at once; the boot fails with Xen's own last lines, not
# a timeout.
cat > qemu-smap <<'EOF'
#!/bin/sh
for a; do shift; case $a in max,-smap,-rdtscp*) a=max ;; esac; set -- "$@" "$a"; done
exec qemu-system-x86_64 "$@"
EOF
chmod +x qemu-smap
ENLIGHTEN_QEMU=$PWD/qemu-smap enlighten boot-test "$img" --as xen-dom0 --timeout 900 --keep-log smap-logs >smap.out 2>&1
is "a dom0 that crashes fails the boot" "$?" 1
like "with Xen's own verdict" "$(cat smap.out)" "result: FAIL: Xen stopped: \\(XEN\\) Hardware Dom0 crashed"
like "and Xen's last console lines" "$(cat smap.out)" "console: \\(XEN\\) Hardware Dom0 crashed: 'noreboot' set"
unlike "not a timeout" "$(cat smap.out)" "no agent summary line within"

# Then the disk moved from KVM into a PV guest of Xen and back: booted as
# kvm, then Xen with dom0 on an overlay of its own and this disk a PV guest
# in it (its own entry's kernel, initrd and command line), whose agent's
# line must come back through dom0 and whose disk must show the move from
# kvm-guest (console=hvc0 on its entry), then as kvm again
ok "boot it as kvm, then as a PV guest of Xen (dom0 on its own overlay), then as kvm" \
	enlighten boot-test "$img" --as kvm --then xen-pv --then kvm --timeout 1800 --keep-log logs
rc=$?
out=$(last_output)
b1=$(printf '%s\n' "$out" | sed -n '/^boot 1\/3/,/^boot 2\/3/p')
b2=$(printf '%s\n' "$out" | sed -n '/^boot 2\/3/,/^boot 3\/3/p')
b3=$(printf '%s\n' "$out" | sed -n '/^boot 3\/3/,$p')
like "the first boot converges to kvm" "$b1" \
	"agent:  enlighten: hypervisor=qemu role=guest profile=kvm-guest changed=yes"
like "the Xen entry made the default and booted through the firmware" "$b2" \
	"boot 2/3 as xen-pv: firmware boot of entry 'linux-universal-xen.conf': Xen"
like "Xen's banner and dom0's kernel timed" "$b2" "xen:    Xen's banner at [0-9.]+ s, dom0's kernel at [0-9.]+ s, dom0's userspace at"
like "dom0 detected, xen-dom0 activated" "$b2" "agent:  enlighten: hypervisor=xen role=dom0 profile=xen-dom0"
like "the toolstack's service runs" "$b2" "service xen.service: active"
like "xenstored runs" "$b2" "process xenstored.oxenstored: running"
like "xenconsoled runs" "$b2" "process xenconsoled: running"
like "xl info answers with Xen 4.17" "$b2" "command /usr/sbin/xl info: exit 0, version 4\.17"
like "the guest booted its own disk's entry" "$b2" \
	"domu:   xl create, type pv, in dom0: the kernel '[^']+', initrd and command line of the entry 'linux-universal.conf' of its disk"
like "the PV guest's agent line came back from dom0" "$b2" \
	"domu:   enlighten: hypervisor=xen role=guest profile=xen-pv changed=yes"
like "the PV guest's line timed" "$b2" "domu:   its line [0-9.]+ s after dom0's agent line"
like "its disk shows the move from kvm-guest" "$b2" \
	"domu changes: [0-9]+ in report.json \(complete, from profile kvm-guest"
like "xen-blkfront listed, the root found through it" "$b2" "domu module xen-blkfront: listed"
like "the guest's agent put console=hvc0 on its entry" "$b2" \
	"domu changed: kernel arguments in [^:]+: add \[console=hvc0\]"
like "console=hvc0 on the guest's boot entry" "$b2" \
	"domu kernel-arg console=hvc0: on the boot entry's command line"
like "the move into Xen passed" "$b2" \
	"result: PASS: xen-dom0 activated, detected \(hypervisor=xen role=dom0\)"
like "back on kvm: the agent's line" "$b3" \
	"agent:  enlighten: hypervisor=qemu role=guest profile=kvm-guest changed=yes"
like "changed from xen-pv" "$b3" "changes: [0-9]+ in report.json \(complete, from profile xen-pv"
like "console=hvc0 taken off the entry again" "$b3" \
	"changed: kernel arguments in [^:]+: add \[\] remove \[[^]]*console=hvc0"
like "all three boots passed" "$out" "boot-test: PASS, 3 of 3 boots matched"
unlike "nothing failed" "$out" "FAIL"
if [ $rc -ne 0 ]; then
	keep=$ENLIGHTEN_BUILDDIR/test-logs/t7202
	rm -rf "$keep" && mkdir -p "$keep" && cp -r logs/. "$keep/"
	echo "#   console logs kept in $keep"
fi

done_testing
