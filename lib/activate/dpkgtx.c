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
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"
#include "lib/trust/deb.h"

#define DPKG_STATUS "var/lib/dpkg/status"
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

/* One stanza's Package: and whether its Status: says installed. */
static int stanza_end(char ***names, char *pkg, bool installed)
{
	if (pkg && installed && !strv_contains(*names, pkg))
		return strv_extend(names, pkg);
	return 0;
}

int dpkg_status_installed(char *text, char ***ret_names)
{
	_cleanup_strv_free_ char **names = NULL;
	char *pkg = NULL;
	bool installed = false;
	int r;
	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (*line == '\0') { /* blank line: end of a stanza */
			r = stanza_end(&names, pkg, installed);
			if (r < 0)
				return r;
			pkg = NULL;
			installed = false;
		} else if (startswith(line, "Package:"))
			pkg = strstrip(line + strlen("Package:"));
		else if (startswith(line, "Status:")) {
			const char *v = strstrip(line + strlen("Status:"));
			installed =
				streq(v, "install ok installed") || streq(v, "hold ok installed");
		}
	}
	r = stanza_end(&names, pkg, installed);
	if (r < 0)
		return r;
	if (names)
		qsort(names, strv_length(names), sizeof(char *), cmp_str);
	else if (!(names = calloc(1, sizeof(char *))))
		return -ENOMEM;
	*ret_names = TAKE_PTR(names);
	return 0;
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
				      "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
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
static int policy_begin(int root_fd)
{
	static const char policy[] = "#!/bin/sh\n"
				     "# written by enlighten for one dpkg run: no service starts\n"
				     "exit 101\n";
	_cleanup_close_ int fd = fs_open_beneath(root_fd, POLICY_RC_D, O_PATH, 0);
	if (fd >= 0)
		return 0;
	int r = fs_write_file_atomic_at(root_fd, POLICY_RC_D, policy, strlen(policy), 0755);
	return r < 0 ? r : 1;
}

static void policy_end(int root_fd)
{
	(void)unlinkat(root_fd, POLICY_RC_D, 0);
}

/* ---- install rounds ------------------------------------------------------
 * dpkg --install of a set unpacks every package, then configures them; but
 * a Pre-Depends must be configured before its package is unpacked
 * (python3-minimal pre-depends on python3.11-minimal), which apt arranges
 * by calling dpkg in several runs. So does this: each package gets a round
 * one past those of its pre-dependencies in the set and no earlier than
 * those of its dependencies, and each round is one dpkg --install. */

struct deb_node {
	char *name;
	char **pre;  /* Pre-Depends, every alternative's package name */
	char **deps; /* Depends, likewise */
	unsigned round;
};

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

static const struct deb_node *node_find(const struct deb_node *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].name && streq(v[i].name, name))
			return &v[i];
	return NULL;
}

/* Rounds for files; 0 for all when a control cannot be read (dpkg then
 * says what is wrong) or the relations do not settle (a cycle). */
static int rounds_compute(char *const *files, struct deb_node *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *text = NULL, *pre = NULL, *deps = NULL;
		if (deb_read_control_at(AT_FDCWD, files[i], 0, &text, NULL) < 0)
			return 0;
		v[i].name = control_field(text, "Package");
		if (!v[i].name)
			return 0; /* no name, or no memory: dpkg says which */
		pre = control_field(text, "Pre-Depends");
		deps = control_field(text, "Depends");
		if (relation_names(pre, &v[i].pre) < 0 || relation_names(deps, &v[i].deps) < 0)
			return -ENOMEM;
	}
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
			return 0;
	}
	for (size_t i = 0; i < n; i++)
		v[i].round = 0;
	return 0;
}

static int install_in_rounds(const char *root, char *const *files, char **reterr_msg)
{
	size_t n = strv_length((char **)files);
	struct deb_node *v = calloc(n ? n : 1, sizeof(*v));
	unsigned last = 0;
	int r = v ? rounds_compute(files, v, n) : -ENOMEM;
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
		if (k > 0)
			r = run_dpkg(root, (const char *const[]){ "--install", NULL }, these,
				     reterr_msg);
	}
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].name);
		strv_free(v[i].pre);
		strv_free(v[i].deps);
	}
	free(v);
	return r;
}

static int run_all(const char *root, char *const *install_files, char *const *erase_names,
		   char **reterr_msg)
{
	int r;
	if (install_files && *install_files) {
		/* the trial reads every archive; dependencies, Pre-Depends
		 * among them, are the real rounds' to check */
		r = run_dpkg(
			root,
			(const char *const[]){ "--no-act", "--force-depends", "--install", NULL },
			install_files, reterr_msg);
		if (r < 0)
			return r;
		r = install_in_rounds(root, install_files, reterr_msg);
		if (r < 0)
			return r == -EPROTO ? -EIO : r;
	}
	if (erase_names && *erase_names) {
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
	int r = run_all(root, install_files, erase_names, reterr_msg);
	if (p > 0)
		policy_end(root_fd);
	return r;
}
