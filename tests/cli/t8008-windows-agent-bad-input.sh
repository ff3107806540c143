#!/bin/sh
# t8008-windows-agent-bad-input.sh - enlighten-firstboot.exe under Wine on
# bad input: a matrix or a state that does not parse, a driver folder that
# is missing, an installer that fails, a journal a crash left. Each ends
# with a non-zero exit, a report that says what and where, and no profile
# half applied: nothing ran, or what ran was undone.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/wine-lib.sh"
wine_setup

make_tools tools
mkdir -p installers state profiles
cp "$ENLIGHTEN_DATADIR"/payloads/profiles/*.conf profiles/
echo msi >installers/managementagent-x64.msi
for inf in xenbus xenvbd xenvif xennet xeniface; do
	mkdir -p "drivers/xen-hvm/$inf" && echo "; $inf" >"drivers/xen-hvm/$inf/$inf.inf"
done
python3 "$SRC/tests/windows/windows-signals.py" "$FIXTURES/detect/kvm/root" sig-kvm \
	"$FIXTURES/detect/xen-hvm/root" sig-xen "$FIXTURES/detect/hyperv-gen2/root" sig-hyperv

svc='HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services'
{
	printf 'REGEDIT4\r\n\r\n'
	for s in xenbus xenvbd; do
		printf '[%s\\%s]\r\n"Start"=dword:00000003\r\n\r\n' "$svc" "$s"
	done
} >machine.reg
ok "the test machine's registry" "$WINE" reg import machine.reg

as() { # SIGNALS FIXTURE ARGS...
	sig=$1 fx=$2
	shift 2
	agent --no-reboot --profiles "$(wpath "$TEST_DIR/profiles")" \
		--drivers "$(wpath "$TEST_DIR/drivers")" --installers "$(wpath "$TEST_DIR/installers")" \
		--state-dir state --tools-dir "$(wpath "$TEST_DIR/tools")" \
		--cpuid-file "$(wpath "$FIXTURES/detect/$fx/cpuid")" \
		--smbios-file "$sig\\smbios.bin" --devices-file "$sig\\devices.txt" "$@"
}
start_type() {
	"$WINE" reg query "$svc\\$1" /v Start </dev/null 2>/dev/null | tr -d '\r' |
		sed -n 's/.*REG_DWORD *//p'
}
calls() { cat tools/calls.log 2>/dev/null | tr -d '\r'; }

# ---- a matrix that does not parse ----------------------------------------------
cp profiles/xen-hvm.conf xen-hvm.conf.good
printf '[Windows]\nDrivrs=xenbus.inf\n' >>profiles/xen-hvm.conf
exits 1 "a bad matrix fails the run" as sig-xen xen-hvm --first-boot
like "the message names the file, the line and the key" "$(last_output)" \
	"xen-hvm.conf' line [0-9]+: unknown key 'Drivrs'"
like "the report says it too" "$(jq -r '[.result, .error] | join(" ")' state/report.json)" \
	"^failed cannot load the profile matrix .*unknown key 'Drivrs'"
is "nothing ran" "$(calls)" ""
cp xen-hvm.conf.good profiles/xen-hvm.conf

# ---- a state that does not parse -----------------------------------------------
printf '{"schema":1,"profile":' >state/state.json
exits 1 "a bad state fails the run" as sig-xen xen-hvm --boot
like "the message says which file and where" "$(last_output)" \
	"state '.*state.json' does not parse: unexpected end at byte 22; move it away"
is "the state is left as it was, for a person to look at" "$(cat state/state.json)" '{"schema":1,"profile":'
is "nothing ran" "$(calls)" ""
rm state/state.json

# ---- a driver folder that is missing -------------------------------------------
exits 1 "kvm-guest with no driver packages staged fails" as sig-kvm kvm --first-boot
like "the message names the driver and the folder" "$(jq -r .error state/report.json)" \
	"driver 'viostor.inf' of profile 'kvm-guest' is not in '.*drivers.kvm-guest.<package>'"
is "nothing ran" "$(calls)" ""
is "the state records the failure, no profile" "$(jq -r '[.profile, .last_run.result] | join(" ")' state/state.json)" \
	" failed"

# ---- an installer that fails -----------------------------------------------------
echo 1603 >tools/msiexec.exit
exits 1 "a failing MSI fails the run" as sig-xen xen-hvm --first-boot
like "the report names the installer and its exit code" "$(jq -r .error state/report.json)" \
	"installer '.*managementagent-x64.msi': 'msiexec /i .*managementagent-x64.msi /qn /norestart' exited with code 1603"
is "the drivers went to the store before it" "$(calls | grep -c '^pnputil /add-driver')" 5
is "no removal ran: they come last" "$(calls | grep -c '^msiexec /x')" 0
is "xenbus's start type is undone" "$(start_type xenbus)" 0x3
is "xenvbd's too" "$(start_type xenvbd)" 0x3
like "the undo is in the report" "$(jq -c '.steps[] | select(.kind == "undo start type")' state/report.json)" \
	'"arg":"xenbus","ran":"Start -> 3","outcome":"done"'
is "the state keeps no profile and no journal" \
	"$(jq -r '[.profile, .last_run.result, .journal] | join(" ")' state/state.json)" " failed "
rm tools/msiexec.exit

# ---- a journal a power cut left --------------------------------------------------
wreg add "$svc\\xenbus" /v Start /t REG_DWORD /d 0 /f
cat >state/state.json <<'JSON'
{"schema":1,"profile":null,"last_run":{"result":"running","finished":"2026-01-01T00:00:00Z","error":null},
 "journal":{"plan":{"from":null,"to":"xen-hvm","steps":[{"kind":"boot-critical","arg":"xenbus","args":null}]},
            "next":1,"undo":[{"kind":"boot-critical","arg":"xenbus","start":3}]}}
JSON
: >tools/calls.log
ok "the next boot on Hyper-V" as sig-hyperv hyperv-gen2 --boot
is "undoes the interrupted run first" "$(start_type xenbus)" 0x3
is "then converges" "$(jq -r '[.profile, .result] | join(" ")' state/report.json)" "hyperv-guest complete"
done_testing
