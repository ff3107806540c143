# SPDX-License-Identifier: MIT
# catalog-lib.sh - helpers for the catalog tests (3xxx), sourced after lib.sh.

# make_repo DIR N: DIR with N small payloads and a catalog.json (version 7,
# expiring $EXPIRES or in 2099) listing them with their true lengths
# and sha256.
make_repo() {
	local dir=$1 n=$2 i entries= sep=
	mkdir -p "$dir/linux"
	i=1
	while [ "$i" -le "$n" ]; do
		printf 'payload %d\n' "$i" >"$dir/linux/p$i.rpm"
		local len sha
		len=$(stat -c %s "$dir/linux/p$i.rpm")
		sha=$(sha256sum "$dir/linux/p$i.rpm" | cut -d' ' -f1)
		entries="$entries$sep{\"name\": \"p$i\", \"version\": \"1.0-1\", \"os\": \"linux\", \"profiles\": [\"kvm-guest\"], \"arch\": \"noarch\", \"path\": \"linux/p$i.rpm\", \"length\": $len, \"sha256\": \"$sha\"}"
		sep=", "
		i=$((i + 1))
	done
	cat >"$dir/catalog.json" <<JSON
{"schema": 1, "product": "enlighten", "channel": "stable", "version": 7,
 "issued": "2026-11-24T12:00:00Z", "expires": "${EXPIRES:-2099-11-24T12:00:00Z}",
 "payloads": [$entries]}
JSON
}
