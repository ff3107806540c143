/* SPDX-License-Identifier: MIT */
/*
 * cmd-payload-list.c - `enlighten payload list DIR`: the payloads of
 * DIR/catalog.json, optionally those of one profile or one OS, as a table
 * or as JSON. It reads the catalog (bounded, fully checked) but does not
 * verify its signature: that is `enlighten payload verify`. With --closure,
 * the packages an install of the profile takes from DIR on a base, solved
 * with libsolv (builder/payload/closure.h).
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "builder/payload/closure.h"
#include "builder/payload/index.h"
#include "builder/verbs.h"
#include "lib/activate/profile.h"
#include "lib/basic/cli.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"
#include "lib/basic/log.h"
#include "lib/basic/string-util.h"
#include "lib/trust/catalog.h"

static int list_help(void)
{
	printf("Usage: enlighten payload list [--profile P] [--os OS] [--json] DIR\n"
	       "       enlighten payload list --profile P --closure --base TARBALL [--json] DIR\n"
	       "\n"
	       "List the payloads of DIR/catalog.json (without checking its signature:\n"
	       "'enlighten payload verify' does that).\n"
	       "\n"
	       "Options:\n"
	       "  -p, --profile P   only payloads for profile P\n"
	       "  -o, --os OS       only payloads for OS (linux, windows)\n"
	       "  -c, --closure     the packages an install of profile P takes from DIR\n"
	       "                    on the base: its dependency closure\n"
	       "  -b, --base TARBALL  the base root tarball the closure is solved against\n"
	       "  -j, --json        a JSON array of the catalog's payload objects\n"
	       "  -h, --help        show this help\n");
	return EXIT_OK;
}

/* A profile no payload serves and the installed matrix does not know is
 * most likely a typo: the nearest known name, or NULL when p is known. */
static int check_profile(const struct catalog *c, const char *p, const char **ret_suggest,
			 struct profile_set **ret_matrix)
{
	_cleanup_free_ char *dir = strjoin(cli_datadir(), "/payloads/profiles");

	*ret_suggest = NULL;
	for (size_t i = 0; i < c->n_payloads; i++)
		if (strv_contains(c->payloads[i].profiles, p))
			return 0;
	if (!dir || profile_set_load(dir, ret_matrix, NULL) < 0)
		return 0; /* no matrix to tell: trust the user */
	if (profile_set_find(*ret_matrix, p))
		return 0;
	struct suggestion sg = SUGGESTION_INIT(p);
	for (size_t i = 0; i < profile_set_size(*ret_matrix); i++)
		suggestion_add(&sg, profile_name(profile_set_get(*ret_matrix, i)));
	*ret_suggest = sg.best;
	return -ENOENT;
}

/* With --closure: which payloads are in it (else NULL). */
static bool *in_closure;

static bool wanted(const struct catalog *c, const struct catalog_payload *p, const char *profile,
		   const char *os)
{
	if (in_closure)
		return in_closure[p - c->payloads];
	if (os && !streq(p->os, os))
		return false;
	if (profile && !strv_contains(p->profiles, profile))
		return false;
	return true;
}

static void print_table(const struct catalog *c, const char *profile, const char *os)
{
	printf("%-32s %-14s %-8s %-7s %-26s %s\n", "NAME", "VERSION", "OS", "ARCH", "PROFILES",
	       "PATH");
	for (size_t i = 0; i < c->n_payloads; i++) {
		const struct catalog_payload *p = &c->payloads[i];
		if (!wanted(c, p, profile, os))
			continue;
		_cleanup_free_ char *profiles = strdup("");
		for (char **s = p->profiles; profiles && *s; s++) {
			char *n = strjoin(profiles, *profiles ? "," : "", *s);
			free(profiles);
			profiles = n;
		}
		printf("%-32s %-14s %-8s %-7s %-26s %s\n", p->name, p->version, p->os,
		       p->arch ? p->arch : "-", profiles && *profiles ? profiles : "-", p->path);
	}
}

static int print_json(const struct catalog *c, const char *profile, const char *os)
{
	_cleanup_json_ json_object *all = NULL;
	json_object *payloads;
	int r = catalog_to_json(c, &all);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(all, "payloads", &payloads))
		return -EBADMSG;

	_cleanup_json_ json_object *out = json_object_new_array();
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_payloads; i++) {
		if (!wanted(c, &c->payloads[i], profile, os))
			continue;
		json_object *p = json_object_array_get_idx(payloads, i);
		if (json_object_array_add(out, json_object_get(p)) < 0)
			return -ENOMEM;
	}
	return json_write_fd(STDOUT_FILENO, out, true);
}

