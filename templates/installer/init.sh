#!/enlighten/bin/busybox sh
# SPDX-License-Identifier: MIT
# /init of the installer medium (enlighten build, Formats=installer;
# docs/installer.md). The base's own initramfs is loaded first: its udev
# and kernel modules find the disks; this segment adds busybox, enlighten
# with its libraries, and this script. It mounts the medium, writes the
# image with `enlighten deploy --pick`, shows the report on the console (and
# keeps it on the medium when it can) and powers off; a failed machine stays
# on, showing why, unless enlighten.failure=poweroff.
B=/enlighten/bin/busybox
say() { echo "enlighten-installer: $*"; }

# The report appended to reports.jsonl on the medium's report partition (FAT,
# marked installer-$ID) when the medium is writable: a USB stick, not a CD.
save_report() {
	for m in $MODULES; do # the base's initrd may have no FAT
		insmod "/enlighten/modules/$m" 2>/dev/null || $B insmod "/enlighten/modules/$m" 2>/dev/null
	done
	# the image is written: the medium's filesystem goes, since a mounted
	# whole disk keeps its partitions from being mounted (EBUSY)
	$B umount /medium 2>/dev/null
	d=${found#/dev/}
	[ -e "/sys/class/block/$d/partition" ] &&
		d=$($B basename "$($B readlink -f "/sys/class/block/$d/..")")
	$B mkdir -p /reports
	for p in /sys/block/"$d"/"$d"*; do
		part=/dev/${p##*/}
		[ -b "$part" ] || continue
		$B mount -t vfat -o ro "$part" /reports 2>/dev/null || continue
		if [ ! -f "/reports/installer-$ID" ]; then
			$B umount /reports
			continue
		fi
		if $B mount -o remount,rw /reports 2>/dev/null &&
			$B cat /tmp/report.jsonl >>/reports/reports.jsonl && $B sync; then
			say "report: appended to reports.jsonl on the medium ($part)"
		else
			say "report: NOT written to the medium: $part is read-only or full"
		fi
		$B umount /reports
		return
	done
	say "report: not written to the medium: $found has no report partition (a CD is read-only)"
}
. /enlighten/installer.conf

$B mkdir -p /proc /sys /dev /run /tmp /medium
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

rule=empty
force=
on_failure=stay
for w in $($B cat /proc/cmdline); do
	case "$w" in
	enlighten.failure=poweroff) on_failure=poweroff ;;
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
	if [ -f /tmp/report.jsonl ]; then
		while read -r line; do say "report: $line"; done </tmp/report.jsonl
		save_report
	fi
fi
$B sync
$B umount /medium 2>/dev/null
if [ $rc -eq 0 ]; then
	say "done: deployed and verified; powering off"
	$B poweroff -f
fi
# a failed machine stays on, its screen showing why: on a line, the ones
# still on after the run are the ones to look at (enlighten.failure=poweroff
# powers it off all the same)
if [ "$on_failure" = poweroff ]; then
	say "FAILED: exit status $rc, see above; powering off"
	$B poweroff -f
fi
say "FAILED: exit status $rc, see above; this machine stays on (power it off by hand)"
while :; do $B sleep 3600; done
