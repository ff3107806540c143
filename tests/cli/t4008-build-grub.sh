#!/bin/sh
# t4008-build-grub.sh - Loader=grub: the ESP holds GRUB's EFI image (made by
# grub-mkimage from grub-efi-amd64-bin) with an early configuration that
# finds the root by its filesystem UUID, and no kernel; grub.cfg on the root
# boots the /vmlinuz link that Debian's kernel packages move (with the
# previous kernel as a second entry), passes GRUB's own script check, and
# falls back to the picked kernel, with a warning, on a base without links;
# a base with update-grub gets the command line in /etc/default/grub.d;
# reproducible; a bad Loader= names the file, the line and the fix.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

for t in python3 sfdisk debugfs mtype mcopy grub-mkimage grub-script-check setpriv blkid; do
	command -v $t >/dev/null || skip_all "$t is not installed"
done
[ -r /usr/lib/grub/x86_64-efi/normal.mod ] || skip_all "grub-efi-amd64-bin is not installed"

chmod 755 "$TEST_DIR"
make_base links.tar.gz --kernel-links
make_base plain.tar.gz
mkdir -p tree/usr/sbin && printf '#!/bin/sh\n' >tree/usr/sbin/update-grub
make_base mkconfig.tar.gz --kernel-links --tree tree
boot='[Boot]
Loader=grub
KernelCommandLine=console=ttyS0 quiet'
write_recipe img.conf links.tar.gz "$boot"
mkdir out out2
chmod 777 out out2

ok "build with Loader=grub runs as an unprivileged user" unpriv enlighten build img.conf --output-dir out
like "says what grub.cfg boots" "$(last_output)" \
	"^enlighten: GRUB: /boot/grub/grub.cfg boots /vmlinuz, which the base's kernel packages move to each kernel they install"
img=out/test.raw
ok "sfdisk verifies the table" sfdisk --verify $img

part_extract $img 1 esp.img
export MTOOLS_SKIP_CHECK=1
ok "the ESP has GRUB as the removable-media loader" mcopy -i esp.img ::/EFI/BOOT/BOOTX64.EFI grub.efi
is "... a PE image" "$(head -c 2 grub.efi)" MZ
like "... GRUB's" "$(strings grub.efi | grep -m1 -o 'GNU GRUB')" "GNU GRUB"
fails "no systemd-boot entries on the ESP" mdir -i esp.img ::/loader
fails "no kernel on the ESP" sh -c "mdir -/ -i esp.img ::/ | grep -q linux"

part_extract $img 2 root.img
uuid=$(blkid -o value -s UUID root.img)
like "the early configuration finds the root by its filesystem UUID" "$(strings grub.efi)" \
	"search --no-floppy --fs-uuid --set=root $uuid"
like "... and sets the prefix on it" "$(strings grub.efi)" 'set prefix=\(\$root\)/boot/grub'

partuuid=$(sfdisk --part-uuid $img 2 | tr A-Z a-z)
cfg=$(debugfs -R "cat /boot/grub/grub.cfg" root.img 2>/dev/null)
entry() { printf '%s\n' "$cfg" | sed -n "/--id $1 {/,/^}/p"; }
tab=$(printf '\t')
is "grub.cfg boots the /vmlinuz link" "$(entry enlighten)" "menuentry 'test' --id enlighten {
${tab}linux /vmlinuz root=PARTUUID=$partuuid rw console=ttyS0 quiet
${tab}initrd /initrd.img
}"
is "... and the previous kernel's links as a second entry" "$(entry enlighten-previous)" \
	"menuentry 'test, previous kernel' --id enlighten-previous {
${tab}linux /vmlinuz.old root=PARTUUID=$partuuid rw console=ttyS0 quiet
${tab}initrd /initrd.img.old
}"
like "... on the serial console too" "$cfg" "terminal_output console serial"
printf '%s\n' "$cfg" >grub.cfg
ok "grub-script-check accepts grub.cfg" grub-script-check grub.cfg
fails "no defaults for update-grub in a base without it" \
	sh -c "debugfs -R 'stat /etc/default/grub.d/enlighten.cfg' root.img 2>&1 | grep -q Inode"

ok "the same inputs give the same image" unpriv enlighten build img.conf --output-dir out2
is "... byte for byte" "$(sha256sum <out2/test.raw)" "$(sha256sum <$img)"

# a base without the links: the picked kernel, and a warning
write_recipe plain.conf plain.tar.gz "$boot"
mkdir out3
ok "build on a base without kernel links" enlighten build plain.conf --output-dir out3
like "warns that kernel updates will not be followed" "$(last_output)" \
	"^enlighten: GRUB: /boot/grub/grub.cfg boots '/boot/vmlinuz-6.1.0-test': the base keeps no link to its newest kernel; a kernel update will not change what boots"
part_extract out3/test.raw 2 root3.img
cfg=$(debugfs -R 'cat /boot/grub/grub.cfg' root3.img 2>/dev/null)
like "grub.cfg boots the picked kernel" "$(entry enlighten | grep linux)" "^${tab}linux /boot/vmlinuz-6.1.0-test root="
like "... with its initrd" "$(entry enlighten | grep initrd)" "^${tab}initrd /boot/initrd.img-6.1.0-test$"
is "... and no previous entry" "$(entry enlighten-previous)" ""

# Kernel= pins the kernel, links or not
write_recipe pinned.conf links.tar.gz "$boot" '[Base]' 'Kernel=boot/vmlinuz-6.1.0-test'
mkdir out4
ok "build with Kernel=" enlighten build pinned.conf --output-dir out4
like "warns that Kernel= pins it" "$(last_output)" "boots '/boot/vmlinuz-6.1.0-test' as Kernel= says"

# a base with update-grub: its grub-mkconfig gets the command line
write_recipe mk.conf mkconfig.tar.gz "$boot"
mkdir out5
ok "build on a base with update-grub" enlighten build mk.conf --output-dir out5
part_extract out5/test.raw 2 root5.img
is "/etc/default/grub.d/enlighten.cfg carries the command line without root=" \
	"$(debugfs -R 'cat /etc/default/grub.d/enlighten.cfg' root5.img 2>/dev/null | grep ^GRUB_CMDLINE)" \
	'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX console=ttyS0 quiet"'

# bad input
write_recipe bad.conf links.tar.gz '[Boot]' 'Loader=grubb'
exits 2 "an unknown loader is refused" enlighten build bad.conf --output-dir out6
like "... naming the file, the line and the fix" "$(last_output)" \
	"recipe 'bad.conf' line [0-9]+: unknown loader 'grubb' \(did you mean 'grub'\?\); use systemd-boot or grub"
ok "... and nothing is written" test ! -e out6

done_testing
