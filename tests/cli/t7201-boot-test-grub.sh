#!/bin/sh
# t7201-boot-test-grub.sh - Loader=grub on the real base: the universal
# recipe with GRUB instead of systemd-boot and Firmware=uefi bios, booted as
# kvm through OVMF and GRUB's EFI image, then through SeaBIOS, boot.img and
# core.img; each time GRUB must boot the /vmlinuz link of grub.cfg and the
# first-boot agent must detect the guest and activate kvm-guest. Slow:
# skipped with ENLIGHTEN_SKIP_BOOT=1 and under the sanitizer build (the guest
# would run the instrumented agent).
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

[ "${ENLIGHTEN_SKIP_BOOT:-0}" = 1 ] && skip_all "ENLIGHTEN_SKIP_BOOT=1"
[ "${ENLIGHTEN_SANITIZE:-0}" = 1 ] && skip_all "sanitizer build: the guest would run the instrumented agent"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
[ -r /usr/share/OVMF/OVMF_CODE.fd ] || skip_all "OVMF missing"
[ -r /usr/lib/grub/x86_64-efi/normal.mod ] || skip_all "grub-efi-amd64-bin missing"
[ -r /usr/lib/grub/i386-pc/boot.img ] || skip_all "grub-pc-bin missing"
[ -r /usr/share/seabios/bios-256k.bin ] || skip_all "SeaBIOS missing"

demo=$ENLIGHTEN_BUILDDIR/demo
# a make of its own, not a job of the make that runs the tests: the base and
# the signed repository of `make demo-image`, without its image
ok "the demo's base and repository" env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	make -C "$SRC" --no-print-directory "$demo/base.tar.zst" "$demo/repo/catalog.json.minisig"
[ $? -eq 0 ] || { done_testing; }

cat >grub.conf <<EOT
Include=$SRC/templates/linux-universal.conf

[Image]
Name=universal-grub
Formats=qcow2

[Boot]
Loader=grub
Firmware=uefi bios
EOT
ok "build the universal recipe with Loader=grub and Firmware=uefi bios" env SOURCE_DATE_EPOCH=1700000000 \
	ENLIGHTEN_DATADIR="$SRC" enlighten build grub.conf --output-dir out
like "grub.cfg boots the base's /vmlinuz link" "$(last_output)" "GRUB: /boot/grub/grub.cfg boots /vmlinuz"

keep_on_failure() { # rc
	[ "$1" -eq 0 ] && return 0
	keep=$ENLIGHTEN_BUILDDIR/test-logs/t7201
	rm -rf "$keep" && mkdir -p "$keep" && cp -r logs/. "$keep/"
	echo "#   console logs kept in $keep"
}

ok "boot it as kvm under UEFI" enlighten boot-test out/universal-grub.qcow2 --as kvm --timeout 900 --keep-log logs/uefi
keep_on_failure $?
out=$(last_output)
like "a firmware boot (no systemd-boot entry to read)" "$out" "boot 1/1 as kvm: firmware boot$"
like "the agent activated kvm-guest, detected" "$out" "result: PASS: kvm-guest activated, detected \(hypervisor=(kvm|qemu) role=guest\), changed=yes"
like "GRUB booted grub.cfg's entry" "$(tr -d '\r' <logs/uefi/boot-1-kvm.console.log)" "Booting .universal-grub'"

enlighten boot-test out/universal-grub.qcow2 --as kvm --firmware bios --timeout 900 \
	--keep-log logs/bios --json >bios.json 2>bios.err
rc=$?
is "boot the same disk as kvm under SeaBIOS" $rc 0
keep_on_failure $rc
[ $rc -eq 0 ] || sed 's/^/#   /' bios.err
like "the report says SeaBIOS" "$(cat bios.err)" "boot 1/1 as kvm: firmware boot under SeaBIOS$"
j() { jq -r "$1" bios.json; }
is "json: the firmware was bios" "$(j .firmware)" bios
is "json: the agent activated kvm-guest" "$(j '.boots[0].agent.profile')" kvm-guest
like "GRUB's BIOS image booted grub.cfg's entry" "$(tr -d '\r' <logs/bios/boot-1-kvm.console.log)" "Booting .universal-grub'"

done_testing
