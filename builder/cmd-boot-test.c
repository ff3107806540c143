/* SPDX-License-Identifier: MIT */
/*
 * cmd-boot-test.c - `enlighten boot-test IMAGE --as IDENTITY`: boot an image
 * under QEMU and OVMF as a given hypervisor, wait for the first-boot agent's
 * summary line on the serial console, and check that it activated the
 * profile that hypervisor needs. The image is never written: every boot of
 * one run uses the same qcow2 overlay in a temporary directory, so repeated
 * boots (--boots) see what the first recorded, and --then moves the same
 * disk to another hypervisor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/boot-entry.h"
#include "builder/boot-identity.h"
#include "builder/qemu.h"
#include "builder/verbs.h"
#include "lib/cli.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/macro.h"
#include "lib/spawn.h"
#include "lib/string-util.h"

#define MARKER "enlighten: hypervisor="
#define MAX_BOOTS 16
#define MAX_THEN 8
#define DEFAULT_TIMEOUT 300
#define MEMORY_MIB 512
#define GRACE_USEC (30ULL * 1000000ULL)
#define CONSOLE_TAIL 6
#define CONSOLE_TAIL_BYTES (256 * 1024)
#define SILENCE_USEC (10ULL * 1000000ULL)

enum accel_mode { ACCEL_AUTO, ACCEL_KVM, ACCEL_TCG };

/* Where the report for people goes: stdout, or stderr when stdout is JSON,
 * so that a long run shows its progress either way. */
static FILE *human;

struct boot_plan {
	const struct boot_identity *id;
	enum expect_change change;
};

struct boot_test {
	const char *image;
	char *image_abs;
	char *format;
	bool kvm;
	char *kvm_reason;  /* why not KVM, or NULL */
	bool kvm_fallback; /* --accel auto: TCG when KVM fails to start a guest */
	char *workdir;
	const char *logdir;
	bool json;
	uint64_t timeout_usec;
	struct boot_plan plan[MAX_BOOTS + MAX_THEN];
	unsigned n_plan;
	json_object *boots; /* array, for --json and the summary */
	unsigned passed;
};

static int help(void)
{
	printf("Usage: enlighten boot-test IMAGE --as IDENTITY [OPTIONS...]\n"
	       "\n"
	       "Boot IMAGE under QEMU and OVMF as the hypervisor IDENTITY (kvm, hyperv,\n"
	       "xen-hvm, vmware) on a copy-on-write overlay, and check that the first-boot\n"
	       "agent reports the profile that hypervisor needs.\n"
	       "\n"
	       "Options:\n"
	       "  --as IDENTITY     the hypervisor to present first\n"
	       "  --boots N         boot as that identity N times (later boots: fast path)\n"
	       "  --then IDENTITY   then boot the same disk as another identity (repeatable)\n"
	       "  --timeout S       seconds to wait for the agent on each boot (default %d)\n"
	       "  --accel MODE      auto (KVM when it works, else TCG), kvm or tcg\n"
	       "  --keep-log DIR    keep the console logs in DIR\n"
	       "  --json            print the result as JSON\n"
	       "  -h, --help        show this help\n",
	       DEFAULT_TIMEOUT);
	return EXIT_OK;
}

static const char *identity_names(void)
{
	static char buf[128];
	size_t n = 0;
	for (unsigned i = 0; i < boot_identities_count && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? ", " : "",
				      boot_identities[i].name);
	return buf;
}

static int parse_identity(const char *s, const struct boot_identity **ret)
{
	const struct boot_identity *id = boot_identity_find(s);
	if (id) {
		*ret = id;
		return 0;
	}
	const char *best = NULL;
	size_t best_d = 3;
	for (unsigned i = 0; i < boot_identities_count; i++) {
		/* a profile name ("hyperv-guest") starts with its identity's name */
		size_t d = startswith(s, boot_identities[i].name)
				   ? 0
				   : string_distance(s, boot_identities[i].name);
		if (d < best_d) {
			best_d = d;
			best = boot_identities[i].name;
		}
	}
	if (best)
		log_error("unknown identity '%s' (did you mean '%s'?)", s, best);
	else
		log_error("unknown identity '%s'; use one of %s", s, identity_names());
	return -EINVAL;
}

