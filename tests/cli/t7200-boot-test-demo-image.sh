#!/bin/sh
# t7200-boot-test-demo-image.sh - the real thing once, through systemd-boot:
# the universal recipe (the demo's, which boots through GRUB: t7201 and
# `make demo`) built with Loader=systemd-boot, from the demo's base and
# repository (the Debian kernel and generic initramfs, busybox, rpm and the
# agent), and booted as kvm through OVMF and systemd-boot (the agent must
# detect the guest and activate kvm-guest, and the guest agent must show its
# service running and modules loaded), then moved to VMware and to a
# bare-metal server, both detected; then, converged as kvm again, moved to
# hyperv (forced) and back to kvm. (xen-hvm is a real HVM guest of a real
# dom0 now: t7204, ENLIGHTEN_SLOW_TESTS=1.) Slow: skipped with ENLIGHTEN_SKIP_BOOT=1, and
# under the sanitizer build (the guest would run the instrumented agent).
# The fast path, forced profiles and migration are t7100's (on a small disk)
# and `make demo`'s (on the demo image).
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

[ "${ENLIGHTEN_SKIP_BOOT:-0}" = 1 ] && skip_all "ENLIGHTEN_SKIP_BOOT=1"
[ "${ENLIGHTEN_SANITIZE:-0}" = 1 ] && skip_all "sanitizer build: the guest would run the instrumented agent"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
[ -r /usr/share/OVMF/OVMF_CODE.fd ] || skip_all "OVMF missing"
[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi missing"

universal_sdboot || done_testing
img=out/linux-universal.qcow2

ok "boot it as kvm, then vmware, then metal" \
	enlighten boot-test "$img" --as kvm --then vmware --then metal --timeout 900 --keep-log logs
rc=$?
out=$(last_output)
like "booted through the firmware and systemd-boot" "$out" "boot 1/3 as kvm: firmware boot of entry 'linux-universal.conf'"
like "the agent activated kvm-guest, detected" "$out" "result: PASS: kvm-guest activated, detected \(hypervisor=(kvm|qemu) role=guest\), changed=yes"
# asked from outside, through the QEMU guest agent
like "the guest agent answered with the system" "$out" "guest:  Debian GNU/Linux 12 \(bookworm\), kernel 6\.1\."
like "the profile's service runs" "$out" "service qemu-guest-agent.service: active \(running\)"
like "the profile's modules are loaded" "$out" "module virtio_balloon: loaded"
like "report.json read back: dpkg installed the profile's package" "$out" "changed: packages: install \[enlighten-ic-kvm-guest\]"
like "the agent's own run time measured" "$out" "agent:  ran [0-9.]+ s"
unlike "nothing inside the guest failed" "$out" "FAIL"
# VMware found for real (SMBIOS serial and the backdoor port), not forced
like "vmware detected, not forced" "$out" "result: PASS: vmware-guest activated, detected \(hypervisor=vmware role=guest\), changed=yes"
# no guest agent there (a virtio channel would show the detector KVM): the
# disk is read once the guest powered off
like "vmware's disk read after it powered off" "$out" "guest:  Debian GNU/Linux 12 \(bookworm\), read from its disk after it powered off"
like "... open-vm-tools enabled" "$out" "service open-vm-tools.service: enabled \(linked in /etc/systemd/system/multi-user.target.wants"
like "... vmxnet3 listed for loading" "$out" "module vmxnet3: listed in /etc/modules-load.d/enlighten.conf"
like "... open-vm-tools installed by dpkg" "$out" "package open-vm-tools: installed"
like "... report.json read from the disk" "$out" "changed: enable open-vm-tools.service"
# a server without a hypervisor: no CPUID bit, no SMBIOS VM bit
like "metal detected" "$out" "result: PASS: metal activated, detected \(hypervisor=none role=none\), changed=yes"
like "metal: VMware's tools erased (report.json, from the disk)" "$out" "changed: packages: install \[enlighten-ic-metal\] erase \[enlighten-ic-vmware-guest open-vm-tools\]"
like "all three boots" "$out" "boot-test: PASS, 3 of 3 boots matched"

# A move never needs a human: converged as kvm, the same disk boots its
# default entry (the generic initrd; a Debian root makes no host-only one)
# as hyperv, forced (no Hyper-V under TCG), and back as kvm, and the agent
# activates each; the summary line is what is checked (the Hyper-V daemons
# cannot run off VMBus)
ok "boot it as kvm, then move it to hyperv and back to kvm" \
	enlighten boot-test "$img" --as kvm --then hyperv --then kvm --line-only --timeout 900 --keep-log logs/move
rc2=$?
out=$(last_output)
like "kvm-guest activated" "$out" "result: PASS: kvm-guest activated, detected"
like "the move to hyperv boots the default entry" "$out" "boot 2/3 as hyperv: direct boot of entry 'linux-universal.conf', profile forced"
like "... reaches the agent, which activates hyperv-guest" "$out" "profile=hyperv-guest changed=yes forced=yes"
like "the move back to kvm boots it too" "$out" "boot 3/3 as kvm: firmware boot"
like "... and the agent activates kvm-guest again" "$out" "profile=kvm-guest changed=yes"
like "all three boots" "$out" "boot-test: PASS, 3 of 3 boots matched"
if [ $rc -ne 0 ] || [ $rc2 -ne 0 ]; then
	keep=$ENLIGHTEN_BUILDDIR/test-logs/t7200
	rm -rf "$keep" && mkdir -p "$keep" && cp -r logs/. "$keep/"
	echo "#   console logs kept in $keep"
fi

done_testing
