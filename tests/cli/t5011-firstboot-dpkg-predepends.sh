#!/bin/sh
# t5011-firstboot-dpkg-predepends.sh - xen-dom0 on a Debian root: the
# toolstack's dependencies include a chain of Pre-Depends (as python3 ->
# python3-minimal -> python3.11-minimal in Debian 12), which one dpkg
# --install of the whole set cannot satisfy, so the agent installs in
# rounds; and [Debian] Services=xen.service, a System V init script, is
# enabled by its rc start links. The packages are small stand-ins with
# Debian's relations and file names.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

command -v dpkg >/dev/null || skip_all "dpkg is not installed"
[ "$(id -u)" -eq 0 ] || skip_all "dpkg --root needs root"
export SOURCE_DATE_EPOCH=1700000000

# pkg NAME [FIELD: VALUE]...: repo/debian/NAME_1.0-1_all.deb ($ARCH for all)
pkg() {
	local name=$1 w
	shift
	w=$(mktemp -d "$TEST_DIR/deb.XXXXXX")
	mkdir -p "$w/DEBIAN" "$w/usr/share/doc/$name" repo/debian
	echo "$name" >"$w/usr/share/doc/$name/marker"
	{
		printf 'Package: %s\nVersion: 1.0-1\nArchitecture: %s\n' "$name" "${ARCH:-all}"
		printf 'Maintainer: Test <t@enlighten.invalid>\nDescription: stand-in %s\n' "$name"
		for f in "$@"; do printf '%s\n' "$f"; done
	} >"$w/DEBIAN/control"
	if [ "$name" = xen-utils-4.17 ]; then
		mkdir -p "$w/etc/init.d"
		printf '#!/bin/sh\nexit 0\n' >"$w/etc/init.d/xen"
		chmod 755 "$w/etc/init.d/xen"
	fi
	dpkg-deb --root-owner-group -Zgzip -b "$w" "repo/debian/${name}_1.0-1_${ARCH:-all}.deb" >/dev/null
	rm -rf "$w"
}
# listed so that one dpkg run would unpack python3 before its pre-dependency is configured
pkg xen-utils-4.17 'Depends: python3 (>= 1.0), libxenmisc'
pkg python3 'Pre-Depends: python3-minimal (= 1.0-1)' 'Depends: libpython3-stdlib'
pkg python3-minimal 'Pre-Depends: python3.11-minimal (>= 1.0)'
pkg python3.11-minimal 'Depends: libpython3.11-minimal'
pkg libpython3.11-minimal
pkg libpython3-stdlib
pkg libxenmisc
# the device model of HVM guests
pkg qemu-system-xen 'Depends: libxenmisc'
cp "$ENLIGHTEN_BUILDDIR"/payloads/repo/debian/enlighten-ic-xen-dom0_*.deb repo/debian/
ok "keygen" enlighten payload keygen --out k
ok "index" enlighten payload index --expires 36500 repo
ok "sign" enlighten payload sign --key k.key repo/catalog.json

mkdir -p r/var/lib/dpkg/info r/var/lib/dpkg/updates r/var/lib/enlighten r/etc/enlighten/keys \
	r/usr/share/enlighten/payloads r/usr/lib/systemd/system r/etc/systemd/system r/usr/sbin \
	r/etc/rc2.d r/etc/rc3.d r/etc/rc4.d r/etc/rc5.d
: >r/var/lib/dpkg/status
cp -R repo r/var/lib/enlighten/repo
cp k.pub r/etc/enlighten/keys/
cp -R "$ENLIGHTEN_DATADIR/payloads/profiles" r/usr/share/enlighten/payloads/profiles
installed() { dpkg-query --admindir=r/var/lib/dpkg -W -f='${db:Status-Abbrev}${Package}\n' | sed -n 's/^ii *//p' | tr '\n' ' '; }

ok "xen-dom0 on a dpkg root" enlighten-firstboot --root r --profile xen-dom0
like "summary" "$(last_output)" "profile=xen-dom0 changed=yes forced=yes"
is "the toolstack, its whole pre-dependency chain and the device model are installed" "$(installed)" \
	"enlighten-ic-xen-dom0 libpython3-stdlib libpython3.11-minimal libxenmisc python3 python3-minimal python3.11-minimal qemu-system-xen xen-utils-4.17 "
