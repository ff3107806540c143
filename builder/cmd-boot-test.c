/* SPDX-License-Identifier: MIT */
/*
 * cmd-boot-test.c - `enlighten boot-test IMAGE --as IDENTITY`: options and
 * the plan of boots, run by builder/boot-test/run.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "builder/boot-test/identity.h"
#include "builder/boot-test/run.h"
#include "builder/verbs.h"
#include "lib/basic/cli.h"
#include "lib/basic/log.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

static int help(void)
{
	printf("Usage: enlighten boot-test IMAGE --as IDENTITY [OPTIONS...]\n"
	       "\n"
	       "Boot IMAGE under QEMU and OVMF (or SeaBIOS) as the hypervisor IDENTITY\n"
	       "(kvm, hyperv, xen-hvm, vmware, metal) on a copy-on-write overlay, check that\n"
	       "the first-boot agent reports the profile that hypervisor needs, and ask the\n"
	       "guest through the QEMU guest agent that the profile's services run and\n"
	       "modules are loaded. xen-dom0 boots the image's Xen entry, real Xen under\n"
	       "QEMU, with the image as its control domain; xen-pv and xen-pvh then start\n"
	       "a guest of the same image in that dom0 with xl create.\n"
	       "\n"
	       "Options:\n"
	       "  --as IDENTITY     the hypervisor to present first\n"
	       "  --boots N         boot as that identity N times (later boots: fast path)\n"
	       "  --then IDENTITY   then boot the same disk as another identity (repeatable)\n"
	       "  --timeout S       seconds to wait for the agent on each boot (default %d)\n"
	       "  --accel MODE      auto (KVM when it works, else TCG), kvm or tcg\n"
	       "  --firmware FW     uefi (OVMF, the default) or bios (SeaBIOS)\n"
	       "  --secure-boot     UEFI with Microsoft's keys and Secure Boot enforced\n"
	       "  --keep-log DIR    keep the console logs in DIR\n"
	       "  --line-only       check the agent's summary line only (an image without\n"
	       "                    the QEMU guest agent)\n"
	       "  --json            print the result as JSON\n"
	       "  -h, --help        show this help\n",
	       BOOT_TEST_DEFAULT_TIMEOUT);
	return EXIT_OK;
}

static const char *identity_names(void)
{
	static char buf[128];
	size_t n = 0;
	for (unsigned i = 0; i < boot_identities_count && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? ", " : "",
				      boot_identities[i].name);
	return buf;
}

static int parse_identity(const char *s, const struct boot_identity **ret)
{
	const struct boot_identity *id = boot_identity_find(s);
	if (id) {
		*ret = id;
		return 0;
	}
	const char *best = suggest_in(s, boot_identities, boot_identities_count, name);
	/* a profile name ("hyperv-guest") starts with its identity's name */
	for (unsigned i = 0; i < boot_identities_count; i++)
		if (startswith(s, boot_identities[i].name)) {
			best = boot_identities[i].name;
			break;
		}
	if (best)
		log_error("unknown identity '%s' (did you mean '%s'?)", s, best);
	else
		log_error("unknown identity '%s'; use one of %s", s, identity_names());
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
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const struct boot_identity *as = NULL, *then[BOOT_TEST_MAX_THEN];
	unsigned n_then = 0, boots = 1;
	uint32_t timeout = BOOT_TEST_DEFAULT_TIMEOUT;
	enum accel_mode accel = ACCEL_AUTO;
	enum boot_firmware firmware = BOOT_UEFI;
	bool secure_boot = false;
	const char *keep_log = NULL;
	struct boot_plan plan[BOOT_TEST_MAX_BOOTS + BOOT_TEST_MAX_THEN];
	unsigned n_plan = 0;
	bool json = false, line_only = false;
	int c, r;

	while ((c = cli_getopt(argc, argv, "h", options, "enlighten boot-test")) >= 0)
		switch (c) {
		case 'a':
			if (parse_identity(optarg, &as) < 0)
				return EXIT_USAGE;
			break;
		case 't':
			if (n_then >= BOOT_TEST_MAX_THEN) {
				log_error("too many --then (at most %d)", BOOT_TEST_MAX_THEN);
				return EXIT_USAGE;
			}
			if (parse_identity(optarg, &then[n_then]) < 0)
				return EXIT_USAGE;
			n_then++;
			break;
		case 'b':
			if (parse_u32(optarg, 10, &boots) < 0 || boots < 1 ||
			    boots > BOOT_TEST_MAX_BOOTS) {
				log_error("invalid --boots '%s'; use a number from 1 to %d", optarg,
					  BOOT_TEST_MAX_BOOTS);
				return EXIT_USAGE;
			}
			break;
		case 'T':
			if (parse_u32(optarg, 10, &timeout) < 0 || timeout < 1 || timeout > 86400) {
				log_error("invalid --timeout '%s'; use seconds from 1 to 86400",
					  optarg);
				return EXIT_USAGE;
			}
			break;
		case 'A':
			if (streq(optarg, "auto"))
				accel = ACCEL_AUTO;
			else if (streq(optarg, "kvm"))
				accel = ACCEL_KVM;
			else if (streq(optarg, "tcg"))
				accel = ACCEL_TCG;
			else {
				log_error("invalid --accel '%s'; use auto, kvm or tcg", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'F':
			if (streq(optarg, "uefi"))
				firmware = BOOT_UEFI;
			else if (streq(optarg, "bios"))
				firmware = BOOT_BIOS;
			else {
				log_error("invalid --firmware '%s'; use uefi or bios", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'S':
			secure_boot = true;
			break;
		case 'k':
			keep_log = optarg;
			break;
		case 'l':
			line_only = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			return help();
		default:
			return EXIT_USAGE;
		}

	if (optind >= argc) {
		log_error("missing IMAGE; usage: enlighten boot-test IMAGE --as IDENTITY");
		return EXIT_USAGE;
	}
	if (optind + 1 < argc) {
		log_error("unexpected argument '%s'; boot-test takes one IMAGE", argv[optind + 1]);
		return EXIT_USAGE;
	}
	if (secure_boot && firmware == BOOT_BIOS) {
		log_error("--secure-boot needs UEFI; drop --firmware bios");
		return EXIT_USAGE;
	}
	if (!as) {
		log_error("missing --as IDENTITY; use one of %s", identity_names());
		return EXIT_USAGE;
	}

	for (unsigned i = 0; i < boots; i++)
		plan[n_plan++] = (struct boot_plan){
			.id = as,
			.change = i == 0 ? EXPECT_CHANGE_ANY : EXPECT_CHANGE_NO,
		};
	for (unsigned i = 0; i < n_then; i++) {
		const struct boot_identity *prev = plan[n_plan - 1].id;
		plan[n_plan++] = (struct boot_plan){
			.id = then[i],
			.change = streq(prev->profile, then[i]->profile) ? EXPECT_CHANGE_NO
									 : EXPECT_CHANGE_YES,
		};
	}

	struct boot_test_options o = {
		.image = argv[optind],
		.plan = plan,
		.n_plan = n_plan,
		.timeout_usec = (uint64_t)timeout * 1000000ULL,
		.accel = accel,
		.firmware = firmware,
		.secure_boot = secure_boot,
		.keep_log = keep_log,
		.json = json,
		.line_only = line_only,
	};
	r = boot_test_run(&o);
	if (r == -EINTR)
		return 130;
	return r > 0 ? EXIT_OK : r == 0 ? EXIT_NO : EXIT_USAGE;
}
