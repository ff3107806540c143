/* SPDX-License-Identifier: MIT */
/*
 * main.c - enlighten-detect: which hypervisor, in which role.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "detect/detect.h"
#include "lib/basic/cli.h"
#include "lib/basic/json.h"
#include "lib/basic/log.h"

enum output { OUTPUT_NAME, OUTPUT_JSON, OUTPUT_PROFILE, OUTPUT_QUIET };

static int help(void)
{
	printf("Usage: enlighten-detect [--json | --profile | --quiet] [--root DIR [--live]] "
	       "[--cpuid-file FILE]\n"
	       "\n"
	       "Detect the hypervisor and the machine's role (guest, Hyper-V root, Xen dom0),\n"
	       "and the container manager the running system is under.\n"
	       "\n"
	       "  --json              print the whole verdict with its evidence as JSON\n"
	       "  --profile           print the integration profile name\n"
	       "  -q, --quiet         print nothing; the exit status tells\n"
	       "  --root DIR          read every file under DIR instead of /\n"
	       "  --live              DIR is a running system's root: look for a container\n"
	       "                      there too (always done without --root)\n"
	       "  --cpuid-file FILE   take CPUID from a table instead of the instruction\n"
	       "  -h, --help          show this help\n"
	       "  -V, --version       show the version\n"
	       "\n"
	       "Exit status: 0 when a hypervisor is present, 1 on bare metal, 2 on error.\n");
	return EXIT_OK;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct verdict *, verdict_free);

int main(int argc, char *argv[])
{
	static const struct option options[] = { { "json", no_argument, NULL, 'j' },
						 { "profile", no_argument, NULL, 'p' },
						 { "quiet", no_argument, NULL, 'q' },
						 { "root", required_argument, NULL, 'r' },
						 { "live", no_argument, NULL, 'l' },
						 { "cpuid-file", required_argument, NULL, 'c' },
						 { "help", no_argument, NULL, 'h' },
						 { "version", no_argument, NULL, 'V' },
						 {} };
	struct detect_opts opts = {};
	enum output output = OUTPUT_NAME;
	int c, n_outputs = 0, r;

	log_set_program("enlighten-detect");
	while ((c = cli_getopt(argc, argv, "qhV", options, "enlighten-detect")) >= 0)
		switch (c) {
		case 'h':
			return help();
		case 'V':
			return cli_version("enlighten-detect");
		case 'j':
			output = OUTPUT_JSON, n_outputs++;
			break;
		case 'p':
			output = OUTPUT_PROFILE, n_outputs++;
			break;
		case 'q':
			output = OUTPUT_QUIET, n_outputs++;
			break;
		case 'r':
			opts.root = optarg;
			break;
		case 'l':
			opts.live = true;
			break;
		case 'c':
			opts.cpuid_file = optarg;
			break;
		default:
			return EXIT_USAGE;
		}
	if (optind < argc) {
		log_error("unexpected argument '%s' (see --help)", argv[optind]);
		return EXIT_USAGE;
	}
	if (opts.live && !opts.root) {
		log_error("--live goes with --root DIR (without it, / is always live)");
		return EXIT_USAGE;
	}
	if (n_outputs > 1) {
		log_error("--json, --profile and --quiet exclude each other: pick one");
		return EXIT_USAGE;
	}

	_cleanup_(verdict_freep) struct verdict *v = NULL;
	r = detect_run(&opts, &v);
	if (r == -ENOMEM) {
		log_oom();
		return EXIT_USAGE;
	}
	if (r < 0 && opts.cpuid_file && access(opts.cpuid_file, F_OK) < 0) {
		log_error_errno(r, "cannot open cpuid file '%s': %m", opts.cpuid_file);
		return EXIT_USAGE;
	}
	if (r < 0 && opts.root) {
		log_error_errno(r, "cannot open root directory '%s': %m", opts.root);
		return EXIT_USAGE;
	}
	if (r < 0) {
		log_error_errno(r, "detection failed: %m");
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < v->n_evidence; i++)
		if (streq(v->evidence[i].source, "cpuid-file"))
			log_warning("%s", v->evidence[i].detail);

	switch (output) {
	case OUTPUT_JSON: {
		_cleanup_json_ json_object *o = verdict_to_json(v);
		if (!o) {
			log_oom();
			return EXIT_USAGE;
		}
		r = json_write_fd(STDOUT_FILENO, o, true);
		break;
	}
	case OUTPUT_PROFILE:
		r = printf("%s\n", v->profile) < 0 ? -EIO : 0;
		break;
	case OUTPUT_NAME:
		r = printf("%s\n", hypervisor_to_string(v->hypervisor)) < 0 ? -EIO : 0;
		break;
	case OUTPUT_QUIET:
		r = 0;
		break;
	}
	if (r >= 0 && fflush(stdout) != 0)
		r = -EIO;
	if (r < 0) {
		log_error_errno(r, "cannot write the verdict: %m");
		return EXIT_USAGE;
	}
	return verdict_exit_status(v);
}
