#!/bin/sh
# t7000-boot-test-args.sh - `enlighten boot-test` refuses bad arguments with
# the usage exit code and a message that names the problem, before it starts
# any guest; --help and the man page list the same options.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

printf 'not a disk\n' >disk.img

ok "boot-test --help" enlighten boot-test --help
like "help shows the synopsis" "$(last_output)" "^Usage: enlighten boot-test IMAGE --as IDENTITY"
like "help names the identities" "$(last_output)" "kvm, hyperv,"
help_opts=$(enlighten boot-test --help | grep -oE '^  (-[a-zA-Z], )?--[a-z-]+' | sed 's/.*--//' | sort | tr '\n' ' ')
man_opts=$(sed -n '/^\.SS boot-test/,/^\.S[SH] /p' "$SRC/docs/man/enlighten.1" |
	grep -E '^\.B[IR]? ' | sed 's/\\//g' | grep -oE -- '--[a-z-]+' | sed 's/^--//' | sort -u | tr '\n' ' ')
is "the man page lists exactly the options of --help" "$man_opts" "$help_opts"

exits 2 "missing IMAGE" enlighten boot-test --as kvm
like "says IMAGE is missing" "$(last_output)" "missing IMAGE"
exits 2 "missing --as" enlighten boot-test disk.img
like "says --as is missing and lists identities" "$(last_output)" "missing --as IDENTITY; use one of kvm, hyperv, vmware, metal, xen-dom0, xen-pv, xen-pvh, xen-hvm"
exits 2 "unknown identity" enlighten boot-test disk.img --as hyperv-guest
like "suggests the close one" "$(last_output)" "unknown identity 'hyperv-guest' \(did you mean 'hyperv'\?\)"
exits 2 "unknown --then identity" enlighten boot-test disk.img --as kvm --then esx
like "lists the identities" "$(last_output)" "unknown identity 'esx'; use one of"
exits 2 "an unknown firmware after --then" enlighten boot-test disk.img --as kvm --then hyperv:efi
like "names it and the choices" "$(last_output)" "invalid --then firmware 'efi'; use uefi, bios or secure-boot"
exits 2 "an unknown identity before the firmware" enlighten boot-test disk.img --as kvm --then esx:bios
like "names the identity alone" "$(last_output)" "unknown identity 'esx'"
exits 2 "--boots 0" enlighten boot-test disk.img --as kvm --boots 0
like "names the bad value" "$(last_output)" "invalid --boots '0'"
exits 2 "--boots not a number" enlighten boot-test disk.img --as kvm --boots two
exits 2 "--timeout 0" enlighten boot-test disk.img --as kvm --timeout 0
like "names the bad timeout" "$(last_output)" "invalid --timeout '0'"
exits 2 "--accel other" enlighten boot-test disk.img --as kvm --accel hax
like "names the accelerators" "$(last_output)" "invalid --accel 'hax'; use auto, kvm or tcg"
exits 2 "--firmware other" enlighten boot-test disk.img --as kvm --firmware coreboot
like "names the firmware" "$(last_output)" "invalid --firmware 'coreboot'; use uefi or bios"
exits 2 "--firmware bios without SeaBIOS" \
	env ENLIGHTEN_SEABIOS=/nonexistent/bios.bin enlighten boot-test disk.img --as kvm --firmware bios
like "says what to install" "$(last_output)" "SeaBIOS firmware '/nonexistent/bios.bin' not found; install the seabios package"
exits 2 "--secure-boot with --firmware bios" enlighten boot-test disk.img --as kvm --secure-boot --firmware bios
like "says Secure Boot needs UEFI" "$(last_output)" "secure-boot needs UEFI; drop --firmware bios"
exits 2 "two images" enlighten boot-test disk.img disk.img --as kvm
like "names the extra argument" "$(last_output)" "unexpected argument 'disk.img'"
exits 2 "missing image file" enlighten boot-test nothere.qcow2 --as kvm
like "names the file" "$(last_output)" "cannot open image 'nothere.qcow2'"
exits 2 "a directory is not an image" enlighten boot-test . --as kvm
like "says so" "$(last_output)" "image '.' is not a file"
exits 2 "unknown option" enlighten boot-test disk.img --as kvm --frobnicate

# KVM that is not there is a usage error when asked for, TCG otherwise.
exits 2 "--accel kvm without working KVM" \
	env ENLIGHTEN_KVM_DEVICE=/dev/null enlighten boot-test disk.img --as kvm --accel kvm
like "says why KVM is not usable" "$(last_output)" "KVM is not usable: '/dev/null' is not a KVM device"

ok "boot-test is in the verb table" enlighten help
like "help lists boot-test" "$(last_output)" "^  boot-test "

done_testing
