#!/bin/sh
# t6003-fetch-catalog-trust.sh - `enlighten fetch` trusts a catalog only when
# a pinned key signed it, it has not expired (or --allow-expired, logged), it
# is not a rollback, and its size and paths are sane; a refused catalog
# leaves the destination untouched.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/portal.sh"

portal_keys
K=$TEST_DIR/keys
portal_payloads pl 4096
mkdir www
publish() { # DIR [env...]
	local d=$1
	shift
	env "$@" enlighten portal publish --key "$K/sec" --out "www/$d" pl >/dev/null ||
		{ echo "Bail out! publish $d failed"; exit 1; }
}
publish v1
cp -r www/v1 www/old           # version 1, kept
publish v1                     # now version 2 in www/v1
publish same SOURCE_DATE_EPOCH=1790000000 # version 1, other bytes than www/old
publish expired SOURCE_DATE_EPOCH=1700000000 # expired in 2023
cp -r www/v1 www/badsig
sed -i 's/"channel": "stable"/"channel": "stabl3"/' www/badsig/catalog.json
enlighten payload keygen --out other >/dev/null
cp -r www/v1 www/otherkey
enlighten payload sign --key other.key www/otherkey/catalog.json >/dev/null 2>&1
cp -r www/v1 www/bigsig
head -c 20000 /dev/zero | tr '\0' 'A' >www/bigsig/catalog.json.minisig
portal_nginx "$TEST_DIR/www"

fetch() { # PORTAL DEST [options]
	local p=$1 d=$2
	shift 2
	enlighten fetch --pubkey "$K/pub" --state-dir "$TEST_DIR/state" --allow-http \
		--portal "$NGINX_HTTP/$p" --all --dest "$d" --retries 0 "$@"
}

fails "bad signature" fetch badsig d1
like "... refused" "$(last_output)" "catalog from '.*/badsig' refused: 'catalog.json': bad signature"
ok "... nothing written" test ! -e d1
fails "signed by a key that is not pinned" fetch otherkey d2
like "... refused" "$(last_output)" "refused: .*(key|signature)"
fails "signature larger than its cap" fetch bigsig d3
like "... refused before parsing" "$(last_output)" "cannot get the catalog signature: .*more than the limit"

ok "version 2" fetch v1 d4
like "... recorded" "$(cat "$TEST_DIR/state/portal-state.json")" '"version": 2'
fails "rolled-back catalog (version 1 after 2)" fetch old d5
like "... refused" "$(last_output)" "catalog version 1 is older than version 2 seen before; refusing a rollback"
ok "... nothing written" test ! -e d5
ok "the same version again is fine" fetch v1 d4
rm -rf "$TEST_DIR/state"
ok "version 1 on a fresh machine" fetch old d6
fails "same version, other bytes" fetch same d7
like "... refused" "$(last_output)" "catalog version 1 differs from the catalog with the same version seen before"

rm -rf "$TEST_DIR/state"
fails "expired catalog" fetch expired d8
like "... refused" "$(last_output)" "expired at 2024-11-13T"
ok "... nothing written" test ! -e d8
ok "expired catalog with --allow-expired" fetch expired d8 --allow-expired
like "... logged" "$(last_output)" "expired at 2024-11-13T.*; used because of --allow-expired"

if [ ! -d /etc/enlighten/keys ]; then
	fails "no pinned key" enlighten fetch --state-dir "$TEST_DIR/state" --allow-http \
		--portal "$NGINX_HTTP/v1" --all --dest d9
	like "... says where keys go" "$(last_output)" "no trusted key: put the vendor's public key in '/etc/enlighten/keys/'"
fi

# a signed catalog naming a path outside the destination
mkdir -p www/evil
python3 - www/v1/catalog.json www/evil/catalog.json <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["payloads"][0]["path"] = "../../escaped.rpm"
json.dump(c, open(sys.argv[2], "w"))
PY
if command -v minisign >/dev/null; then
	minisign -S -s "$K/sec" -m www/evil/catalog.json >/dev/null 2>&1 </dev/null
	fails "a path that leaves the destination" fetch evil d10
	like "... refused" "$(last_output)" "path"
	ok "... nothing written outside" test ! -e escaped.rpm
fi

done_testing
