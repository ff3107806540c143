#!/bin/sh
# t4008-build-endless-inputs.sh - an input that could block or never end
# (a FIFO, /dev/zero, a directory) named as the base tarball, a recipe, an
# Include=, the boot loader or the image to inspect is refused at once,
# naming it, instead of hanging the build.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

make_base base.tar.gz
mkfifo fifo
mkdir out
# bounded, so that a regression fails instead of hanging the suite
t() { timeout 30 "$@"; }
msg="not a regular file \(a FIFO, a device or a socket is never read\)"

write_recipe zero.conf /dev/zero
exits 1 "Tarball=/dev/zero" t enlighten build zero.conf -o out
like "... is refused" "$(last_output)" "cannot open base tarball '/dev/zero': $msg"
write_recipe fifo.conf fifo
exits 1 "Tarball= a FIFO" t enlighten build fifo.conf -o out
like "... is refused" "$(last_output)" "cannot open base tarball 'fifo': $msg"
write_recipe dir.conf out
exits 1 "Tarball= a directory" t enlighten build dir.conf -o out
like "... is refused" "$(last_output)" "cannot open base tarball 'out': a directory, not a file"
is "... and nothing is left in the output directory" "$(ls -A out)" ""

printf 'Include=fifo\n[Image]\nName=x\n' >inc.conf
exits 2 "Include= a FIFO" t enlighten build inc.conf -o out
like "... is refused" "$(last_output)" "cannot read recipe '.*fifo': $msg"
exits 2 "the recipe itself a FIFO" t enlighten build fifo -o out
like "... is refused" "$(last_output)" "cannot read recipe 'fifo': $msg"

if [ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ]; then
	write_recipe loader.conf base.tar.gz '[Boot]' "Loader=$TEST_DIR/fifo"
	exits 1 "Loader= a FIFO" t enlighten build loader.conf -o out
	like "... is refused" "$(last_output)" "cannot read the boot loader '.*fifo' .*: $msg"
	is "... and nothing is left in the output directory" "$(ls -A out)" ""
fi

exits 1 "inspect a FIFO" t enlighten inspect fifo
like "... says it is no image" "$(last_output)" "'fifo' is not a disk image file"

done_testing
