/* SPDX-License-Identifier: MIT */
/*
 * domu.c - a Xen guest of the image inside boot-test's dom0 (see domu.h).
 * Everything in dom0 is one shell script run by the QEMU guest agent
 * (guest-exec): the disk's partition table put back, the xl configuration
 * written, the guest created paused, its console copied to a file by `xl
 * console` (its input not a terminal: it only copies), the guest unpaused.
 * Then the file is read back through the guest agent until the summary
 * line shows. A PV or PVH guest is started with its entry's kernel and
 * initrd; an HVM guest boots its disk as a machine would: hvmloader and
 * SeaBIOS read its partition table and start the boot loader in its MBR,
 * and its console is the serial port of its device model (QEMU in dom0).
 * Nothing here prints.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/boot-test/domu.h"
#include "builder/boot-test/qemu.h"
#include "builder/boot-test/qga.h"
#include "lib/activate/summary.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/json.h"
#include "lib/basic/macro.h"
#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"

#define CONSOLE_FILE "/run/" DOMU_NAME ".console"
#define BOOT_DIR "/run/" DOMU_NAME ".boot"
#define POLL_MSEC 3000
#define ALIVE_EVERY 10 /* polls between checks that the guest still runs */
#define TAIL_LINES 10
#define STOP_SECONDS 120
#define STOP_SECONDS_S "120"
#define SCRIPT_USEC (120ULL * 1000000ULL)
#define XL_LINES_S "6" /* of xl create's own output when it fails */

void domu_report_done(struct domu_report *r)
{
	free(r->line);
	free(r->problem);
	strv_free(r->console_tail);
	*r = (struct domu_report){};
}

/* Text that goes into the script between single quotes and into xl's
 * double-quoted strings. */
static bool script_safe(const char *s)
{
	return s && !s[strcspn(s, "'\"\\$`\n")];
}

static int problem(struct domu_report *r, const char *fmt, ...) _printf_(2, 3);
static int problem(struct domu_report *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(r->problem);
	if (vasprintf(&r->problem, fmt, ap) < 0)
		r->problem = NULL;
	va_end(ap);
	return 0;
}

/* The script's start: the guest's disks in dom0, the MBR signature
 * boot-test cleared written back, through a node of our own (in /dev: /run
 * is nodev): udev watches /dev/vdX and would read the table again in dom0,
 * whose partitions have the same PARTUUIDs. */
#define SCRIPT_DISKS                                                                               \
	"exec 2>&1; set -e\n"                                                                      \
	"disk=/dev/disk/by-id/virtio-" DOMU_DISK_SERIAL "\n"                                       \
	"boot=/dev/disk/by-id/virtio-" DOMU_BOOT_SERIAL "\n"                                       \
	"[ -b $disk ] || { echo \"no $disk in dom0\"; exit 3; }\n"                                 \
	"[ -b $boot ] || { echo \"no $boot in dom0\"; exit 3; }\n"                                 \
	"dev=$(readlink -f $disk); node=/dev/." DOMU_NAME "; rm -f $node\n"                        \
	"mknod $node b $((0x$(stat -c %%t $dev))) $((0x$(stat -c %%T $dev)))\n"                    \
	"printf '\\125\\252' | dd of=$node bs=1 seek=510 conv=notrunc,fsync status=none\n"         \
	"rm -f $node\n"

/* The xl configuration's lines every type shares. */
#define CFG_COMMON                                                                                 \
	"name = \"" DOMU_NAME "\"\n"                                                               \
	"memory = 512\n"                                                                           \
	"vcpus = 1\n"                                                                              \
	"on_reboot = \"destroy\"\n"                                                                \
	"on_crash = \"destroy\"\n"

/* An HVM guest needs its device model in dom0 (QEMU, where Debian's libxl
 * and Xen's own build start it); without one xl create fails deep in libxl:
 * said first, in the words of the fix. */
