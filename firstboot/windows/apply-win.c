/* SPDX-License-Identifier: MIT */
/*
 * apply-win.c - running a plan as one transaction, as the Linux agent does
 * (lib/apply.c): before each step the state file gets the journal (the
 * plan, the next step, how to undo the steps done); a step that fails
 * undoes the done ones in reverse, and a journal a crash left behind is
 * undone by the next run before it plans again.
 *
 * What undo means per step: a start type goes back to its old value, an
 * installed MSI is uninstalled, an enabled feature disabled. A driver added
 * to the store stays: it binds only to its own hardware, and a later move
 * back needs it. A removal is last in every plan and not undone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <windows.h>

#include "firstboot/windows/winagent.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/string-util.h"

#define EXIT_REBOOT 3010	 /* ERROR_SUCCESS_REBOOT_REQUIRED */
#define EXIT_REBOOT_STARTED 1641 /* ERROR_SUCCESS_REBOOT_INITIATED */
#define EXIT_NO_DEVICE 259	 /* pnputil: added to the store, no device uses it */
#define START_BOOT 0
#define START_AUTO 2
#define START_DISABLED 4

struct undo {
	enum step_kind kind;
	char *arg;
	uint32_t start; /* STEP_BOOT, STEP_SERVICE, STEP_DISABLE: the old value */
};

struct run {
	const struct apply_ctx *c;
	struct apply_result *res;
	struct undo undo[WIN_PLAN_MAX];
	size_t n_undo;
};

static void log_step(struct run *run, const char *kind, const char *arg, const char *ran,
		     long exit_code, const char *outcome)
{
	struct jbuf *b = &run->res->log;
	jbuf_printf(b, "%s{\"kind\":", b->n ? "," : "");
	jbuf_str(b, kind);
	jbuf_puts(b, ",\"arg\":");
	jbuf_str(b, arg);
	jbuf_puts(b, ",\"ran\":");
	jbuf_str(b, ran);
	if (exit_code >= 0)
		jbuf_printf(b, ",\"exit\":%ld", exit_code);
	jbuf_puts(b, ",\"outcome\":");
	jbuf_str(b, outcome);
	jbuf_puts(b, "}");
}

/* Runs a tool and judges its exit code: 0 done, 1 done and a restart is
 * due, -errno failed (the message in res->error). */
static int tool(struct run *run, const char *kind, const char *arg, const char *name,
		const char *const *argv)
{
	struct jbuf shown = {};
	unsigned long code = 0;

	jbuf_puts(&shown, name);
	for (size_t i = 0; argv[i]; i++)
		jbuf_printf(&shown, " %s", argv[i]);
	int r = run_tool(run->c->tools, name, argv, &code);
	if (r < 0) {
		log_step(run, kind, arg, shown.p, -1, "failed");
		errmsg_set(&run->res->error, r, "%s '%s': cannot run '%s': %s", kind, arg, name,
			   strerror(-r));
	} else if (code == 0 || (code == EXIT_NO_DEVICE && streq(name, "pnputil")))
		log_step(run, kind, arg, shown.p, (long)code, "done");
	else if (code == EXIT_REBOOT || code == EXIT_REBOOT_STARTED) {
		log_step(run, kind, arg, shown.p, (long)code, "done, restart due");
		run->res->reboot = true;
		r = 1;
	} else {
		log_step(run, kind, arg, shown.p, (long)code, "failed");
		r = errmsg_set(&run->res->error, -EPROTO, "%s '%s': '%s' exited with code %lu",
			       kind, arg, shown.p ? shown.p : name, code);
	}
	free(shown.p);
	return r;
}

static int push_undo(struct run *run, enum step_kind kind, const char *arg, uint32_t start)
{
	char *a = strdup(arg);
	if (!a)
		return -ENOMEM;
	run->undo[run->n_undo++] = (struct undo){ .kind = kind, .arg = a, .start = start };
	return 0;
}

