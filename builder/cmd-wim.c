/* SPDX-License-Identifier: MIT */
/*
 * cmd-wim.c - `enlighten wim`: the Windows image on its own, for OEMs whose
 * factory applies WIMs with their own tools: the OEM's install.wim with the
 * integration drivers staged, the answer file, the setup script and the
 * boot-critical registry in place, written as a new WIM, and optionally as
 * an NTFS volume and the ESP's Windows boot files.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>

#include "builder/verbs.h"
#include "builder/windows/windows.h"
#include "lib/basic/cli.h"
#include "lib/basic/clock.h"
#include "lib/basic/log.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define ARGS_MAX 256

enum {
	ARG_WIM = 0x100,
	ARG_IMAGE,
	ARG_DRIVER,
	ARG_BOOT,
	ARG_TEMPLATE,
	ARG_NTFS,
	ARG_NTFS_SIZE,
	ARG_ESP,
	ARG_AGENT,
	ARG_INSTALLER,
};

static void usage(void)
{
	printf("Usage: enlighten wim --wim FILE [--image N|NAME] [--driver PROFILE=PATH]...\n"
	       "                    [--boot-critical SERVICE[=HWID[,HWID...]]]...\n"
	       "                    [--unattend-template FILE] [--agent FILE] [--installer "
	       "FILE]...\n"
	       "                    [--output FILE]\n"
	       "                    [--ntfs FILE --ntfs-size SIZE] [--esp DIR]\n"
	       "\n"
	       "Update an install.wim with driver packages, unattend.xml, SetupComplete.cmd,\n"
	       "boot-critical storage registration and the first-boot agent with its profile\n"
	       "matrix, and write it out.\n"
	       "\n"
	       "Options:\n"
	       "      --wim FILE                the OEM's install.wim\n"
	       "      --image N|NAME            the image to update, by index or name (default 1)\n"
	       "      --driver PROFILE=PATH     stage the driver package at PATH (an INF\n"
	       "                                directory, .cab, .zip or .iso) under\n"
	       "                                \\Drivers\\enlighten\\PROFILE\\\n"
	       "      --boot-critical SERVICE[=HWID[,HWID...]]\n"
	       "                                make SERVICE (its SERVICE.sys in a staged\n"
	       "                                package) start at boot for these hardware ids\n"
	       "                                (default: the ids in the package's INF)\n"
	       "      --unattend-template FILE  unattend.xml template (default: the installed "
	       "one)\n"
	       "      --agent FILE              the enlighten-firstboot.exe to stage (default: "
	       "the\n"
	       "                                one beside enlighten, else the installed one)\n"
	       "      --installer FILE          stage FILE in the agent's installers folder, for\n"
	       "                                the matrix's Installers=\n"
	       "  -o, --output FILE             write the updated WIM (all its images kept)\n"
	       "      --ntfs FILE               write an NTFS volume holding the updated image\n"
	       "      --ntfs-size SIZE          the volume's size (K, M, G suffixes)\n"
	       "      --esp DIR                 write the ESP's Windows boot files into DIR\n"
	       "  -h, --help                    show this help\n");
}

static int parse_boot(const char *arg, struct win_boot_spec *spec, char ***ids)
{
	const char *eq = strchr(arg, '=');
	if (!eq) { /* the ids come from the package's INF */
		char *service = strdup(arg);
		if (!service)
			return -ENOMEM;
		*spec = (struct win_boot_spec){ .service = service };
		return 0;
	}
	if (eq == arg || !eq[1])
		return -EINVAL;
	_cleanup_free_ char *list = strdup(eq + 1);
	char *service = strndup(arg, eq - arg);
	if (!list || !service) {
		free(service);
		return -ENOMEM;
	}
	char *save = NULL;
	for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save))
		if (strv_extend(ids, p) < 0) {
			free(service);
			return -ENOMEM;
		}
	*spec = (struct win_boot_spec){ .service = service, .hardware_ids = *ids };
	return 0;
}

/* What the options fill beside struct win_image_opts (which points into it). */
struct wim_args {
	struct win_driver_source drivers[ARGS_MAX];
	struct win_boot_spec boot[ARGS_MAX];
	char **boot_ids[ARGS_MAX];
	const char *installers[ARGS_MAX];
	const char *agent;
};

static void wim_args_done(struct wim_args *a, const struct win_image_opts *o)
{
	for (size_t i = 0; i < o->n_boot; i++) {
		free((char *)a->boot[i].service);
		strv_free(a->boot_ids[i]);
	}
}