ok "xen.service, the init script, enabled by its start links" \
	test "$(readlink r/etc/rc2.d/S01xen)" = ../init.d/xen -a "$(readlink r/etc/rc5.d/S01xen)" = ../init.d/xen
ok "the next boot" enlighten-firstboot --root r --profile xen-dom0
like "changes nothing" "$(last_output)" "profile=xen-dom0 changed=no forced=yes"

# a dependency nobody provides fails the last round: what the earlier
# rounds installed is purged again, unpacked or configured
mkdir -p f/var/lib/dpkg/info f/var/lib/dpkg/updates f/var/lib/enlighten f/etc/enlighten/keys \
	f/usr/share/enlighten/payloads f/usr/sbin
: >f/var/lib/dpkg/status
cp -R repo f/var/lib/enlighten/repo
cp k.pub f/etc/enlighten/keys/
cp -R r/usr/share/enlighten/payloads/profiles f/usr/share/enlighten/payloads/profiles
mv repo good-repo
pkg xen-utils-4.17 'Depends: python3 (>= 1.0), libxenmisc (>= 2)'
cp repo/debian/xen-utils-4.17_1.0-1_all.deb f/var/lib/enlighten/repo/debian/
enlighten payload index --expires 36500 f/var/lib/enlighten/repo >/dev/null 2>&1
enlighten payload sign --key k.key f/var/lib/enlighten/repo/catalog.json >/dev/null 2>&1
exits 1 "xen-dom0 with an unmet dependency" enlighten-firstboot --root f --profile xen-dom0
like "fails, saying what dpkg said" "$(last_output)" "xen-utils-4.17 depends on libxenmisc \\(>= 2\\)"
is "and the system is as it was, nothing unpacked left" \
	"$(dpkg-query --admindir=f/var/lib/dpkg -W -f='${db:Status-Abbrev}${Package}\n' | grep -v '^[up]n' | tr '\n' ' ')" ""

# refused before dpkg runs at all: a dependency no package installed or in
# the set names, and a package of an architecture this dpkg does not take
# (the status file's dpkg says amd64)
# root ROOT REPO: a dpkg root whose dpkg is amd64, with REPO signed in it
root() {
	mkdir -p "$1"/var/lib/dpkg/info "$1"/var/lib/dpkg/updates "$1"/var/lib/enlighten \
		"$1"/etc/enlighten/keys "$1"/usr/share/enlighten/payloads "$1"/usr/sbin
	printf 'Package: dpkg\nStatus: install ok installed\nVersion: 1.21.22\nArchitecture: amd64\n' \
		>"$1"/var/lib/dpkg/status
	cp -R "$2" "$1"/var/lib/enlighten/repo
	cp k.pub "$1"/etc/enlighten/keys/
	cp -R r/usr/share/enlighten/payloads/profiles "$1"/usr/share/enlighten/payloads/profiles
	enlighten payload index --expires 36500 "$1"/var/lib/enlighten/repo >/dev/null 2>&1
	enlighten payload sign --key k.key "$1"/var/lib/enlighten/repo/catalog.json >/dev/null 2>&1
}
rm -rf repo && cp -R good-repo repo
pkg libpython3-stdlib 'Depends: libmpdec3 | libmpdec-virtual'
root g repo
exits 1 "a dependency nothing installed or in the set names" \
	enlighten-firstboot --root g --profile xen-dom0
like "is refused, naming the package and the dependency" "$(last_output)" \
	"package 'libpython3-stdlib' .* depends on 'libmpdec3 | libmpdec-virtual', which is neither installed nor in the repository's set"
is "before dpkg unpacked anything" "$(ls g/usr/share/doc 2>/dev/null)" ""

rm -rf repo && cp -R good-repo repo && rm repo/debian/libxenmisc_*
ARCH=s390x pkg libxenmisc
root a repo
exits 1 "a package of another architecture" enlighten-firstboot --root a --profile xen-dom0
like "is refused, naming both architectures" "$(last_output)" \
	"package 'libxenmisc' .* is for architecture 's390x', which dpkg here does not install \\(it takes 'amd64'\\)"
is "before dpkg unpacked anything" "$(ls a/usr/share/doc 2>/dev/null)" ""

done_testing
