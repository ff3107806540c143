#!/bin/sh
# t3001-payload-verify-bad.sh - `enlighten payload verify` on hostile and
# broken repositories: each is refused with exit 1 and a message naming the
# payload or key at fault, and every bad payload is reported, not just the
# first.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/catalog-lib.sh"

command -v minisign >/dev/null || skip_all "minisign is not installed"
enlighten payload keygen --out k >/dev/null
sign() { enlighten payload sign --key k.key "$1/catalog.json" 2>/dev/null; }
# Our sign refuses an invalid catalog; minisign signs anything, with our key.
sign_any() { minisign -S -s k.key -m "$1/catalog.json" >/dev/null; }

make_repo good 3
sign good
ok "good repository verifies" enlighten payload verify --pubkey k.pub good

make_repo sha 3
sign sha
printf 'payload X\n' >sha/linux/p2.rpm
exits 1 "wrong sha256" enlighten payload verify --pubkey k.pub sha
like "names the payload and both digests" "$(last_output)" \
	"payload 'linux/p2.rpm': sha256 [0-9a-f]{64}, catalog says [0-9a-f]{64}"

make_repo len 3
sign len
printf 'payload 1 and more\n' >len/linux/p1.rpm
rm len/linux/p3.rpm
exits 1 "wrong length" enlighten payload verify --pubkey k.pub len
like "names the payload and both lengths" "$(last_output)" "payload 'linux/p1.rpm': length 19, catalog says 10"
like "a missing payload is reported too" "$(last_output)" "payload 'linux/p3.rpm': cannot open"
like "with a count" "$(last_output)" "2 of 3 payloads do not match"

make_repo badsig 1
sign badsig
sed -i 's/"channel": "stable"/"channel": "testing"/' badsig/catalog.json
exits 1 "bad signature" enlighten payload verify --pubkey k.pub badsig
like "says so" "$(last_output)" "'catalog.json': bad signature"

make_repo nosig 1
exits 1 "unsigned catalog" enlighten payload verify --pubkey k.pub nosig
like "names the missing signature" "$(last_output)" "cannot read signature 'catalog.json.minisig'"

EXPIRES=2026-01-01T00:00:00Z make_repo old 1
sed -i 's/"issued": "2026-11-24T12:00:00Z"/"issued": "2025-01-01T00:00:00Z"/' old/catalog.json
sign old
exits 1 "expired catalog" enlighten payload verify --pubkey k.pub old
like "says when it expired" "$(last_output)" "version 7 expired at 2026-01-01T00:00:00Z"
ok "--allow-expired accepts it" enlighten payload verify --pubkey k.pub --allow-expired old

make_repo unknown 1
sed -i 's/"channel": "stable",/"channel": "stable", "chanel": "x",/' unknown/catalog.json
sign_any unknown
exits 1 "unknown key in a signed catalog" enlighten payload verify --pubkey k.pub unknown
like "names the key and suggests" "$(last_output)" "unknown key 'chanel' \(did you mean 'channel'\?\)"
exits 1 "sign refuses it as well" enlighten payload sign --key k.key unknown/catalog.json

make_repo escape 1
sed -i 's|"path": "linux/p1.rpm"|"path": "../good/linux/p1.rpm"|' escape/catalog.json
sign_any escape
exits 1 "payload path leaving the repository" enlighten payload verify --pubkey k.pub escape
like "names the field" "$(last_output)" "'path' has an invalid value"

make_repo link 1
rm link/linux/p1.rpm
ln -s "$TEST_DIR/good/linux/p1.rpm" link/linux/p1.rpm
sign link
exits 1 "payload symlinked out of the repository" enlighten payload verify --pubkey k.pub link
like "names the payload" "$(last_output)" "payload 'linux/p1.rpm': cannot open"

# 50 MB of valid JSON: refused by size before it is parsed or even read.
mkdir big
{
	printf '{"schema": 1, "product": "enlighten", "channel": "stable", "version": 7, '
	printf '"issued": "2026-11-24T12:00:00Z", "expires": "2099-11-24T12:00:00Z", "payloads": [], "pad": "'
	head -c 52428800 /dev/zero | tr '\0' 'a'
	printf '"}\n'
} >big/catalog.json
cp good/catalog.json.minisig big/
exits 1 "50 MB catalog" enlighten payload verify --pubkey k.pub big
like "refused by size" "$(last_output)" "'catalog.json' is 52428[0-9]* bytes, more than the 16777216 allowed"
exits 1 "sign refuses it too" enlighten payload sign --key k.key big/catalog.json
rm -rf big

done_testing
