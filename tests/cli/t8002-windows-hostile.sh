#!/bin/sh
# t8002-windows-hostile.sh - driver packages that must not reach the image
# are refused by name, and a refused build leaves no output: links that
# escape, special files, oversize files, names Windows cannot hold, no INF,
# no catalog file, a catalog that is not a signed Windows catalog or does not
# list every file with its digest, bad profile names.
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
# the package is staged in name order: sub/ comes before xenvbd.inf
refused "a package with two INFs" p/twoinf/xenvbd "entry 'xenvbd.inf': a second INF file"

# the catalog: a signed Windows catalog that lists every other file
make_pkg p/fakecat/xenvbd xenvbd && printf 'catalog\n' >p/fakecat/xenvbd/xenvbd.cat
refused "a text file posing as the catalog" p/fakecat/xenvbd \
	"catalog 'xenvbd.cat' is not a signed Windows catalog: it is not PKCS#7"

make_pkg p/ctlonly/xenvbd xenvbd
"$FIXTURES/make-driver-cat" p/ctlonly/xenvbd/xenvbd.cat --unsigned p/ctlonly/xenvbd/xenvbd.inf \
	p/ctlonly/xenvbd/xenvbd.sys
refused "a trust list without a signature" p/ctlonly/xenvbd "xenvbd.cat' is not a signed Windows catalog"

make_pkg p/altered/xenvbd xenvbd
echo patched >>p/altered/xenvbd/xenvbd.sys
refused "a file altered after signing" p/altered/xenvbd \
	"catalog 'xenvbd.cat': 'xenvbd.sys' does not match its digest in the catalog"

make_pkg p/unlisted/xenvbd xenvbd && echo extra >p/unlisted/xenvbd/extra.dll
refused "a file the catalog does not list" p/unlisted/xenvbd \
	"catalog 'xenvbd.cat': 'extra.dll' is not in the catalog; Windows would refuse the package"

make_pkg p/tampered/xenvbd xenvbd
"$FIXTURES/make-driver-cat" p/tampered/xenvbd/xenvbd.cat --tamper xenvbd.inf \
	p/tampered/xenvbd/xenvbd.inf p/tampered/xenvbd/xenvbd.sys
refused "a catalog whose digest is wrong" p/tampered/xenvbd "'xenvbd.inf' does not match its digest"

make_pkg p/resigned/xenvbd xenvbd
python3 -c 'import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
i = b.find("xenvbd.inf".encode("utf-16-le")); b[i] ^= 0x20
open(p, "wb").write(bytes(b))' p/resigned/xenvbd/xenvbd.cat
refused "a catalog changed after it was signed" p/resigned/xenvbd \
	"its signature does not match its content"

make_pkg p/hashonly/xenvbd xenvbd
"$FIXTURES/make-driver-cat" p/hashonly/xenvbd/xenvbd.cat --hash-only xenvbd.sys \
	p/hashonly/xenvbd/xenvbd.inf p/hashonly/xenvbd/xenvbd.sys
ok "a catalog that lists a file by its digest alone is taken" \
	enlighten wim --wim install.wim --driver xen-hvm=p/hashonly/xenvbd -o hashonly.wim

# a PE image is listed by its Authenticode digest (osslsigncode's, as an
# independent reference), signed or not
if command -v x86_64-w64-mingw32-gcc >/dev/null && command -v osslsigncode >/dev/null; then
	printf 'int main(void) { return 0; }\n' >pe.c
	x86_64-w64-mingw32-gcc -o pe.exe pe.c
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout pe.key -out pe.crt -subj /CN=test -days 30 2>/dev/null
	osslsigncode sign -certs pe.crt -key pe.key -h sha256 -in pe.exe -out pe-signed.exe >/dev/null
	digest=$(osslsigncode verify -in pe-signed.exe 2>&1 | sed -n 's/^Calculated message digest *: *\([0-9A-F]*\).*/\1/p')
	for v in pe pe-signed; do
		make_pkg p/$v/xenvbd xenvbd && cp $v.exe p/$v/xenvbd/xenvbd.sys
		"$FIXTURES/make-driver-cat" p/$v/xenvbd/xenvbd.cat --pe "xenvbd.sys=$digest" \
			p/$v/xenvbd/xenvbd.inf p/$v/xenvbd/xenvbd.sys
		ok "a PE listed by its Authenticode digest is taken ($v)" \
			enlighten wim --wim install.wim --driver xen-hvm=p/$v/xenvbd -o $v.wim
	done
	make_pkg p/pe-bad/xenvbd xenvbd && cp pe.exe p/pe-bad/xenvbd/xenvbd.sys
	printf 'x' | dd of=p/pe-bad/xenvbd/xenvbd.sys bs=1 seek=1024 conv=notrunc 2>/dev/null
	"$FIXTURES/make-driver-cat" p/pe-bad/xenvbd/xenvbd.cat --pe "xenvbd.sys=$digest" \
		p/pe-bad/xenvbd/xenvbd.inf p/pe-bad/xenvbd/xenvbd.sys
	refused "a PE whose Authenticode digest does not match" p/pe-bad/xenvbd \
		"'xenvbd.sys' does not match its digest"
else
	echo "# skipped the PE cases: x86_64-w64-mingw32-gcc or osslsigncode is missing"
fi

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
