#!/bin/sh
# t4013-build-agent-starts.sh - the build never ships an agent that cannot
# start: the agent and its helper are checked in the image against the
# base's own loader folders and libraries (interpreter, NEEDED libraries,
# symbol versions); a base that lacks one is refused with what is missing
# and what to do, and nothing is left in the output directory. The base's
# libraries are the fixture's stand-ins (headers only).
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

command -v readelf >/dev/null || skip_all "readelf is not installed"
[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi is not installed"
mkdir out

make_base good.tar.gz
write_recipe good.conf good.tar.gz
ok "a base with what the agent needs builds" enlighten build good.conf -o out
rm -rf out && mkdir out

make_base nojsonc.tar.gz --without-lib libjson-c.so.5
write_recipe nojsonc.conf nojsonc.tar.gz
exits 1 "a base without libjson-c.so.5 is refused" enlighten build nojsonc.conf -o out
like "... naming the agent and the library" "$(last_output)" \
	"^enlighten: the first-boot agent '/usr/sbin/enlighten-firstboot' cannot start on this base: it needs libjson-c\.so\.5, which the base does not have \(looked in .*/usr/lib64.*\); add the package that ships libjson-c\.so\.5 to the base, or give \[Agent\] Binary= an agent built for this base$"
is "... and nothing is left in the output directory" "$(ls -A out)" ""

# the same library where only /etc/ld.so.conf's include says to look
mkdir -p tree/etc/ld.so.conf.d tree/opt/oem/lib x
tar -xzf good.tar.gz -C x ./usr/lib64/libjson-c.so.5
cp x/usr/lib64/libjson-c.so.5 tree/opt/oem/lib/
printf '# the loader folders\ninclude /etc/ld.so.conf.d/*.conf\n' >tree/etc/ld.so.conf
printf '/opt/oem/lib\n' >tree/etc/ld.so.conf.d/oem.conf
printf '/nowhere\n' >tree/etc/ld.so.conf.d/other.txt
make_base oem.tar.gz --without-lib libjson-c.so.5 --tree tree
write_recipe oem.conf oem.tar.gz
ok "a library in a folder named by an ld.so.conf include is found" enlighten build oem.conf -o out
rm -rf out && mkdir out
rm tree/etc/ld.so.conf.d/oem.conf
make_base oem2.tar.gz --without-lib libjson-c.so.5 --tree tree
write_recipe oem2.conf oem2.tar.gz
exits 1 "... and only there (a file the include's glob does not match is not read)" \
	enlighten build oem2.conf -o out
like "... libjson-c.so.5 named" "$(last_output)" "it needs libjson-c\.so\.5, which the base does not have"
unlike "... the unmatched file's folder is not among them" "$(last_output)" "/nowhere"

make_base oldc.tar.gz --old-lib libc.so.6=GLIBC_2.17
write_recipe oldc.conf oldc.tar.gz
exits 1 "a base whose C library is older than the agent's is refused" enlighten build oldc.conf -o out
like "... naming the symbol version and the base's library" "$(last_output)" \
	"cannot start on this base: it needs the symbol version GLIBC_2\.[0-9.]+ of libc\.so\.6, which the base's /(usr/)?lib64/libc\.so\.6 does not define \(the newest it has is GLIBC_2\.[0-9.]+\); build the agent on a system no newer than the base \(or for it\), or use a newer base$"

make_base nold.tar.gz --without-lib ld-linux-x86-64.so.2 --without-lib ld-linux-aarch64.so.1
write_recipe nold.conf nold.tar.gz
exits 1 "a base without the program interpreter is refused" enlighten build nold.conf -o out
like "... naming it" "$(last_output)" \
	"cannot start on this base: its program interpreter /lib.*/ld-linux.* is not in the base"

make_base norpm.tar.gz --without-lib librpm.so.9
write_recipe norpm.conf norpm.tar.gz
exits 1 "a base without the helper's librpm.so.9 is refused" enlighten build norpm.conf -o out
like "... naming the helper" "$(last_output)" \
	"the agent's helper '/usr/libexec/enlighten/enlighten-firstboot-apply' cannot start on this base: it needs librpm.so.9"
is "nothing is left in the output directory" "$(ls -A out)" ""

done_testing