/* One option into a and o: -1 to go on, or the exit code to stop with. */
static int parse_one(int c, struct wim_args *a, struct win_image_opts *o)
{
	int r;
	switch (c) {
	case ARG_WIM:
		o->wim = optarg;
		return -1;
	case ARG_IMAGE:
		o->image = optarg;
		return -1;
	case ARG_DRIVER: {
		char *eq = strchr(optarg, '=');
		if (!eq || eq == optarg || !eq[1]) {
			log_error("--driver '%s': give PROFILE=PATH", optarg);
			return EXIT_USAGE;
		}
		if (o->n_drivers == ARGS_MAX) {
			log_error("more than %d --driver options", ARGS_MAX);
			return EXIT_USAGE;
		}
		*eq = 0; /* argv is ours to cut */
		a->drivers[o->n_drivers++] = (struct win_driver_source){ optarg, eq + 1 };
		return -1;
	}
	case ARG_BOOT:
		if (o->n_boot == ARGS_MAX) {
			log_error("more than %d --boot-critical options", ARGS_MAX);
			return EXIT_USAGE;
		}
		r = parse_boot(optarg, &a->boot[o->n_boot], &a->boot_ids[o->n_boot]);
		if (r == -ENOMEM) {
			log_oom();
			return EXIT_USAGE;
		}
		if (r < 0) {
			log_error("--boot-critical '%s': give SERVICE=HWID[,HWID...]", optarg);
			return EXIT_USAGE;
		}
		o->n_boot++;
		return -1;
	case ARG_TEMPLATE:
		o->unattend_template = optarg;
		return -1;
	case 'o':
		o->out_wim = optarg;
		return -1;
	case ARG_NTFS:
		o->out_ntfs = optarg;
		return -1;
	case ARG_NTFS_SIZE:
		if (parse_size(optarg, &o->ntfs_size) < 0) {
			log_error("--ntfs-size '%s' is not a size (e.g. 32G)", optarg);
			return EXIT_USAGE;
		}
		return -1;
	case ARG_ESP:
		o->out_esp = optarg;
		return -1;
	case ARG_AGENT:
		a->agent = optarg;
		return -1;
	case ARG_INSTALLER:
		if (o->n_installers == ARGS_MAX) {
			log_error("more than %d --installer options", ARGS_MAX);
			return EXIT_USAGE;
		}
		a->installers[o->n_installers++] = optarg;
		return -1;
	case 'h':
		usage();
		return EXIT_OK;
	default:
		return EXIT_USAGE;
	}
}

/* What the options say together: -1 to go on, or EXIT_USAGE (said why). */
static int check_args(int argc, char *argv[], struct win_image_opts *o)
{
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (!o->wim) {
		log_error("no --wim given: name the OEM's install.wim");
		return EXIT_USAGE;
	}
	if (!o->out_wim && !o->out_ntfs && !o->out_esp) {
		log_error("nothing to write: give --output, --ntfs or --esp");
		return EXIT_USAGE;
	}
	/* reproducible builds: every added file gets SOURCE_DATE_EPOCH */
	time_t epoch;
	if (source_date_epoch(&epoch) < 0) {
		log_error("SOURCE_DATE_EPOCH '%s' is not a time in seconds",
			  getenv("SOURCE_DATE_EPOCH"));
		return EXIT_USAGE;
	}
	if (getenv("SOURCE_DATE_EPOCH") && epoch > 0)
		o->mtime = (int64_t)epoch;
	if (!!o->out_ntfs != !!o->ntfs_size) {
		log_error("--ntfs and --ntfs-size go together");
		return EXIT_USAGE;
	}
	return -1;
}

static int run(struct win_image_opts *o, const char *agent_arg)
{
	_cleanup_free_ char *msg = NULL, *agent = NULL, *profiles = NULL;
	int r = win_agent_find(agent_arg, &agent, &msg);
	if (r < 0) {
		log_error("%s", msg ?: strerror(-r));
		return EXIT_NO;
	}
	profiles = strjoin(cli_datadir(), "/payloads/profiles");
	if (!profiles) {
		log_oom();
		return EXIT_NO;
	}
	o->agent_exe = agent;
	o->profiles_dir = profiles;

	struct win_image_result res;
	r = win_image_build(o, &res, &msg);
	if (r < 0) {
		if (msg)
			log_error("%s", msg);
		else
			log_error_errno(r, "Windows image from '%s' failed: %m", o->wim);
		return EXIT_NO;
	}
	log_info("%zu driver package(s) staged, %zu boot-critical service(s) registered through "
		 "the %s",
		 res.n_packages, res.n_boot, win_hive_method_to_string(res.hive_method));
	win_image_result_done(&res);
	return EXIT_OK;
}

int cmd_wim(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "wim", required_argument, NULL, ARG_WIM },
		{ "image", required_argument, NULL, ARG_IMAGE },
		{ "driver", required_argument, NULL, ARG_DRIVER },
		{ "boot-critical", required_argument, NULL, ARG_BOOT },
		{ "unattend-template", required_argument, NULL, ARG_TEMPLATE },
		{ "output", required_argument, NULL, 'o' },
		{ "ntfs", required_argument, NULL, ARG_NTFS },
		{ "ntfs-size", required_argument, NULL, ARG_NTFS_SIZE },
		{ "esp", required_argument, NULL, ARG_ESP },
		{ "agent", required_argument, NULL, ARG_AGENT },
		{ "installer", required_argument, NULL, ARG_INSTALLER },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct wim_args a = {};
	struct win_image_opts o = { .drivers = a.drivers,
				    .boot = a.boot,
				    .installers = a.installers };
	int c, ret = -1;

	while (ret < 0 && (c = cli_getopt(argc, argv, "ho:", options, "enlighten wim")) >= 0)
		ret = parse_one(c, &a, &o);
	if (ret < 0)
		ret = check_args(argc, argv, &o);
	if (ret < 0)
		ret = run(&o, a.agent);
	wim_args_done(&a, &o);
	return ret;
}
