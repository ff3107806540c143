/* SPDX-License-Identifier: MIT */
/*
 * cmd-inspect.c - `enlighten inspect IMAGE`: what builder/image/inspect.c
 * reads, as text or JSON.
 */
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "builder/image/image.h"
#include "builder/image/inject.h"
#include "builder/image/inspect.h"
#include "builder/verbs.h"
#include "lib/activate/paths.h"
#include "lib/basic/cli.h"
#include "lib/basic/json.h"
#include "lib/basic/log.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

static void print_size(uint64_t b, char out[32])
{
	if (b >= (1ULL << 30) && b % (1ULL << 30) == 0)
		snprintf(out, 32, "%" PRIu64 "G", b >> 30);
	else if (b >= MIB)
		snprintf(out, 32, "%.1fM", (double)b / MIB);
	else
		snprintf(out, 32, "%" PRIu64 "K", b >> 10);
}

static const char *get(json_object *o, const char *key)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v) || !v)
		return "-";
	return json_object_get_string(v);
}

static void print_list(const char *label, json_object *o, const char *key, const char *none)
{
	json_object *a;
	printf("  %-17s", label);
	if (!o || !json_object_object_get_ex(o, key, &a) ||
	    !json_object_is_type(a, json_type_array) || json_object_array_length(a) == 0) {
		printf("%s\n", none);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(a); i++)
		printf("%s%s", i ? " " : "",
		       json_object_get_string(json_object_array_get_idx(a, i)));
	printf("\n");
}

/* "generalized (machine-id empty)", or what one machine's identity the
 * image still holds. */
static void print_identity(json_object *v)
{
	json_object *id, *present;
	if (!json_object_object_get_ex(v, "identity", &id) || !id ||
	    !json_object_object_get_ex(id, "present", &present))
		return;
	printf("  %-17s%s (machine-id %s", "machine identity",
	       json_object_get_boolean(json_object_object_get(id, "generalized"))
		       ? "generalized"
		       : "NOT generalized",
	       get(id, "machine-id"));
	json_object_object_foreach(present, kind, n) if (json_object_get_int(n) > 0)
		printf("; %d %s", json_object_get_int(n), kind);
	printf(")\n");
}

/* The boot chain's files with the CA each signature needs (Secure Boot). */
static void print_chain(json_object *o)
{
	json_object *chain;
	if (!json_object_object_get_ex(o, "boot_chain", &chain) || !chain ||
	    json_object_array_length(chain) == 0)
		return;
	printf("\nBoot chain (the CA each signature needs in Secure Boot):\n");
	for (size_t i = 0; i < json_object_array_length(chain); i++) {
		json_object *f = json_object_array_get_idx(chain, i), *sigs;
		json_object_object_get_ex(f, "signatures", &sigs);
		size_t n = sigs ? json_object_array_length(sigs) : 0;
		printf("  %-30s ", get(f, "file"));
		if (!n)
			printf("%s\n", json_object_get_boolean(json_object_object_get(f, "pe"))
					       ? "not signed"
					       : "not a PE image");
		for (size_t j = 0; j < n; j++) {
			json_object *s = json_object_array_get_idx(sigs, j);
			json_object *exp = json_object_object_get(s, "ca_expired");
			printf("%*s'%s' by '%s'", j ? 33 : 0, "", get(s, "ca"), get(s, "signer"));
			if (exp && json_object_get_boolean(exp))
				printf(" (CA expired %s)", get(s, "ca_expires"));
			if (streq(get(s, "digest"), "differs"))
				printf(" (CHANGED after signing: its digest is not the file's)");
			printf("\n");
		}
	}
}

