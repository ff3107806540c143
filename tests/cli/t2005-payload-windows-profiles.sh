#!/bin/sh
# t2005-payload-windows-profiles.sh - a Windows driver package or installer
# the installed profile matrix does not name serves the profiles its
# PATH.profiles file beside it declares: `payload index` reads the file
# (bounded, every name checked against the matrix), the package's files and
# the installer take those profiles, and the file itself is no payload; a
# typo, a file that belongs to no payload and a hostile file are refused
# with the file named.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

mkdir -p repo/windows/oemstor
# the OEM's own driver: an INF no profile of the matrix names
sed 's/viostor/oemstor/g' "$FIXTURES/inf/viostor.inf" >repo/windows/oemstor/oemstor.inf
printf 'driver\n' >repo/windows/oemstor/oemstor.sys
"$FIXTURES/make-driver-cat" repo/windows/oemstor/oemstor.cat repo/windows/oemstor/oemstor.inf \
	repo/windows/oemstor/oemstor.sys
printf 'msi\n' >repo/windows/oem-tools.msi

ok "index without a profiles file" enlighten payload index repo
ok "list" enlighten payload list --os windows --json repo
like "the package serves no profile" "$(last_output | tr -d ' \n')" \
	'"name":"oemstor","version":"[0-9.]+","os":"windows","profiles":\[\],'

printf '# the OEM'"'"'s storage driver\nkvm-guest\n\nxen-hvm  # also under Xen\n' >repo/windows/oemstor.profiles
printf 'hyperv-guest kvm-guest\n' >repo/windows/oem-tools.msi.profiles
ok "index with profiles files" enlighten payload index repo
ok "list" enlighten payload list --os windows --json repo
J=$(last_output | tr -d ' \n')
like "the INF serves the declared profiles" "$J" \
	'"name":"oemstor","version":"[0-9.]+","os":"windows","profiles":\["kvm-guest","xen-hvm"\],"arch":"amd64","path":"windows/oemstor/oemstor.inf"'
like "so does the driver file beside it" "$J" \
	'"profiles":\["kvm-guest","xen-hvm"\],"arch":"amd64","path":"windows/oemstor/oemstor.sys"'
like "and the installer its own" "$J" \
	'"name":"oem-tools","version":"0","os":"windows","profiles":\["hyperv-guest","kvm-guest"\],"arch":"noarch","path":"windows/oem-tools.msi"'
is "the profiles files are no payloads" "$(printf '%s' "$J" | grep -c '\.profiles')" 0
ok "list --profile xen-hvm" enlighten payload list --profile xen-hvm repo
is "has the OEM's package" "$(last_output | sed 1d | awk '{print $NF}' | tr '\n' ' ')" \
	"windows/oemstor/oemstor.cat windows/oemstor/oemstor.inf windows/oemstor/oemstor.sys "

refused() { # NAME REGEX: index fails, names the file, writes nothing
	rm -f repo/catalog.json
	exits 1 "$1" enlighten payload index repo
	like "... named" "$(last_output)" "$2"
	ok "... nothing written" test ! -e repo/catalog.json
}
printf 'kvm-guest\nxen-hvn\n' >repo/windows/oemstor.profiles
refused "a profile name with a typo" "'windows/oemstor.profiles' line 2: unknown profile 'xen-hvn' \(did you mean 'xen-hvm'\?\)"
printf 'kvm-guest\nKVM_guest\n' >repo/windows/oemstor.profiles
refused "a word that is not a profile name" "'windows/oemstor.profiles' line 2: 'KVM_guest' is not a profile name"
printf 'kvm-guest\001\n' >repo/windows/oemstor.profiles
refused "control characters" "'windows/oemstor.profiles' has control characters"
head -c 5000 /dev/zero | tr '\0' 'a' >repo/windows/oemstor.profiles
refused "a file over 4 KiB" "'windows/oemstor.profiles' is larger than 4096 bytes"
printf 'kvm-guest\n' >repo/windows/oemstor.profiles
printf 'kvm-guest\n' >repo/windows/oemstorr.profiles
refused "a profiles file that belongs to no payload" \
	"'windows/oemstorr.profiles' belongs to no Windows payload: name it after a driver package folder or an installer file, with '.profiles' added"

done_testing
