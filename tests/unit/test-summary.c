/* SPDX-License-Identifier: MIT */
/*
 * test-summary.c - the agent's summary line reads back as it was written,
 * from a console line with a time stamp in front, and a line that lacks a
 * key is refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/activate/summary.h"
#include "lib/basic/string-util.h"
#include "tests/unit/tap.h"

static void round_trip(bool changed, bool forced, bool reboot)
{
	const struct agent_summary in = { .hypervisor = (char *)"microsoft",
					  .role = (char *)"guest",
					  .profile = (char *)"hyperv-guest",
					  .changed = changed,
					  .forced = forced,
					  .reboot = reboot };
	char *line = agent_summary_format(&in);
	char *console = NULL;
	struct agent_summary out;

	ok(line && startswith(line, AGENT_SUMMARY_PREFIX " "), "written: %s", line);
	ok(asprintf(&console, "[    4.211] %s", line) > 0, "as the console shows it");
	is_int(agent_summary_parse(console, &out), 0, "parsed back");
	is_str(out.hypervisor, "microsoft", "hypervisor");
	is_str(out.role, "guest", "role");
	is_str(out.profile, "hyperv-guest", "profile");
	ok(out.changed == changed && out.forced == forced && out.reboot == reboot,
	   "changed, forced and reboot as written");
	agent_summary_done(&out);
	free(console);
	free(line);
}

int main(void)
{
	struct agent_summary s;

	for (int i = 0; i < 8; i++)
		round_trip(i & 1, i & 2, i & 4);
	is_int(agent_summary_parse("enlighten: hypervisor=kvm role=guest profile=kvm-guest "
				   "changed=no later=unknown",
				   &s),
	       0, "an unknown key is skipped");
	agent_summary_done(&s);
	is_int(agent_summary_parse("enlighten: hypervisor=kvm role=guest profile=kvm-guest", &s),
	       -EBADMSG, "no changed=: refused");
	is_int(agent_summary_parse("enlighten: hypervisor=kvm role=guest profile=kvm-guest "
				   "changed=maybe",
				   &s),
	       -EBADMSG, "changed= neither yes nor no: refused");
	is_int(agent_summary_parse("hypervisor=kvm role=guest profile=kvm-guest changed=no", &s),
	       -EBADMSG, "no prefix: refused");
	return tap_done();
}
