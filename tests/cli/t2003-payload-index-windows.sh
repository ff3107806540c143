#!/bin/sh
# t2003-payload-index-windows.sh - `enlighten payload index` indexes Windows
# driver packages by their INF (class, provider, version, catalog file,
# architectures, hardware ids; profiles from the matrix's Drivers=), the
# files beside an INF as part of its package, installers under windows/
# (profiles from Installers=); it refuses a broken INF, naming it, and a
# driver package whose catalog is not a signed Windows catalog or does not
# match its files, and skips files it cannot place. The result signs and
# verifies.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

INF=$FIXTURES/inf
mkdir -p repo/windows/viostor repo/windows/xenvbd repo/other
cp "$INF/viostor.inf" repo/windows/viostor/
printf 'driver\n' >repo/windows/viostor/viostor.sys
cp "$INF/xenvbd.inf" repo/windows/xenvbd/
printf 'driver\n' >repo/windows/xenvbd/xenvbd.sys
# each package signed, as its vendor ships it (a test catalog)
"$FIXTURES/make-driver-cat" repo/windows/viostor/viostor.cat repo/windows/viostor/viostor.inf \
	repo/windows/viostor/viostor.sys
"$FIXTURES/make-driver-cat" repo/windows/xenvbd/xenvbd.cat repo/windows/xenvbd/xenvbd.inf \
	repo/windows/xenvbd/xenvbd.sys
printf 'msi\n' >repo/windows/qemu-ga-x86_64.msi
printf 'notes\n' >repo/other/notes.txt

ok "index" enlighten payload index repo
like "skips a file it cannot place" "$(last_output)" \
	"skipping 'other/notes.txt': not an RPM, an INF or a file under windows/"
ok "list --os windows --json" enlighten payload list --os windows --json repo
J=$(last_output | tr -d ' \n')
like "INF payload with its facts" "$J" \
	'\{"name":"viostor","version":"100.85.104.20800","os":"windows","profiles":\["kvm-guest"\],"arch":"amd64","path":"windows/viostor/viostor.inf",'
like "inf object" "$J" \
	'"inf":\{"class":"SCSIAdapter","provider":"RedHat,Inc.","driver_version":"100.85.104.20800","driver_date":"06/08/2020","catalog_file":"viostor.cat","architectures":\["amd64"\],"hardware_ids":\["PCI\\\\VEN_1AF4&DEV_1001'
like "two architectures" "$J" '"name":"xenvbd","version":"[0-9.]+","os":"windows","profiles":\["xen-hvm"\],"arch":"x86\+amd64"'
like "the .sys joins its package" "$J" \
	'\{"name":"viostor","version":"100.85.104.20800","os":"windows","profiles":\["kvm-guest"\],"arch":"amd64","path":"windows/viostor/viostor.sys"'
like "an installer serves the profiles whose Installers= name it" "$J" \
	'\{"name":"qemu-ga-x86_64","version":"0","os":"windows","profiles":\["kvm-guest"\],"arch":"noarch","path":"windows/qemu-ga-x86_64.msi"'
ok "list --profile kvm-guest" enlighten payload list --profile kvm-guest repo
is "the kvm-guest payloads" "$(last_output | sed 1d | awk '{print $NF}' | tr '\n' ' ')" \
	"windows/qemu-ga-x86_64.msi windows/viostor/viostor.cat windows/viostor/viostor.inf windows/viostor/viostor.sys "
ok "keygen" enlighten payload keygen --out k
ok "sign" enlighten payload sign --key k.key repo/catalog.json
ok "verify" enlighten payload verify --pubkey k.pub repo
printf 'tampered\n' >repo/windows/viostor/viostor.sys
exits 1 "verify notices a changed driver file" enlighten payload verify --pubkey k.pub repo

# the catalog of a driver package is checked as the image builder checks it
cp -r repo cats && rm -f cats/catalog.json*
cp cats/windows/viostor/viostor.cat good.cat
printf 'catalog\n' >cats/windows/viostor/viostor.cat
exits 1 "a text file named viostor.cat is refused" enlighten payload index cats
like "with the file named" "$(last_output)" \
	"'windows/viostor/viostor.cat' is not a signed Windows catalog: .*; sign the package with its vendor's tools"
cp good.cat cats/windows/viostor/viostor.cat
printf 'patched\n' >cats/windows/viostor/viostor.sys
exits 1 "a driver changed after signing is refused" enlighten payload index cats
like "naming the file the catalog does not match" "$(last_output)" \
	"catalog 'windows/viostor/viostor.cat': .*viostor.sys"
printf 'driver\n' >cats/windows/viostor/viostor.sys
printf 'extra\n' >cats/windows/viostor/extra.dll
exits 1 "a file the catalog does not list is refused" enlighten payload index cats
like "naming it" "$(last_output)" "extra.dll"
rm cats/windows/viostor/extra.dll cats/windows/viostor/viostor.cat
exits 1 "a package without the catalog its INF names is refused" enlighten payload index cats
like "naming the INF and the catalog" "$(last_output)" \
	"INF 'windows/viostor/viostor.inf' names the catalog 'viostor.cat', which its folder lacks"
ok "nothing written" test ! -e cats/catalog.json

# a broken INF stops the index, names the file, writes nothing
mkdir -p bad/windows/x
printf '[Version]\nClass=SCSIAdapter\n[Manufacturer\n' >bad/windows/x/x.inf
exits 1 "broken INF refused" enlighten payload index bad
like "names the INF and the line" "$(last_output)" "^enlighten: INF 'windows/x/x.inf': line 3: section header without '\]'$"
printf '[Version]\nClass=SCSIAdapter\n' >bad/windows/x/x.inf
exits 1 "INF without driver facts refused" enlighten payload index bad
like "says what is missing" "$(last_output)" "^enlighten: INF 'windows/x/x.inf': "
ok "nothing written" test ! -e bad/catalog.json

done_testing
