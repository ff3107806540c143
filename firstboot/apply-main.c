/* SPDX-License-Identifier: MIT */
/*
 * apply-main.c - enlighten-firstboot-apply, the heavy half of the agent
 * (agent.h): enlighten-firstboot execs it with its own arguments when
 * there is work to do, and with --grow-root alone when the root can grow.
 */
#include "firstboot/agent.h"

int main(int argc, char *argv[])
{
	struct agent a;
	int r = agent_init(&a, argc, argv);
	if (r < 0)
		r = a.grow_only ? agent_grow_root(&a) : agent_converge(&a);
	agent_done(&a);
	return r;
}
