/* SPDX-License-Identifier: MIT */
/*
 * dpkgtx.c - the dpkg database read directly (var/lib/dpkg/status, a
 * deb822 file), and dpkg run by argv for installs and purges.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/activate/dpkgtx.h"
#include "lib/activate/scriptenv.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"
#include "lib/trust/deb.h"

#define DPKG_STATUS "var/lib/dpkg/status"
#define DPKG_ARCH "var/lib/dpkg/arch"
#define ARGV_MAX 4096
#define POLICY_RC_D "usr/sbin/policy-rc.d"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int dpkgtx_root_has_db(int root_fd)
{
	_cleanup_close_ int fd = fs_open_beneath(root_fd, DPKG_STATUS, O_PATH, 0);
	return fd >= 0;
}

/* "a (>= 1), b:any | c" -> a b c */
static int relation_names(const char *value, char ***l)
{
	_cleanup_free_ char *copy = value ? strdup(value) : NULL;
	if (!value)
		return 0;
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *w = strtok_r(copy, ",|", &save); w; w = strtok_r(NULL, ",|", &save)) {
		w += strspn(w, " \t\n");
		size_t n = strcspn(w, " \t\n(:[<");
		if (n == 0)
			continue;
		w[n] = '\0';
		if (!strv_contains(*l, w) && strv_extend(l, w) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* What the status file says is installed: names, with their Provides
 * (every name a dependency can be satisfied by) when provides is set. */
struct status_stanza {
	char *pkg, *provides, *arch;
	bool installed;
};

/* One stanza's end: its names added when its Status: says installed; the
 * architecture of dpkg itself is the system's native one. */
static int stanza_end(char ***names, struct status_stanza *st, bool provides, char **arch)
{
	int r = 0;
	if (st->pkg && st->installed) {
		if (!strv_contains(*names, st->pkg))
			r = strv_extend(names, st->pkg);
		if (r >= 0 && provides && st->provides)
			r = relation_names(st->provides, names);
		if (r >= 0 && arch && !*arch && st->arch && streq(st->pkg, "dpkg"))
			r = (*arch = strdup(st->arch)) ? 0 : -ENOMEM;
	}
	*st = (struct status_stanza){};
	return r;
}

static int status_parse(char *text, bool provides, char ***ret_names, char **ret_arch)
{
	_cleanup_strv_free_ char **names = NULL;
	struct status_stanza st = {};
	int r;
	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (*line == '\0') { /* blank line: end of a stanza */
			r = stanza_end(&names, &st, provides, ret_arch);
			if (r < 0)
				return r;
		} else if (startswith(line, "Package:"))
			st.pkg = strstrip(line + strlen("Package:"));
		else if (startswith(line, "Provides:"))
			st.provides = strstrip(line + strlen("Provides:"));
		else if (startswith(line, "Architecture:"))
			st.arch = strstrip(line + strlen("Architecture:"));
		else if (startswith(line, "Status:")) {
			const char *v = strstrip(line + strlen("Status:"));
			st.installed =
				streq(v, "install ok installed") || streq(v, "hold ok installed");
		}
	}
	r = stanza_end(&names, &st, provides, ret_arch);
	if (r < 0)
		return r;
	if (names)
		qsort(names, strv_length(names), sizeof(char *), cmp_str);
	else if (!(names = calloc(1, sizeof(char *))))
		return -ENOMEM;
	*ret_names = TAKE_PTR(names);
	return 0;
}

int dpkg_status_installed(char *text, char ***ret_names)
{
	return status_parse(text, false, ret_names, NULL);
}

int dpkgtx_installed(int root_fd, char ***ret_names, char **reterr_msg)
{
	_cleanup_free_ char *text = NULL;
	int r = fs_read_file_at(root_fd, DPKG_STATUS, DPKG_STATUS_MAX, &text, NULL);
	if (r < 0) {
		if (r == -ENOENT)
			return errmsg_set(reterr_msg, r,
					  "the root has no dpkg database ('/" DPKG_STATUS "')");
		return errmsg_errno(reterr_msg, r, "cannot read '/" DPKG_STATUS "': %m");
	}
	return dpkg_status_installed(text, ret_names);
}

#define DPKG_LIST_MAX (16u << 20)

/* Paths images commonly leave out (dpkg's path-exclude in minimal images):
 * their absence says nothing about the package. */
static const char *const excluded_dirs[] = {
	"usr/share/doc/",    "usr/share/man/",	   "usr/share/info/",
	"usr/share/locale/", "usr/share/lintian/",
};

/* 1 when a file of the list (var/lib/dpkg/info/NAME[:ARCH].list) is gone
 * from the tree, 0 when all are there or there is no list. */
static int list_missing(int root_fd, const char *name)
{
	_cleanup_free_ char *text = NULL, *p = strjoin("var/lib/dpkg/info/", name, ".list");
	if (!p)
		return -ENOMEM;
	int r = fs_read_file_at(root_fd, p, DPKG_LIST_MAX, &text, NULL);
	if (r == -ENOENT) { /* Multi-Arch: same: NAME:ARCH.list */
		_cleanup_free_ char *prefix = strjoin(name, ":");
		_cleanup_strv_free_ char **lists = NULL;
		if (!prefix)
			return -ENOMEM;
		if (fs_list_dir(root_fd, "var/lib/dpkg/info",
				&(struct fs_list_opts){ .prefix = prefix, .suffix = ".list" },
				&lists) == -ENOMEM)
			return -ENOMEM;
		for (char **l = lists; l && *l && r == -ENOENT; l++) {
			free(p);
			p = strjoin("var/lib/dpkg/info/", *l);
			r = p ? fs_read_file_at(root_fd, p, DPKG_LIST_MAX, &text, NULL) : -ENOMEM;
		}
	}
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		while (*l == '/')
			l++;
		if (!*l || streq(l, "."))
			continue;
		bool skip = false;
		for (size_t i = 0; i < ELEMENTSOF(excluded_dirs) && !skip; i++)
			skip = startswith(l, excluded_dirs[i]) != NULL;
		if (skip)
			continue;
		_cleanup_close_ int fd = fs_open_beneath(root_fd, l, O_PATH | O_NOFOLLOW, 0);
		if (fd == -ENOENT)
			return 1;
	}
	return 0;
}

