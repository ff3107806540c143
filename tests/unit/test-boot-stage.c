/* SPDX-License-Identifier: MIT */
/*
 * test-boot-stage.c - boot-test's stage tracker fed with the consoles of
 * real boots under QEMU (trimmed, in tests/fixtures/console/; each file's
 * lines as the serial console gave them, escape sequences and carriage
 * returns included): the stages each boot reached, in order, with the line
 * that showed each; the line that says a boot stopped; the last lines kept
 * for the report; and the live line drawn from them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/boot-test/report.h"
#include "builder/boot-test/stage.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "tests/unit/tap.h"

/* Feeds the fixture line by line (split at '\n' as qemu.c splits it), line
 * i at i * step_usec, and lists the stages reached in *order; returns the
 * number of lines, -1 when unreadable. */
static int feed_fixture(const char *name, uint64_t step_usec, struct stage_tracker *t, char *order,
			size_t size)
{
	const char *src = getenv("ENLIGHTEN_SRCDIR");
	_cleanup_free_ char *path = strjoin(src ? src : ".", "/tests/fixtures/console/", name);
	_cleanup_free_ char *text = NULL;
	size_t n;
	_cleanup_close_ int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -EBADF;
	if (fd < 0 || fs_read_fd(fd, 1024 * 1024, &text, &n) < 0)
		return -1;
	stage_tracker_init(t);
	int lines = 0;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		enum boot_stage before = t->stage;
		int s = stage_tracker_feed(t, l, (uint64_t)++lines * step_usec);
		if ((s >= 0) != (t->stage != before) || (s >= 0 && s != (int)t->stage))
			return -2; /* the return value must say where it moved */
	}
	size_t k = 0;
	order[0] = '\0';
	for (enum boot_stage s = 0; s < _STAGE_MAX && k < size; s++)
		if (t->reached[s])
			k += (size_t)snprintf(order + k, size - k, "%s%s", k ? " " : "",
					      boot_stage_to_string(s));
	return lines;
}

static void test_kernel_panic(void)
{
	struct stage_tracker t;
	char order[256];
	int n = feed_fixture("uefi-kernel-panic.log", 1000, &t, order, sizeof(order));
	ok(n > 0, "uefi-kernel-panic.log read (%d lines)", n);
	is_str(order, "firmware loader kernel", "OVMF, systemd-boot, the kernel: then it stopped");
	is_int(t.stage, STAGE_KERNEL, "the stage reached is the kernel");
	ok(startswith(t.what[STAGE_LOADER], "BdsDxe: starting Boot0001"),
	   "the loader: OVMF's BdsDxe starting the disk's boot option: %s", t.what[STAGE_LOADER]);
	ok(startswith(t.what[STAGE_KERNEL], "EFI stub: Loaded initrd"),
	   "the kernel: its EFI stub, before 'Linux version': %s", t.what[STAGE_KERNEL]);
	is_int((int)(t.usec[STAGE_KERNEL] / 1000), 3, "timed at its line");
	ok(!t.reached[STAGE_USERSPACE] && !t.reached[STAGE_AGENT], "no userspace, no agent");
	ok(startswith(t.trouble, "[    6.439020] Kernel panic - not syncing: VFS: Unable to mount"),
	   "the panic is the line that says it stopped: %s", t.trouble);
	is_int((int)stage_tracker_n_tail(&t), STAGE_TAIL_LINES, "the last lines are kept");
	ok(strstr(stage_tracker_tail(&t, STAGE_TAIL_LINES - 1), "Kernel Offset: 0x2d400000"),
	   "the last of them is the console's last: %s",
	   stage_tracker_tail(&t, STAGE_TAIL_LINES - 1));
	ok(!strchr(stage_tracker_tail(&t, 0), '\r'), "without the carriage return");
}

static void test_initramfs_agent(void)
{
	struct stage_tracker t;
	char order[256];
	int n = feed_fixture("uefi-initramfs-agent.log", 1000, &t, order, sizeof(order));
	ok(n > 0, "uefi-initramfs-agent.log read (%d lines)", n);
	is_str(order, "firmware loader kernel userspace agent",
	       "OVMF, systemd-boot, the kernel, its initramfs's /init, the agent's line");
	ok(strstr(t.what[STAGE_USERSPACE], "Run /init as init process") != NULL,
	   "userspace: the kernel starting /init");
	is_str(t.what[STAGE_AGENT],
	       "enlighten: hypervisor=qemu role=guest profile=kvm-guest changed=yes",
	       "the agent's line, cleaned");
	ok(!t.trouble[0], "nothing said the boot stopped");
	/* what the runner adds: the checks and the shutdown, never backwards */
	stage_tracker_enter(&t, STAGE_CHECKS, 30000);
	stage_tracker_enter(&t, STAGE_FIRMWARE, 31000);
	is_int(t.stage, STAGE_CHECKS, "the runner enters the checks; an earlier stage is ignored");
	is_int(stage_tracker_feed(&t, "[    0.000000] Linux version 6.1.0", 32000), -1,
	       "a kernel line after the agent's line moves nothing");
	stage_tracker_enter(&t, STAGE_SHUTDOWN, 33000);
	is_int(t.stage, STAGE_SHUTDOWN, "then the shutdown");
}

