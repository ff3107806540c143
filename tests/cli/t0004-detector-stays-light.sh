#!/bin/sh
# t0004-detector-stays-light.sh - enlighten-detect runs in the earliest boot
# stage, in a minimal initrd: it must not link librpm, libcurl, libarchive,
# libext2fs, wimlib or OpenSSL.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

needed=$(readelf -d "$ENLIGHTEN_BINDIR/enlighten-detect" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
for heavy in librpm libcurl libarchive libext2fs libwim libcrypto libssl libfdisk libblkid libhivex; do
	is "enlighten-detect does not link $heavy" "$(printf '%s\n' "$needed" | grep "^$heavy" || true)" ""
done
done_testing
