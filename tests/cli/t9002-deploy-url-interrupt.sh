#!/bin/sh
# t9002-deploy-url-interrupt.sh - deploy from a URL (range requests): the
# image as served, a response cut short resumed, a server that sends wrong
# bytes or ignores ranges refused; and SIGINT in the middle of a deploy,
# which leaves no target that looks deployed.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/deploy-lib.sh"
need_loops
command -v python3 >/dev/null || skip_all "python3 is not installed"

make_image img 64
_pids=
serve() { # portfile options...: starts a server, sets port
	pf=$1
	shift
	python3 "$SRC/tests/cli/range-server.py" "$pf" "$@" >/dev/null 2>&1 &
	_pids="$_pids $!"
	i=0
	while [ ! -s "$pf" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	port=$(cat "$pf")
}
trap 'for p in $_pids; do kill $p 2>/dev/null; done; _loops_cleanup' EXIT

serve p1
url=http://127.0.0.1:$port/img.raw
fails "an http URL needs --allow-http" enlighten deploy "$url" u.raw
like "... saying https is what it takes" "$(last_output)" "only https URLs are a deploy source"
ok "deploy from a URL" enlighten deploy --allow-http "$url" u.raw
ok "... gives the image" cmp img.raw u.raw

serve p2 --cut-after 100000
ok "responses cut short are resumed" enlighten deploy --allow-http "http://127.0.0.1:$port/img.raw" c.raw
ok "... and give the image" cmp img.raw c.raw

serve p3 --corrupt $((32 << 20 | 5000))
exits 2 "a server sending wrong bytes stops the deploy" \
	enlighten deploy --allow-http "http://127.0.0.1:$port/img.raw" w.raw
like "... saying the image does not match its map" "$(last_output)" \
	"'http://127.0.0.1:$port/img.raw' does not match its block map in blocks"
ok "... the target has no partition table" sh -c '! blkid -p w.raw'

serve p4 --ignore-range
exits 2 "a server that ignores ranges is refused" \
	enlighten deploy --allow-http "http://127.0.0.1:$port/img.raw" i.raw
like "... saying so" "$(last_output)" "answered HTTP 200 to a range request"

# SIGINT while writing: every answer from this server takes 0.4 s
serve p5 --delay 0.4
truncate -s 64M disk.img
l=$(loop_new disk.img)
enlighten deploy --allow-http "http://127.0.0.1:$port/img.raw" "$l" f.raw --report r.jsonl >out 2>&1 &
pid=$!
# SIGINT until it ends: a background job starts with SIGINT ignored, until
# deploy sets its handler
sleep 1
while kill -INT $pid 2>/dev/null; do sleep 0.5; done
wait $pid
rc=$?
is "SIGINT stops the deploy (exit 2)" "$rc" 2
like "... saying it was interrupted, naming the targets" "$(cat out)" "$l: failed: not deployed: interrupted"
ok "... the disk has no partition table" sh -c "! blkid -p '$l'"
ok "... nor the file" sh -c '! blkid -p f.raw'
is "... the report says both failed" "$(jq -r .result r.jsonl | tr '\n' ' ')" "failed failed "
done_testing
