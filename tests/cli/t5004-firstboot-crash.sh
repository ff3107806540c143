#!/bin/sh
# t5004-firstboot-crash.sh - a power cut at any point of a migration is
# followed by a run that finishes the same job: the process stops at every
# journal write (ENLIGHTEN_TEST_ABORT_AFTER=N, before and after each step),
# with what a package transaction leaves when cut planted, and is killed with SIGKILL at random moments; the next run leaves the same
# tree and rpmdb as an uninterrupted run.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/fixtures/firstboot/lib.sh"

fb_fixture || skip_all "cannot build the payload fixture (rpmbuild, gpg)"
fb_root template >/dev/null 2>&1 || skip_all "cannot make a test root"
fb --root template --profile xen-hvm >/dev/null 2>&1 || skip_all "cannot activate xen-hvm"

cp -a template ref
ok "uninterrupted migration xen-hvm -> hyperv-guest" fb --root ref --profile hyperv-guest
want=$(fb_tree ref)
want_state=$(fb_state ref)
steps=$(fb --root template --profile hyperv-guest --plan | grep -c '"step":')
ok "the migration has steps of every kind" test "$steps" -ge 8
writes=$((1 + 2 * steps))

n=0
while [ $n -lt $writes ]; do
	rm -rf c
	cp -a template c
	exits 3 "power cut after journal write $n of $writes" \
		env ENLIGHTEN_TEST_ABORT_AFTER=$n enlighten-firstboot --root c --profile hyperv-guest
	# as if the cut came inside that step's package transaction: the
	# commands it put first in the scripts' PATH are still there
	mkdir -p c/var/lib/enlighten/script-path
	echo 'udevadm trigger' >c/var/lib/enlighten/script-path/udev-triggers
	ok "  the next run finishes the job" fb --root c --profile hyperv-guest
	fb_same "  tree and rpmdb equal the uninterrupted run's" "$(fb_tree c)" "$want"
	is "  state says complete" "$(fb_state c)" "$want_state"
	n=$((n + 1))
done

# SIGKILL at random moments; the stand-in dracut is slow so some land in it.
for delay in 0.02 0.05 0.08 0.12 0.17 0.25; do
	rm -rf c
	cp -a template c
	# its own process group, so that the power cut takes dracut too
	ENLIGHTEN_TEST_DRACUT_SLEEP=0.1 setsid enlighten-firstboot --root c --profile hyperv-guest >/dev/null 2>&1 &
	pid=$!
	sleep $delay
	kill -9 -- -$pid 2>/dev/null || kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	sleep 0.3 # a dracut that escaped the kill (spawned as it came) finishes
	ok "killed after ${delay}s: the next run finishes the job" fb --root c --profile hyperv-guest
	fb_same "  tree and rpmdb equal the uninterrupted run's" "$(fb_tree c)" "$want"
done

# Two runs at once: the second waits its turn by refusing.
rm -rf c
cp -a template c
ENLIGHTEN_TEST_DRACUT_SLEEP=0.5 enlighten-firstboot --root c --profile hyperv-guest >/dev/null 2>&1 &
pid=$!
sleep 0.3
exits 1 "a second run while one holds the lock is refused" fb --root c --profile hyperv-guest
like "saying so" "$(last_output)" "another enlighten run holds the lock"
wait $pid
fb_same "the first run finished alone" "$(fb_tree c)" "$want"

done_testing
