#!/bin/sh
# t4014-build-overlay.sh - [Base] Overlays=: the OEM's files from a
# directory or a tarball laid over the base through the same writer: a
# tarball's owners and modes kept, a directory's by the documented rule
# (root, 0755/0644 by the execute bit), a later overlay winning, a base file
# replaced (its hard links keep the old one), the base's directories kept as
# they are; each overlay an input of the manifest with its digest; the image
# the same bytes when a directory's times change; '..', a symlink escape, a
# write through the base's symlink and a file over a directory refused with
# the overlay and the entry named, and nothing written.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

need_tools python3 sfdisk debugfs
[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi is not installed"

make_base base.tar.gz

# a directory overlay, as an OEM keeps it in version control
mkdir -p tree/etc tree/usr/local/bin tree/usr/lib
printf 'from the directory\n' >tree/etc/motd
printf 'NAME=OEM Linux\nID=oem\n' >tree/usr/lib/os-release
printf '#!/bin/sh\necho hello\n' >tree/usr/local/bin/hello
chmod 0700 tree/usr/local/bin/hello
chmod 0600 tree/etc/motd
ln -s hello tree/usr/local/bin/hi
ln -s /etc/shadow tree/etc/shadow-link # a symlink is data in the image
long=usr/share/oem/a-directory-name-long-enough-that-the-path-needs-an-extended-header/and-then-some-more
mkdir -p "tree/$long" && echo long >"tree/$long/file.txt"

# a tarball overlay with its own owners and modes, made as a user would
python3 - <<'EOF'
import io, tarfile
def add(t, name, typ=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0, **kw):
    i = tarfile.TarInfo(name); i.type = typ; i.mode = mode; i.uid = uid; i.gid = gid
    i.mtime = 1600000000
    for k, v in kw.items(): setattr(i, k, v)
    if typ == tarfile.REGTYPE: i.size = len(data)
    t.addfile(i, io.BytesIO(data) if typ == tarfile.REGTYPE else None)
with tarfile.open("oem.tar.gz", "w:gz", format=tarfile.PAX_FORMAT) as t:
    add(t, "./", tarfile.DIRTYPE, mode=0o777, uid=1000, gid=1000)
    add(t, "./etc/", tarfile.DIRTYPE, mode=0o777, uid=1000, gid=1000)
    add(t, "./etc/motd", data=b"from the tarball\n", mode=0o640, gid=4)
    add(t, "./opt/oem/", tarfile.DIRTYPE, mode=0o750, uid=1000, gid=1000)
    add(t, "./opt/oem/tool", data=b"\x7fELF tool", mode=0o4755)
    add(t, "./usr/bin/sh", data=b"#!oem shell\n", mode=0o755)
def hostile(out, *entries):
    with tarfile.open(out, "w") as t:
        for e in entries: add(t, *e[:2], **e[2])
hostile("dotdot.tar", ("../evil", tarfile.REGTYPE, {"data": b"x"}))
hostile("escape.tar", ("ln", tarfile.SYMTYPE, {"linkname": "/etc", "mode": 0o777}),
        ("ln/passwd", tarfile.REGTYPE, {"data": b"x"}))
hostile("through-base.tar", ("etc/mtab/x", tarfile.REGTYPE, {"data": b"x"}))
hostile("over-dir.tar", ("home/user", tarfile.REGTYPE, {"data": b"x"}))
EOF

write_recipe img.conf base.tar.gz 'Overlays=tree/' 'Overlays=oem.tar.gz'
mkdir out
ok "build with a directory and a tarball overlay" enlighten build img.conf -o out
part_extract out/test.raw 2 root.img
cat_() { debugfs -R "cat $1" root.img 2>/dev/null; }
stat_() { debugfs -R "stat $1" root.img 2>/dev/null; }
mode_() { stat_ "$1" | sed -n 's/.*Mode: *\([0-7]*\).*/\1/p' | head -1; }
owner_() { stat_ "$1" | sed -n 's/.*User: *\([0-9]*\) *Group: *\([0-9]*\).*/\1:\2/p' | head -1; }

is "the later overlay wins" "$(cat_ /etc/motd)" "from the tarball"
is "... with the tarball's mode" "$(mode_ /etc/motd)" 0640
is "... and owner" "$(owner_ /etc/motd)" 0:4
is "a tarball's setuid file keeps its mode" "$(mode_ /opt/oem/tool)" 04755
is "a tarball's new directory keeps its owner and mode" "$(owner_ /opt/oem) $(mode_ /opt/oem)" "1000:1000 0750"
is "the base's directories keep theirs" "$(owner_ /etc) $(mode_ /etc) $(owner_ /) $(mode_ /)" \
	"0:0 0755 0:0 0755"
is "a base file replaced by the directory" "$(cat_ /usr/lib/os-release)" "NAME=OEM Linux
ID=oem"
is "a directory's file: root, 0755 by its execute bit" \
	"$(owner_ /usr/local/bin/hello) $(mode_ /usr/local/bin/hello)" "0:0 0755"
is "... 0644 without" "$(owner_ /usr/lib/os-release) $(mode_ /usr/lib/os-release)" "0:0 0644"
like "a directory's symlink is kept" "$(stat_ /usr/local/bin/hi)" 'Fast link dest: "hello"'
like "... also one that points outside (data in the image)" "$(stat_ /etc/shadow-link)" \
	'Fast link dest: "/etc/shadow"'
is "a hard-linked base file replaced" "$(cat_ /usr/bin/sh)" "#!oem shell"
like "... its other name keeps the old file, one link left" "$(stat_ /usr/bin/busybox)" \
	"Links: 1"
is "a long path" "$(cat_ "/$long/file.txt")" long
ok "the filesystem is clean" sh -c 'e2fsck -fn root.img >/dev/null 2>&1'
manifest_overlays() {
	python3 -c 'import json,sys
for i in json.load(open(sys.argv[1]))["inputs"]:
    if i["role"] == "overlay": print(i["name"], i["sha256"])' "$1"
}
tree_sha=$(manifest_overlays out/test.manifest.json | sed -n 's/^tree //p')
is "the manifest lists each overlay with its digest" "$(manifest_overlays out/test.manifest.json)" \
	"tree $tree_sha
oem.tar.gz $(sha256sum <oem.tar.gz | cut -d' ' -f1)"

# the same inputs, the times of the directory's files changed: the same bytes
touch -d @1 tree/etc/motd tree/usr/local/bin/hello tree
mkdir out2
ok "build again" enlighten build img.conf -o out2
ok "the same image" cmp out/test.raw out2/test.raw
ok "the same manifest" cmp out/test.manifest.json out2/test.manifest.json

# what is refused, with nothing written
refused() { # name tarball message
	write_recipe bad.conf base.tar.gz "Overlays=$2"
	rm -rf bad && mkdir bad
	exits 1 "$1" enlighten build bad.conf -o bad
	like "... with the overlay and the entry named" "$(last_output)" "$3"
	is "... and nothing written" "$(finished_files bad)" ""
}
refused "an entry with '..'" dotdot.tar "overlay '.*dotdot.tar': .*'\.\./evil'.*refused"
refused "an entry through its own symlink" escape.tar \
	"overlay '.*escape.tar': tarball entry 'ln/passwd' goes through 'ln', which is a symlink; refused"
refused "an entry through the base's symlink" through-base.tar \
	"overlay '.*through-base.tar': tarball entry 'etc/mtab/x' goes through 'etc/mtab', which is a symlink; refused"
refused "a file over the base's directory" over-dir.tar \
	"overlay '.*over-dir.tar': entry 'home/user' would replace a directory with a file; refused"
mkfifo tree/etc/fifo
refused "a FIFO in a directory overlay" tree \
	"overlay '.*tree': 'etc/fifo' is a device, FIFO or socket; refused"
rm tree/etc/fifo
refused "an overlay that is not there" nothere "cannot open overlay '.*nothere': No such file or directory"

done_testing
