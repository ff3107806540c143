/* SPDX-License-Identifier: MIT */
/*
 * cli.c - the command-line boundary the programs share: the version line,
 * the data directory, option errors with suggestions, the verb dispatcher.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/basic/cli.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#ifndef DATADIR
#define DATADIR "/usr/local/share/enlighten"
#endif

/* Files only a source tree has, at these paths: a program whose directory's
 * parent holds them runs from the build tree (build/enlighten). */
static const char *const source_tree_marks[] = {
	"templates/filesystems/mke2fs.conf",
	"firstboot/enlighten-firstboot.service.in",
	"payloads/profiles",
};

static const char *datadir_source = "installed";

const char *cli_program_dir(void)
{
	static char dir[PATH_MAX];
	if (dir[0])
		return dir;
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n <= 0)
		return NULL;
	dir[n] = '\0';
	char *slash = strrchr(dir, '/');
	if (!slash) {
		dir[0] = '\0';
		return NULL;
	}
	*slash = '\0';
	if (!dir[0])
		memcpy(dir, "/", 2);
	return dir;
}

/* The source tree above the running program's directory, or NULL. */
static const char *source_tree(void)
{
	static char tree[PATH_MAX];
	char self[PATH_MAX];
	const char *d = cli_program_dir();
	if (!d || strlen(d) >= sizeof(self))
		return NULL;
	memcpy(self, d, strlen(d) + 1);
	char *slash = strrchr(self, '/'); /* ".../build" -> "..." */
	if (!slash || slash == self)
		return NULL;
	*slash = '\0';
	for (size_t i = 0; i < ELEMENTSOF(source_tree_marks); i++) {
		char p[PATH_MAX];
		if (snprintf(p, sizeof(p), "%s/%s", self, source_tree_marks[i]) >= (int)sizeof(p) ||
		    access(p, R_OK) < 0)
			return NULL;
	}
	memcpy(tree, self, strlen(self) + 1);
	return tree;
}

const char *cli_datadir(void)
{
	static const char *dir;
	if (dir)
		return dir;
	const char *e = getenv("ENLIGHTEN_DATADIR");
	if (e && *e) {
		datadir_source = "from $ENLIGHTEN_DATADIR";
		return dir = e;
	}
	const char *src = source_tree();
	if (src) {
		datadir_source = "the source tree: this program runs from its build directory";
		return dir = src;
	}
	return dir = DATADIR;
}

int cli_version(const char *program)
{
	const char *d = cli_datadir();
	printf("%s %s\ndata: %s (%s)\n", program, VERSION, d, datadir_source);
	return EXIT_OK;
}

/* The long option that arg ("--name" or "--name=value") names: an exact
 * match, else the only one it is a prefix of. */
static const struct option *long_option(const struct option *longopts, const char *arg,
					size_t *ret_n_prefix)
{
	const char *name = arg + 2;
	size_t len = strcspn(name, "=");
	const struct option *found = NULL;
	size_t n = 0;
	for (const struct option *o = longopts; o && o->name; o++) {
		if (strncmp(o->name, name, len) != 0)
			continue;
		if (o->name[len] == '\0') {
			n = 1;
			found = o;
			break;
		}
		if (n++ == 0)
			found = o;
	}
	if (ret_n_prefix)
		*ret_n_prefix = n;
	return n == 1 ? found : NULL;
}

static void report_unknown_long(const struct option *longopts, const char *arg, const char *program)
{
	_cleanup_free_ char *name = strndup(arg + 2, strcspn(arg + 2, "="));
	size_t n = 0;

	long_option(longopts, arg, &n);
	if (!name)
		return;
	if (n > 1) {
		fprintf(stderr, "%s: option '--%s' is ambiguous; possibilities:", program, name);
		for (const struct option *o = longopts; o->name; o++)
			if (startswith(o->name, name))
				fprintf(stderr, " '--%s'", o->name);
		fputc('\n', stderr);
		return;
	}
	struct suggestion sg = SUGGESTION_INIT(name);
	for (const struct option *o = longopts; o && o->name; o++)
		suggestion_add(&sg, o->name);
	if (sg.best)
		fprintf(stderr, "%s: unrecognized option '--%s' (did you mean '--%s'?)\n", program,
			name, sg.best);
	else
		fprintf(stderr, "%s: unrecognized option '--%s'\n", program, name);
}

/* With opterr off, getopt_long() leaves optopt 0 for an unknown or
 * ambiguous long option, else the option's character or value; a long
 * option it complained about is argv[optind - 1]. */
static void report_bad_option(int argc, char *argv[], const char *shortopts,
			      const struct option *longopts, const char *program)
{
	const char *last = optind > 1 && optind <= argc ? argv[optind - 1] : "";

	if (optopt == 0 && startswith(last, "--")) {
		report_unknown_long(longopts, last, program);
		return;
	}
	const struct option *o = startswith(last, "--") ? long_option(longopts, last, NULL) : NULL;
	if (o && o->val == optopt && !o->flag) {
		if (o->has_arg == no_argument && strchr(last, '='))
			fprintf(stderr, "%s: option '--%s' does not take an argument\n", program,
				o->name);
		else
			fprintf(stderr, "%s: option '--%s' requires an argument\n", program,
				o->name);
		return;
	}
	const char *s =
		optopt > 0 && optopt < 128 && optopt != ':' ? strchr(shortopts, optopt) : NULL;
	if (s && s[1] == ':')
		fprintf(stderr, "%s: option '-%c' requires an argument\n", program, optopt);
	else if (optopt > 0x20 && optopt < 0x7f)
		fprintf(stderr, "%s: unrecognized option '-%c'\n", program, optopt);
	else
		fprintf(stderr, "%s: unrecognized option\n", program);
}

int cli_getopt(int argc, char *argv[], const char *shortopts, const struct option *longopts,
	       const char *program)
{
	opterr = 0;
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (c == '?') {
		report_bad_option(argc, argv, shortopts, longopts, program);
		fprintf(stderr, "Try '%s --help'.\n", program);
	}
	return c;
}

int verb_dispatch(const char *program, const struct verb *verbs, size_t n, int argc, char *argv[])
{
	const char *name = argv[0];
	for (size_t i = 0; i < n; i++)
		if (streq(verbs[i].name, name)) {
			optind = 0; /* the verb runs getopt afresh over its own argv */
			return verbs[i].run(argc, argv);
		}
	const char *best = suggest_in(name, verbs, n, name);
	if (best)
		fprintf(stderr, "%s: unknown verb '%s' (did you mean '%s'?)\n", program, name,
			best);
	else
		fprintf(stderr, "%s: unknown verb '%s'; '%s --help' lists the verbs\n", program,
			name, program);
	return EXIT_USAGE;
}
