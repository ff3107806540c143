#!/bin/sh
# t2001-payload-packages.sh - the enlighten-ic-<profile> packages that make
# builds: one per profile, real RPMs (rpm -qpl, -K, -i --root work), signed
# with the build's test key, carrying what the profile matrix says.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

command -v rpm >/dev/null || skip_all "rpm is not installed"
REPO=$ENLIGHTEN_BUILDDIR/payloads/repo/linux
KEY=$ENLIGHTEN_BUILDDIR/payloads/RPM-GPG-KEY-enlighten-test
V=$(enlighten --version | sed -n '1s/^enlighten //p')
pkg() { echo "$REPO/enlighten-ic-$1-$V-1.noarch.rpm"; }

for conf in "$SRC"/payloads/profiles/*.conf; do
	p=$(basename "$conf" .conf)
	ok "package for $p" test -f "$(pkg "$p")"
	ok "rpm -qp --provides $p" rpm -qp --provides "$(pkg "$p")"
	like "$p provides its profile" "$(last_output)" "^enlighten-profile\($p\)$"
done
is "one package per profile" "$(ls "$REPO" | wc -l)" "$(ls "$SRC"/payloads/profiles/*.conf | wc -l)"

ok "rpm -qpl" rpm -qpl "$(pkg hyperv-guest)"
like "hyperv-guest carries the memory hot-add udev rule" "$(last_output)" \
	"^/usr/lib/udev/rules.d/80-enlighten-hyperv-guest.rules$"
like "hyperv-guest carries modules-load.d" "$(last_output)" \
	"^/usr/lib/modules-load.d/enlighten-hyperv-guest.conf$"
like "hyperv-guest carries a systemd preset" "$(last_output)" \
	"^/usr/lib/systemd/system-preset/50-enlighten-hyperv-guest.preset$"
ok "rpm -qp --info" rpm -qp --qf '%{ARCH} %{LICENSE}\n' "$(pkg hyperv-guest)"
like "noarch, MIT" "$(last_output)" "^noarch MIT$"

# signatures: checked against a keyring holding only the test key
mkdir db
ok "import the test key" rpm --dbpath "$PWD/db" --import "$KEY"
for p in hyperv-guest xen-pv metal; do
	ok "rpm -K $p" rpm --dbpath "$PWD/db" -K "$(pkg "$p")"
	like "$p: digests and signatures OK" "$(last_output)" "digests signatures OK$"
done
mkdir empty-db
fails "rpm -K without the key" rpm --dbpath "$PWD/empty-db" -K "$(pkg xen-pv)"
like "says the signature is not OK" "$(last_output)" "SIGNATURES NOT OK"
ok "the key file holds no secret" grep -q "BEGIN PGP PUBLIC KEY BLOCK" "$KEY"
fails "no secret key material" grep -q "PRIVATE KEY" "$KEY"

# reproducible: the same profile built again gives the same header and payload
B=$ENLIGHTEN_BUILDDIR/payloads
if [ -x "$B/gen-ic-files" ] && [ -d "$B/gnupg" ]; then
	cp -r "$B/gnupg" gnupg
	ok "rebuild kvm-guest" "$SRC/payloads/linux/build-ic.sh" \
		"$B/gen-ic-files" "$SRC/payloads/profiles" kvm-guest "$V" "$PWD/again" "$PWD/gnupg" \
		payloads@enlighten.invalid
	gpgconf --homedir "$PWD/gnupg" --kill gpg-agent 2>/dev/null
	qf='%{SHA256HEADER} %{PAYLOADDIGEST}\n'
	a=$(rpm -qp --qf "$qf" "again/linux/enlighten-ic-kvm-guest-$V-1.noarch.rpm" 2>/dev/null)
	like "digests read" "$a" '^[0-9a-f]{64} [0-9a-f]{64}$'
	is "same header and payload digests" "$a" \
		"$(rpm -qp --qf "$qf" "$(pkg kvm-guest)" 2>/dev/null)"
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "# rpm -i --root needs root (chroot); skipping install tests"
	done_testing
fi

ok "rpm -i --root" rpm -i --root "$PWD/root" "$(pkg hyperv-guest)"
is "udev rule onlines hot-added memory" \
	"$(grep -v '^#' root/usr/lib/udev/rules.d/80-enlighten-hyperv-guest.rules)" \
	'SUBSYSTEM=="memory", ACTION=="add", ATTR{state}=="offline", ATTR{state}="online"'
like "modules-load.d lists hv_storvsc" "$(cat root/usr/lib/modules-load.d/enlighten-hyperv-guest.conf)" \
	"^hv_storvsc$"
like "dracut carries the boot-critical drivers" \
	"$(cat root/usr/lib/dracut/dracut.conf.d/50-enlighten-hyperv-guest.conf)" \
	'^add_drivers\+=" hv_vmbus hv_storvsc "$'
like "modprobe.d keeps Gen1 disks off ata_piix" \
	"$(cat root/usr/lib/modprobe.d/50-enlighten-hyperv-guest.conf)" \
	"^options ata_piix prefer_ms_hyperv=1$"
like "preset enables the KVP daemon" \
	"$(cat root/usr/lib/systemd/system-preset/50-enlighten-hyperv-guest.preset)" \
	"^enable hv_kvp_daemon.service$"
ok "rpm -q --root" rpm -q --root "$PWD/root" enlighten-ic-hyperv-guest
fails "a second profile's package conflicts" rpm -i --root "$PWD/root" "$(pkg xen-pv)"
like "names the conflict" "$(last_output)" "conflicts with"
ok "rpm -e --root" rpm -e --root "$PWD/root" enlighten-ic-hyperv-guest
ok "install xen-pv" rpm -i --root "$PWD/root" "$(pkg xen-pv)"
like "xen-pv asks for the PV console" "$(cat root/usr/lib/enlighten/ic/xen-pv.env)" \
	'^KERNEL_ARGS="console=hvc0 "$'
ok "removed package leaves no files" test ! -e root/usr/lib/udev/rules.d/80-enlighten-hyperv-guest.rules

done_testing
