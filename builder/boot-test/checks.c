/* SPDX-License-Identifier: MIT */
/*
 * checks.c - boot-test's look inside the guest (see checks.h), through the
 * QEMU guest agent: guest-get-osinfo, the guest's own profile matrix and
 * os-release (read with guest-file-*), `systemctl show` of each service and
 * /proc/modules plus modules.builtin for each module (guest-exec), and the
 * agent's report.json. Nothing here prints.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/boot-test/checks.h"
#include "builder/boot-test/qemu.h"
#include "builder/boot-test/qga.h"
#include "lib/activate/paths.h"
#include "lib/activate/profile.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define REPORT_PATH "/var/lib/enlighten/report.json"
#define AGENT_UNIT "enlighten-firstboot.service"
#define SYSTEMCTL "/bin/systemctl"
#define JOURNALCTL "/bin/journalctl"
#define SETTLE_POLL_MSEC 1000
#define QGA_ANSWER_USEC (60ULL * 1000000ULL)

static const char *const guest_state_table[] = {
	[GUEST_OK] = "ok",
	[GUEST_CONDITION] = "condition not met",
	[GUEST_FAIL] = "fail",
};

const char *guest_state_to_string(enum guest_state s)
{
	return (size_t)s < ELEMENTSOF(guest_state_table) ? guest_state_table[s] : NULL;
}

void guest_report_done(struct guest_report *r)
{
	for (unsigned i = 0; i < r->n_items; i++) {
		free(r->items[i].name);
		free(r->items[i].detail);
	}
	free(r->items);
	free(r->problem);
	free(r->os);
	free(r->kernel);
	strv_free(r->changes);
	strv_free(r->report_errors);
	free(r->report_result);
	free(r->report_previous);
	free(r->report_finished);
	*r = (struct guest_report){};
}

int guest_report_problem(struct guest_report *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(r->problem);
	if (vasprintf(&r->problem, fmt, ap) < 0)
		r->problem = NULL;
	va_end(ap);
	r->pass = false;
	return 0;
}

int guest_report_add(struct guest_report *r, const char *kind, const char *name,
		     enum guest_state state, const char *fmt, ...)
{
	struct guest_item *items = reallocarray(r->items, r->n_items + 1, sizeof(*items));
	if (!items)
		return -ENOMEM;
	r->items = items;
	struct guest_item *it = &items[r->n_items];
	*it = (struct guest_item){ .kind = kind, .state = state, .name = strdup(name) };
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&it->detail, fmt, ap) < 0)
		it->detail = NULL;
	va_end(ap);
	if (!it->name || !it->detail) {
		free(it->name);
		free(it->detail);
		return -ENOMEM;
	}
	r->n_items++;
	if (state == GUEST_FAIL)
		r->pass = false;
	return 0;
}

/* "Key=Value" lines of `systemctl show`: the value of key, or "". */
static const char *show_value(const char *text, const char *key, char *buf, size_t size)
{
	size_t k = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, k) == 0 && l[k] == '=') {
			const char *v = l + k + 1;
			size_t n = strcspn(v, "\n");
			snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), v);
			return buf;
		}
	buf[0] = '\0';
	return buf;
}

static int systemctl_show(struct qga *q, const char *unit, uint64_t deadline, char **ret)
{
	char *argv[] = { SYSTEMCTL, "show",
			 "--property=LoadState,ActiveState,SubState,UnitFileState,ConditionResult,"
			 "ConditionTimestampMonotonic,BindsTo,ActiveEnterTimestampMonotonic,"
			 "ExecMainStartTimestampMonotonic,ExecMainExitTimestampMonotonic",
			 (char *)unit, NULL };
	int code;
	int r = qga_exec(q, argv, deadline, &code, ret);
	if (r >= 0 && code != 0) {
		free(*ret);
		return -EIO;
	}
	return r;
}

static uint64_t show_usec(const char *text, const char *key)
{
	char buf[64];
	return strtoull(show_value(text, key, buf, sizeof(buf)), NULL, 10);
}

/* One unit name of a `systemctl show` list, in place: systemd 252 quotes a
 * name that holds a backslash and doubles the backslash
 * ("sys-devices-virtual-misc-vmbus\\x21hv_kvp.device"). */