int dpkgtx_broken(int root_fd, char *const *names, char ***ret_broken)
{
	_cleanup_strv_free_ char **broken = NULL;
	for (char *const *n = names; n && *n; n++) {
		int r = list_missing(root_fd, *n);
		if (r < 0)
			return r;
		if (r > 0 && strv_extend(&broken, *n) < 0)
			return -ENOMEM;
	}
	*ret_broken = TAKE_PTR(broken);
	return 0;
}

/* dpkg [--root=ROOT] --force-confdef --force-confold ARGS... LIST...:
 * returns 0, -EPROTO (dpkg refused) with its message, or -errno. */
static int run_dpkg(const char *root, const char *const *args, char *const *list, char **reterr_msg)
{
	static char *const envp[] = { "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8",
				      "PATH=" SCRIPTENV_DIR ":/usr/sbin:/usr/bin:/sbin:/bin",
				      NULL };
	const char *argv[ARGV_MAX];
	_cleanup_free_ char *root_opt = NULL;
	size_t k = 0;

	argv[k++] = "dpkg";
	if (!streq(root, "/")) {
		root_opt = strjoin("--root=", root);
		if (!root_opt)
			return -ENOMEM;
		argv[k++] = root_opt;
	}
	argv[k++] = "--force-confdef";
	argv[k++] = "--force-confold";
	for (; *args; args++)
		argv[k++] = *args;
	for (; list && *list; list++) {
		if (k + 1 >= ARGV_MAX)
			return -E2BIG;
		argv[k++] = *list;
	}
	argv[k] = NULL;

	struct spawn_opts so = { .stdin_fd = -1, .stdout_fd = -1, .envp = envp };
	struct spawn_result res = {};
	int r = spawn_run((char *const *)argv, &so, &res);
	if (r < 0) {
		return errmsg_errno(reterr_msg, r, "cannot run dpkg: %m");
	}
	if (res.exit_status != 0) {
		const char *e = res.err ? strstrip(res.err) : NULL;
		r = errmsg_set(reterr_msg, -EPROTO, "dpkg failed%s%s", e && *e ? ": " : "",
			       e ? e : "");
	}
	spawn_result_done(&res);
	return r;
}

