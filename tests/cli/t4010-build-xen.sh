#!/bin/sh
# t4010-build-xen.sh - [Xen]: xen.efi out of the signed hypervisor package
# and its xen.cfg go on the ESP beside the dom0 kernel, with a loader entry
# that starts Xen (the default unless Default=no); a recipe whose
# hypervisor package is missing or holds no xen.efi, or whose kernel cannot
# be a Xen control domain, stops the build with the cause named and
# nothing written. The hypervisor package here is a stand-in (a .deb whose
# boot/xen-4.17-amd64.efi holds marker bytes); tests/cli/t7300 boots
# Debian's real one.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

need_tools python3 sfdisk dpkg-deb mtype
[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi is not installed"

# mkpkg NAME FILE...: repo/debian/NAME_4.17-1_amd64.deb holding each FILE
# (a path inside the package) with marker bytes
mkpkg() {
	local name=$1 w f
	shift
	w=$(mktemp -d "$TEST_DIR/deb.XXXXXX")
	mkdir -p "$w/DEBIAN" repo/debian
	printf 'Package: %s\nVersion: 4.17-1\nArchitecture: amd64\nMaintainer: Test <t@enlighten.invalid>\nDescription: stand-in\n' \
		"$name" >"$w/DEBIAN/control"
	for f in "$@"; do
		mkdir -p "$w/$(dirname "$f")"
		printf 'stand-in for %s\n' "$f" >"$w/$f"
	done
	dpkg-deb --root-owner-group -Zxz -b "$w" "repo/debian/${name}_4.17-1_amd64.deb" >/dev/null
	rm -rf "$w"
}
mkpkg xen-hypervisor-4.17-amd64 boot/xen-4.17-amd64.efi boot/xen-4.17-amd64.gz
mkpkg xen-utils-4.17 usr/lib/xen-4.17/bin/xl
enlighten payload keygen -o key >/dev/null
ok "index" enlighten payload index --expires 36500 repo
ok "sign" enlighten payload sign --key key.key repo/catalog.json

mkdir -p tree/boot
printf 'CONFIG_XEN=y\nCONFIG_XEN_DOM0=y\nCONFIG_XEN_PV=y\n' >tree/boot/config-6.1.0-test
make_base base.tar.gz --tree tree
xen() { # FILE [extra [Xen] lines]
	local f=$1
	shift
	write_recipe "$f" base.tar.gz '[Payloads]' 'Source=repo' 'PublicKey=key.pub' 'Profiles=metal' \
		'[Boot]' 'KernelCommandLine=console=ttyS0' '[Xen]' "$@"
}
xen img.conf 'Hypervisor=xen-hypervisor-4.17-amd64' 'Dom0Memory=1G' 'Dom0CPUs=2' \
	'Options=console=com1 com1=115200,8n1' 'KernelCommandLine=console=hvc0'
mkdir out
ok "build with [Xen]" enlighten build img.conf -o out
like "names the entry and where xen.efi came from" "$(last_output)" \
	"Xen entry 'test-xen.conf' \\(the default\\): boot/xen-4.17-amd64.efi from package 'xen-hypervisor-4.17-amd64' 4.17-1"
part_extract out/test.raw 1 esp.img
esp() { mtype -i esp.img "::/$1" 2>/dev/null; }
is "the loader starts Xen by default" "$(esp loader/loader.conf | sed -n 's/^default //p')" "test-xen.conf"
is "the Xen entry starts xen.efi beside the kernel" "$(esp loader/entries/test-xen.conf)" \
	"title test (Xen)
version 6.1.0-test
efi /test/6.1.0-test/xen.efi"
is "xen.efi is the package's" "$(esp test/6.1.0-test/xen.efi)" "stand-in for boot/xen-4.17-amd64.efi"
cfg=$(esp test/6.1.0-test/xen.cfg)
like "xen.cfg: dom0 memory, vCPUs and the hypervisor's options" "$cfg" \
	"options=dom0_mem=1024M,max:1024M dom0_max_vcpus=2 console=com1 com1=115200,8n1"
like "xen.cfg: the entry's kernel command line, then dom0's own" "$cfg" \
	"kernel=linux root=PARTUUID=[0-9a-f-]* rw console=ttyS0 console=hvc0"
like "xen.cfg: the initrd beside it" "$cfg" "ramdisk=initrd"
ok "the plain entry stays" test -n "$(esp loader/entries/test.conf)"

xen nodefault.conf 'Hypervisor=xen-hypervisor-4.17-amd64' 'Default=no'
mkdir out-nd
ok "Default=no" enlighten build nodefault.conf -o out-nd
part_extract out-nd/test.raw 1 esp.img
is "leaves the plain entry the default" "$(esp loader/loader.conf | sed -n 's/^default //p')" "test.conf"
is "xen.cfg without memory or CPUs leaves them to Xen" \
	"$(esp test/6.1.0-test/xen.cfg | sed -n 's/^options=//p')" ""

# Loader=grub: the same files on the ESP, the kernel and initrd xen.cfg
# names beside them, and a grub.cfg entry that chain-loads xen.efi (UEFI only)
if command -v grub-mkimage >/dev/null && command -v debugfs >/dev/null &&
	[ -r /usr/lib/grub/x86_64-efi/normal.mod ]; then
	xen grub.conf 'Hypervisor=xen-hypervisor-4.17-amd64' '[Boot]' 'Loader=grub'
	mkdir out-grub
	ok "Loader=grub with [Xen]" enlighten build grub.conf -o out-grub
	like "names GRUB's Xen entry" "$(last_output)" \
		"Xen entry 'test \(Xen\)' in grub.cfg, under UEFI the default: boot/xen-4.17-amd64.efi"
	part_extract out-grub/test.raw 1 esp.img
	is "xen.efi on the ESP" "$(esp test/6.1.0-test/xen.efi)" "stand-in for boot/xen-4.17-amd64.efi"
	like "xen.cfg beside it" "$(esp test/6.1.0-test/xen.cfg)" "ramdisk=initrd"
	like "the kernel xen.cfg names beside it" "$(esp test/6.1.0-test/linux)" "MZ fake kernel"
	fails "no systemd-boot entries" mdir -i esp.img ::/loader
	part_extract out-grub/test.raw 2 root.img
	cfg=$(debugfs -R 'cat /boot/grub/grub.cfg' root.img 2>/dev/null)
	tab=$(printf '\t')
	is "grub.cfg chain-loads xen.efi from the ESP under UEFI, by default" \
		"$(printf '%s\n' "$cfg" | sed -n '/^if \[ "$grub_platform" = efi \]/,/^fi$/p')" \
		"if [ \"\$grub_platform\" = efi ]; then
menuentry 'test (Xen)' --id enlighten-xen {
${tab}search --no-floppy --file --set=root /test/6.1.0-test/xen.efi
${tab}chainloader /test/6.1.0-test/xen.efi
}
set default=enlighten-xen
fi"
	printf '%s\n' "$cfg" >grub.cfg
	ok "grub-script-check accepts it" grub-script-check grub.cfg
fi

# bad input: each stops the build, with nothing written
fails_clean() { # NAME RECIPE EXPECTED
	rm -rf bad && mkdir bad
	exits 1 "$1" enlighten build "$2" -o bad
	like "$1: says so" "$(last_output)" "$3"
	is "$1: writes nothing" "$(finished_files bad)" ""
}
xen nopkg.conf 'Hypervisor=xen-hypervisor-9.9-amd64'
fails_clean "a hypervisor package not among the payloads" nopkg.conf \
	"\[Xen\] Hypervisor=: no package 'xen-hypervisor-9.9-amd64' among the signed payloads"
xen tools.conf 'Hypervisor=xen-utils-4.17'
fails_clean "a package without xen.efi" tools.conf \
	"package 'xen-utils-4.17' \\('debian/xen-utils-4.17_4.17-1_amd64.deb'\\) holds no xen.efi"
xen nohv.conf 'Dom0Memory=1G'
exits 2 "[Xen] without Hypervisor=" enlighten build nohv.conf -o bad
like "asks for it" "$(last_output)" "\[Xen\] needs Hypervisor=, the payload package that carries xen.efi"
write_recipe norepo.conf base.tar.gz '[Xen]' 'Hypervisor=xen-hypervisor-4.17-amd64'
exits 2 "[Xen] without a payload source" enlighten build norepo.conf -o bad
like "asks for one" "$(last_output)" "\[Xen\] takes the hypervisor from the signed payloads"
exits 2 "Dom0CPUs=0" enlighten build "$(xen cpus.conf 'Hypervisor=x' 'Dom0CPUs=0'; echo cpus.conf)" -o bad
like "is refused" "$(last_output)" "'0' is not a number of virtual CPUs"

printf 'CONFIG_XEN=y\n# CONFIG_XEN_DOM0 is not set\n' >tree/boot/config-6.1.0-test
make_base nodom0.tar.gz --tree tree
sed 's/^Tarball=.*/Tarball=nodom0.tar.gz/' img.conf >nodom0.conf
fails_clean "a kernel without dom0 support" nodom0.conf \
	"the kernel 'boot/vmlinuz-6.1.0-test' of base tarball '[^']*nodom0.tar.gz' cannot run as the Xen control domain \\('boot/config-6.1.0-test' lacks CONFIG_XEN_DOM0=y\\)"
make_base noconfig.tar.gz
sed 's/^Tarball=.*/Tarball=noconfig.tar.gz/' img.conf >noconfig.conf
fails_clean "a kernel without its config" noconfig.conf \
	"has no 'boot/config-6.1.0-test', so the dom0 kernel 'boot/vmlinuz-6.1.0-test' cannot be checked for Xen support"

done_testing