static char *unit_unquote(char *u)
{
	size_t n = strlen(u);
	if (n < 2 || u[0] != '"' || u[n - 1] != '"')
		return u;
	u[n - 1] = '\0';
	char *w = ++u;
	for (const char *c = u; *c; c++)
		*w++ = c[0] == '\\' && (c[1] == '\\' || c[1] == '"') ? *++c : *c;
	*w = '\0';
	return u;
}

/* A device unit in BindsTo= that is not there: its hardware is missing. */
static int absent_device(struct qga *q, const char *binds, uint64_t deadline, char **ret)
{
	_cleanup_free_ char *copy = strdup(binds);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *u = strtok_r(copy, " ", &save); u; u = strtok_r(NULL, " ", &save)) {
		u = unit_unquote(u);
		if (!endswith(u, ".device"))
			continue;
		_cleanup_free_ char *text = NULL;
		char state[64];
		int r = systemctl_show(q, u, deadline, &text);
		if (r < 0)
			return r;
		if (!streq(show_value(text, "ActiveState", state, sizeof(state)), "active"))
			return (*ret = strdup(u)) ? 1 : -ENOMEM;
	}
	return 0;
}

/* Waits until the service has settled, then judges it. */
static int check_service(struct qga *q, struct guest_report *r, const char *unit, bool forced,
			 uint64_t agent_start, uint64_t deadline, uint64_t *last_active)
{
	for (;;) {
		_cleanup_free_ char *text = NULL, *device = NULL;
		char active[32], sub[32], file[32], cond[16], binds[1024];
		int k = systemctl_show(q, unit, deadline, &text);
		if (k < 0)
			return guest_report_add(r, "service", unit, GUEST_FAIL,
						"systemctl show failed: %s", strerror(-k));
		show_value(text, "ActiveState", active, sizeof(active));
		show_value(text, "SubState", sub, sizeof(sub));
		show_value(text, "UnitFileState", file, sizeof(file));
		show_value(text, "ConditionResult", cond, sizeof(cond));
		show_value(text, "BindsTo", binds, sizeof(binds));
		if (streq(active, "active")) {
			uint64_t at = show_usec(text, "ActiveEnterTimestampMonotonic");
			if (at > *last_active)
				*last_active = at;
			return guest_report_add(
				r, "service", unit, GUEST_OK,
				"active (%s), %s %.1f s after the agent started", sub, file,
				at > agent_start ? (double)(at - agent_start) / 1e6 : 0.0);
		}
		if (streq(active, "inactive") || streq(active, "failed")) {
			bool evaluated = show_usec(text, "ConditionTimestampMonotonic") > 0;
			if (evaluated && streq(cond, "no"))
				return guest_report_add(r, "service", unit,
							forced ? GUEST_CONDITION : GUEST_FAIL,
							"%s, condition not met", file);
			k = absent_device(q, binds, deadline, &device);
			if (k < 0)
				return k;
			if (k > 0)
				return guest_report_add(
					r, "service", unit, forced ? GUEST_CONDITION : GUEST_FAIL,
					"%s, condition not met: its device %s is absent", file,
					device);
			if (streq(active, "failed"))
				return guest_report_add(r, "service", unit, GUEST_FAIL,
							"failed (%s), %s", sub, file);
		}
		if (now_usec() >= deadline)
			return guest_report_add(r, "service", unit, GUEST_FAIL,
						"%s (%s), %s, not active in time", active, sub,
						file);
		poll(NULL, 0, SETTLE_POLL_MSEC);
	}
}

/* "hv-vmbus" and "hv_vmbus" are one module to the kernel. */
static void module_name(char *s)
{
	for (; *s; s++)
		if (*s == '-')
			*s = '_';
}

static bool module_listed(const char *text, const char *name, bool builtin_list)
{
	_cleanup_free_ char *copy = strdup(text);
	if (!copy)
		return false;
	char *save = NULL;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *w = l;
		if (builtin_list) {
			/* kernel/drivers/.../virtio_pci.ko */
			char *slash = strrchr(l, '/');
			w = slash ? slash + 1 : l;
			char *ko = strstr(w, ".ko");
			if (ko)
				*ko = '\0';
		} else
			w[strcspn(w, " ")] = '\0';
		module_name(w);
		if (streq(w, name))
			return true;
	}
	return false;
}

