#!/bin/sh
# t4000-build.sh - `enlighten build` makes a GPT image with an ESP and an ext4
# root, as an unprivileged user, whose table and filesystems check clean,
# whose root holds the tarball's owners, modes, xattrs, links and devices
# exactly plus the injected files, in every output format, reproducibly.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

need_tools python3 sfdisk sgdisk e2fsck debugfs fsck.vfat mtype qemu-img setpriv
[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi is not installed"

chmod 755 "$TEST_DIR"
make_base base.tar.gz
make_signed_repo repo
write_recipe img.conf base.tar.gz '[Payloads]' 'Source=repo' 'PublicKey=key.pub' \
	'Profiles=kvm-guest hyperv-guest' '' '[Boot]' 'KernelCommandLine=console=ttyS0 quiet' '' \
	'[System]' 'Hostname=factory' 'Locale=en_US.UTF-8' 'Timezone=Europe/Berlin'
mkdir out out2 out3
chmod 777 out out2

ok "build runs as an unprivileged user" unpriv enlighten build img.conf --output-dir out \
	--format raw --format qcow2 --format vhdx --format vhd --format vmdk
is "build prints the artefacts" "$(last_output | grep -v '^enlighten: ' | sed 's|.*/||' | tr '\n' ' ')" \
	"test.qcow2 test.vhdx test.vhd test.vmdk test.raw test.bmap test.manifest.json "
like "warns that the base lacks the recipe's time zone" "$(last_output)" \
	"^enlighten: Timezone=Europe/Berlin: the base has no '/usr/share/zoneinfo/Europe/Berlin', so /etc/localtime will point nowhere"
like "warns that the base lacks the recipe's locale" "$(last_output)" \
	"^enlighten: Locale=en_US.UTF-8: the base has no such locale \(no '/usr/lib/locale/locale-archive', no '/usr/lib/locale/en_US.utf8/LC_CTYPE'\)"
is "no temporary files are left" "$(find out -name '.#*')" ""

img=out/test.raw
is "the raw image has the recipe's size" "$(stat -c %s $img)" 104857600
ok "the raw image is sparse" test "$(stat -c %b $img)" -lt 100000
ok "sfdisk verifies the table" sfdisk --verify $img
like "sfdisk finds no errors" "$(last_output)" "No errors detected"
ok "sgdisk verifies the table" sgdisk -v $img
like "sgdisk finds no problems" "$(last_output)" "No problems found"
dump=$(sfdisk -d $img)
like "partition 1 is the ESP at 1 MiB" "$dump" "${img}1 : start= *2048, size= *69632, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
like "partition 2 is an x86-64 root" "$dump" "${img}2 : start= *71680,.*type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
like "the disk has a protective MBR" "$(sfdisk -d -Y dos --label-nested dos $img 2>/dev/null || true)" "type=ee"

part_extract $img 1 esp.img
part_extract $img 2 root.img
ok "fsck.vfat finds the ESP clean" fsck.vfat -n esp.img
ok "e2fsck finds the root clean" e2fsck -fn root.img
ok "the ESP is FAT32" sh -c "file -s esp.img 2>/dev/null | grep -q 'FAT (32 bit)' || minfo -i esp.img :: | grep -q 'fat32\|FAT32\|big size'"

partuuid=$(printf '%s\n' "$dump" | sed -n "s|^${img}2 .*uuid=\([0-9A-F-]*\).*|\1|p" | tr A-F a-f)
entry=$(MTOOLS_SKIP_CHECK=1 mtype -i esp.img ::/loader/entries/test.conf)
like "the loader entry boots the base's kernel" "$entry" "^linux /test/6.1.0-test/linux$"
like "the loader entry has the initrd" "$entry" "^initrd /test/6.1.0-test/initrd$"
like "the entry's command line names the root by PARTUUID" "$entry" \
	"^options root=PARTUUID=$partuuid rw console=ttyS0 quiet$"
ok "systemd-boot is the removable-media loader" sh -c \
	"MTOOLS_SKIP_CHECK=1 mcopy -i esp.img ::/EFI/BOOT/BOOTX64.EFI boot.efi && cmp boot.efi /usr/lib/systemd/boot/efi/systemd-bootx64.efi"
ok "the kernel on the ESP is the base's" sh -c \
	"MTOOLS_SKIP_CHECK=1 mcopy -i esp.img ::/test/6.1.0-test/linux k && tar xzf base.tar.gz ./boot/vmlinuz-6.1.0-test && cmp k boot/vmlinuz-6.1.0-test"

st() { debugfs -R "stat $1" root.img 2>/dev/null; }
like "owner and mode of a user's file" "$(st /home/user/notes.txt)" "Mode: +0600"
like "... its uid and gid" "$(st /home/user/notes.txt)" "User: +1000 +Group: +1000"
like "a directory owned by a user" "$(st /home/user)" "Type: directory +Mode: +0750"
like "setuid bit kept" "$(st /usr/bin/sudo)" "Mode: +04755"
like "sticky /tmp kept" "$(st /tmp)" "Mode: +01777"
like "group of /etc/shadow" "$(st /etc/shadow)" "Group: +42"
like "security.capability kept" "$(debugfs -R 'ea_list /usr/bin/ping' root.img 2>/dev/null)" \
	"security.capability \(20\) = 01 00 00 02 00 20"
like "hard link shares the inode" "$(st /usr/bin/sh)" "Links: 2"
is "... the same inode as its target" "$(debugfs -R 'ls -l /usr/bin' root.img 2>/dev/null | awk '$NF=="sh"{print $1}')" \
	"$(debugfs -R 'ls -l /usr/bin' root.img 2>/dev/null | awk '$NF=="busybox"{print $1}')"
like "symlink target kept" "$(st /bin/sh)" 'Fast link dest: "../usr/bin/busybox"'
like "absolute symlink kept (resolved only in the guest)" "$(st /etc/mtab)" 'Fast link dest: "/proc/self/mounts"'
like "block device kept" "$(st /dev/sda)" "Device major/minor number: 08:00"
like "character device kept" "$(st /dev/null)" "Device major/minor number: 01:03"
like "fifo kept" "$(st /dev/initctl)" "Type: FIFO"
like "file times from the tarball" "$(st /etc/passwd)" "mtime: 0x6553f100"
ok "file contents kept" sh -c "debugfs -R 'cat /var/lib/big.bin' root.img 2>/dev/null >big && tar xzf base.tar.gz ./var/lib/big.bin && cmp big var/lib/big.bin"

cat_img() { debugfs -R "cat $1" root.img 2>/dev/null; }
like "fstab mounts the root by PARTUUID" "$(cat_img /etc/fstab)" "^PARTUUID=$partuuid / ext4"
is "no firstboot.conf: the agent's defaults (the root grows to fill the disk)" \
	"$(cat_img /etc/enlighten/firstboot.conf)" ""
is "hostname" "$(cat_img /etc/hostname)" factory
is "locale" "$(cat_img /etc/locale.conf)" "LANG=en_US.UTF-8"
like "timezone" "$(st /etc/localtime)" 'Fast link dest: "../usr/share/zoneinfo/Europe/Berlin"'
ok "the catalog is in the local repository" sh -c "debugfs -R 'cat /var/lib/enlighten/repo/catalog.json' root.img 2>/dev/null | cmp - repo/catalog.json"
ok "... with its signature" sh -c "debugfs -R 'cat /var/lib/enlighten/repo/catalog.json.minisig' root.img 2>/dev/null | cmp - repo/catalog.json.minisig"
ok "... and the payloads at their paths" sh -c "debugfs -R 'cat /var/lib/enlighten/repo/linux/p2.rpm' root.img 2>/dev/null | cmp - repo/linux/p2.rpm"
ok "the public key is trusted in the image" sh -c "debugfs -R 'cat /etc/enlighten/keys/key.pub' root.img 2>/dev/null | cmp - key.pub"
like "the profile matrix is in the image" "$(debugfs -R 'ls /usr/share/enlighten/payloads/profiles' root.img 2>/dev/null)" "kvm-guest.conf"
like "the agent is in the image" "$(st /usr/sbin/enlighten-firstboot)" "Mode: +0755"
like "and its heavy half, where it looks for it" "$(st /usr/libexec/enlighten/enlighten-firstboot-apply)" "Mode: +0755"
like "the agent's unit runs it from /usr/sbin" "$(cat_img /usr/lib/systemd/system/enlighten-firstboot.service)" \
	"^ExecStart=/usr/sbin/enlighten-firstboot$"
like "the unit is enabled" "$(st /etc/systemd/system/sysinit.target.wants/enlighten-firstboot.service)" \
	'link dest: "/usr/lib/systemd/system/enlighten-firstboot.service"'
like "build info names the catalog version" "$(cat_img /usr/share/enlighten/build.json)" '"catalog_version": 7'

for f in qcow2 vhdx vmdk; do
	ok "qemu-img check passes for $f" qemu-img check -q out/test.$f
done
ok "qemu-img reads the vhd as a vpc image" qemu-img info -f vpc out/test.vhd
ok "the vhd is a whole number of MiB plus its footer" test $(( ($(stat -c %s out/test.vhd) - 512) % 1048576 )) -eq 0
ok "the qcow2 holds the same disk" qemu-img compare -q out/test.qcow2 $img
ok "the vhdx holds the same disk" qemu-img compare -q out/test.vhdx $img

m=$(cat out/test.manifest.json)
is "manifest: the raw artefact names its block map" \
	"$(jq -r '.artefacts[] | select(.format == "raw") | .bmap' out/test.manifest.json)" test.bmap
like "manifest: the block map's sha256" "$m" "\"sha256\": \"$(sha256sum out/test.bmap | cut -d' ' -f1)\""
like "manifest: the qcow2's sha256" "$m" "\"sha256\": \"$(sha256sum out/test.qcow2 | cut -d' ' -f1)\""
# bmaptool takes our map, checks every range's digest and writes the image
# into a new file whose other blocks are zeros: the same bytes mean the map
# leaves out nothing that is not zeros
ok "bmaptool copy takes the block map (checking its digests)" bmaptool -q copy $img copy.raw
ok "... and gives the same image: only zeros are left out" cmp $img copy.raw
rm -f copy.raw
cp out/test.bmap tampered.bmap
perl -pi -e 'if (!$done && s/chksum="([0-9a-f])/"chksum=\"" . ($1 eq "f" ? "e" : "f")/e) { $done = 1 }' tampered.bmap
ok "... (a range's digest changed)" sh -c '! cmp -s out/test.bmap tampered.bmap'
fails "bmaptool refuses a block map changed after the build" bmaptool -q copy --bmap tampered.bmap $img copy.raw
ok "enlighten deploy takes the image and its map" enlighten deploy $img deployed.raw
ok "... and writes the same bytes" cmp $img deployed.raw
rm -f deployed.raw
like "manifest: base tarball's sha256" "$m" "\"sha256\": \"$(sha256sum base.tar.gz | cut -d' ' -f1)\""
like "manifest: recipe's sha256" "$m" "\"sha256\": \"$(sha256sum img.conf | cut -d' ' -f1)\""
like "manifest: tool version" "$m" "\"version\": \"[0-9]+\.[0-9]+\.[0-9]+\""

like "root features from enlighten's mke2fs.conf" "$(dumpe2fs -h root.img 2>/dev/null | grep '^Filesystem features')" \
	"has_journal .*extent.*flex_bg.*metadata_csum"
# the feature set and inode ratio come from the data directory's mke2fs.conf
cp -r "$ENLIGHTEN_DATADIR" data
sed -i 's/inode_ratio = 4096/inode_ratio = 65536/' data/templates/filesystems/mke2fs.conf
ok "a build with another mke2fs.conf in the data directory" \
	env ENLIGHTEN_DATADIR="$PWD/data" enlighten -q build img.conf --output-dir out3 --format raw
part_extract out3/test.raw 2 root3.img
inodes() { dumpe2fs -h "$1" 2>/dev/null | awk -F: '/^Inode count/ { print $2 + 0 }'; }
ok "... has the inode ratio it sets ($(inodes root3.img) inodes, not $(inodes root.img))" \
	test "$(inodes root3.img)" -lt "$(inodes root.img)"
rm data/templates/filesystems/mke2fs.conf
fails "without it the build stops" env ENLIGHTEN_DATADIR="$PWD/data" enlighten -q build img.conf --output-dir out3 --format raw
like "... and says what is missing" "$(last_output)" "cannot read '.*/mke2fs.conf' \(is enlighten installed completely\?\)"
# the build host's mke2fs.conf does not decide the image
printf '[fs_types]\n\text4 = {\n\t\tfeatures = has_journal,extent,orphan_file,^metadata_csum\n\t}\n' >host-mke2fs.conf
chmod a+r host-mke2fs.conf
ok "a second build, under another host's mke2fs.conf" unpriv env MKE2FS_CONFIG="$PWD/host-mke2fs.conf" \
	enlighten build img.conf --output-dir out2 --format raw --format qcow2 --format vhd
ok "... gives the same raw image" cmp out/test.raw out2/test.raw
ok "... the same qcow2" cmp out/test.qcow2 out2/test.qcow2
ok "... the same vhd" cmp out/test.vhd out2/test.vhd
ok "a third build with a raw-and-qcow2 recipe" sh -c "sed -i 's/^Formats=raw$/Formats=raw qcow2/' img.conf && rm -rf out2/* && enlighten build img.conf -o out2 >/dev/null && enlighten build img.conf -o out >/dev/null"
ok "... gives identical manifests" cmp out/test.manifest.json out2/test.manifest.json

# [Partitions] GrowRoot=no: the agent is told in firstboot.conf
{ cat img.conf; printf '\n[Partitions]\nGrowRoot=no\n'; } >nogrow.conf
mkdir out4
ok "a build with GrowRoot=no" enlighten -q build nogrow.conf --output-dir out4 --format raw
part_extract out4/test.raw 2 root4.img
like "... writes GrowRoot=no into firstboot.conf" \
	"$(debugfs -R 'cat /etc/enlighten/firstboot.conf' root4.img 2>/dev/null)" "^GrowRoot=no$"

done_testing
