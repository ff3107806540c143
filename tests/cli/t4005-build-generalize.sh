#!/bin/sh
# t4005-build-generalize.sh - a factory image carries no one machine's
# identity: the machine ID is empty, SSH host keys, the random seed,
# systemd's credential secret and DHCP leases are left out, and new SSH keys
# are made at first boot; `inspect` says so; Generalize=no keeps them.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/cli/build-lib.sh"

need_tools python3 sfdisk debugfs
[ -r /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || skip_all "systemd-boot-efi is not installed"

make_base used.tar.gz --identity
make_base clean.tar.gz
write_recipe img.conf used.tar.gz
mkdir out keep clean
ok "build from a used root" enlighten build img.conf -o out
part_extract out/test.raw 2 root.img
cat_() { debugfs -R "cat $1" root.img 2>/dev/null; }
has() { debugfs -R "stat $1" root.img 2>&1 | grep -q '^Inode:'; }

is "the machine ID is empty" "$(debugfs -R 'stat /etc/machine-id' root.img 2>/dev/null |
	sed -n 's/.*[^a-zA-Z]Size: \([0-9]*\).*/\1/p' | head -1)" 0
ok "the machine ID is read-only" sh -c "debugfs -R 'stat /etc/machine-id' root.img 2>/dev/null | grep -q 'Mode:  0444'"
fails "no dbus copy of the machine ID" has /var/lib/dbus/machine-id
fails "no SSH host key" has /etc/ssh/ssh_host_ed25519_key
fails "no public SSH host key" has /etc/ssh/ssh_host_rsa_key.pub
fails "no hard link to an SSH host key" has /etc/ssh/ssh_host_key_backup
ok "the SSH configuration stays" has /etc/ssh/sshd_config
fails "no random seed" has /var/lib/systemd/random-seed
fails "no credential secret" has /var/lib/systemd/credential.secret
fails "no DHCP lease" has /var/lib/dhcp/dhclient.eth0.leases
like "a unit makes new SSH host keys" "$(cat_ /usr/lib/systemd/system/enlighten-ssh-keygen.service)" \
	"ExecStart=/usr/bin/ssh-keygen -A"
ok "... and is enabled" has /etc/systemd/system/multi-user.target.wants/enlighten-ssh-keygen.service
info=$(cat_ /usr/share/enlighten/build.json)
like "build.json counts what was left out" "$(printf '%s' "$info" | tr -d ' \n')" \
	'"generalized":\{"machine-id":"empty","removed":\{"machine-id":2,"ssh-host-keys":5,"random-seed":1,"credential-secret":1,"dhcp-leases":1\}\}'

ok "inspect" enlighten inspect out/test.raw
like "inspect says the image is generalized" "$(last_output)" \
	"machine identity +generalized \(machine-id empty\)$"
ok "inspect --json" enlighten inspect --json out/test.raw
like "... with what is present" "$(last_output | tr -d ' \n')" \
	'"identity":\{"generalized":true,"machine-id":"empty","present":\{"machine-id":0,"ssh-host-keys":0'

write_recipe keep.conf used.tar.gz '[System]' 'Generalize=no'
ok "build with Generalize=no" enlighten build keep.conf -o keep
ok "inspect" enlighten inspect keep/test.raw
like "inspect names what one machine's identity the image holds" "$(last_output)" \
	"machine identity +NOT generalized \(machine-id set; 1 machine-id; 5 ssh-host-keys; 1 random-seed; 1 credential-secret; 1 dhcp-leases\)$"
part_extract keep/test.raw 2 root.img
is "the machine ID is kept" "$(cat_ /etc/machine-id)" 0123456789abcdef0123456789abcdef
fails "no SSH key unit" has /usr/lib/systemd/system/enlighten-ssh-keygen.service

write_recipe clean.conf clean.tar.gz
ok "build from a base without an identity" enlighten build clean.conf -o clean
part_extract clean/test.raw 2 root.img
ok "the machine ID is there, empty" has /etc/machine-id
fails "no SSH key unit without SSH keys" has /usr/lib/systemd/system/enlighten-ssh-keygen.service

write_recipe bad.conf clean.tar.gz '[System]' 'Generalize=maybe'
exits 2 "Generalize= takes yes or no" enlighten build bad.conf -o clean
like "... and says so" "$(last_output)" "'maybe' is not yes or no"

done_testing
