#!/bin/sh
# t4001-recipe.sh - recipe errors name the file and line and suggest the key
# that was meant; Include= reads SKU variants relative to the including file
# and refuses cycles.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

mkdir out

printf '[Image]\nName=x\nSise=1G\n' >typo.conf
exits 2 "an unknown key is a usage error" enlighten build typo.conf -o out
like "... naming file, line and the key meant" "$(last_output)" \
	"recipe 'typo.conf' line 3: unknown key 'Sise' \(did you mean 'Size'\?\)"

printf '[Image]\nSise=1G\nName=x\n' >typo-mid.conf
exits 2 "an unknown key followed by a good line" enlighten build typo-mid.conf -o out
like "... still names the key and the one meant" "$(last_output)" \
	"recipe 'typo-mid.conf' line 2: unknown key 'Sise' \(did you mean 'Size'\?\)"
printf '[Image]\nSize=0\nName=x\n' >size-mid.conf
exits 2 "a bad value followed by a good line" enlighten build size-mid.conf -o out
like "... gives the reason, not a syntax error" "$(last_output)" "recipe 'size-mid.conf' line 2: '0' is not a size"
is "... only that error" "$(last_output | grep -c "not a 'Key=value' line")" 0

printf '[Imag]\nName=x\n' >section.conf
exits 2 "an unknown section" enlighten build section.conf -o out
like "... with a suggestion" "$(last_output)" "line 1: unknown section '\[Imag\]' \(did you mean '\[Image\]'\?\)"

printf '[Image]\nTarball=x.tar\n' >wrong.conf
exits 2 "a key in the wrong section" enlighten build wrong.conf -o out
like "... names the right section" "$(last_output)" "key 'Tarball' belongs in section '\[Base\]', not '\[Image\]'"

printf '[Image]\nSize=lots\n' >size.conf
exits 2 "a bad size" enlighten build size.conf -o out
like "... is explained" "$(last_output)" "recipe 'size.conf' line 2: 'lots' is not a size"

printf '[Image]\nSize=1000K\n' >mib.conf
exits 2 "a size that is not whole MiB" enlighten build mib.conf -o out
like "... is refused (fixed VHD needs whole MiB)" "$(last_output)" "not a whole number of MiB"

printf '[Image]\nFormats=raw qcow vhd\n' >fmt.conf
exits 2 "an unknown format" enlighten build fmt.conf -o out
like "... with a suggestion" "$(last_output)" "unknown format 'qcow' \(did you mean 'qcow2'\?\)"

printf '[Base]\nInitrdCheck=maybe\n' >check.conf
exits 2 "a bad InitrdCheck" enlighten build check.conf -o out
like "... lists the values" "$(last_output)" "'maybe' is not one of yes, warn, no"

printf '[Image]\nName=x\nSize=100M\n' >nobase.conf
exits 2 "a recipe without a base" enlighten build nobase.conf -o out
like "... says what is missing" "$(last_output)" "Tarball= in \[Base\] is required"

printf '[System]\nHostname=bad host\n' >host.conf
exits 2 "a bad host name" enlighten build host.conf -o out
like "... is refused" "$(last_output)" "'bad host' is not a name"

mkdir sku
printf '[Image]\nName=a\nInclude=sku/b.conf\n' >a.conf
printf '[Image]\nSize=100M\nInclude=../a.conf\n' >sku/b.conf
exits 2 "an Include cycle" enlighten build a.conf -o out
like "... is named" "$(last_output)" "recipe 'sku/b.conf' line 3: Include='../a.conf' makes a cycle"

printf '[Image]\nInclude=missing.conf\n' >inc.conf
exits 2 "a missing include" enlighten build inc.conf -o out
like "... is named" "$(last_output)" "cannot include 'missing.conf'"

# An include relative to the including file supplies the base.
make_base sku/base.tar.gz
printf '[Base]\nTarball=base.tar.gz\n' >sku/base.conf
printf '[Image]\nName=variant\nSize=100M\n[Partitions]\nESPSize=34M\n[Base]\nInclude=sku/base.conf\n' >variant.conf
ok "Include= resolves paths relative to the included file" enlighten build variant.conf -o out
ok "... and the image is made" test -f out/variant.raw

exits 2 "build without a recipe" enlighten build
exits 2 "build with an unknown format option" enlighten build variant.conf --format qcow
like "... named with a suggestion, as in a recipe" "$(last_output)" \
	"unknown format 'qcow' \(did you mean 'qcow2'\?\)"
ok "build --help" enlighten build --help
like "... shows usage" "$(last_output)" "^Usage: enlighten build RECIPE"

done_testing
