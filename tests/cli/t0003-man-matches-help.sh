#!/bin/sh
# t0003-man-matches-help.sh - every program's man page lists exactly the long
# options its --help lists, and enlighten(1) describes every verb that
# `enlighten help` shows.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

man=$ENLIGHTEN_SRCDIR/docs/man

help_opts() { "$1" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }
# roff writes \-\-name; fonts (\fB...\fR) and .BR/.BI macros surround it.
man_opts() { sed 's/\\-/-/g; s/\\f[BIRP]//g' "$1" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }

check() { # program manfile
	is "$1: options in --help and man page agree" "$(help_opts "$1" | tr '\n' ' ')" \
		"$(man_opts "$2" | tr '\n' ' ')"
}

# enlighten(1) covers the global options and those of every verb and subverb
# (a verb whose --help lists "  NAME  summary" lines has subverbs).
enlighten_opts() {
	{
		enlighten --help
		for v in $(enlighten help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p'); do
			[ "$v" = help ] && continue
			enlighten "$v" --help
			for s in $(enlighten "$v" --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p'); do
				enlighten "$v" "$s" --help
			done
		done
	} 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}
is "enlighten: options in --help (all verbs) and man page agree" \
	"$(enlighten_opts | tr '\n' ' ')" "$(man_opts "$man/enlighten.1" | tr '\n' ' ')"
check enlighten-detect "$man/enlighten-detect.1"
check enlighten-firstboot "$man/enlighten-firstboot.8"

# Verbs: `enlighten help` lines "  VERB  summary"; the man page has a .TP/.B VERB.
for v in $(enlighten help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p'); do
	ok "enlighten(1) describes verb '$v'" grep -qE "^\.B(R)? $v( |$)" "$man/enlighten.1"
done

done_testing
