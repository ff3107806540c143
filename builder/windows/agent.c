/* SPDX-License-Identifier: MIT */
/*
 * agent.c - enlighten-firstboot.exe in the Windows image: where the build
 * finds it, and how it is staged, with the profile matrix beside it, under
 * \Program Files\enlighten (docs/enlighten-firstboot-windows.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/windows/windows.h"
#include "lib/activate/profile.h"
#include "lib/basic/cli.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define AGENT_EXE "enlighten-firstboot.exe"

int win_agent_find(const char *path, char **ret, char **reterr_msg)
{
	if (path) {
		if (access(path, R_OK) < 0) {
			int r = negative_errno();
			return errmsg_set(reterr_msg, r, "cannot read the Windows agent '%s': %s",
					  path, strerror(-r));
		}
		return (*ret = strdup(path)) ? 0 : -ENOMEM;
	}
	const char *bindir = cli_program_dir();
	_cleanup_free_ char *data = strjoin(cli_datadir(), "/windows");
	_cleanup_free_ char *share = bindir ? strjoin(bindir, "/../share/enlighten/windows") : NULL;
	if (!data)
		return -ENOMEM;
	/* a build tree; the data directory; the installed layout around us
	 * (ENLIGHTEN_DATADIR may name a source tree, which has no .exe) */
	const char *dirs[] = { bindir, data, share };
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		if (!dirs[i])
			continue;
		char *p = strjoin(dirs[i], "/" AGENT_EXE);
		if (!p)
			return -ENOMEM;
		if (access(p, R_OK) == 0) {
			*ret = p;
			return 0;
		}
		free(p);
	}
	return errmsg_set(reterr_msg, -ENOENT,
			  "the Windows agent '" AGENT_EXE "' is neither beside '%s' nor in '%s': "
			  "build it (configure finds mingw-w64: apt-get install gcc-mingw-w64) or "
			  "name it with Agent= in [Windows]",
			  bindir ?: "enlighten", data);
}

/* A file of ours into the staging tree, read with a bound. */
static int stage_copy(const char *from, size_t max, int tree_fd, const char *to, char **reterr_msg)
{
	_cleanup_free_ char *data = NULL;
	size_t n;
	_cleanup_close_ int fd = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int r = fd < 0 ? negative_errno() : fs_read_fd(fd, max, &data, &n);
	if (r == -EFBIG)
		return errmsg_set(reterr_msg, r, "'%s' is larger than %zu bytes", from, max);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read '%s': %s", from, strerror(-r));
	r = fs_write_file_atomic_at(tree_fd, to, data, n, 0644);
	return r < 0 ? errmsg_set(reterr_msg, r, "cannot stage '%s': %s", to, strerror(-r)) : 0;
}

/* An installer, streamed (they run to gigabytes), by its file name. */
static int stage_installer(const char *from, int tree_fd, char **reterr_msg)
{
	const char *name = strrchr(from, '/') ? strrchr(from, '/') + 1 : from;
	if (!*name || name[0] == '.')
		return errmsg_set(reterr_msg, -EINVAL, "installer '%s' has no usable file name",
				  from);
	_cleanup_free_ char *to = strjoin(WIN_AGENT_DIR "/installers/", name);
	if (!to)
		return -ENOMEM;
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0) {
		int r = negative_errno();
		return errmsg_set(reterr_msg, r, "cannot read installer '%s': %s", from,
				  strerror(-r));
	}
	_cleanup_close_ int out =
		fs_open_beneath(tree_fd, to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
	if (out < 0)
		return errmsg_set(reterr_msg, out, "cannot stage installer '%s': %s", name,
				  out == -EEXIST ? "two installers of that name" : strerror(-out));
	char buf[1 << 16];
	uint64_t done = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errmsg_set(reterr_msg, negative_errno(),
					  "cannot read installer '%s'", from);
		if (n == 0)
			return 0;
		if ((done += (uint64_t)n) > WIN_INSTALLER_MAX)
			return errmsg_set(reterr_msg, -EFBIG, "installer '%s' is larger than 4 GiB",
					  from);
		int r = fs_write_all(out, buf, (size_t)n);
		if (r < 0)
			return errmsg_set(reterr_msg, r, "cannot stage installer '%s': %s", name,
					  strerror(-r));
	}
}

int win_agent_stage(const char *exe, const char *profiles_dir, const char *const *installers,
		    size_t n_installers, int tree_fd, char **reterr_msg)
{
	int r;
	if ((r = fs_mkdir_p_at(tree_fd, WIN_AGENT_DIR "/profiles", 0755)) < 0 ||
	    (r = fs_mkdir_p_at(tree_fd, WIN_AGENT_DIR "/installers", 0755)) < 0)
		return r;
	r = stage_copy(exe, WIN_AGENT_EXE_MAX, tree_fd, WIN_AGENT_DIR "/" AGENT_EXE, reterr_msg);
	if (r < 0)
		return r;

	/* the matrix the Linux half carries, every profile: the agent picks */
	_cleanup_close_ int dir_fd = open(profiles_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return errmsg_errno(reterr_msg, errno, "cannot open the profile matrix '%s': %m",
				    profiles_dir);
	_cleanup_strv_free_ char **names = NULL;
	r = fs_list_dir(dir_fd, NULL,
			&(struct fs_list_opts){ .suffix = ".conf", .max = PROFILE_SET_MAX },
			&names);
	if (r == -E2BIG)
		return errmsg_set(reterr_msg, r, "more than %d profiles in '%s'", PROFILE_SET_MAX,
				  profiles_dir);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot list '%s': %m", profiles_dir);
	if (!names[0])
		return errmsg_set(reterr_msg, -ENOENT, "no profile in '%s'", profiles_dir);
	for (char **name = names; *name; name++) {
		_cleanup_free_ char *from = strjoin(profiles_dir, "/", *name);
		_cleanup_free_ char *to = strjoin(WIN_AGENT_DIR "/profiles/", *name);
		if (!from || !to)
			return -ENOMEM;
		r = stage_copy(from, PROFILE_FILE_MAX, tree_fd, to, reterr_msg);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n_installers; i++)
		if ((r = stage_installer(installers[i], tree_fd, reterr_msg)) < 0)
			return r;
	return 0;
}
