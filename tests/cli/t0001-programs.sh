#!/bin/sh
# t0001-programs.sh - the three programs start, show help and version, and
# refuse unknown options and verbs with the usage exit code.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

for p in enlighten enlighten-detect enlighten-firstboot; do
	ok "$p --help" "$p" --help
	like "$p --help shows usage" "$(last_output)" "^Usage: $p"
	ok "$p --version" "$p" --version
	like "$p --version names the version" "$(last_output)" "^$p [0-9]+\.[0-9]+\.[0-9]+$"
	exits 2 "$p refuses an unknown option" "$p" --no-such-option
done

exits 2 "enlighten without a verb" enlighten
exits 2 "unknown verb" enlighten hlep
like "unknown verb suggests the right one" "$(last_output)" "unknown verb 'hlep' \(did you mean 'help'\?\)"
ok "enlighten help" enlighten help
like "help lists the verbs" "$(last_output)" "^  help "

done_testing
