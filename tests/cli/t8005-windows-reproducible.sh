#!/bin/sh
# t8005-windows-reproducible.sh - the same inputs and SOURCE_DATE_EPOCH give
# the same dual disk, byte for byte, however far apart the builds run: the
# times libntfs-3g stamps with the clock in the NTFS partition are fixed
# (builder/windows/ntfs-normalize.c), the WIM's own older times are kept and newer
# ones clamped, and ntfs-3g's tools still accept the volume.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/windows-lib.sh"

need_tools sfdisk ntfsfix ntfsinfo wimupdate
[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi is not installed"

export SOURCE_DATE_EPOCH=1700000000
sde_utc='Tue Nov 14 22:13:20 2023 UTC'
old_utc='Sun Sep 13 12:26:40 2020 UTC' # 1600000000, the WIM's own times

make_base base.tar.gz
WIM_TIME=1600000000 make_wim install.wim ddb
# one file of the WIM newer than SOURCE_DATE_EPOCH
echo newer >newer.txt
touch -d @1800000000 newer.txt
wimupdate install.wim 1 --command="add newer.txt /newer.txt" >/dev/null
make_pkg drivers/xenvbd xenvbd
cat >dual.conf <<'CONF'
[Image]
Name=dual
Size=160M
Formats=raw

[Partitions]
ESPSize=34M

[Base]
Tarball=base.tar.gz

[Windows]
InstallWim=install.wim
Size=48M
Drivers=xen-hvm=drivers/xenvbd
BootCritical=xenvbd
CONF

mkdir one two
ok "build the dual disk" enlighten build dual.conf --output-dir one
sleep 2 # the clock moves on: every stamp libntfs-3g takes from it differs
ok "build it again" enlighten build dual.conf --output-dir two
ok "the raw images are the same bytes" cmp one/dual.raw two/dual.raw
ok "the manifests are the same bytes" cmp one/dual.manifest.json two/dual.manifest.json

part_extract one/dual.raw 3 windows.img
ok "ntfsfix accepts the volume" ntfsfix -n windows.img
like "ntfsfix finds \$MFT and \$MFTMirr in agreement" "$(last_output)" \
	'Processing of \$MFT and \$MFTMirr completed successfully'
ok "ntfsinfo reads the volume" ntfsinfo -m windows.img
ntfs_time() { TZ=UTC ntfsinfo -F "$1" windows.img 2>/dev/null | sed -n "s/^[[:space:]]*$2:[[:space:]]*//p" | sort -u; }
is "a WIM file keeps its modification time" "$(ntfs_time /Windows/System32/ntoskrnl.exe 'File Altered Time')" "$old_utc"
is "a WIM file keeps its creation time" "$(ntfs_time /Windows/System32/ntoskrnl.exe 'File Creation Time')" "$old_utc"
is "its MFT change time is SOURCE_DATE_EPOCH" "$(ntfs_time /Windows/System32/ntoskrnl.exe 'MFT Changed Time')" "$sde_utc"
is "a WIM folder keeps its time" "$(ntfs_time /Windows/System32 'File Altered Time')" "$old_utc"
is "a WIM time past SOURCE_DATE_EPOCH is clamped" "$(ntfs_time /newer.txt 'File Altered Time')" "$sde_utc"
is "an added file has SOURCE_DATE_EPOCH" "$(ntfs_time /Windows/Panther/unattend.xml 'File Altered Time')" "$sde_utc"
is "the metadata files' change time is SOURCE_DATE_EPOCH" "$(ntfs_time /\$MFT 'MFT Changed Time')" "$sde_utc"

# the Windows verb's NTFS output: the same
ok "enlighten wim --ntfs" enlighten wim --wim install.wim --driver xen-hvm=drivers/xenvbd \
	--boot-critical xenvbd --ntfs a.ntfs --ntfs-size 32M
sleep 1
ok "enlighten wim --ntfs again" enlighten wim --wim install.wim --driver xen-hvm=drivers/xenvbd \
	--boot-critical xenvbd --ntfs b.ntfs --ntfs-size 32M
ok "the two volumes are the same bytes" cmp a.ntfs b.ntfs

done_testing
