#!/bin/sh
# t7201-boot-test-grub.sh - Loader=grub on the real base: the universal
# recipe with GRUB instead of systemd-boot, booted as kvm through OVMF and
# GRUB's EFI image; GRUB must boot the /vmlinuz link of grub.cfg and the
# first-boot agent must detect the guest and activate kvm-guest. Slow:
# skipped with ENLIGHTEN_SKIP_BOOT=1 and under the sanitizer build (the guest
# would run the instrumented agent).
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

[ "${ENLIGHTEN_SKIP_BOOT:-0}" = 1 ] && skip_all "ENLIGHTEN_SKIP_BOOT=1"
[ "${ENLIGHTEN_SANITIZE:-0}" = 1 ] && skip_all "sanitizer build: the guest would run the instrumented agent"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
[ -r /usr/share/OVMF/OVMF_CODE.fd ] || skip_all "OVMF missing"
[ -r /usr/lib/grub/x86_64-efi/normal.mod ] || skip_all "grub-efi-amd64-bin missing"

demo=$ENLIGHTEN_BUILDDIR/demo
# a make of its own, not a job of the make that runs the tests: the base and
# the signed repository of `make demo-image`, without its image
ok "the demo's base and repository" env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	make -C "$SRC" --no-print-directory "$demo/base.tar.zst" "$demo/repo/catalog.json.minisig"
[ $? -eq 0 ] || { done_testing; }

cat >grub.conf <<EOF
Include=$SRC/templates/linux-universal.conf

[Image]
Name=universal-grub
Formats=qcow2

[Boot]
Loader=grub
EOF
ok "build the universal recipe with Loader=grub" env SOURCE_DATE_EPOCH=1700000000 \
	ENLIGHTEN_DATADIR="$SRC" enlighten build grub.conf --output-dir out
like "grub.cfg boots the base's /vmlinuz link" "$(last_output)" "GRUB: /boot/grub/grub.cfg boots /vmlinuz"

ok "boot it as kvm" enlighten boot-test out/universal-grub.qcow2 --as kvm --timeout 900 --keep-log logs
rc=$?
out=$(last_output)
like "a firmware boot (no systemd-boot entry to read)" "$out" "boot 1/1 as kvm: firmware boot$"
like "the agent activated kvm-guest, detected" "$out" "result: PASS: kvm-guest activated, detected \(hypervisor=(kvm|qemu) role=guest\), changed=yes"
like "GRUB booted grub.cfg's entry" "$(tr -d '\r' <logs/boot-1-kvm.console.log)" "Booting .universal-grub'"
if [ $rc -ne 0 ]; then
	keep=$ENLIGHTEN_BUILDDIR/test-logs/t7201
	rm -rf "$keep" && mkdir -p "$keep" && cp -r logs/. "$keep/"
	echo "#   console logs kept in $keep"
fi

done_testing