/* Maintainer scripts must not start services while the agent runs: on a
 * booting system a synchronous start of a unit ordered after the agent
 * would wait for the agent. The agent starts them itself, afterwards.
 * Returns 1 when it wrote the policy (remove it after), 0 when the root
 * has one of its own. */
static const char policy[] = "#!/bin/sh\n"
			     "# written by enlighten for one dpkg run: no service starts\n"
			     "exit 101\n";

/* The root's policy-rc.d is the agent's own: a run cut short by a power cut
 * left it. Returns 1, 0 (none, or the root's), or -ENOMEM. */
static int policy_is_ours(int root_fd)
{
	_cleanup_free_ char *text = NULL;
	int r = fs_read_file_at(root_fd, POLICY_RC_D, sizeof(policy), &text, NULL);
	if (r < 0) /* none, or not ours (larger, not a file) */
		return r == -ENOMEM ? r : 0;
	return streq(text, policy);
}

static int policy_begin(int root_fd)
{
	int r = policy_is_ours(root_fd);
	if (r != 0)
		return r;
	_cleanup_close_ int fd = fs_open_beneath(root_fd, POLICY_RC_D, O_PATH, 0);
	if (fd >= 0)
		return 0;
	r = fs_write_file_atomic_at(root_fd, POLICY_RC_D, policy, strlen(policy), 0755);
	return r < 0 ? r : 1;
}

static void policy_end(int root_fd)
{
	(void)unlinkat(root_fd, POLICY_RC_D, 0);
}

void dpkgtx_recover(int root_fd)
{
	if (policy_is_ours(root_fd) > 0)
		policy_end(root_fd);
	scriptenv_end(root_fd);
}

/* ---- the install check and rounds ---------------------------------------
 * Before dpkg changes anything, each package file's control is read and
 * checked against the root: its architecture is one this dpkg installs,
 * and each of its Depends and Pre-Depends names a package (or a Provides)
 * that is installed or comes in the same set. Versions are dpkg's to
 * check, in the real run, whose failure the caller undoes; so are
 * Conflicts and Breaks.
 *
 * dpkg --install of a set unpacks every package, then configures them; but
 * a Pre-Depends must be configured before its package is unpacked
 * (python3-minimal pre-depends on python3.11-minimal), which apt arranges
 * by calling dpkg in several runs. So does this: each package gets a round
 * one past those of its pre-dependencies in the set and no earlier than
 * those of its dependencies, and each round is one dpkg --install. */

struct deb_node {
	char *name, *arch;
	char *pre_text, *deps_text; /* the fields as they are, for the check */
	char **pre;		    /* Pre-Depends, every alternative's package name */
	char **deps;		    /* Depends, likewise */
	char **provides;
	unsigned round;
};

static void nodes_free(struct deb_node *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].name);
		free(v[i].arch);
		free(v[i].pre_text);
		free(v[i].deps_text);
		strv_free(v[i].pre);
		strv_free(v[i].deps);
		strv_free(v[i].provides);
	}
	free(v);
}

/* A control field's value (continuation lines joined), or NULL. */
static char *control_field(const char *text, const char *field)
{
	size_t fl = strlen(field);
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncasecmp(l, field, fl) != 0 || l[fl] != ':')
			continue;
		const char *v = l + fl + 1, *end = v;
		while ((end = strchr(end, '\n')) && (end[1] == ' ' || end[1] == '\t'))
			end++;
		char *out = end ? strndup(v, (size_t)(end - v)) : strdup(v);
		if (!out)
			return NULL;
		char *t = strstrip(out);
		memmove(out, t, strlen(t) + 1);
		return out;
	}
	return NULL;
}

/* Each file's control read into v: -EBADMSG naming the file when one
 * cannot be read or names no package. */
