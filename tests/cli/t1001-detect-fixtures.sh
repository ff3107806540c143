#!/bin/bash
# t1001-detect-fixtures.sh - every case of tests/fixtures/detect gives the
# verdict its expected.json holds (each key, and each evidence_like regex
# against some evidence detail), with the exit status that goes with it;
# and the committed corpus is exactly what make-fixtures.sh writes.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
command -v jq >/dev/null || skip_all "jq not installed"

D=$FIXTURES/detect
cases=0
for dir in "$D"/*/; do
	c=$(basename "$dir")
	[ -f "$dir/expected.json" ] || continue
	cases=$((cases + 1))
	args=(--json --root "$dir/root")
	[ -f "$dir/cpuid" ] && args+=(--cpuid-file "$dir/cpuid")
	enlighten-detect "${args[@]}" >out.json 2>err.txt
	rc=$?
	# One jq per case: "name<TAB>got<TAB>want" lines for keys and regexes.
	report=$(jq -r --slurpfile want "$dir/expected.json" '
		. as $got | $want[0] as $w |
		(["schema", (.schema | tojson), "1"] | @tsv),
		($w | keys[] | select(. != "evidence_like") |
			[., ($got[.] | tojson), ($w[.] | tojson)] | @tsv),
		($w.evidence_like[]? as $re |
			["evidence like /" + $re + "/",
			 ([$got.evidence[] | select(.detail | test($re))] | length > 0 | tostring),
			 "true"] | @tsv)' out.json 2>&1) || report="json	$(head -c 300 out.json)	a verdict"
	want_rc=0
	[ "$(jq -r .hypervisor "$dir/expected.json")" = none ] && want_rc=1
	is "$c: exit status" "$rc" "$want_rc"
	while IFS=$'\t' read -r name got want; do
		is "$c: $name" "$got" "$want" || jq -c '.evidence[]' out.json | sed 's/^/#   /'
	done <<<"$report"
	is "$c: nothing on stderr" "$(cat err.txt)" ""
done
ok "at least 35 fixture cases ($cases)" test "$cases" -ge 35

mkdir regen
cp "$D/make-fixtures.sh" regen/
ok "make-fixtures.sh runs" bash regen/make-fixtures.sh "$TEST_DIR/regen"
rm regen/make-fixtures.sh
ok "the committed corpus is what make-fixtures.sh writes" \
	diff -r -x SOURCES -x make-fixtures.sh "$D" regen

done_testing
