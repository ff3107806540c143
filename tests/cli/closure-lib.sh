# SPDX-License-Identifier: MIT
# closure-lib.sh - small packages and package databases for the dependency
# closure tests (t2004, t4006), sourced after lib.sh.

# mkdeb DIR NAME VERSION [DEPENDS [PROVIDES]]: DIR/NAME_VERSION_all.deb with
# a marker file.
mkdeb() {
	local dir=$1 name=$2 ver=$3 deps=${4:-} provides=${5:-} w
	w=$(mktemp -d "$TEST_DIR/deb.XXXXXX")
	mkdir -p "$w/DEBIAN" "$w/usr/share/doc/$name" "$dir"
	echo "$name" >"$w/usr/share/doc/$name/marker"
	{
		printf 'Package: %s\nVersion: %s\nArchitecture: all\n' "$name" "$ver"
		printf 'Maintainer: Test <test@enlighten.invalid>\n'
		[ -z "$deps" ] || printf 'Depends: %s\n' "$deps"
		[ -z "$provides" ] || printf 'Provides: %s\n' "$provides"
		printf 'Description: closure test package %s\n' "$name"
	} >"$w/DEBIAN/control"
	dpkg-deb --root-owner-group -Zgzip -b "$w" "$dir/${name}_${ver}_all.deb" >/dev/null
	rm -rf "$w"
}

# dpkg_status FILE NAME=VERSION...: a dpkg status file with those installed.
dpkg_status() {
	local f=$1 p
	shift
	mkdir -p "$(dirname "$f")"
	: >"$f"
	for p in "$@"; do
		printf 'Package: %s\nStatus: install ok installed\nPriority: optional\n' "${p%%=*}" >>"$f"
		printf 'Architecture: amd64\nVersion: %s\nMaintainer: Test <t@enlighten.invalid>\n' "${p#*=}" >>"$f"
		printf 'Description: base package\n\n' >>"$f"
	done
}

# mkrpm DIR NAME VERSION [REQUIRES]: DIR/NAME-VERSION-1.noarch.rpm.
mkrpm() {
	local dir=$1 name=$2 ver=$3 req=${4:-} w
	w=$(mktemp -d "$TEST_DIR/rpm.XXXXXX")
	cat >"$w/p.spec" <<SPEC
Name: $name
Version: $ver
Release: 1
Summary: closure test package $name
License: MIT
BuildArch: noarch
${req:+Requires: $req}
%description
closure test package
%install
mkdir -p %{buildroot}/usr/share/doc/$name
echo $name >%{buildroot}/usr/share/doc/$name/marker
%files
/usr/share/doc/$name
SPEC
	mkdir -p "$dir"
	rpmbuild --quiet -bb --define "_topdir $w/top" --define "_rpmdir $dir" \
		--define "_dbpath $w/db" --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
		"$w/p.spec" >/dev/null 2>&1
	local rc=$?
	rm -rf "$w"
	return $rc
}

# rpm_root DIR RPM...: DIR with an rpm database that has the packages
# installed (database only).
rpm_root() {
	local root=$1
	shift
	mkdir -p "$root"
	root=$(cd "$root" && pwd)
	rpm --root "$root" --dbpath /var/lib/rpm --initdb &&
		rpm --root "$root" --dbpath /var/lib/rpm -i --justdb --nodeps --nosignature \
			--noscripts "$@" >/dev/null 2>&1
}

# gpg_key HOME NAME EMAIL: a new signing key in GNUPGHOME=HOME, exported
# armored to HOME.asc.
gpg_key() {
	mkdir -p "$1" && chmod 700 "$1"
	GNUPGHOME=$1 gpg --batch --quiet --passphrase '' --quick-gen-key "$2 <$3>" ed25519 sign never \
		>/dev/null 2>&1 &&
		GNUPGHOME=$1 gpg --batch --armor --export "$3" >"$1.asc"
}

# rpm_sign HOME EMAIL RPM...: signs the packages with that key, then stops
# the gpg-agent rpmsign started.
rpm_sign() {
	local home=$1 email=$2 rc
	shift 2
	rpmsign --addsign --define "__gpg $(command -v gpg)" --define "_gpg_path $home" \
		--define "_gpg_name $email" --define "_dbpath $TEST_DIR/.rpmsign-db" "$@" >/dev/null 2>&1
	rc=$?
	gpgconf --homedir "$home" --kill gpg-agent 2>/dev/null
	return $rc
}
