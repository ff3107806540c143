#!/bin/sh
# t8006-windows-agent-detect.sh - enlighten-firstboot.exe judges with the
# detector's own probes and rules: for every x86 fixture of the detector
# corpus (one with a CPUID table: Windows runs on nothing else), the signals
# Windows would show (an SMBIOS table, SetupAPI hardware ids, CPUID) give
# the .exe under Wine the same verdict that enlighten-detect gives on the
# same signals as a Linux root; and the identities the Windows half meets
# give their profiles. The .exe runs once per fixture inside one cmd.exe,
# so Wine starts once.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/wine-lib.sh"
wine_setup

names=
pairs=
for dir in "$FIXTURES"/detect/*/; do
	name=$(basename "$dir")
	[ -d "$dir/root" ] && [ -f "$dir/cpuid" ] || continue
	names="$names $name"
	pairs="$pairs $dir/root sig-$name"
done
# shellcheck disable=SC2086
python3 "$SRC/tests/windows/windows-signals.py" $pairs
{
	for name in $names; do
		printf '"%s" --detect --cpuid-file "%s" --smbios-file sig-%s\\smbios.bin --devices-file sig-%s\\devices.txt >sig-%s\\win.json\r\n' \
			"$(wpath "$AGENT_EXE")" "$(wpath "$FIXTURES/detect/$name/cpuid")" "$name" "$name" "$name"
	done
} >detect.cmd
ok "the .exe runs on every fixture" "$WINE" cmd /c detect.cmd

keys='[.hypervisor, .role, (.xen_mode // "null"), (.cloud // "null"), .profile] | join(" ")'
for name in $names; do
	want=$(enlighten-detect --json --root "sig-$name/root" \
		--cpuid-file "$FIXTURES/detect/$name/cpuid" | jq -r "$keys")
	got=$(jq -r "$keys" "sig-$name/win.json")
	is "$name: the .exe's verdict is enlighten-detect's on the same signals" "$got" "$want"
done

for case in hyperv-gen2:hyperv-guest kvm:kvm-guest xen-hvm:xen-hvm hyperv-root:hyperv-root \
	nested-kvm-in-hyperv:kvm-guest; do
	is "${case%%:*} is profile ${case#*:} on Windows" \
		"$(jq -r .profile "sig-${case%%:*}/win.json")" "${case#*:}"
done
like "the Hyper-V root is told by the CPUID partition privileges" \
	"$(jq -r '.evidence[].detail' sig-hyperv-root/win.json)" "CreatePartitions yes"

# the firmware's table, where it does not parse, is evidence, not a failure
printf 'junk' >bad.bin
ok "a bad SMBIOS table still gives a verdict" agent --detect --smbios-file bad.bin \
	--devices-file 'sig-kvm\devices.txt' --cpuid-file "$(wpath "$FIXTURES/detect/kvm/cpuid")"
like "the evidence says why it was ignored" "$(last_output)" \
	"SMBIOS table 'bad.bin': shorter than the 8-byte header, ignored"
exits 2 "a missing CPUID file is an error" agent --detect --cpuid-file nothere
like "it names the file" "$(last_output)" "cannot read cpuid file 'nothere'"

# the man page lists exactly the options --help lists
ok "the .exe has --help" agent --help
is "--help and the man page agree" \
	"$(last_output | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u | tr '\n' ' ')" \
	"$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$SRC/docs/man/enlighten-firstboot.exe.8" |
		grep -oE -- '--[a-z][a-z0-9-]*' | sort -u | tr '\n' ' ')"
done_testing