static void print_text(json_object *o)
{
	char sz[32];
	json_object *parts, *v;
	print_size((uint64_t)json_object_get_int64(json_object_object_get(o, "size")), sz);
	printf("Image: %s (%s, %s)\n", get(o, "image"), get(o, "format"), sz);
	printf("Table: %s, disk %s\n", get(o, "table"), get(o, "disk_uuid"));
	printf("\n  %-2s %-8s %-8s %-6s %-36s %-5s %-8s %s\n", "#", "START", "SIZE", "NAME",
	       "PARTUUID", "FS", "LABEL", "UUID");
	json_object_object_get_ex(o, "partitions", &parts);
	for (size_t i = 0; parts && i < json_object_array_length(parts); i++) {
		json_object *p = json_object_array_get_idx(parts, i), *fs = NULL;
		char st[32], si[32];
		print_size((uint64_t)json_object_get_int64(json_object_object_get(p, "start")), st);
		print_size((uint64_t)json_object_get_int64(json_object_object_get(p, "size")), si);
		json_object_object_get_ex(p, "filesystem", &fs);
		printf("  %-2s %-8s %-8s %-6s %-36s %-5s %-8s %s\n", get(p, "number"), st, si,
		       get(p, "name"), get(p, "partuuid"), get(fs, "type"), get(fs, "label"),
		       get(fs, "uuid"));
	}
	print_chain(o);
	if (!json_object_object_get_ex(o, "enlighten", &v) || !v) {
		printf("\nNot an enlighten image (no %s in an ext4 root).\n", IMAGE_BUILD_INFO);
		return;
	}
	printf("\nEnlighten:\n");
	printf("  %-17s%s\n", "image", get(v, "image"));
	printf("  %-17s%s\n", "built by", get(v, "tool"));
	printf("  %-17s%s\n", "agent version", get(v, "agent_version"));
	printf("  %-17s%s\n", "agent enabled", get(v, "agent_enabled"));
	printf("  %-17s%s\n", "catalog version", get(v, "catalog_version"));
	print_list("staged profiles", v, "profiles", "all");
	print_list("staged payloads", v, "staged_payloads", "-");
	print_list("profile matrix", v, "profile_matrix", "-");
	print_list("trusted keys", v, "trusted_keys", "-");
	print_identity(v);

	json_object *w;
	if (!json_object_object_get_ex(v, "windows", &w) || !w)
		return;
	/* a dual disk: what the builder put into the Windows half */
	printf("\nWindows:\n");
	printf("  %-17s%s\n", "image", get(w, "image"));
	print_list("staged drivers", w, "drivers", "-");
	print_list("boot-critical", w, "boot_critical", "-");
	printf("  %-17s%s\n", "registered in", get(w, "boot_registration"));
}

static int help(void)
{
	printf("Usage: enlighten inspect IMAGE [--json]\n"
	       "\n"
	       "Show a disk image's partitions and filesystems (libblkid) and, for an\n"
	       "enlighten image, what was injected (libext2fs), and the CA each signature\n"
	       "of the boot chain needs (Secure Boot), without mounting it.\n"
	       "Raw and fixed VHD images are read as they are; qcow2, VHDX and VMDK\n"
	       "through a temporary raw copy made by qemu-img.\n"
	       "\n"
	       "Options:\n"
	       "  -j, --json   print JSON\n"
	       "  -h, --help   show this help\n");
	return EXIT_OK;
}

int cmd_inspect(int argc, char *argv[])
{
	static const struct option options[] = { { "json", no_argument, NULL, 'j' },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	bool json = false;
	int c;

	while ((c = cli_getopt(argc, argv, "jh", options, "enlighten inspect")) >= 0)
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			return help();
		default:
			return EXIT_USAGE;
		}
	if (optind + 1 != argc) {
		log_error("inspect needs exactly one image; try 'enlighten inspect --help'");
		return EXIT_USAGE;
	}
	_cleanup_json_ json_object *o = NULL;
	_cleanup_free_ char *msg = NULL;
	int r = image_inspect(argv[optind], &o, &msg);
	if (r < 0)
		return log_error_errno(r, msg ? "%s" : "cannot inspect '%s': %m",
				       msg ? msg : argv[optind]),
		       EXIT_NO;
	if (json)
		return json_write_fd(STDOUT_FILENO, o, true) < 0 ? EXIT_NO : EXIT_OK;
	print_text(o);
	return EXIT_OK;
}
