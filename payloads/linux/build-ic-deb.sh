#!/bin/sh
# SPDX-License-Identifier: MIT
# build-ic-deb.sh - builds enlighten-ic-PROFILE_VERSION-1_all.deb from the
# same matrix as the RPM (payloads/linux/build-ic.sh), with the Debian
# family's unit names and an initramfs-tools drop-in instead of dracut's.
#
#   build-ic-deb.sh GEN PROFILES_DIR PROFILE VERSION OUTDIR
#
# GEN is the gen-ic-files helper; the package lands in OUTDIR/debian/. It
# is built reproducibly: every time from SOURCE_DATE_EPOCH (or a fixed
# date), owners root. A .deb carries no signature of its own; the signed
# catalog vouches for its length and SHA-256. Unlike the RPM it does not
# conflict with the other profiles' packages (their files differ): dpkg
# would refuse to install it beside the old one rather than replace it,
# and the agent purges the old one in the same step anyway.
set -eu
gen=$1 profiles=$2 profile=$3 version=$4 outdir=$5
: "${SOURCE_DATE_EPOCH:=1700000000}"
export SOURCE_DATE_EPOCH

mkdir -p "$outdir/debian"
outdir=$(cd "$outdir" && pwd)
work=$(dirname "$outdir")/work/deb-$profile
rm -rf "$work"
mkdir -p "$work/root"
"$gen" "$profiles" "$profile" "$work" debian

pkg=enlighten-ic-$profile
mkdir -p "$work/root/DEBIAN"
cat >"$work/root/DEBIAN/control" <<X
Package: $pkg
Version: $version-1
Architecture: all
Maintainer: enlighten <payloads@enlighten.invalid>
Section: admin
Priority: optional
Provides: enlighten-ic, enlighten-profile-$profile
Description: Integration components for the $profile profile
 The configuration that makes the system an enlightened guest (or host) in
 the $profile profile of the enlighten profile matrix: kernel modules to
 load, boot-critical drivers for the initramfs, blacklists and module
 options, udev rules and systemd presets. Generated from
 payloads/profiles/$profile.conf.
X
find "$work/root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
chmod -R u=rwX,go=rX "$work/root"
deb=${pkg}_$version-1_all.deb
dpkg-deb --root-owner-group -Zxz --build "$work/root" "$work/$deb" >/dev/null
mv "$work/$deb" "$outdir/debian/$deb"
rm -rf "$work"
