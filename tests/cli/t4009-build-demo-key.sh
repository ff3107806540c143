#!/bin/sh
# t4009-build-demo-key.sh - a payload key marked as a demo key
# (PublicKeyIsDemo=yes: its secret sits unencrypted on the build host) is
# refused unless the image is marked a demo (Demo=yes), and then the build
# says loudly that the image must not ship. The template that uses the demo
# key is marked so.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi is not installed"
make_base base.tar.gz
make_signed_repo repo
mkdir out

write_recipe key.conf base.tar.gz '[Payloads]' 'Source=repo' 'PublicKey=key.pub' 'PublicKeyIsDemo=yes'
exits 1 "a demo key in an image that is not a demo" enlighten build key.conf -o out
like "... is refused, saying why and what to do" "$(last_output)" \
	"PublicKey 'key.pub' is marked a demo key \(PublicKeyIsDemo=yes\): an image that trusts it would trust a secret left unencrypted on the build host; give the OEM's own key, or build a demo with 'Demo=yes' in \[Image\]"
is "... and writes nothing" "$(ls -A out)" ""

sed 's/^\[Image\]$/[Image]\nDemo=yes/' key.conf >demo.conf
ok "the same key in an image marked Demo=yes" enlighten build demo.conf -o out
like "... builds, saying loudly it must not ship" "$(last_output)" \
	"THIS IS A DEMO IMAGE \(Demo=yes\): it trusts the demo key 'key.pub', whose secret is unencrypted on the build host; never ship it"

write_recipe plain.conf base.tar.gz '[Payloads]' 'Source=repo' 'PublicKey=key.pub'
rm -rf out && mkdir out
ok "the OEM's own key" enlighten build plain.conf -o out
is "... no demo warning" "$(last_output | grep -c 'DEMO IMAGE')" 0

t=$SRC/templates/linux-universal.conf
ok "the template that trusts the demo key marks the key" grep -qx 'PublicKeyIsDemo=yes' "$t"
ok "... and the image" grep -qx 'Demo=yes' "$t"

done_testing