#define SCRIPT_HVM_DM                                                                              \
	"dm=\n"                                                                                    \
	"for f in /usr/libexec/xen-qemu-system-i386 /usr/lib/xen/bin/qemu-system-i386; do\n"       \
	"  if [ -x $f ]; then dm=$f; fi\n"                                                         \
	"done\n"                                                                                   \
	"[ -n \"$dm\" ] || { echo 'no device model for HVM guests in dom0 (QEMU as "               \
	"/usr/libexec/xen-qemu-system-i386 or /usr/lib/xen/bin/qemu-system-i386: the Debian "      \
	"package qemu-system-xen, which the profile xen-dom0 installs)'; exit 5; }\n"

/* An HVM guest: the whole disk as its first IDE disk (xen-blkfront takes
 * it over once the kernel runs), booted from it; its serial port on a pty
 * in dom0; no display. */
#define CFG_HVM                                                                                    \
	"type = \"hvm\"\n"                                                                         \
	"disk = [ \"phy:/dev/disk/by-id/virtio-" DOMU_DISK_SERIAL ",hda,w\" ]\n"                   \
	"boot = \"c\"\n"                                                                           \
	"serial = \"pty\"\n"                                                                       \
	"vnc = 0\n"                                                                                \
	"sdl = 0\n"                                                                                \
	"vga = \"none\"\n"

/* The script's end: the guest created paused, its console (xenconsole
 * copies it to its standard output when its input is not a terminal: the
 * PV console, or the serial port of an HVM guest's device model), then
 * unpaused; xl's own lines when it cannot be created. */
#define SCRIPT_CREATE(console)                                                                     \
	"if ! xl create -p /run/" DOMU_NAME ".cfg >/run/" DOMU_NAME ".xl.log 2>&1; then\n"         \
	"  tail -n " XL_LINES_S " /run/" DOMU_NAME ".xl.log; exit 4\n"                             \
	"fi\n"                                                                                     \
	"setsid xl console -t " console " " DOMU_NAME " > " CONSOLE_FILE " 2>&1 </dev/null &\n"    \
	"sleep 2\n"                                                                                \
	"xl unpause " DOMU_NAME "\n"                                                               \
	"xl domid " DOMU_NAME "\n"

/* The script that starts the guest in dom0; prints its domain id. */
static char *start_script(const char *type, const struct boot_entry *plain)
{
	char *s = NULL;
	if (streq(type, "hvm")) {
		if (asprintf(&s, SCRIPT_DISKS SCRIPT_HVM_DM "cat > /run/" DOMU_NAME
							    ".cfg <<'EOF'\n" CFG_COMMON CFG_HVM
							    "EOF\n" SCRIPT_CREATE("serial")) < 0)
			return NULL;
		return s;
	}
	/* xl's extra= is the guest's own command line, as its disk's entry
	 * has it; console=hvc0 added where it has none, as a Xen
	 * administrator's configuration would (with console=ttyS0 alone a
	 * PV guest's console is silent) */
	bool hvc = strstr(plain->options, "console=hvc0") != NULL;
	if (asprintf(&s,
		     SCRIPT_DISKS
		     /* the kernel and initrd of the guest disk's own entry */
		     "rm -rf " BOOT_DIR " && mkdir " BOOT_DIR " && tar -xf $boot -C " BOOT_DIR "\n"
		     "cat > /run/" DOMU_NAME ".cfg <<'EOF'\n" CFG_COMMON "type = \"%s\"\n"
		     "kernel = \"" BOOT_DIR "/linux\"\n"
		     "%s"
		     "extra = \"%s%s\"\n"
		     "disk = [ \"phy:/dev/disk/by-id/virtio-" DOMU_DISK_SERIAL ",xvda,w\" ]\n"
		     "EOF\n" SCRIPT_CREATE("pv"),
		     type, plain->initrd ? "ramdisk = \"" BOOT_DIR "/initrd\"\n" : "",
		     plain->options, hvc ? "" : " console=hvc0") < 0)
		return NULL;
	return s;
}

static int sh(struct qga *q, const char *script, uint64_t deadline, int *ret_code, char **ret_out)
{
	char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };
	return qga_exec(q, argv, deadline, ret_code, ret_out);
}

/* The summary line in the console text, or NULL. */
static char *find_line(const char *text)
{
	const char *m = strstr(text, AGENT_SUMMARY_MARKER);
	if (!m)
		return NULL;
	/* whole lines only: the console is read while the guest writes it */
	size_t n = strcspn(m, "\r\n");
	if (!m[n])
		return NULL;
	char *s = strndup(m, n);
	if (s)
		strstrip(s);
	return s;
}

