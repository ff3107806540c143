#!/bin/sh
# t9003-installer.sh - Formats=installer: the ISO boots from BIOS (El Torito,
# GRUB's eltorito.img) and UEFI (an appended EFI partition with GRUB's EFI
# image), carries the image and its block map byte for byte, the base's
# kernel and initrd, and the installer's initramfs segment with /init, a
# static busybox, enlighten and every library it needs; missing xorriso or
# an image too large for the medium stop the build, naming it, with nothing
# left behind. With the demo base (make demo-image's), the medium is booted
# under QEMU and OVMF as a writable disk (a USB stick) with two disks, one
# holding a filesystem and one empty: it picks the empty one, writes and
# verifies the image (progress as lines), prints the report, appends it to
# the medium's report partition (read back here with mtools) and powers
# off; the data disk is untouched; booted from BIOS (SeaBIOS) as a CD by
# boot-test's installer mode (with an empty disk and one holding data), it
# deploys the same, says the report stayed on the console, leaves the data
# disk alone, and the disk it wrote boots to the agent's line. Slow part
# skipped with
# ENLIGHTEN_SKIP_BOOT=1.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

for t in xorriso grub-mkimage mformat zstd cpio jq sfdisk; do
	command -v $t >/dev/null || skip_all "$t is not installed"
done
[ -r /usr/lib/grub/x86_64-efi/normal.mod ] || skip_all "grub-efi-amd64-bin is not installed"
[ -r /usr/lib/grub/i386-pc/boot_hybrid.img ] || skip_all "grub-pc-bin is not installed"
[ -x /usr/bin/busybox ] || [ -x /bin/busybox ] || skip_all "busybox-static is not installed"

make_base base.tar.gz
write_recipe img.conf base.tar.gz
ok "build the installer medium and the raw image" \
	enlighten build img.conf --format installer --format raw -o out
is "... the ISO, the image, its map, the manifest" "$(finished_files out)" \
	"test.bmap test.iso test.manifest.json test.raw "
is "... the manifest lists the ISO as the installer" \
	"$(jq -r '.artefacts[] | select(.file == "test.iso") | "\(.format) \(.size)"' out/test.manifest.json)" \
	"installer $(stat -c %s out/test.iso)"

el=$(xorriso -indev out/test.iso -report_el_torito plain 2>&1)
like "El Torito: a BIOS boot image, GRUB's" "$el" "El Torito img path :   1  /boot/grub/eltorito.img"
like "... and a UEFI one" "$el" "El Torito boot img :   2  UEFI  y   none"
like "... which is the appended EFI partition" "$el" "EFI image start and size"
sys=$(xorriso -indev out/test.iso -report_system_area plain 2>&1)
like "a GPT for a USB stick, the EFI partition in it" "$sys" "GPT type GUID      :   2  28732ac11ff8d211ba4b00a0c93ec93b"
like "... and a basic data partition for the reports" "$sys" "GPT type GUID      :   3  a2a0d0ebe5b9334487c068b6b72699c7"
# the report partition: FAT labelled REPORTS, its README and the marker
rep_off() { # iso: the byte offset of partition 3
	sfdisk -J "$1" | jq '.partitiontable.partitions[2].start * 512'
}
rep="out/test.iso@@$(rep_off out/test.iso)"
like "the report partition is FAT labelled REPORTS" "$(mlabel -s -i "$rep" :: 2>&1)" "Volume label is REPORTS"
like "... with a README saying what it is for" "$(mtype -i "$rep" ::/README.TXT)" "one JSON line per disk written"
ok "... and the marker naming the image" mtype -i "$rep" "::/installer-$(jq -r .disk_uuid out/test.manifest.json)"
mkdir x
xorriso -osirrox on -indev out/test.iso -extract / x >/dev/null 2>&1
ok "the image on the medium is the image (zisofs read back)" cmp out/test.raw x/test.raw
ok "... and its map" cmp out/test.bmap x/test.bmap
ok "the base's kernel" cmp x/boot/vmlinuz "$(tar -xzf base.tar.gz -O --wildcards './boot/vmlinuz-*' >k && echo k)"
like "GRUB boots it with the base's initrd and the installer's" "$(cat x/boot/grub/grub.cfg)" \
	"initrd /boot/initrd.img /boot/installer.img"
ok "a marker names the medium after the image's disk GUID" \
	test -f "x/enlighten/installer-$(jq -r .disk_uuid out/test.manifest.json)"
mkdir seg && (cd seg && zstd -dc ../x/boot/installer.img | cpio -idm --quiet)
ok "the initramfs segment: /init" test -x seg/init
ok "... a static busybox" sh -c "file seg/enlighten/bin/busybox | grep -q 'statically linked'"
ok "... enlighten and its interpreter, executable" test -x seg/enlighten/lib/ld-linux-x86-64.so.2
is "... once (libc needs it too)" "$(zstd -dc x/boot/installer.img | cpio -t --quiet | grep -c ld-linux)" 1
ok "... every library it needs, run from there" \
	seg/enlighten/lib/ld-linux-x86-64.so.2 --inhibit-cache --library-path seg/enlighten/lib \
	seg/enlighten/bin/enlighten --version
