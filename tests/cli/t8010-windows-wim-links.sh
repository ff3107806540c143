#!/bin/sh
# t8010-windows-wim-links.sh - the files enlighten reads out of install.wim
# (\Windows\Boot\EFI, the SYSTEM hive) must be regular files: a reparse
# point in the WIM (a symlink or junction to a host path, a FIFO) is refused
# by name, never extracted as a host symlink and followed. The host file it
# points to is neither copied into the ESP nor rewritten by the hive editor,
# and nothing hangs.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/windows-lib.sh"

mkdir tmp && TMPDIR=$TEST_DIR/tmp && export TMPDIR
echo "host secret" >secret
make_hive host-hive || skip_all "cannot make a hive"
hive_sum=$(sha256sum <host-hive)

# wim_with NAME EDIT: an install.wim whose tree was changed by EDIT (run in it)
wim_with() {
	local tree=$TEST_DIR/tree-$1
	mkdir -p "$tree/Windows/System32/config" "$tree/Windows/Boot/EFI/en-US"
	make_hive "$tree/Windows/System32/config/SYSTEM" >/dev/null 2>&1 || return 1
	rm -f "$tree/Windows/System32/config/SYSTEM.reg"
	printf 'bootmgfw dummy\n' >"$tree/Windows/Boot/EFI/bootmgfw.efi"
	printf 'mui dummy\n' >"$tree/Windows/Boot/EFI/en-US/bootmgfw.efi.mui"
	(cd "$tree" && eval "$2") || return 1
	wimcapture "$tree" "$1.wim" "Windows Server 2025 SERVERSTANDARD" --unix-data >/dev/null 2>&1
}

ok "a WIM whose ESP file is a link to a host file" \
	wim_with esp-link "ln -sf '$TEST_DIR/secret' Windows/Boot/EFI/bootmgfw.efi"
fails "... is refused" enlighten wim --wim esp-link.wim --esp esp
like "... naming the entry" "$(last_output)" "Windows.Boot.EFI.bootmgfw.efi.*(reparse point|not a regular file)"
ok "... no ESP output" test ! -e esp
is "... the host file was not copied anywhere" "$(grep -rl 'host secret' tmp . 2>/dev/null | grep -v '^./secret$')" ""

ok "a WIM whose ESP folder is a link to a host directory" \
	wim_with esp-dir "rm -rf Windows/Boot/EFI && ln -s '$TEST_DIR' Windows/Boot/EFI"
fails "... is refused" enlighten wim --wim esp-dir.wim --esp esp
like "... naming the entry" "$(last_output)" "Windows.Boot.EFI.*(reparse point|not a regular file)"

ok "a WIM whose SYSTEM hive is a link to a host hive" \
	wim_with hive-link "ln -sf '$TEST_DIR/host-hive' Windows/System32/config/SYSTEM"
make_pkg pkg/xenvbd xenvbd
fails "... is refused" enlighten wim --wim hive-link.wim --driver "xen-hvm=pkg/xenvbd" --boot-critical xenvbd -o out.wim
like "... naming the entry" "$(last_output)" "SYSTEM.*(reparse point|not a regular file)"
is "... the host hive is untouched" "$(sha256sum <host-hive)" "$hive_sum"
ok "... no output" test ! -e out.wim

ok "a WIM whose SYSTEM hive is a FIFO" \
	wim_with hive-fifo "rm Windows/System32/config/SYSTEM && mkfifo Windows/System32/config/SYSTEM"
fails "... is refused, not waited on" timeout 60 enlighten wim --wim hive-fifo.wim --driver "xen-hvm=pkg/xenvbd" --boot-critical xenvbd -o out.wim
like "... naming the entry" "$(last_output)" "SYSTEM.*(reparse point|not a regular file)"

is "no scratch directory is left behind" "$(ls tmp)" ""
done_testing
