#!/bin/sh
# autogen.sh - regenerate configure from configure.ac (aclocal for pkg.m4,
# then autoconf).
#   ./autogen.sh          rewrite configure
#   ./autogen.sh --check  fail when the committed configure is stale
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp configure.ac "$tmp/"
(cd "$tmp" && aclocal && autoconf -o configure configure.ac)
if [ "${1:-}" = --check ]; then
	if ! cmp -s "$tmp/configure" configure; then
		echo "autogen.sh: configure is stale: run ./autogen.sh and commit it" >&2
		exit 1
	fi
	exit 0
fi
cp "$tmp/configure" configure
chmod +x configure
