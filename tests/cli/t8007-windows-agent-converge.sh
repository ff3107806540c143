#!/bin/sh
# t8007-windows-agent-converge.sh - enlighten-firstboot.exe under Wine acts
# on the matrix's [Windows] section: a kvm-guest first boot (drivers through
# pnputil, installers through msiexec and their own EXE, boot-critical and
# service start types, the other hypervisors' tools removed through the
# Uninstall registry), the fast path of an unchanged boot, a move to
# hyperv-guest (the old services disabled, KVP records written), a
# xen-hvm boot whose driver asks for a restart (shutdown run once, last).
# pnputil, msiexec, dism and shutdown are stand-ins that record their
# arguments (tests/windows/standin-tool.c); the registry is Wine's own.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/wine-lib.sh"
wine_setup

make_tools tools
mkdir -p installers state
cp "$STANDIN" installers/virtio-win-guest-tools.exe
echo msi >installers/qemu-ga-x86_64.msi
echo msi >installers/managementagent-x64.msi
for inf in viostor vioscsi netkvm balloon vioser viorng; do
	mkdir -p "drivers/kvm-guest/$inf" && echo "; $inf" >"drivers/kvm-guest/$inf/$inf.inf"
done
for inf in xenbus xenvbd xenvif xennet xeniface; do
	mkdir -p "drivers/xen-hvm/$inf" && echo "; $inf" >"drivers/xen-hvm/$inf/$inf.inf"
done
cp "$STANDIN" tools/uninstall-qga.exe
python3 "$SRC/tests/windows/windows-signals.py" "$FIXTURES/detect/kvm/root" sig-kvm \
	"$FIXTURES/detect/hyperv-gen2/root" sig-hyperv "$FIXTURES/detect/xen-hvm/root" sig-xen

# The machine: services as Plug and Play leaves them (demand start), the
# tools of other hypervisors in the Uninstall registry.
svc='HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services'
un='HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall'
{
	printf 'REGEDIT4\r\n\r\n'
	for s in $WINE_TEST_SERVICES; do
		printf '[%s\\%s]\r\n"Start"=dword:00000003\r\n\r\n' "$svc" "$s"
	done
	printf '[%s\\{ENLIGHTEN-TEST-VMWARE}]\r\n"DisplayName"="VMware Tools"\r\n"WindowsInstaller"=dword:00000001\r\n"UninstallString"="MsiExec.exe /X{ENLIGHTEN-TEST-VMWARE}"\r\n\r\n' "$un"
	printf '[%s\\enlighten-test-qga]\r\n"DisplayName"="QEMU guest agent 108.0"\r\n"UninstallString"="\\"%s\\" /S"\r\n\r\n' \
		"$un" "$(wpath "$TEST_DIR/tools/uninstall-qga.exe" | sed 's/\\/\\\\/g')"
} >machine.reg
ok "the test machine's registry" "$WINE" reg import machine.reg

common="--no-reboot --profiles $(wpath "$ENLIGHTEN_DATADIR/payloads/profiles") --drivers $(wpath "$TEST_DIR/drivers")
	--installers $(wpath "$TEST_DIR/installers") --state-dir state --tools-dir $(wpath "$TEST_DIR/tools")"
as() { # SIGNALS FIXTURE ARGS...: the agent on that machine
	sig=$1 fx=$2
	shift 2
	# shellcheck disable=SC2086
	agent $common --cpuid-file "$(wpath "$FIXTURES/detect/$fx/cpuid")" \
		--smbios-file "$sig\\smbios.bin" --devices-file "$sig\\devices.txt" "$@"
}
query() { # the Start values and KVP records, in one Wine start
	{
		printf '@echo off\r\n'
		for s in "$@"; do printf 'reg query "%s\\%s" /v Start\r\n' "$svc" "$s"; done
		printf 'reg query "HKLM\\SOFTWARE\\Microsoft\\Virtual Machine\\Guest"\r\n'
	} >q.cmd
	"$WINE" cmd /c q.cmd 2>/dev/null | tr -d '\r'
}

# ---- first boot on KVM --------------------------------------------------------
ok "first boot on kvm" as sig-kvm kvm --first-boot
is "the report says kvm-guest, complete" "$(jq -r '[.profile, .result, .changed, .trigger] | join(" ")' state/report.json)" \
	"kvm-guest complete true first-boot"