/* qemu-img info: the image's format. */
static int image_format(const char *image, char **ret)
{
	char *argv[] = { "qemu-img", "info", "--output=json", (char *)image, NULL };
	struct spawn_opts o = { .stdin_fd = -1, .stdout_fd = -1, .capture_stdout = true };
	struct spawn_result res;
	_cleanup_json_ json_object *j = NULL;
	const char *fmt;

	int r = spawn_run(argv, &o, &res);
	if (r == -ENOENT)
		return log_error_errno(r, "'qemu-img' not found; install the qemu-utils package");
	if (r < 0)
		return log_error_errno(r, "cannot run 'qemu-img': %m");
	if (res.exit_status != 0) {
		log_error("image '%s' cannot be read by qemu-img: %s", image,
			  res.err ? strstrip(res.err) : "");
		spawn_result_done(&res);
		return -EINVAL;
	}
	r = json_parse_bounded(res.out, strlen(res.out), 1024 * 1024, &j, NULL);
	spawn_result_done(&res);
	if (r < 0 || json_get_string(j, "format", &fmt) < 0)
		return log_error_errno(-EBADMSG, "unexpected output of 'qemu-img info' for '%s'",
				       image);
	*ret = strdup(fmt);
	return *ret ? 0 : log_oom();
}

static int run_quiet(char *const argv[])
{
	struct spawn_opts o = { .stdin_fd = -1, .stdout_fd = -1 };
	struct spawn_result res;
	int r = spawn_run(argv, &o, &res);
	if (r < 0)
		return log_error_errno(r, "cannot run '%s': %m", argv[0]);
	if (res.exit_status != 0) {
		log_error("'%s' failed: %s", argv[0], res.err ? strstrip(res.err) : "");
		spawn_result_done(&res);
		return -EIO;
	}
	spawn_result_done(&res);
	return 0;
}

static int copy_file(const char *from, const char *to)
{
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return log_error_errno(errno, "cannot open '%s': %m", from);
	_cleanup_free_ char *data = NULL;
	size_t n;
	int r = fs_read_fd(in, 64 * 1024 * 1024, &data, &n);
	if (r < 0)
		return log_error_errno(r, "cannot read '%s': %m", from);
	r = fs_write_file_atomic_at(AT_FDCWD, to, data, n, 0644);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s': %m", to);
	return 0;
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

/* QEMU's first complaint, for the report; NULL when it said nothing. */
static char *read_first_line(const char *path)
{
	_cleanup_free_ char *line = NULL;
	if (fs_read_line_at(AT_FDCWD, path, 4096, &line) < 0 || !*line)
		return strdup("KVM did not run the guest");
	return strjoin("KVM did not run the guest: ", line);
}

/* When no summary came: the console's last lines that mention enlighten
 * (the agent's errors, the init's messages) say why better than a timeout. */
static void print_console_tail(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	const char *lines[CONSOLE_TAIL] = {};
	unsigned n = 0;

	if (fd < 0)
		return;
	off_t size = lseek(fd, 0, SEEK_END);
	if (size > CONSOLE_TAIL_BYTES)
		(void)lseek(fd, size - CONSOLE_TAIL_BYTES, SEEK_SET);
	else
		(void)lseek(fd, 0, SEEK_SET);
	if (fs_read_fd(fd, CONSOLE_TAIL_BYTES, &text, NULL) < 0)
		return;
	char *save = NULL;
	for (char *l = strtok_r(text, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save))
		if (strstr(l, "enlighten"))
			lines[n++ % CONSOLE_TAIL] = l;
	for (unsigned i = n > CONSOLE_TAIL ? n - CONSOLE_TAIL : 0; i < n; i++)
		fprintf(human, "  console: %s\n", lines[i % CONSOLE_TAIL]);
}

static double secs(uint64_t usec)
{
	return (double)usec / 1e6;
}

static json_object *json_double(double d)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%.2f", d); /* two decimals, printed as such */
	return json_object_new_double_s(d, buf);
}

