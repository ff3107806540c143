#!/bin/sh
# t0005-configure.sh - a missing library stops configure with the Debian
# package to install; --enable-werror reaches the compiler flags; configure
# run outside the source tree stops and says where to run it.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

cp -r "$SRC/configure" "$SRC/Makefile.in" "$SRC/lib" .
# A pkg-config that knows every module but wimlib.
mkdir bin
cat >bin/pkg-config <<'PC'
#!/bin/sh
for a in "$@"; do case $a in wimlib*) exit 1 ;; esac; done
exec /usr/bin/pkg-config "$@"
PC
chmod +x bin/pkg-config

fails "configure stops without wimlib" env PKG_CONFIG="$TEST_DIR/bin/pkg-config" ./configure
like "the message names the Debian package" "$(last_output)" \
	"wimlib not found: install the Debian package 'libwim-dev'"

mkdir obj
fails "configure outside the source tree stops" sh -c 'cd obj && ../configure'
like "... and says where to run it" "$(last_output)" \
	"configure was run outside the source tree '\.\.': enlighten builds in its source tree .*run 'cd \.\. && \./configure'"
is "... before it writes a Makefile" "$(ls obj | grep -c '^Makefile$')" 0

ok "configure with --enable-werror" ./configure --enable-werror
like "Makefile carries -Werror" "$(grep '^WERROR' Makefile)" "^WERROR = -Werror$"
done_testing
