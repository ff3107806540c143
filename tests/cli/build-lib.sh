# SPDX-License-Identifier: MIT
# build-lib.sh - helpers for the image builder tests (4xxx), sourced after lib.sh.

export SOURCE_DATE_EPOCH=1700000000

# make_base OUT [make-base-tarball options]: the small fixture base tarball,
# with stand-in libraries for the agent the build puts in (beside it or in
# ../libexec/enlighten/, its helper), so the build's check that the agent
# can start passes; t4013 takes them away.
make_base() {
	local agent helper
	agent=$(command -v enlighten-firstboot) || return 1
	helper=${agent%/*}/enlighten-firstboot-apply
	[ -e "$helper" ] || helper=${agent%/*}/../libexec/enlighten/enlighten-firstboot-apply
	"$FIXTURES/make-base-tarball" "$@" --libs-for "$agent" --libs-for "$helper"
}

# make_signed_repo DIR: a payload source with two payloads, signed with key.key
# (key.pub beside it in the current directory).
make_signed_repo() {
	. "$SRC/tests/cli/catalog-lib.sh"
	[ -f key.key ] || enlighten payload keygen -o key >/dev/null
	make_repo "$1" 2
	enlighten payload sign --key key.key "$1/catalog.json" >/dev/null 2>&1
}

# write_recipe FILE TARBALL [extra lines...]
write_recipe() {
	local f=$1 t=$2
	shift 2
	{
		printf '[Image]\nName=test\nSize=100M\nFormats=raw\n\n'
		printf '[Partitions]\nESPSize=34M\n\n'
		printf '[Base]\nTarball=%s\n\n' "$t"
		printf '%s\n' "$@"
	} >"$f"
}

# part_extract IMAGE N OUT: copy partition N's bytes into OUT.
part_extract() {
	local line start size
	line=$(sfdisk -d "$1" | grep "^$1$2 ")
	start=$(printf '%s\n' "$line" | sed 's/.*start= *\([0-9]*\).*/\1/')
	size=$(printf '%s\n' "$line" | sed 's/.*size= *\([0-9]*\).*/\1/')
	dd if="$1" of="$3" bs=512 skip="$start" count="$size" status=none
}

# unpriv CMD...: runs CMD as nobody when the tests run as root.
unpriv() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
	else
		"$@"
	fi
}

# Finished-looking files in DIR (temporary names start with ".#").
finished_files() {
	find "$1" -mindepth 1 -maxdepth 1 ! -name '.#*' -printf '%f\n' | sort | tr '\n' ' '
}
