# SPDX-License-Identifier: MIT
# lib.sh - TAP for the CLI tests, sourced by tests/cli/tNNNN-*.sh.
#
# The tests run the installed-layout binaries ($ENLIGHTEN_BINDIR, set by
# `make check`, which installs into build/inst first). Each test gets a fresh
# empty directory as its cwd ($TEST_DIR), removed at exit.
#
#   ok "name" cmd...         passes when cmd exits 0
#   fails "name" cmd...      passes when cmd exits non-zero
#   exits N "name" cmd...    passes when cmd exits with N
#   is "name" GOT WANT       string equality
#   like "name" GOT REGEX    grep -E match
#   skip_all "why"           skips the whole script
#   done_testing             prints the plan and exits
#   demo_inputs              the demo's base and signed repository
#   universal_qcow2 NAME "name" [DATADIR]
#                            the universal recipe as it is, out/NAME.qcow2
#   universal_sdboot         the demo's base and repository, and the
#                            universal recipe built with systemd-boot

set -u
: "${ENLIGHTEN_SRCDIR:?run the tests through make check}"
: "${ENLIGHTEN_BINDIR:?run the tests through make check}"
SRC=$ENLIGHTEN_SRCDIR
FIXTURES=$SRC/tests/fixtures
PATH=$ENLIGHTEN_BINDIR:${ENLIGHTEN_SBINDIR:-$ENLIGHTEN_BINDIR}:$PATH
export PATH LC_ALL=C

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/enlighten-cli.XXXXXX")
trap 'cd /; rm -rf "$TEST_DIR"' EXIT
cd "$TEST_DIR" || exit 1

_n=0
_failed=0

_report() { # status name
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
}

ok() {
	local name=$1
	shift
	"$@" >"$TEST_DIR/.out" 2>&1
	local rc=$?
	_report $rc "$name"
	[ $rc -eq 0 ] || { echo "#   '$*' exited $rc"; sed 's/^/#   /' "$TEST_DIR/.out" | head -20; }
	return $rc
}

fails() {
	local name=$1
	shift
	"$@" >"$TEST_DIR/.out" 2>&1
	local rc=$?
	[ $rc -ne 0 ] && [ $rc -lt 99 ]
	local st=$?
	_report $st "$name"
	[ $st -eq 0 ] || { echo "#   '$*' exited $rc, wanted a clean failure"; sed 's/^/#   /' "$TEST_DIR/.out" | head -20; }
	return $st
}

exits() {
	local want=$1 name=$2
	shift 2
	"$@" >"$TEST_DIR/.out" 2>&1
	local rc=$?
	[ $rc -eq "$want" ]
	local st=$?
	_report $st "$name"
	[ $st -eq 0 ] || { echo "#   '$*' exited $rc, want $want"; sed 's/^/#   /' "$TEST_DIR/.out" | head -20; }
	return $st
}

# Output of the last ok/fails/exits command.
last_output() { cat "$TEST_DIR/.out"; }

is() {
	[ "$2" = "$3" ]
	local st=$?
	_report $st "$1"
	[ $st -eq 0 ] || printf '#   got:  %s\n#   want: %s\n' "$2" "$3"
	return $st
}

like() {
	printf '%s\n' "$2" | grep -Eq -- "$3"
	local st=$?
	_report $st "$1"
	[ $st -eq 0 ] || { printf '#   no match for /%s/ in:\n' "$3"; printf '%s\n' "$2" | sed 's/^/#   /' | head -20; }
	return $st
}

unlike() {
	! printf '%s\n' "$2" | grep -Eq -- "$3"
	local st=$?
	_report $st "$1"
	[ $st -eq 0 ] || { printf '#   unwanted match for /%s/:\n' "$3"; printf '%s\n' "$2" | grep -E -- "$3" | sed 's/^/#   /' | head -20; }
	return $st
}

skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

# need_tools TOOL...: the whole test skipped unless each TOOL is installed.
need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || skip_all "$t is not installed"
	done
}

done_testing() {
	echo "1..$_n"
	[ $_failed -eq 0 ]
	exit $?
}

# The demo's base and signed repository (a make of its own, not a job of
# the make that runs the tests; its targets as the Makefile names them,
# relative, so a fresh tree makes them). One check.
demo_inputs() {
	local demo=$ENLIGHTEN_BUILDDIR/demo
	ok "the demo's base and repository" env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -C "$SRC" --no-print-directory "${demo#"$SRC"/}/base.tar.zst" \
		"${demo#"$SRC"/}/repo/catalog.json.minisig"
}

# The universal recipe (the demo's) as it is, named NAME, as out/NAME.qcow2,
# with the data directory DATADIR (default: the source tree). One check,
# named by the second argument.
universal_qcow2() { # NAME "name" [DATADIR]
	cat >"$1.conf" <<EOT
Include=$SRC/templates/linux-universal.conf

[Image]
Name=$1
Formats=qcow2
EOT
	ok "$2" env SOURCE_DATE_EPOCH=1700000000 ENLIGHTEN_DATADIR="${3:-$SRC}" \
		enlighten build "$1.conf" --output-dir out
}

# demo_inputs, then the universal recipe built with systemd-boot instead
# (it boots through GRUB), as out/linux-universal.qcow2: for what boot-test
# does through systemd-boot entries. Two checks; fails when either does.
universal_sdboot() {
	demo_inputs || return 1
	cat >sdboot.conf <<EOT
Include=$SRC/templates/linux-universal.conf

[Image]
Formats=qcow2

[Boot]
Loader=systemd-boot
Firmware=uefi
SecureBoot=no
EOT
	ok "build the universal recipe with Loader=systemd-boot" env SOURCE_DATE_EPOCH=1700000000 \
		ENLIGHTEN_DATADIR="$SRC" enlighten build sdboot.conf --output-dir out
}
