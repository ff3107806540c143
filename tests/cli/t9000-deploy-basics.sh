#!/bin/sh
# t9000-deploy-basics.sh - enlighten deploy to files and loop devices: the
# bytes of the image on every target, several targets from one read, the
# backup GPT moved to the end of a larger disk, the report, and the checks
# that refuse a disk that is not empty unless --force names it.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/deploy-lib.sh"
need_loops

make_image img 64
size=$((64 << 20))

ok "deploy to a new file" enlighten deploy img.raw file.raw
like "... says it verified" "$(last_output)" "file.raw: deployed .*, verified"
ok "... and it holds the image's bytes" cmp img.raw file.raw

truncate -s 64M same.img
truncate -s 80M larger.img
truncate -s 64M other.img
l1=$(loop_new same.img)
l2=$(loop_new larger.img)
l3=$(loop_new other.img)
# a dirty disk: what deploy does not write must still read as zeros after
head -c 64M /dev/urandom >other.img.data && dd if=other.img.data of="$l3" bs=1M status=none conv=fsync
ok "deploy to three loop devices and a file at once" \
	enlighten deploy img.raw "$l1" "$l2" two.raw --report report.jsonl
ok "... the same-size disk holds the image" cmp img.raw "$l1"
ok "... the file too" cmp img.raw two.raw
ok "... the larger disk's partition table is valid" sfdisk --verify "$l2"
is "... its backup GPT is at its end" "$(sfdisk -d "$l2" | sed -n 's/^last-lba: //p')" \
	$(((80 << 20) / 512 - 34))
is "... and its partitions are the image's" "$(sfdisk -d "$l2" | grep '^/dev' | sed 's/^[^:]*://')" \
	"$(sfdisk -d img.raw | grep '^img' | sed 's/^[^:]*://')"
is "the report has a line per target" "$(wc -l <report.jsonl)" 3
is "... each deployed and verified" \
	"$(jq -r '"\(.result) \(.verify)"' report.jsonl | sort -u)" "deployed ok"
is "... with the image's size and the map's sha256" \
	"$(jq -r '"\(.image_size) \(.bmap_sha256)"' report.jsonl | sort -u)" \
	"$size $(sha256sum img.bmap | cut -d' ' -f1)"
like "... a block device's size and kind" "$(jq -c 'select(.target == "'"$l2"'")' report.jsonl)" \
	'"kind":"block".*"size":83886080'

# not empty: refused, and nothing written
fails "a disk with a partition table is refused" enlighten deploy img.raw "$l1"
like "... saying what was found and what to do" "$(last_output)" \
	"'$l1' holds a gpt partition table: not an empty disk \(name it with --force"
mkfs.ext4 -q -F "$l3"
sum_before=$(sha256sum <"$l3")
fails "a disk with a filesystem is refused" enlighten deploy img.raw "$l3"
like "... naming the filesystem" "$(last_output)" "holds a ext4 signature \(filesystem\)"
is "... and left as it was" "$(sha256sum <"$l3")" "$sum_before"
fails "--force must name a target of the deploy" enlighten deploy img.raw "$l3" --force /dev/nothing
ok "--force naming it overwrites it" enlighten deploy img.raw "$l3" --force "$l3"
ok "... and its old bytes between the ranges are zeros now" cmp img.raw "$l3"
truncate -s 32M small.img
l4=$(loop_new small.img)
fails "a disk smaller than the image is refused" enlighten deploy img.raw "$l4" --force "$l4"
like "... saying so" "$(last_output)" "'$l4' is smaller than the image: 33554432 bytes, the image 67108864"
mkdir mnt
if mkfs.ext4 -q "$l4" && mount "$l4" mnt; then
	held=$l4
	fails "a disk in use (mounted) is refused, --force or not" enlighten deploy img.raw "$held" --force "$held"
	like "... saying so" "$(last_output)" "'$held' is in use"
	umount mnt
else
	ok "# SKIP cannot mount here" true
	ok "# SKIP" true
fi

# progress: lines for a log, none in a file by default, a bar on a
# terminal that redraws, lines on one that does not (TERM=dumb)
ok "deploy --progress lines to a file" sh -c 'enlighten deploy img.raw p1.raw --progress lines 2>err.txt'
lines=$(grep -c '^deploy: *[0-9]*% ([0-9.]* MiB of [0-9.]* MiB)$' err.txt)
ok "... a line per tenth passed, at most 10 ($lines)" test "$lines" -ge 2 -a "$lines" -le 10
is "... the last one at 100%" "$(grep '^deploy:' err.txt | tail -n1 | sed 's/ (.*//')" "deploy: 100%"
is "... no carriage return" "$(tr -dc '\r' <err.txt | wc -c)" 0
ok "deploy to a file, stderr a file" sh -c 'enlighten deploy img.raw p2.raw 2>err2.txt'
unlike "... no progress there" "$(cat err2.txt)" "deploy:|%"
ok "deploy on a terminal (TERM=xterm)" env TERM=xterm script -qec \
	"enlighten deploy img.raw p3.raw" tty.txt
like "... draws a bar, redrawn with a carriage return" "$(tr '\r' '|' <tty.txt)" "\|deploy +\[#+\] 100%"
ok "deploy on a terminal with TERM=dumb" env TERM=dumb script -qec \
	"enlighten deploy img.raw p4.raw" dumb.txt
like "... prints lines" "$(cat dumb.txt)" "deploy: 100% \("
unlike "... no bar" "$(cat dumb.txt)" "\[#"
fails "--progress takes a style" enlighten deploy img.raw p5.raw --progress fancy
like "... saying which" "$(last_output)" "--progress 'fancy': not a style \(auto, bar, lines, none\)"

fails "deploy without a target" enlighten deploy img.raw
like "... says what it needs" "$(last_output)" "deploy needs a source and at least one target"
ok "deploy --help" enlighten deploy --help
done_testing
