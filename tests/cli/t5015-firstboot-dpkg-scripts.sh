#!/bin/sh
# t5015-firstboot-dpkg-scripts.sh - what a package's maintainer scripts
# find first in their PATH while the agent's dpkg runs: `systemctl
# daemon-reload` does nothing (the agent reloads once afterwards),
# `udevadm trigger` is written down for one run after the transaction
# (dropped in a tree: no udev to ask), invoke-rc.d and deb-systemd-invoke
# answer as under the agent's policy-rc.d (no start) without asking
# systemd, deb-systemd-helper's debian-installed is answered from the
# helper's state file, while every other call reaches the root's own
# command. The root is a tree with busybox as its shell (dpkg --root runs
# the scripts chrooted); hyperv-daemons is a stand-in whose postinst makes
# the calls Debian's makes, and the root's systemctl, udevadm, invoke-rc.d,
# deb-systemd-invoke and deb-systemd-helper are stand-ins that write down
# each call.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

command -v dpkg >/dev/null || skip_all "dpkg is not installed"
[ "$(id -u)" -eq 0 ] || skip_all "dpkg --root needs root"
bb=$(command -v busybox) || skip_all "busybox is not installed"
file -L "$bb" 2>/dev/null | grep -q 'statically linked' || skip_all "busybox is not static"
export SOURCE_DATE_EPOCH=1700000000

w=$TEST_DIR/deb
mkdir -p "$w/DEBIAN" "$w/usr/lib/systemd/system" repo/debian
printf 'Package: hyperv-daemons\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Test <t@enlighten.invalid>\nDescription: stand-in\n' \
	>"$w/DEBIAN/control"
for u in hv-kvp-daemon hv-vss-daemon hv-fcopy-daemon; do
	printf '[Unit]\nDescription=stand-in\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' \
		>"$w/usr/lib/systemd/system/$u.service"
done
cat >"$w/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
log=/var/tmp/postinst
echo "PATH=$PATH" >>$log
udevadm trigger || true
udevadm trigger --action=add --subsystem-match=misc || true
udevadm info --version >>$log
systemctl daemon-reload && echo "daemon-reload: $?" >>$log
systemctl --quiet is-enabled hv-kvp-daemon.service || echo "is-enabled: $?" >>$log
invoke-rc.d --skip-systemd-native hv-kvp-daemon start && echo "invoke-rc.d start: $?" >>$log
deb-systemd-invoke start hv-kvp-daemon.service && echo "deb-systemd-invoke start: $?" >>$log
invoke-rc.d --query hv-kvp-daemon start || echo "invoke-rc.d --query: $?" >>$log
deb-systemd-helper debian-installed hv-kvp-daemon.service || echo "debian-installed: $?" >>$log
deb-systemd-helper debian-installed hv-vss-daemon.service && echo "debian-installed, state: $?" >>$log
deb-systemd-helper update-state hv-kvp-daemon.service
EOF
chmod 755 "$w/DEBIAN/postinst"
dpkg-deb --root-owner-group -Zgzip -b "$w" repo/debian/hyperv-daemons_1.0-1_all.deb >/dev/null
cp "$ENLIGHTEN_BUILDDIR"/payloads/repo/debian/enlighten-ic-hyperv-guest_*.deb repo/debian/
ok "keygen" enlighten payload keygen --out k
ok "index" enlighten payload index --expires 36500 repo
ok "sign" enlighten payload sign --key k.key repo/catalog.json

r=$PWD/r
mkdir -p r/var/lib/dpkg/info r/var/lib/dpkg/updates r/var/lib/enlighten r/etc/enlighten/keys \
	r/usr/share/enlighten/payloads r/usr/lib/systemd/system r/etc/systemd/system r/usr/sbin \
	r/usr/bin r/bin r/var/tmp
: >r/var/lib/dpkg/status
cp "$bb" r/bin/busybox
ln -s busybox r/bin/sh
cp -R repo r/var/lib/enlighten/repo
cp k.pub r/etc/enlighten/keys/
cp -R "$ENLIGHTEN_DATADIR/payloads/profiles" r/usr/share/enlighten/payloads/profiles
# the root's own commands: stand-ins that write down each call and answer
# as systemd's would for a unit that is not enabled
for c in systemctl udevadm invoke-rc.d deb-systemd-invoke deb-systemd-helper; do
	printf '#!/bin/sh\necho "%s $*" >>/var/tmp/calls\n[ "$1" = info ] && echo 252\n' "$c" >"r/usr/bin/$c"
	[ "$c" = systemctl ] && printf '[ "$2" = is-enabled ] && exit 1\n' >>"r/usr/bin/$c"
	[ "$c" = invoke-rc.d ] && printf '[ "$1" = --query ] && exit 101\n' >>"r/usr/bin/$c"
	# as Debian's helper does after a change
	[ "$c" = deb-systemd-helper ] && printf 'systemctl daemon-reload\n' >>"r/usr/bin/$c"
	printf 'exit 0\n' >>"r/usr/bin/$c"
	chmod 755 "r/usr/bin/$c"
done

# deb-systemd-helper's state of a unit it has seen before
mkdir -p r/var/lib/systemd/deb-systemd-helper-enabled
: >r/var/lib/systemd/deb-systemd-helper-enabled/hv-vss-daemon.service.dsh-also

ok "hyperv-guest on a dpkg root" enlighten-firstboot --root r --profile hyperv-guest
like "summary" "$(last_output)" "profile=hyperv-guest changed=yes forced=yes"
like "the scripts' PATH starts with the agent's directory" "$(cat r/var/tmp/postinst)" \
	"PATH=/var/lib/enlighten/script-path:"
like "daemon-reload answered" "$(cat r/var/tmp/postinst)" "daemon-reload: 0"
like "invoke-rc.d's start answered as the policy says (nothing done)" "$(cat r/var/tmp/postinst)" \
	"invoke-rc.d start: 0"
like "so is deb-systemd-invoke's" "$(cat r/var/tmp/postinst)" "deb-systemd-invoke start: 0"
like "udevadm's other calls reach the root's own" "$(cat r/var/tmp/postinst)" "^252"
like "so does invoke-rc.d --query, which the policy does not settle" "$(cat r/var/tmp/postinst)" \
	"invoke-rc.d --query: 101"
like "deb-systemd-helper debian-installed answered from its state file: none" \
	"$(cat r/var/tmp/postinst)" "debian-installed: 1"
like "and one" "$(cat r/var/tmp/postinst)" "debian-installed, state: 0"
is "the root's commands saw only the calls that were theirs" "$(cat r/var/tmp/calls)" \
	"udevadm info --version
systemctl --quiet is-enabled hv-kvp-daemon.service
invoke-rc.d --query hv-kvp-daemon start
deb-systemd-helper update-state hv-kvp-daemon.service"
ok "nothing of the directory left behind" test ! -e r/var/lib/enlighten/script-path
ok "nor the policy" test ! -e r/usr/sbin/policy-rc.d
ok "the units enabled by the agent" \
	test -L r/etc/systemd/system/multi-user.target.wants/hv-kvp-daemon.service

done_testing
