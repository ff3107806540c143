#!/bin/sh
# t0001-programs.sh - the three programs start, show help and version, and
# refuse unknown options and verbs with the usage exit code, naming the
# program and suggesting the option or verb that was meant.
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
is "unknown verb suggests the right one" "$(last_output)" \
	"enlighten: unknown verb 'hlep' (did you mean 'help'?)"
exits 2 "unknown subverb" enlighten payload lsit
is "names the verb it belongs to and suggests" "$(last_output)" \
	"enlighten payload: unknown verb 'lsit' (did you mean 'list'?)"
exits 2 "a verb far from every verb" enlighten frobnicate
is "points to the list" "$(last_output)" \
	"enlighten: unknown verb 'frobnicate'; 'enlighten --help' lists the verbs"

exits 2 "a misspelt option" enlighten build --fromat raw x.conf
is "names the program and verb and suggests the option" "$(last_output)" \
"enlighten build: unrecognized option '--fromat' (did you mean '--format'?)
Try 'enlighten build --help'."
exits 2 "a misspelt option with a value" enlighten payload list --porfile=kvm-guest repo
like "is suggested without its value" "$(last_output)" \
	"^enlighten payload list: unrecognized option '--porfile' \(did you mean '--profile'\?\)$"
exits 2 "a misspelt option of a portal client verb" enlighten fetch --retires 3
like "suggests the shared option" "$(last_output)" "did you mean '--retries'"
exits 2 "an agent option" enlighten-firstboot --roto /
like "is suggested by the agent" "$(last_output)" \
	"^enlighten-firstboot: unrecognized option '--roto' \(did you mean '--root'\?\)$"
exits 2 "a detector option" enlighten-detect --quite
like "is suggested by the detector" "$(last_output)" \
	"^enlighten-detect: unrecognized option '--quite' \(did you mean '--quiet'\?\)$"
exits 2 "an option without its value" enlighten build img.conf --output-dir
like "says it needs one" "$(last_output)" \
	"^enlighten build: option '--output-dir' requires an argument$"
exits 2 "a value for a flag" enlighten inspect --json=yes x.raw
like "says it takes none" "$(last_output)" \
	"^enlighten inspect: option '--json' does not take an argument$"
exits 2 "an unknown short option" enlighten build -z x.conf
like "is named" "$(last_output)" "^enlighten build: unrecognized option '-z'$"
exits 2 "an ambiguous abbreviation" enlighten fetch --speed 1
like "lists what it could mean" "$(last_output)" \
	"^enlighten fetch: option '--speed' is ambiguous; possibilities: '--speed-limit' '--speed-time'$"
ok "enlighten help" enlighten help
like "help lists the verbs" "$(last_output)" "^  help "

done_testing
