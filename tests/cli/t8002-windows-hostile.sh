#!/bin/sh
# t8002-windows-hostile.sh - driver packages that must not reach the image
# are refused by name, and a refused build leaves no output: links that
# escape, special files, oversize files, names Windows cannot hold, no INF,
# no catalog file, bad profile names.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/windows-lib.sh"

make_wim install.wim
echo secret >secret
mkdir tmp && TMPDIR=$TEST_DIR/tmp && export TMPDIR

refused() { # name package-dir message-regex
	fails "refuses $1" enlighten wim --wim install.wim --driver "xen-hvm=$2" -o out.wim
	like "$1: says why" "$(last_output)" "$3"
	ok "$1: no output" test ! -e out.wim
}

make_pkg p/escape/xenvbd xenvbd
ln -s ../../../secret p/escape/xenvbd/notes.txt
refused "a symlink out of the package" p/escape/xenvbd \
	"driver package 'p/escape/xenvbd': entry 'notes.txt': symbolic links are not allowed"

make_pkg p/fifo/xenvbd xenvbd
mkfifo p/fifo/xenvbd/pipe
refused "a FIFO" p/fifo/xenvbd "entry 'pipe': only files and directories are allowed"

make_pkg p/big/xenvbd xenvbd
truncate -s 1025M p/big/xenvbd/huge.bin
refused "a file over the 1 GiB cap" p/big/xenvbd "entry 'huge.bin': driver package is larger than the 1 GiB cap"

make_pkg p/name/xenvbd xenvbd
mkdir p/name/xenvbd/sub && : >p/name/xenvbd/sub/AUX.txt
refused "a device name Windows reserves" p/name/xenvbd "entry 'sub/AUX.txt': not a valid Windows file name"

make_pkg p/colon/xenvbd xenvbd
: >'p/colon/xenvbd/a:stream'
refused "an NTFS stream name" p/colon/xenvbd "entry 'a:stream': not a valid Windows file name"

make_pkg p/nocat/xenvbd xenvbd
rm p/nocat/xenvbd/xenvbd.cat
refused "a package without its catalog file" p/nocat/xenvbd \
	"INF 'xenvbd.inf' names catalog file 'xenvbd.cat', which the package does not have"

make_pkg p/nocatline/xenvbd xenvbd NTamd64 -
refused "an INF that names no catalog" p/nocatline/xenvbd \
	"INF 'xenvbd.inf' names no catalog file \(CatalogFile=\)"

make_pkg p/x86/xenvbd xenvbd NTx86
refused "a package for the wrong architecture" p/x86/xenvbd \
	"driver package 'p/x86/xenvbd': INF 'xenvbd.inf' is not for amd64 \(it serves x86\)"

make_pkg p/arm/xenvbd xenvbd NTarm64
refused "a package for arm64" p/arm/xenvbd "is not for amd64 \(it serves arm64\)"

make_pkg p/broken/xenvbd xenvbd
printf '[Version\r\nClass=SCSIAdapter\r\n' >p/broken/xenvbd/xenvbd.inf
refused "an INF that does not parse" p/broken/xenvbd "INF 'xenvbd.inf' does not parse: .*line 1"

make_pkg p/nomfg/xenvbd xenvbd
printf '[Version]\r\nClass=SCSIAdapter\r\nProvider=x\r\nDriverVer=01/01/2025,1.0.0.0\r\nCatalogFile=xenvbd.cat\r\n' >p/nomfg/xenvbd/xenvbd.inf
refused "an INF without [Manufacturer]" p/nomfg/xenvbd "does not parse: no \[Manufacturer\] section"

mkdir -p p/noinf/xenvbd && : >p/noinf/xenvbd/xenvbd.sys && : >p/noinf/xenvbd/xenvbd.cat
refused "a package without an INF" p/noinf/xenvbd "no INF file in the package"

make_pkg p/twoinf/xenvbd xenvbd && mkdir p/twoinf/xenvbd/sub && : >p/twoinf/xenvbd/sub/other.inf
refused "a package with two INFs" p/twoinf/xenvbd "entry 'sub/other.inf': a second INF file"

# archives go through the shared safe extraction
if command -v python3 >/dev/null 2>&1; then
	python3 - <<'PY'
import zipfile
with zipfile.ZipFile("p/escape.zip", "w") as z:
    z.writestr("xenvbd.inf", "x")
    z.writestr("../../evil.txt", "evil")
with zipfile.ZipFile("p/bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for i in range(5000):
        z.writestr("f%d.txt" % i, "")
PY
	refused "a zip with a path escape" p/escape.zip "archive 'p/escape.zip': entry '../../evil.txt'"
	ok "the escape wrote nothing outside" test ! -e ../evil.txt -a ! -e evil.txt
	refused "a zip with more files than the cap" p/bomb.zip "archive 'p/bomb.zip'.*(entries|cap)"
fi

make_pkg p/ok/xenvbd xenvbd
fails "refuses a profile name with a path" enlighten wim --wim install.wim \
	--driver '../x=p/ok/xenvbd' -o out.wim
like "bad profile: says why" "$(last_output)" "profile or package name is not a valid folder name"
fails "refuses a package given twice" enlighten wim --wim install.wim \
	--driver xen-hvm=p/ok/xenvbd --driver xen-hvm=p/ok/xenvbd/ -o out.wim
like "twice: says why" "$(last_output)" "a package of that name is already staged for this profile"
fails "refuses what is not a package" enlighten wim --wim install.wim --driver xen-hvm=secret -o out.wim
like "not a package: says why" "$(last_output)" "not an INF directory, .cab, .zip or .iso file"
exits 2 "--driver without a profile" enlighten wim --wim install.wim --driver p/ok/xenvbd -o out.wim

is "nothing outside the outputs was written" "$(cat secret)" secret
is "no temporary files left" "$(ls -d ./*.tmp-* tmp/* 2>/dev/null | wc -l)" 0
ok "the good package still builds" enlighten wim --wim install.wim --driver xen-hvm=p/ok/xenvbd -o out.wim

done_testing
