/* SPDX-License-Identifier: MIT */
/*
 * cmd-build.c - `enlighten build RECIPE`: options, then the build pipeline
 * (builder/image/build.c); prints each artefact's path.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "builder/image/build.h"
#include "builder/image/convert.h"
#include "builder/image/recipe.h"
#include "builder/verbs.h"
#include "lib/basic/cli.h"
#include "lib/basic/clock.h"
#include "lib/basic/log.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

static int help(void)
{
	printf("Usage: enlighten build RECIPE [--output-dir DIR] [--format FORMAT]...\n"
	       "\n"
	       "Build a bootable disk image from RECIPE: GPT, EFI system partition with\n"
	       "systemd-boot, ext4 root from the base tarball with the payloads and the\n"
	       "first-boot agent, without root, mounts or a staging tree.\n"
	       "\n"
	       "Options:\n"
	       "  -o, --output-dir DIR   write the artefacts into DIR, created if missing\n"
	       "                         (default: .)\n"
	       "  -f, --format FORMAT    raw, qcow2, vhdx, vhd or vmdk; repeat for more\n"
	       "                         (default: the recipe's Formats=)\n"
	       "  -h, --help             show this help\n");
	return EXIT_OK;
}

int cmd_build(int argc, char *argv[])
{
	static const struct option options[] = { { "output-dir", required_argument, NULL, 'o' },
						 { "format", required_argument, NULL, 'f' },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	_cleanup_strv_free_ char **formats = NULL;
	_cleanup_free_ char *msg = NULL;
	const char *output_dir = ".";
	int c;

	while ((c = cli_getopt(argc, argv, "o:f:h", options, "enlighten build")) >= 0)
		switch (c) {
		case 'o':
			output_dir = optarg;
			break;
		case 'f':
			if (output_format_check(optarg, &msg) < 0) {
				log_error("%s", msg ? msg : "unknown format");
				return EXIT_USAGE;
			}
			if (!strv_contains(formats, optarg) && strv_extend(&formats, optarg) < 0)
				return log_oom(), EXIT_USAGE;
			break;
		case 'h':
			return help();
		default:
			return EXIT_USAGE;
		}
	if (optind + 1 != argc) {
		log_error("build needs exactly one recipe; try 'enlighten build --help'");
		return EXIT_USAGE;
	}

	_cleanup_recipe_ struct recipe *r = NULL;
	int k = recipe_load(argv[optind], &r, &msg);
	if (k < 0) {
		if (msg)
			log_error("%s", msg);
		else
			log_error_errno(k, "cannot read recipe '%s': %m", argv[optind]);
		return EXIT_USAGE;
	}

	time_t now;
	k = source_date_epoch(&now);
	if (k < 0) {
		log_error("SOURCE_DATE_EPOCH='%s' is not a time in seconds",
			  getenv("SOURCE_DATE_EPOCH"));
		return EXIT_USAGE;
	}

	struct build_options o = {
		.recipe = r,
		.output_dir = output_dir,
		.formats = formats,
		.now = now,
		.datadir = cli_datadir(),
	};
	struct build_result res;
	k = image_build(&o, &res, &msg);
	STRV_FOREACH(l, res.notes)
	log_info("%s", *l);
	STRV_FOREACH(l, res.warnings)
	log_warning("%s", *l);
	if (k < 0)
		log_error_errno(k, msg ? "%s" : "the build failed: %m", msg);
	STRV_FOREACH(l, res.artefacts)
	printf("%s\n", *l);
	build_result_done(&res);
	return k < 0 ? EXIT_NO : EXIT_OK;
}
