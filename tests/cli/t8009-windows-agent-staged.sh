#!/bin/sh
# t8009-windows-agent-staged.sh - `enlighten wim` (and so the dual disk's
# build) puts enlighten-firstboot.exe into the image with the profile matrix
# beside it, and SetupComplete.cmd registers it to run at every start before
# its first run; the copy taken back out of the WIM plans a kvm-guest first
# boot under Wine with nothing but what the image carries.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/windows-lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/wine-lib.sh"
wine_setup

make_wim install.wim
# kvm-guest's Installers= (stand-ins: the test plans, it does not run them)
mkdir -p inst && cp "$STANDIN" inst/virtio-win-guest-tools.exe && echo msi >inst/qemu-ga-x86_64.msi
ok "build the Windows image" enlighten wim --wim install.wim -o out.wim \
	--installer inst/virtio-win-guest-tools.exe --installer inst/qemu-ga-x86_64.msi
wimdir out.wim 1 >list
p='/Program Files/enlighten'
ok "the agent is in the image" grep -qxF "$p/enlighten-firstboot.exe" list
ok "the installers beside it" grep -qxF "$p/installers/qemu-ga-x86_64.msi" list
is "every profile of the matrix beside it" \
	"$(grep -c "^$p/profiles/.*\.conf\$" list)" "$(ls "$ENLIGHTEN_DATADIR"/payloads/profiles/*.conf | wc -l)"
mkdir -p img
wimextract out.wim 1 "$p" /Windows/Setup/Scripts/SetupComplete.cmd --dest-dir=img >/dev/null
ok "the staged agent is the built one" cmp "$AGENT_EXE" img/enlighten/enlighten-firstboot.exe
ok "the staged matrix is the installed one" cmp "$ENLIGHTEN_DATADIR/payloads/profiles/xen-hvm.conf" \
	img/enlighten/profiles/xen-hvm.conf

cmd=$(tr -d '\r' <img/SetupComplete.cmd)
like "SetupComplete.cmd registers the every-boot task" "$cmd" \
	'^  schtasks.exe /Create /F /TN "enlighten\\firstboot" /SC ONSTART /RU SYSTEM /RL HIGHEST /TR "\\"C:\\Program Files\\enlighten\\enlighten-firstboot.exe\\" --boot"$'
is "then runs the first boot" "$(printf '%s\n' "$cmd" | grep -A1 '^  schtasks' | sed -n 2p)" \
	'  "C:\Program Files\enlighten\enlighten-firstboot.exe" --first-boot'

# What the image carries is enough: the matrix is found beside the program
# (the driver folders are the build's, made here as t8007 makes them).
for inf in viostor vioscsi netkvm balloon vioser viorng; do
	mkdir -p "drivers/kvm-guest/$inf" && echo "; $inf" >"drivers/kvm-guest/$inf/$inf.inf"
done
python3 "$SRC/tests/windows/windows-signals.py" "$FIXTURES/detect/kvm/root" sig-kvm
mkdir -p state
ok "the staged agent plans a kvm-guest first boot" "$WINE" img/enlighten/enlighten-firstboot.exe \
	--dry-run --first-boot --state-dir state --drivers "$(wpath "$TEST_DIR/drivers")" \
	--cpuid-file "$(wpath "$FIXTURES/detect/kvm/cpuid")" \
	--smbios-file 'sig-kvm\smbios.bin' --devices-file 'sig-kvm\devices.txt'
plan=$(last_output)
like "the plan is kvm-guest's" "$plan" '"to": *"kvm-guest"'
like "it runs the staged msi from the image's own folder" "$plan" 'img.*enlighten.*installers.*qemu-ga-x86_64\.msi'

exits 1 "two installers of one name are refused" enlighten wim --wim install.wim -o two.wim \
	--installer inst/qemu-ga-x86_64.msi --installer inst/../inst/qemu-ga-x86_64.msi
like "says which" "$(last_output)" "cannot stage installer 'qemu-ga-x86_64.msi': two installers of that name"

exits 1 "a missing --agent is an error" enlighten wim --wim install.wim -o bad.wim --agent nowhere.exe
like "it names the file" "$(last_output)" "cannot read the Windows agent 'nowhere.exe'"
ok "and writes nothing" test ! -e bad.wim

done_testing
