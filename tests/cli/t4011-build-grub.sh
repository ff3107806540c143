#!/bin/sh
# t4011-build-grub.sh - Loader=grub: the ESP holds GRUB's EFI image (made by
# grub-mkimage from grub-efi-amd64-bin) with an early configuration that
# finds the root by its filesystem UUID, and no kernel; grub.cfg on the root
# boots the /vmlinuz link that Debian's kernel packages move (with the
# previous kernel as a second entry), passes GRUB's own script check, and
# falls back to the picked kernel, with a warning, on a base without links;
# a base with update-grub gets the command line in /etc/default/grub.d;
# Firmware=bios adds the BIOS boot partition with core.img and boot.img's code
# in the MBR pointing at it, as grub-bios-setup writes them; reproducible; a
# bad Loader= or Firmware=, BIOS with systemd-boot and a disk without room
# for the BIOS boot partition name the file, the line or the size.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

need_tools python3 sfdisk sgdisk debugfs mtype mcopy grub-mkimage grub-script-check setpriv blkid
[ -r /usr/lib/grub/x86_64-efi/normal.mod ] || skip_all "grub-efi-amd64-bin is not installed"
[ -r /usr/lib/grub/i386-pc/boot.img ] || skip_all "grub-pc-bin is not installed"

chmod 755 "$TEST_DIR"
make_base links.tar.gz --kernel-links
make_base plain.tar.gz
mkdir -p tree/usr/sbin && printf '#!/bin/sh\n' >tree/usr/sbin/update-grub
make_base mkconfig.tar.gz --kernel-links --tree tree
boot='[Boot]
Loader=grub
KernelCommandLine=console=ttyS0 quiet'
write_recipe img.conf links.tar.gz "$boot"
mkdir out out2
chmod 777 out out2

ok "build with Loader=grub runs as an unprivileged user" unpriv enlighten build img.conf --output-dir out
like "says what grub.cfg boots" "$(last_output)" \
	"^enlighten: GRUB: /boot/grub/grub.cfg boots /vmlinuz, which the base's kernel packages move to each kernel they install"
img=out/test.raw
ok "sfdisk verifies the table" sfdisk --verify $img

part_extract $img 1 esp.img
export MTOOLS_SKIP_CHECK=1
ok "the ESP has GRUB as the removable-media loader" mcopy -i esp.img ::/EFI/BOOT/BOOTX64.EFI grub.efi
is "... a PE image" "$(head -c 2 grub.efi)" MZ
like "... GRUB's" "$(strings grub.efi | grep -m1 -o 'GNU GRUB')" "GNU GRUB"
fails "no systemd-boot entries on the ESP" mdir -i esp.img ::/loader
fails "no kernel on the ESP" sh -c "mdir -/ -i esp.img ::/ | grep -q linux"

part_extract $img 2 root.img
uuid=$(blkid -o value -s UUID root.img)
like "the early configuration finds the root by its filesystem UUID" "$(strings grub.efi)" \
	"search --no-floppy --fs-uuid --set=root $uuid"
like "... and sets the prefix on it" "$(strings grub.efi)" 'set prefix=\(\$root\)/boot/grub'

partuuid=$(sfdisk --part-uuid $img 2 | tr A-Z a-z)
cfg=$(debugfs -R "cat /boot/grub/grub.cfg" root.img 2>/dev/null)
entry() { printf '%s\n' "$cfg" | sed -n "/--id $1 {/,/^}/p"; }
tab=$(printf '\t')
is "grub.cfg boots the /vmlinuz link" "$(entry enlighten)" "menuentry 'test' --id enlighten {
${tab}linux /vmlinuz root=PARTUUID=$partuuid rw console=ttyS0 quiet
${tab}initrd /initrd.img
}"
is "... and the previous kernel's links as a second entry" "$(entry enlighten-previous)" \
	"menuentry 'test, previous kernel' --id enlighten-previous {
