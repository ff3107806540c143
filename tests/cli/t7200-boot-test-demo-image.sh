#!/bin/sh
# t7200-boot-test-demo-image.sh - the real thing once: build the demo image
# (make demo-image: the Debian kernel and generic initramfs, busybox, rpm and
# the agent, the universal recipe) and boot it as kvm through OVMF and
# systemd-boot; the first-boot agent must detect the guest and activate
# kvm-guest. Slow: skipped with ENLIGHTEN_SKIP_BOOT=1, and under the
# sanitizer build (the guest would run the instrumented agent). The fast
# path, forced profiles and migration are t7100's (on a small disk) and
# `make demo`'s (on this image).
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

[ "${ENLIGHTEN_SKIP_BOOT:-0}" = 1 ] && skip_all "ENLIGHTEN_SKIP_BOOT=1"
[ "${ENLIGHTEN_SANITIZE:-0}" = 1 ] && skip_all "sanitizer build: the guest would run the instrumented agent"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
[ -r /usr/share/OVMF/OVMF_CODE.fd ] || skip_all "OVMF missing"

img=$ENLIGHTEN_BUILDDIR/demo/out/linux-universal.qcow2
# a make of its own, not a job of the make that runs the tests
ok "make demo-image" env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$SRC" --no-print-directory demo-image
[ $? -eq 0 ] || { done_testing; }

ok "boot the demo image as kvm" enlighten boot-test "$img" --as kvm --timeout 900 --keep-log logs
rc=$?
out=$(last_output)
like "booted through the firmware and systemd-boot" "$out" "boot 1/1 as kvm: firmware boot of entry 'linux-universal.conf'"
like "the agent activated kvm-guest, detected" "$out" "result: PASS: kvm-guest activated, detected \(hypervisor=(kvm|qemu) role=guest\), changed=yes"
if [ $rc -ne 0 ]; then
	keep=$ENLIGHTEN_BUILDDIR/test-logs/t7200
	rm -rf "$keep" && mkdir -p "$keep" && cp -r logs/. "$keep/"
	echo "#   console logs kept in $keep"
fi

done_testing
