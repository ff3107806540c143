/* SPDX-License-Identifier: MIT */
/*
 * stage.c - the stage tracker (see stage.h): a table of console markers,
 * chosen from real boots under QEMU (tests/fixtures/console/ holds them
 * trimmed), matched anywhere on a cleaned line.
 */
#include <stdio.h>
#include <string.h>

#include "builder/boot-test/stage.h"
#include "lib/activate/summary.h"
#include "lib/basic/macro.h"

static const struct {
	const char *name;
	const char *label;
} stages[_STAGE_MAX] = {
	[STAGE_FIRMWARE] = { "firmware", "firmware" },
	[STAGE_LOADER] = { "loader", "boot loader" },
	[STAGE_XEN] = { "xen", "Xen" },
	[STAGE_KERNEL] = { "kernel", "kernel" },
	[STAGE_USERSPACE] = { "userspace", "userspace" },
	[STAGE_AGENT] = { "agent", "agent's line" },
	[STAGE_CHECKS] = { "checks", "guest-agent checks" },
	[STAGE_SHUTDOWN] = { "shutdown", "shutdown" },
};

const char *boot_stage_to_string(enum boot_stage s)
{
	return (unsigned)s < _STAGE_MAX ? stages[s].name : NULL;
}

const char *boot_stage_label(enum boot_stage s)
{
	return (unsigned)s < _STAGE_MAX ? stages[s].label : NULL;
}

/* The first row whose text a line contains gives its stage: so a more
 * specific text goes before a shorter one it contains. */
static const struct {
	enum boot_stage stage;
	const char *text;
} markers[] = {
	/* the agent's line, first: the journal puts its unit's name in front */
	{ STAGE_AGENT, AGENT_SUMMARY_MARKER },
	/* SeaBIOS's banner, and its hand-off to the disk's boot code */
	{ STAGE_FIRMWARE, "SeaBIOS (version " },
	{ STAGE_LOADER, "Booting from Hard Disk" },
	/* OVMF starting a boot option: the loader on the disk */
	{ STAGE_LOADER, "BdsDxe: starting Boot" },
	/* GRUB on a serial terminal, and systemd-boot's own messages */
	{ STAGE_LOADER, "Welcome to GRUB" },
	{ STAGE_LOADER, "GRUB loading" },
	{ STAGE_LOADER, "Booting `" }, /* GRUB starting its entry, under SeaBIOS too */
	{ STAGE_LOADER, "systemd-boot " },
	/* xen.efi's first line ("Xen 4.17.7 (c/s ) EFI loader"); then Xen's
	 * own lines all start "(XEN) " */
	{ STAGE_XEN, " EFI loader" },
	{ STAGE_XEN, "(XEN) " },
	/* dom0's Linux, before its console is up: its first raw lines */
	{ STAGE_KERNEL, "mapping kernel into physical memory" },
	{ STAGE_KERNEL, "about to get started" },
	/* Linux's EFI stub and decompressor, then its first message */
	{ STAGE_KERNEL, "EFI stub: " },
	{ STAGE_KERNEL, "Decompressing Linux" },
	{ STAGE_KERNEL, "Linux version " },
	/* the kernel starting init (an initramfs's or the root's), systemd */
	{ STAGE_USERSPACE, " as init process" },
	{ STAGE_USERSPACE, " running in system mode" },
	{ STAGE_USERSPACE, "systemd[1]: " },
	{ STAGE_USERSPACE, "Welcome to " },
	/* the agent's own lines (journal to console), a login prompt */
	{ STAGE_USERSPACE, "enlighten-firstboot[" },
	{ STAGE_USERSPACE, " login: " },
};

/* Lines that say the boot will not go on. */
static const char *const troubles[] = {
	"Kernel panic - not syncing",
	"(XEN) Panic on CPU",
	"You are in emergency mode",
	"Give root password for maintenance",
	"Entering emergency mode",
	"dracut-initqueue: Warning: Could not boot",
	"ALERT! ",
};

