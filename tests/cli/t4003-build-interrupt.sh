#!/bin/sh
# t4003-build-interrupt.sh - SIGINT in the middle of a build and a full
# output file system leave no file that looks finished.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

command -v python3 >/dev/null || skip_all "python3 is not installed"

make_base base.tar.gz
mkdir out
mkfifo base.fifo
write_recipe fifo.conf base.fifo

# The build blocks reading the base from the FIFO: the image is half made.
enlighten build fifo.conf -o out >build.log 2>&1 &
pid=$!
exec 3>base.fifo # opens once the build opens its end
head -c 2000 base.tar.gz >&3
i=0
while [ -z "$(ls -A out)" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
like "mid-build, only a temporary file is there" "$(ls -A out)" "^\.#test\.raw\."
kill -INT $pid
exec 3>&-
wait $pid
is "SIGINT ends the build by the signal" $? 130
is "... and leaves no file at all" "$(ls -A out)" ""

# RLIMIT_FSIZE: the image cannot be made as large as the recipe says.
write_recipe img.conf base.tar.gz
exits 1 "a file size limit fails the build" sh -c 'ulimit -f 2048; exec enlighten build img.conf -o out'
is "... and leaves nothing" "$(ls -A out)" ""

# ENOSPC: a small tmpfs as the output directory (needs root and a private mount).
if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
	mkdir small
	ok "a build on a tmpfs to measure the space it needs" unshare -m sh -c \
		"mount -t tmpfs -o size=200m tmpfs small && enlighten build img.conf -o small && du -k small/test.raw >small.du"
	raw_kb=$(cut -f1 small.du)
	exits 1 "a full output file system fails the build" unshare -m sh -c \
		"mount -t tmpfs -o size=$((raw_kb / 2))k tmpfs small && enlighten build img.conf -o small; rc=\$?; ls -A small >small.list; exit \$rc"
	like "... saying so" "$(last_output)" "No space left on device|full"
	is "... and leaves nothing" "$(cat small.list)" ""
	exits 1 "a qcow2 conversion that runs out of space fails the build" unshare -m sh -c \
		"mount -t tmpfs -o size=$((raw_kb + 200))k tmpfs small && enlighten build img.conf -o small --format raw --format qcow2; rc=\$?; ls -A small >small.list; exit \$rc"
	is "... and leaves nothing either" "$(cat small.list)" ""
else
	echo "# skipped ENOSPC checks: not root or no mount namespaces"
fi

done_testing
