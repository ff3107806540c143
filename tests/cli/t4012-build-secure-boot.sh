#!/bin/sh
# t4012-build-secure-boot.sh - SecureBoot=yes: the ESP holds Debian's
# Microsoft-signed shim as the removable-media loader, the Debian-signed
# GRUB beside it and the stub it reads in EFI/debian/; the build names the CA
# each file of the chain needs, and `enlighten inspect` names it per
# signature; a shim signed only for the expired 2011 CA is warned about; an
# unsigned shim, a GRUB changed after it was signed (its Authenticode digest
# no longer its own), an unsigned kernel and SecureBoot=yes with
# systemd-boot are errors naming the file, and leave nothing behind.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

shim=/usr/lib/shim/shimx64.efi.signed
grub=/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed
need_tools python3 sfdisk mcopy
[ -r $shim ] || skip_all "shim-signed is not installed"
[ -r $grub ] || skip_all "grub-efi-amd64-signed is not installed"
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | head -1)
[ -r "$kernel" ] || skip_all "no readable Debian kernel in /boot (linux-image-amd64)"

make_base signed.tar.gz --kernel-links --kernel "$kernel"
make_base unsigned.tar.gz --kernel-links
sb='[Boot]
Loader=grub
SecureBoot=yes'
write_recipe img.conf signed.tar.gz "$sb"

ok "build with SecureBoot=yes" enlighten build img.conf --output-dir out
out=$(last_output)
like "names the CAs shim needs" "$out" \
	"^enlighten: Secure Boot: the shim '$shim' needs 'Microsoft Corporation UEFI CA 2011'( \(expired 2026-06-27\))? or 'Microsoft UEFI CA 2023'$"
like "names the CA GRUB needs" "$out" "^enlighten: Secure Boot: the GRUB '$grub' needs 'Debian Secure Boot CA'$"
like "names the CA the kernel needs" "$out" \
	"^enlighten: Secure Boot: the kernel '/boot/vmlinuz-6.1.0-test' of base tarball 'signed.tar.gz' needs 'Debian Secure Boot CA'$"
fails "no warning: shim is signed for the 2023 CA too" sh -c "printf '%s\n' \"\$1\" | grep -q 'only for CAs that have expired'" - "$out"

export MTOOLS_SKIP_CHECK=1
part_extract out/test.raw 1 esp.img
mcopy -n -i esp.img ::/EFI/BOOT/BOOTX64.EFI boot.efi 2>/dev/null
mcopy -n -i esp.img ::/EFI/BOOT/grubx64.efi grubx64.efi 2>/dev/null
ok "the removable-media loader is shim" cmp boot.efi $shim
ok "the signed GRUB is beside it" cmp grubx64.efi $grub
ok "MokManager is there for shim" mcopy -n -i esp.img ::/EFI/BOOT/mmx64.efi mm.efi
fails "shim's fallback is not (it would reset the machine to make boot entries)" mcopy -n -i esp.img ::/EFI/BOOT/fbx64.efi fb.efi
part_extract out/test.raw 2 root.img
uuid=$(blkid -o value -s UUID root.img)
is "the signed GRUB's stub in EFI/debian/ finds the root by UUID and reads its grub.cfg" \
	"$(mtype -i esp.img ::/EFI/debian/grub.cfg)" "search --no-floppy --fs-uuid --set=root $uuid
set prefix=(\$root)/boot/grub
configfile \$prefix/grub.cfg"

ok "inspect reads the chain" enlighten inspect out/test.raw
out=$(last_output)
like "inspect: shim needs the 2011 CA by one signature" "$out" \
	"EFI/BOOT/BOOTX64.EFI +'Microsoft Corporation UEFI CA 2011' by 'Microsoft Windows UEFI Driver Publisher'"
like "... and the 2023 CA by the other" "$out" "^ +'Microsoft UEFI CA 2023' by 'Microsoft UEFI CA 2023 signer'$"
like "inspect: GRUB needs Debian's CA" "$out" "EFI/BOOT/grubx64.efi +'Debian Secure Boot CA' by 'Debian Secure Boot Signer 2022 - grub2'"
like "inspect: the kernel needs Debian's CA" "$out" "/boot/vmlinuz-6.1.0-test +'Debian Secure Boot CA' by 'Debian Secure Boot Signer 2022 - linux'"
ok "inspect --json" sh -c "enlighten inspect --json out/test.raw >inspect.json"
is "json: every signature of the chain covers its file's own digest" \
	"$(jq -r '[.boot_chain[].signatures[].digest] | unique | join(" ")' inspect.json)" matches