static int keep_tail(struct domu_report *r, const char *text)
{
	_cleanup_free_ char *copy = strdup(text ?: "");
	const char *lines[TAIL_LINES] = {};
	unsigned n = 0;
	char *save = NULL;
	if (!copy)
		return -ENOMEM;
	for (char *l = strtok_r(copy, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save))
		if (*strstrip(l))
			lines[n++ % TAIL_LINES] = l;
	for (unsigned i = n > TAIL_LINES ? n - TAIL_LINES : 0; i < n; i++)
		if (strv_extend(&r->console_tail, lines[i % TAIL_LINES]) < 0)
			return -ENOMEM;
	return 0;
}

/* xl's log of the guest (how it ended), after its console's tail. */
static int xl_log(struct qga *q, struct domu_report *r, uint64_t deadline)
{
	_cleanup_free_ char *out = NULL;
	int code;
	if (sh(q, "tail -n 5 /var/log/xen/xl-" DOMU_NAME ".log 2>&1", deadline, &code, &out) < 0)
		return 0;
	_cleanup_free_ char *text = strjoin("xl's log:\n", out);
	return text ? keep_tail(r, text) : -ENOMEM;
}

/* Reads the guest's console until the line, the deadline, or the guest's end. */
static int wait_line(struct qga *q, struct domu_report *r, uint64_t start, uint64_t deadline)
{
	_cleanup_free_ char *text = NULL;
	for (unsigned polls = 1;; polls++) {
		free(text);
		text = NULL;
		if (qga_read_file(q, CONSOLE_FILE, &text, NULL, NULL) >= 0 &&
		    (r->line = find_line(text))) {
			r->usec_line = now_usec() - start;
			return 0;
		}
		if (now_usec() >= deadline) {
			problem(r, "no summary line from the %s guest within the time limit",
				r->type);
			return keep_tail(r, text);
		}
		if (polls % ALIVE_EVERY == 0) {
			_cleanup_free_ char *out = NULL;
			int code;
			if (sh(q, "xl domid " DOMU_NAME, deadline, &code, &out) >= 0 && code != 0) {
				problem(r, "the %s guest stopped before its summary line", r->type);
				return keep_tail(r, text) < 0 ? -ENOMEM : xl_log(q, r, deadline);
			}
		}
		poll(NULL, 0, POLL_MSEC);
	}
}

/* xl create failed (or the script before it): xl's own last lines, as the
 * tail and in the problem, on one line; exit status 5, the script's own
 * check that dom0 can run the guest at all. */
static int create_failed(struct domu_report *r, int k, int code, char *out)
{
	if (k < 0) {
		problem(r, "cannot start the %s guest through dom0's guest agent: %s", r->type,
			strerror(-k));
		return 0;
	}
	if (keep_tail(r, out) < 0)
		return -ENOMEM;
	_cleanup_free_ char *one = strdup("");
	for (char **l = r->console_tail; l && *l && one; l++) {
		char *next = strjoin(one, *one ? "; " : "", *l);
		free(one);
		one = next;
	}
	if (!one)
		return -ENOMEM;
	if (code == 5)
		problem(r, "dom0 cannot run the %s guest: %s", r->type, one);
	else
		problem(r, "xl create of the %s guest failed in dom0: %s", r->type,
			*one ? one : "no output");
	return 0;
}