static int nodes_read(char *const *files, struct deb_node *v, size_t n, char **reterr_msg)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *text = NULL, *why = NULL;
		int r = deb_read_control_at(AT_FDCWD, files[i], 0, &text, &why);
		if (r < 0)
			return errmsg_set(reterr_msg, r == -ENOMEM ? r : -EBADMSG,
					  "cannot read the control of '%s': %s", files[i],
					  why ? why : strerror(-r));
		v[i].name = control_field(text, "Package");
		if (!v[i].name)
			return errmsg_set(reterr_msg, -EBADMSG,
					  "'%s' names no package (no Package field)", files[i]);
		_cleanup_free_ char *provides = control_field(text, "Provides");
		v[i].arch = control_field(text, "Architecture");
		v[i].pre_text = control_field(text, "Pre-Depends");
		v[i].deps_text = control_field(text, "Depends");
		if (relation_names(v[i].pre_text, &v[i].pre) < 0 ||
		    relation_names(v[i].deps_text, &v[i].deps) < 0 ||
		    relation_names(provides, &v[i].provides) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The first group of relations ("a | b (>= 1), c") none of whose
 * alternatives is in have: a copy of it, or NULL when all are met. */
static int unmet_group(const char *value, char *const *have, char **ret)
{
	_cleanup_free_ char *copy = value ? strdup(value) : NULL;
	*ret = NULL;
	if (!value)
		return 0;
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *g = strtok_r(copy, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
		_cleanup_strv_free_ char **alts = NULL;
		if (relation_names(g, &alts) < 0)
			return -ENOMEM;
		bool met = !alts;
		STRV_FOREACH(a, alts)
		met = met || strv_contains((char **)have, *a);
		if (!met)
			return (*ret = strdup(strstrip(g))) ? 0 : -ENOMEM;
	}
	return 0;
}

/* What the root has: the names installed with their Provides, and the
 * architectures its dpkg installs ("all", the native one, and any added
 * with --add-architecture); archs is empty when the native one is not
 * known (a database without dpkg itself). */
static int root_have(int root_fd, char ***ret_have, char ***ret_archs, char **reterr_msg)
{
	_cleanup_free_ char *text = NULL, *native = NULL, *foreign = NULL;
	_cleanup_strv_free_ char **have = NULL, **archs = NULL;
	int r = fs_read_file_at(root_fd, DPKG_STATUS, DPKG_STATUS_MAX, &text, NULL);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot read '/" DPKG_STATUS "': %m");
	r = status_parse(text, true, &have, &native);
	if (r < 0)
		return r;
	if (native) {
		if (strv_extend(&archs, "all") < 0 || strv_extend(&archs, native) < 0)
			return -ENOMEM;
		if (fs_read_file_at(root_fd, DPKG_ARCH, 4096, &foreign, NULL) >= 0) {
			char *save = NULL;
			for (char *a = strtok_r(foreign, " \t\n", &save); a;
			     a = strtok_r(NULL, " \t\n", &save))
				if (!strv_contains(archs, a) && strv_extend(&archs, a) < 0)
					return -ENOMEM;
		}
	}
	*ret_have = TAKE_PTR(have);
	*ret_archs = TAKE_PTR(archs);
	return 0;
}

/* The check before any dpkg run (see above): -EPROTO with a message
 * naming the package when dpkg could not install the set here. */
static int install_check(const char *root, char *const *files, const struct deb_node *v, size_t n,
			 char **reterr_msg)
{
	_cleanup_close_ int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_strv_free_ char **have = NULL, **archs = NULL;
	if (root_fd < 0)
		return errmsg_errno(reterr_msg, negative_errno(), "cannot open '%s': %m", root);
	int r = root_have(root_fd, &have, &archs, reterr_msg);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (strv_extend(&have, v[i].name) < 0)
			return -ENOMEM;
		STRV_FOREACH(pv, v[i].provides)
		if (strv_extend(&have, *pv) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (archs && !(v[i].arch && strv_contains(archs, v[i].arch)))
			return errmsg_set(
				reterr_msg, -EPROTO,
				"package '%s' ('%s') is for architecture '%s', which dpkg "
				"here does not install (it takes '%s'); nothing was changed",
				v[i].name, files[i], v[i].arch ? v[i].arch : "(none)", archs[1]);
		const char *field[] = { "Pre-Depends", "Depends" };
		const char *value[] = { v[i].pre_text, v[i].deps_text };
		for (size_t f = 0; f < ELEMENTSOF(field); f++) {
			_cleanup_free_ char *unmet = NULL;
			if (unmet_group(value[f], have, &unmet) < 0)
				return -ENOMEM;
			if (unmet)
				return errmsg_set(reterr_msg, -EPROTO,
						  "package '%s' ('%s') %s '%s', which is neither "
						  "installed nor in the repository's set for this "
						  "step; nothing was changed",
						  v[i].name, files[i],
						  f == 0 ? "pre-depends on" : "depends on", unmet);
		}
	}
	return 0;
}

static const struct deb_node *node_find(const struct deb_node *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].name && streq(v[i].name, name))
			return &v[i];
	return NULL;
}