like "... the image's name in its settings" "$(cat seg/enlighten/installer.conf)" "IMAGE='test.raw'"

# reproducible: the same recipe and SOURCE_DATE_EPOCH give the same bytes
# (the second build under another umask, so no file mode leaks in)
ok "built with SOURCE_DATE_EPOCH" env SOURCE_DATE_EPOCH=1700000000 \
	enlighten build img.conf --format installer -o r1
ok "... and again, under umask 077" env SOURCE_DATE_EPOCH=1700000000 \
	sh -c 'umask 077 && enlighten build img.conf --format installer -o r2'
ok "... the same ISO, byte for byte" cmp r1/test.iso r2/test.iso
like "... its volume dated by it" "$(xorriso -indev r1/test.iso -pvd_info 2>&1)" \
	"Creation Time: 2023111422132000"

# bad input
mkdir bin && ln -s "$(command -v enlighten)" bin/enlighten
fails "no xorriso: refused" env PATH="$PWD/bin" enlighten build img.conf --format installer -o nox
like "... naming it and its package" "$(last_output)" "Formats=installer needs 'xorriso', which is not installed \(install xorriso\)"
is "... before anything is written" "$(finished_files nox 2>/dev/null)" ""
write_recipe big.conf base.tar.gz
sed -i 's/^Size=.*/Size=4G/' big.conf
fails "an image of 4 GiB: refused" enlighten build big.conf --format installer -o big
like "... saying why and what to do" "$(last_output)" "holds images under 4 GiB for now"
is "... nothing left" "$(finished_files big)" ""

# the real thing: the demo base's kernel, booted under QEMU
demo=$ENLIGHTEN_BUILDDIR/demo
if [ "${ENLIGHTEN_SKIP_BOOT:-0}" = 1 ] || [ ! -r "$demo/base.tar.zst" ] ||
	! command -v qemu-system-x86_64 >/dev/null || [ ! -r /usr/share/OVMF/OVMF_CODE_4M.fd ]; then
	echo "# not booted: ENLIGHTEN_SKIP_BOOT=1, or no demo base, QEMU or OVMF"
	done_testing
fi
sed "s|\.\./build/demo|$demo|g; s|^Formats=.*|Formats=installer raw|" \
	"$SRC/templates/linux-universal.conf" >demo.conf
ok "build the demo's installer medium" enlighten -q build demo.conf -o demo
like "... the FAT modules of the base's kernel in its initramfs (its initrd has none)" \
	"$(xorriso -osirrox on -indev demo/linux-universal.iso -extract /boot/installer.img demo-seg.img >/dev/null 2>&1 &&
		zstd -dc demo-seg.img | cpio -t --quiet | tr '\n' ' ')" \
	"enlighten/modules/fat.ko enlighten/modules/vfat.ko enlighten/modules/nls_cp437.ko"
# booted from UEFI as a USB stick would be (the ISO as a writable disk: its
# GPT's EFI partition), with two disks: one holding a filesystem, one empty
cp demo/linux-universal.iso stick.iso
truncate -s 2G data.raw disk.raw
mkfs.ext4 -q -F data.raw
data_sum=$(sha256sum <data.raw)
cp /usr/share/OVMF/OVMF_VARS_4M.fd vars.fd
timeout 1800 qemu-system-x86_64 -machine q35 -m 1024 -smp 1 -display none -no-reboot \
	-serial file:console.log \
	-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
	-drive if=pflash,format=raw,file=vars.fd \
	-drive file=stick.iso,format=raw,if=none,id=st \
	-device virtio-blk-pci,drive=st,serial=stick0,bootindex=0 \
	-drive file=data.raw,format=raw,if=none,id=d1 -device virtio-blk-pci,drive=d1,serial=data0 \
	-drive file=disk.raw,format=raw,if=none,id=d0,discard=unmap,detect-zeroes=unmap \
	-device virtio-blk-pci,drive=d0,serial=target0 >qemu.out 2>&1
is "the installer powered the machine off" "$?" 0
con=$(tr -d '\r' <console.log)
like "... after picking the empty disk" "$con" "picked '/dev/vd[abc]' by the rule 'empty'"
like "... its progress a line per tenth, not a bar" "$con" "deploy: 100% \([0-9.]* MiB of [0-9.]* MiB\)"
unlike "... never redrawn" "$con" "deploy +\[#"
like "... deploying and verifying it" "$con" "enlighten-installer: done: deployed and verified; powering off"
like "... with the report on the console" "$con" \
	'enlighten-installer: report: \{"target":.*"serial":"target0".*"verify":"ok","result":"deployed"'
