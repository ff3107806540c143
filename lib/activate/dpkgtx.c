/* SPDX-License-Identifier: MIT */
/*
 * dpkgtx.c - the dpkg database read directly (var/lib/dpkg/status, a
 * deb822 file), and dpkg run by argv for installs and purges.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/activate/dpkgtx.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"

#define DPKG_STATUS "var/lib/dpkg/status"
#define STATUS_MAX (256u << 20)
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

int dpkgtx_installed(int root_fd, char ***ret_names, char **reterr_msg)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_strv_free_ char **names = NULL;
	int r = fs_read_file_at(root_fd, DPKG_STATUS, STATUS_MAX, &text, NULL);
	if (r < 0) {
		if (r == -ENOENT)
			return errmsg_set(reterr_msg, r,
					  "the root has no dpkg database ('/" DPKG_STATUS "')");
		return errmsg_errno(reterr_msg, r, "cannot read '/" DPKG_STATUS "': %m");
	}

	char *pkg = NULL;
	bool installed = false;
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
		_cleanup_close_ int fd =
			fs_open_beneath(root_fd, "var/lib/dpkg/info", O_RDONLY | O_DIRECTORY, 0);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		if (!prefix)
			return -ENOMEM;
		if (d) {
			fd = -EBADF;
			for (struct dirent *de; r == -ENOENT && (de = readdir(d));)
				if (startswith(de->d_name, prefix) &&
				    endswith(de->d_name, ".list")) {
					free(p);
					p = strjoin("var/lib/dpkg/info/", de->d_name);
					r = p ? fs_read_file_at(root_fd, p, DPKG_LIST_MAX, &text,
								NULL)
					      : -ENOMEM;
				}
			closedir(d);
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

static int run_all(const char *root, char *const *install_files, char *const *erase_names,
		   char **reterr_msg)
{
	int r;
	if (install_files && *install_files) {
		r = run_dpkg(root, (const char *const[]){ "--no-act", "--install", NULL },
			     install_files, reterr_msg);
		if (r < 0)
			return r;
		r = run_dpkg(root, (const char *const[]){ "--install", NULL }, install_files,
			     reterr_msg);
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
