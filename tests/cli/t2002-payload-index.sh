#!/bin/sh
# t2002-payload-index.sh - `enlighten payload index` writes a catalog of the
# signed enlighten-ic packages (RPM header data, profiles, length, sha256,
# monotonic version, reproducible times) that `payload sign` and `payload
# verify` accept; with --rpm-key it refuses truncated, corrupt, badly
# signed, unsigned and foreign-signed RPMs with librpm's reason and writes
# nothing.
# `enlighten payload list` filters by profile and OS, as a table or JSON.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

command -v rpm >/dev/null || skip_all "rpm is not installed"
KEY=$ENLIGHTEN_BUILDDIR/payloads/RPM-GPG-KEY-enlighten-test
V=$(enlighten --version | sed -n '1s/^enlighten //p')
export SOURCE_DATE_EPOCH=1700000000

cp -r "$ENLIGHTEN_BUILDDIR/payloads/repo" repo
ln -s /etc/passwd repo/linux/escape.rpm
ok "index with the test key" enlighten payload index --rpm-key "$KEY" repo
like "skips the symlink" "$(last_output)" "skipping 'linux/escape.rpm': not a regular file"
ok "catalog written" test -f repo/catalog.json
C=$(cat repo/catalog.json)
like "schema 1" "$C" '"schema": 1,'
like "version 1 for a first catalog" "$C" '"version": 1,'
like "issued from SOURCE_DATE_EPOCH" "$C" '"issued": "2023-11-14T22:13:20Z"'
like "expires a year later" "$C" '"expires": "2024-11-13T22:13:20Z"'
like "relative path" "$C" "\"path\": \"linux/enlighten-ic-xen-pv-$V-1.noarch.rpm\""
like "rpm header: provides" "$C" '"enlighten-profile\(xen-pv\)"'
sum=$(sha256sum "repo/linux/enlighten-ic-xen-pv-$V-1.noarch.rpm" | cut -d' ' -f1)
like "sha256 as sha256sum says" "$C" "\"sha256\": \"$sum\""
len=$(stat -c %s "repo/linux/enlighten-ic-xen-pv-$V-1.noarch.rpm")
like "length" "$C" "\"length\": $len,"

D=repo/debian/enlighten-ic-hyperv-guest_$V-1_all.deb
like "a .deb beside the RPMs" "$C" "\"path\": \"debian/enlighten-ic-hyperv-guest_$V-1_all.deb\""
like "its format" "$C" '"format": "deb",'
like "its control fields" "$(echo "$C" | tr -d ' \n')" \
	'"deb":\{"name":"enlighten-ic-hyperv-guest","version":"'"$V"'-1","arch":"all","provides":\["enlighten-ic","enlighten-profile-hyperv-guest"\]'
like "an RPM's format" "$C" '"format": "rpm",'
is "the .deb's length" "$(jq -r '.payloads[] | select(.path == "'"${D#repo/}"'") | .length' repo/catalog.json)" \
	"$(stat -c %s "$D")"

ok "list" enlighten payload list repo
is "a header and twenty payloads (RPM and .deb of each profile)" "$(last_output | wc -l)" 21
ok "list --profile xen-pv" enlighten payload list --profile xen-pv repo
is "the RPM and the .deb for xen-pv" "$(last_output | sed 1d | awk '{print $1 " " $4 " " $5}')" \
	"enlighten-ic-xen-pv all xen-pv
enlighten-ic-xen-pv noarch xen-pv"
ok "list --os windows" enlighten payload list --os windows repo
is "no Windows payloads" "$(last_output | wc -l)" 1
ok "list --json --profile hyperv-guest" enlighten payload list --json --profile hyperv-guest repo
like "JSON array of payload objects" "$(last_output | tr -d ' \n')" \
	'^\[\{"name":"enlighten-ic-hyperv-guest","version":"'"$V"'-1","os":"linux","profiles":\["hyperv-guest"\]'
exits 2 "list --profile refuses an unknown profile" enlighten payload list --profile xen-hmv repo
like "suggests the right one" "$(last_output)" "unknown profile 'xen-hmv' \(did you mean 'xen-hvm'\?\)"
ok "a known profile without payloads lists nothing" enlighten payload list --profile xen-dom0 --os windows repo
exits 2 "list --os refuses other systems" enlighten payload list --os macos repo
like "names the valid ones" "$(last_output)" "invalid --os 'macos' \(want 'linux' or 'windows'\)"
mkdir nocat
exits 1 "list without a catalog" enlighten payload list nocat
like "says how to make one" "$(last_output)" "'nocat' has no catalog.json; make one with 'enlighten payload index'"

# the catalog is what payload sign/verify expect
ok "keygen" enlighten payload keygen --out k
ok "sign" enlighten payload sign --key k.key repo/catalog.json
exits 1 "verify: a 2023 catalog has expired" enlighten payload verify --pubkey k.pub repo
ok "verify --allow-expired" enlighten payload verify --allow-expired --pubkey k.pub repo
mkdir now && cp repo/linux/enlighten-ic-*.rpm now/
ok "index with the clock (SOURCE_DATE_EPOCH empty)" env SOURCE_DATE_EPOCH= enlighten payload index now
ok "sign" enlighten payload sign --key k.key now/catalog.json
ok "verify" enlighten payload verify --pubkey k.pub now

# monotonic versions; a re-index drops the stale signature
ok "re-index" enlighten payload index repo
like "version 2" "$(cat repo/catalog.json)" '"version": 2,'
ok "stale signature removed" test ! -e repo/catalog.json.minisig
exits 2 "--version not above the existing is refused" enlighten payload index --version 2 repo
like "says versions only go up" "$(last_output)" "--version 2 is not above the existing catalog's 2; versions only go up"
ok "--version above" enlighten payload index --version 10 --product acme --channel beta --expires 30 repo
C=$(cat repo/catalog.json)
like "version 10" "$C" '"version": 10,'
like "product" "$C" '"product": "acme",'
like "channel" "$C" '"channel": "beta",'
like "expires in 30 days" "$C" '"expires": "2023-12-14T22:13:20Z"'
exits 2 "--expires 0 refused" enlighten payload index --expires 0 repo