is "json: the 2011 CA's end" "$(jq -r '.boot_chain[] | select(.file == "EFI/BOOT/BOOTX64.EFI") | .signatures[0].ca_expires' inspect.json)" 2026-06-27

# a stand-in for a shim signed only for the 2011 CA: Debian's, its second
# (2023) signature cut from the certificate table
python3 - $shim old-shim.efi <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
pe = struct.unpack_from("<I", d, 0x3c)[0]
dd = pe + 24 + 112 + 8 * 4
off, size = struct.unpack_from("<II", d, dd)
first = (struct.unpack_from("<I", d, off)[0] + 7) & ~7
struct.pack_into("<II", d, dd, off, first)
open(sys.argv[2], "wb").write(bytes(d[:off + first]))
PY
write_recipe old.conf signed.tar.gz "$sb" "Shim=$TEST_DIR/old-shim.efi"
ok "build with a shim signed only for the 2011 CA" enlighten build old.conf --output-dir out2
if [ "$(date +%s)" -gt "$(date -d 2026-06-28 +%s)" ]; then # the 2011 CA has expired
	like "warns that the chain depends only on an expired CA" "$(last_output)" \
		"^enlighten: Secure Boot: the shim '.*/old-shim.efi' is signed only for CAs that have expired: 'Microsoft Corporation UEFI CA 2011' \(expired 2026-06-27\); .*use one signed for a current CA too$"
fi

# bad input
write_recipe bad.conf signed.tar.gz "$sb" 'Shim=/usr/lib/shim/shimx64.efi'
exits 1 "an unsigned shim is refused" enlighten build bad.conf --output-dir out3
like "... naming the file and what to use" "$(last_output)" \
	"Secure Boot: the shim '/usr/lib/shim/shimx64.efi' is not signed, so the firmware or shim would refuse it; set Shim= in \[Boot\] to a shim signed by Microsoft's UEFI CA"
is "... and nothing is left" "$(finished_files out3)" ""
# a signed GRUB with one byte of its first section changed after signing
python3 - $grub patched-grub.efi <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
pe = struct.unpack_from("<I", d, 0x3c)[0]
sec = pe + 24 + struct.unpack_from("<H", d, pe + 20)[0]
size, at = struct.unpack_from("<II", d, sec + 16)
d[at + size // 2] ^= 1
open(sys.argv[2], "wb").write(bytes(d))
PY
write_recipe bad.conf signed.tar.gz "$sb" "SignedGrub=$TEST_DIR/patched-grub.efi"
exits 1 "a GRUB changed after it was signed is refused" enlighten build bad.conf --output-dir out3
like "... naming the file and why firmware would refuse it" "$(last_output)" \
	"Secure Boot: the GRUB '.*/patched-grub.efi' was changed after it was signed \(the digest its signature covers is not its own\), so the firmware or shim would refuse it; set SignedGrub= in \[Boot\]"
is "... and nothing is left" "$(finished_files out3)" ""
write_recipe bad.conf unsigned.tar.gz "$sb"
exits 1 "an unsigned kernel is refused" enlighten build bad.conf --output-dir out3
like "... naming the kernel and the base" "$(last_output)" \
	"Secure Boot: the kernel '/boot/vmlinuz-6.1.0-test' of base tarball 'unsigned.tar.gz' cannot be checked: not a PE image \(no 'PE' header\); use a base with the distribution's signed kernel"
is "... and nothing is left" "$(finished_files out3)" ""
write_recipe bad.conf signed.tar.gz '[Boot]' 'SecureBoot=yes'
exits 2 "SecureBoot=yes with systemd-boot is refused" enlighten build bad.conf --output-dir out3
like "... saying GRUB is needed" "$(last_output)" "recipe 'bad.conf': SecureBoot=yes needs Loader=grub in \[Boot\]"

done_testing
