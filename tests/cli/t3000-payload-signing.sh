#!/bin/sh
# t3000-payload-signing.sh - `enlighten payload keygen/sign/verify` and the
# minisign tool accept each other's keys and signatures, and tampering with
# the catalog, the trusted comment or the key is caught with a reason.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/catalog-lib.sh"

command -v minisign >/dev/null || skip_all "minisign is not installed"

make_repo repo 2

ok "keygen" enlighten payload keygen --out ours
ok "secret key is private" sh -c '[ "$(stat -c %a ours.key)" = 600 ]'
exits 2 "keygen refuses to overwrite" enlighten payload keygen --out ours
like "and says why" "$(last_output)" "'ours.key' exists; use --force"
ok "keygen --force replaces" enlighten payload keygen --out ours --force

ok "sign with our key" enlighten payload sign --key ours.key repo/catalog.json
ok "minisign verifies our signature" minisign -V -p ours.pub -m repo/catalog.json
like "minisign shows our trusted comment" "$(last_output)" "file:catalog.json"
ok "we verify our signature" enlighten payload verify --pubkey ours.pub repo
like "verify reports the catalog" "$(last_output)" "version 7: signature good, .*2 payloads verified"

minisign -G -W -p theirs.pub -s theirs.key >/dev/null 2>&1
ok "minisign -G -W key made" test -s theirs.key
ok "minisign signs" minisign -S -s theirs.key -m repo/catalog.json -t "from minisign"
ok "we verify minisign's signature" enlighten payload verify --pubkey theirs.pub repo
ok "minisign signs, legacy format" minisign -S -l -s theirs.key -m repo/catalog.json
ok "we verify the legacy signature" enlighten payload verify --pubkey theirs.pub repo

ok "we sign with minisign's secret key" enlighten payload sign --key theirs.key repo/catalog.json
ok "minisign verifies it" minisign -V -p theirs.pub -m repo/catalog.json
ok "minisign -R derives the same public key from our key file" \
	minisign -R -s ours.key -p derived.pub
is "derived key line" "$(tail -n 1 derived.pub)" "$(tail -n 1 ours.pub)"

fails "wrong key id" enlighten payload verify --pubkey ours.pub repo
like "names both key ids" "$(last_output)" "signed by key [0-9A-F]{16}, but the public key is [0-9A-F]{16}"

enlighten payload sign --key ours.key repo/catalog.json 2>/dev/null
cp repo/catalog.json catalog.orig
sed -i 's/"version": 7/"version": 8/' repo/catalog.json
exits 1 "tampered catalog" enlighten payload verify --pubkey ours.pub repo
like "says the signature does not match" "$(last_output)" "bad signature: signature does not match the file"
fails "minisign agrees" minisign -V -p ours.pub -m repo/catalog.json
cp catalog.orig repo/catalog.json

sed -i 's/^trusted comment: timestamp/trusted comment: Timestamp/' repo/catalog.json.minisig
exits 1 "tampered trusted comment" enlighten payload verify --pubkey ours.pub repo
like "says the comment changed" "$(last_output)" "trusted comment signature does not match"
fails "minisign agrees" minisign -V -p ours.pub -m repo/catalog.json

echo garbage > repo/catalog.json.minisig
exits 1 "garbage signature" enlighten payload verify --pubkey ours.pub repo
like "says it is not a signature" "$(last_output)" "not a minisign signature"

exits 2 "missing public key" enlighten payload verify --pubkey nope.pub repo
like "names the file" "$(last_output)" "cannot read public key 'nope.pub'"
exits 2 "verify needs --pubkey" enlighten payload verify repo
exits 2 "sign needs --key" enlighten payload sign repo/catalog.json
exits 2 "unknown subverb" enlighten payload sing
like "suggests the right one" "$(last_output)" "did you mean 'sign'"
ok "payload --help" enlighten payload --help
like "lists the subverbs" "$(last_output)" "^  verify "

echo '{"schema":1}' > notacatalog.json
exits 1 "sign refuses an invalid catalog" enlighten payload sign --key ours.key notacatalog.json
ok "and writes no signature" test ! -e notacatalog.json.minisig

done_testing
