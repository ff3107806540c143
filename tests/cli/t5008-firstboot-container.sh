#!/bin/sh
# t5008-firstboot-container.sh - in a container the agent does nothing
# unless a profile is forced: a KVM machine's signals plus a container
# manager's mark leave the tree untouched (no packages, no modules-load.d,
# no units, no initrd); a forced profile still acts; an offline image
# with /.dockerenv is not a container; the unit file skips containers.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/fixtures/firstboot/lib.sh"

fb_fixture || skip_all "cannot build the payload fixture (rpmbuild, gpg)"
fb_root r >/dev/null 2>&1 || skip_all "cannot make a test root"
fb_detected r kvm
before=$(fb_tree r)

# ENLIGHTEN_TEST_LIVE_ROOT: take r for a running system's root.
live() { ENLIGHTEN_TEST_LIVE_ROOT=1 fb "$@"; }

mkdir -p r/run/systemd
echo docker >r/run/systemd/container
ok "in a docker container: the agent succeeds" live --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
like "and says why it does nothing" "$(last_output)" "running in a container \('docker'\); nothing done"
fb_same "a container run changed nothing" "$(fb_tree r)" "$before"
ok "no state.json" test ! -e r/var/lib/enlighten/state.json

echo lxc >r/run/systemd/container
ok "--plan in an lxc container" live --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"} --plan
like "plans nothing" "$(last_output)" "container \('lxc'\); nothing done"
rm -r r/run/systemd

: >r/.dockerenv
ok "a /.dockerenv alone says docker" live --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
like "and the agent stands aside" "$(last_output)" "\('docker'\); nothing done"
fb_same "still nothing changed" "$(fb_tree r | grep -v dockerenv)" "$before"

ok "an offline image with /.dockerenv is no container: the agent activates" \
	fb --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
like "kvm-guest" "$(last_output)" "profile=kvm-guest changed=yes"

fb_root f >/dev/null 2>&1
fb_detected f kvm
: >f/.dockerenv
ok "in a container with a forced profile the agent acts" \
	live --root f ${FB_CPUID:+--cpuid-file "$FB_CPUID"} --profile kvm-guest
like "and says it was forced" "$(last_output)" "profile=kvm-guest changed=yes forced=yes$"

unit=$ENLIGHTEN_BUILDDIR/enlighten-firstboot.service
ok "the unit is skipped in containers" grep -qx 'ConditionVirtualization=!container' "$unit"

done_testing
