#!/bin/sh
# t6005-install.sh - `enlighten install --portal URL` on a system tree: the
# profile's packages come from the portal (nginx, https) into the local
# repository, verified; the first-boot agent's engine activates them and
# records state, so the agent then finds nothing to do; --dry-run prints
# the plan and activates nothing.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/fixtures/firstboot/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/portal.sh"

fb_fixture || skip_all "cannot build the payload fixture (rpmbuild, gpg)"
enlighten portal publish --key "$FB_FX/keys/test.key" --out portal "$FB_FX/repo" >/dev/null ||
	{ echo "Bail out! publish failed"; exit 1; }
portal_nginx "$TEST_DIR/portal"
fb_root r >/dev/null 2>&1 || skip_all "cannot make a test root"
rm -rf r/var/lib/enlighten/repo # the image has no repository: the portal is the source
P="--portal $NGINX_HTTPS --cacert $TEST_DIR/tls/cert.pem"

exits 2 "install without a portal" enlighten install --root r
ok "install --dry-run" enlighten install $P --root r --profile kvm-guest --dry-run
like "... fetches the profile's packages, verified" "$(last_output)" \
	"fetched  linux/enlighten-ic-kvm-guest-.*sha256 ok"
like "... prints the plan" "$(last_output)" '"profile": "kvm-guest"'
like "... which installs the profile's package from the repository" "$(last_output)" \
	'"path": "var/lib/enlighten/repo/linux/enlighten-ic-kvm-guest'
is "... installs nothing" "$(fb_packages r)" ""
ok "... records no state" test ! -e r/var/lib/enlighten/state.json
printf '[Firstboot]\nChannel=testing\n' >r/etc/enlighten/firstboot.conf
fails "the agent on a system that follows channel testing" enlighten-firstboot --root r \
	--profile kvm-guest
like "... refuses the stable repository" "$(last_output)" \
	"the catalog is for product 'enlighten', channel 'stable'; '/etc/enlighten/firstboot.conf' pins product 'enlighten', channel 'testing'"
is "... installs nothing" "$(fb_packages r)" ""
rm r/etc/enlighten/firstboot.conf

ok "install --profile kvm-guest" enlighten install $P --root r --profile kvm-guest
like "... uses the verified packages from the dry run" "$(last_output)" \
	"present  linux/enlighten-ic-kvm-guest-.*sha256 ok"
like "... the agent's summary" "$(last_output)" "profile=kvm-guest changed=yes"
like "... the package is installed" "$(fb_packages r)" "enlighten-ic-kvm-guest"
like "... state recorded as first boot does" "$(cat r/var/lib/enlighten/state.json)" \
	'"profile": "kvm-guest"'
ok "... the repository has the signed catalog" \
	cmp portal/catalog.json r/var/lib/enlighten/repo/catalog.json
like "... the catalog version is remembered" "$(cat r/var/lib/enlighten/portal-state.json)" \
	'"version": 1'
ok "the agent agrees afterwards" enlighten-firstboot --root r --profile kvm-guest
like "... nothing to change" "$(last_output)" "profile=kvm-guest changed=no"
ok "install again" enlighten install $P --root r --profile kvm-guest
like "... the package is present and verified again" "$(last_output)" \
	"present  linux/enlighten-ic-kvm-guest-.*sha256 ok"
like "... nothing to change" "$(last_output)" "changed=no"

like "... warns that the next boot undoes --profile unless it is pinned" "$(last_output)" \
	"--profile 'kvm-guest' holds until the next boot, .* pin it: 'Profile=kvm-guest' in the \[Firstboot\] section of /etc/enlighten/firstboot.conf"
fails "the next boot's agent (nothing forced)" enlighten-firstboot --root r
like "... goes for what it detects instead, as warned" "$(last_output)" \
	"activating profile 'metal' failed"

printf '[Firstboot]\nProfile=kvm-guest\n' >r/etc/enlighten/firstboot.conf
ok "install --profile kvm-guest, pinned in firstboot.conf" enlighten install $P --root r \
	--profile kvm-guest
is "... no warning" "$(last_output | grep -c 'holds until the next boot')" 0
ok "the next boot's agent" enlighten-firstboot --root r
like "... keeps the pinned profile" "$(last_output)" "profile=kvm-guest changed=no forced=yes"
rm r/etc/enlighten/firstboot.conf

printf '[Firstboot]\nChannel=testing\n' >r/etc/enlighten/firstboot.conf
fails "install on a system that follows channel testing" enlighten install $P --root r \
	--profile kvm-guest
like "... refuses the stable catalog" "$(last_output)" \
	"it is for product 'enlighten', channel 'stable'; this machine follows product 'enlighten', channel 'testing'"
exits 2 "--channel stable against firstboot.conf's Channel=testing" enlighten install $P \
	--root r --profile kvm-guest --channel stable
like "... says where the pin is" "$(last_output)" \
	"--channel 'stable' differs from 'Channel=testing' in '/etc/enlighten/firstboot.conf'"
printf '[Firstboot]\nChannel=a/b\n' >r/etc/enlighten/firstboot.conf
exits 2 "a channel that is not a word" enlighten install $P --root r --profile kvm-guest
like "... names the line" "$(last_output)" "line 2: bad value 'a/b' for 'Channel'"
rm r/etc/enlighten/firstboot.conf

ok "install with the profile the detector chooses" enlighten install $P --root r
like "... a tree without hypervisor signals is metal" "$(last_output)" "profile=metal"

rm -rf r/etc/enlighten/keys
fails "no trusted key in the tree" enlighten install $P --root r --profile kvm-guest
like "... says where the key goes" "$(last_output)" "no trusted key: put the vendor's public key in '.*/r/etc/enlighten/keys/'"

done_testing
