#!/bin/sh
# t2006-payload-index-names.sh - `enlighten payload index` refuses a file
# name the catalog cannot carry (a control character, a backslash) with a
# message that names it escaped, instead of writing a catalog that `payload
# sign` then refuses; nothing of the file's name reaches the terminal raw.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

command -v rpm >/dev/null || skip_all "rpm is not installed"
export SOURCE_DATE_EPOCH=1700000000
V=$(enlighten --version | sed -n '1s/^enlighten //p')
pkg=enlighten-ic-xen-pv-$V-1.noarch.rpm

for name in "$(printf 'a\033[2Jb.rpm')" "$(printf 'line\rbreak.rpm')" 'back\slash.rpm'; do
	rm -rf repo
	cp -r "$ENLIGHTEN_BUILDDIR/payloads/repo" repo
	cp "repo/linux/$pkg" "repo/linux/$name"
	fails "a file named $(printf '%s' "$name" | od -An -c | tr -s ' ') is refused" enlighten payload index repo
	like "... naming it, escaped" "$(last_output)" "linux/.*: a control character or a backslash in a file name"
	is "... no raw control byte on the terminal" "$(last_output | tr -d '\n\t' | LC_ALL=C tr -d '[:print:]' | od -An -c)" ""
	ok "... no catalog written" test ! -e repo/catalog.json
done
rm "repo/linux/back\\slash.rpm"
ok "without it, the index is made" enlighten payload index repo
ok "keygen" enlighten payload keygen --out k
ok "and signs" enlighten payload sign --key k.key repo/catalog.json
done_testing
