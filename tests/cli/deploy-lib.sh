# SPDX-License-Identifier: MIT
# deploy-lib.sh - helpers for the deploy tests (t9xxx), sourced after lib.sh:
#   make_image NAME MIB     a GPT disk image NAME.raw with random data in two
#                           partitions and its block map NAME.bmap (made by
#                           bmaptool, so deploy reads bmaptool's maps)
#   loop_new FILE           attaches FILE to a loop device, prints it; every
#                           loop device made so is detached at exit (they are
#                           listed in a file: loop_new runs in a subshell)
#   loop_del DEV            detaches DEV now
#   need_loops              skips the script where loop devices cannot be made

_loops_cleanup() {
	for m in "$TEST_DIR/mnt" "$TEST_DIR/tiny"; do mountpoint -q "$m" 2>/dev/null && umount "$m"; done
	[ -f "$TEST_DIR/.loops" ] && while read -r l; do losetup -d "$l" 2>/dev/null; done <"$TEST_DIR/.loops"
	cd / && rm -rf "$TEST_DIR"
}
trap _loops_cleanup EXIT

make_image() { # name mib
	truncate -s "$2M" "$1.raw"
	printf 'label: gpt\nstart=2048, size=%dM, type=uefi\nsize=+, type=linux\n' $(($2 / 4)) |
		sfdisk -q "$1.raw" || return 1
	# data in both partitions, holes between: 3 MiB at 1 MiB, 5 MiB at half
	head -c 3M /dev/urandom | dd of="$1.raw" bs=1M seek=1 conv=notrunc status=none
	head -c 5M /dev/urandom | dd of="$1.raw" bs=1M seek=$(($2 / 2)) conv=notrunc status=none
	bmaptool -q create -o "$1.bmap" "$1.raw"
}

loop_new() { # file
	l=$(losetup -f --show "$1") || return 1
	echo "$l" >>"$TEST_DIR/.loops"
	echo "$l"
}

loop_del() { # dev
	losetup -d "$1" && sed -i "\|^$1\$|d" "$TEST_DIR/.loops"
}

need_loops() {
	[ "$(id -u)" -eq 0 ] || skip_all "loop devices need root"
	command -v bmaptool >/dev/null || skip_all "bmaptool (bmap-tools) is not installed"
	truncate -s 1M probe.img
	l=$(loop_new probe.img) || skip_all "no loop devices here"
	losetup -d "$l"
	rm -f probe.img "$TEST_DIR/.loops"
}
