#!/bin/sh
# t6004-portal-page-chromium.sh - the portal page as a browser sees it:
# headless Chromium loads index.html from nginx, the rendered DOM has a
# table row for every Linux payload and Windows package, every link (the
# public key's and the agent's too) resolves to the right file, there is no script, and it
# renders at a phone's width.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/portal.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser) ||
	skip_all "chromium is not installed (apt-get install chromium)"
command -v curl >/dev/null || skip_all "curl is not installed"

portal_keys
portal_payloads pl 3000
agent=$ENLIGHTEN_BUILDDIR/enlighten-firstboot.exe
[ -f "$agent" ] || { printf 'MZ a stand-in for the Windows agent\n' >agent.exe && agent=agent.exe; }
enlighten portal publish --key "$TEST_DIR/keys/sec" --out portal --url https://portal.example \
	--agent "$agent" pl >/dev/null || { echo "Bail out! publish failed"; exit 1; }
portal_nginx "$TEST_DIR/portal"

browse() { # NAME ARGS... (a fresh, empty profile per NAME; output on stdout)
	mkdir -p "$TEST_DIR/profile.$1"
	local profile=$TEST_DIR/profile.$1
	shift
	timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$profile" "$@" 2>>"$TEST_DIR/chromium.log"
}

browse dom --dump-dom "$NGINX_HTTP/index.html" >dom.html
like "the page renders (title in the DOM)" "$(cat dom.html)" "<title>Integration components</title>"
# every payload of the catalog has a row, in the table of each of its profiles
python3 - portal/catalog.json dom.html >rows.txt <<'PY'
import json, re, sys
cat = json.load(open(sys.argv[1]))
dom = open(sys.argv[2]).read()
for p in cat["payloads"]:
    for prof in p["profiles"]:
        sec = re.search(r'<section id="%s-%s">(.*?)</section>' % (p["os"], re.escape(prof)), dom, re.S)
        if p["os"] == "windows":  # one row per package, its files listed
            pat = (r'<tr><td data-label="Package">%s</td><td data-label="Version">%s</td>'
                   r'<td data-label="Files">.*?<a href="%s">[^<]*</a>.*?<code>%s</code>')
            args = (re.escape(p["name"]), re.escape(p["version"]), re.escape(p["path"]), p["sha256"])
        else:
            pat = (r'<tr><td data-label="Name"><a href="%s">%s</a></td>'
                   r'<td data-label="Version">%s</td>.*?<code>%s</code>')
            args = (re.escape(p["path"]), re.escape(p["name"]), re.escape(p["version"]), p["sha256"])
        row = sec and re.search(pat % args, sec.group(1), re.S)
        print("%s %s %s" % ("ok" if row else "missing", p["os"] + "/" + prof, p["name"]))
PY
is "every payload is listed in the table of each of its profiles" "$(grep -c '^ok' rows.txt)" 5
is "... and nothing is missing" "$(grep -v '^ok' rows.txt)" ""

# links: each href, resolved against the page's address, gives the payload
n=0
for href in $(grep -o '<a href="[^"]*"' dom.html | sed 's/<a href="//; s/"$//' | sort -u); do
	n=$((n + 1))
	curl -sf --noproxy '*' -o "link.$n" "$NGINX_HTTP/$href" || echo "$href" >>broken.txt
	case $href in
	*.rpm | *.cab | agent/*) cmp -s "link.$n" "portal/$href" || echo "$href" >>broken.txt ;;
	esac
done
is "the page has links for the payloads, the agent and its signature, the catalog, its signature and key" "$n" 8
ok "the agent link gives the agent" cmp "$agent" "portal/agent/$(basename "$agent")"
ok "every link resolves to the right file" test ! -e broken.txt
ok "the key link gives the public key" cmp "link.$(grep -o '<a href="[^"]*"' dom.html | sed 's/<a href="//; s/"$//' | sort -u | grep -n '^minisign.pub$' | cut -d: -f1)" "$TEST_DIR/keys/pub"
is "the page has no script" "$(grep -ci '<script' dom.html)" 0

browse shot --hide-scrollbars --window-size=390,844 --screenshot="$TEST_DIR/phone.png" \
	"$NGINX_HTTP/index.html" >/dev/null
ok "it renders at a phone's width (screenshot)" test -s phone.png
is "... a PNG" "$(head -c 8 phone.png | od -An -c | tr -d ' ')" '211PNG\r\n032\n'
like "the server saw the browser" "$(cat "$TEST_DIR/nginx/access.log")" "GET /index.html HTTP/1.1\" 200 .*HeadlessChrome"

done_testing
