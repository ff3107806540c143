#!/bin/sh
# SPDX-License-Identifier: MIT
# build-ic.sh - builds and signs enlighten-ic-PROFILE-VERSION-1.noarch.rpm.
#
#   build-ic.sh GEN PROFILES_DIR PROFILE VERSION OUTDIR GNUPGHOME KEYID
#
# GEN is the gen-ic-files helper; the package lands in OUTDIR/linux/. It is
# built reproducibly (times from SOURCE_DATE_EPOCH, or a fixed date) and
# signed with rpmsign by KEYID from GNUPGHOME.
set -eu
gen=$1 profiles=$2 profile=$3 version=$4 outdir=$5 gnupghome=$6 keyid=$7
spec=$(cd "$(dirname "$0")" && pwd)/enlighten-ic.spec

mkdir -p "$outdir/linux"
outdir=$(cd "$outdir" && pwd)
work=$(dirname "$outdir")/work/$profile
rm -rf "$work"
mkdir -p "$work/root" "$work/top" "$work/rpmdb"
"$gen" "$profiles" "$profile" "$work"

: "${SOURCE_DATE_EPOCH:=1700000000}"
export SOURCE_DATE_EPOCH GPG_TTY=/dev/null
rpmbuild --quiet -bb \
	--define "_topdir $work/top" \
	--define "_dbpath $work/rpmdb" \
	--define "_rpmdir $work/rpms" \
	--define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
	--define "_buildhost enlighten.invalid" \
	--define "_binary_payload w9.gzdio" \
	--define "use_source_date_epoch_as_buildtime 1" \
	--define "clamp_mtime_to_source_date_epoch 1" \
	--define "_source_payload w9.gzdio" \
	--define "profile $profile" \
	--define "ic_version $version" \
	--define "ic_root $work/root" \
	--define "ic_list $work/files.list" \
	"$spec"

rpm=enlighten-ic-$profile-$version-1.noarch.rpm
rpmsign --addsign --define "__gpg $(command -v gpg)" --define "_dbpath $work/rpmdb" \
	--define "_gpg_path $gnupghome" --define "_gpg_name $keyid" \
	"$work/rpms/$rpm" >/dev/null
mv "$work/rpms/$rpm" "$outdir/linux/$rpm"
rm -rf "$work"
