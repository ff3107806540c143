#!/bin/sh
# t8011-windows-wim-killed.sh - `enlighten wim` killed mid-run leaves its
# scratch directory (TMPDIR/enlighten-windows.*) and its output WIM under a
# temporary name; the next run removes both, and leaves alone the scratch
# directory of a run that is still going (it holds a lock on it).
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/windows-lib.sh"
command -v flock >/dev/null || skip_all "flock is not installed (util-linux)"

make_wim install.wim
mkdir tmp
export TMPDIR=$TEST_DIR/tmp

# A run killed with SIGKILL, as found afterwards.
mkdir -p tmp/enlighten-windows.Kd3aQ1/tree/Windows
head -c 65536 /dev/zero >tmp/enlighten-windows.Kd3aQ1/tree/Windows/big
head -c 65536 /dev/zero >out.wim.tmp-Zq81xP
ln -s "$TEST_DIR/out.wim.tmp-Zq81xP" tmp/enlighten-windows.Kd3aQ1/output
# A run that is still going.
mkdir tmp/enlighten-windows.Live01
(exec 9<tmp/enlighten-windows.Live01 && flock 9 && exec sleep 60) >/dev/null 2>&1 &
holder=$!
i=0
while flock -n tmp/enlighten-windows.Live01 true 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done

ok "the next run" enlighten wim --wim install.wim -o out.wim
ok "... removes the killed run's scratch directory" test ! -e tmp/enlighten-windows.Kd3aQ1
ok "... and its output under a temporary name" test ! -e out.wim.tmp-Zq81xP
ok "... keeps the scratch directory of a live run" test -d tmp/enlighten-windows.Live01
is "... and leaves nothing of its own" "$(ls -A tmp | tr '\n' ' ')" "enlighten-windows.Live01 "
kill $holder 2>/dev/null
wait $holder 2>/dev/null

done_testing
