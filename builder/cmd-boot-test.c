/* SPDX-License-Identifier: MIT */
/*
 * cmd-boot-test.c - `enlighten boot-test IMAGE --as IDENTITY`: options and
 * the plan of boots, run by builder/boot-test/run.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/boot-test/identity.h"
#include "builder/boot-test/report.h"
#include "builder/boot-test/run.h"
#include "builder/verbs.h"
#include "lib/basic/cli.h"
#include "lib/basic/json.h"
#include "lib/basic/log.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

static int help(void)
{
	printf("Usage: enlighten boot-test IMAGE --as IDENTITY [OPTIONS...]\n"
	       "\n"
	       "Boot IMAGE under QEMU and OVMF (or SeaBIOS) as the hypervisor IDENTITY\n"
	       "(kvm, hyperv, vmware, metal) on a copy-on-write overlay, check that\n"
	       "the first-boot agent reports the profile that hypervisor needs, and ask the\n"
	       "guest through the QEMU guest agent that the profile's services run and\n"
	       "modules are loaded. xen-dom0 boots the image's Xen entry (real Xen under\n"
	       "QEMU, the image its control domain); xen-pv, xen-pvh and xen-hvm boot that\n"
	       "dom0 from another overlay and the disk under test as a guest in it (xl\n"
	       "create; an HVM guest boots the disk from its MBR).\n"
	       "An installer medium (Formats=installer, an ISO) is booted first, as a USB\n"
	       "stick under UEFI or a CD under BIOS, with an empty disk and one holding\n"
	       "data: it must deploy and verify the empty one, leave the other untouched\n"
	       "and power off; the boots then start the disk it wrote.\n"
	       "\n"
	       "Options:\n"
	       "  --as IDENTITY     the hypervisor to present first\n"
	       "  --boots N         boot as that identity N times (later boots: fast path)\n"
	       "  --then IDENTITY[:FW]  then boot the same disk as another identity (repeatable),\n"
	       "                    under FW: uefi, bios or secure-boot (default: as before)\n"
	       "  --timeout S       seconds to wait for the agent on each boot (default %d)\n"
	       "  --accel MODE      auto (KVM when it works, else TCG), kvm or tcg\n"
	       "  --firmware FW     uefi (OVMF, the default) or bios (SeaBIOS)\n"
	       "  --secure-boot     UEFI with Microsoft's keys and Secure Boot enforced\n"
	       "  --keep-log DIR    keep the console logs in DIR\n"
	       "  --line-only       check the agent's summary line only (an image without\n"
	       "                    the QEMU guest agent)\n"
	       "  --json            print the result as JSON\n"
	       "  -v, --verbose     print each stage of a boot as it is reached\n"
	       "  -h, --help        show this help\n",
	       BOOT_TEST_DEFAULT_TIMEOUT);
	return EXIT_OK;
}

static int parse_identity(const char *s, const struct boot_identity **ret)
{
	_cleanup_free_ char *msg = NULL;
	int r = boot_identity_parse(s, ret, &msg);
	if (r < 0)
		log_error("%s", msg ?: strerror(-r));
	return r;
}

/* A boot's firmware as --then names it; FW_SAME: the boot before's. */
enum { FW_UEFI, FW_BIOS, FW_SECURE_BOOT, FW_SAME };

struct args {
	const struct boot_identity *as, *then[BOOT_TEST_MAX_THEN];
	unsigned then_fw[BOOT_TEST_MAX_THEN];
	unsigned n_then, boots;
	uint32_t timeout;
	enum accel_mode accel;
	enum boot_firmware firmware;
	bool secure_boot, json, line_only, verbose;
	const char *keep_log;
};

static int parse_number(const char *opt, const char *s, unsigned min, unsigned max,
			const char *what, unsigned *ret)
{
	if (parse_u32(s, 10, ret) < 0 || *ret < min || *ret > max) {
		log_error("invalid %s '%s'; use %s from %u to %u", opt, s, what, min, max);
		return -EINVAL;
	}
	return 0;
}

static int parse_choice(const char *opt, const char *s, const char *const *names, unsigned n,
			unsigned *ret)
{
	for (unsigned i = 0; i < n; i++)
		if (streq(s, names[i])) {
			*ret = i;
			return 0;
		}
	char list[128];
	size_t k = 0;
	for (unsigned i = 0; i < n && k < sizeof(list); i++)
		k += (size_t)snprintf(list + k, sizeof(list) - k, "%s%s",
				      i == 0	  ? ""
				      : i + 1 < n ? ", "
						  : " or ",
				      names[i]);
	log_error("invalid %s '%s'; use %s", opt, s, list);
	return -EINVAL;
}

/* --then IDENTITY[:FW] */
static int parse_then(const char *s, struct args *a)
{
	static const char *const fws[] = {
		[FW_UEFI] = "uefi", [FW_BIOS] = "bios", [FW_SECURE_BOOT] = "secure-boot"
	};
	const char *colon = strchr(s, ':');
	_cleanup_free_ char *name = strndup(s, colon ? (size_t)(colon - s) : strlen(s));
	if (a->n_then >= BOOT_TEST_MAX_THEN) {
		log_error("too many --then (at most %d)", BOOT_TEST_MAX_THEN);
		return -EINVAL;
	}
	a->then_fw[a->n_then] = FW_SAME;
	if (!name || parse_identity(name, &a->then[a->n_then]) < 0)
		return -EINVAL;
	if (colon && parse_choice("--then firmware", colon + 1, fws, ELEMENTSOF(fws),
				  &a->then_fw[a->n_then]) < 0)
		return -EINVAL;
	a->n_then++;
	return 0;
}

