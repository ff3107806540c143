#!/bin/sh
# t8001-windows-hive.sh - boot-critical storage in the SYSTEM hive the way
# each Windows generation reads it: a hive with a DriverDatabase (Windows 8 /
# Server 2012 and later) gets DriverDatabase entries, the current control
# set is the one \Select\Current names, and bad names are refused.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/windows-lib.sh"

make_wim new.wim ddb 2
# the virtio-win shaped INF of the INF parser's tests: two hardware ids
mkdir -p pkgs/viostor
cp "$FIXTURES/inf/viostor.inf" pkgs/viostor/
echo driver >pkgs/viostor/viostor.sys
make_cat pkgs/viostor viostor
ids='PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00,PCI\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01'

ok "build with a DriverDatabase hive, ids from the INF" enlighten wim --wim new.wim \
	--driver kvm-guest=pkgs/viostor --boot-critical viostor -o out.wim
like "says DriverDatabase" "$(last_output)" "through the DriverDatabase"
wimextract out.wim 1 /Windows/System32/config/SYSTEM --dest-dir=w >/dev/null

svc='\ControlSet002\Services\viostor'
is "service in the current control set (002)" "$(hivexget w/SYSTEM "$svc" Start)" 0
is "service image path" "$(hivexget w/SYSTEM "$svc" ImagePath)" 'system32\drivers\viostor.sys'
ddb='\DriverDatabase'
is "INF file points at its package" \
	"$(hivexget w/SYSTEM "$ddb\\DriverInfFiles\\enlighten_viostor.inf" Active)" enlighten_viostor.inf_boot
is "package configuration names the service" \
	"$(hivexget w/SYSTEM "$ddb\\DriverPackages\\enlighten_viostor.inf_boot\\Configurations\\viostor_boot" Service)" viostor
for id in 'VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00' 'VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01'; do
	is "device id $id ranks the package" \
		"$(hivexregedit --export --prefix "$HKLM" w/SYSTEM "$ddb\\DeviceIds\\PCI\\$id" | grep enlighten_viostor)" \
		'"enlighten_viostor.inf"=hex(3):01,ff,00,00'
	is "descriptor $id -> configuration" \
		"$(hivexget w/SYSTEM "$ddb\\DriverPackages\\enlighten_viostor.inf_boot\\Descriptors\\PCI\\$id" Configuration)" viostor_boot
done
like "package version carries the SCSI class GUID" \
	"$(hivexregedit --export --prefix "$HKLM" w/SYSTEM "$ddb\\DriverPackages\\enlighten_viostor.inf_boot" | tr -d '\\\n ')" \
	'"Version"=hex\(3\):00,ff,09,00,00,00,00,00,7b,e9,36,4d,25,e3,ce,11,bf,c1,08,00,2b,e1,03,18,00'
ok "no CriticalDeviceDatabase entry on a DriverDatabase hive" \
	sh -c "! hivexregedit --export --prefix 'x' w/SYSTEM '\\ControlSet002\\Control\\CriticalDeviceDatabase' | grep -qi ven_1af4"

# refusals
fails "service name with a path" enlighten wim --wim new.wim --driver kvm-guest=pkgs/viostor \
	--boot-critical '..\viostor=PCI\VEN_1' -o bad.wim
like "names the service" "$(last_output)" "boot-critical service name '..\\\\viostor' is not a plain driver name"
fails "hardware id without a bus" enlighten wim --wim new.wim --driver kvm-guest=pkgs/viostor \
	--boot-critical 'viostor=VEN_1AF4' -o bad.wim
like "names the id" "$(last_output)" "hardware id 'VEN_1AF4' is not BUS.ID"
fails "boot-critical driver that is not staged" enlighten wim --wim new.wim \
	--boot-critical 'xenvbd=PCI\VEN_5853&DEV_0001' -o bad.wim
like "says which file is missing" "$(last_output)" "service 'xenvbd': no staged driver package carries 'xenvbd.sys'"
ok "nothing written by refused builds" test ! -e bad.wim

# a hive without the control set it names
mkdir -p t/Windows/System32/config t/Windows/Boot/EFI
make_hive t/Windows/System32/config/SYSTEM
hivexregedit --merge --prefix "$HKLM" t/Windows/System32/config/SYSTEM /dev/stdin <<'REG'
Windows Registry Editor Version 5.00

[\Select]
"Current"=dword:00000005
REG
wimcapture t broken.wim broken >/dev/null
fails "hive whose current control set is missing" enlighten wim --wim broken.wim \
	--driver kvm-guest=pkgs/viostor --boot-critical "viostor=$ids" -o bad.wim
like "names the control set" "$(last_output)" "the hive has no 'ControlSet005' key"

# an install.wim without a SYSTEM hive: the message names the user's WIM,
# not the temporary copy the output starts as
rm t/Windows/System32/config/SYSTEM
wimcapture t nohive.wim nohive >/dev/null
mkdir win
fails "a WIM without a SYSTEM hive" enlighten wim --wim nohive.wim -o win/out.wim
like "names the user's WIM" "$(last_output)" \
	"'.Windows.System32.config.SYSTEM' (in|from) WIM 'nohive.wim'"
is "and no temporary file" "$(last_output | grep -c 'tmp-')" 0
is "nothing is left in the output folder" "$(ls win)" ""

done_testing