${tab}linux /vmlinuz.old root=PARTUUID=$partuuid rw console=ttyS0 quiet
${tab}initrd /initrd.img.old
}"
like "... on the serial console too" "$cfg" "terminal_output console serial"
printf '%s\n' "$cfg" >grub.cfg
ok "grub-script-check accepts grub.cfg" grub-script-check grub.cfg
like "grub.cfg boots grubenv's next_entry once, as grub-reboot sets it" "$cfg" \
	'if \[ "\$\{next_entry\}" \]; then
	set default="\$\{next_entry\}"
	set next_entry=
	save_env next_entry
fi'
debugfs -R "dump /boot/grub/grubenv grubenv" root.img >/dev/null 2>&1
is "an empty grubenv of 1024 bytes, for save_env" "$(stat -c %s grubenv 2>&1)" 1024
is "... that grub-editenv reads: no variables" "$(grub-editenv grubenv list 2>&1)" ""
ok "... and can set one in" grub-editenv grubenv set next_entry=enlighten
is "... as grub-reboot would" "$(grub-editenv grubenv list 2>&1)" "next_entry=enlighten"
fails "no defaults for update-grub in a base without it" \
	sh -c "debugfs -R 'stat /etc/default/grub.d/enlighten.cfg' root.img 2>&1 | grep -q Inode"

ok "the same inputs give the same image" unpriv enlighten build img.conf --output-dir out2
is "... byte for byte" "$(sha256sum <out2/test.raw)" "$(sha256sum <$img)"

# a base without the links: the picked kernel, and a warning
write_recipe plain.conf plain.tar.gz "$boot"
mkdir out3
ok "build on a base without kernel links" enlighten build plain.conf --output-dir out3
like "warns that kernel updates will not be followed" "$(last_output)" \
	"^enlighten: GRUB: /boot/grub/grub.cfg boots '/boot/vmlinuz-6.1.0-test': the base keeps no link to its newest kernel; a kernel update will not change what boots"
part_extract out3/test.raw 2 root3.img
cfg=$(debugfs -R 'cat /boot/grub/grub.cfg' root3.img 2>/dev/null)
like "grub.cfg boots the picked kernel" "$(entry enlighten | grep linux)" "^${tab}linux /boot/vmlinuz-6.1.0-test root="
like "... with its initrd" "$(entry enlighten | grep initrd)" "^${tab}initrd /boot/initrd.img-6.1.0-test$"
is "... and no previous entry" "$(entry enlighten-previous)" ""

# Kernel= pins the kernel, links or not
write_recipe pinned.conf links.tar.gz "$boot" '[Base]' 'Kernel=boot/vmlinuz-6.1.0-test'
mkdir out4
ok "build with Kernel=" enlighten build pinned.conf --output-dir out4
like "warns that Kernel= pins it" "$(last_output)" "boots '/boot/vmlinuz-6.1.0-test' as Kernel= says"

# Firmware=uefi bios: a BIOS boot partition first, core.img in it, boot.img in the MBR
write_recipe bios.conf links.tar.gz "$boot" 'Firmware=uefi bios'
mkdir out7
chmod 777 out7
ok "build with Firmware=uefi bios runs as an unprivileged user" unpriv enlighten build bios.conf --output-dir out7
bimg=out7/test.raw
ok "sgdisk verifies the table" sgdisk -v $bimg
dump=$(sfdisk -d $bimg)
like "partition 1 is the 1 MiB BIOS boot partition" "$dump" \
	"raw1 : start= *2048, size= *2048, type=21686148-6449-6E6F-744E-656564454649,.*name=\"bios\""