void console_clean(const char *line, char *out, size_t size)
{
	size_t n = 0;
	if (size == 0)
		return;
	for (const unsigned char *p = (const unsigned char *)line; *p && n + 1 < size; p++) {
		if (*p == 0x1b) {
			/* CSI: ESC [ parameters final (0x40-0x7e); a character set:
			 * ESC ( B; else ESC and one more */
			if (p[1] == '[') {
				p += 2;
				while (*p && !(*p >= 0x40 && *p <= 0x7e))
					p++;
			} else if (p[1] && strchr("()*+", p[1]))
				p += p[2] ? 2 : 1;
			else if (p[1])
				p++;
			if (!*p)
				break;
			continue;
		}
		if (*p < ' ' || *p == 0x7f) {
			if (*p == '\t' && n > 0)
				out[n++] = ' ';
			continue;
		}
		if (*p == ' ' && n == 0)
			continue;
		out[n++] = (char)*p;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

void stage_tracker_init(struct stage_tracker *t)
{
	*t = (struct stage_tracker){ .stage = STAGE_FIRMWARE };
	t->reached[STAGE_FIRMWARE] = true;
}

void stage_tracker_enter(struct stage_tracker *t, enum boot_stage s, uint64_t usec)
{
	if ((unsigned)s >= _STAGE_MAX || s <= t->stage)
		return;
	t->stage = s;
	t->reached[s] = true;
	t->usec[s] = usec;
}

/* A kernel message's time stamp, "[   57.574359] ...": the guest kernel's
 * clock, in usec. Returns false when the line has none. */
static bool kernel_stamp(const char *clean, uint64_t *ret)
{
	unsigned long sec, frac;
	int end = 0;
	if (clean[0] != '[' || sscanf(clean, "[ %lu.%6lu]%n", &sec, &frac, &end) != 2 || end == 0)
		return false;
	*ret = (uint64_t)sec * 1000000ULL + frac;
	return true;
}

/* A quiet kernel prints no banner, but its first message with a time stamp
 * (or the journal's, which carries the kernel's) says when it started: that
 * long before this line. Not under Xen, whose dom0 prints its own banner. */
static void kernel_from_stamp(struct stage_tracker *t, const char *clean, uint64_t usec)
{
	uint64_t stamp;
	if (t->reached[STAGE_KERNEL] || t->reached[STAGE_XEN] || t->stage > STAGE_KERNEL ||
	    !kernel_stamp(clean, &stamp))
		return;
	uint64_t at = stamp < usec ? usec - stamp : 0;
	if (at < t->usec[t->stage])
		at = t->usec[t->stage];
	t->stage = STAGE_KERNEL;
	t->reached[STAGE_KERNEL] = true;
	t->usec[STAGE_KERNEL] = at;
	snprintf(t->what[STAGE_KERNEL], sizeof(t->what[STAGE_KERNEL]),
		 "(from the kernel's time stamp) %s", clean);
}

int stage_tracker_feed(struct stage_tracker *t, const char *line, uint64_t usec)
{
	char clean[STAGE_LINE_MAX];
	console_clean(line, clean, sizeof(clean));
	if (!*clean)
		return -1;
	memcpy(t->tail[t->n_lines++ % STAGE_TAIL_LINES], clean, sizeof(clean));
	for (size_t i = 0; !t->trouble[0] && i < ELEMENTSOF(troubles); i++)
		if (strstr(line, troubles[i]))
			memcpy(t->trouble, clean, sizeof(clean));
	enum boot_stage before = t->stage;

	/* the whole line, not the cleaned start of it, is searched */
	for (size_t i = 0; i < ELEMENTSOF(markers); i++) {
		if (!strstr(line, markers[i].text))
			continue;
		enum boot_stage s = markers[i].stage;
		if (s == STAGE_FIRMWARE && !t->what[s][0])
			memcpy(t->what[s], clean, sizeof(clean));
		if (s <= t->stage)
			break;
		if (s > STAGE_KERNEL)
			kernel_from_stamp(t, clean, usec);
		stage_tracker_enter(t, s, usec);
		memcpy(t->what[s], clean, sizeof(clean));
		return (int)s;
	}
	if (t->stage < STAGE_KERNEL)
		kernel_from_stamp(t, clean, usec);
	return t->stage != before ? (int)t->stage : -1;
}

unsigned stage_tracker_n_tail(const struct stage_tracker *t)
{
	return t->n_lines < STAGE_TAIL_LINES ? t->n_lines : STAGE_TAIL_LINES;
}

const char *stage_tracker_tail(const struct stage_tracker *t, unsigned i)
{
	unsigned n = stage_tracker_n_tail(t);
	if (i >= n)
		return NULL;
	return t->tail[(t->n_lines - n + i) % STAGE_TAIL_LINES];
}
