#!/bin/sh
# t8000-windows-wim.sh - `enlighten wim` updates a synthetic install.wim:
# the driver packages, unattend.xml, SetupComplete.cmd and the boot-critical
# registry are in the new WIM, in the NTFS volume made from it, and the
# ESP gets the Windows boot files. Read back with wimlib, ntfs-3g, hivex and
# xmllint.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/windows-lib.sh"

make_wim install.wim
make_pkg pkgs/xenvbd xenvbd
make_pkg pkgs/xenbus xenbus
mkdir -p pkgs/xenvbd/x64 && printf 'coinstaller\n' >pkgs/xenvbd/x64/xenvbd_coinst.dll &&
	make_cat pkgs/xenvbd xenvbd
# a package shipped as a zip with a top folder, read through lib/extract
make_pkg zipsrc/xennet xennet NTamd64 xennet.cat 'XENVIF\VEN_XSx&DEV_NET'
(cd zipsrc && python3 -c 'import shutil; shutil.make_archive("../pkgs/xennet", "zip", ".", "xennet")')

ok "build the Windows image" enlighten wim --wim install.wim --image 1 \
	--driver xen-hvm=pkgs/xenvbd --driver xen-hvm=pkgs/xenbus --driver kvm-guest=pkgs/xenbus \
	--driver xen-hvm=pkgs/xennet.zip \
	--boot-critical 'xenvbd=PCI\VEN_5853&DEV_0001,XENBUS\VEN_XSx&DEV_VBD' \
	-o out.wim --ntfs windows.ntfs --ntfs-size 64M --esp esp
like "says how the hive was edited" "$(last_output)" "through the CriticalDeviceDatabase"
is "no temporary file left" "$(ls -d ./*.tmp-* 2>/dev/null)" ""
is "outputs are readable" "$(stat -c %a out.wim windows.ntfs esp | tr '\n' ' ')" "644 644 755 "

# --- the WIM ---
wimdir out.wim 1 >list
for f in /Drivers/enlighten/xen-hvm/xenvbd/xenvbd.inf /Drivers/enlighten/xen-hvm/xenvbd/xenvbd.cat \
	/Drivers/enlighten/xen-hvm/xenvbd/x64/xenvbd_coinst.dll /Drivers/enlighten/xen-hvm/xenbus/xenbus.sys \
	/Drivers/enlighten/kvm-guest/xenbus/xenbus.inf /Windows/System32/drivers/xenvbd.sys \
	/Windows/Panther/unattend.xml /Windows/Setup/Scripts/SetupComplete.cmd \
	/Drivers/enlighten/xen-hvm/xennet/xennet/xennet.inf \
	/Windows/System32/ntoskrnl.exe /Windows/System32/drivers/disk.sys; do
	ok "WIM has $f" grep -qxF "$f" list
done
is "the WIM has the one image" "$(wiminfo out.wim | sed -n 's/^Image Count: *//p')" 1
is "the image keeps its name" "$(wiminfo out.wim 1 | sed -n 's/^Name: *//p')" \
	"Windows Server 2025 SERVERSTANDARD"
ok "the input WIM is untouched" sh -c '! wimdir install.wim 1 | grep -q Drivers'
ok "boot-critical driver file is the package's" \
	cmp pkgs/xenvbd/xenvbd.sys "$(mkdir -p x && wimextract out.wim 1 /Windows/System32/drivers/xenvbd.sys --dest-dir=x >/dev/null && echo x/xenvbd.sys)"

# --- unattend.xml ---
wimextract out.wim 1 /Windows/Panther/unattend.xml /Windows/System32/config/SYSTEM \
	/Windows/Setup/Scripts/SetupComplete.cmd --dest-dir=w >/dev/null
ok "unattend.xml is well-formed XML" xmllint --noout w/unattend.xml
is "the template's comment holds no driver entry and no placeholder" \
	"$(sed -n '/<!--/,/-->/p' w/unattend.xml | grep -c '<PathAndCredentials\|@DRIVER_PATHS@')" 0
