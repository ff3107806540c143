#!/bin/sh
# t5014-firstboot-grub-args.sh - a root that boots through GRUB (grub.cfg
# on the root, no systemd-boot entry): the profile's kernel arguments go on
# every `linux` line of grub.cfg, and into /etc/default/grub.d for
# grub-mkconfig where the root has it; the next profile's replace them, and
# nothing else in grub.cfg changes. The machine moves xen-hvm -> kvm.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/fixtures/firstboot/lib.sh"

fb_fixture || skip_all "cannot build the payload fixture (rpmbuild, gpg)"
fb_root r >/dev/null 2>&1 || skip_all "cannot make a test root"

rm -rf r/boot/efi/loader
mkdir -p r/boot/grub r/usr/sbin
cat >r/boot/grub/grub.cfg <<'EOT'
# /boot/grub/grub.cfg, written by enlighten build (docs/boot-loaders.md).
set default=0
search --no-floppy --fs-uuid --set=root 0b5ad1b2-83f4-4dbe-8b56-2a1f0d6b3e10
menuentry 'linux' --id enlighten {
	linux /vmlinuz root=PARTUUID=1234 rw console=ttyS0 quiet
	initrd /initrd.img
}
menuentry 'linux, previous kernel' --id enlighten-previous {
	linux /vmlinuz.old root=PARTUUID=1234 rw console=ttyS0 quiet
	initrd /initrd.img.old
}
EOT
cp r/boot/grub/grub.cfg grub.orig
printf '#!/bin/sh\n' >r/usr/sbin/grub-mkconfig
chmod 755 r/usr/sbin/grub-mkconfig

xen=$(fb_key xen-hvm KernelArgs)
[ -n "$xen" ] || skip_all "xen-hvm names no kernel arguments"
linux_lines() { grep -E '^\s*linux ' r/boot/grub/grub.cfg | sed 's/^\s*//'; }

fb_detected r xen-hvm
ok "xen-hvm: converges" fb --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
is "xen-hvm: both linux lines carry its arguments" "$(linux_lines)" \
	"linux /vmlinuz root=PARTUUID=1234 rw console=ttyS0 quiet $xen
linux /vmlinuz.old root=PARTUUID=1234 rw console=ttyS0 quiet $xen"
is "... and nothing else in grub.cfg changed" "$(grep -vE '^\s*linux ' r/boot/grub/grub.cfg)" \
	"$(grep -vE '^\s*linux ' grub.orig)"
like "grub-mkconfig gets them too" "$(cat r/etc/default/grub.d/enlighten-profile.cfg)" \
	"^GRUB_CMDLINE_LINUX=\"\\\$GRUB_CMDLINE_LINUX $xen\"$"
ok "xen-hvm: the next boot changes nothing" fb --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
like "... and says so" "$(last_output)" "profile=xen-hvm changed=no$"

fb_detected r kvm
ok "kvm: converges" fb --root r ${FB_CPUID:+--cpuid-file "$FB_CPUID"}
is "kvm: grub.cfg is as it was" "$(cat r/boot/grub/grub.cfg)" "$(cat grub.orig)"
ok "... and the grub.d file is gone (kvm-guest needs no arguments)" \
	test ! -e r/etc/default/grub.d/enlighten-profile.cfg

done_testing