static void test_systemd_quiet(void)
{
	struct stage_tracker t;
	char order[256];
	/* the real boot's agent line came 76.1 s after power-on, line 10 of 17 */
	int n = feed_fixture("uefi-systemd-boot-quiet.log", 7610000, &t, order, sizeof(order));
	ok(n > 0, "uefi-systemd-boot-quiet.log read (%d lines)", n);
	is_str(order, "firmware loader kernel userspace agent",
	       "a quiet Debian: OVMF, systemd-boot, then the agent's own lines, its summary");
	ok(startswith(t.what[STAGE_KERNEL], "(from the kernel's time stamp) [   44.698419]"),
	   "the quiet kernel timed from the first time stamp: %s", t.what[STAGE_KERNEL]);
	/* line 3 at 22.83 s carries 44.698419 s of the kernel's clock: none left
	 * before it, so the kernel's start is the loader's (line 2, 15.22 s) */
	is_int((int)(t.usec[STAGE_KERNEL] / 10000), 1522, "never before the stage before it");
	ok(strstr(t.what[STAGE_USERSPACE], "enlighten-firstboot[210]: profile kvm-guest: 3 steps"),
	   "userspace: the agent's first line on the console");
	ok(strstr(t.what[STAGE_AGENT], "enlighten-firstboot[210]: enlighten: hypervisor=qemu"),
	   "the agent's line, with the journal's prefix");
	is_int((int)(t.usec[STAGE_AGENT] / 10000), 7610, "at its time");

	/* on the host's clock: a stamp of 57.57 s on a line at 76.1 s puts the
	 * kernel's start at 18.5 s */
	stage_tracker_init(&t);
	(void)stage_tracker_feed(&t, "BdsDxe: starting Boot0001", 7600000);
	is_int(stage_tracker_feed(&t, "[   57.574359] enlighten-firstboot[210]: hi", 76100000),
	       STAGE_USERSPACE, "a time-stamped agent line: userspace");
	is_int((int)(t.usec[STAGE_KERNEL] / 100000), 185, "and the kernel from its stamp: 18.5 s");
}

static void test_grub_bios(void)
{
	struct stage_tracker t;
	char order[256];
	/* SeaBIOS prints nothing on the serial port here: GRUB's line is first */
	int n = feed_fixture("bios-grub-quiet.log", 1000000, &t, order, sizeof(order));
	ok(n > 0, "bios-grub-quiet.log read (%d lines)", n);
	is_str(order, "firmware loader kernel userspace agent",
	       "SeaBIOS, GRUB, a quiet kernel, the agent's lines, its summary");
	is_str(t.what[STAGE_LOADER], "Booting `universal-grub'", "GRUB booting its entry");
	is_int((int)(t.usec[STAGE_LOADER] / 1000000), 1, "at its line");
}

static void test_xen_dom0(void)
{
	struct stage_tracker t;
	char order[256];
	/* a dom0 whose agent had not printed its line within --timeout 150 */
	int n = feed_fixture("uefi-xen-dom0.log", 1000000, &t, order, sizeof(order));
	ok(n > 0, "uefi-xen-dom0.log read (%d lines)", n);
	is_str(order, "firmware loader xen kernel", "OVMF, systemd-boot, xen.efi, dom0's kernel");
	is_str(t.what[STAGE_XEN], "Xen 4.17.7 (c/s ) EFI loader", "Xen from xen.efi's first line");
	is_str(t.what[STAGE_KERNEL], "mapping kernel into physical memory",
	       "dom0's kernel from its first raw line, after Xen's last");
	is_int((int)(t.usec[STAGE_KERNEL] / 1000000), n - 1, "timed there, not from a time stamp");
	is_str(stage_tracker_tail(&t, stage_tracker_n_tail(&t) - 1), "about to get started...",
	       "the console's last line");
}

static void test_clean_and_line(void)
{
	char out[64];
	console_clean("\x1b[2J\x1b[01;01H\x1b[=3hBdsDxe: loading \t Boot0001\r", out, sizeof(out));
	is_str(out, "BdsDxe: loading   Boot0001", "escape sequences and CR dropped, a tab a space");
	console_clean("\x1b(B  \x1b[1mWelcome to \x1b[0mDebian!  ", out, sizeof(out));
	is_str(out, "Welcome to Debian!", "charset switch and colours dropped, trimmed");
	console_clean("0123456789", out, 5);
	is_str(out, "0123", "cut to size");

	struct stage_tracker t;
	stage_tracker_init(&t);
	(void)stage_tracker_feed(&t, "BdsDxe: starting Boot0001 \"UEFI Misc Device\"\r", 2000000);
	char line[60];
	boot_stage_line(&t, 5500000, line, sizeof(line));
	is_str(line, "     5.5 s  boot loader (3.5 s): BdsDxe: starting Boot0001 ",
	       "the live line: elapsed, the stage, its time, the last line, cut");
}

int main(void)
{
	test_kernel_panic();
	test_initramfs_agent();
	test_systemd_quiet();
	test_grub_bios();
	test_xen_dom0();
	test_clean_and_line();
	return tap_done();
}
