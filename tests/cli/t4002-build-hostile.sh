#!/bin/sh
# t4002-build-hostile.sh - a hostile base tarball ('..', absolute names,
# writes through a symlink, hard links out of the root) is refused with a
# clear error and leaves no artefact; the initrd check names the driver and
# the hypervisor that would not boot.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

command -v python3 >/dev/null || skip_all "python3 is not installed"
[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi is not installed"

for kind in dotdot absolute symlink-escape hardlink-escape; do
	mkdir out-$kind
	make_base $kind.tar.gz --hostile $kind
	write_recipe $kind.conf $kind.tar.gz
	exits 1 "a tarball with $kind entries is refused" enlighten build $kind.conf -o out-$kind
	case $kind in
	dotdot) like "... naming the entry" "$(last_output)" "entry '\./etc/\.\./\.\./escaped': '\.\.' in the name; refused" ;;
	absolute) like "... naming the entry" "$(last_output)" "entry '/etc/cron.d/evil': an absolute name; refused" ;;
	symlink-escape) like "... naming the symlink" "$(last_output)" \
		"entry '(\./)?etc/lnk/evil'(: a path through the symlink 'etc/lnk'| goes through 'etc/lnk', which is a symlink)" ;;
	hardlink-escape) like "... naming the link" "$(last_output)" "entry '\./etc/hl': a hard link to '\.\./\.\./etc/shadow', which is not a file extracted before; refused" ;;
	esac
	is "... and leaves nothing in the output directory" "$(ls -A out-$kind)" ""
done
ok "nothing was written outside the output directories" sh -c '! test -e ../escaped && ! test -e escaped && ! test -e /root/evil'

mkdir out
make_base nopvscsi.tar.gz --without vmw_pvscsi
write_recipe nopvscsi.conf nopvscsi.tar.gz
exits 1 "an initrd without a VMware storage driver is refused" enlighten build nopvscsi.conf -o out
like "... naming the driver and the hypervisor" "$(last_output)" \
	"lacks boot storage driver 'vmw_pvscsi' \(profile vmware-guest\): the image would not boot on vmware"
is "... and leaves nothing" "$(ls -A out)" ""
write_recipe warn.conf nopvscsi.tar.gz '[Payloads]' 'Profiles=kvm-guest hyperv-guest'
ok "staging only profiles the initrd serves passes" enlighten build warn.conf -o out
write_recipe warn2.conf nopvscsi.tar.gz 'InitrdCheck=warn'
sed -i 's/^InitrdCheck=warn$//; s/^\[Base\]$/[Base]\nInitrdCheck=warn/' warn2.conf
ok "InitrdCheck=warn builds anyway" enlighten build warn2.conf -o out
like "... with a warning" "$(last_output)" "will not boot on vmware"

make_base novirtio.tar.gz --without virtio_blk
write_recipe novirtio.conf novirtio.tar.gz
exits 1 "a missing virtio_blk fails" enlighten build novirtio.conf -o out
like "... for KVM" "$(last_output)" "'virtio_blk' \(profile kvm-guest\): the image would not boot on kvm"
ok "virtio_pci built into the kernel (modules.builtin) counts" sh -c "! grep -q virtio_pci .out"

write_recipe unknown.conf nopvscsi.tar.gz '[Payloads]' 'Profiles=kvm-gust'
exits 1 "an unknown profile is refused" enlighten build unknown.conf -o out
like "... by name" "$(last_output)" "Profiles= names 'kvm-gust', which is not in the profile matrix"

done_testing
