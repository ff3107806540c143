#!/enlighten/bin/busybox sh
# SPDX-License-Identifier: MIT
# /init of the installer medium (enlighten build, Formats=installer;
# docs/installer.md). The base's own initramfs is loaded first: its udev
# and kernel modules find the disks; this segment adds busybox, enlighten
# with its libraries, and this script. It mounts the medium, writes the
# image with `enlighten deploy --pick`, shows the report on the console and
# powers off.
B=/enlighten/bin/busybox
say() { echo "enlighten-installer: $*"; }
. /enlighten/installer.conf

$B mkdir -p /proc /sys /dev /run /tmp /medium
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

rule=empty
force=
for w in $($B cat /proc/cmdline); do
	case "$w" in
	enlighten.target=*) rule="${w#enlighten.target=}" ;;
	enlighten.force=1 | enlighten.force=yes) force=--force-picked ;;
	esac
done

say "image $IMAGE; loading drivers"
for u in /usr/lib/systemd/systemd-udevd /lib/systemd/systemd-udevd; do
	[ -x "$u" ] || continue
	"$u" --daemon --resolve-names=never
	udevadm trigger --type=subsystems --action=add
	udevadm trigger --type=devices --action=add
	udevadm settle --timeout=60
	break
done
for m in isofs sr_mod; do modprobe -q "$m" 2>/dev/null; done

found=
tries=0
while [ -z "$found" ] && [ $tries -lt 30 ]; do
	for d in /dev/sr* /dev/vd* /dev/sd* /dev/nvme*n* /dev/xvd*; do
		[ -b "$d" ] || continue
		$B mount -t iso9660 -o ro "$d" /medium 2>/dev/null || continue
		if [ -f "/medium/enlighten/installer-$ID" ]; then
			found=$d
			break
		fi
		$B umount /medium
	done
	[ -n "$found" ] || { tries=$((tries + 1)); $B sleep 1; }
done

rc=2
if [ -z "$found" ]; then
	say "FAILED: cannot find the installer medium (an ISO 9660 filesystem with enlighten/installer-$ID)"
else
	say "medium $found; target by rule '$rule'${force:+ (forced)}"
	/enlighten/lib/ld-linux-x86-64.so.2 --library-path /enlighten/lib \
		/enlighten/bin/enlighten deploy "/medium/$IMAGE" --pick "$rule" $force \
		--progress lines --report /tmp/report.jsonl
	rc=$?
	[ -f /tmp/report.jsonl ] && while read -r line; do say "report: $line"; done </tmp/report.jsonl
fi
$B sync
if [ $rc -eq 0 ]; then
	say "done: deployed and verified; powering off"
else
	say "FAILED: exit status $rc, see above; powering off"
fi
$B umount /medium 2>/dev/null
$B poweroff -f
