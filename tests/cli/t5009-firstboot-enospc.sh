#!/bin/sh
# t5009-firstboot-enospc.sh - a migration on a filesystem that fills up at
# many points of the run: the run fails, saying the system is as it was
# only when it is; once space is back the next run converges to the tree
# and rpmdb of an uninterrupted migration, as after a power cut (t5004). A
# package the rpmdb lists but whose files a cut-short transaction left out
# is installed again, not trusted. Needs root and a private mount namespace
# (a small tmpfs per run).
if [ "$(id -u)" -eq 0 ] && [ -z "${T5009_NS:-}" ] && unshare -m true 2>/dev/null; then
	exec unshare -m env T5009_NS=1 sh "$0" "$@"
fi
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/fixtures/firstboot/lib.sh"
[ -n "${T5009_NS:-}" ] || skip_all "needs root and mount namespaces (a tmpfs per run)"

fb_fixture || skip_all "cannot build the payload fixture (rpmbuild, gpg)"
fb_root template >/dev/null 2>&1 || skip_all "cannot make a test root"
fb --root template --profile xen-hvm >/dev/null 2>&1 || skip_all "cannot activate xen-hvm"
mount --make-rprivate / 2>/dev/null

cp -a template ref
ok "uninterrupted migration xen-hvm -> hyperv-guest" fb --root ref --profile hyperv-guest
want=$(fb_tree ref)
want_state=$(fb_state ref)
before=$(fb_files template)
mkdir c

# KiB left free: from too little for the test run of the package
# transaction, through every stage of it, to enough
for free in ${T5009_SIZES:-16 96 160 224 256 288 320 352 384 448 512 1024}; do
	mount -t tmpfs -o size=32m tmpfs c || { echo "Bail out! cannot mount a tmpfs"; exit 1; }
	cp -a template/. c/
	avail=$(df -k --output=avail c | tail -1)
	fallocate -l $(((avail - free) * 1024)) c/filler
	fb --root c --profile hyperv-guest >run.log 2>&1
	rc=$?
	rm c/filler
	if [ $rc -eq 0 ]; then
		echo "# $free KiB free: the migration fits"
	else
		is "$free KiB free: the run fails cleanly" "$rc" 1
		if grep -q "the system is as it was" run.log; then
			fb_same "  it says the system is as it was: it is" "$(fb_files c)" "$before"
		else
			like "  it says the system is partly changed" "$(cat run.log)" \
				"undoing it failed too .*: the system is partly changed, and the next run does the plan again"
		fi
	fi
	ok "  with space back, the next run" fb --root c --profile hyperv-guest
	fb_same "  tree and rpmdb equal the uninterrupted run's" "$(fb_tree c)" "$want"
	is "  state says complete" "$(fb_state c)" "$want_state"
	ok "  a run after that" fb --root c --profile hyperv-guest
	like "  has nothing to do" "$(last_output)" "changed=no"
	umount c
done

# the database's word against the tree: a package listed, its files gone
# (as a run that failed leaves it: the state says so, no fast path)
cp -a ref d
rm d/usr/lib/systemd/system/hv_kvp_daemon.service
sed -i 's/"result": "complete"/"result": "failed"/' d/var/lib/enlighten/state.json
ok "a package listed in the rpmdb with a file missing" fb --root d --profile hyperv-guest
like "... is named" "$(last_output)" "package 'hyperv-daemons' is installed by the package database's word, but files of it are missing: installing it again"
ok "... and installed again" test -f d/usr/lib/systemd/system/hv_kvp_daemon.service
fb_same "... the tree equals the uninterrupted run's" "$(fb_tree d)" "$want"

done_testing
