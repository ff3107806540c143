#!/bin/sh
# t7201-boot-test-grub.sh - GRUB on the real base, one disk for all
# firmware: the universal recipe (templates/linux-universal.conf: Loader=grub,
# Firmware=uefi bios and SecureBoot=yes), booted as kvm through OVMF (shim, then GRUB) and moved to
# hyperv and back to kvm on the same disk (forced profiles: boot-test boots
# grub.cfg's default entry read from the image), through
# SeaBIOS (boot.img, core.img), and through OVMF with Microsoft's keys and
# Secure Boot enforced (shim, the Debian-signed GRUB and kernel); each time
# GRUB must boot the /vmlinuz link of grub.cfg and the first-boot agent must
# activate kvm-guest. Its Xen entry must start Xen and dom0 from GRUB
# (grubenv's next_entry). Then a disk whose loader is an unsigned GRUB must be
# refused under Secure Boot. Slow: skipped with ENLIGHTEN_SKIP_BOOT=1 and
# under the sanitizer build (the guest would run the instrumented agent).
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

[ "${ENLIGHTEN_SKIP_BOOT:-0}" = 1 ] && skip_all "ENLIGHTEN_SKIP_BOOT=1"
[ "${ENLIGHTEN_SANITIZE:-0}" = 1 ] && skip_all "sanitizer build: the guest would run the instrumented agent"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
[ -r /usr/share/OVMF/OVMF_CODE.fd ] || skip_all "OVMF missing"
[ -r /usr/lib/grub/x86_64-efi/normal.mod ] || skip_all "grub-efi-amd64-bin missing"
[ -r /usr/lib/grub/i386-pc/boot.img ] || skip_all "grub-pc-bin missing"
[ -r /usr/share/seabios/bios-256k.bin ] || skip_all "SeaBIOS missing"
[ -r /usr/share/OVMF/OVMF_VARS_4M.ms.fd ] || skip_all "OVMF with Microsoft's keys missing"
[ -r /usr/lib/shim/shimx64.efi.signed ] || skip_all "shim-signed missing"
[ -r /usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed ] || skip_all "grub-efi-amd64-signed missing"

# a make of its own, not a job of the make that runs the tests: the base and
# the signed repository of `make demo-image`, without its image, named as the
# Makefile names them (relative), so that a fresh tree makes them
demo_inputs || done_testing

universal_qcow2 universal-grub "build the universal recipe (Loader=grub, Firmware=uefi bios, SecureBoot=yes)"
like "grub.cfg boots the base's /vmlinuz link" "$(last_output)" "GRUB: /boot/grub/grub.cfg boots /vmlinuz"

# its Xen entry is GRUB's (chain-loading xen.efi): boot-test names it in
# grubenv's next_entry, as grub-reboot does, and GRUB starts Xen and dom0's
# kernel. Here on a CPU with SMAP, on which Xen 4.17 under TCG crashes dom0
# at once (t7202 boots a whole dom0): the boot fails with Xen's own lines.
cat > qemu-smap <<'EOF'
#!/bin/sh
for a; do shift; case $a in max,-smap,-rdtscp*) a=max ;; esac; set -- "$@" "$a"; done
exec qemu-system-x86_64 "$@"
EOF
chmod +x qemu-smap
exits 1 "GRUB's Xen entry boots Xen, which starts dom0 (crashing on SMAP)" \
	env ENLIGHTEN_QEMU="$PWD/qemu-smap" enlighten boot-test out/universal-grub.qcow2 --as xen-dom0 \
	--timeout 600
out=$(last_output)
like "the entry GRUB boots next is its Xen entry" "$out" \
	"made 'enlighten-xen' the entry GRUB boots next \(grubenv's next_entry, as grub-reboot sets it\)"
like "booted through the firmware and GRUB" "$out" \
	"boot 1/1 as xen-dom0: firmware boot of entry 'enlighten-xen': Xen"
like "Xen came up" "$out" "xen:    Xen's banner at [0-9.]+ s"
like "dom0 ran and crashed: Xen's own verdict" "$out" "result: FAIL: Xen stopped: \(XEN\) Hardware Dom0 crashed"

keep_on_failure() { # rc
	[ "$1" -eq 0 ] && return 0
	keep=$ENLIGHTEN_BUILDDIR/test-logs/t7201
	rm -rf "$keep" && mkdir -p "$keep" && cp -r logs/. "$keep/"
	echo "#   console logs kept in $keep"
}

