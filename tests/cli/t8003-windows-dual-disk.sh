#!/bin/sh
# t8003-windows-dual-disk.sh - `enlighten build` with a [Windows] section
# makes the dual factory disk: one GPT with ESP, MSR, the Windows NTFS
# partition and the Linux root; NTFS read back with ntfs-3g tools at its
# slot, the ESP offering both the Linux entry and the Windows Boot Manager.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/windows-lib.sh"

need_tools python3 sfdisk sgdisk e2fsck fsck.vfat mtype
[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi is not installed"

make_base base.tar.gz
make_wim install.wim ddb
make_pkg drivers/xenvbd xenvbd
mkdir -p drivers/viostor
cp "$FIXTURES/inf/viostor.inf" drivers/viostor/
echo driver >drivers/viostor/viostor.sys
make_cat drivers/viostor viostor
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
Edition=Windows Server 2025 SERVERSTANDARD
Size=48M
Drivers=xen-hvm=drivers/xenvbd
	kvm-guest=drivers/viostor
BootCritical=xenvbd
BootCritical=viostor
CONF
mkdir out

ok "build the dual disk" enlighten build dual.conf --output-dir out
like "says what Windows got" "$(last_output)" "Windows: 2 driver package\(s\), 2 boot-critical service\(s\) through the DriverDatabase"
is "no temporary files are left" "$(find out -name '.#*' -o -name '*.tmp-*')" ""
img=out/dual.raw
ok "sgdisk verifies the table" sgdisk -v $img
like "sgdisk finds no problems" "$(last_output)" "No problems found"
dump=$(sfdisk -d $img)
like "partition 1 is the ESP" "$dump" "${img}1 : start= *2048, size= *69632, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
like "partition 2 is the MSR (16 MiB)" "$dump" "${img}2 : start= *71680, size= *32768, type=E3C9E316-0B5C-4DB8-817D-F92DF00215AE"
like "partition 3 is Windows' basic data" "$dump" "${img}3 : start= *104448, size= *98304, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
like "partition 4 is the x86-64 root" "$dump" "${img}4 : start= *202752,.*type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"

part_extract $img 1 esp.img
part_extract $img 3 windows.img
part_extract $img 4 root.img
ok "fsck.vfat finds the ESP clean" fsck.vfat -n esp.img
ok "e2fsck finds the root clean" e2fsck -fn root.img
ok "ntfsls reads the Windows slot" sh -c 'ntfsls -R windows.img >ntfs-list 2>/dev/null'
ok "Windows has the image's files" grep -qx ntoskrnl.exe ntfs-list
ok "Windows has the staged drivers" grep -qx viostor.inf ntfs-list
ok "Windows has the boot-critical drivers" sh -c 'ntfscat windows.img /Windows/System32/drivers/xenvbd.sys | grep -q "driver xenvbd"'
ok "unattend.xml is valid" sh -c 'ntfscat windows.img /Windows/Panther/unattend.xml | xmllint --noout -'
ntfscat windows.img /Windows/System32/config/SYSTEM >SYSTEM 2>/dev/null
is "viostor is boot-start" "$(hivexget SYSTEM '\ControlSet001\Services\viostor' Start)" 0
is "viostor's INF ids are bound" \
	"$(hivexget SYSTEM '\DriverDatabase\DriverPackages\enlighten_viostor.inf_boot\Descriptors\PCI\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01' Configuration)" \
	viostor_boot
like "the NTFS boot sector knows where its partition starts" \
	"$(od -An -tu4 -j28 -N4 windows.img | tr -d ' ')" '^104448$'

export MTOOLS_SKIP_CHECK=1
ok "the ESP has the Windows Boot Manager" sh -c \
	'mcopy -i esp.img ::/EFI/Microsoft/Boot/bootmgfw.efi bm.efi && printf "bootmgfw dummy\n" | cmp - bm.efi'
like "systemd-boot offers Windows" "$(mtype -i esp.img ::/loader/entries/windows.conf)" \
	'^efi /EFI/Microsoft/Boot/bootmgfw.efi$'
like "systemd-boot offers Linux first" "$(mtype -i esp.img ::/loader/loader.conf)" '^default dual.conf$'
like "the menu shows for a moment" "$(mtype -i esp.img ::/loader/loader.conf)" '^timeout 5$'
partuuid=$(printf '%s\n' "$dump" | sed -n "s|^${img}4 .*uuid=\([0-9A-F-]*\).*|\1|p" | tr A-F a-f)
like "Linux boots its root by PARTUUID" "$(mtype -i esp.img ::/loader/entries/dual.conf)" \
	"^options root=PARTUUID=$partuuid rw"
like "the manifest lists four partitions" \
	"$(python3 -c 'import json,sys; print(" ".join(p["filesystem"] for p in json.load(open("out/dual.manifest.json"))["partitions"]))' 2>&1)" \
	'vfat none ntfs ext4'

ok "inspect reads the dual disk" enlighten inspect $img
insp=$(last_output)
like "inspect shows the NTFS partition" "$insp" " windows .* ntfs +Windows"
like "inspect shows the Linux root" "$insp" " root .* ext4"
like "inspect shows the Windows image" "$insp" "^  image +Windows Server 2025 SERVERSTANDARD$"
like "inspect shows what Windows carries" "$insp" '^  staged drivers +xen-hvm\\xenvbd kvm-guest\\viostor$'
like "inspect shows the boot-critical services" "$insp" "^  boot-critical +xenvbd viostor$"
like "inspect shows how they are registered" "$insp" "^  registered in +DriverDatabase$"
ok "inspect --json has the Windows half" sh -c "enlighten inspect --json $img | python3 -c 'import json,sys; w=json.load(sys.stdin)[\"enlighten\"][\"windows\"]; assert w[\"boot_critical\"]==[\"xenvbd\",\"viostor\"], w'"

# no Drivers=: the Windows driver packages of the signed payload catalog,
# each for the profiles the matrix gives its INF
make_pkg repo/windows/xenvbd xenvbd
mkdir -p repo/windows/viostor
cp drivers/viostor/* repo/windows/viostor/
# the OEM's own driver, whose INF no profile of the matrix names: the
# profiles file beside it declares them (docs/payload-packages.md)
make_pkg repo/windows/oemstor oemstor
printf 'kvm-guest\n' >repo/windows/oemstor.profiles
env -u SOURCE_DATE_EPOCH enlighten payload index repo >/dev/null 2>&1
enlighten payload keygen -o key >/dev/null 2>&1
enlighten payload sign --key key.key repo/catalog.json >/dev/null 2>&1
cat >fromcat.conf <<'CONF'
[Image]
Name=fromcat
Size=160M

[Partitions]
ESPSize=34M

[Base]
Tarball=base.tar.gz

[Payloads]
Source=repo
PublicKey=key.pub

[Windows]
InstallWim=install.wim
Size=48M
BootCritical=xenvbd viostor
CONF
ok "build with the drivers from the payload catalog" enlighten build fromcat.conf --output-dir out
like "the three catalog packages staged" "$(last_output)" "Windows: 3 driver package\(s\), 2 boot-critical"
part_extract out/fromcat.raw 3 fromcat-windows.img
ok "xenvbd is staged for xen-hvm" sh -c \
	'ntfscat fromcat-windows.img /Drivers/enlighten/xen-hvm/xenvbd/xenvbd.inf | cmp - repo/windows/xenvbd/xenvbd.inf'
ok "viostor is staged for kvm-guest" sh -c \
	'ntfscat fromcat-windows.img /Drivers/enlighten/kvm-guest/viostor/viostor.inf | cmp - repo/windows/viostor/viostor.inf'
ok "the OEM's driver is staged for the profile its manifest declares" sh -c \
	'ntfscat fromcat-windows.img /Drivers/enlighten/kvm-guest/oemstor/oemstor.inf | cmp - repo/windows/oemstor/oemstor.inf'
fails "... and for no other" sh -c \
	'ntfscat fromcat-windows.img /Drivers/enlighten/xen-hvm/oemstor/oemstor.inf >/dev/null 2>&1'
fails "the profiles file is no payload of the image" sh -c \
	'ntfsls -R fromcat-windows.img 2>/dev/null | grep -qx oemstor.profiles'

echo unverified >repo/windows/xenvbd/extra.dll
fails "a file the catalog does not list is refused" enlighten build fromcat.conf --output-dir out
like "names the file" "$(last_output)" "'windows/xenvbd/extra.dll' is in a Windows driver package but not in the signed catalog"
rm repo/windows/xenvbd/extra.dll

# the recipe's [Windows] keys
printf '[Image]\nSize=100M\n[Base]\nTarball=base.tar.gz\n[Windows]\nSize=32M\n' >nowim.conf
fails "[Windows] without InstallWim=" enlighten build nowim.conf --output-dir out
like "says InstallWim= is needed" "$(last_output)" "\[Windows\] needs InstallWim="
printf '[Image]\nSize=100M\n[Base]\nTarball=base.tar.gz\n[Windows]\nInstallWim=install.wim\nSize=64M\n' >small.conf
fails "a disk too small for both" enlighten build small.conf --output-dir out
like "says the root is too small" "$(last_output)" "after the ESP, the MSR and Windows"
printf '[Image]\nSize=200M\n[Base]\nTarball=base.tar.gz\n[Windows]\nInstallWim=install.wim\nSize=32M\nDrivers=xenvbd\n' >bad.conf
fails "Drivers= without a profile" enlighten build bad.conf --output-dir out
like "says PROFILE=PATH" "$(last_output)" "'xenvbd' is not PROFILE=PATH"
printf '[Image]\nSize=200M\n[Base]\nTarball=base.tar.gz\n[Windows]\nInstallWim=install.wim\nSize=32M\nDrivers=xen-hvm=drivers/xenvbd\nBootCritical=xenbus\n' >nocarrier.conf
fails "a boot-critical service no package carries" enlighten build nocarrier.conf --output-dir out
like "names the service" "$(last_output)" "boot-critical service 'xenbus': no staged driver package carries 'xenbus.sys'"
is "failed builds leave no image" "$(ls out | grep -v '^dual\.\|^fromcat\.' | tr '\n' ' ')" ""

done_testing
