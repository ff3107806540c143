#!/bin/sh
# t6002-fetch-faults.sh - `enlighten fetch` against a server that misbehaves
# (tests/fault-server.py): each fault ends in the right file or a clear
# error, and the destination never holds an unverified file.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/portal.sh"

portal_keys
portal_payloads pl 200000
enlighten portal publish --key "$TEST_DIR/keys/sec" --out portal pl >/dev/null ||
	{ echo "Bail out! publish failed"; exit 1; }
portal_fault "$TEST_DIR/portal" tls
HV=linux/enlighten-ic-hyperv-0.1.0-1.noarch.rpm
WIN=windows/enlighten-drivers-hyperv-1.0.0.cab

# fetch MODE DEST [options]: the hyperv-guest payloads through the fault MODE
fetch() {
	local mode=$1 dest=$2
	shift 2
	enlighten fetch --pubkey "$TEST_DIR/keys/pub" --state-dir "$TEST_DIR/state" --allow-http \
		--portal "$FAULT/$mode" --profile hyperv-guest --dest "$dest" \
		--speed-limit 150000 --speed-time 1 --connect-timeout 2 "$@"
}
# no regular file outside the quarantine except verified payloads
unverified() { # DEST
	find "$1" -path "$1/.partial" -prune -o -type f -print | while read -r f; do
		rel=${f#"$1"/}
		case $rel in catalog.json | catalog.json.minisig) continue ;; esac
		cmp -s "$f" "pl/$rel" || echo "$rel"
	done
}
requests() { fault_log | grep -c " $2 .*-> $3\$" | grep -x "$1" >/dev/null; } # N PATH STATUS

ok "success" fetch ok d-ok
ok "... right files" sh -c "cmp pl/$HV d-ok/$HV && cmp pl/$WIN d-ok/$WIN"

fails "truncated body" fetch truncate d-trunc --retries 1
like "... clear error" "$(last_output)" "'$HV' from '.*': transfer closed with [0-9]+ bytes remaining"
is "... nothing unverified in dest" "$(unverified d-trunc)" ""
ok "... no payload in dest" test ! -e d-trunc/$HV

fails "stall below the speed limit" fetch stall d-stall --retries 0
like "... clear error" "$(last_output)" "Operation too slow"
is "... nothing unverified in dest" "$(unverified d-stall)" ""

fails "connection reset" fetch reset d-reset --retries 0
like "... clear error" "$(last_output)" "(Connection reset by peer|Recv failure)"
is "... nothing unverified in dest" "$(unverified d-reset)" ""

fails "404" fetch 404 d-404 --retries 3
like "... clear error" "$(last_output)" "'$HV' from '.*/404/$HV': server answered HTTP 404"
ok "... not retried" requests 1 "$HV" 404

ok "500 then success (retry)" fetch 500once d-500 --retries 2
like "... the retry is logged" "$(last_output)" "server answered HTTP 500; trying again"
ok "... right file" cmp pl/$HV d-500/$HV
ok "503 with Retry-After then success" fetch 503once d-503 --retries 2
ok "... right file" cmp pl/$HV d-503/$HV

fails "Content-Length one byte short" fetch shortcl d-scl --retries 0
like "... clear error" "$(last_output)" "got 199999 bytes, the catalog says 200000"
is "... nothing unverified in dest" "$(unverified d-scl)" ""
fails "Content-Length past the body" fetch longcl d-lcl --retries 0
like "... clear error" "$(last_output)" "(more than the signed length|transfer closed)"
is "... nothing unverified in dest" "$(unverified d-lcl)" ""

fails "redirect loop" fetch loop d-loop --retries 0
like "... clear error" "$(last_output)" "Maximum \(5\) redirects followed"

before=$(fault_log | grep -c "^ok $HV")
fails "https to http redirect, even with --allow-http" \
	enlighten fetch --pubkey "$TEST_DIR/keys/pub" --state-dir "$TEST_DIR/state" --allow-http \
	--cacert "$TEST_DIR/tls/cert.pem" --portal "$FAULT_TLS/tohttp" --profile hyperv-guest \
	--dest d-down --retries 0
like "... clear error" "$(last_output)" "redirects to a weaker scheme are refused"
is "... the http server was never asked" "$(fault_log | grep -c "^ok $HV")" "$before"

fails "body longer than the signed length (announced)" fetch long d-long --retries 0
like "... clear error" "$(last_output)" "more than the signed length 200000"
fails "body longer than the signed length (not announced)" fetch longnocl d-long2 --retries 0
like "... cut off in the write callback" "$(last_output)" "body is longer than the signed length 200000"
is "... nothing unverified in dest" "$(unverified d-long2)" ""

fails "wrong sha256" fetch badsha d-sha --retries 0
like "... clear error" "$(last_output)" "sha256 [0-9a-f]{64} does not match the catalog"
ok "... no payload in dest" test ! -e d-sha/$HV
is "... nothing unverified in dest" "$(unverified d-sha)" ""

fails "interrupted transfer" fetch interrupt d-int --retries 0
ok "... the part waits in the quarantine" test -s d-int/.partial/data/$HV
ok "... not in dest" test ! -e d-int/$HV
ok "resume after the interruption" fetch interrupt d-int --retries 0
ok "... right file" cmp pl/$HV d-int/$HV
like "... asked for the rest with the validator" "$(fault_log | grep "^interrupt $HV")" \
	"range=bytes=100000- if-range=\"e-200000\" -> 206"

fails "interrupted transfer (validator will change)" fetch etagchange d-etag --retries 0
ok "resume whose validator changed" fetch etagchange d-etag --retries 0
like "... the server sent it all" "$(fault_log | grep "^etagchange $HV")" \
	"range=bytes=100000- if-range=\"v1\" -> 200"
ok "... restarted from zero: right file" cmp pl/$HV d-etag/$HV

portal_fault "$TEST_DIR/portal" # a fresh server: its first answer is the interrupted one again
ok "interruption resumed within one run (retry)" fetch interrupt d-int2 --retries 1
like "... the retry asked for the rest" "$(fault_log | grep "^interrupt $HV")" "range=bytes=100000- .* -> 206"
ok "... right file" cmp pl/$HV d-int2/$HV
DEAD=http://127.0.0.1:$(_portal_free_port)
ok "first mirror dead (failover)" \
	enlighten fetch --pubkey "$TEST_DIR/keys/pub" --state-dir "$TEST_DIR/state" --allow-http \
	--portal "$DEAD" --mirror "$FAULT/ok" --profile hyperv-guest --dest d-fo --retries 1
ok "... right files" sh -c "cmp pl/$HV d-fo/$HV && cmp pl/$WIN d-fo/$WIN"

done_testing