/* Whether the guest's modprobe refuses the module for want of its
 * hardware (ENODEV: xen-acpi-processor in a dom0 whose emulated CPUs have
 * no ACPI performance states), asked now, from outside. */
static bool no_device(struct qga *q, const char *module)
{
	if (module[strspn(module,
			  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")])
		return false;
	_cleanup_free_ char *cmd = NULL, *out = NULL;
	int code = 0;
	if (asprintf(&cmd, "/sbin/modprobe %s 2>&1", module) < 0)
		return false;
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	if (qga_exec(q, argv, now_usec() + QGA_ANSWER_USEC, &code, &out) < 0 || code == 0)
		return false;
	return strstr(out, "No such device") != NULL;
}

static int check_modules(struct qga *q, struct guest_report *r, char *const *modules, bool forced)
{
	_cleanup_free_ char *loaded = NULL, *builtin = NULL, *path = NULL;
	_cleanup_free_ char *err = NULL;
	int k = qga_read_file(q, "/proc/modules", &loaded, NULL, &err);
	if (k < 0)
		return guest_report_problem(r, "cannot read /proc/modules in the guest: %s",
					    err ?: strerror(-k));
	if (asprintf(&path, "/lib/modules/%s/modules.builtin", r->kernel ?: "") < 0)
		return -ENOMEM;
	if (qga_read_file(q, path, &builtin, NULL, NULL) < 0 && !(builtin = strdup("")))
		return -ENOMEM;

	for (char *const *m = modules; *m; m++) {
		_cleanup_free_ char *name = strdup(*m);
		if (!name)
			return -ENOMEM;
		module_name(name);
		if (module_listed(loaded, name, false))
			k = guest_report_add(r, "module", *m, GUEST_OK, "loaded");
		else if (module_listed(builtin, name, true))
			k = guest_report_add(r, "module", *m, GUEST_OK, "built into the kernel");
		else if (forced || no_device(q, name))
			k = guest_report_add(r, "module", *m, GUEST_CONDITION,
					     "not loaded, condition not met: no such device here%s",
					     forced ? "" : " (modprobe: No such device)");
		else
			k = guest_report_add(r, "module", *m, GUEST_FAIL, "not loaded");
		if (k < 0)
			return k;
	}
	return 0;
}

const char *guest_family(const char *os_release)
{
	if (!os_release)
		return NULL;
	if (strstr(os_release, "suse") || strstr(os_release, "SUSE"))
		return "suse";
	if (strstr(os_release, "ID=debian") || strstr(os_release, "ID_LIKE=debian") ||
	    strstr(os_release, "ID=ubuntu"))
		return "debian";
	return NULL;
}

/* A string member of report.json into *ret (left NULL when absent). */
static int report_string(json_object *o, const char *key, char **ret)
{
	const char *v;
	if (json_get_string(o, key, &v) < 0)
		return 0;
	*ret = strdup(v);
	return *ret ? 0 : -ENOMEM;
}

/* An array of strings of report.json into *ret (left NULL when absent). */
static int report_strv(json_object *o, const char *key, char ***ret)
{
	json_object *a;
	if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		const char *c = json_object_get_string(json_object_array_get_idx(a, i));
		if (c && strv_extend(ret, c) < 0)
			return -ENOMEM;
	}
	return 0;
}

int guest_report_read_json(struct guest_report *r, const char *text, size_t n)
{
	_cleanup_json_ json_object *o = NULL;
	if (json_parse_bounded(text, n, QGA_FILE_MAX, &o, NULL) < 0)
		return 0; /* not the agent's: as if there were none */
	json_object *reboot;
	if (json_object_object_get_ex(o, "reboot_needed", &reboot))
		r->reboot_needed = json_object_get_boolean(reboot);
	int k = report_string(o, "result", &r->report_result);
	if (k >= 0)
		k = report_string(o, "previous", &r->report_previous);
	if (k >= 0)
		k = report_string(o, "finished", &r->report_finished);
	if (k >= 0)
		k = report_strv(o, "changes", &r->changes);
	if (k >= 0)
		k = report_strv(o, "errors", &r->report_errors);
	return k;
}

static int read_report(struct qga *q, struct guest_report *r)
{
	_cleanup_free_ char *text = NULL;
	size_t n;
	if (qga_read_file(q, REPORT_PATH, &text, &n, NULL) < 0)
		return 0; /* an agent that never changed anything writes none */
	return guest_report_read_json(r, text, n);
}

/* lsblk --list --json: the row whose `key` is `value`. */
static json_object *lsblk_row(json_object *rows, const char *key, const char *value)
{
	for (size_t i = 0; value && i < json_object_array_length(rows); i++) {
		json_object *row = json_object_array_get_idx(rows, i);
		const char *v;
		if (json_get_string(row, key, &v) >= 0 && streq(v, value))
			return row;
	}
	return NULL;
}

static uint64_t lsblk_mib(json_object *row, const char *key)
{
	json_object *v;
	if (!row || !json_object_object_get_ex(row, key, &v) || !v)
		return 0;
	return (uint64_t)json_object_get_int64(v) >> 20;
}

/* The root filesystem's size, its partition's and its disk's, as the guest
 * sees them (lsblk): shows whether the root grew to fill a larger disk. */
static int root_size(struct qga *q, struct guest_report *r, uint64_t deadline)
{
	char *argv[] = { "/bin/lsblk", "--bytes",  "--json",
			 "--list",     "--output", "NAME,SIZE,FSSIZE,FSTYPE,MOUNTPOINT,PKNAME",
			 NULL };
	_cleanup_free_ char *out = NULL;
	_cleanup_json_ json_object *o = NULL;
	json_object *rows;
	int code;
	if (qga_exec(q, argv, deadline, &code, &out) < 0 || code != 0 ||
	    json_parse_bounded(out, strlen(out), QGA_FILE_MAX, &o, NULL) < 0 ||
	    !json_object_object_get_ex(o, "blockdevices", &rows) ||
	    !json_object_is_type(rows, json_type_array))
		return 0; /* no lsblk: nothing to say */
	json_object *part = lsblk_row(rows, "mountpoint", "/");
	const char *pk = NULL, *name = NULL, *fstype = NULL;
	if (!part || json_get_string(part, "name", &name) < 0)
		return 0;
	(void)json_get_string(part, "pkname", &pk);
	(void)json_get_string(part, "fstype", &fstype);
	json_object *disk = lsblk_row(rows, "name", pk);
	return guest_report_add(r, "root", "/", GUEST_OK,
				"%s %" PRIu64 " MiB on %s (%" PRIu64 " MiB) of disk %s (%" PRIu64
				" MiB)",
				fstype ? fstype : "filesystem", lsblk_mib(part, "fssize"), name,
				lsblk_mib(part, "size"), pk ? pk : "-", lsblk_mib(disk, "size"));
}

static int osinfo(struct qga *q, struct guest_report *r)
{
	_cleanup_json_ json_object *o = NULL;
	if (qga_execute(q, "guest-get-osinfo", NULL, &o, NULL) < 0)
		return 0;
	const char *s;
	if (json_get_string(o, "pretty-name", &s) >= 0 && !(r->os = strdup(s)))
		return -ENOMEM;
	if (json_get_string(o, "kernel-release", &s) >= 0 && !(r->kernel = strdup(s)))
		return -ENOMEM;
	return 0;
}

#define PIDOF "/bin/pidof"

/* argv from first (may be NULL) and the words of text split at seps. */
static int split_argv(const char *first, const char *text, const char *seps, char ***ret)
{
	_cleanup_free_ char *copy = strdup(text);
	char *save = NULL;
	int k = !copy ? -ENOMEM : first ? strv_extend(ret, first) : 0;
	for (char *w = copy ? strtok_r(copy, seps, &save) : NULL; w && k >= 0;
	     w = strtok_r(NULL, seps, &save))
		k = strv_extend(ret, w);
	return k;
}

/* Each entry ("name" or "name|other name") must name a running process
 * (pidof, from sysvinit-utils, which every Debian has; procps' pgrep is
 * not in a minimal base). */
static int check_processes(struct qga *q, struct guest_report *r, const char *const *patterns,
			   uint64_t deadline)
{
	for (const char *const *p = patterns; p && *p; p++) {
		_cleanup_strv_free_ char **argv = NULL;
		_cleanup_free_ char *out = NULL;
		int code = -1, k = split_argv(PIDOF, *p, "|", &argv);
		if (k < 0)
			return k;
		k = qga_exec(q, argv, deadline, &code, &out);
		if (k < 0 || code != 0)
			k = guest_report_add(r, "process", *p, GUEST_FAIL, "not running (%s)",
					     k < 0 ? strerror(-k) : "pidof found none");
		else
			k = guest_report_add(r, "process", *p, GUEST_OK, "running (pid %.*s)",
					     (int)strcspn(out, "\n"), out);
		if (k < 0)
			return k;
	}
	return 0;
}

/* Each command must exit 0; its first output line that says a version is
 * shown (xl info: xen_version). */
static int check_commands(struct qga *q, struct guest_report *r, const char *const *commands,
			  uint64_t deadline)
{
	for (const char *const *c = commands; c && *c; c++) {
		_cleanup_strv_free_ char **argv = NULL;
		_cleanup_free_ char *out = NULL;
		int code = -1, k = split_argv(NULL, *c, " ", &argv);
		if (k < 0)
			return k;
		k = qga_exec(q, argv, deadline, &code, &out);
		if (k < 0 || code != 0) {
			k = k < 0 ? guest_report_add(r, "command", *c, GUEST_FAIL, "%s",
						     strerror(-k))
				  : guest_report_add(r, "command", *c, GUEST_FAIL, "exit %d", code);
			if (k < 0)
				return k;
			continue;
		}
		const char *v = strstr(out, "_version");
		v = v ? v + strcspn(v, ":") : NULL;
		v = v && *v ? v + 1 + strspn(v + 1, " ") : NULL;
		k = guest_report_add(r, "command", *c, GUEST_OK, "exit 0%s%.*s",
				     v ? ", version " : "", v ? (int)strcspn(v, "\n") : 0, v ?: "");
		if (k < 0)
			return k;
	}
	return 0;
}

/* The guest's journal of this boot (`journalctl -b`, monotonic time
 * stamps: where its time went) into path, for the logs: best effort, as a
 * console log is. */
static void save_journal(struct qga *q, const char *path, uint64_t deadline)
{
	char *argv[] = { JOURNALCTL, "-b", "-o", "short-monotonic", "--no-pager", NULL };
	_cleanup_free_ char *out = NULL;
	int code;
	if (qga_exec(q, argv, deadline, &code, &out) < 0 || code != 0)
		return;
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0)
		(void)fs_write_all(fd, out, strlen(out));
}

int guest_check(const char *qga_socket, const struct guest_expect *e, uint64_t deadline,
		struct guest_report *ret)
{
	const char *profile = e->profile;
	bool forced = e->forced;
	struct guest_report r = {
		.pass = true, .agent_seconds = -1, .services_seconds = -1, .userspace_seconds = -1
	};
	struct qga *q = NULL;
	_cleanup_free_ char *conf = NULL, *path = NULL, *err = NULL, *os_release = NULL;
	_cleanup_free_ char *agent = NULL;
	_cleanup_profile_ struct profile *p = NULL;
	int k;

	/* qemu-ga starts with its port, long before the agent's line */
	uint64_t answer_by = now_usec() + QGA_ANSWER_USEC;
	k = qga_open(qga_socket, answer_by < deadline ? answer_by : deadline, &q);
	if (k < 0) {
		guest_report_problem(
			&r,
			"the QEMU guest agent did not answer (%s): is qemu-guest-agent in the "
			"base? (--line-only checks an image without it by its summary line)",
			strerror(-k));
		goto done;
	}
	r.reached = true;
	if ((k = osinfo(q, &r)) < 0)
		goto fail;
	(void)qga_read_file(q, "/etc/os-release", &os_release, NULL, NULL);

	if (asprintf(&path, "/%s/%s.conf", IMAGE_PROFILES_DIR, profile) < 0)
		goto oom;
	k = qga_read_file(q, path, &conf, NULL, &err);
	if (k < 0) {
		guest_report_problem(&r, "cannot read the guest's '%s': %s", path,
				     err ?: strerror(-k));
		goto done;
	}
	free(err);
	err = NULL;
	if (profile_parse(profile, path, conf, &p, &err) < 0) {
		guest_report_problem(&r, "%s", err ?: "the guest's profile does not parse");
		goto done;
	}

	/* When userspace started and the agent's own run, from systemd's
	 * timestamps. */
	{
		char *argv[] = { SYSTEMCTL, "show", "--property=UserspaceTimestampMonotonic",
				 NULL };
		_cleanup_free_ char *out = NULL;
		int code;
		if (qga_exec(q, argv, deadline, &code, &out) >= 0 && code == 0 &&
		    show_usec(out, "UserspaceTimestampMonotonic") > 0)
			r.userspace_seconds =
				(double)show_usec(out, "UserspaceTimestampMonotonic") / 1e6;
	}
	uint64_t agent_start = 0, last_active = 0;
	if (systemctl_show(q, AGENT_UNIT, deadline, &agent) >= 0) {
		agent_start = show_usec(agent, "ExecMainStartTimestampMonotonic");
		uint64_t agent_exit = show_usec(agent, "ExecMainExitTimestampMonotonic");
		if (agent_start && agent_exit >= agent_start)
			r.agent_seconds = (double)(agent_exit - agent_start) / 1e6;
	}

	const char *family = guest_family(os_release);
	char *const *services = profile_get_for(p, family, PROFILE_LINUX_SERVICES);
	for (char *const *u = services; *u; u++)
		if ((k = check_service(q, &r, *u, forced, agent_start, deadline, &last_active)) < 0)
			goto fail;
	if (services[0] && last_active > agent_start && agent_start)
		r.services_seconds = (double)(last_active - agent_start) / 1e6;
	if ((k = check_modules(q, &r, profile_get(p, PROFILE_LINUX_MODULES), forced)) < 0)
		goto fail;
	if ((k = check_processes(q, &r, e->processes, deadline)) < 0 ||
	    (k = check_commands(q, &r, e->commands, deadline)) < 0)
		goto fail;
	if ((k = read_report(q, &r)) < 0 || (k = root_size(q, &r, deadline)) < 0)
		goto fail;
	if (r.report_result && !streq(r.report_result, "complete"))
		guest_report_problem(&r, "report.json says the agent's last run %s",
				     r.report_result);
done:
	if (e->journal_log && q && r.reached)
		save_journal(q, e->journal_log, deadline);
	if (r.problem)
		r.pass = false;
	qga_close(q);
	*ret = r;
	return 0;
oom:
	k = -ENOMEM;
fail:
	qga_close(q);
	guest_report_done(&r);
	return k;
}

json_object *guest_report_json(const struct guest_report *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "reached", json_object_new_boolean(r->reached));
	json_object_object_add(o, "from_disk", json_object_new_boolean(r->from_disk));
	json_object_object_add(o, "pass", json_object_new_boolean(r->pass));
	json_object_object_add(o, "problem", json_string_or_null(r->problem));
	json_object_object_add(o, "os", json_string_or_null(r->os));
	json_object_object_add(o, "kernel", json_string_or_null(r->kernel));
	json_object *items = json_object_new_array();
	for (unsigned i = 0; i < r->n_items; i++) {
		json_object *it = json_object_new_object();
		json_object_object_add(it, "kind", json_object_new_string(r->items[i].kind));
		json_object_object_add(it, "name", json_object_new_string(r->items[i].name));
		json_object_object_add(
			it, "state",
			json_object_new_string(guest_state_to_string(r->items[i].state)));
		json_object_object_add(it, "detail", json_object_new_string(r->items[i].detail));
		json_object_array_add(items, it);
	}
	json_object_object_add(o, "checks", items);
	json_object_object_add(o, "report_changes", json_strv_or_null(r->changes));
	json_object_object_add(o, "report_result", json_string_or_null(r->report_result));
	json_object_object_add(o, "report_previous", json_string_or_null(r->report_previous));
	json_object_object_add(o, "report_finished", json_string_or_null(r->report_finished));
	json_object_object_add(o, "report_errors", json_strv_or_null(r->report_errors));
	json_object_object_add(o, "reboot_needed", json_object_new_boolean(r->reboot_needed));
	json_object_object_add(o, "agent_seconds",
			       r->agent_seconds >= 0 ? json_object_new_double(r->agent_seconds)
						     : NULL);
	json_object_object_add(
		o, "userspace_seconds",
		r->userspace_seconds >= 0 ? json_object_new_double(r->userspace_seconds) : NULL);
	json_object_object_add(
		o, "services_active_seconds",
		r->services_seconds >= 0 ? json_object_new_double(r->services_seconds) : NULL);
	return o;
}
