#!/bin/sh
# t5002-firstboot-profiles.sh - for every profile of the matrix, activation
# leaves exactly what the matrix says: the rpmdb holds the profile's
# packages, the unit links are its Services=, the modules-load.d file lists
# its Modules=, the boot entry has its KernelArgs= and, with InitrdModules=,
# a host-only initrd with those drivers (the fallback entry keeping the
# generic one). Then the detector drives it: each fixture machine gets the
# profile the detector names, and the summary line says what it saw.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/fixtures/firstboot/lib.sh"

fb_fixture || skip_all "cannot build the payload fixture (rpmbuild, gpg)"
fb_root template >/dev/null 2>&1 || skip_all "cannot make a test root"

words() { for w in $1; do echo "$w"; done | sort -u | tr '\n' ' '; }

for conf in "$SRC"/payloads/profiles/*.conf; do
	p=$(basename "$conf" .conf)
	rm -rf r
	cp -a template r
	ok "$p: activated" fb --root r --profile "$p"
	is "$p: the rpmdb holds the profile's packages" "$(fb_packages r)" "$(words "$(fb_key "$p" Packages)")"
	want=
	for u in $(fb_key "$p" Services); do want="$want ./multi-user.target.wants/$u"; done
	is "$p: the unit links are its services" "$(fb_units r)" "$(words "$want")"
	mods=$(fb_key "$p" Modules)
	if [ -n "$(echo $mods)" ]; then
		is "$p: modules-load.d lists its modules" \
			"$(grep -v '^#' r/etc/modules-load.d/enlighten.conf | tr '\n' ' ')" "$(printf '%s ' $mods)"
	else
		ok "$p: no modules-load.d file" test ! -e r/etc/modules-load.d/enlighten.conf
	fi
	opts=$(sed -n 's/^options *//p' r/boot/efi/loader/entries/base.conf)
	for a in $(fb_key "$p" KernelArgs); do
		like "$p: kernel argument '$a' in the entry" " $opts " " $a "
	done
	initrd=$(sed -n 's/^initrd *//p' r/boot/efi/loader/entries/base.conf)
	is "$p: the entry keeps the generic initrd" "$initrd" /6.1.0-test/initrd
	drivers=$(fb_key "$p" InitrdModules)
	hostonly=r/boot/efi/loader/entries/base-enlighten-hostonly+3.conf
	if [ -n "$(echo $drivers)" ]; then
		is "$p: a counted host-only entry boots the host-only initrd" \
			"$(sed -n 's/^initrd *//p' "$hostonly")" /6.1.0-test/initrd-enlighten
		like "$p: ... with the profile's arguments, its marker, a reboot on failure" \
			"$(sed -n 's/^options *//p' "$hostonly") " \
			"^root=LABEL=root rw quiet (.* )?enlighten.initrd=host-only rd.shell=0 rd.emergency=reboot panic=10 $"
		for a in $(fb_key "$p" KernelArgs); do
			like "$p: kernel argument '$a' in the host-only entry" " $(sed -n 's/^options *//p' "$hostonly") " " $a "
		done
		is "$p: loader.conf's default picks it while it has tries, then base.conf" \
			"$(cat r/boot/efi/loader/loader.conf)" "default base*"
		like "$p: built with the profile's drivers" "$(cat r/boot/efi/6.1.0-test/initrd-enlighten)" \
			"--add-drivers $(echo $drivers) --kver 6.1.0-test"
		is "$p: the fallback entry keeps the generic initrd" \
			"$(sed -n 's/^initrd *//p' r/boot/efi/loader/entries/enlighten-fallback.conf)" /6.1.0-test/initrd
	else
		ok "$p: no host-only entry" test ! -e "$hostonly"
	fi
	is "$p: state records it" "$(fb_state r)" '"profile": "'"$p"'" "result": "complete" "journal": null '
done

for case in kvm:kvm-guest:kvm hyperv-gen2:hyperv-guest:microsoft xen-hvm:xen-hvm:xen vmware:vmware-guest:vmware; do
	IFS=: read -r fx p hv <<-EOF2
	$case
	EOF2
	rm -rf r
	cp -a template r
	fb_detected r "$fx"
	ok "detected $fx: activated" fb --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
	is "detected $fx: summary line" "$(last_output)" "enlighten: hypervisor=$hv role=guest profile=$p changed=yes"
	is "detected $fx: packages" "$(fb_packages r)" "$(words "$(fb_key "$p" Packages)")"
done

# On Hyper-V the host sees the same keys in the KVP pool.
kvp=r/var/lib/hyperv/.kvp_pool_1
rm -rf r
cp -a template r
fb_detected r hyperv-gen2
ok "hyperv: activated" fb --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
is "hyperv: KVP pool holds five 2560-byte records" "$(stat -c %s $kvp)" $((5 * 2560))
is "hyperv: first key" "$(dd if=$kvp bs=512 count=1 2>/dev/null | tr -d '\0')" enlighten.hypervisor
is "hyperv: its value" "$(dd if=$kvp bs=1 skip=512 count=32 2>/dev/null | tr -d '\0')" microsoft
is "hyperv: the profile record" "$(dd if=$kvp bs=1 skip=$((2 * 2560 + 512)) count=32 2>/dev/null | tr -d '\0')" \
	hyperv-guest

done_testing
