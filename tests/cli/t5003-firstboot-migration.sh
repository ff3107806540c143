#!/bin/sh
# t5003-firstboot-migration.sh - the machine moves: xen-hvm, then Hyper-V,
# then KVM, each found by the detector. Every boot leaves the new profile's
# packages, units, files, kernel arguments and initrd, and none of the old.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/fixtures/firstboot/lib.sh"

fb_fixture || skip_all "cannot build the payload fixture (rpmbuild, gpg)"
fb_root r >/dev/null 2>&1 || skip_all "cannot make a test root"

words() { for w in $1; do echo "$w"; done | sort -u | tr '\n' ' '; }
entry=r/boot/efi/loader/entries/base.conf

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
	ok "$p: next boot on the same machine changes nothing" fb --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
	like "$p: and says so" "$(last_output)" "profile=$p changed=no$"
	old=$p
done
ok "hyperv-guest's modprobe.d file is gone on KVM" test ! -e r/etc/modprobe.d/enlighten.conf
ok "hyperv-guest's udev rules are gone on KVM" test ! -e r/etc/udev/rules.d/80-enlighten.rules
ok "no backup is left behind" test ! -e r/var/lib/enlighten/backup

done_testing
