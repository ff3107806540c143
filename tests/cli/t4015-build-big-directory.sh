#!/bin/sh
# t4015-build-big-directory.sh - a base with thousands of entries in one
# directory (files, subdirectories, names up to 255 bytes, which
# spill the directory over many blocks) builds into a root that e2fsck
# finds clean and that holds every entry with its data; an entry that
# appears twice in that directory is refused, naming it. (The time such a
# build takes is bench/dir-entries' to measure.)
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

need_tools python3 sfdisk e2fsck debugfs
[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi is not installed"

python3 - <<'PY'
import os
d = "tree/var/lib/many"
os.makedirs(d)
for i in range(6000):
    with open("%s/f%05d" % (d, i), "w") as f:
        f.write("file %d\n" % i)
for i in range(100):
    os.makedirs("%s/d%03d" % (d, i))
for i in range(50):
    with open("%s/%s%03d" % (d, "n" * 252, i), "w") as f:
        f.write("long %d\n" % i)
PY
make_base base.tar.gz --tree tree
write_recipe img.conf base.tar.gz
mkdir out
ok "a base with 6150 entries in one directory builds" enlighten build img.conf -o out
part_extract out/test.raw 2 root.img
ok "e2fsck finds the root clean" e2fsck -fn root.img
is "every entry is in the directory" \
	"$(debugfs -R 'ls -p /var/lib/many' root.img 2>/dev/null | grep '^/' | grep -vc '/\.\{1,2\}//$')" 6150
is "the last file's data" "$(debugfs -R 'cat /var/lib/many/f05999' root.img 2>/dev/null)" "file 5999"
is "a subdirectory is one" "$(debugfs -R 'stat /var/lib/many/d099' root.img 2>/dev/null | grep -o 'Type: directory')" \
	"Type: directory"
is "a 255-byte name's data" \
	"$(debugfs -R "cat /var/lib/many/$(printf 'n%.0s' $(seq 252))049" root.img 2>/dev/null)" "long 49"

python3 - <<'PY'
import gzip, io, tarfile
src = tarfile.open("base.tar.gz")
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    for m in src.getmembers():
        t.addfile(m, src.extractfile(m) if m.isreg() else None)
    m = src.getmember("./var/lib/many/f04242")
    t.addfile(m, src.extractfile(m))
open("dup.tar.gz", "wb").write(gzip.compress(buf.getvalue(), mtime=0))
PY
write_recipe dup.conf dup.tar.gz
rm -rf out && mkdir out
exits 1 "an entry that appears twice among them is refused" enlighten build dup.conf -o out
like "... naming it" "$(last_output)" "tarball entry '(\./)?var/lib/many/f04242' appears twice; refused"
is "... and nothing is left in the output directory" "$(ls -A out)" ""

done_testing