static int set_start(struct run *run, const struct step *s, uint32_t start)
{
	const char *kind = step_kind_to_string(s->kind);
	uint32_t old;
	char ran[64];
	int r = reg_service_start(s->arg, &old);
	if (r == -ENOENT) {
		log_step(run, kind, s->arg, NULL, -1, "skipped: no such service on this machine");
		return 0;
	}
	snprintf(ran, sizeof(ran), "Start %u -> %u", r < 0 ? 0 : old, start);
	if (r >= 0 && old == start) {
		log_step(run, kind, s->arg, NULL, -1, "already so");
		return 0;
	}
	if (r >= 0)
		r = reg_service_set_start(s->arg, start);
	if (r < 0) {
		log_step(run, kind, s->arg, ran, -1, "failed");
		return errmsg_set(&run->res->error, r, "%s '%s': cannot set its start type: %s",
				  kind, s->arg, strerror(-r));
	}
	log_step(run, kind, s->arg, ran, -1, "done");
	return push_undo(run, s->kind, s->arg, old);
}

static bool is_msi(const char *path)
{
	size_t n = strlen(path);
	return n > 4 && strcasecmp(path + n - 4, ".msi") == 0;
}

static int installer(struct run *run, const struct step *s)
{
	if (is_msi(s->arg)) {
		const char *argv[] = { "/i", s->arg, "/qn", "/norestart", NULL };
		int r = tool(run, "installer", s->arg, "msiexec", argv);
		return r < 0 ? r : push_undo(run, STEP_INSTALLER, s->arg, 0);
	}
	_cleanup_strv_free_ char **argv = NULL;
	for (const char *p = s->args ? s->args : ""; *(p += strspn(p, " \t"));) {
		size_t n = strcspn(p, " \t");
		_cleanup_free_ char *w = strndup(p, n);
		if (!w || strv_extend(&argv, w) < 0)
			return -ENOMEM;
		p += n;
	}
	static const char *const none[] = { NULL };
	return tool(run, "installer", s->arg, s->arg, argv ? (const char *const *)argv : none);
}

static int remove_tools(struct run *run, const struct step *s)
{
	_cleanup_free_ char *display = NULL, *cmd = NULL, *msi = NULL;
	int r = reg_uninstall_find(s->arg, &display, &cmd, &msi);
	if (r == -ENOENT) {
		log_step(run, "remove", s->arg, NULL, -1, "skipped: not installed");
		return 0;
	}
	if (r < 0)
		return errmsg_set(&run->res->error, r,
				  "remove '%s': cannot read the Uninstall "
				  "entries: %s",
				  s->arg, strerror(-r));
	if (msi) {
		const char *argv[] = { "/x", msi, "/qn", "/norestart", NULL };
		return tool(run, "remove", display, "msiexec", argv);
	}
	unsigned long code;
	r = run_cmdline(cmd, &code);
	if (r >= 0 && code != 0 && code != EXIT_REBOOT && code != EXIT_REBOOT_STARTED)
		r = -EPROTO;
	log_step(run, "remove", display, cmd, r == -EPROTO || r >= 0 ? (long)code : -1,
		 r < 0	? "failed"
		 : code ? "done, restart due"
			: "done");
	if (r < 0)
		return errmsg_set(&run->res->error, r, "remove '%s': its uninstaller '%s' failed%s",
				  display, cmd, r == -EPROTO ? "" : " to start");
	run->res->reboot |= code != 0;
	return 0;
}

static int run_step(struct run *run, const struct step *s)
{
	int r;
	switch (s->kind) {
	case STEP_DRIVER: {
		const char *argv[] = { "/add-driver", s->arg, "/install", NULL };
		return tool(run, "driver", s->arg, "pnputil", argv);
	}
	case STEP_BOOT:
		return set_start(run, s, START_BOOT);
	case STEP_SERVICE:
		return set_start(run, s, START_AUTO);
	case STEP_DISABLE:
		return set_start(run, s, START_DISABLED);
	case STEP_INSTALLER:
		return installer(run, s);
	case STEP_FEATURE: {
		_cleanup_free_ char *f = strjoin("/FeatureName:", s->arg);
		const char *argv[] = {
			"/Online", "/Enable-Feature", f, "/All", "/NoRestart", NULL
		};
		if (!f)
			return -ENOMEM;
		r = tool(run, "feature", s->arg, "dism", argv);
		return r < 0 ? r : push_undo(run, STEP_FEATURE, s->arg, 0);
	}
	case STEP_REMOVE:
		return remove_tools(run, s);
	default:
		return -EINVAL;
	}
}

