#!/bin/sh
# t8004-dual-disk-boot.sh - the Linux half of the dual factory disk boots:
# a disk with ESP, MSR, the Windows NTFS partition (from a synthetic
# install.wim) and the Linux root built on the demo base, booted through
# OVMF and systemd-boot (whose default is the Linux entry) as kvm; the
# first-boot agent must detect the guest and activate kvm-guest. Slow:
# skipped with ENLIGHTEN_SKIP_BOOT=1 and under the sanitizer build, as t7200.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/windows-lib.sh"

[ "${ENLIGHTEN_SKIP_BOOT:-0}" = 1 ] && skip_all "ENLIGHTEN_SKIP_BOOT=1"
[ "${ENLIGHTEN_SANITIZE:-0}" = 1 ] && skip_all "sanitizer build: the guest would run the instrumented agent"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
[ -r /usr/share/OVMF/OVMF_CODE.fd ] || skip_all "OVMF missing"

demo=$ENLIGHTEN_BUILDDIR/demo
# the demo base, signed repository and key; a make of its own
ok "make demo-image" env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$SRC" --no-print-directory demo-image
[ $? -eq 0 ] || done_testing

make_wim install.wim ddb
mkdir -p drivers/viostor
cp "$FIXTURES/inf/viostor.inf" drivers/viostor/
echo driver >drivers/viostor/viostor.sys
make_cat drivers/viostor viostor
cat >dual.conf <<CONF
[Image]
Name=dual
Demo=yes
Size=1200M
Formats=raw qcow2

[Partitions]
ESPSize=128M

[Base]
Tarball=$demo/base.tar.zst

[Payloads]
Source=$demo/repo
PublicKey=$demo/enlighten-demo.pub
PublicKeyIsDemo=yes

[Boot]
KernelCommandLine=console=ttyS0 quiet

[Windows]
InstallWim=install.wim
Size=48M
Drivers=kvm-guest=drivers/viostor
BootCritical=viostor
CONF
mkdir out
ok "build the dual disk on the demo base" env ENLIGHTEN_DATADIR="$SRC" enlighten build dual.conf --output-dir out
like "both systems on one GPT" "$(sfdisk -d out/dual.raw | grep -c 'start=')" "^4$"

ok "boot the dual disk's Linux half as kvm" enlighten boot-test out/dual.qcow2 --as kvm --timeout 900 --keep-log logs
rc=$?
out=$(last_output)
like "booted through the firmware and systemd-boot's default entry" "$out" "boot 1/1 as kvm: firmware boot of entry 'dual.conf'"
like "the agent activated kvm-guest, detected" "$out" "result: PASS: kvm-guest activated, detected \(hypervisor=(kvm|qemu) role=guest\), changed=yes"
if [ $rc -ne 0 ]; then
	keep=$ENLIGHTEN_BUILDDIR/test-logs/t8004
	rm -rf "$keep" && mkdir -p "$keep" && cp -r logs/. "$keep/"
	echo "#   console logs kept in $keep"
fi

done_testing
