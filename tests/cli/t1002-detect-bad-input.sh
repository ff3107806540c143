#!/bin/bash
# t1002-detect-bad-input.sh - garbage in any file the detector reads (binary
# junk, a 10 MB file, no newline, unreadable, a directory or FIFO where a file
# should be, a symlink out of the root, endless directories, broken CPUID
# tables) still gives a verdict, with the bad signal noted in the evidence,
# and never a crash or a hang.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
command -v jq >/dev/null || skip_all "jq not installed"

D=$FIXTURES/detect

# detect NAME EXPECTED-HYPERVISOR EVIDENCE-REGEX ARGS...: a verdict within
# 20 s, exit 0/1 matching it, valid JSON, and the evidence regex found.
detect() {
	local name=$1 hv=$2 re=$3
	shift 3
	timeout 20 enlighten-detect --json "$@" >out.json 2>err.txt
	local rc=$? want=0
	[ "$hv" = none ] && want=1
	is "$name: exit status" "$rc" "$want" || sed 's/^/#   /' err.txt
	is "$name: hypervisor" "$(jq -r .hypervisor out.json 2>&1)" "$hv"
	ok "$name: evidence notes it" test "$(jq --arg re "$re" \
		'[.evidence[] | select(.detail | test($re))] | length' out.json)" -gt 0 ||
		jq -c '.evidence[]' out.json | sed 's/^/#   /'
}

fresh() { # CASE: a writable copy of a fixture case in ./c
	rm -rf c
	cp -r "$D/$1" c
}

# ---- files in the root -----------------------------------------------------

fresh kvm
printf 'QEMU\0\x01\x02\xff\xfe' >c/root/sys/class/dmi/id/sys_vendor
detect "binary junk in sys_vendor" kvm "sys_vendor': binary junk" \
	--root c/root --cpuid-file c/cpuid

fresh kvm
truncate -s 10M c/root/sys/class/dmi/id/product_name
truncate -s 10M c/root/proc/cpuinfo
detect "a 10 MB sysfs value" kvm "product_name': larger than 4096 bytes" \
	--root c/root --cpuid-file c/cpuid
detect "a 10 MB cpuinfo of NULs" kvm "cpuinfo': binary junk" --root c/root --cpuid-file c/cpuid

fresh xen-pv
printf 'xen' >c/root/sys/hypervisor/type
printf 'PV' >c/root/sys/hypervisor/guest_type
detect "values without a newline" xen "guest_type 'PV'" --root c/root --cpuid-file c/cpuid
is "no newline: mode still read" "$(jq -r .xen_mode out.json)" pv

fresh xen-dom0-pvops
rm c/root/proc/xen/capabilities
mkfifo c/root/proc/xen/capabilities
detect "a FIFO for /proc/xen/capabilities" xen "not a regular file" \
	--root c/root --cpuid-file c/cpuid
is "FIFO: dom0 still known from XENFEAT_dom0" "$(jq -r .role out.json)" dom0

fresh xen-dom0-pvops
rm c/root/sys/hypervisor/type
mkdir c/root/sys/hypervisor/type
detect "a directory for /sys/hypervisor/type" xen "a directory where a file should be" \
	--root c/root --cpuid-file c/cpuid

fresh metal-dell
chmod 000 c/root/sys/class/dmi/id/sys_vendor
if [ "$(id -u)" -ne 0 ]; then
	detect "an unreadable sys_vendor" none "unreadable \(Permission denied\)" \
		--root c/root --cpuid-file c/cpuid
fi
chmod 644 c/root/sys/class/dmi/id/sys_vendor

fresh metal-dell
rm c/root/sys/class/dmi/id/bios_vendor
ln -s /etc/passwd c/root/sys/class/dmi/id/bios_vendor
detect "a symlink out of the root" none "bios_vendor': unreadable" \
	--root c/root --cpuid-file c/cpuid

fresh aarch64-xen
printf 'xen,xen' >c/root/proc/device-tree/hypervisor/compatible
detect "a device-tree string without its NUL" xen "not a device-tree string list" \
	--root c/root

fresh kvm
printf 'zz\n' >c/root/sys/bus/pci/devices/0000:00:01.0/vendor
mkdir -p c/root/sys/bus/vmbus
printf 'x\n' >c/root/sys/bus/vmbus/devices
detect "garbage PCI id and a file for a bus directory" kvm "is not a PCI id" \
	--root c/root --cpuid-file c/cpuid
like "the bus file is noted" "$(jq -r '.evidence[].detail' out.json)" "vmbus/devices': unreadable"

fresh kvm
(cd c/root/sys/bus/pci/devices && mkdir $(seq -f '0000:%04g:00.0' 1 4200))
detect "more than 4096 PCI devices" kvm "more than 4096 entries" \
	--root c/root --cpuid-file c/cpuid

# ---- CPUID tables ----------------------------------------------------------

fresh kvm
printf '0x1 0x0 0x0 0x0 0x80000000 0x0\n0x40000000 0x0 0x40000001 KVM\n' >bad.cpuid
detect "a CPUID table with a bad line" qemu "cpuid file '.*bad.cpuid' line 2: bad EBX 'KVM'" \
	--root c/root --cpuid-file bad.cpuid
like "the bad line is named on stderr too" "$(cat err.txt)" "bad.cpuid' line 2"

head -c 4096 /dev/urandom >junk.cpuid
detect "a CPUID table of binary junk" qemu "cpuid file '.*junk.cpuid' line" \
	--root c/root --cpuid-file junk.cpuid

truncate -s 10M big.cpuid
detect "a 10 MB CPUID table" qemu "larger than 262144 bytes" --root c/root --cpuid-file big.cpuid

mkdir dir.cpuid
detect "a directory as the CPUID table" qemu "a directory" --root c/root --cpuid-file dir.cpuid

mkfifo fifo.cpuid
detect "a FIFO as the CPUID table" qemu "not a regular file" --root c/root --cpuid-file fifo.cpuid

printf '0x1 0x0 0x0 0x0 0x80000000 0x0' >nonl.cpuid
detect "a CPUID table without a final newline" qemu "hypervisor bit set" \
	--root c/root --cpuid-file nonl.cpuid

done_testing
