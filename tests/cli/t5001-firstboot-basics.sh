#!/bin/sh
# t5001-firstboot-basics.sh - enlighten-firstboot's options, overrides and
# configuration: --plan changes nothing, an unknown profile is refused with a
# suggestion, enlighten.disable=1 skips, firstboot.conf errors name the line,
# the summary line has the exact form the boot tests grep.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/fixtures/firstboot/lib.sh"

fb_fixture || skip_all "cannot build the payload fixture (rpmbuild, gpg)"
fb_root r >/dev/null 2>&1 || skip_all "cannot make a test root"
before=$(fb_tree r)

ok "--plan prints a plan" fb --root r --profile kvm-guest --plan
plan=$(last_output)
like "the plan is JSON naming the profile" "$plan" '"profile": "kvm-guest"'
like "the plan installs the profile's packages" "$plan" '"name": "enlighten-ic-kvm-guest"'
like "the plan enables the profile's units" "$plan" '"unit": "qemu-guest-agent.service"'
like "the plan rebuilds the initrd with the profile's drivers" "$plan" '"virtio_blk"'
ok "--dry-run is the same" fb --root r --profile kvm-guest --dry-run
is "--plan and --dry-run agree" "$(last_output)" "$plan"
is "--plan changed nothing" "$(fb_tree r)" "$before"

exits 2 "an unknown profile is refused" fb --root r --profile kvm-gest
like "and the message suggests the right one" "$(last_output)" "unknown profile 'kvm-gest' \(did you mean 'kvm-guest'\?\)"
is "an unknown profile changed nothing" "$(fb_tree r)" "$before"

mkdir -p r/proc
echo "root=LABEL=root enlighten.disable=1" >r/proc/cmdline
ok "enlighten.disable=1 skips" fb --root r
like "and says why" "$(last_output)" "disabled by kernel command line"
is "a disabled run changed nothing" "$(fb_tree r)" "$before"

echo "root=LABEL=root enlighten.profile=nonesuch" >r/proc/cmdline
exits 2 "enlighten.profile= with an unknown profile is refused" fb --root r
like "naming it" "$(last_output)" "unknown profile 'nonesuch'"
rm -f r/proc/cmdline

printf '[Firstboot]\nProfil=kvm-guest\n' >r/etc/enlighten/firstboot.conf
exits 2 "firstboot.conf: an unknown key is refused" fb --root r --plan
like "naming the line and the key" "$(last_output)" "firstboot.conf' line 2: unknown key 'Profil' \(did you mean 'Profile'\?\)"
printf '[Firstboot]\nProfile=xen-hvm\n' >r/etc/enlighten/firstboot.conf
ok "firstboot.conf: Profile= forces a profile" fb --root r --plan
like "the plan is for it" "$(last_output)" '"profile": "xen-hvm"'
printf '[Firstboot]\nProfile=xen-hvm\n' >r/etc/enlighten/firstboot.conf
echo "quiet enlighten.profile=kvm-guest" >r/proc/cmdline
ok "the kernel command line overrides firstboot.conf" fb --root r --plan
like "the plan is for the command line's profile" "$(last_output)" '"profile": "kvm-guest"'
rm -f r/etc/enlighten/firstboot.conf r/proc/cmdline

ok "a forced activation" fb --root r --profile kvm-guest
like "prints the summary line exactly" "$(last_output)" \
	'^enlighten: hypervisor=[a-z-]+ role=[a-z-]+ profile=kvm-guest changed=yes forced=yes$'
ok "report.json is written" test -s r/var/lib/enlighten/report.json
like "report.json names the profile and the changes" "$(cat r/var/lib/enlighten/report.json)" \
	'"changes": \['
ok "the second run" fb --root r --profile kvm-guest
like "says changed=no" "$(last_output)" 'profile=kvm-guest changed=no forced=yes$'
ok "--quiet prints nothing on success" fb --root r --profile kvm-guest --quiet
is "nothing" "$(last_output)" ""

ok "--verbose with a change of profile (both halves run)" fb --root r --profile xen-hvm --verbose
is "prints no line twice" "$(last_output | sort | uniq -d)" ""
is "says once what forces the profile" "$(last_output | grep -c 'forced by')" 1
ok "--verbose when nothing changes (the fast half only)" fb --root r --profile xen-hvm -v
is "says it once too" "$(last_output | grep -c "profile 'xen-hvm' forced by --profile")" 1

done_testing