/* One boot: pick the boot path, run QEMU, check the summary. Returns 1 on a
 * match, 0 on a mismatch or a guest that did not report, -errno when the
 * boot could not be run at all. */
static int boot_one(struct boot_test *t, unsigned k, const struct boot_plan *p)
{
	const struct boot_identity *id = p->id;
	bool forced = boot_identity_forced(id, t->kvm);
	_cleanup_free_ char *dir = NULL, *console_log = NULL, *qemu_log = NULL, *overlay = NULL;
	_cleanup_free_ char *vars = NULL, *qmp = NULL, *append = NULL, *msg = NULL, *why = NULL;
	struct boot_entry *entry = NULL;
	struct qemu_result res = {};
	struct agent_summary s = {};
	const char *mode = "firmware";
	int r;

	if (asprintf(&dir, "%s/boot-%u", t->workdir, k) < 0 ||
	    asprintf(&console_log, "%s/boot-%u-%s.console.log", t->logdir, k, id->name) < 0 ||
	    asprintf(&qemu_log, "%s/boot-%u-%s.qemu.log", t->logdir, k, id->name) < 0 ||
	    asprintf(&overlay, "%s/overlay.qcow2", t->workdir) < 0 ||
	    asprintf(&vars, "%s/OVMF_VARS.fd", t->workdir) < 0 ||
	    asprintf(&qmp, "%s/qmp.sock", t->workdir) < 0)
		return log_oom();
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return log_error_errno(errno, "cannot create '%s': %m", dir);

	/* What the disk's boot loader would start now (the agent may have
	 * changed it on an earlier boot). */
	r = boot_entry_extract(overlay, "qcow2", dir, &entry, &msg);
	if (r < 0 && r != -ENOENT) {
		log_error("cannot read the boot entry of '%s': %s", t->image, msg ?: strerror(-r));
		return r;
	}
	if (r < 0 && forced) {
		log_error("cannot force profile '%s' for identity '%s': %s", id->profile, id->name,
			  msg ?: "no systemd-boot entry");
		return -ENOENT;
	}
	if (entry) {
		int serial = boot_entry_has_serial_console(entry->options);
		if (serial < 0)
			return log_oom();
		if (forced || !serial) {
			mode = "direct";
			if (asprintf(&append, "%s%s%s%s%s", entry->options,
				     serial ? "" : " console=ttyS0",
				     forced ? " enlighten.profile=" : "", forced ? id->profile : "",
				     "") < 0)
				return log_oom();
		}
		if (!serial)
			fprintf(human,
				"  note: loader entry '%s' has no console=ttyS0; booting its "
				"kernel "
				"directly with it added\n",
				entry->id);
	}

	{
		fprintf(human, "boot %u/%u as %s: %s boot", k, t->n_plan, id->name, mode);
		if (entry)
			fprintf(human, " of entry '%s'", entry->id);
		if (forced)
			fprintf(human, ", profile forced with enlighten.profile=%s (%s)",
				id->profile, id->why_forced);
		fprintf(human, "\n");
		fflush(human);
	}

	struct qemu_machine m = {
		.qemu = env_or("ENLIGHTEN_QEMU", QEMU_SYSTEM),
		.ovmf_code = env_or("ENLIGHTEN_OVMF_CODE", OVMF_CODE),
		.ovmf_vars = vars,
		.disk = overlay,
		.disk_format = "qcow2",
		.kvm = t->kvm,
		.memory_mib = MEMORY_MIB,
		.cpu = t->kvm ? id->cpu_kvm : id->cpu_tcg,
		.machine_extra = id->machine_extra,
		.nic_model = id->nic_model,
		.smbios = id->smbios,
		.kernel = streq(mode, "direct") ? entry->kernel : NULL,
		.initrd = streq(mode, "direct") ? entry->initrd : NULL,
		.append = append,
		.qmp_socket = qmp,
		.console_log = console_log,
		.qemu_log = qemu_log,
	};
	/* Under KVM the firmware prints within a second; silence means KVM
	 * does not really run guests here (nested setups), see cmd_boot_test. */
	r = qemu_run(&m, MARKER, t->timeout_usec, t->kvm ? SILENCE_USEC : 0, GRACE_USEC, &res);
	if (r == -ENOENT) {
		log_error("'%s' not found; install the qemu-system-x86 package", m.qemu);
		goto out;
	}
	if (r < 0) {
		log_error_errno(r, "cannot run '%s': %m", m.qemu);
		goto out;
	}

	/* A guest that printed nothing at all never ran, so the overlay is as
	 * it was: this boot can be done again under TCG. */
	if (t->kvm && t->kvm_fallback && !res.line && res.console_bytes == 0 &&
	    (res.silent || res.exit_status != 0)) {
		free(t->kvm_reason);
		t->kvm_reason = read_first_line(qemu_log);
		r = -EAGAIN;
		goto out;
	}

	bool pass = false;
	if (res.interrupted)
		why = strdup("interrupted");
	else if (!res.line && res.timed_out)
		r = asprintf(&why, "no agent summary line within %llu s",
			     (unsigned long long)(t->timeout_usec / 1000000)) < 0
			    ? -ENOMEM
			    : 0;
	else if (!res.line)
		r = asprintf(&why,
			     "the guest stopped (QEMU exit %d) before the agent's summary line",
			     res.exit_status) < 0
			    ? -ENOMEM
			    : 0;
	else if (agent_summary_parse(res.line, &s) < 0)
		r = asprintf(&why, "malformed summary line '%s'", res.line) < 0 ? -ENOMEM : 0;
	else
		pass = boot_identity_check(id, forced, p->change, &s, &why) == 0;
	if (!pass && !why)
		why = strdup("failed");

	{
		if (res.line)
			fprintf(human, "  agent:  %s\n", res.line);
		if (pass && forced)
			fprintf(human,
				"  result: PASS: %s activated (FORCED on the kernel command line; "
				"the "
				"detector itself saw hypervisor=%s role=%s), changed=%s\n",
				s.profile, s.hypervisor, s.role, s.changed);
		else if (pass)
			fprintf(human,
				"  result: PASS: %s activated, detected (hypervisor=%s role=%s), "
				"changed=%s\n",
				s.profile, s.hypervisor, s.role, s.changed);
		else
			fprintf(human, "  result: FAIL: %s\n", why);
		if (!res.line)
			print_console_tail(console_log);
		fprintf(human,
			"  time:   %.1f s to the agent's line, %.1f s in all; shutdown: %s\n",
			secs(res.usec_line), secs(res.usec_total),
			qemu_shutdown_to_string(res.shutdown));
		fflush(human);
	}

	json_object *b = json_object_new_object();
	json_object_object_add(b, "boot", json_object_new_int((int)k));
	json_object_object_add(b, "identity", json_object_new_string(id->name));
	json_object_object_add(b, "mode", json_object_new_string(mode));
	json_object_object_add(b, "entry", json_string_or_null(entry ? entry->id : NULL));
	json_object_object_add(b, "forced", json_object_new_boolean(forced));
	json_object *exp = json_object_new_object();
	json_object *hvs = NULL;
	if (!forced) {
		hvs = json_object_new_array();
		for (const char *const *h = id->hypervisors; *h; h++)
			json_object_array_add(hvs, json_object_new_string(*h));
	}
	json_object_object_add(exp, "hypervisor", hvs);
	json_object_object_add(exp, "role", forced ? NULL : json_object_new_string(id->role));
	json_object_object_add(exp, "profile", json_object_new_string(id->profile));
	json_object_object_add(
		exp, "changed",
		p->change == EXPECT_CHANGE_ANY
			? NULL
			: json_object_new_string(p->change == EXPECT_CHANGE_YES ? "yes" : "no"));
	json_object_object_add(b, "expected", exp);
	json_object_object_add(b, "summary", json_string_or_null(res.line));
	if (s.profile) {
		json_object *seen = json_object_new_object();
		json_object_object_add(seen, "hypervisor", json_object_new_string(s.hypervisor));
		json_object_object_add(seen, "role", json_object_new_string(s.role));
		json_object_object_add(seen, "profile", json_object_new_string(s.profile));
		json_object_object_add(seen, "changed", json_object_new_string(s.changed));
		json_object_object_add(seen, "forced", json_object_new_boolean(s.forced));
		json_object_object_add(b, "agent", seen);
	} else
		json_object_object_add(b, "agent", NULL);
	json_object_object_add(b, "result", json_object_new_string(pass ? "pass" : "fail"));
	json_object_object_add(b, "reason", json_string_or_null(pass ? NULL : why));
	json_object_object_add(b, "seconds_to_summary",
			       res.line ? json_double(secs(res.usec_line)) : NULL);
	json_object_object_add(b, "seconds", json_double(secs(res.usec_total)));
	json_object_object_add(b, "shutdown",
			       json_object_new_string(qemu_shutdown_to_string(res.shutdown)));
	json_object_object_add(b, "console_log", json_object_new_string(console_log));
	json_object_array_add(t->boots, b);

	r = pass ? 1 : 0;
	if (res.interrupted)
		r = -EINTR;
out:
	boot_entry_free(entry);
	agent_summary_done(&s);
	qemu_result_done(&res);
	if (dir)
		(void)fs_rm_rf(dir);
	return r;
}

