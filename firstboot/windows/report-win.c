/* SPDX-License-Identifier: MIT */
/*
 * report-win.c - what the agent tells: %ProgramData%\enlighten\report.json
 * (the verdict with its evidence, the plan, each step as it ran), the same
 * enlighten.* KVP records the Linux agent writes (firstboot/report.c) in
 * the Hyper-V guest pool, and a line in the Application event log.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <windows.h>

#include "firstboot/windows/winagent.h"
#include "lib/basic/string-util.h"

#define EVENT_SOURCE "enlighten"
#define EVENT_ID_RUN 1

static void evidence_json(const struct verdict *v, struct jbuf *b)
{
	jbuf_puts(b, "\"evidence\":[");
	for (size_t i = 0; v && i < v->n_evidence; i++) {
		jbuf_printf(b, "%s{\"source\":", i ? "," : "");
		jbuf_str(b, v->evidence[i].source);
		jbuf_puts(b, ",\"detail\":");
		jbuf_str(b, v->evidence[i].detail);
		jbuf_puts(b, "}");
	}
	jbuf_puts(b, "]");
}

/* "hypervisor":..,"role":..,"xen_mode":..,"cloud":.., as enlighten-detect. */
static void verdict_keys(const struct verdict *v, struct jbuf *b)
{
	jbuf_puts(b, "\"hypervisor\":");
	jbuf_str(b, v ? hypervisor_to_string(v->hypervisor) : NULL);
	jbuf_puts(b, ",\"role\":");
	jbuf_str(b, v ? role_to_string(v->role) : NULL);
	jbuf_puts(b, ",\"xen_mode\":");
	jbuf_str(b, v && v->hypervisor == HV_XEN ? xen_mode_to_string(v->xen_mode) : NULL);
	jbuf_puts(b, ",\"cloud\":");
	jbuf_str(b, v ? v->cloud : NULL);
}

int verdict_print(const struct verdict *v)
{
	struct jbuf b = {};
	jbuf_puts(&b, "{\"schema\":1,");
	verdict_keys(v, &b);
	jbuf_puts(&b, ",\"profile\":");
	jbuf_str(&b, v->profile);
	jbuf_puts(&b, ",");
	evidence_json(v, &b);
	jbuf_puts(&b, "}");
	int r = b.oom ? -ENOMEM : printf("%s\n", b.p) < 0 || fflush(stdout) ? -EIO : 0;
	free(b.p);
	return r;
}

int report_write(const char *path, const struct win_report *r)
{
	struct jbuf b = {};

	jbuf_puts(&b, "{\"schema\":1,\"os\":\"windows\",\"trigger\":");
	jbuf_str(&b, r->trigger);
	jbuf_puts(&b, ",");
	verdict_keys(r->v, &b);
	jbuf_puts(&b, ",\"profile\":");
	jbuf_str(&b, r->profile);
	jbuf_puts(&b, ",\"previous\":");
	jbuf_str(&b, r->previous);
	jbuf_printf(&b, ",\"changed\":%s,\"result\":", r->changed ? "true" : "false");
	jbuf_str(&b, r->result);
	jbuf_puts(&b, ",\"error\":");
	jbuf_str(&b, r->error);
	jbuf_printf(&b, ",\"reboot\":%s,\"plan\":", r->reboot ? "true" : "false");
	if (r->plan)
		plan_to_json(r->plan, &b);
	else
		jbuf_puts(&b, "null");
	jbuf_printf(&b, ",\"steps\":[%s],", r->steps ? r->steps : "");
	evidence_json(r->v, &b);
	jbuf_puts(&b, "}\n");
	int ret = b.oom ? -ENOMEM : win_write_file_atomic(path, b.p, b.n);
	free(b.p);
	return ret;
}

int report_kvp(const struct win_report *r)
{
	const struct {
		const char *key, *value;
	} records[] = {
		{ "enlighten.hypervisor", hypervisor_to_string(r->v->hypervisor) },
		{ "enlighten.role", role_to_string(r->v->role) },
		{ "enlighten.profile", r->profile },
		{ "enlighten.changed", r->changed ? "yes" : "no" },
		{ "enlighten.result", r->result },
	};

	if (r->v->hypervisor != HV_MICROSOFT)
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(records); i++) {
		int e = reg_kvp_set(records[i].key, records[i].value ? records[i].value : "");
		if (e < 0)
			return e;
	}
	return 1;
}

void report_event(bool error, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	HANDLE h = RegisterEventSourceA(NULL, EVENT_SOURCE);
	if (!h)
		return;
	const char *strings[] = { msg };
	ReportEventA(h, error ? EVENTLOG_ERROR_TYPE : EVENTLOG_INFORMATION_TYPE, 0, EVENT_ID_RUN,
		     NULL, 1, 0, strings, NULL);
	DeregisterEventSource(h);
}
