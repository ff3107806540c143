#!/bin/sh
# t7204-boot-test-xen-hvm.sh - a real Xen HVM guest: the universal recipe as
# it is (GRUB, one disk for BIOS and UEFI) booted as kvm, then moved into an
# HVM guest of real Xen under QEMU (--as kvm --then xen-hvm): dom0 from
# GRUB's Xen entry on an overlay of its own (its agent installs the
# toolstack and the device model, qemu-system-xen), and in it the run's
# disk started with `xl create` (type hvm), booted as a machine boots it:
# hvmloader and SeaBIOS read its partition table and start the GRUB in its
# MBR. The guest's agent must detect xen / hvm and move the disk from
# kvm-guest to xen-hvm, its line read back through dom0 from the serial
# port of its device model; the times come back in --json. Then a dom0
# without the device model (the profile matrix without qemu-system-xen):
# the boot fails with xl's own lines, not a timeout.
# Slow (the HVM guest is nested under TCG: about 15-25 minutes in all):
# run only with ENLIGHTEN_SLOW_TESTS=1 (make check-slow); skipped as well
# with ENLIGHTEN_SKIP_BOOT=1 or ENLIGHTEN_SKIP_XEN=1 and under the
# sanitizer build.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

[ "${ENLIGHTEN_SLOW_TESTS:-0}" = 1 ] ||
	skip_all "slow (an HVM guest nested under TCG, 15-25 minutes): ENLIGHTEN_SLOW_TESTS=1 or make check-slow runs it"
[ "${ENLIGHTEN_SKIP_BOOT:-0}" = 1 ] && skip_all "ENLIGHTEN_SKIP_BOOT=1"
[ "${ENLIGHTEN_SKIP_XEN:-0}" = 1 ] && skip_all "ENLIGHTEN_SKIP_XEN=1"
[ "${ENLIGHTEN_SANITIZE:-0}" = 1 ] && skip_all "sanitizer build: the guest would run the instrumented agent"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
command -v qemu-io >/dev/null || skip_all "qemu-io missing"
command -v jq >/dev/null || skip_all "jq missing"
[ -r /usr/share/OVMF/OVMF_CODE.fd ] || skip_all "OVMF missing"
[ -r /usr/lib/grub/x86_64-efi/normal.mod ] || skip_all "grub-efi-amd64-bin missing"
[ -r /usr/lib/grub/i386-pc/boot.img ] || skip_all "grub-pc-bin missing"
[ -r /usr/lib/shim/shimx64.efi.signed ] || skip_all "shim-signed missing"
[ -r /usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed ] || skip_all "grub-efi-amd64-signed missing"

demo_inputs || done_testing

universal_qcow2 universal-hvm "build the universal recipe as it is (GRUB, BIOS and UEFI)"

keep_on_failure() { # RC DIR
	[ "$1" -eq 0 ] && return
	keep=$ENLIGHTEN_BUILDDIR/test-logs/t7204
	rm -rf "$keep" && mkdir -p "$keep" && cp -r "$2" "$keep/"
	echo "#   console logs kept in $keep"
}

enlighten boot-test out/universal-hvm.qcow2 --as kvm --then xen-hvm --timeout 2400 \
	--keep-log logs --json >hvm.json 2>hvm.err
rc=$?
is "boot it as kvm, then as an HVM guest of Xen (dom0 on its own overlay)" $rc 0
keep_on_failure $rc logs
[ $rc -eq 0 ] || sed 's/^/#   /' hvm.err | tail -40
out=$(cat hvm.err)
b2=$(printf '%s\n' "$out" | sed -n '/^boot 2\/2/,$p')
like "the first boot converges to kvm" "$out" \
	"agent:  enlighten: hypervisor=(qemu|kvm) role=guest profile=kvm-guest changed=yes"
like "dom0 from GRUB's Xen entry" "$b2" "boot 2/2 as xen-hvm: firmware boot of entry 'enlighten-xen': Xen"
like "dom0 detected, xen-dom0 activated" "$b2" "agent:  enlighten: hypervisor=xen role=dom0 profile=xen-dom0"
like "xl info answers" "$b2" "command /usr/sbin/xl info: exit 0, version 4\.17"
like "the guest is the run's disk, booted from its MBR" "$b2" \
	"domu:   xl create, type hvm, in dom0: the run's disk \(dom0 on another overlay\) booted by hvmloader and SeaBIOS from its MBR"
like "the HVM guest's agent line came back from dom0" "$b2" \
	"domu:   enlighten: hypervisor=xen role=guest profile=xen-hvm changed=yes"
like "its line timed" "$b2" "domu:   its line [0-9.]+ s after dom0's agent line, [0-9.]+ s after power-on"
like "its disk shows the move from kvm-guest" "$b2" \
	"domu changes: [0-9]+ in report.json \(complete, from profile kvm-guest"
like "xen_emul_unplug on the guest's boot entry" "$b2" \
	"domu kernel-arg xen_emul_unplug=ide-disks,nics: on the boot entry's command line"
like "the move into the HVM guest passed" "$b2" "result: PASS: xen-dom0 activated"
like "both boots passed" "$out" "boot-test: PASS, 2 of 2 boots matched"
j() { jq -r "$1" hvm.json; }
is "json: the guest's type" "$(j '.boots[1].domu.type')" hvm
like "json: the guest's line" "$(j '.boots[1].domu.summary')" "profile=xen-hvm changed=yes"
like "json: dom0's userspace" "$(j '.boots[1].seconds_to_dom0_userspace')" "^[0-9.]+$"
like "json: dom0's agent line" "$(j '.boots[1].seconds_to_summary')" "^[0-9.]+$"
like "json: the guest's line after dom0's" "$(j '.boots[1].domu.seconds_after_dom0_line')" "^[0-9.]+$"
like "json: the guest's line after power-on" "$(j '.boots[1].domu.seconds_after_power_on')" "^[0-9.]+$"

# A dom0 without the device model: the same recipe built with a profile
# matrix whose xen-dom0 lacks qemu-system-xen, as a host set up for PV
# guests only. boot-test fails the HVM guest before xl create, naming the
# device model and its package.
mkdir -p data
cp -R "$SRC/payloads" "$SRC/firstboot" "$SRC/templates" data/
sed -i '/^\[Debian\]/,/^\[/s/^Packages=enlighten-ic-xen-dom0 xen-utils-4.17 qemu-system-xen$/Packages=enlighten-ic-xen-dom0 xen-utils-4.17/' \
	data/payloads/profiles/xen-dom0.conf
unlike "the matrix's xen-dom0 without the device model" "$(cat data/payloads/profiles/xen-dom0.conf)" \
	"^Packages=.*qemu-system-xen"
universal_qcow2 universal-nodm "build it with that matrix" "$PWD/data"
exits 1 "an HVM guest in a dom0 without the device model" \
	enlighten boot-test out/universal-nodm.qcow2 --as xen-hvm --timeout 1800 --keep-log nodm-logs
out=$(last_output)
printf '%s\n' "$out" | grep -q 'dom0 cannot run the hvm guest' || keep_on_failure 1 nodm-logs
like "dom0 itself passed its checks" "$out" "agent:  enlighten: hypervisor=xen role=dom0 profile=xen-dom0"
like "fails before xl create, naming the device model and its package" "$out" \
	"result: FAIL: dom0 cannot run the hvm guest: no device model for HVM guests in dom0 .*qemu-system-xen"
like "the line shown as the guest's console" "$out" "domu console: no device model for HVM guests"
unlike "not a timeout" "$out" "no summary line from the hvm guest within the time limit"

done_testing
