#!/bin/sh
# t2004-payload-closure.sh - `enlighten payload list --closure` solves a
# profile's packages against a base's package database (dpkg status or rpm
# database) and the payload repository with libsolv: what the base has is
# left out, what a package needs is pulled in, the newer version where a
# relation asks for it, and a base that lacks something nobody provides is
# refused with the profile, the package and the missing capability named.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/closure-lib.sh"

command -v dpkg-deb >/dev/null || skip_all "dpkg-deb is not installed"
export SOURCE_DATE_EPOCH=1700000000

names() { last_output | awk 'NR > 1 { print $1 }' | tr '\n' ' '; }

# --- Debian packages ---------------------------------------------------------------------
mkdeb repo/debian enlighten-ic-kvm-guest 0.1.0-1 "libqga (>= 2), helper | helper-alt"
mkdeb repo/debian libqga 2.0-1 "libc6"
mkdeb repo/debian libqga 1.0-1 "libc6"
mkdeb repo/debian helper 1.0-1 "libc6 (>= 2.36)"
mkdeb repo/debian unrelated 1.0-1
ok "index" enlighten payload index --expires 36500 repo

base_with() { # OUT NAME=VERSION...
	local out=$1
	shift
	rm -rf tree && dpkg_status tree/var/lib/dpkg/status "$@"
	tar -czf "$out" -C tree ./var
}
base_with deb-base.tar.gz libc6=2.36-9 base-files=12.4
ok "the closure of kvm-guest on a Debian base" \
	enlighten payload list --profile kvm-guest --closure --base deb-base.tar.gz repo
is "the component, what it needs, not what the base has nor what nobody needs" "$(names)" \
	"enlighten-ic-kvm-guest helper libqga "
like "the newer libqga the relation asks for" "$(last_output)" "^libqga +2.0-1 "

base_with deb-has.tar.gz libc6=2.36-9 libqga=2.1-1 helper-alt=1
ok "a base that has the dependencies" \
	enlighten payload list --profile kvm-guest --closure --base deb-has.tar.gz repo
is "takes only the component" "$(names)" "enlighten-ic-kvm-guest "

base_with deb-oldlib.tar.gz libc6=2.36-9 libqga=1.5-1 helper=1.0-1
exits 1 "a closure that would replace a base package" \
	enlighten payload list --profile kvm-guest --closure --base deb-oldlib.tar.gz repo
like "is refused with both versions named" "$(last_output)" \
	"profile 'kvm-guest' needs 'libqga-2.0-1.all' from the payload source in place of the base's 'libqga-1.5-1.amd64', and the agent does not replace the base's packages"

ok "as JSON" enlighten payload list --profile kvm-guest --closure --base deb-base.tar.gz --json repo
is "the same payload objects" "$(last_output | grep -c '"path"')" 3

base_with deb-old.tar.gz libc6=2.31-13 base-files=12.4
exits 1 "a base whose libc6 is too old" \
	enlighten payload list --profile kvm-guest --closure --base deb-old.tar.gz repo
like "names the profile, the package and the capability" "$(last_output)" \
	"profile 'kvm-guest' cannot be installed on the base: nothing provides libc6 >= 2.36 needed by helper-1.0-1"
like "and says what to do" "$(last_output)" "add what is missing to the payload source"

base_with deb-bare.tar.gz base-files=12.4
exits 1 "a base without libc6 at all" \
	enlighten payload list --profile kvm-guest --closure --base deb-bare.tar.gz repo
like "nothing provides it" "$(last_output)" "nothing provides libc6 needed by"

# --- bad input ---------------------------------------------------------------------------
exits 2 "--closure needs --base" enlighten payload list --profile kvm-guest --closure repo
like "says so" "$(last_output)" "--closure needs --profile P and --base TARBALL"
exits 2 "--base needs --closure" enlighten payload list --profile kvm-guest --base deb-base.tar.gz repo
echo "not a tarball" >junk.tar.gz
exits 1 "a base that is not a tarball" \
	enlighten payload list --profile kvm-guest --closure --base junk.tar.gz repo
like "names it" "$(last_output)" "base 'junk.tar.gz'"
mkdir -p empty/etc && echo x >empty/etc/hostname && tar -czf nodb.tar.gz -C empty .
exits 1 "a base without a package database" \
	enlighten payload list --profile kvm-guest --closure --base nodb.tar.gz repo
like "says which databases it looked for" "$(last_output)" \
	"base 'nodb.tar.gz' has no package database \(no var/lib/dpkg/status, no rpm database\)"
exits 1 "a missing base" enlighten payload list --profile kvm-guest --closure --base nope.tar repo
like "names it" "$(last_output)" "nope.tar"
cp -r repo bad && echo garbage >bad/debian/libqga_2.0-1_all.deb
exits 1 "a payload that is not a package" \
	enlighten payload list --profile kvm-guest --closure --base deb-base.tar.gz bad
