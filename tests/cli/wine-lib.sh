# SPDX-License-Identifier: MIT
# wine-lib.sh - running enlighten-firstboot.exe under Wine in the CLI tests,
# sourced after lib.sh.
#
# One Wine prefix per build directory ($ENLIGHTEN_BUILDDIR/wine), made by the
# first test that needs it (wineboot, about 15 s) and reused after, with no
# display (WINEDEBUG=-all, no Mono or Gecko). Its registry is a real one:
# the tests make and remove their own keys in it.
#
#   wine_setup             skips the script where Wine or mingw-w64 is
#                          missing (and fails in CI, which must have both)
#   wpath PATH             the Windows path (Z:\...) of a Unix path
#   agent ARGS...          runs the installed enlighten-firstboot.exe
#   wreg ARGS...           runs Wine's reg.exe (reg add, reg query, ...)
#   make_tools DIR         the stand-ins for pnputil, msiexec, dism, shutdown
#   wine_done              stops this prefix's wineserver

AGENT_EXE=$ENLIGHTEN_DATADIR/windows/enlighten-firstboot.exe
STANDIN=$ENLIGHTEN_BUILDDIR/windows/standin-tool.exe

wine_setup() {
	if [ -z "${ENLIGHTEN_WINE:-}" ] || [ -z "${ENLIGHTEN_MINGW_CC:-}" ] || [ ! -f "$AGENT_EXE" ]; then
		if [ "${CI:-}" = true ]; then
			echo "not ok 1 - CI must build and test the Windows agent: install gcc-mingw-w64 and wine64"
			echo "1..1"
			exit 1
		fi
		skip_all "wine64 or mingw-w64 not found (apt-get install gcc-mingw-w64 wine64)"
	fi
	WINE=$ENLIGHTEN_WINE
	WINESERVER=$(dirname "$WINE")/wineserver
	[ -x "$WINESERVER" ] || WINESERVER=$(command -v wineserver || echo wineserver)
	export WINEPREFIX=$ENLIGHTEN_BUILDDIR/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
	unset DISPLAY WAYLAND_DISPLAY
	(
		flock 9
		if [ ! -f "$WINEPREFIX/.enlighten-ready" ]; then
			rm -rf "$WINEPREFIX"
			"$WINE" wineboot -i >/dev/null 2>&1 </dev/null || exit 1
			"$WINESERVER" -w
			touch "$WINEPREFIX/.enlighten-ready"
		fi
	) 9>"$ENLIGHTEN_BUILDDIR/wine.lock" || {
		echo "Bail out! wineboot could not make the prefix '$WINEPREFIX'"
		exit 1
	}
	# a server of our own, with no descriptor of the test's open
	"$WINESERVER" -p >/dev/null 2>&1 </dev/null
	trap 'wine_done; cd /; rm -rf "$TEST_DIR"' EXIT
	wine_reset
}

# The keys the tests make, removed so each test starts from the same registry.
WINE_TEST_SERVICES="viostor vioscsi QEMU-GA BalloonService vmicheartbeat vmickvpexchange xenbus xenvbd"
wine_reset() {
	{
		printf 'REGEDIT4\r\n\r\n'
		printf '[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Virtual Machine\\Guest]\r\n\r\n'
		for k in enlighten-test-qga '{ENLIGHTEN-TEST-VMWARE}'; do
			printf '[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\%s]\r\n\r\n' "$k"
		done
		for s in $WINE_TEST_SERVICES; do
			printf '[-HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\%s]\r\n\r\n' "$s"
		done
	} >"$TEST_DIR/.reset.reg"
	"$WINE" reg import "$TEST_DIR/.reset.reg" </dev/null >/dev/null 2>&1
}

wine_done() {
	"$WINESERVER" -k >/dev/null 2>&1 || true
}

wpath() {
	printf 'Z:%s' "$1" | tr / '\\'
}

agent() {
	"$WINE" "$AGENT_EXE" "$@" </dev/null
}

wreg() {
	"$WINE" reg "$@" </dev/null >/dev/null 2>&1
}

make_tools() {
	mkdir -p "$1"
	for t in pnputil msiexec dism shutdown; do
		cp "$STANDIN" "$1/$t.exe"
	done
}
