#!/bin/sh
# t5007-firstboot-dpkg.sh - on a Debian root (a dpkg database, no rpm
# database) the agent installs the catalog's .deb payloads through the
# root's own dpkg, takes the matrix's [Debian] names, moves from one
# profile to another by purging the old package in the same step, changes
# nothing on the next boot, and refuses a package file that does not match
# the signed catalog, leaving dpkg's database as it was.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

command -v dpkg >/dev/null || skip_all "dpkg is not installed"
[ "$(id -u)" -eq 0 ] || skip_all "dpkg --root needs root"
export SOURCE_DATE_EPOCH=1700000000

mkdir -p repo/debian
cp "$ENLIGHTEN_BUILDDIR"/payloads/repo/debian/enlighten-ic-*.deb repo/debian/
ok "keygen" enlighten payload keygen --out k
ok "index the .deb payloads" enlighten payload index --expires 36500 repo
ok "sign" enlighten payload sign --key k.key repo/catalog.json

r=$PWD/r
mkdir -p r/var/lib/dpkg/info r/var/lib/dpkg/updates r/var/lib/enlighten r/etc/enlighten/keys \
	r/usr/share/enlighten/payloads r/usr/lib/systemd/system r/etc/systemd/system r/usr/sbin
: >r/var/lib/dpkg/status
cp -R repo r/var/lib/enlighten/repo
cp k.pub r/etc/enlighten/keys/
cp -R "$ENLIGHTEN_DATADIR/payloads/profiles" r/usr/share/enlighten/payloads/profiles
printf '[Unit]\nDescription=stand-in\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' \
	>r/usr/lib/systemd/system/qemu-guest-agent.service

installed() { dpkg-query --admindir=r/var/lib/dpkg -W -f='${db:Status-Abbrev}${Package}\n' | sed -n 's/^ii *//p' | tr '\n' ' '; }

ok "kvm-guest on a dpkg root" enlighten-firstboot --root r --profile kvm-guest
like "summary" "$(last_output)" "profile=kvm-guest changed=yes forced=yes"
is "dpkg has its package" "$(installed)" "enlighten-ic-kvm-guest "
ok "the package's files are in the tree" test -f r/usr/lib/modules-load.d/enlighten-kvm-guest.conf
like "the .deb's initramfs-tools drop-in, not dracut's" "$(ls r/usr/share/initramfs-tools/modules.d/)" \
	"enlighten-kvm-guest.conf"
ok "the unit enabled" test -L r/etc/systemd/system/multi-user.target.wants/qemu-guest-agent.service
ok "no policy-rc.d left behind" test ! -e r/usr/sbin/policy-rc.d
ok "nor the scripts' commands (no daemon-reload per package)" test ! -e r/var/lib/enlighten/script-path

ok "move to xen-hvm" enlighten-firstboot --root r --profile xen-hvm
is "dpkg has the new package only" "$(installed)" "enlighten-ic-xen-hvm "
like "one package step: install the new, purge the old" "$(cat r/var/lib/enlighten/report.json)" \
	"packages: install \[enlighten-ic-xen-hvm\] erase \[enlighten-ic-kvm-guest\]"
ok "the old package's files are gone" test ! -e r/usr/lib/modules-load.d/enlighten-kvm-guest.conf
ok "[Debian] Services= is empty: kvm-guest's unit disabled" \
	test ! -e r/etc/systemd/system/multi-user.target.wants/qemu-guest-agent.service

ok "the next boot" enlighten-firstboot --root r --profile xen-hvm
like "changes nothing" "$(last_output)" "profile=xen-hvm changed=no forced=yes"

# a package file that is not the one the catalog signed
deb=$(ls r/var/lib/enlighten/repo/debian/enlighten-ic-metal_*.deb)
cp r/var/lib/enlighten/repo/debian/enlighten-ic-hyperv-root_*.deb "$deb"
exits 1 "a tampered .deb is refused" enlighten-firstboot --root r --profile metal
like "naming the file" "$(last_output)" "package file '/var/lib/enlighten/repo/debian/enlighten-ic-metal_.*' does not match the signed catalog"
is "dpkg's database as it was" "$(installed)" "enlighten-ic-xen-hvm "
like "the state says the run failed" "$(cat r/var/lib/enlighten/state.json)" '"result": "failed"'

done_testing
