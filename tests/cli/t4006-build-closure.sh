#!/bin/sh
# t4006-build-closure.sh - the image's repository holds exactly the
# dependency closure of each staged profile on the base, solved with
# libsolv against the base's dpkg status or rpm database; the agent, run on
# the built tree, installs that complete set; a base that lacks something
# nobody provides stops the build with the missing capability named, and a
# base without a package database is built with a warning.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/closure-lib.sh"

need_tools python3 sfdisk debugfs dpkg-deb
[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi is not installed"
export SOURCE_DATE_EPOCH=1700000000

# an OEM component for kvm-guest that needs a library, beside what no
# kvm-guest install needs
mkdeb repo/debian oem-agent 1.0-1 "libqga (>= 2)" enlighten-profile-kvm-guest
mkdeb repo/debian libqga 2.0-1 "libc6"
mkdeb repo/debian libqga 1.0-1 "libc6"
mkdeb repo/debian unrelated 1.0-1
cp "$ENLIGHTEN_BUILDDIR"/payloads/repo/debian/enlighten-ic-kvm-guest_*.deb \
	"$ENLIGHTEN_BUILDDIR"/payloads/repo/debian/enlighten-ic-vmware-guest_*.deb repo/debian/
enlighten payload keygen -o key >/dev/null
ok "index" enlighten payload index --expires 36500 repo
ok "sign" enlighten payload sign --key key.key repo/catalog.json

dpkg_status tree/var/lib/dpkg/status libc6=2.36-9 base-files=12.4
mkdir -p tree/var/lib/dpkg/info tree/var/lib/dpkg/updates tree/usr/lib/systemd/system
# the unit kvm-guest enables, as the base's qemu-guest-agent would have it
printf '[Unit]\nDescription=stand-in\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' \
	>tree/usr/lib/systemd/system/qemu-guest-agent.service
make_base base.tar.gz --tree tree
write_recipe img.conf base.tar.gz '[Payloads]' 'Source=repo' 'PublicKey=key.pub' 'Profiles=kvm-guest'
mkdir out
ok "build on a Debian base" enlighten build img.conf -o out
part_extract out/test.raw 2 root.img
repo_ls() { debugfs -R "ls $1" root.img 2>/dev/null | tr ' ' '\n' | grep '\.\(deb\|rpm\)$' | sort | tr '\n' ' '; }
is "the image's repository holds exactly kvm-guest's closure" "$(repo_ls /var/lib/enlighten/repo/debian)" \
	"enlighten-ic-kvm-guest_0.1.0-1_all.deb libqga_2.0-1_all.deb oem-agent_1.0-1_all.deb "
closure=$(debugfs -R "cat /var/lib/enlighten/repo/closure.json" root.img 2>/dev/null | tr -d ' \n')
catalog_sha=$(sha256sum <repo/catalog.json | cut -d' ' -f1)
catalog_version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' repo/catalog.json)
is "the closure file names them for the profile, bound to the signed catalog" "$closure" \
	'{"schema":2,"catalog":{"version":'"$catalog_version"',"sha256":"'"$catalog_sha"'"},"profiles":{"kvm-guest":["debian/enlighten-ic-kvm-guest_0.1.0-1_all.deb","debian/libqga_2.0-1_all.deb","debian/oem-agent_1.0-1_all.deb"]}}'
closure_sha=$(debugfs -R "cat /var/lib/enlighten/repo/closure.json" root.img 2>/dev/null | sha256sum | cut -d' ' -f1)
is "the manifest lists the closure file's digest" \
	"$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["contents"]; print(" ".join(e["path"]+"="+e["sha256"] for e in c))' out/test.manifest.json)" \
	"/var/lib/enlighten/repo/closure.json=$closure_sha"

if [ "$(id -u)" -eq 0 ] && command -v dpkg >/dev/null; then
	mkdir root
	debugfs -R "rdump / root" root.img >/dev/null 2>&1
	ok "the agent on the built tree" enlighten-firstboot --root root --profile kvm-guest
	installed=$(dpkg-query --admindir=root/var/lib/dpkg -W -f='${db:Status-Abbrev}${Package}\n' |
		sed -n 's/^ii *//p' | sort | tr '\n' ' ')
	is "installs the complete set on the base's packages" "$installed" \
		"base-files enlighten-ic-kvm-guest libc6 libqga oem-agent "
	ok "the library's files are there" test -f root/usr/share/doc/libqga/marker
	cp root/var/lib/enlighten/repo/closure.json good-closure.json
	printf '{"schema":2,"catalog":{"sha256":"%s"},"profiles":{"vmware-guest":["debian/nope_1_all.deb"]}}\n' \
		"$catalog_sha" >root/var/lib/enlighten/repo/closure.json
	exits 1 "a closure file naming a path the catalog does not list" \
		enlighten-firstboot --root root --profile vmware-guest
	like "is refused with the file named" "$(last_output)" \
		"'/var/lib/enlighten/repo/closure.json' names a package the catalog does not list for this system; build the image again or remove the file"
	sed 's/"sha256": *"[0-9a-f]*"/"sha256": "'"$(printf '%064d' 0)"'"/' good-closure.json \
		>root/var/lib/enlighten/repo/closure.json
	exits 1 "a closure file solved against another catalog" \
		enlighten-firstboot --root root --profile vmware-guest
	like "is refused with the file named" "$(last_output)" \
		"'/var/lib/enlighten/repo/closure.json' was solved against another catalog than the signed one beside it; build the image again or remove the file"
	printf '{"schema":1,"profiles":{"vmware-guest":["debian/oem-agent_1.0-1_all.deb"]}}\n' \
		>root/var/lib/enlighten/repo/closure.json
	exits 1 "a closure file without the catalog's digest" \
		enlighten-firstboot --root root --profile vmware-guest
	like "is refused" "$(last_output)" "closure.json' is not bound to a signed catalog"
	echo '[1,2' >root/var/lib/enlighten/repo/closure.json
	exits 1 "a closure file that is not JSON" enlighten-firstboot --root root --profile vmware-guest
	like "is refused" "$(last_output)" "closure.json' is not a closure file"
else
	echo "# not root or no dpkg: the agent's install is checked in t5007"
fi

# the library is missing from the payload source
rm repo/debian/libqga_*.deb
enlighten payload index --expires 36500 repo >/dev/null 2>&1
enlighten payload sign --key key.key repo/catalog.json >/dev/null 2>&1
mkdir out2
exits 1 "a profile that cannot be solved stops the build" enlighten build img.conf -o out2
like "naming the source, the profile, the package and the missing capability" "$(last_output)" \
	"payload source 'repo': profile 'kvm-guest' cannot be installed on the base: nothing provides libqga >= 2 needed by oem-agent-1.0-1.all; add what is missing to the payload source and index it again, or drop the profile from Profiles="
is "and writes nothing" "$(finished_files out2)" ""

# a base without a package database
make_base nodb.tar.gz
write_recipe nodb.conf nodb.tar.gz '[Payloads]' 'Source=repo' 'PublicKey=key.pub' 'Profiles=vmware-guest'
mkdir out3
ok "a base without a package database builds" enlighten build nodb.conf -o out3
like "with a warning that says what is not checked" "$(last_output)" \
	"base '.*nodb.tar.gz' has no package database \(no var/lib/dpkg/status, no rpm database\): its packages are staged as the catalog tags them, without a dependency check"

# an RPM base
if command -v rpmbuild >/dev/null && mkrpm rrepo/linux qemu-guest-agent 7.2 "libqga >= 2, glibc" &&
	mkrpm rrepo/linux libqga 2.0 && mkrpm rrepo/linux libqga 1.0 && mkrpm rpms glibc 2.36 &&
	cp "$ENLIGHTEN_BUILDDIR"/payloads/repo/linux/enlighten-ic-kvm-guest-*.rpm rrepo/linux/ &&
	rpm_root rtree rpms/glibc-2.36-1.noarch.rpm &&
	rpm_sign "$ENLIGHTEN_BUILDDIR/payloads/gnupg" payloads@enlighten.invalid rrepo/linux/[lq]*.rpm; then
	enlighten payload index --expires 36500 rrepo >/dev/null 2>&1
	enlighten payload sign --key key.key rrepo/catalog.json >/dev/null 2>&1
	make_base rbase.tar.gz --tree rtree
	write_recipe rpm.conf rbase.tar.gz '[Payloads]' 'Source=rrepo' 'PublicKey=key.pub' 'Profiles=kvm-guest' \
		"PackageKeys=$ENLIGHTEN_BUILDDIR/payloads/RPM-GPG-KEY-enlighten-test"
	mkdir out4
	ok "build on an RPM base" enlighten build rpm.conf -o out4
	part_extract out4/test.raw 2 root.img
	is "the image's repository holds exactly kvm-guest's closure" "$(repo_ls /var/lib/enlighten/repo/linux)" \
		"enlighten-ic-kvm-guest-0.1.0-1.noarch.rpm libqga-2.0-1.noarch.rpm qemu-guest-agent-7.2-1.noarch.rpm "
else
	echo "# rpmbuild or rpm --root failed; skipping the RPM base"
fi

done_testing
