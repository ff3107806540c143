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
refused "a package without its catalog file" p/nocat/xenvbd "no catalog \(.cat\) file"

mkdir -p p/noinf/xenvbd && : >p/noinf/xenvbd/xenvbd.sys && : >p/noinf/xenvbd/xenvbd.cat
refused "a package without an INF" p/noinf/xenvbd "no INF file at the top level"

make_pkg p/twoinf/xenvbd xenvbd && : >p/twoinf/xenvbd/other.inf
refused "a package with two INFs" p/twoinf/xenvbd "more than one INF file at the top level"

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
