#!/bin/sh
# t5009-firstboot-hostile-root.sh - a tree given to --root is input, not
# trusted: firstboot.conf values that are refused or set twice give a clean
# error (no double free), a symlinked boot/efi/KVER or var/lib/rpm does not
# make the agent write outside the root, and InitrdTool= from the tree does
# not choose the program the host runs.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/fixtures/firstboot/lib.sh"

fb_fixture || skip_all "cannot build the payload fixture (rpmbuild, gpg)"
fb_root template >/dev/null 2>&1 || skip_all "cannot make a test root"
conf=etc/enlighten/firstboot.conf
fresh() { rm -rf r; cp -a template r; }

# A refused path value, alone or after a good one, and keys set twice.
fresh
for text in 'Repository=../up' 'PublicKey=/a/../../b' 'Repository=/srv/a\nRepository=../b' \
	'PublicKey=/k.pub\nPublicKey=../k.pub' 'Repository=/srv/a\nRepository=/srv/b'; do
	printf "[Firstboot]\n$text\n" >r/$conf
	case $text in *'Repository=/srv/b') want=0 ;; *) want=2 ;; esac
	if [ $want = 2 ]; then
		exits 2 "firstboot.conf '$text': a clean refusal" fb --root r --profile kvm-guest --plan
		like "... naming the line and the key" "$(last_output)" "line [23]: bad value '.*' for '(Repository|PublicKey)'"
	else
		fails "firstboot.conf '$text': set twice, the last one counts" fb --root r --profile kvm-guest --plan
		like "... the repository named last" "$(last_output)" "'/srv/b'"
	fi
done
printf '[Firstboot]\nRepository=../up\n' >r/$conf
exits 2 "install: the same refusal, cleanly" enlighten install --portal http://127.0.0.1:9/ --allow-http --root r
like "... naming the line" "$(last_output)" "line 2: bad value '../up' for 'Repository'"

# boot/efi/KVER a symlink to a directory outside the root.
fresh
mkdir host-dir
echo precious >host-dir/initrd
rm -rf r/boot/efi/6.1.0-test
ln -s "$TEST_DIR/host-dir" r/boot/efi/6.1.0-test
fails "a symlinked boot/efi/KVER is refused" fb --root r --profile kvm-guest
like "... saying where it leads" "$(last_output)" "boot/efi/6.1.0-test.*(outside|symlink)"
is "... and nothing written in the directory it points to" "$(ls host-dir)" "initrd"
is "... the host's file untouched" "$(cat host-dir/initrd)" "precious"

# var/lib/rpm a symlink to an rpm database outside the root.
fresh
mv r/var/lib/rpm host-rpmdb
ln -s "$TEST_DIR/host-rpmdb" r/var/lib/rpm
sum=$(cd host-rpmdb && find . -type f | sort | xargs sha256sum)
fails "a symlinked var/lib/rpm is refused" fb --root r --profile kvm-guest
like "... saying where it leads" "$(last_output)" "var/lib/rpm.*(outside|symlink)"
is "... the database it points to untouched" "$(cd host-rpmdb && find . -type f | sort | xargs sha256sum)" "$sum"

# InitrdTool= from the tree: with --root the host runs only its own dracut.
fresh
printf '#!/bin/sh\ntouch "%s/ran"\n' "$TEST_DIR" >evil
chmod 755 evil
printf '[Firstboot]\nInitrdTool=%s/evil\n' "$TEST_DIR" >r/$conf
fails "InitrdTool= in the tree's firstboot.conf is refused with --root" fb --root r --profile kvm-guest
like "... saying why" "$(last_output)" "InitrdTool=.*--root"
ok "... the program it names did not run" test ! -e ran
printf '[Firstboot]\nInitrdTool=dracut\n' >r/$conf
ok "InitrdTool=dracut (the host's) is accepted" fb --root r --profile kvm-guest
like "... the initrd built by the stand-in" "$(cat r/boot/efi/6.1.0-test/initrd-enlighten 2>/dev/null || cat r/boot/efi/6.1.0-test/*)" "hostonly initrd"

done_testing
