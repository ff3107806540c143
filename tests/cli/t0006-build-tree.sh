#!/bin/sh
# t0006-build-tree.sh - a new user's first build, as README's "Building by
# hand" says: the programs in the build directory find their data in the
# source tree without ENLIGHTEN_DATADIR and say so in --version, the installed
# ones name the installed data, `build --output-dir` creates the directory
# (its parent must exist), and the build warns about a Timezone= or Locale=
# the base lacks.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

B=$ENLIGHTEN_BUILDDIR
unset ENLIGHTEN_DATADIR

for p in enlighten enlighten-detect enlighten-firstboot; do
	ok "$B/$p --version" "$B/$p" --version
	is "$p from the build tree names the source tree as its data" \
		"$(last_output | sed -n 2p)" \
		"data: $(cd "$SRC" && pwd -P) (the source tree: this program runs from its build directory)"
done
ok "the installed enlighten --version" enlighten --version
is "names the installed data directory" "$(last_output | sed -n 2p)" \
	"data: $ENLIGHTEN_PREFIX/share/enlighten (installed)"
ok "ENLIGHTEN_DATADIR wins" env ENLIGHTEN_DATADIR=/srv/data "$B/enlighten" --version
is "and --version says so" "$(last_output | sed -n 2p)" "data: /srv/data (from \$ENLIGHTEN_DATADIR)"

command -v mke2fs >/dev/null || skip_all "mke2fs is not installed"
[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi is not installed"
make_base base.tar.gz
write_recipe img.conf base.tar.gz
ok "build/enlighten builds without ENLIGHTEN_DATADIR" "$B/enlighten" -q build img.conf \
	--output-dir out
is "into the output directory it created" "$(finished_files out)" "test.bmap test.manifest.json test.raw "
ok "a second build into the existing directory" "$B/enlighten" -q build img.conf --output-dir out
exits 1 "an output directory whose parent is missing" "$B/enlighten" -q build img.conf \
	--output-dir no/such
is "is refused, naming it" "$(last_output)" \
	"enlighten: cannot create output directory 'no/such': its parent does not exist"
ok "and nothing was made" test ! -e no

# the build warns about a time zone or locale the base lacks, and only then
python3 - base.tar.gz base-tz.tar.gz <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1]) as src, tarfile.open(sys.argv[2], "w:gz") as dst:
    for m in src.getmembers():
        dst.addfile(m, src.extractfile(m) if m.isfile() else None)
    for name in ("usr/share/zoneinfo/Europe/Berlin", "usr/lib/locale/de_DE.utf8/LC_CTYPE"):
        t = tarfile.TarInfo(name); t.size = 4; t.mtime = 1700000000
        dst.addfile(t, io.BytesIO(b"TZif"))
PY
write_recipe tz.conf base-tz.tar.gz '[System]' 'Timezone=Europe/Berlin' 'Locale=de_DE.UTF-8'
ok "a base with the recipe's time zone and locale" "$B/enlighten" build tz.conf --output-dir tz
is "builds without a warning" "$(last_output | grep -c warn\|Timezone\|Locale)" 0
write_recipe tz2.conf base-tz.tar.gz '[System]' 'Timezone=Europe/Paris' 'Locale=fr_FR.UTF-8'
ok "a base without them" "$B/enlighten" build tz2.conf --output-dir tz2
like "warns about the time zone" "$(last_output)" \
	"^enlighten: Timezone=Europe/Paris: the base has no '/usr/share/zoneinfo/Europe/Paris'"
like "and the locale, by glibc's name for it" "$(last_output)" \
	"^enlighten: Locale=fr_FR.UTF-8: the base has no such locale .*'/usr/lib/locale/fr_FR.utf8/LC_CTYPE'"

done_testing
