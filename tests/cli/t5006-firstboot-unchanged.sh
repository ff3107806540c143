#!/bin/sh
# t5006-firstboot-unchanged.sh - a boot with nothing changed writes nothing
# at all: every path's mtime and ctime are the same before and after, the
# state file and rpmdb included.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/fixtures/firstboot/lib.sh"

fb_fixture || skip_all "cannot build the payload fixture (rpmbuild, gpg)"
fb_root r >/dev/null 2>&1 || skip_all "cannot make a test root"
fb_detected r kvm

ok "first boot on KVM activates" fb --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
stamps() { find r -printf '%p %T@ %C@\n' | LC_ALL=C sort; }
t1=$(stamps)
sleep 0.05
ok "second boot" fb --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
is "second boot: changed=no" "$(last_output)" "enlighten: hypervisor=kvm role=guest profile=kvm-guest changed=no"
is "second boot: no writes at all (mtimes and ctimes)" "$(stamps)" "$t1"
ok "forced to the same profile" fb --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"} --profile kvm-guest
like "forced: a new record that the profile was forced" "$(last_output)" "changed=no forced=yes$"
t2=$(stamps)
ok "forced again" fb --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"} --profile kvm-guest
is "forced again: no writes at all" "$(stamps)" "$t2"

done_testing
