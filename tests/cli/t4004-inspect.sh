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
ok "build" enlighten build img.conf -o out --format raw --format qcow2

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

exits 1 "a qcow2 is refused with advice" enlighten inspect out/test.qcow2
like "... to use the raw image" "$(last_output)" "is qcow2; inspect the raw image"
exits 1 "a missing image" enlighten inspect nothere.raw
head -c 1048576 /dev/zero >blank.raw
ok "a blank disk is inspected" enlighten inspect blank.raw
like "... and is not an enlighten image" "$(last_output)" "Not an enlighten image"
exits 2 "inspect without an image" enlighten inspect

done_testing