int domu_run(const char *qga_socket, const char *type, const struct boot_entry *plain,
	     uint64_t deadline, struct domu_report *ret)
{
	struct domu_report r = { .type = type, .at_start = now_usec() };
	_cleanup_free_ char *script = NULL, *out = NULL;
	struct qga *q = NULL;
	uint64_t start = r.at_start;
	bool hvm = streq(type, "hvm"); /* boots its disk: no entry of it is handed over */
	int code = -1, k;

	if (!hvm && (!plain || !plain->kernel)) {
		problem(&r, "the guest's disk has no plain kernel entry to start it from");
		goto done;
	}
	if (!hvm && !script_safe(plain->options)) {
		problem(&r,
			"the entry '%s' of the guest's disk has quotes, '$' or '\\' in its "
			"options",
			plain->id);
		goto done;
	}
	script = start_script(type, plain);
	if (!script)
		return -ENOMEM;
	k = qga_open(qga_socket, deadline, &q);
	if (k < 0) {
		problem(&r, "dom0's guest agent did not answer (%s)", strerror(-k));
		goto done;
	}
	k = sh(q, script, now_usec() + SCRIPT_USEC, &code, &out);
	if (k < 0 || code != 0) {
		k = create_failed(&r, k, code, out);
		if (k < 0)
			goto fail;
		goto done;
	}
	r.started = true;
	k = wait_line(q, &r, start, deadline);
	if (k < 0)
		goto fail;

	/* a clean shutdown, so the guest's disk is as its agent left it */
	free(out);
	out = NULL;
	/* -F: the ACPI power button for an HVM guest without PV drivers */
	k = sh(q,
	       hvm ? "timeout " STOP_SECONDS_S " xl shutdown -F -w " DOMU_NAME
		     " >/dev/null 2>&1 && "
		     "echo shutdown || { xl destroy " DOMU_NAME
		     " >/dev/null 2>&1; echo destroyed; }"
		   : "timeout " STOP_SECONDS_S " xl shutdown -w " DOMU_NAME " >/dev/null 2>&1 && "
		     "echo shutdown || { xl destroy " DOMU_NAME
		     " >/dev/null 2>&1; echo destroyed; }",
	       now_usec() + (STOP_SECONDS + 30) * 1000000ULL, &code, &out);
	r.stopped = k >= 0 && startswith(out, "shutdown") ? "shutdown" : "destroyed";
done:
	qga_close(q);
	*ret = r;
	return 0;
fail:
	qga_close(q);
	domu_report_done(&r);
	return k;
}

json_object *domu_report_json(const struct domu_report *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(r->type));
	json_object_object_add(o, "started", json_object_new_boolean(r->started));
	json_object_object_add(o, "summary", json_string_or_null(r->line));
	json_object_object_add(o, "problem", json_string_or_null(r->problem));
	json_object_object_add(o, "stopped", json_string_or_null(r->stopped));
	json_object_object_add(o, "seconds_after_dom0_line",
			       r->line ? json_object_new_double((double)r->usec_line / 1e6) : NULL);
	json_object_object_add(o, "seconds_after_power_on",
			       r->line && r->usec_power_on
				       ? json_object_new_double((double)r->usec_power_on / 1e6)
				       : NULL);
	json_object_object_add(o, "console_tail", json_strv_or_null(r->console_tail));
	return o;
}

int domu_disk_hide(const char *disk, char **reterr_msg)
{
	char *argv[] = {
		"qemu-io", "-f", "qcow2", "-c", "write -q -P 0 510 2", (char *)disk, NULL
	};
	return boot_run_tool(argv, NULL, reterr_msg);
}

int domu_boot_disk(const struct boot_entry *plain, const char *out, char **reterr_msg)
{
	const char *slash = plain->kernel ? strrchr(plain->kernel, '/') : NULL;
	size_t n = slash ? (size_t)(slash - plain->kernel) : 0;
	/* boot_entry_find() copies them out as DIR/linux and DIR/initrd */
	if (!slash || !streq(slash, "/linux") ||
	    (plain->initrd && (strncmp(plain->initrd, plain->kernel, n) != 0 ||
			       !streq(plain->initrd + n, "/initrd"))))
		return errmsg_set(reterr_msg, -EINVAL,
				  "the entry '%s' has no kernel copied out beside its initrd",
				  plain->id);
	_cleanup_free_ char *dir = strndup(plain->kernel, n);
	if (!dir)
		return errmsg_oom(reterr_msg);
	char *argv[] = { "tar",	      "--format=ustar",
			 "--owner=0", "--group=0",
			 "-cf",	      (char *)out,
			 "-C",	      dir,
			 "linux",     plain->initrd ? "initrd" : NULL,
			 NULL };
	return boot_run_tool(argv, NULL, reterr_msg);
}