/* Marks the payloads of profile's closure on base (in_closure). */
static int solve_closure(const char *dir, int dfd, const struct catalog *cat, const char *profile,
			 const char *base)
{
	_cleanup_profile_set_ struct profile_set *matrix = NULL;
	_cleanup_closure_ struct closure *c = NULL;
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ size_t *idx = NULL;
	size_t n = 0;
	int r = payload_index_load_matrix(cli_datadir(), &matrix, &err);
	if (r < 0)
		return log_error_errno(r, err ? "%s" : "%m", err);
	if (!matrix)
		return log_error("no profile matrix in '%s/payloads/profiles': the closure needs "
				 "the profiles' packages",
				 cli_datadir()),
		       -ENOENT;
	r = closure_new(base, dfd, cat, &c, &err);
	if (r >= 0)
		r = closure_solve(c, matrix, profile, &idx, &n, &err);
	if (r < 0)
		return log_error("%s%s", err ? err : strerror(-r),
				 r == -ESRCH ? "; add what is missing to the payload source and "
					       "index it again"
					     : ""),
		       r;
	in_closure = calloc(cat->n_payloads + 1, sizeof(bool));
	if (!in_closure)
		return log_oom();
	for (size_t i = 0; i < n; i++)
		in_closure[idx[i]] = true;
	log_debug("closure of '%s' from '%s' on '%s': %zu packages", profile, dir, base, n);
	return 0;
}

int cmd_payload_list(int argc, char *argv[])
{
	static const struct option options[] = { { "profile", required_argument, NULL, 'p' },
						 { "os", required_argument, NULL, 'o' },
						 { "json", no_argument, NULL, 'j' },
						 { "closure", no_argument, NULL, 'c' },
						 { "base", required_argument, NULL, 'b' },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	const char *profile = NULL, *os = NULL, *base = NULL;
	bool json = false, closure = false;
	int c, r;

	while ((c = cli_getopt(argc, argv, "p:o:jcb:h", options, "enlighten payload list")) >= 0)
		switch (c) {
		case 'p':
			profile = optarg;
			break;
		case 'o':
			if (!streq(optarg, "linux") && !streq(optarg, "windows"))
				return log_error("invalid --os '%s' (want 'linux' or 'windows')",
						 optarg),
				       EXIT_USAGE;
			os = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'c':
			closure = true;
			break;
		case 'b':
			base = optarg;
			break;
		case 'h':
			return list_help();
		default:
			return EXIT_USAGE;
		}
	if (optind + 1 != argc) {
		log_error("usage: enlighten payload list [--profile P] [--os OS] [--json] DIR");
		return EXIT_USAGE;
	}
	if (closure && (!profile || !base || os)) {
		log_error("--closure needs --profile P and --base TARBALL (and no --os)");
		return EXIT_USAGE;
	}
	if (base && !closure) {
		log_error("--base TARBALL goes with --closure");
		return EXIT_USAGE;
	}
	const char *dir = argv[optind];

	_cleanup_free_ char *buf = NULL, *err = NULL;
	_cleanup_catalog_ struct catalog *cat = NULL;
	size_t len;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return log_error_errno(-errno, "cannot open directory '%s': %m", dir), EXIT_NO;
	r = fs_read_file_at(dfd, CATALOG_FILE, CATALOG_MAX_SIZE, &buf, &len);
	if (r == -ENOENT)
		return log_error("'%s' has no %s; make one with 'enlighten payload index'", dir,
				 CATALOG_FILE),
		       EXIT_NO;
	if (r == -EFBIG)
		return log_error("'%s/%s' is larger than %u bytes", dir, CATALOG_FILE,
				 CATALOG_MAX_SIZE),
		       EXIT_NO;
	if (r < 0)
		return log_error_errno(r, "cannot read '%s/%s': %m", dir, CATALOG_FILE), EXIT_NO;
	r = catalog_parse(buf, len, &cat, &err);
	if (r < 0)
		return log_error("'%s/%s': %s", dir, CATALOG_FILE, err ? err : "invalid catalog"),
		       EXIT_NO;

	if (profile) {
		_cleanup_profile_set_ struct profile_set *matrix = NULL;
		const char *s = NULL;
		if (check_profile(cat, profile, &s, &matrix) < 0) {
			if (s)
				log_error("unknown profile '%s' (did you mean '%s'?)", profile, s);
			else
				log_error("unknown profile '%s'; the profiles are in '%s/payloads/"
					  "profiles'",
					  profile, cli_datadir());
			return EXIT_USAGE;
		}
	}

	if (closure && solve_closure(dir, dfd, cat, profile, base) < 0)
		return EXIT_NO;
	if (json) {
		r = print_json(cat, profile, os);
		if (r < 0)
			return log_error_errno(r, "cannot write the list: %m"), EXIT_USAGE;
	} else
		print_table(cat, profile, os);
	free(in_closure);
	return EXIT_OK;
}
