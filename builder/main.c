/* SPDX-License-Identifier: MIT */
/*
 * main.c - the enlighten CLI: global options, then one verb from the table.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "builder/verbs.h"
#include "lib/basic/cli.h"
#include "lib/basic/log.h"
#include "lib/basic/macro.h"
#include "lib/basic/progress.h"

const struct verb enlighten_verbs[] = {
	{ "boot-test", "boot an image under QEMU as a hypervisor and check its profile",
	  cmd_boot_test },
	{ "help", "show the verbs and what they do", cmd_help },
	{ "payload", "make, sign and check payload catalogs", cmd_payload },
	{ "fetch", "download verified payloads from a portal", cmd_fetch },
	{ "install", "fetch and activate what this system needs from a portal", cmd_install },
	{ "portal", "publish the download portal (signed catalog, payloads, page)", cmd_portal },
	{ "wim", "stage drivers, unattend and boot-critical storage into an install.wim", cmd_wim },
	{ "build", "build a disk image from a recipe", cmd_build },
	{ "inspect", "show an image's partitions, filesystems and payloads", cmd_inspect },
	{ "deploy", "write an image to disks at once: checked, verified, reported", cmd_deploy },
};
const unsigned enlighten_n_verbs = ELEMENTSOF(enlighten_verbs);

int main(int argc, char *argv[])
{
	static const struct option options[] = { { "help", no_argument, NULL, 'h' },
						 { "version", no_argument, NULL, 'V' },
						 { "quiet", no_argument, NULL, 'q' },
						 { "verbose", no_argument, NULL, 'v' },
						 {} };
	int c;

	log_set_program("enlighten");
	/* '+': stop at the verb, whose own options follow it */
	while ((c = cli_getopt(argc, argv, "+hVqv", options, "enlighten")) >= 0)
		switch (c) {
		case 'h':
			return cmd_help(0, NULL);
		case 'V':
			return cli_version("enlighten");
		case 'q':
			log_set_max_level(LOG_WARNING);
			progress_set_style(PROGRESS_NONE);
			break;
		case 'v':
			log_set_max_level(LOG_DEBUG);
			break;
		default:
			return EXIT_USAGE;
		}

	if (optind >= argc) {
		cmd_help(0, NULL);
		return EXIT_USAGE;
	}

	return verb_dispatch("enlighten", enlighten_verbs, enlighten_n_verbs, argc - optind,
			     argv + optind);
}