int cmd_boot_test(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "as", required_argument, NULL, 'a' },
		{ "boots", required_argument, NULL, 'b' },
		{ "then", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "accel", required_argument, NULL, 'A' },
		{ "keep-log", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const struct boot_identity *as = NULL, *then[MAX_THEN];
	unsigned n_then = 0, boots = 1;
	uint32_t timeout = DEFAULT_TIMEOUT;
	enum accel_mode accel = ACCEL_AUTO;
	const char *keep_log = NULL;
	struct boot_test t = {};
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (c) {
		case 'a':
			if (parse_identity(optarg, &as) < 0)
				return EXIT_USAGE;
			break;
		case 't':
			if (n_then >= MAX_THEN) {
				log_error("too many --then (at most %d)", MAX_THEN);
				return EXIT_USAGE;
			}
			if (parse_identity(optarg, &then[n_then]) < 0)
				return EXIT_USAGE;
			n_then++;
			break;
		case 'b':
			if (parse_u32(optarg, 10, &boots) < 0 || boots < 1 || boots > MAX_BOOTS) {
				log_error("invalid --boots '%s'; use a number from 1 to %d", optarg,
					  MAX_BOOTS);
				return EXIT_USAGE;
			}
			break;
		case 'T':
			if (parse_u32(optarg, 10, &timeout) < 0 || timeout < 1 || timeout > 86400) {
				log_error("invalid --timeout '%s'; use seconds from 1 to 86400",
					  optarg);
				return EXIT_USAGE;
			}
			break;
		case 'A':
			if (streq(optarg, "auto"))
				accel = ACCEL_AUTO;
			else if (streq(optarg, "kvm"))
				accel = ACCEL_KVM;
			else if (streq(optarg, "tcg"))
				accel = ACCEL_TCG;
			else {
				log_error("invalid --accel '%s'; use auto, kvm or tcg", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'k':
			keep_log = optarg;
			break;
		case 'j':
			t.json = true;
			break;
		case 'h':
			return help();
		default:
			fprintf(stderr, "Try 'enlighten boot-test --help'.\n");
			return EXIT_USAGE;
		}

	if (optind >= argc) {
		log_error("missing IMAGE; usage: enlighten boot-test IMAGE --as IDENTITY");
		return EXIT_USAGE;
	}
	if (optind + 1 < argc) {
		log_error("unexpected argument '%s'; boot-test takes one IMAGE", argv[optind + 1]);
		return EXIT_USAGE;
	}
	if (!as) {
		log_error("missing --as IDENTITY; use one of %s", identity_names());
		return EXIT_USAGE;
	}
	t.image = argv[optind];
	human = t.json ? stderr : stdout;
	/* a closed stdout (| head) must not kill us with QEMU still running */
	signal(SIGPIPE, SIG_IGN);
	t.timeout_usec = (uint64_t)timeout * 1000000ULL;

	for (unsigned i = 0; i < boots; i++)
		t.plan[t.n_plan++] = (struct boot_plan){
			.id = as,
			.change = i == 0 ? EXPECT_CHANGE_ANY : EXPECT_CHANGE_NO,
		};
	for (unsigned i = 0; i < n_then; i++) {
		const struct boot_identity *prev = t.plan[t.n_plan - 1].id;
		t.plan[t.n_plan++] = (struct boot_plan){
			.id = then[i],
			.change = streq(prev->profile, then[i]->profile) ? EXPECT_CHANGE_NO
									 : EXPECT_CHANGE_YES,
		};
	}

	struct stat st;
	if (stat(t.image, &st) < 0)
		return log_error_errno(errno, "cannot open image '%s': %m", t.image), EXIT_USAGE;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		log_error("image '%s' is not a file", t.image);
		return EXIT_USAGE;
	}
	if (keep_log) {
		r = fs_mkdir_p_at(AT_FDCWD, keep_log, 0755);
		if (r < 0)
			return log_error_errno(r, "cannot create '%s': %m", keep_log), EXIT_USAGE;
	}
	const char *ovmf_code = env_or("ENLIGHTEN_OVMF_CODE", OVMF_CODE);
	const char *ovmf_vars = env_or("ENLIGHTEN_OVMF_VARS", OVMF_VARS);
	if (access(ovmf_code, R_OK) < 0 || access(ovmf_vars, R_OK) < 0) {
		log_error("OVMF firmware '%s' not found; install the ovmf package", ovmf_code);
		return EXIT_USAGE;
	}

	/* The accelerator: KVM only when it really works. */
	const char *kvm_dev = env_or("ENLIGHTEN_KVM_DEVICE", "/dev/kvm");
	if (accel == ACCEL_TCG) {
		t.kvm = false;
		t.kvm_reason = strdup("--accel tcg");
	} else {
		r = kvm_probe(kvm_dev, &t.kvm_reason);
		t.kvm = r >= 0;
		if (!t.kvm && accel == ACCEL_KVM) {
			log_error("KVM is not usable: %s", t.kvm_reason ?: strerror(-r));
			free(t.kvm_reason);
			return EXIT_USAGE;
		}
	}

	int ret = EXIT_USAGE;
	_cleanup_free_ char *overlay = NULL, *vars = NULL, *backing = NULL, *b_opt = NULL;
	t.image_abs = realpath(t.image, NULL);
	if (!t.image_abs) {
		log_error_errno(errno, "cannot resolve '%s': %m", t.image);
		goto finish;
	}
	if (image_format(t.image_abs, &t.format) < 0)
		goto finish;

	const char *tmp = env_or("TMPDIR", "/tmp");
	if (asprintf(&t.workdir, "%s/enlighten-boot-test.XXXXXX", tmp) < 0) {
		log_oom();
		goto finish;
	}
	if (!mkdtemp(t.workdir)) {
		log_error_errno(errno, "cannot create a directory in '%s': %m", tmp);
		free(t.workdir);
		t.workdir = NULL;
		goto finish;
	}
	t.logdir = keep_log ?: t.workdir;
	if (asprintf(&overlay, "%s/overlay.qcow2", t.workdir) < 0 ||
	    asprintf(&vars, "%s/OVMF_VARS.fd", t.workdir) < 0) {
		log_oom();
		goto finish;
	}
	char *create[] = { "qemu-img",	"create", "-q",	    "-f",    "qcow2", "-b",
			   t.image_abs, "-F",	  t.format, overlay, NULL };
	if (run_quiet(create) < 0 || copy_file(ovmf_vars, vars) < 0)
		goto finish;
	t.kvm_fallback = t.kvm && accel == ACCEL_AUTO;

	{
		fprintf(human, "boot-test: image '%s' (%s) on a copy-on-write overlay; ", t.image,
			t.format);
		if (t.kvm)
			fprintf(human, "accelerator kvm\n");
		else
			fprintf(human, "accelerator tcg (%s)\n", t.kvm_reason ?: "KVM not usable");
		fflush(human);
	}

	t.boots = json_object_new_array();
	uint64_t start = now_usec();
	bool failed = false, interrupted = false;
	for (unsigned k = 0; k < t.n_plan; k++) {
		r = boot_one(&t, k + 1, &t.plan[k]);
		if (r == -EAGAIN) {
			/* KVM opens but does not run this guest (nested setups, hv-*
			 * flags the host lacks): this boot and the rest go to TCG. */
			log_warning("%s; booting again with TCG", t.kvm_reason);
			t.kvm = t.kvm_fallback = false;
			k--;
			continue;
		}
		if (r == -EINTR) {
			interrupted = true;
			failed = true;
			break;
		}
		if (r < 0)
			goto finish;
		if (r == 0) {
			failed = true;
			break; /* later boots build on this one */
		}
		t.passed++;
	}
	uint64_t total = now_usec() - start;
	ret = failed ? EXIT_NO : EXIT_OK;

	if (t.json) {
		_cleanup_json_ json_object *o = json_object_new_object();
		json_object_object_add(o, "image", json_object_new_string(t.image));
		json_object_object_add(o, "format", json_object_new_string(t.format));
		json_object_object_add(o, "accelerator",
				       json_object_new_string(t.kvm ? "kvm" : "tcg"));
		json_object_object_add(o, "why_not_kvm",
				       json_string_or_null(t.kvm ? NULL : t.kvm_reason));
		json_object_object_add(o, "result",
				       json_object_new_string(failed ? "fail" : "pass"));
		json_object_object_add(o, "boots_planned", json_object_new_int((int)t.n_plan));
		json_object_object_add(o, "boots_passed", json_object_new_int((int)t.passed));
		json_object_object_add(o, "seconds", json_double(secs(total)));
		json_object_object_add(o, "log_dir",
				       json_string_or_null(failed || keep_log ? t.logdir : NULL));
		json_object_object_add(o, "boots", json_object_get(t.boots));
		json_write_fd(STDOUT_FILENO, o, true);
	}
	{
		fprintf(human, "boot-test: %s, %u of %u boots matched, %.1f s\n",
			failed ? "FAIL" : "PASS", t.passed, t.n_plan, secs(total));
		if (failed || keep_log)
			fprintf(human, "boot-test: console logs kept in %s\n", t.logdir);
	}
	if (interrupted)
		ret = 130;

finish:
	if (t.workdir) {
		if ((ret == EXIT_NO || ret == 130) && !keep_log) {
			/* keep the logs, drop the disk */
			(void)unlink(overlay);
			(void)unlink(vars);
			_cleanup_free_ char *sock = strjoin(t.workdir, "/qmp.sock");
			if (sock)
				(void)unlink(sock);
		} else
			(void)fs_rm_rf(t.workdir);
	}
	json_object_put(t.boots);
	free(t.workdir);
	free(t.image_abs);
	free(t.format);
	free(t.kvm_reason);
	return ret;
}
