/* SPDX-License-Identifier: MIT */
/*
 * cmd-payload.c - `enlighten payload SUBVERB`: the payload catalog's verbs,
 * one row each in the table below, each in builder/cmd-payload-NAME.c.
 */
#include <stdio.h>
#include <string.h>

#include "builder/verbs.h"
#include "lib/basic/cli.h"
#include "lib/basic/macro.h"

static const struct verb payload_verbs[] = {
	{ "index", "write catalog.json for a directory of payloads", cmd_payload_index },
	{ "list", "list a catalog's payloads, by profile or OS", cmd_payload_list },
	{ "keygen", "make a minisign key pair for signing catalogs", cmd_payload_keygen },
	{ "sign", "sign a catalog (writes catalog.json.minisig)", cmd_payload_sign },
	{ "verify", "check a catalog's signature, expiry and every payload", cmd_payload_verify },
};

static int payload_help(void)
{
	printf("Usage: enlighten payload SUBVERB [OPTIONS...]\n"
	       "\n"
	       "Index, sign and verify payload catalogs.\n"
	       "\n"
	       "Subverbs:\n");
	for (size_t i = 0; i < ELEMENTSOF(payload_verbs); i++)
		printf("  %-12s %s\n", payload_verbs[i].name, payload_verbs[i].summary);
	printf("\n"
	       "Options:\n"
	       "  -h, --help      show this help\n"
	       "\n"
	       "'enlighten payload SUBVERB --help' shows a subverb's options.\n");
	return EXIT_OK;
}

int cmd_payload(int argc, char *argv[])
{
	if (argc < 2) {
		payload_help();
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (streq(name, "--help") || streq(name, "-h") || streq(name, "help"))
		return payload_help();

	return verb_dispatch("enlighten payload", payload_verbs, ELEMENTSOF(payload_verbs),
			     argc - 1, argv + 1);
}