like "names the payload and what to do" "$(last_output)" \
	"payload 'debian/libqga_2.0-1_all.deb' is not a readable package: .*index the payload source again"

# --- RPM packages ------------------------------------------------------------------------
if command -v rpmbuild >/dev/null && mkrpm rrepo/linux qemu-guest-agent 7.2 "libqga >= 2, glibc" &&
	mkrpm rrepo/linux libqga 2.0 && mkrpm rrepo/linux libqga 1.0 &&
	mkrpm rrepo/linux unrelated 1.0 && mkrpm rpms glibc 2.36 && mkrpm rpms bash 5.2 &&
	cp "$ENLIGHTEN_BUILDDIR"/payloads/repo/linux/enlighten-ic-kvm-guest-*.rpm rrepo/linux/ &&
	rpm_root rtree rpms/glibc-2.36-1.noarch.rpm rpms/bash-5.2-1.noarch.rpm; then
	ok "index the RPMs" enlighten payload index --expires 36500 rrepo
	tar -czf rpm-base.tar.gz -C rtree .
	ok "the closure of kvm-guest on an RPM base" \
		enlighten payload list --profile kvm-guest --closure --base rpm-base.tar.gz rrepo
	is "the component, qemu-guest-agent and the newer libqga" "$(names)" \
		"enlighten-ic-kvm-guest libqga qemu-guest-agent "
	like "libqga 2.0" "$(last_output)" "^libqga +2.0-1 "

	rm -rf rtree && rpm_root rtree rpms/bash-5.2-1.noarch.rpm
	tar -czf rpm-noglibc.tar.gz -C rtree .
	exits 1 "an RPM base without glibc" \
		enlighten payload list --profile kvm-guest --closure --base rpm-noglibc.tar.gz rrepo
	like "names the missing capability and the package" "$(last_output)" \
		"profile 'kvm-guest' cannot be installed on the base: nothing provides glibc needed by qemu-guest-agent-7.2-1.noarch"
	rm rrepo/linux/qemu-guest-agent-*.rpm
	ok "index again" enlighten payload index --expires 36500 rrepo
	exits 1 "a matrix package that neither the base nor the repository has" \
		enlighten payload list --profile kvm-guest --closure --base rpm-base.tar.gz rrepo
	like "is named" "$(last_output)" "profile 'kvm-guest' cannot be installed on the base: package qemu-guest-agent does not exist"
else
	echo "# rpmbuild or rpm --root failed; skipping the RPM closure checks"
fi

# --- the real Debian base and components, when they are cached --------------------------
# (the newest base: a cache kept across package-list changes holds older
# ones too; and the components fetched for that base, which
# fetch-components finds in its cache by the base's own closure)
cache=${ENLIGHTEN_CACHE:-/var/cache/enlighten}
base=$(ls -t "$cache"/base/debian12-*.tar.zst 2>/dev/null | head -n 1)
comp=$(ls -d "$cache"/components/*/complete 2>/dev/null | head -n 1)
if [ -n "$base" ] && [ -n "$comp" ] && command -v apt-get >/dev/null && command -v zstd >/dev/null; then
	mkdir -p real/debian st
	cp "$ENLIGHTEN_BUILDDIR"/payloads/repo/debian/*.deb real/debian/
	ok "the components for that base" "$SRC/scripts/fetch-components" "$base" real
	ok "index the real components" enlighten payload index --expires 36500 real
	zstd -dcq <"$base" | tar -xf - -C st ./var/lib/dpkg/status
	# PROFILE:PACKAGE[+PACKAGE...]: the profile's [Debian] packages from Debian
	for pc in vmware-guest:open-vm-tools xen-dom0:xen-utils-4.17+qemu-system-xen \
		hyperv-guest:hyperv-daemons; do
		p=${pc%%:*} pkg=$(echo "${pc#*:}" | tr + ' ')
		apt=$(apt-get -s -qq -o Dir::State::status="$PWD/st/var/lib/dpkg/status" \
			-o APT::Install-Recommends=0 -o Debug::NoLocking=1 install $pkg 2>/dev/null |
			sed -n 's/^Inst \([^ ]*\) .*/\1/p' | sort | tr '\n' ' ')
		[ -n "$apt" ] || { echo "# apt-get cannot simulate $pkg (no package lists?)"; continue; }
		ok "the real closure of $p" enlighten payload list --profile $p --closure --base "$base" real
		is "is what apt-get would install, plus the component" \
			"$(names | tr ' ' '\n' | grep -v '^enlighten-ic-' | sort | tr '\n' ' ' | sed 's/^ //')" "$apt"
	done
else
	echo "# no cached Debian base and components (scripts/make-base, scripts/fetch-components)"
fi

done_testing
