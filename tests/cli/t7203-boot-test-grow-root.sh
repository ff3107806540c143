#!/bin/sh
# t7203-boot-test-grow-root.sh - a factory writes a small image onto a
# larger disk: the universal recipe's 1 GiB image on a disk enlarged to
# 3 GiB with qemu-img resize, booted as kvm (through shim and GRUB, which
# find the root by its filesystem's UUID). At the first boot the agent
# must move the backup GPT to the disk's end, grow the root partition (the
# third: from 130 MiB, after the 1 MiB BIOS boot partition and the 128 MiB
# ESP, to the last usable sector: 2941 MiB in whole MiB) and resize its ext4
# online, before activating; the second boot finds nothing
# to grow. Checked from outside: the boot test's look at the root (lsblk in
# the guest, through the QEMU guest agent) and the console. Slow: skipped
# with ENLIGHTEN_SKIP_BOOT=1 and under the sanitizer build (the guest would
# run the instrumented agent).
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

[ "${ENLIGHTEN_SKIP_BOOT:-0}" = 1 ] && skip_all "ENLIGHTEN_SKIP_BOOT=1"
[ "${ENLIGHTEN_SANITIZE:-0}" = 1 ] && skip_all "sanitizer build: the guest would run the instrumented agent"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
[ -r /usr/share/OVMF/OVMF_CODE.fd ] || skip_all "OVMF missing"

# a make of its own, not a job of the make that runs the tests; its targets
# as the Makefile names them (relative), so a fresh tree makes them
demo_inputs || done_testing

universal_qcow2 grow "build the universal recipe (1 GiB)"
cp out/grow.qcow2 disk.qcow2
ok "enlarge its disk to 3 GiB" qemu-img resize -q disk.qcow2 3G

enlighten boot-test disk.qcow2 --as kvm --boots 2 --timeout 900 --keep-log logs --json >boot.json 2>boot.err
rc=$?
is "boot it twice as kvm" $rc 0
if [ $rc -ne 0 ]; then
	sed 's/^/#   /' boot.err
	keep=$ENLIGHTEN_BUILDDIR/test-logs/t7203
	rm -rf "$keep" && mkdir -p "$keep" && cp -r logs/. "$keep/" && echo "#   console logs kept in $keep"
fi
console=$(tr -d '\r' <logs/boot-1-kvm.console.log)
like "the agent grew the root at the first boot" "$console" \
	"grew the root: partition 3 of '/dev/vda' to the disk's end \(3072 MiB\), its ext4 from [0-9]+ to 2941 MiB"
like "... then activated kvm-guest" "$console" "enlighten: hypervisor=(kvm|qemu) role=guest profile=kvm-guest changed=yes"
unlike "... with no warning" "$console" "cannot grow|not the last|not ext4"

# from outside: lsblk in the guest, through the QEMU guest agent
root() { jq -r ".boots[$1].guest.checks[] | select(.kind == \"root\") | .detail" boot.json; }
like "the root fills the disk after the first boot" "$(root 0)" \
	"^ext4 2[89][0-9][0-9] MiB on vda3 \(2941 MiB\) of disk vda \(3072 MiB\)$"
like "... and after the second" "$(root 1)" \
	"^ext4 2[89][0-9][0-9] MiB on vda3 \(2941 MiB\) of disk vda \(3072 MiB\)$"
is "the second boot changed nothing" "$(jq -r '.boots[1].agent.changed' boot.json)" no
unlike "... and grew nothing" "$(tr -d '\r' <logs/boot-2-kvm.console.log)" "grew the root"

done_testing
