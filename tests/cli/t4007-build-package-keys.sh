#!/bin/sh
# t4007-build-package-keys.sh - an OEM package signed with the OEM's own key:
# on an rpm base the build checks every staged RPM against the keys the
# image will trust (the base's rpm database and the recipe's PackageKeys=),
# so a package that would fail at first boot with NOKEY fails the build;
# PackageKeys= carries the key into the image, and the agent imports it into
# the root's rpm database before it installs.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/closure-lib.sh"

need_tools python3 sfdisk debugfs rpmbuild rpmsign gpg
[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi is not installed"
export SOURCE_DATE_EPOCH=1700000000 GPG_TTY=/dev/null

B=$ENLIGHTEN_BUILDDIR
gpg_key oem "OEM packages" packages@oem.invalid || skip_all "gpg cannot make a key"
mkrpm rrepo/linux qemu-guest-agent 7.2 "glibc" && mkrpm rpms glibc 2.36 ||
	skip_all "rpmbuild cannot build the stand-ins"
ok "the OEM signs its package with its own key" rpm_sign "$PWD/oem" packages@oem.invalid \
	rrepo/linux/qemu-guest-agent-7.2-1.noarch.rpm
cp "$B"/payloads/repo/linux/enlighten-ic-kvm-guest-*.rpm rrepo/linux/

# the base trusts its vendor's key (the project's test key), not the OEM's
rpm_root rtree rpms/glibc-2.36-1.noarch.rpm || skip_all "rpm --root cannot make a database"
rpmkeys --root "$PWD/rtree" --dbpath /var/lib/rpm --import "$B/payloads/RPM-GPG-KEY-enlighten-test"
mkdir -p rtree/usr/lib/systemd/system
printf '[Unit]\nDescription=stand-in\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' \
	>rtree/usr/lib/systemd/system/qemu-guest-agent.service
make_base base.tar.gz --tree rtree

enlighten payload keygen -o key >/dev/null
ok "index" enlighten payload index --expires 36500 rrepo
ok "sign the catalog" enlighten payload sign --key key.key rrepo/catalog.json

write_recipe nokey.conf base.tar.gz '[Payloads]' 'Source=rrepo' 'PublicKey=key.pub' 'Profiles=kvm-guest'
mkdir out
exits 1 "without the OEM's key the build fails" enlighten build nokey.conf -o out
like "naming the package, the key and what to do" "$(last_output)" \
	"rpm 'linux/qemu-guest-agent-7.2-1.noarch.rpm': .*key ID [0-9a-f]+: NOKEY; the image trusts the keys of the base's rpm database and of PackageKeys= \(0 named\), so the package would fail at first boot: add the key that signed it to PackageKeys= in \[Payloads\]"
is "and writes nothing" "$(finished_files out)" ""

write_recipe key.conf base.tar.gz '[Payloads]' 'Source=rrepo' 'PublicKey=key.pub' 'Profiles=kvm-guest' \
	'PackageKeys=oem.asc'
ok "with PackageKeys= it builds" enlighten build key.conf -o out
part_extract out/test.raw 2 root.img
ok "the key is in the image" sh -c "debugfs -R 'cat /etc/enlighten/rpm-keys/00-oem.asc' root.img 2>/dev/null | cmp - oem.asc"
like "the manifest names it as an input" "$(cat out/test.manifest.json)" '"package-key"'

echo "not a key" >junk.asc
write_recipe junk.conf base.tar.gz '[Payloads]' 'Source=rrepo' 'PublicKey=key.pub' 'Profiles=kvm-guest' \
	'PackageKeys=junk.asc'
mkdir out2
exits 1 "a key file that holds no key" enlighten build junk.conf -o out2
like "is named" "$(last_output)" "key '.*junk.asc' holds no OpenPGP public key \(want 'gpg --armor --export'\)"
write_recipe nosrc.conf base.tar.gz '[Payloads]' 'PackageKeys=oem.asc'
exits 2 "PackageKeys= without a payload source" enlighten build nosrc.conf -o out2
like "is refused" "$(last_output)" "PackageKeys= needs a payload Source="

if [ "$(id -u)" -eq 0 ]; then
	mkdir root
	debugfs -R "rdump / root" root.img >/dev/null 2>&1
	cp -a root bare && rm -rf bare/etc/enlighten/rpm-keys
	exits 1 "without the imported key the agent fails as it did" \
		enlighten-firstboot --root bare --profile kvm-guest
	like "with NOKEY" "$(last_output)" "NOKEY"
	ok "the agent on the built tree" enlighten-firstboot --root root --profile kvm-guest
	ok "installs the OEM's package" rpm --root "$PWD/root" --dbpath /var/lib/rpm -q qemu-guest-agent
	like "the root's rpm database now trusts the OEM's key" \
		"$(rpm --root "$PWD/root" --dbpath /var/lib/rpm -q gpg-pubkey --qf '%{SUMMARY}\n')" "OEM packages"
	# the package removed behind the agent's back: the next run installs
	# it again, with the key already in the database
	rpm --root "$PWD/root" --dbpath /var/lib/rpm -e --nodeps qemu-guest-agent 2>/dev/null
	rm root/var/lib/enlighten/state.json
	ok "a run with the key already imported" enlighten-firstboot --root root --profile kvm-guest
	ok "installs again" rpm --root "$PWD/root" --dbpath /var/lib/rpm -q qemu-guest-agent
	is "one OEM key in the database" \
		"$(rpm --root "$PWD/root" --dbpath /var/lib/rpm -q gpg-pubkey --qf '%{SUMMARY}\n' | grep -c 'OEM packages')" 1
else
	echo "# not root: the agent's import is not run"
fi

done_testing
