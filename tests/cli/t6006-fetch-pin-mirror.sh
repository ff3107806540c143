#!/bin/sh
# t6006-fetch-pin-mirror.sh - `enlighten fetch` accepts only the catalog of
# the product and channel it follows (--product, --channel; defaults
# enlighten and stable), so a signed catalog of another channel with a lower
# version is no way back to old payloads; and when the first mirror serves a
# catalog older than the one recorded, the next mirror is asked.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/portal.sh"

portal_keys
K=$TEST_DIR/keys
portal_payloads pl 4096
mkdir www
publish() { # DIR
	enlighten portal publish --key "$K/sec" --out "www/$1" pl >/dev/null ||
		{ echo "Bail out! publish $1 failed"; exit 1; }
}
publish stable
cp -r www/stable www/stale     # version 1, kept
publish stable
publish stable                 # version 3
sed -i 's/"channel": "stable"/"channel": "testing"/' pl/catalog.json
publish testing                # version 1 of channel testing, same key
sed -i 's/"product": "enlighten"/"product": "acme"/' pl/catalog.json
publish acme                   # product acme, channel testing
portal_nginx "$TEST_DIR/www"

fetch() { # DEST [options]
	local d=$1
	shift
	enlighten fetch --pubkey "$K/pub" --state-dir "$TEST_DIR/state" --allow-http \
		--all --dest "$d" --retries 0 "$@"
}

ok "the stable channel, version 3" fetch d1 --portal "$NGINX_HTTP/stable"
fails "a signed catalog of another channel, lower version" fetch d2 --portal "$NGINX_HTTP/testing"
like "... refused, naming both channels" "$(last_output)" \
	"catalog from '.*/testing' refused: it is for product 'enlighten', channel 'testing'; this machine follows product 'enlighten', channel 'stable'"
ok "... nothing written" test ! -e d2
fails "another product" fetch d3 --portal "$NGINX_HTTP/acme" --channel testing
like "... refused" "$(last_output)" "it is for product 'acme', channel 'testing'; this machine follows product 'enlighten', channel 'testing'"
ok "--channel testing follows that channel" fetch d4 --portal "$NGINX_HTTP/testing" --channel testing
ok "--product acme --channel testing" fetch d5 --portal "$NGINX_HTTP/acme" --product acme --channel testing
exits 2 "--channel must be a word" fetch d6 --portal "$NGINX_HTTP/stable" --channel 'a/b'
like "... says so" "$(last_output)" "--channel 'a/b': give a word"

ok "a stale first mirror, a current second one" fetch d7 --portal "$NGINX_HTTP/stale" \
	--mirror "$NGINX_HTTP/stable"
like "... the stale one is named" "$(last_output)" \
	"catalog from '.*/stale' refused: catalog version 1 is older than version 3 seen before; refusing a rollback; trying the next mirror"
like "... the next mirror's catalog is used" "$(last_output)" "verified against catalog version 3"
ok "... its catalog lands" cmp www/stable/catalog.json d7/catalog.json
ok "another channel first, then the right one" fetch d8 --portal "$NGINX_HTTP/testing" \
	--mirror "$NGINX_HTTP/stable"
fails "every mirror stale" fetch d9 --portal "$NGINX_HTTP/stale" --mirror "$NGINX_HTTP/testing"
like "... the last refusal is the error" "$(last_output)" "^enlighten: catalog from '.*/testing' refused: it is for product"
ok "... nothing written" test ! -e d9

done_testing