# converged as kvm, then moved: grub.cfg's default entry (the generic
# initrd, no host-only one with GRUB) must boot as hyperv, forced (no
# Hyper-V under TCG), and as kvm again, and reach the agent each time; the
# summary line is what is checked (the Hyper-V daemons cannot run off VMBus)
ok "boot it as kvm under UEFI, then as hyperv and as kvm again" enlighten boot-test out/universal-grub.qcow2 \
	--as kvm --then hyperv --then kvm --line-only --timeout 900 --keep-log logs/uefi
keep_on_failure $?
out=$(last_output)
like "a firmware boot (no systemd-boot entry to read)" "$out" "boot 1/3 as kvm: firmware boot$"
like "the agent activated kvm-guest, detected" "$out" "result: PASS: kvm-guest activated, detected \(hypervisor=(kvm|qemu) role=guest\), changed=yes"
like "GRUB booted grub.cfg's entry" "$(tr -d '\r' <logs/uefi/boot-1-kvm.console.log)" "Booting .universal-grub'"
like "the move to hyperv boots grub.cfg's default entry" "$out" "boot 2/3 as hyperv: direct boot of entry 'grub.cfg', profile forced"
like "... reaches the agent, which activates hyperv-guest" "$out" "profile=hyperv-guest changed=yes forced=yes"
like "the move back to kvm boots through the firmware and GRUB" "$out" "boot 3/3 as kvm: firmware boot$"
like "... and the agent activates kvm-guest again" "$out" "profile=kvm-guest changed=yes"
like "all three boots" "$out" "boot-test: PASS, 3 of 3 boots matched"

enlighten boot-test out/universal-grub.qcow2 --as kvm --firmware bios --timeout 900 \
	--keep-log logs/bios --json >bios.json 2>bios.err
rc=$?
is "boot the same disk as kvm under SeaBIOS" $rc 0
keep_on_failure $rc
[ $rc -eq 0 ] || sed 's/^/#   /' bios.err
like "the report says SeaBIOS" "$(cat bios.err)" "boot 1/1 as kvm: firmware boot under SeaBIOS$"
like "the guest's journal kept beside its console log, with the agent's start" \
	"$(cat logs/bios/boot-1-kvm.journal.log)" "Starting enlighten-firstboot.service"
j() { jq -r "$1" bios.json; }
is "json: the firmware was bios" "$(j .firmware)" bios
is "json: the agent activated kvm-guest" "$(j '.boots[0].agent.profile')" kvm-guest
like "GRUB's BIOS image booted grub.cfg's entry" "$(tr -d '\r' <logs/bios/boot-1-kvm.console.log)" "Booting .universal-grub'"

ok "boot the same disk as kvm with Secure Boot enforced" enlighten boot-test out/universal-grub.qcow2 --as kvm \
	--secure-boot --timeout 900 --keep-log logs/sb
keep_on_failure $?
out=$(last_output)
like "the report says Secure Boot" "$out" "boot 1/1 as kvm: firmware boot with Secure Boot enforced$"
like "the agent activated kvm-guest" "$out" "result: PASS: kvm-guest activated, detected"
like "the signed GRUB booted grub.cfg's entry" "$(tr -d '\r' <logs/sb/boot-1-kvm.console.log)" "Booting .universal-grub'"

# an unsigned loader (GRUB from grub-mkimage) under the same firmware
cat >unsigned.conf <<EOT
Include=$SRC/templates/linux-universal.conf

[Image]
Name=unsigned
Formats=qcow2

[Boot]
Firmware=uefi
SecureBoot=no
EOT
ok "build a disk whose loader is not signed" env SOURCE_DATE_EPOCH=1700000000 \
	ENLIGHTEN_DATADIR="$SRC" enlighten build unsigned.conf --output-dir out
exits 1 "Secure Boot refuses it" enlighten boot-test out/unsigned.qcow2 --as kvm --secure-boot --timeout 600 \
	--keep-log logs/refused
like "... the firmware said so, and the boot stopped there" "$(last_output)" \
	"result: FAIL: the firmware refused to start the loader under Secure Boot: 'BdsDxe: failed to load Boot0001 .*: Access Denied'"

done_testing
