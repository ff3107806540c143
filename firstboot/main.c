/* SPDX-License-Identifier: MIT */
/*
 * main.c - enlighten-firstboot: detect, plan, activate, record, report.
 */
#include <getopt.h>
#include <stdio.h>

#include "lib/cli.h"
#include "lib/log.h"

static int help(void)
{
	printf("Usage: enlighten-firstboot [OPTIONS...]\n"
	       "\n"
	       "Activate the integration components that match the hypervisor found at boot.\n"
	       "\n"
	       "  --root DIR          act on the system tree under DIR instead of /\n"
	       "  -h, --help          show this help\n"
	       "  -V, --version       show the version\n");
	return EXIT_OK;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	int c;

	log_set_program("enlighten-firstboot");
	while ((c = getopt_long(argc, argv, "hV", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			return help();
		case 'V':
			return cli_version("enlighten-firstboot");
		case 'r':
			break;
		default:
			return EXIT_USAGE;
		}
	log_error("the agent is not part of this build yet");
	return EXIT_USAGE;
}
