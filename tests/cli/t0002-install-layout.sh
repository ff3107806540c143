#!/bin/sh
# t0002-install-layout.sh - `make install DESTDIR=...` (done by make check
# into $ENLIGHTEN_INST) puts binaries, man pages, the unit and data under the
# prefix, and nothing elsewhere.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

inst=$ENLIGHTEN_INST
prefix=$ENLIGHTEN_PREFIX

outside=$(cd "$inst" && find . ! -type d | sed 's|^\.||' | grep -v "^$prefix/" || true)
is "every installed file is under the prefix '$prefix'" "$outside" ""

ok "enlighten installed" test -x "$inst$prefix/bin/enlighten"
ok "enlighten-detect installed" test -x "$inst$prefix/bin/enlighten-detect"
ok "enlighten-firstboot installed" test -x "$inst$prefix/sbin/enlighten-firstboot"
ok "man page enlighten(1)" test -f "$inst$prefix/share/man/man1/enlighten.1"
ok "man page enlighten-detect(1)" test -f "$inst$prefix/share/man/man1/enlighten-detect.1"
ok "man page enlighten-firstboot(8)" test -f "$inst$prefix/share/man/man8/enlighten-firstboot.8"
unit="$inst$prefix/lib/systemd/system/enlighten-firstboot.service"
ok "unit installed" test -f "$unit"
like "unit runs the installed agent" "$(grep ^ExecStart= "$unit")" "^ExecStart=$prefix/sbin/enlighten-firstboot"
ok "preset enables the unit" grep -q '^enable enlighten-firstboot.service$' \
	"$inst$prefix/lib/systemd/system-preset/80-enlighten.preset"

# the documentation pages the man pages name are installed where they say
refs=$(cat "$inst$prefix"/share/man/man*/* | grep -oE '/[^ ]*\.md' | sort -u)
ok "the man pages name documentation pages" test -n "$refs"
for d in $refs; do
	ok "man pages point to $d, which is installed" test -f "$inst$d"
done
like "the installed docs are in the doc directory" "$refs" "^$prefix/share/doc/enlighten/recipe-format.md$"

for m in "$inst$prefix"/share/man/man*/*; do
	ok "man page $(basename "$m") renders without warnings" sh -c \
		"MANWIDTH=80 man --warnings -l '$m' 2>&1 >/dev/null | grep . && exit 1 || exit 0"
done

done_testing