pnp="//*[local-name()='settings'][@pass='%s']/*[local-name()='component'][@name='Microsoft-Windows-PnpCustomizationsNonWinPE']/*[local-name()='DriverPaths']/*[local-name()='PathAndCredentials']"
for pass in specialize offlineServicing; do
	# shellcheck disable=SC2059
	xp=$(printf "$pnp" "$pass")
	is "$pass: one DriverPaths entry per staged package" \
		"$(xmllint --xpath "count($xp)" w/unattend.xml)" 4
	is "$pass: entries are added with keys 1..4" \
		"$(xmllint --xpath "$xp/@*[local-name()='keyValue']" w/unattend.xml | tr -d ' \n')" \
		'wcm:keyValue="1"wcm:keyValue="2"wcm:keyValue="3"wcm:keyValue="4"'
	is "$pass: wcm:action is add" \
		"$(xmllint --xpath "string($xp[2]/@*[namespace-uri()='http://schemas.microsoft.com/WMIConfig/2002/State' and local-name()='action'])" w/unattend.xml)" add
	is "$pass: paths name the staged folders" \
		"$(xmllint --xpath "string($xp[1]/*[local-name()='Path'])" w/unattend.xml)" \
		'C:\Drivers\enlighten\xen-hvm\xenvbd'
done
like "SetupComplete.cmd runs the agent when present" "$(cat w/SetupComplete.cmd)" \
	'^if exist "C:\\Program Files\\enlighten\\enlighten-firstboot.exe"'
like "SetupComplete.cmd has CRLF line ends" "$(od -c w/SetupComplete.cmd | head -2)" '\\r  \\n'

# --- the SYSTEM hive ---
svc='\ControlSet001\Services\xenvbd'
is "service starts at boot" "$(hivexget w/SYSTEM "$svc" Start)" 0
is "service is a kernel driver" "$(hivexget w/SYSTEM "$svc" Type)" 1
is "service error control is normal" "$(hivexget w/SYSTEM "$svc" ErrorControl)" 1
is "service group" "$(hivexget w/SYSTEM "$svc" Group)" "SCSI miniport"
is "service image path" "$(hivexget w/SYSTEM "$svc" ImagePath)" 'system32\drivers\xenvbd.sys'
cdb='\ControlSet001\Control\CriticalDeviceDatabase'
for id in 'PCI#VEN_5853&DEV_0001' 'XENBUS#VEN_XSx&DEV_VBD'; do
	is "critical device $id -> service" "$(hivexget w/SYSTEM "$cdb\\$id" Service)" xenvbd
	is "critical device $id -> SCSI class" "$(hivexget w/SYSTEM "$cdb\\$id" ClassGUID)" \
		'{4D36E97B-E325-11CE-BFC1-08002BE10318}'
done
is "other services are kept" "$(hivexget w/SYSTEM '\ControlSet001\Services\disk' Start)" 0
is "the value types are right" \
	"$(hivexregedit --export --prefix "$HKLM" w/SYSTEM '\ControlSet001\Services\xenvbd' | grep -oE '^"[A-Za-z]+"=(dword|hex\([0-9]\))' | tr '\n' ' ')" \
	'"ErrorControl"=dword "Group"=hex(1) "ImagePath"=hex(2) "Start"=dword "Type"=dword '

# --- the NTFS volume ---
ntfsls -R windows.ntfs >ntfs-list 2>/dev/null
ok "NTFS volume has the staged drivers" grep -qx 'xenvbd.inf' ntfs-list
ok "NTFS volume has the image's own files" grep -qx 'ntoskrnl.exe' ntfs-list
ok "NTFS unattend.xml is the WIM's" sh -c 'ntfscat windows.ntfs /Windows/Panther/unattend.xml | cmp - w/unattend.xml'
ntfscat windows.ntfs /Windows/System32/config/SYSTEM >ntfs-SYSTEM 2>/dev/null
is "NTFS hive has the service" "$(hivexget ntfs-SYSTEM "$svc" Start)" 0
is "NTFS volume size" "$(stat -c %s windows.ntfs)" $((64 * 1024 * 1024))

# --- the ESP files ---
ok "ESP has bootmgfw.efi from the image" \
	sh -c 'printf "bootmgfw dummy\n" | cmp - esp/EFI/Microsoft/Boot/bootmgfw.efi'
ok "ESP has the boot manager's resources" test -f esp/EFI/Microsoft/Boot/en-US/bootmgfw.efi.mui

# --- image selection and reruns ---
ok "image by name" enlighten wim --wim install.wim --image "Windows Server 2025 SERVERSTANDARD" -o byname.wim
fails "unknown image" enlighten wim --wim install.wim --image 7 -o seven.wim
like "unknown image is named" "$(last_output)" "WIM 'install.wim' has no image '7' \(it has 1"
ok "no output for a failed build" test ! -e seven.wim
cp install.wim multi.wim && wimapply install.wim 1 second >/dev/null && wimappend second multi.wim Datacenter >/dev/null
ok "update the second image of two" enlighten wim --wim multi.wim --image Datacenter \
	--driver xen-hvm=pkgs/xenvbd -o multi-out.wim
is "both images are kept" "$(wiminfo multi-out.wim | sed -n 's/^Image Count: *//p')" 2
ok "the selected image has the drivers" sh -c 'wimdir multi-out.wim 2 | grep -q "^/Drivers/enlighten/xen-hvm/xenvbd/xenvbd.inf$"'
ok "the other image is as it was" sh -c '! wimdir multi-out.wim 1 | grep -q Drivers'
ok "the updated WIM verifies" wimverify multi-out.wim
# reproducible: every added file and the image's modification time are
# SOURCE_DATE_EPOCH, the GUID is the source's
for i in 1 2; do
	SOURCE_DATE_EPOCH=1700000000 enlighten wim --wim install.wim --driver xen-hvm=pkgs/xenvbd \
		--driver xen-hvm=pkgs/xennet.zip --boot-critical xenvbd -o repro$i.wim 2>/dev/null
	sleep 1
done
ok "the same inputs give the same WIM" cmp repro1.wim repro2.wim
is "the image time is SOURCE_DATE_EPOCH" "$(wiminfo repro1.wim 1 | sed -n 's/^Last Modification Time: *//p')" \
	"Tue Nov 14 22:13:20 2023 UTC"
ok "the pinned WIM verifies" wimverify repro1.wim
ok "rebuild replaces the output" enlighten wim --wim install.wim -o out.wim
ok "rebuilt WIM has no drivers" sh -c '! wimdir out.wim 1 | grep -q Drivers/enlighten'
fails "not a WIM" enlighten wim --wim list -o x.wim
like "not a WIM is said" "$(last_output)" "cannot open WIM 'list'"
exits 2 "nothing to write" enlighten wim --wim install.wim
exits 2 "--ntfs needs --ntfs-size" enlighten wim --wim install.wim --ntfs a.ntfs

done_testing
