#!/bin/sh
# t9001-deploy-faults.sh - deploy's bad input and faults: a block map that
# does not match its image, a tampered or truncated image, a tampered map,
# a target that runs out of space (a file on a tiny tmpfs) or fails with
# EIO (a loop device over one). Each error names the target or the source,
# the other targets are finished, and no failed target looks deployed.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/deploy-lib.sh"
need_loops

make_image img 64
no_table() { ! blkid -p "$1" >/dev/null 2>&1; }

make_image other 48
fails "a block map of another image is refused" enlighten deploy other.raw t.raw --bmap img.bmap
like "... naming both" "$(last_output)" \
	"the block map 'img.bmap' does not match its image 'other.raw': 67108864 bytes in the map, 50331648 in the image"
ok "... and nothing was made" test ! -e t.raw

cp img.raw cut.raw && cp img.bmap cut.bmap && truncate -s 40M cut.raw
fails "a truncated image is refused" enlighten deploy cut.raw t.raw
like "... before anything is written" "$(last_output)" "does not match its image 'cut.raw'"

cp img.raw bad.raw && cp img.bmap bad.bmap
# one byte changed (its value plus one: the data is random, so writing a
# fixed byte would leave it unchanged one time in 256)
at=$((32 << 20 | 4097))
b=$(dd if=bad.raw bs=1 skip=$at count=1 status=none | od -An -tu1 | tr -d ' ')
printf "\\$(printf %o $(((b + 1) % 256)))" | dd of=bad.raw bs=1 seek=$at conv=notrunc status=none
ok "... the byte is changed" sh -c '! cmp -s img.raw bad.raw'
exits 2 "a tampered image stops the deploy" enlighten deploy bad.raw a.raw b.raw --report r.jsonl
like "... saying where it does not match its map" "$(last_output)" \
	"'bad.raw' does not match its block map in blocks 8192-[0-9]+ \(range [0-9]+\): the image is damaged"
ok "... neither target has a partition table" sh -c '! blkid -p a.raw && ! blkid -p b.raw'
is "... and the report says both failed" "$(jq -r .result r.jsonl | tr '\n' ' ')" "failed failed "

cp img.bmap t.bmap
sed -i 's/<MappedBlocksCount> \([0-9]*\)/<MappedBlocksCount> 1\1/' t.bmap
fails "a block map changed after it was made is refused" enlighten deploy img.raw t.raw --bmap t.bmap
like "... by its own checksum or its counts" "$(last_output)" "the block map 't.bmap' is not usable: "

# a target that fills up: a file on a 4 MiB tmpfs, beside a good one
mkdir tiny
if mount -t tmpfs -o size=4M tmpfs tiny; then
	exits 1 "a target out of space fails, the other is deployed" \
		enlighten deploy img.raw tiny/full.raw good.raw --report r2.jsonl
	like "... naming it and the error" "$(last_output)" \
		"tiny/full.raw: failed: cannot write 'tiny/full.raw' at byte [0-9]+: No space left on device"
	ok "... the good one is whole" cmp img.raw good.raw
	ok "... the full one has no partition table" no_table tiny/full.raw
	is "... the report says which" "$(jq -r '"\(.target) \(.result)"' r2.jsonl | tr '\n' ' ')" \
		"tiny/full.raw failed good.raw deployed "
	rm -f tiny/full.raw
	# EIO: a 64 MiB loop device over a file that cannot grow past 4 MiB
	truncate -s 64M tiny/backing
	eio=$(loop_new tiny/backing)
	rm -f good.raw
	exits 1 "a target failing with EIO fails, the other is deployed" \
		enlighten deploy img.raw "$eio" good.raw
	like "... naming it" "$(last_output)" "$eio: failed: cannot (write|flush|read back|zero|clear)[^:]*'$eio'.*(Input/output error|No space left)"
	ok "... the good one is whole" cmp img.raw good.raw
	loop_del "$eio"
	umount tiny
else
	for i in 1 2 3 4 5 6 7 8; do ok "# SKIP cannot mount a tmpfs here" true; done
fi
done_testing
