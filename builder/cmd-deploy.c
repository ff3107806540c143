/* SPDX-License-Identifier: MIT */
/*
 * cmd-deploy.c - `enlighten deploy SOURCE TARGET...`: a raw image and its
 * block map written to disks or files at once (builder/deploy/), each
 * checked before, verified after, and reported.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/deploy/deploy.h"
#include "builder/verbs.h"
#include "lib/basic/cli.h"
#include "lib/basic/log.h"
#include "lib/basic/macro.h"
#include "lib/basic/progress.h"
#include "lib/basic/string-util.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig _unused_)
{
	interrupted = 1;
}

static int help(void)
{
	printf("Usage: enlighten deploy SOURCE TARGET... [OPTIONS...]\n"
	       "       enlighten deploy SOURCE --pick RULE [--force-picked] [OPTIONS...]\n"
	       "\n"
	       "Write a raw image to one or more disks (or files) at once, guided by its\n"
	       "block map: only the mapped blocks are read, each range checked against its\n"
	       "SHA-256, written to every target, read back and checked again. A target\n"
	       "that holds a partition table, a filesystem or a RAID, LVM or LUKS\n"
	       "signature is refused unless --force names it; one that is mounted or in\n"
	       "use, or smaller than the image, always. The partition table is written\n"
	       "last, so an interrupted deploy leaves no disk that looks deployed.\n"
	       "\n"
	       "SOURCE is an image file (its map beside it: IMAGE.bmap or NAME.bmap) or an\n"
	       "https URL (read with range requests; the map at NAME.bmap beside it).\n"
	       "\n"
	       "Options:\n"
	       "  -b, --bmap FILE|URL   the block map (default: beside the image)\n"
	       "  -f, --force TARGET    overwrite TARGET even if it is not empty; may be repeated\n"
	       "      --pick RULE       the target by rule: 'empty' (the one empty disk large\n"
	       "                        enough), 'serial:SERIAL' or '/dev/PATH'\n"
	       "      --force-picked    overwrite the disk a serial or path rule named\n"
	       "      --no-verify       do not read the ranges back\n"
	       "      --progress STYLE  'bar' (redrawn), 'lines' (a line per tenth, for a\n"
	       "                        serial console or a log), 'none', or 'auto' (the\n"
	       "                        default: a bar on a terminal that redraws, lines on\n"
	       "                        a serial line or TERM=dumb, none when not a TTY)\n"
	       "  -r, --report FILE     append one JSON line per target to FILE\n"
	       "      --cacert FILE     CA bundle for https\n"
	       "      --allow-http      also accept a plain http:// SOURCE\n"
	       "  -h, --help            show this help\n"
	       "\n"
	       "Exit status: 0 every target deployed and verified, 1 some target refused or\n"
	       "failed (the others are finished all the same), 2 usage, or the source failed.\n");
	return EXIT_OK;
}

struct deploy_args {
	struct deploy_source_opts src;
	char **force;
	const char *report;
	const char *pick;
	bool force_picked;
	bool verify;
};

static int check_pick(int argc, const struct deploy_args *a)
{
	if (!a->pick) {
		log_error("--force-picked needs --pick");
		return -EINVAL;
	}
	if (argc - optind != 1 || a->force) {
		log_error("--pick takes the place of the targets: give the source alone");
		return -EINVAL;
	}
	if (a->force_picked && streq(a->pick, "empty")) {
		log_error("--force-picked needs a rule that names one disk (serial:SERIAL or "
			  "/dev/PATH), not 'empty'");
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char *argv[], struct deploy_args *a)
{
	static const struct option options[] = {
		{ "bmap", required_argument, NULL, 'b' },
		{ "force", required_argument, NULL, 'f' },
		{ "no-verify", no_argument, NULL, 0x100 },
		{ "report", required_argument, NULL, 'r' },
		{ "cacert", required_argument, NULL, 0x101 },
		{ "allow-http", no_argument, NULL, 0x102 },
		{ "pick", required_argument, NULL, 0x103 },
		{ "force-picked", no_argument, NULL, 0x104 },
		{ "progress", required_argument, NULL, 0x105 },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;
	while ((c = getopt_long(argc, argv, "b:f:r:h", options, NULL)) >= 0)
		switch (c) {
		case 'b':
			a->src.bmap = optarg;
			break;
		case 'f':
			if (strv_extend(&a->force, optarg) < 0)
				return log_oom();
			break;
		case 0x100:
			a->verify = false;
			break;
		case 'r':
			a->report = optarg;
			break;
		case 0x101:
			a->src.cainfo = optarg;
			break;
		case 0x102:
			a->src.allow_http = true;
			break;
		case 0x103:
			a->pick = optarg;
			break;
		case 0x104:
			a->force_picked = true;
			break;
		case 0x105:
			if (progress_style_from_string(optarg) < 0) {
				log_error("--progress '%s': not a style (auto, bar, lines, none)",
					  optarg);
				return -EINVAL;
			}
			progress_set_style((enum progress_style)progress_style_from_string(optarg));
			break;
		case 'h':
			return help(), 1;
		default:
			fprintf(stderr, "Try 'enlighten deploy --help'.\n");
			return -EINVAL;
		}
	if (a->pick || a->force_picked)
		return check_pick(argc, a);
	if (argc - optind < 2) {
		log_error("deploy needs a source and at least one target; try 'enlighten deploy "
			  "--help'");
		return -EINVAL;
	}
	if (argc - optind - 1 > DEPLOY_MAX_TARGETS) {
		log_error("at most %d targets at once", DEPLOY_MAX_TARGETS);
		return -EINVAL;
	}
	STRV_FOREACH(f, a->force)
	{
		bool named = false;
		for (int i = optind + 1; i < argc; i++)
			named |= streq(*f, argv[i]);
		if (!named) {
			log_error("--force '%s' names no target of this deploy", *f);
			return -EINVAL;
		}
	}
	return 0;
}

static void print_outcome(const struct deploy_target *t)
{
	char mib[32];
	snprintf(mib, sizeof(mib), "%.1f MiB", (double)t->written / (1 << 20));
	if (t->result == TARGET_DEPLOYED)
		log_info("%s: deployed (%s written, %s, %.2f s)", t->path, mib,
			 t->verified ? "verified" : "not verified", t->t_end - t->t_start);
	else
		log_error("%s: %s: %s", t->path, t->result == TARGET_REFUSED ? "refused" : "failed",
			  t->error ? t->error : "unknown error");
}

int cmd_deploy(int argc, char *argv[])
{
	struct deploy_args a = { .verify = true };
	struct deploy_source *s = NULL;
	struct deploy_target *targets = NULL;
	_cleanup_free_ char *msg = NULL, *picked = NULL;
	int ret = EXIT_USAGE, r = parse_args(argc, argv, &a);
	unsigned n = (unsigned)(argc - optind - 1);

	if (r != 0) {
		strv_free(a.force);
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	}
	a.src.image = argv[optind];
	r = deploy_source_open(&a.src, &s, &msg);
	if (r < 0) {
		log_error("%s", msg ? msg : strerror(-r));
		goto out;
	}
	if (a.pick) {
		n = 1;
		free(TAKE_PTR(msg));
		struct deploy_pick_opts po = { .rule = a.pick, .force = a.force_picked };
		r = deploy_pick(&po, s, &picked, &msg);
		if (r < 0) {
			log_error("%s", msg ? msg : strerror(-r));
			ret = r == -EINVAL ? EXIT_USAGE : EXIT_NO;
			goto out;
		}
		log_info("picked '%s' by the rule '%s'", picked, a.pick);
	}
	targets = calloc(n, sizeof(*targets));
	if (!targets) {
		log_oom();
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		const char *p = picked ? picked : argv[optind + 1 + i];
		bool force = picked ? a.force_picked : strv_contains(a.force, p);
		if (deploy_target_open(&targets[i], p, s, force) == -ENOMEM) {
			log_oom();
			goto out;
		}
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct progress *p = progress_new("deploy", s->bmap->mapped_count * s->bmap->block_size);
	struct deploy_opts o = { .verify = a.verify, .progress = p, .interrupted = &interrupted };
	free(TAKE_PTR(msg));
	r = deploy_run(s, targets, n, &o, &msg);
	progress_done(p);
	if (r < 0 && r != -EPERM)
		log_error("%s", msg ? msg : strerror(-r));
	ret = EXIT_OK;
	for (unsigned i = 0; i < n; i++) {
		print_outcome(&targets[i]);
		if (targets[i].result != TARGET_DEPLOYED)
			ret = EXIT_NO;
	}
	free(TAKE_PTR(msg));
	if (a.report && deploy_report_append(a.report, s, targets, n, &msg) < 0) {
		log_error("%s", msg);
		ret = EXIT_NO;
	}
	if (r < 0 && r != -EPERM)
		ret = EXIT_USAGE;
out:
	for (unsigned i = 0; targets && i < n; i++)
		deploy_target_done(&targets[i]);
	free(targets);
	deploy_source_free(s);
	strv_free(a.force);
	return ret;
}
