#!/bin/sh
# t4016-build-payload-tampered.sh - a payload changed after the catalog was
# signed fails the build, naming the payload, and leaves no image: one
# that goes into the image's repository is caught as it is copied (its
# package header still parses), one of another length before any byte of
# it is read, and one the image does not take after the closure is solved.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/closure-lib.sh"

need_tools python3 sfdisk debugfs dpkg-deb
[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi is not installed"

mkdeb repo/debian oem-agent 1.0-1 "" enlighten-profile-kvm-guest
mkdeb repo/debian unrelated 1.0-1
cp "$ENLIGHTEN_BUILDDIR"/payloads/repo/debian/enlighten-ic-kvm-guest_*.deb repo/debian/
enlighten payload keygen -o key >/dev/null
ok "index" enlighten payload index --expires 36500 repo
ok "sign" enlighten payload sign --key key.key repo/catalog.json
cp -a repo good

dpkg_status tree/var/lib/dpkg/status libc6=2.36-9
make_base base.tar.gz --tree tree
write_recipe img.conf base.tar.gz '[Payloads]' 'Source=repo' 'PublicKey=key.pub' 'Profiles=kvm-guest'
mkdir out
ok "the untouched payload source builds" enlighten build img.conf -o out
part_extract out/test.raw 2 root.img
ok "... its staged package in the image as signed" sh -c \
	"debugfs -R 'cat /var/lib/enlighten/repo/debian/oem-agent_1.0-1_all.deb' root.img 2>/dev/null | cmp - good/debian/oem-agent_1.0-1_all.deb"
rm -f out/* root.img

# reset NAME: the payload source as signed again
reset() { rm -rf repo && cp -a good repo; }

# flip_last FILE: its last byte changed, its length kept (the gzip trailer of
# the data member: the control member, which the closure reads, still parses)
flip_last() {
	python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(-1, 2); b = f.read(1); f.seek(-1, 2); f.write(bytes([b[0] ^ 0xff]))' "$1"
}

flip_last repo/debian/oem-agent_1.0-1_all.deb
ok "... (a staged package changed, its length kept)" sh -c '! cmp -s repo/debian/oem-agent_1.0-1_all.deb good/debian/oem-agent_1.0-1_all.deb'
exits 1 "a staged payload changed after signing fails the build" enlighten build img.conf -o out
like "... naming the payload and its digest" "$(last_output)" \
	"payload 'debian/oem-agent_1.0-1_all.deb': sha256 [0-9a-f]{64}, catalog says [0-9a-f]{64}: not what the catalog signed, so no image is made"
is "... and leaves nothing in the output directory" "$(ls -A out)" ""

reset
printf 'x' >>repo/debian/oem-agent_1.0-1_all.deb
exits 1 "a staged payload that grew fails the build" enlighten build img.conf -o out
like "... naming the payload and both lengths" "$(last_output)" \
	"payload source 'repo': payload 'debian/oem-agent_1.0-1_all.deb': length [0-9]+, catalog says [0-9]+"
is "... and leaves nothing" "$(ls -A out)" ""

reset
flip_last repo/debian/unrelated_1.0-1_all.deb
exits 1 "a payload the image does not take, changed after signing, fails the build too" \
	enlighten build img.conf -o out
like "... naming it" "$(last_output)" \
	"payload source 'repo': payload 'debian/unrelated_1.0-1_all.deb': sha256 [0-9a-f]{64}, catalog says"
is "... and leaves nothing" "$(ls -A out)" ""

reset
ok "the payload source restored builds again" enlighten build img.conf -o out

done_testing