mkdir empty
ok "an empty directory" enlighten payload index empty
like "gives an empty catalog" "$(tr -d ' \n' <empty/catalog.json)" '"payloads":\[\]\}$'

# reproducible: same inputs and SOURCE_DATE_EPOCH, same bytes
mkdir r1 r2
cp repo/linux/enlighten-ic-*.rpm r1/ && cp repo/linux/enlighten-ic-*.rpm r2/
enlighten payload index r1 2>/dev/null && enlighten payload index r2 2>/dev/null
ok "reproducible catalog" cmp r1/catalog.json r2/catalog.json

# a distribution package serves the profiles whose Packages= name it
mkdir -p spec/SPECS distro
cat >spec/SPECS/hd.spec <<'SPEC'
Name: hyperv-daemons
Version: 6.4
Release: 1
Summary: stand-in for the SUSE package
License: GPL-2.0-only
BuildArch: noarch
Requires: /bin/sh
%description
stand-in
%files
SPEC
if rpmbuild --quiet -bb --define "_topdir $PWD/spec" --define "_dbpath $PWD/spec/db" \
	--define "_rpmdir $PWD/distro" spec/SPECS/hd.spec >/dev/null 2>&1; then
	ok "index an unsigned distro package without --rpm-key" enlighten payload index distro
	like "its profiles come from the matrix" "$(tr -d ' \n' <distro/catalog.json)" \
		'"name":"hyperv-daemons","version":"6.4-1","os":"linux","profiles":\["hyperv-guest"\]'
	like "requires are kept" "$(cat distro/catalog.json)" '"/bin/sh"'
	exits 1 "--rpm-key refuses it: not signed" enlighten payload index --rpm-key "$KEY" distro
	like "says it is not signed" "$(last_output)" \
		"rpm 'noarch/hyperv-daemons-6.4-1.noarch.rpm': not signed \(a signature by the trusted key is required\)"
else
	echo "# rpmbuild failed; skipping the distro package checks"
fi

# hostile RPMs, each in a fresh directory; nothing is written
bad() { # name
	rm -rf "$1" && mkdir "$1" && cp "$ENLIGHTEN_BUILDDIR/payloads/repo/linux/enlighten-ic-xen-hvm-$V-1.noarch.rpm" "$1/x.rpm"
}
bad trunc
truncate -s 3000 trunc/x.rpm
exits 1 "truncated RPM refused" enlighten payload index --rpm-key "$KEY" trunc
like "says what is wrong with which file" "$(last_output)" "rpm 'x.rpm': .*BAD"
ok "nothing written" test ! -e trunc/catalog.json

bad flip
size=$(stat -c %s flip/x.rpm)
printf '\377\377\377\377' | dd of=flip/x.rpm bs=1 seek=$((size - 100)) conv=notrunc 2>/dev/null
exits 1 "flipped payload bytes refused" enlighten payload index --rpm-key "$KEY" flip
like "payload digest BAD" "$(last_output)" "rpm 'x.rpm': .*Payload SHA256 digest: BAD"
ok "nothing written" test ! -e flip/catalog.json

# a byte of the signed main header: after the 96-byte lead and the signature
# header (16-byte intro, 16 bytes per index entry, its store, padded to 8)
be32() { od -An -tu1 -j "$2" -N4 "$1" | awk '{print (($1 * 256 + $2) * 256 + $3) * 256 + $4}'; }
bad badsig
n=$(be32 badsig/x.rpm 104) h=$(be32 badsig/x.rpm 108)
main=$((96 + (16 + 16 * n + h + 7) / 8 * 8))
n2=$(be32 badsig/x.rpm $((main + 8))) h2=$(be32 badsig/x.rpm $((main + 12)))
printf '\377' | dd of=badsig/x.rpm bs=1 seek=$((main + 16 + 16 * n2 + h2 / 2)) conv=notrunc 2>/dev/null
exits 1 "RPM with a bad signature refused" enlighten payload index --rpm-key "$KEY" badsig
like "signature BAD" "$(last_output)" "rpm 'x.rpm': .*Signature, key ID [0-9a-f]+: BAD"
ok "nothing written" test ! -e badsig/catalog.json

bad unsigned
if rpmsign --delsign unsigned/x.rpm >/dev/null 2>&1; then
	exits 1 "unsigned RPM refused" enlighten payload index --rpm-key "$KEY" unsigned
	like "says it is not signed" "$(last_output)" "rpm 'x.rpm': not signed"
fi

bad foreign
mkdir -m 700 gpg
if gpg --homedir "$PWD/gpg" --batch --quiet --passphrase '' \
	--quick-gen-key 'other <other@enlighten.invalid>' ed25519 sign never 2>/dev/null; then
	gpg --homedir "$PWD/gpg" --batch --armor --export other@enlighten.invalid >other.asc
	gpgconf --homedir "$PWD/gpg" --kill gpg-agent 2>/dev/null
	exits 1 "RPM signed by another key refused" enlighten payload index --rpm-key other.asc foreign
	like "NOKEY" "$(last_output)" "rpm 'x.rpm': .*Signature, key ID [0-9a-f]+: NOKEY"
fi
exits 2 "a key file without a key" enlighten payload index --rpm-key /etc/hostname foreign
like "says so" "$(last_output)" "key '/etc/hostname' holds no OpenPGP public key"

done_testing
