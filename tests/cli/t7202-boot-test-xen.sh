#!/bin/sh
# t7202-boot-test-xen.sh - real Xen once: the universal recipe (the demo's)
# built with Loader=systemd-boot (boot-test starts Xen from a systemd-boot
# entry; the template's GRUB entry for Xen is not booted by it: see
# docs/xen.md) and booted through OVMF and systemd-boot into its Xen entry, Debian's Xen 4.17
# under QEMU, the image as its control domain: the agent must detect xen/dom0
# and activate xen-dom0 (the toolstack installed, xenstored and xenconsoled
# running, xl info answering, all asked through dom0's QEMU guest agent),
# then a PV guest of the same image started in it with xl create, whose
# agent must detect xen/pv and activate xen-pv (--as xen-pv); and a dom0
# that crashes (a CPU with SMAP) failing with Xen's own lines. The one Xen
# test of make check (about 9-13 minutes under TCG, most of it the first
# boots' package installs): skipped with ENLIGHTEN_SKIP_BOOT=1 or
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

# Then a PV guest of the same image in that dom0 (--as xen-pv), whose
# agent's line must come back through dom0
ok "boot it into Xen as its dom0, then a PV guest in it" \
	enlighten boot-test "$img" --as xen-pv --timeout 1800 --keep-log logs
rc=$?
out=$(last_output)
like "the Xen entry made the default and booted through the firmware" "$out" \
	"boot 1/1 as xen-pv: firmware boot of entry 'linux-universal-xen.conf': Xen"
like "Xen's banner and dom0's kernel timed" "$out" "xen:    Xen's banner at [0-9.]+ s, dom0's kernel at [0-9.]+ s, dom0's userspace at"
like "dom0 detected, xen-dom0 activated" "$out" "agent:  enlighten: hypervisor=xen role=dom0 profile=xen-dom0"
like "the toolstack's service runs" "$out" "service xen.service: active"
like "xenstored runs" "$out" "process xenstored.oxenstored: running"
like "xenconsoled runs" "$out" "process xenconsoled: running"
like "xl info answers with Xen 4.17" "$out" "command /usr/sbin/xl info: exit 0, version 4\.17"
like "the PV guest's agent line came back from dom0" "$out" \
	"domu:   enlighten: hypervisor=xen role=guest profile=xen-pv changed=yes"
like "the PV guest's line timed" "$out" "domu:   its line [0-9.]+ s after dom0's agent line"
like "the boot passed" "$out" "result: PASS: xen-dom0 activated, detected \(hypervisor=xen role=dom0\)"
unlike "nothing failed" "$out" "FAIL"
if [ $rc -ne 0 ]; then
	keep=$ENLIGHTEN_BUILDDIR/test-logs/t7202
	rm -rf "$keep" && mkdir -p "$keep" && cp -r logs/. "$keep/"
	echo "#   console logs kept in $keep"
fi

done_testing
