#!/bin/sh
# t6000-portal-publish.sh - `enlighten portal publish` makes a static portal:
# payloads at their catalog paths, a catalog signed by the key, a version
# that rises with each publish, and an index.html that lists every payload.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/portal.sh"

portal_keys
portal_payloads pl 4096
K=$TEST_DIR/keys

exits 2 "publish without --key" enlighten portal publish --out portal pl
exits 2 "publish without a payload dir" enlighten portal publish --key "$K/sec" --out portal
exits 2 "unknown portal verb" enlighten portal pubilsh
mkdir empty
fails "a directory without catalog.json" enlighten portal publish --key "$K/sec" --out portal empty
like "... says to index it first" "$(last_output)" "has no catalog.json; run 'enlighten payload index empty' first"
ok "publish" enlighten portal publish --key "$K/sec" --out portal --url https://portal.example/ic pl
like "publish names the version" "$(last_output)" "published catalog version 1 with 3 payloads"
ok "the signature verifies (payload verify)" enlighten payload verify --pubkey "$K/pub" portal
if command -v minisign >/dev/null; then
	ok "the signature verifies (minisign -V)" minisign -Vq -p "$K/pub" -m portal/catalog.json
fi
for f in linux/enlighten-ic-hyperv-0.1.0-1.noarch.rpm linux/enlighten-ic-xen-0.1.0-1.noarch.rpm \
	windows/enlighten-drivers-hyperv-1.0.0.cab; do
	ok "payload $f copied unchanged" cmp "pl/$f" "portal/$f"
done
# one table per OS and profile: linux hyperv-guest, xen-hvm, xen-pv, xen-pvh; windows hyperv-guest
is "index.html has a table per OS and profile" "$(grep -c '<table>' portal/index.html)" 5
is "... with a row per Linux payload in each" "$(grep -c '<tr><td data-label="Name">' portal/index.html)" 4
is "... and a row per Windows package" "$(grep -c '<tr><td data-label="Package">' portal/index.html)" 1
for n in enlighten-ic-hyperv enlighten-ic-xen; do
	like "index.html lists $n" "$(cat portal/index.html)" ">$n</a>"
done
like "index.html lists the Windows package" "$(cat portal/index.html)" \
	'<td data-label="Package">enlighten-drivers-hyperv</td>'
like "... with its file" "$(cat portal/index.html)" \
	'<li><a href="windows/enlighten-drivers-hyperv-1.0.0.cab">enlighten-drivers-hyperv-1.0.0.cab</a>'
is "one Linux install block for all profiles" "$(grep -c 'sudo enlighten install --portal https://portal.example/ic' portal/index.html)" 1
is "one Windows install block, in Windows' own tools" "$(grep -c 'pnputil /add-driver' portal/index.html)" 1
is "... that runs no enlighten command" \
	"$(sed -n '/<section id="windows">/,$p' portal/index.html | grep -c 'enlighten \(install\|fetch\)')" 0
ok "the public key is published beside the catalog" cmp "$K/pub" portal/minisign.pub
keyid=$(sed -n 's/^untrusted comment: minisign public key //p' "$K/pub")
like "index.html links it with its id" "$(cat portal/index.html)" \
	"<a href=\"minisign.pub\"><code>$keyid</code></a>"

# a Windows driver package (INF, catalog, driver) is one row with its three files
python3 - wpkg <<'PY2'
import hashlib, json, os, sys
d = sys.argv[1]
payloads = []
for f in ("viostor.inf", "viostor.cat", "viostor.sys"):
    path = "windows/viostor/" + f
    os.makedirs(os.path.join(d, "windows/viostor"), exist_ok=True)
    data = ("file " + f + "\n").encode()
    open(os.path.join(d, path), "wb").write(data)
    payloads.append({"name": "viostor", "version": "100.85", "os": "windows", "profiles": ["kvm-guest"],
                     "arch": "amd64", "path": path, "length": len(data), "sha256": hashlib.sha256(data).hexdigest()})
json.dump({"schema": 1, "product": "enlighten", "channel": "stable", "version": 0,
           "issued": "2026-01-01T00:00:00Z", "expires": "2036-01-01T00:00:00Z", "payloads": payloads},
          open(os.path.join(d, "catalog.json"), "w"))