/* Rounds for the nodes; 0 for all when the relations do not settle (a
 * cycle: dpkg then says what is wrong). */
static void rounds_compute(struct deb_node *v, size_t n)
{
	for (size_t pass = 0; pass <= n; pass++) {
		bool changed = false;
		for (size_t i = 0; i < n; i++) {
			unsigned want = v[i].round;
			STRV_FOREACH(q, v[i].pre)
			{
				const struct deb_node *d = node_find(v, n, *q);
				if (d && d != &v[i] && d->round + 1 > want)
					want = d->round + 1;
			}
			STRV_FOREACH(q, v[i].deps)
			{
				const struct deb_node *d = node_find(v, n, *q);
				if (d && d->round > want)
					want = d->round;
			}
			changed = changed || want != v[i].round;
			v[i].round = want;
		}
		if (!changed)
			return;
	}
	for (size_t i = 0; i < n; i++)
		v[i].round = 0;
}

/* The check, then one dpkg --install per round: -EPROTO when the check
 * refused (nothing changed), -EIO when a dpkg run failed. */
static int install_in_rounds(const char *root, char *const *files, char **reterr_msg)
{
	size_t n = strv_length((char **)files);
	struct deb_node *v = calloc(n ? n : 1, sizeof(*v));
	unsigned last = 0;
	int r = v ? nodes_read(files, v, n, reterr_msg) : -ENOMEM;
	if (r >= 0)
		r = install_check(root, files, v, n, reterr_msg);
	if (r >= 0)
		rounds_compute(v, n);
	for (size_t i = 0; r >= 0 && i < n; i++)
		last = v[i].round > last ? v[i].round : last;
	for (unsigned round = 0; r >= 0 && round <= last; round++) {
		_cleanup_free_ char **these = calloc(n + 1, sizeof(char *));
		size_t k = 0;
		if (!these) {
			r = -ENOMEM;
			break;
		}
		for (size_t i = 0; i < n; i++)
			if (v[i].round == round)
				these[k++] = files[i];
		if (k > 0) {
			r = run_dpkg(root, (const char *const[]){ "--install", NULL }, these,
				     reterr_msg);
			r = r == -EPROTO ? -EIO : r;
		}
	}
	nodes_free(v, n);
	return r;
}

static int run_all(const char *root, char *const *install_files, char *const *erase_names,
		   char **reterr_msg)
{
	int r;
	if (install_files && *install_files) {
		r = install_in_rounds(root, install_files, reterr_msg);
		if (r < 0)
			return r;
	}
	if (erase_names && *erase_names) {
		/* a purge cannot be undone (the package files are not
		 * kept): dpkg's trial refuses one that would break a
		 * dependency before anything goes */
		r = run_dpkg(root, (const char *const[]){ "--no-act", "--purge", NULL },
			     erase_names, reterr_msg);
		if (r < 0)
			return r;
		r = run_dpkg(root, (const char *const[]){ "--purge", NULL }, erase_names,
			     reterr_msg);
		if (r < 0)
			return r == -EPROTO ? -EIO : r;
	}
	return 0;
}

int dpkgtx_run(const char *root, char *const *install_files, char *const *erase_names,
	       char **reterr_msg)
{
	_cleanup_close_ int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return negative_errno();
	int p = policy_begin(root_fd);
	if (p < 0) {
		return errmsg_errno(reterr_msg, p, "cannot write '/" POLICY_RC_D "': %m");
	}
	/* the scripts' own commands first in their PATH (scriptenv.h) */
	int r = scriptenv_begin(root_fd, p > 0);
	if (r < 0)
		r = errmsg_errno(reterr_msg, r, "cannot write '" SCRIPTENV_DIR "': %m");
	else
		r = run_all(root, install_files, erase_names, reterr_msg);
	if (r >= 0)
		r = scriptenv_finish(root, root_fd);
	scriptenv_end(root_fd);
	if (p > 0)
		policy_end(root_fd);
	return r;
}
