#!/bin/sh
# t0007-message-format.sh - %m is a format directive, not text: passed as
# the argument of a "%s" (the message an engine did not set) it reaches the
# user as a literal "%m". The sources must hand it to the format instead.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

cd "$SRC" || exit 1
dirs="builder detect firstboot lib"
# 'X ? X : "%m"' and '"%s", X ? X : "... %m"': the fallback is an argument
hits=$(grep -rnE --include='*.c' '\? [a-z_>.-]+ : [^;]*"[^"]*%m"' $dirs | grep -E ': "%m"|"%s", [a-z_>.-]+ \?' || true)
is "no %m passed as an argument" "$hits" ""
# %m in a format that never sees errno: asprintf into a message
hits=$(grep -rnE --include='*.c' 'asprintf\([^;]*%m' $dirs || true)
is "no %m in an asprintf() message" "$hits" ""
done_testing