like "partition 2 is the ESP" "$dump" "raw2 : start= *4096, size= *69632, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
like "partition 3 is the root" "$dump" "raw3 : start= *73728,.*type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
python3 - $bimg /usr/lib/grub/i386-pc/boot.img /usr/lib/grub/i386-pc/diskboot.img >mbr.out <<'PY'
import struct, sys
img, boot, diskboot = (open(p, "rb").read(1024 * 1024 + 4096) for p in sys.argv[1:])
img = open(sys.argv[1], "rb")
mbr = img.read(512)
img.seek(2048 * 512)
core = img.read(512)
print("code", mbr[:3] == boot[:3] and mbr[0x5a:0x5c] == boot[0x5a:0x5c] and mbr[0x68:0x1b8] == boot[0x68:0x1b8])
print("kernel-sector", struct.unpack("<Q", mbr[0x5c:0x64])[0], "drive %02x" % mbr[0x64], "check %s" % mbr[0x66:0x68].hex())
print("pmbr %02x" % mbr[0x1c2], mbr[510:].hex())
print("diskboot", core[:500] == diskboot[:500])
start, n, seg = struct.unpack("<QHH", core[500:512])
print("blocklist", start, "%x" % seg, n > 0)
PY
out=$(cat mbr.out)
like "the MBR holds boot.img's code" "$out" "^code True$"
like "... pointing at core.img's first sector, on the boot drive, hard disk check on" "$out" \
	"^kernel-sector 2048 drive ff check 9090$"
like "... with the protective MBR's partition and signature kept" "$out" "^pmbr ee 55aa$"
like "core.img starts with diskboot.img" "$out" "^diskboot True$"
like "... whose block list loads the rest from the next sector" "$out" "^blocklist 2049 820 True$"

# a base with update-grub: its grub-mkconfig gets the command line
write_recipe mk.conf mkconfig.tar.gz "$boot"
mkdir out5
ok "build on a base with update-grub" enlighten build mk.conf --output-dir out5
part_extract out5/test.raw 2 root5.img
is "/etc/default/grub.d/enlighten.cfg carries the command line without root=" \
	"$(debugfs -R 'cat /etc/default/grub.d/enlighten.cfg' root5.img 2>/dev/null | grep ^GRUB_CMDLINE)" \
	'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX console=ttyS0 quiet"'

# bad input
write_recipe bad.conf links.tar.gz '[Boot]' 'Loader=grubb'
exits 2 "an unknown loader is refused" enlighten build bad.conf --output-dir out6
like "... naming the file, the line and the fix" "$(last_output)" \
	"recipe 'bad.conf' line [0-9]+: unknown loader 'grubb' \(did you mean 'grub'\?\); use systemd-boot or grub"
ok "... and nothing is written" test ! -e out6
write_recipe bad.conf links.tar.gz '[Boot]' 'Firmware=uefi bois'
exits 2 "an unknown firmware is refused" enlighten build bad.conf --output-dir out6
like "... with the one meant" "$(last_output)" "line [0-9]+: unknown firmware 'bois' \(did you mean 'bios'\?\); use uefi, bios or both"
write_recipe bad.conf links.tar.gz '[Boot]' 'Firmware=bios'
exits 2 "BIOS with systemd-boot is refused" enlighten build bad.conf --output-dir out6
like "... saying GRUB is needed" "$(last_output)" "recipe 'bad.conf': Firmware=bios needs Loader=grub in \[Boot\] \(systemd-boot boots only through UEFI\)"
{ printf '[Image]\nName=test\nSize=52M\n[Partitions]\nESPSize=34M\n[Base]\nTarball=links.tar.gz\n'; printf '%s\n' "$boot" 'Firmware=bios'; } >small.conf
exits 2 "BIOS on a disk without room for the BIOS boot partition is refused" enlighten build small.conf --output-dir out6
like "... naming the size" "$(last_output)" "recipe 'small.conf': Size= leaves less than 16 MiB for the root partition after the 1 MiB BIOS boot partition and the ESP; make Size= larger or ESPSize= smaller"
ok "... and nothing is written" test ! -e out6

done_testing
