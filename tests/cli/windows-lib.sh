# SPDX-License-Identifier: MIT
# windows-lib.sh - fixtures for the Windows tests (t8xxx), sourced after
# lib.sh: a SYSTEM hive made by hivexregedit from a .reg file, a synthetic
# install.wim captured from a Windows-layout tree (never a real Windows
# image), and driver packages.

for t in wimcapture wimdir wimextract hivexregedit hivexget mkntfs ntfsls ntfscat xmllint perl; do
	command -v "$t" >/dev/null 2>&1 ||
		skip_all "'$t' is not installed (packages wimtools, libwin-hivex-perl, libhivex-bin, ntfs-3g, libxml2-utils)"
done

HKLM='HKEY_LOCAL_MACHINE\SYSTEM'

# make_hive FILE [ddb] [current]: a SYSTEM hive with a control set (number
# current, default 1), a disk service, and with "ddb" a DriverDatabase key as
# Windows 8 / Server 2012 and later have (scripts/make-synthetic-wim).
make_hive() {
	sh "$SRC/scripts/make-synthetic-wim" --hive-only ${2:+--driver-database} \
		--control-set "${3:-1}" "$1"
}

# make_wim WIM [ddb] [current]: an install.wim with one image named
# "Windows Server 2025 SERVERSTANDARD" holding the files the builder reads
# (scripts/make-synthetic-wim, as users make one); with WIM_TIME set (Unix
# seconds) every file and folder has that time.
make_wim() {
	sh "$SRC/scripts/make-synthetic-wim" ${2:+--driver-database} --control-set "${3:-1}" \
		${WIM_TIME:+--time "$WIM_TIME"} "$1"
}

# make_pkg DIR SERVICE [ARCH] [CATALOG] [HWID]: a driver package folder as a
# vendor ships it: an INF in the shape of the Xen/virtio ones (ARCH is the
# [Manufacturer] decoration, default NTamd64; CATALOG the CatalogFile=
# value, default SERVICE.cat, "-" for none), the catalog and the .sys.
make_pkg() {
	local dir=$1 svc=$2 arch=${3:-NTamd64} cat=${4:-$2.cat} hwid=${5:-PCI\\VEN_5853&DEV_0001}
	mkdir -p "$dir"
	{
		printf '[Version]\r\nSignature="$WINDOWS NT$"\r\nClass=SCSIAdapter\r\n'
		printf 'ClassGuid={4D36E97B-E325-11CE-BFC1-08002BE10318}\r\nProvider=%%Vendor%%\r\n'
		printf 'DriverVer=09/01/2025,9.1.0.42\r\n'
		[ "$cat" = - ] || printf 'CatalogFile=%s\r\n' "$cat"
		printf '\r\n[Manufacturer]\r\n%%Vendor%%=Models,%s\r\n\r\n' "$arch"
		printf '[Models.%s]\r\n%%Desc%%=%s_inst,%s\r\n\r\n' "$arch" "$svc" "$hwid"
		printf '[%s_inst]\r\nCopyFiles=%s_files\r\n\r\n' "$svc" "$svc"
		printf '[Strings]\r\nVendor="Enlighten Test"\r\nDesc="%s test device"\r\n' "$svc"
	} >"$dir/$svc.inf"
	printf 'driver %s\n' "$svc" >"$dir/$svc.sys"
	make_cat "$dir" "$svc"
}

# make_cat DIR NAME: DIR/NAME.cat, a signed catalog listing every other file
# of the package folder DIR (tests/fixtures/make-driver-cat, a test key).
make_cat() {
	find "$1" -type f ! -name "$2.cat" -print0 | sort -z |
		xargs -0 "$FIXTURES/make-driver-cat" "$1/$2.cat"
}
