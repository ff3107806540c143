#!/bin/sh
# t4003-build-interrupt.sh - SIGINT in the middle of a build and a full
# output file system leave no file that looks finished; a build killed
# with SIGKILL leaves its temporaries, which the next build removes; two
# builds never write into one directory at once.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

command -v python3 >/dev/null || skip_all "python3 is not installed"

make_base base.tar.gz
mkdir -p out big/srv
head -c 16777216 /dev/urandom >big/srv/blob
make_base big.tar.gz --tree big
write_recipe big.conf big.tar.gz

# start_big: a build of big.conf into out in the background ($pid), returned
# once its image is half made (only a temporary file there).
start_big() {
	enlighten build big.conf -o out >build.log 2>&1 &
	pid=$!
	local i=0
	while ! ls -A out | grep -q '^\.#test\.raw\.' && [ $i -lt 1000 ]; do
		sleep 0.01
		i=$((i + 1))
	done
}

start_big
like "mid-build, only a temporary file is there" "$(ls -A out)" "^\.#test\.raw\."
kill -INT $pid
wait $pid
is "SIGINT ends the build by the signal" $? 130
is "... and leaves no file at all" "$(ls -A out)" ""

start_big
exits 1 "a second build into the same directory meanwhile" enlighten build big.conf -o out
like "... is refused" "$(last_output)" "another build is writing into 'out'; wait for it to end or give another -o DIR"
kill -KILL $pid
wait $pid
is "SIGKILL leaves the temporary image" "$(ls -A out | sed 's/\.[0-9a-f]*$//')" ".#test.raw"
write_recipe img.conf base.tar.gz
ok "the next build" enlighten build img.conf -o out
like "... removes it" "$(last_output)" "removed 1 temporary file\(s\) an interrupted build left in 'out'"
is "... and leaves only its artefacts" "$(ls -A out | tr '\n' ' ')" "test.bmap test.manifest.json test.raw "
rm -rf out && mkdir out

# RLIMIT_FSIZE: the image cannot be made as large as the recipe says.
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
	like "... saying so" "$(last_output)" "the filesystem the image is written to is full"
	is "... and leaves nothing" "$(cat small.list)" ""
	exits 1 "an output file system full while the base is written" unshare -m sh -c \
		"mount -t tmpfs -o size=1m tmpfs small && enlighten build img.conf -o small; rc=\$?; ls -A small >small.list; exit \$rc"
	like "... blames that file system, not the recipe's Size=" "$(last_output)" \
		"the filesystem the image is written to is full \(free space there, or give -o another directory\)"
	is "... and leaves nothing" "$(cat small.list)" ""
	# the root written, the ESP not: mformat (which crashes on a failed write
	# there) or mcopy runs out, and the message says which file system is full
	exits 1 "an output file system full while the ESP is written" unshare -m sh -c \
		"mount -t tmpfs -o size=$((raw_kb - 500))k tmpfs small && enlighten build img.conf -o small; rc=\$?; ls -A small >small.list; exit \$rc"
	like "... blames that file system" "$(last_output)" \
		"cannot write the ESP: '(mformat|mcopy|mmd)' failed \((exit status|signal) [0-9]+\): the filesystem the image is written to is full"
	is "... and leaves nothing" "$(cat small.list)" ""
	exits 1 "a qcow2 conversion that runs out of space fails the build" unshare -m sh -c \
		"mount -t tmpfs -o size=$((raw_kb + 200))k tmpfs small && enlighten build img.conf -o small --format raw --format qcow2; rc=\$?; ls -A small >small.list; exit \$rc"
	is "... and leaves nothing either" "$(cat small.list)" ""
else
	echo "# skipped ENOSPC checks: not root or no mount namespaces"
fi

done_testing
