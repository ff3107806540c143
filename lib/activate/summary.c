/* SPDX-License-Identifier: MIT */
/*
 * summary.c - the agent's console summary line, written and read (summary.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/activate/summary.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

char *agent_summary_format(const struct agent_summary *s)
{
	char *line;
	if (asprintf(&line, AGENT_SUMMARY_PREFIX " hypervisor=%s role=%s profile=%s changed=%s%s%s",
		     s->hypervisor, s->role, s->profile, s->changed ? "yes" : "no",
		     s->forced ? " forced=yes" : "", s->reboot ? " reboot=needed" : "") < 0)
		return NULL;
	return line;
}

void agent_summary_done(struct agent_summary *s)
{
	free(s->hypervisor);
	free(s->role);
	free(s->profile);
	*s = (struct agent_summary){};
}

int agent_summary_parse(const char *line, struct agent_summary *ret)
{
	_cleanup_(agent_summary_done) struct agent_summary s = {};
	const char *changed = NULL;
	const char *p = strstr(line, AGENT_SUMMARY_PREFIX);
	if (!p)
		return -EBADMSG;
	_cleanup_free_ char *copy = strdup(p + strlen(AGENT_SUMMARY_PREFIX));
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		char **slot = NULL;
		const char *v;
		if ((v = startswith(w, "hypervisor=")))
			slot = &s.hypervisor;
		else if ((v = startswith(w, "role=")))
			slot = &s.role;
		else if ((v = startswith(w, "profile=")))
			slot = &s.profile;
		else if ((v = startswith(w, "changed=")))
			changed = v;
		else if ((v = startswith(w, "forced=")))
			s.forced = streq(v, "yes");
		else if ((v = startswith(w, "reboot=")))
			s.reboot = streq(v, "needed");
		if (!slot)
			continue;
		free(*slot);
		*slot = strdup(v);
		if (!*slot)
			return -ENOMEM;
	}
	if (!s.hypervisor || !s.role || !s.profile || !changed ||
	    !(streq(changed, "yes") || streq(changed, "no")))
		return -EBADMSG;
	s.changed = streq(changed, "yes");
	*ret = s;
	s = (struct agent_summary){};
	return 0;
}