/* One option into a; -EINVAL on a bad value (reported), 1 for --help. */
static int parse_option(int c, struct args *a)
{
	static const char *const accels[] = {
		[ACCEL_AUTO] = "auto", [ACCEL_KVM] = "kvm", [ACCEL_TCG] = "tcg"
	};
	static const char *const firmwares[] = { [BOOT_UEFI] = "uefi", [BOOT_BIOS] = "bios" };
	unsigned v;
	switch (c) {
	case 'a':
		return parse_identity(optarg, &a->as);
	case 't':
		return parse_then(optarg, a);
	case 'b':
		return parse_number("--boots", optarg, 1, BOOT_TEST_MAX_BOOTS, "a number",
				    &a->boots);
	case 'T':
		return parse_number("--timeout", optarg, 1, 86400, "seconds", &a->timeout);
	case 'A':
		if (parse_choice("--accel", optarg, accels, ELEMENTSOF(accels), &v) < 0)
			return -EINVAL;
		a->accel = (enum accel_mode)v;
		return 0;
	case 'F':
		if (parse_choice("--firmware", optarg, firmwares, ELEMENTSOF(firmwares), &v) < 0)
			return -EINVAL;
		a->firmware = (enum boot_firmware)v;
		return 0;
	case 'S':
		a->secure_boot = true;
		return 0;
	case 'k':
		a->keep_log = optarg;
		return 0;
	case 'l':
		a->line_only = true;
		return 0;
	case 'j':
		a->json = true;
		return 0;
	case 'v':
		a->verbose = true;
		return 0;
	case 'h':
		return 1;
	default:
		return -EINVAL;
	}
}

/* The boots: --as N times (the later ones on the fast path), then each
 * --then, which must change when its profile differs. */
static unsigned make_plan(const struct args *a, struct boot_plan *plan)
{
	unsigned n = 0;
	for (unsigned i = 0; i < a->boots; i++)
		plan[n++] = (struct boot_plan){
			.id = a->as,
			.change = i == 0 ? EXPECT_CHANGE_ANY : EXPECT_CHANGE_NO,
			.firmware = a->firmware,
			.secure_boot = a->secure_boot,
		};
	for (unsigned i = 0; i < a->n_then; i++) {
		const struct boot_plan *prev = &plan[n - 1];
		unsigned fw = a->then_fw[i];
		plan[n++] = (struct boot_plan){
			.id = a->then[i],
			.change = streq(prev->id->profile, a->then[i]->profile) ? EXPECT_CHANGE_NO
										: EXPECT_CHANGE_YES,
			.firmware = fw == FW_SAME   ? prev->firmware
				    : fw == FW_BIOS ? BOOT_BIOS
						    : BOOT_UEFI,
			.secure_boot = fw == FW_SAME ? prev->secure_boot : fw == FW_SECURE_BOOT,
		};
	}
	return n;
}

static int check_args(const struct args *a, int argc, char *argv[])
{
	if (optind >= argc)
		log_error("missing IMAGE; usage: enlighten boot-test IMAGE --as IDENTITY");
	else if (optind + 1 < argc)
		log_error("unexpected argument '%s'; boot-test takes one IMAGE", argv[optind + 1]);
	else if (a->secure_boot && a->firmware == BOOT_BIOS)
		log_error("--secure-boot needs UEFI; drop --firmware bios");
	else if (!a->as)
		log_error("missing --as IDENTITY; use one of %s", boot_identity_names());
	else
		return 0;
	return -EINVAL;
}

int cmd_boot_test(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "as", required_argument, NULL, 'a' },
		{ "boots", required_argument, NULL, 'b' },
		{ "then", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "accel", required_argument, NULL, 'A' },
		{ "firmware", required_argument, NULL, 'F' },
		{ "secure-boot", no_argument, NULL, 'S' },
		{ "keep-log", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "line-only", no_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct args a = { .boots = 1, .timeout = BOOT_TEST_DEFAULT_TIMEOUT };
	struct boot_plan plan[BOOT_TEST_MAX_BOOTS + BOOT_TEST_MAX_THEN];
	int c, r;

	while ((c = cli_getopt(argc, argv, "hv", options, "enlighten boot-test")) >= 0)
		if ((r = parse_option(c, &a)) != 0)
			return r > 0 ? help() : EXIT_USAGE;
	if (check_args(&a, argc, argv) < 0)
		return EXIT_USAGE;

	const struct boot_test_options o = {
		.image = argv[optind],
		.plan = plan,
		.n_plan = make_plan(&a, plan),
		.timeout_usec = (uint64_t)a.timeout * 1000000ULL,
		.accel = a.accel,
		.keep_log = a.keep_log,
		.line_only = a.line_only,
	};
	/* the report goes to stderr when stdout is JSON, so a long run shows
	 * its progress either way; the stage line is redrawn only on a terminal */
	FILE *out = a.json ? stderr : stdout;
	struct boot_test_view view;
	boot_test_view_init(&view, out, !a.json && isatty(STDOUT_FILENO),
			    a.verbose || log_get_max_level() >= LOG_DEBUG);
	const struct boot_test_report report = boot_test_view_report(&view);
	struct boot_test_result res = {};
	_cleanup_free_ char *msg = NULL;
	r = boot_test_run(&o, &report, &res, &msg);
	if (r < 0) {
		log_error("%s", msg ?: strerror(-r));
		return r == -EINVAL ? EXIT_USAGE : EXIT_NO;
	}
	if (a.json)
		json_write_fd(STDOUT_FILENO, res.json, true);
	boot_test_view_result(&view, &res);
	r = res.interrupted ? 130 : res.pass ? EXIT_OK : EXIT_NO;
	boot_test_result_done(&res);
	return r;
}
