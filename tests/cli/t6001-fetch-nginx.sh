#!/bin/sh
# t6001-fetch-nginx.sh - `enlighten fetch` from a real nginx on 127.0.0.1:
# over https with HTTP/2 and the test CA, over http only with --allow-http;
# the right payloads for a profile, cache hits verified again, a tampered
# file replaced, the catalog and its signature beside the payloads.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/portal.sh"

portal_keys
portal_payloads pl 200000
enlighten portal publish --key "$TEST_DIR/keys/sec" --out portal pl >/dev/null ||
	{ echo "Bail out! publish failed"; exit 1; }
portal_nginx "$TEST_DIR/portal"
CA=$TEST_DIR/tls/cert.pem
T="--pubkey $TEST_DIR/keys/pub --state-dir $TEST_DIR/state"
HV=linux/enlighten-ic-hyperv-0.1.0-1.noarch.rpm
XEN=linux/enlighten-ic-xen-0.1.0-1.noarch.rpm
WIN=windows/enlighten-drivers-hyperv-1.0.0.cab

exits 2 "fetch without --dest" enlighten fetch --portal "$NGINX_HTTPS" --all
exits 2 "fetch without --profile or --all" enlighten fetch --portal "$NGINX_HTTPS" --dest d
exits 2 "plain http without --allow-http" enlighten fetch $T --portal "$NGINX_HTTP" --all --dest d
like "... says what to do" "$(last_output)" "plain http needs --allow-http"
fails "https with a CA bundle that does not know the server" \
	enlighten fetch $T --portal "$NGINX_HTTPS" --cacert /etc/ssl/certs/ca-certificates.crt --all --dest d
like "... names the certificate problem" "$(last_output)" "certificate"
ok "nothing was written" test ! -e d/catalog.json

ok "fetch --profile hyperv-guest over https (HTTP/2)" \
	enlighten fetch $T --portal "$NGINX_HTTPS" --cacert "$CA" --profile hyperv-guest --dest d
ok "... the Linux payload" cmp "pl/$HV" "d/$HV"
ok "... the Windows payload" cmp "pl/$WIN" "d/$WIN"
ok "... not the Xen one" test ! -e "d/$XEN"
ok "... the catalog beside them" cmp portal/catalog.json d/catalog.json
ok "... and its signature" cmp portal/catalog.json.minisig d/catalog.json.minisig
ok "... the quarantine is gone" test ! -e d/.partial
like "one line per file when not on a terminal" "$(enlighten fetch $T --portal "$NGINX_HTTPS" \
	--cacert "$CA" --profile hyperv-guest --dest d 2>&1)" "present  $HV  200000 bytes  sha256 ok"
like "transfers used HTTP/2" "$(cat "$TEST_DIR/nginx/access.log")" "GET /$HV HTTP/2.0\" 200"

printf 'tampered' | dd of="d/$HV" bs=1 seek=100 conv=notrunc 2>/dev/null
ok "a tampered file in dest is fetched again" \
	enlighten fetch $T --portal "$NGINX_HTTPS" --cacert "$CA" --profile hyperv-guest --dest d
like "... not taken as present" "$(last_output)" "fetched  $HV"
ok "... and is right again" cmp "pl/$HV" "d/$HV"

ok "fetch --all --os linux over http with --allow-http" \
	enlighten fetch $T --portal "$NGINX_HTTP" --allow-http --all --os linux --dest d2 --jobs 2
ok "... both Linux payloads" sh -c "cmp 'pl/$HV' 'd2/$HV' && cmp 'pl/$XEN' 'd2/$XEN'"
ok "... no Windows payload" test ! -e "d2/$WIN"
like "the catalog version is recorded" "$(cat "$TEST_DIR/state/portal-state.json")" '"version": 1'

exits 1 "a profile without payloads" enlighten fetch $T --portal "$NGINX_HTTPS" --cacert "$CA" \
	--profile metal --dest d3
like "... says so" "$(last_output)" "no payload for profile 'metal'"

done_testing
