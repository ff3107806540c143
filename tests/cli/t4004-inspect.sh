#!/bin/sh
# t4004-inspect.sh - `enlighten inspect` reads an image back without mounting
# it: partitions, filesystems, and what the builder injected.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

command -v python3 >/dev/null || skip_all "python3 is not installed"
[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi is not installed"

make_base base.tar.gz
make_signed_repo repo
write_recipe img.conf base.tar.gz '[Payloads]' 'Source=repo' 'PublicKey=key.pub' 'Profiles=kvm-guest'
mkdir out
ok "build" enlighten build img.conf -o out --format raw --format qcow2 --format vhdx \
	--format vmdk --format vhd

ok "inspect" enlighten inspect out/test.raw
out=$(last_output)
like "shows the GPT" "$out" "^Table: gpt, disk [0-9a-f-]{36}$"
like "shows the ESP as FAT" "$out" "^  1 +1\.0M +34\.0M +esp +[0-9a-f-]{36} vfat +ESP "
like "shows the root as ext4" "$out" "^  2 +35\.0M +64\.0M +root +[0-9a-f-]{36} ext4 +root "
like "shows the catalog version" "$out" "catalog version +7$"
like "shows the staged profiles" "$out" "staged profiles +kvm-guest$"
like "shows the staged payloads" "$out" "staged payloads +linux/p1.rpm linux/p2.rpm$"
like "shows the agent version" "$out" "agent version +[0-9]+\.[0-9]+\.[0-9]+$"
like "shows the agent enabled" "$out" "agent enabled +true$"
like "shows the trusted key" "$out" "trusted keys +key.pub$"

ok "inspect --json" enlighten inspect --json out/test.raw
json=$(last_output)
partuuid=$(sfdisk -d out/test.raw | sed -n 's|^out/test.raw2 .*uuid=\([0-9A-F-]*\).*|\1|p' | tr A-F a-f)
like "JSON has the root PARTUUID from the table" "$json" "\"partuuid\": \"$partuuid\""
like "JSON has the filesystem UUID" "$json" "\"uuid\": \"$(blkid -p -o value -s UUID -O $((35 * 1048576)) out/test.raw 2>/dev/null || echo '[0-9a-f-]{36}')\""
like "JSON has the catalog version" "$json" '"catalog_version": 7'

like "JSON says the format" "$json" '"format": "raw"'

# the other formats: the same disk, read through a temporary raw copy
mkdir tmpd
export TMPDIR="$PWD/tmpd"
same_disk() { # A.json B.json: the same partitions, filesystems and injected content
	python3 -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
sys.exit(0 if all(a[k] == b[k] for k in ("table", "disk_uuid", "partitions", "enlighten")) else 1)' "$@"
}
printf '%s\n' "$json" >raw.json
for f in qcow2 vhdx vmdk vhd; do
	ok "inspect the $f" enlighten inspect --json out/test.$f
	printf '%s\n' "$(last_output)" >$f.json
	ok "... the same disk as the raw image" same_disk raw.json $f.json
	like "... says it is $f" "$(cat $f.json)" "\"format\": \"$f\""
done
ok "inspect a qcow2 as text" enlighten inspect out/test.qcow2
like "... names the format" "$(last_output)" "^Image: out/test.qcow2 \(qcow2, 100\.0M\)$"
like "... and what was injected" "$(last_output)" "catalog version +7$"

# containers that would make qemu-img read other files are refused
qemu-img create -q -f qcow2 -b "$PWD/out/test.raw" -F raw overlay.qcow2
exits 1 "a qcow2 overlay is refused" enlighten inspect overlay.qcow2
like "... with advice" "$(last_output)" "qcow2 overlay on a backing file; inspect the image it is based on"
qemu-img create -q -f qcow2 -o data_file="$PWD/data.raw" external.qcow2 64M
exits 1 "a qcow2 with an external data file is refused" enlighten inspect external.qcow2
like "... saying why" "$(last_output)" "keeps its data in an external file"
cp out/test.vmdk described.vmdk
printf '\0\0\0\0\0\0\0\0' | dd of=described.vmdk bs=1 seek=12 conv=notrunc status=none
exits 1 "a VMDK described by its embedded descriptor is refused" enlighten inspect described.vmdk
like "... saying why" "$(last_output)" "VMDK whose data is described elsewhere"
head -c 100 out/test.qcow2 >short.qcow2
exits 1 "a truncated qcow2 gives an error" enlighten inspect short.qcow2
like "... from qemu-img, named" "$(last_output)" "cannot read image 'short.qcow2': 'qemu-img convert' from qcow2 failed"
is "no temporary copy is left behind" "$(ls tmpd)" ""
exits 1 "a missing image" enlighten inspect nothere.raw
head -c 1048576 /dev/zero >blank.raw
ok "a blank disk is inspected" enlighten inspect blank.raw
like "... and is not an enlighten image" "$(last_output)" "Not an enlighten image"

# files that are not disk images: exit 1, naming what they are
printf 'root:x:0:0:root:/root:/bin/sh\n' >passwd
exits 1 "a text file is not a disk image" enlighten inspect passwd
is "... and says what it is" "$(last_output)" \
	"enlighten: 'passwd' is not a disk image: it holds ASCII text, no partition table"
part_extract out/test.raw 1 esp.img
exits 1 "a bare filesystem is not a disk image" enlighten inspect --json esp.img
like "... and says which filesystem" "$(last_output)" \
	"'esp.img' is not a disk image: a bare vfat filesystem with no partition table"
{ printf 'QFI\373'; head -c 4096 /dev/urandom; } >random.qcow2
exits 1 "random bytes behind a qcow2 magic" enlighten inspect random.qcow2
like "... are not a qcow2 header" "$(last_output)" \
	"cannot read image 'random.qcow2': it starts with the qcow2 magic but its header is not a qcow2 header"
is "... and not called an overlay" "$(last_output | grep -c overlay)" 0
{ printf 'KDMV\377\377\377\377'; head -c 4096 /dev/urandom; } >random.vmdk
exits 1 "random bytes behind a VMDK magic" enlighten inspect random.vmdk
like "... are not a VMDK header" "$(last_output)" "starts with the VMDK magic but its header is not"
exits 2 "inspect without an image" enlighten inspect

done_testing
