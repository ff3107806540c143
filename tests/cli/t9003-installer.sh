#!/bin/sh
# t9003-installer.sh - Formats=installer: the ISO boots from BIOS (El Torito,
# GRUB's eltorito.img) and UEFI (an appended EFI partition with GRUB's EFI
# image), carries the image and its block map byte for byte, the base's
# kernel and initrd, and the installer's initramfs segment with /init, a
# static busybox, enlighten and every library it needs; missing xorriso or
# an image too large for the medium stop the build, naming it, with nothing
# left behind. With the demo base (make demo-image's), the medium is booted
# under QEMU and OVMF with two disks, one holding a filesystem and one
# empty: it picks the empty one, writes and verifies the image, prints the
# report and powers off; the data disk is untouched, and the written disk
# then boots (enlighten boot-test --as kvm) to the agent's line; booted from
# BIOS (SeaBIOS) it deploys the same. Slow part skipped with
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
# two disks: one holding a filesystem (data), one empty
truncate -s 2G data.raw disk.raw
mkfs.ext4 -q -F data.raw
data_sum=$(sha256sum <data.raw)
cp /usr/share/OVMF/OVMF_VARS_4M.fd vars.fd
timeout 1800 qemu-system-x86_64 -machine q35 -m 1024 -smp 1 -display none -no-reboot \
	-serial file:console.log \
	-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
	-drive if=pflash,format=raw,file=vars.fd \
	-drive file=demo/linux-universal.iso,media=cdrom,readonly=on,if=none,id=cd \
	-device ide-cd,drive=cd,bus=ide.0 \
	-drive file=data.raw,format=raw,if=none,id=d1 -device virtio-blk-pci,drive=d1,serial=data0 \
	-drive file=disk.raw,format=raw,if=none,id=d0,discard=unmap,detect-zeroes=unmap \
	-device virtio-blk-pci,drive=d0,serial=target0 >qemu.out 2>&1
is "the installer powered the machine off" "$?" 0
con=$(tr -d '\r' <console.log)
like "... after picking the empty disk" "$con" "picked '/dev/vd[ab]' by the rule 'empty'"
like "... deploying and verifying it" "$con" "enlighten-installer: done: deployed and verified; powering off"
like "... with the report on the console" "$con" \
	'enlighten-installer: report: \{"target":.*"serial":"target0".*"verify":"ok","result":"deployed"'
is "the data disk is untouched" "$(sha256sum <data.raw)" "$data_sum"
ok "the empty disk holds the image's partitions" sh -c \
	"[ \"\$(sfdisk -d disk.raw | grep '^disk' | sed 's/^[^:]*://')\" = \"\$(sfdisk -d demo/linux-universal.raw | grep '^demo' | sed 's/^[^:]*://')\" ]"
# the deployed disk boots and its agent reports
ok "the deployed disk boots as kvm to the agent's line" \
	enlighten boot-test disk.raw --as kvm --timeout 900
like "... kvm-guest activated" "$(last_output)" "result: PASS: kvm-guest activated"
# the same medium from BIOS (SeaBIOS, El Torito), one empty disk
if [ -r /usr/share/seabios/bios-256k.bin ]; then
	rm -f bios.raw && truncate -s 2G bios.raw
	timeout 1800 qemu-system-x86_64 -machine q35 -m 1024 -smp 1 -display none -no-reboot \
		-serial file:bios.log -bios /usr/share/seabios/bios-256k.bin \
		-drive file=demo/linux-universal.iso,media=cdrom,readonly=on,if=none,id=cd \
		-device ide-cd,drive=cd,bus=ide.0 \
		-drive file=bios.raw,format=raw,if=none,id=d0,discard=unmap,detect-zeroes=unmap \
		-device virtio-blk-pci,drive=d0,serial=target0 >qemu-bios.out 2>&1
	is "from BIOS: powered off" "$?" 0
	like "... after deploying and verifying" "$(tr -d '\r' <bios.log)" \
		"enlighten-installer: done: deployed and verified; powering off"
	ok "... the disk's partition table is the image's" cmp -n 17408 disk.raw bios.raw
fi
done_testing