static void undo_one(struct run *run, const struct undo *u)
{
	switch (u->kind) {
	case STEP_INSTALLER: {
		const char *argv[] = { "/x", u->arg, "/qn", "/norestart", NULL };
		(void)tool(run, "undo installer", u->arg, "msiexec", argv);
		break;
	}
	case STEP_FEATURE: {
		_cleanup_free_ char *f = strjoin("/FeatureName:", u->arg);
		const char *argv[] = { "/Online", "/Disable-Feature", f, "/NoRestart", NULL };
		if (f)
			(void)tool(run, "undo feature", u->arg, "dism", argv);
		break;
	}
	default: {
		char ran[32];
		snprintf(ran, sizeof(ran), "Start -> %u", u->start);
		int r = reg_service_set_start(u->arg, u->start);
		log_step(run, "undo start type", u->arg, ran, -1, r < 0 ? "failed" : "done");
	}
	}
}

static void undo_all(struct run *run)
{
	_cleanup_free_ char *error = TAKE_PTR(run->res->error); /* the cause stays */
	while (run->n_undo > 0) {
		struct undo *u = &run->undo[--run->n_undo];
		undo_one(run, u);
		free(u->arg);
	}
	free(run->res->error);
	run->res->error = TAKE_PTR(error);
}

static int journal_write(struct run *run, const struct plan *p, size_t next)
{
	struct jbuf b = {};
	jbuf_puts(&b, "{\"plan\":");
	plan_to_json(p, &b);
	jbuf_printf(&b, ",\"next\":%zu,\"undo\":[", next);
	for (size_t i = 0; i < run->n_undo; i++) {
		jbuf_printf(&b, "%s{\"kind\":", i ? "," : "");
		jbuf_str(&b, step_kind_to_string(run->undo[i].kind));
		jbuf_puts(&b, ",\"arg\":");
		jbuf_str(&b, run->undo[i].arg);
		jbuf_printf(&b, ",\"start\":%u}", run->undo[i].start);
	}
	jbuf_puts(&b, "]}");
	int r = b.oom ? -ENOMEM : state_save(run->c->state_path, p->from, "running", NULL, b.p);
	free(b.p);
	return r;
}

int apply_plan(const struct apply_ctx *c, const struct plan *p, struct apply_result *ret)
{
	_cleanup_free_ struct run *run = calloc(1, sizeof(*run));
	int r = 0;

	if (!run)
		return -ENOMEM;
	run->c = c;
	run->res = ret;
	for (size_t i = 0; i < p->n && r >= 0; i++) {
		r = journal_write(run, p, i);
		if (r < 0) {
			errmsg_set(&ret->error, r, "cannot write the journal to '%s': %s",
				   c->state_path, strerror(-r));
			break;
		}
		r = run_step(run, &p->steps[i]);
		if (r >= 0)
			ret->done = i + 1;
	}
	if (r < 0)
		undo_all(run);
	for (size_t i = 0; i < run->n_undo; i++)
		free(run->undo[i].arg);
	return r < 0 ? r : 0;
}

int apply_rollback(const struct apply_ctx *c, const struct jval *journal, struct apply_result *ret)
{
	_cleanup_free_ struct run *run = calloc(1, sizeof(*run));
	const struct jval *undo = jval_get(journal, "undo");

	if (!run)
		return -ENOMEM;
	run->c = c;
	run->res = ret;
	if (!undo || undo->type != J_ARR || undo->n > WIN_PLAN_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < undo->n; i++) {
		const char *kind = jval_str(&undo->items[i], "kind");
		const char *arg = jval_str(&undo->items[i], "arg");
		const struct jval *start = jval_get(&undo->items[i], "start");
		enum step_kind k = kind ? step_kind_from_string(kind) : _STEP_KIND_INVALID;
		int r = k < 0 || !arg || !start || start->type != J_NUM || start->num < 0 ||
					start->num > START_DISABLED
				? -EBADMSG
				: push_undo(run, k, arg, (uint32_t)start->num);
		if (r < 0) {
			while (run->n_undo > 0)
				free(run->undo[--run->n_undo].arg);
			return r;
		}
	}
	undo_all(run);
	return 0;
}

void apply_result_done(struct apply_result *r)
{
	free(r->error);
	free(r->log.p);
	*r = (struct apply_result){};
}
