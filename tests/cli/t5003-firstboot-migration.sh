#!/bin/sh
# t5003-firstboot-migration.sh - the machine moves: xen-hvm, then Hyper-V,
# then KVM, each found by the detector. Every boot leaves the new profile's
# packages, units, files, kernel arguments and initrd, and none of the old.
# Then the host-only entry under boot counting, with systemd-boot's renames
# done by hand: a count run down by boots that reached the agent is reset,
# one that ran out (the initrd did not boot) stays out of the way until the
# machine moves, and a move makes a new one with full tries.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/fixtures/firstboot/lib.sh"

fb_fixture || skip_all "cannot build the payload fixture (rpmbuild, gpg)"
fb_root r >/dev/null 2>&1 || skip_all "cannot make a test root"

words() { for w in $1; do echo "$w"; done | sort -u | tr '\n' ' '; }
entry=r/boot/efi/loader/entries/base.conf
entries=r/boot/efi/loader/entries
hostonly() { (cd $entries && ls base-enlighten-hostonly* 2>/dev/null) | tr '\n' ' '; }

old=
for step in xen-hvm:xen-hvm hyperv-gen2:hyperv-guest kvm:kvm-guest; do
	fx=${step%%:*} p=${step#*:}
	fb_detected r "$fx"
	ok "$p: boot on $fx converges" fb --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
	like "$p: summary names it" "$(last_output)" "profile=$p changed=yes$"
	is "$p: exactly its packages" "$(fb_packages r)" "$(words "$(fb_key "$p" Packages)")"
	want=
	for u in $(fb_key "$p" Services); do want="$want ./multi-user.target.wants/$u"; done
	is "$p: exactly its unit links" "$(fb_units r)" "$(words "$want")"
	is "$p: the boot entry's arguments" "$(sed -n 's/^options *//p' $entry)" \
		"$(echo root=LABEL=root rw quiet $(fb_key "$p" KernelArgs))"
	like "$p: its initrd drivers" "$(cat r/boot/efi/6.1.0-test/initrd-enlighten)" \
		"--add-drivers $(echo $(fb_key "$p" InitrdModules)) "
	if [ -n "$old" ]; then
		for m in $(fb_key "$old" Modules); do
			case " $(fb_key "$p" Modules) " in *" $m "*) continue ;; esac
			ok "$p: $old's module '$m' is gone" sh -c "! grep -qx '$m' r/etc/modules-load.d/enlighten.conf"
		done
		for u in $(fb_key "$old" Services); do
			ok "$p: $old's unit '$u' is disabled" test ! -e "r/etc/systemd/system/multi-user.target.wants/$u"
		done
	fi
	ok "$p: the fallback entry still boots the generic initrd anywhere" \
		grep -qx 'initrd /6.1.0-test/initrd' r/boot/efi/loader/entries/enlighten-fallback.conf
	ok "$p: so does the default entry" grep -qx 'initrd /6.1.0-test/initrd' $entry
	is "$p: one host-only entry, with all its tries" "$(hostonly)" "base-enlighten-hostonly+3.conf "
	ok "$p: next boot on the same machine changes nothing" fb --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
	like "$p: and says so" "$(last_output)" "profile=$p changed=no$"
	old=$p
done
ok "hyperv-guest's modprobe.d file is gone on KVM" test ! -e r/etc/modprobe.d/enlighten.conf
ok "hyperv-guest's udev rules are gone on KVM" test ! -e r/etc/udev/rules.d/80-enlighten.rules
ok "no backup is left behind" test ! -e r/var/lib/enlighten/backup

# Two boots from the host-only entry reached the agent (systemd-boot renamed
# it each time; the marker on the command line says which entry booted).
mv "$entries/base-enlighten-hostonly+3.conf" "$entries/base-enlighten-hostonly+1-2.conf"
echo "root=LABEL=root rw quiet enlighten.initrd=host-only rd.shell=0 rd.emergency=reboot panic=10" >r/proc/cmdline
ok "a boot from the host-only entry" fb --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
like "... resets its count" "$(last_output)" "booted from the host-only entry: '/boot/efi/loader/entries/base-enlighten-hostonly\+3.conf' has 3 tries again"
like "... and changes nothing else" "$(last_output)" "profile=kvm-guest changed=no$"
is "... the entry has its tries again" "$(hostonly)" "base-enlighten-hostonly+3.conf "

# Three tries ran out: the generic entry booted (no marker).
mv "$entries/base-enlighten-hostonly+3.conf" "$entries/base-enlighten-hostonly+0-3.conf"
echo "root=LABEL=root rw quiet" >r/proc/cmdline
ok "the generic entry booted after the host-only one ran out of tries" fb --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
like "... nothing to do" "$(last_output)" "profile=kvm-guest changed=no$"
is "... the spent entry is not tried again on this machine" "$(hostonly)" "base-enlighten-hostonly+0-3.conf "
ok "... and the heavy half plans nothing either" fb --root r --plan ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
is "... (an empty plan)" "$(last_output | jq -c .steps)" "[]"

# The machine moves: a new host-only initrd, a new count.
fb_detected r xen-hvm
ok "a move after the host-only entry ran out" fb --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
like "... converges" "$(last_output)" "profile=xen-hvm changed=yes$"
is "... a new host-only entry with all its tries, the spent one gone" "$(hostonly)" "base-enlighten-hostonly+3.conf "
like "... for the new profile's initrd" "$(cat r/boot/efi/6.1.0-test/initrd-enlighten)" "--add-drivers xen-blkfront "
is "... systemd-bless-boot is kept from marking it good for ever" \
	"$(grep -v '^#' r/etc/systemd/system/systemd-bless-boot.service.d/enlighten.conf | tr '\n' ' ')" \
	"[Unit] ConditionKernelCommandLine=!enlighten.initrd=host-only "

# A profile without InitrdModules=: no host-only entry at all.
fb_detected r vmware
ok "a move to a profile without a host-only initrd" fb --root r --profile metal ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
is "... leaves no host-only entry" "$(hostonly)" ""
ok "... nor its initrd" test ! -e r/boot/efi/6.1.0-test/initrd-enlighten
ok "... nor the systemd-bless-boot drop-in" test ! -e r/etc/systemd/system/systemd-bless-boot.service.d/enlighten.conf
ok "... the default entry boots the generic initrd" grep -qx 'initrd /6.1.0-test/initrd' $entry

done_testing
