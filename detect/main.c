/* SPDX-License-Identifier: MIT */
/*
 * main.c - enlighten-detect: which hypervisor, in which role.
 */
#include <getopt.h>
#include <stdio.h>

#include "lib/cli.h"
#include "lib/log.h"

static int help(void)
{
	printf("Usage: enlighten-detect [--json | --profile | --quiet] [--root DIR] [--cpuid-file FILE]\n"
	       "\n"
	       "Detect the hypervisor and the machine's role (guest, Hyper-V root, Xen dom0).\n"
	       "\n"
	       "  --json              print the whole verdict with its evidence as JSON\n"
	       "  --profile           print the integration profile name\n"
	       "  -q, --quiet         print nothing; the exit status tells\n"
	       "  --root DIR          read every file under DIR instead of /\n"
	       "  --cpuid-file FILE   take CPUID from a table instead of the instruction\n"
	       "  -h, --help          show this help\n"
	       "  -V, --version       show the version\n"
	       "\n"
	       "Exit status: 0 when a hypervisor is present, 1 on bare metal, 2 on error.\n");
	return EXIT_OK;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "profile", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "root", required_argument, NULL, 'r' },
		{ "cpuid-file", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	int c;

	log_set_program("enlighten-detect");
	while ((c = getopt_long(argc, argv, "qhV", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			return help();
		case 'V':
			return cli_version("enlighten-detect");
		case 'j':
		case 'p':
		case 'q':
		case 'r':
		case 'c':
			break;
		default:
			return EXIT_USAGE;
		}
	log_error("the detector is not part of this build yet");
	return EXIT_USAGE;
}