like "... and on the medium" "$con" "enlighten-installer: report: appended to reports.jsonl on the medium \(/dev/vd[abc]3\)"
mtype -i "stick.iso@@$(rep_off stick.iso)" ::/reports.jsonl >reports.jsonl
is "the medium's reports.jsonl, read back: one line" "$(wc -l <reports.jsonl)" 1
is "... the disk written, deployed and verified" "$(jq -r '"\(.serial) \(.result) \(.verify)"' reports.jsonl)" \
	"target0 deployed ok"
is "... the same line as on the console" "$(jq -c . reports.jsonl)" \
	"$(echo "$con" | sed -n 's/^enlighten-installer: report: \({.*\)$/\1/p' | jq -c .)"
rep_end=$(sfdisk -J stick.iso | jq '(.partitiontable.partitions[2].start + .partitiontable.partitions[2].size) * 512')
is "... the rest of the medium as it was: only the report partition changed" \
	"$(cmp -l stick.iso demo/linux-universal.iso | awk -v o="$(rep_off stick.iso)" -v e="$rep_end" '$1 <= o || $1 > e' | wc -l)" 0
is "the data disk is untouched" "$(sha256sum <data.raw)" "$data_sum"
ok "the empty disk holds the image's partitions" sh -c \
	"[ \"\$(sfdisk -d disk.raw | grep '^disk' | sed 's/^[^:]*://')\" = \"\$(sfdisk -d demo/linux-universal.raw | grep '^demo' | sed 's/^[^:]*://')\" ]"
# a rule from the kernel command line (as typed at GRUB's editor; here the
# medium's own kernel and initrds booted directly) naming the data disk
# without enlighten.force=1: refused, the data disk untouched, and the
# failed machine stays on, saying why
xorriso -osirrox on -indev demo/linux-universal.iso -extract /boot/vmlinuz k.img \
	-extract /boot/initrd.img i.img -extract /boot/installer.img s.img >/dev/null 2>&1
chmod u+w i.img && truncate -s $((($(stat -c %s i.img) + 3) / 4 * 4)) i.img && cat i.img s.img >is.img
qemu-system-x86_64 -machine q35 -m 1024 -smp 1 -display none -no-reboot -serial file:named.log \
	-kernel k.img -initrd is.img -append "console=ttyS0,115200 enlighten.target=serial:data0" \
	-drive file=stick.iso,format=raw,if=none,id=st -device virtio-blk-pci,drive=st,serial=stick0 \
	-drive file=data.raw,format=raw,if=none,id=d1 -device virtio-blk-pci,drive=d1,serial=data0 \
	>qemu-named.out 2>&1 &
qpid=$!
n=0
while [ $n -lt 180 ] && ! grep -aq "enlighten-installer: FAILED\|enlighten-installer: done" named.log 2>/dev/null; do
	sleep 5
	n=$((n + 1))
done
kill -0 $qpid 2>/dev/null
is "a rule naming the data disk, not forced: the machine stays on" "$?" 0
kill $qpid 2>/dev/null
wait $qpid 2>/dev/null
named=$(tr -d '\r' <named.log | grep -a enlighten)
like "... the rule read from the kernel command line" "$named" "target by rule 'serial:data0'"
like "... refused, saying what the disk holds and what to do" "$named" \
	"vd[abc]: '/dev/vd[abc]' holds a ext4 signature \(filesystem\): not an empty disk \(name it with --force-picked"
like "... and that the machine stays on" "$named" \
	"enlighten-installer: FAILED: exit status 1, see above; this machine stays on"
is "... the data disk untouched" "$(sha256sum <data.raw)" "$data_sum"
# the same medium from BIOS, through boot-test's installer mode: a CD under
# SeaBIOS, with an empty disk and one holding data; the disk it wrote then
# boots (under SeaBIOS too) to the agent's line
if [ -r /usr/share/seabios/bios-256k.bin ]; then
	ok "boot-test: the medium from a CD under BIOS, then the disk it wrote as kvm" \
		enlighten boot-test demo/linux-universal.iso --as kvm --firmware bios --timeout 900
	bt=$(last_output)
	like "... named an installer medium on its first line" "$bt" \
		"boot-test: installer medium 'demo/linux-universal.iso' \(an ISO with an image and its map\), booted first"
	like "... booted as a CD" "$bt" "installer: '.*' booted as a CD under SeaBIOS"
	like "... the report not on the medium: a CD is read-only" "$bt" \
		"report: not written to the medium: /dev/sr0 has no report partition"
	like "... the data disk untouched" "$bt" "data disk: untouched"
	like "... the written disk booted to the agent's line" "$bt" "result: PASS: kvm-guest activated"
fi
done_testing