PY2
ok "publish a driver package" enlighten portal publish --key "$K/sec" --out portal-w wpkg
is "... one row for the package" "$(grep -c '<tr><td data-label="Package">viostor</td>' portal-w/index.html)" 1
is "... listing its three files" \
	"$(grep -o '<li><a href="windows/viostor/[a-z.]*">[a-z.]*</a>' portal-w/index.html | sed 's/.*">//; s/<.*//' | tr '\n' ' ')" \
	"viostor.inf viostor.cat viostor.sys "
like "index.html has a viewport for phones" "$(cat portal/index.html)" 'name="viewport"'
is "index.html loads nothing from elsewhere" "$(grep -cE '(src|href)="(https?:)?//' portal/index.html)" 0

# the agent, for a system without enlighten: each file signed with the key
agent=$ENLIGHTEN_BUILDDIR/enlighten-firstboot.exe
[ -f "$agent" ] || { printf 'MZ a stand-in for the Windows agent\n' >agent.exe && agent=agent.exe; }
printf 'a stand-in for a package of the agent\n' >enlighten-firstboot_1.0-1_amd64.deb
ok "publish with the agent files" enlighten portal publish --key "$K/sec" --out pa \
	--agent "$agent" --agent enlighten-firstboot_1.0-1_amd64.deb pl
aname=$(basename "$agent")
for f in "$agent" enlighten-firstboot_1.0-1_amd64.deb; do
	n=$(basename "$f")
	ok "$n is in the portal" cmp "$f" "pa/agent/$n"
	if command -v minisign >/dev/null; then
		ok "... its signature verifies with the portal's key (minisign -V)" \
			minisign -Vq -p "$K/pub" -m "pa/agent/$n"
	fi
	like "... the page links it with its SHA-256 and signature" "$(cat pa/index.html)" \
		"<a href=\"agent/$n\">$n</a>.*<code>$(sha256sum <"$f" | cut -d' ' -f1)</code>.*<a href=\"agent/$n.minisig\">"
done
like "... in a section of its own, first" "$(sed -n '/<main>/,$p' pa/index.html | sed -n 2p)" \
	'<section id="agent">'
like "... saying how to check a file" "$(cat pa/index.html)" "minisign -Vm FILE -p minisign.pub"
printf 'tampered' >>"pa/agent/$aname"
if command -v minisign >/dev/null; then
	fails "a changed agent file fails the check" minisign -Vq -p "$K/pub" -m "pa/agent/$aname"
fi
cp pa/catalog.json pa-catalog.json
fails "two agent files of one name" enlighten portal publish --key "$K/sec" --out pa \
	--agent enlighten-firstboot_1.0-1_amd64.deb --agent ./enlighten-firstboot_1.0-1_amd64.deb pl
like "... are refused" "$(last_output)" "two agent files are named 'enlighten-firstboot_1.0-1_amd64.deb'"
ok "... and the portal's catalog is as it was" cmp pa/catalog.json pa-catalog.json
printf 'x' >'bad name.exe'
fails "an agent file whose name the page cannot carry" enlighten portal publish --key "$K/sec" \
	--out pa --agent 'bad name.exe' pl
like "... is refused, named" "$(last_output)" "agent file 'bad name.exe': its name may hold only"
fails "an agent file that is not there" enlighten portal publish --key "$K/sec" --out pa \
	--agent nothere.exe pl
like "... is named" "$(last_output)" "cannot open agent file 'nothere.exe'"

ok "publish again" enlighten portal publish --key "$K/sec" --out portal pl
like "re-publishing raises the version" "$(last_output)" "published catalog version 2"

# a payload that does not match its index entry never reaches the portal
printf 'x' >>pl/linux/enlighten-ic-xen-0.1.0-1.noarch.rpm
fails "a payload that changed after indexing" enlighten portal publish --key "$K/sec" --out p2 pl
like "... is named" "$(last_output)" "payload 'linux/enlighten-ic-xen-0.1.0-1.noarch.rpm' in 'pl' is longer than its catalog entry"
ok "... and is not in the portal" test ! -e p2/linux/enlighten-ic-xen-0.1.0-1.noarch.rpm

portal_payloads pl3 1024
ok "publish with SOURCE_DATE_EPOCH" env SOURCE_DATE_EPOCH=1700000000 \
	enlighten portal publish --key "$K/sec" --out p3 --valid-days 2 pl3
like "SOURCE_DATE_EPOCH is the issue time" "$(cat p3/catalog.json)" '"issued": "2023-11-14T22:13:20Z"'
like "--valid-days sets the expiry" "$(cat p3/catalog.json)" '"expires": "2023-11-16T22:13:20Z"'

done_testing