is "the plan: 6 drivers, 2 boot-critical, 2 installers, 2 services, 3 removals" \
	"$(jq -r '[.plan.steps[].kind] | group_by(.) | map("\(.[0])=\(length)") | join(" ")' state/report.json)" \
	"boot-critical=2 driver=6 installer=2 remove=3 service=2"
d=$(wpath "$TEST_DIR/drivers/kvm-guest")
i=$(wpath "$TEST_DIR/installers")
is "pnputil, msiexec, the EXE installer and the uninstallers ran, in plan order" "$(tr -d '\r' <tools/calls.log)" \
"pnputil /add-driver $d\\viostor\\viostor.inf /install
pnputil /add-driver $d\\vioscsi\\vioscsi.inf /install
pnputil /add-driver $d\\netkvm\\netkvm.inf /install
pnputil /add-driver $d\\balloon\\balloon.inf /install
pnputil /add-driver $d\\vioser\\vioser.inf /install
pnputil /add-driver $d\\viorng\\viorng.inf /install
msiexec /i $i\\qemu-ga-x86_64.msi /qn /norestart
msiexec /x {ENLIGHTEN-TEST-VMWARE} /qn /norestart"
like "the EXE installer got its arguments" "$(tr -d '\r' <installers/calls.log)" \
	"^virtio-win-guest-tools /install /quiet /norestart$"
q=$(query viostor vioscsi QEMU-GA BalloonService)
like "boot-critical viostor is boot start" "$q" "viostor.*
 *Start *REG_DWORD *0x0"
like "QEMU-GA is automatic" "$q" "QEMU-GA.*
 *Start *REG_DWORD *0x2"
is "the state records kvm-guest" "$(jq -r '[.profile, .last_run.result, .journal] | join(" ")' state/state.json)" \
	"kvm-guest complete "
is "no KVP records off Hyper-V" "$(printf '%s\n' "$q" | grep -c enlighten)" 0
like "VMware Tools removal is in the report with its exit code" \
	"$(jq -c '.steps[] | select(.kind == "remove")' state/report.json)" \
	'"arg":"VMware Tools","ran":"msiexec /x \{ENLIGHTEN-TEST-VMWARE\} /qn /norestart","exit":0,"outcome":"done"'

# ---- the next boot: nothing changed --------------------------------------------
: >tools/calls.log
ok "an unchanged boot" as sig-kvm kvm --boot
is "takes the fast path" "$(jq -r '[.result, .changed, .plan] | join(" ")' state/report.json)" "unchanged false "
is "and runs nothing" "$(cat tools/calls.log)" ""

# ---- the machine moves to Hyper-V ----------------------------------------------
ok "a boot on Hyper-V" as sig-hyperv hyperv-gen2 --boot
is "the report says the move" "$(jq -r '[.previous, .profile, .result] | join(" ")' state/report.json)" \
	"kvm-guest hyperv-guest complete"
like "the QEMU guest agent is removed by its UninstallString" "$(tr -d '\r' <tools/calls.log)" \
	"^uninstall-qga /S$"
q=$(query QEMU-GA BalloonService vmicheartbeat)
like "the old profile's QEMU-GA is disabled" "$q" "QEMU-GA.*
 *Start *REG_DWORD *0x4"
like "vmicheartbeat is automatic" "$q" "vmicheartbeat.*
 *Start *REG_DWORD *0x2"
like "the KVP records are in the guest pool" "$q" "enlighten.profile *REG_SZ *hyperv-guest"
like "with the hypervisor" "$q" "enlighten.hypervisor *REG_SZ *microsoft"
like "services with no key are noted, not failed" \
	"$(jq -r '.steps[] | select(.arg == "vmicshutdown") | .outcome' state/report.json)" \
	"skipped: no such service"

# ---- on Xen, a driver asks for a restart --------------------------------------
: >tools/calls.log
echo 3010 >tools/pnputil.exit
common=$(printf '%s' "$common" | sed 's/--no-reboot//')
ok "a boot on Xen HVM" as sig-xen xen-hvm --boot
is "the report says a restart is due" "$(jq -r '[.profile, .result, .reboot] | join(" ")' state/report.json)" \
	"xen-hvm complete true"
is "shutdown is asked once" "$(grep -c '^shutdown' tools/calls.log)" 1
like "at the very end" "$(tail -n 1 tools/calls.log | tr -d '\r')" "^shutdown /r /t 30 "
is "five drivers, each saying 3010" "$(jq '[.steps[] | select(.kind == "driver" and .exit == 3010)] | length' state/report.json)" 5
rm tools/pnputil.exit
done_testing
