/* SPDX-License-Identifier: MIT */
/*
 * units.c - systemd unit enablement beneath a root, as systemctl --root.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <fcntl.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/activate/units.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define UNIT_FILE_MAX (256 * 1024)
#define PRESET_FILE_MAX (256 * 1024)
#define ALSO_DEPTH 4

static const char *const unit_dirs[] = {
	"etc/systemd/system",
	"usr/local/lib/systemd/system",
	"usr/lib/systemd/system",
	"lib/systemd/system",
};

static const char *const preset_dirs[] = {
	"etc/systemd/system-preset",
	"usr/local/lib/systemd/system-preset",
	"usr/lib/systemd/system-preset",
	"lib/systemd/system-preset",
};

#define CONFIG_DIR "etc/systemd/system"

struct install_info {
	char *path; /* beneath the root, e.g. "usr/lib/systemd/system/x.service" */
	char **wanted_by;
	char **required_by;
	char **alias;
	char **also;
	char *default_instance;
};

static void install_info_done(struct install_info *i)
{
	free(i->path);
	strv_free(i->wanted_by);
	strv_free(i->required_by);
	strv_free(i->alias);
	strv_free(i->also);
	free(i->default_instance);
	*i = (struct install_info){};
}

static bool unit_name_valid(const char *unit)
{
	if (!unit || !*unit || strlen(unit) > NAME_MAX || strchr(unit, '/') || unit[0] == '.')
		return false;
	return strchr(unit, '.') != NULL && string_is_safe(unit);
}

/* Appends the white-space separated words of value to *l; an empty value
 * resets the list, as in systemd. */
static int words_extend(char ***l, char *value)
{
	if (!*value) {
		*l = strv_free(*l);
		return 0;
	}
	for (char *save = NULL, *w = strtok_r(value, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (!unit_name_valid(w))
			return -EBADMSG;
		if (!strv_contains(*l, w)) {
			int r = strv_extend(l, w);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Finds the unit file: the first unit directory holding it. A link to
 * /dev/null (or an empty file) means masked. */
static int unit_find(int root_fd, const char *unit, char **ret_path)
{
	for (size_t i = 0; i < ELEMENTSOF(unit_dirs); i++) {
		_cleanup_free_ char *p = strjoin(unit_dirs[i], "/", unit);
		if (!p)
			return -ENOMEM;
		char target[PATH_MAX];
		ssize_t n = -1;
		_cleanup_close_ int dfd =
			fs_open_beneath(root_fd, unit_dirs[i], O_PATH | O_DIRECTORY, 0);
		if (dfd >= 0)
			n = readlinkat(dfd, unit, target, sizeof(target) - 1);
		if (n >= 0) {
			target[n] = '\0';
			if (streq(target, "/dev/null"))
				return -ERFKILL;
		}
		_cleanup_close_ int fd = fs_open_beneath(root_fd, p, O_RDONLY, 0);
		if (fd == -ENOENT || fd == -ENOTDIR)
			continue;
		if (fd < 0)
			return fd;
		struct stat st;
		if (fstat(fd, &st) < 0)
			return negative_errno();
		if (!S_ISREG(st.st_mode) || st.st_size == 0)
			return -ERFKILL;
		*ret_path = TAKE_PTR(p);
		return 0;
	}
	return -ENOENT;
}

static int install_info_load(int root_fd, const char *unit, struct install_info *ret,
			     char **reterr_msg)
{
	struct install_info info = {};
	_cleanup_free_ char *text = NULL;
	int r;

	r = unit_find(root_fd, unit, &info.path);
	if (r < 0)
		return r;
	r = fs_read_file_at(root_fd, info.path, UNIT_FILE_MAX, &text, NULL);
	if (r < 0)
		goto fail;

	bool in_install = false;
	unsigned line_no = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		line_no++;
		line = strstrip(line);
		if (!*line || *line == '#' || *line == ';')
			continue;
		if (*line == '[') {
			in_install = streq(line, "[Install]");
			continue;
		}
		if (!in_install)
			continue;
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *key = strstrip(line), *value = strstrip(eq + 1);
		if (streq(key, "WantedBy"))
			r = words_extend(&info.wanted_by, value);
		else if (streq(key, "RequiredBy"))
			r = words_extend(&info.required_by, value);
		else if (streq(key, "Alias"))
			r = words_extend(&info.alias, value);
		else if (streq(key, "Also"))
			r = words_extend(&info.also, value);
		else if (streq(key, "DefaultInstance")) {
			free(info.default_instance);
			info.default_instance = strdup(value);
			r = info.default_instance ? 0 : -ENOMEM;
		} else
			r = 0;
		if (r == -EBADMSG)
			errmsg_set(reterr_msg, r, "unit '%s' line %u: bad unit name in %s=", unit,
				   line_no, key);
		if (r < 0)
			goto fail;
	}
	*ret = info;
	return 0;
fail:
	install_info_done(&info);
	return r;
}

/* The name the links carry: a template with DefaultInstance= gets the
 * instance, as systemctl enable does. */
static int link_name(const char *unit, const struct install_info *info, char **ret)
{
	const char *at = strchr(unit, '@');
	const char *dot = strrchr(unit, '.');
	if (at && at + 1 == dot) {
		if (!info->default_instance)
			return -EBADMSG;
		char *s = NULL;
		if (asprintf(&s, "%.*s%s%s", (int)(at + 1 - unit), unit, info->default_instance,
			     dot) < 0)
			return -ENOMEM;
		*ret = s;
		return 0;
	}
	*ret = strdup(unit);
	return *ret ? 0 : -ENOMEM;
}

/* Every (link path beneath the root, link target) pair enable makes. */
static int links_compute(const char *unit, const struct install_info *info, char ***ret_links,
			 char **ret_target)
{
	_cleanup_strv_free_ char **links = NULL;
	_cleanup_free_ char *name = NULL, *target = NULL;
	int r = link_name(unit, info, &name);
	if (r < 0)
		return r;
	target = strjoin("/", info->path);
	if (!target)
		return -ENOMEM;

	struct {
		char **list;
		const char *suffix;
	} deps[] = { { info->wanted_by, ".wants/" }, { info->required_by, ".requires/" } };
	for (size_t d = 0; d < ELEMENTSOF(deps); d++)
		for (char **t = deps[d].list; t && *t; t++) {
			_cleanup_free_ char *l = strjoin(CONFIG_DIR "/", *t, deps[d].suffix, name);
			if (!l || strv_extend(&links, l) < 0)
				return -ENOMEM;
		}
	for (char **a = info->alias; a && *a; a++) {
		if (streq(*a, unit))
			continue;
		_cleanup_free_ char *l = strjoin(CONFIG_DIR "/", *a);
		if (!l || strv_extend(&links, l) < 0)
			return -ENOMEM;
	}
	*ret_links = TAKE_PTR(links);
	*ret_target = TAKE_PTR(target);
	return 0;
}

static int link_dir_open(int root_fd, const char *link, bool create, int *ret_fd,
			 const char **ret_base)
{
	const char *slash = strrchr(link, '/');
	_cleanup_free_ char *dir = strndup(link, (size_t)(slash - link));
	if (!dir)
		return -ENOMEM;
	if (create) {
		int r = fs_mkdir_p_at(root_fd, dir, 0755);
		if (r < 0)
			return r;
	}
	int fd = fs_open_beneath(root_fd, dir, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	*ret_fd = fd;
	*ret_base = slash + 1;
	return 0;
}

/* 1 when link exists as a symlink to target, 0 when absent, -EEXIST when
 * something else is there. */
static int link_check(int root_fd, const char *link, const char *target)
{
	_cleanup_close_ int dfd = -EBADF;
	const char *base;
	int r = link_dir_open(root_fd, link, false, &dfd, &base);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0)
		return r;
	char buf[PATH_MAX];
	ssize_t n = readlinkat(dfd, base, buf, sizeof(buf) - 1);
	if (n < 0)
		return errno == ENOENT ? 0 : -EEXIST;
	buf[n] = '\0';
	return streq(buf, target) ? 1 : -EEXIST;
}

static int link_make(int root_fd, const char *link, const char *target)
{
	_cleanup_close_ int dfd = -EBADF;
	const char *base;
	int r = link_check(root_fd, link, target);
	if (r == 1)
		return 0;
	r = link_dir_open(root_fd, link, true, &dfd, &base);
	if (r < 0)
		return r;
	/* A link to another file is replaced, as enable --force would; made
	 * under a temporary name and renamed, so it is never half there. */
	_cleanup_free_ char *tmp = strjoin(".#", base, ".enlighten");
	if (!tmp)
		return -ENOMEM;
	(void)unlinkat(dfd, tmp, 0);
	if (symlinkat(target, dfd, tmp) < 0)
		return negative_errno();
	if (renameat(dfd, tmp, dfd, base) < 0) {
		r = negative_errno();
		(void)unlinkat(dfd, tmp, 0);
		return r;
	}
	if (fsync(dfd) < 0)
		return negative_errno();
	return 1;
}

static int link_remove(int root_fd, const char *link)
{
	_cleanup_close_ int dfd = -EBADF;
	const char *base;
	int r = link_dir_open(root_fd, link, false, &dfd, &base);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0)
		return r;
	struct stat st;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : negative_errno();
	if (!S_ISLNK(st.st_mode))
		return 0; /* a real unit file in etc/ is not ours to remove */
	if (unlinkat(dfd, base, 0) < 0)
		return errno == ENOENT ? 0 : negative_errno();
	(void)fsync(dfd);
	return 1;
}

static int enable_one(int root_fd, const char *unit, unsigned depth, char **reterr_msg)
{
	struct install_info info = {};
	_cleanup_strv_free_ char **links = NULL;
	_cleanup_free_ char *target = NULL;
	int changed = 0, r;

	if (!unit_name_valid(unit))
		return -EINVAL;
	r = install_info_load(root_fd, unit, &info, reterr_msg);
	if (r < 0)
		return r;
	r = links_compute(unit, &info, &links, &target);
	if (r < 0)
		goto out;
	for (char **l = links; l && *l; l++) {
		r = link_make(root_fd, *l, target);
		if (r < 0)
			goto out;
		changed |= r;
	}
	for (char **a = info.also; depth < ALSO_DEPTH && a && *a; a++) {
		r = enable_one(root_fd, *a, depth + 1, reterr_msg);
		if (r < 0)
			goto out;
		changed |= r;
	}
	r = changed;
out:
	install_info_done(&info);
	return r;
}

/* A System V init script that systemd-sysv-generator turns into NAME.service
 * (Debian's xen, for one): it is enabled by S links in etc/rc[2-5].d, which
 * the package's update-rc.d makes. -ENOENT when the unit has no unit file
 * and no script; else 1 when a start link is there, 0 when not. */
static const char *const sysv_rc_dirs[] = { "etc/rc2.d", "etc/rc3.d", "etc/rc4.d", "etc/rc5.d" };

static int sysv_name(int root_fd, const char *unit, char **ret)
{
	if (!endswith(unit, ".service"))
		return -ENOENT;
	_cleanup_free_ char *name = strndup(unit, strlen(unit) - strlen(".service"));
	_cleanup_free_ char *script = name ? strjoin("etc/init.d/", name) : NULL;
	if (!script)
		return -ENOMEM;
	_cleanup_close_ int fd = fs_open_beneath(root_fd, script, O_PATH, 0);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -ENOENT;
	*ret = TAKE_PTR(name);
	return 0;
}

static int sysv_is_enabled(int root_fd, const char *unit)
{
	_cleanup_free_ char *name = NULL;
	int r = sysv_name(root_fd, unit, &name);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(sysv_rc_dirs); i++) {
		_cleanup_strv_free_ char **names = NULL;
		if (fs_list_dir(root_fd, sysv_rc_dirs[i], &(struct fs_list_opts){ .prefix = "S" },
				&names) < 0)
			continue;
		STRV_FOREACH(n, names)
		if (isdigit((unsigned char)(*n)[1]) && isdigit((unsigned char)(*n)[2]) &&
		    streq(*n + 3, name))
			return 1;
	}
	return 0;
}

/* The links update-rc.d's defaults make: S01NAME in rc2.d to rc5.d. */
static int sysv_enable(int root_fd, const char *unit)
{
	_cleanup_free_ char *name = NULL, *link = NULL, *target = NULL;
	int r = sysv_is_enabled(root_fd, unit);
	if (r != 0)
		return r < 0 ? r : 0;
	r = sysv_name(root_fd, unit, &name);
	if (r < 0)
		return r;
	link = strjoin("S01", name);
	target = strjoin("../init.d/", name);
	if (!link || !target)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(sysv_rc_dirs); i++) {
		_cleanup_close_ int fd =
			fs_open_beneath(root_fd, sysv_rc_dirs[i], O_PATH | O_DIRECTORY, 0);
		if (fd < 0)
			return fd;
		if (symlinkat(target, fd, link) < 0 && errno != EEXIST)
			return -errno;
	}
	return 1;
}

int unit_enable(int root_fd, const char *unit, char **reterr_msg)
{
	int r = enable_one(root_fd, unit, 0, reterr_msg);
	if (r == -ENOENT)
		return sysv_enable(root_fd, unit);
	return r;
}

/* Links named after the unit in every etc/systemd/system/\*.wants|.requires. */
static int dep_links_named(int root_fd, const char *unit, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL, **names = NULL;
	_cleanup_close_ int fd = fs_open_beneath(root_fd, CONFIG_DIR, O_RDONLY | O_DIRECTORY, 0);
	if (fd == -ENOENT || fd == -ENOTDIR) {
		*ret = NULL;
		return 0;
	}
	if (fd < 0)
		return fd;
	int r = fs_list_dir(fd, NULL, &(struct fs_list_opts){ .hidden = true }, &names);
	if (r < 0)
		return r;
	STRV_FOREACH(n, names)
	{
		if (!endswith(*n, ".wants") && !endswith(*n, ".requires"))
			continue;
		_cleanup_free_ char *rel = strjoin(*n, "/", unit);
		if (!rel)
			return -ENOMEM;
		struct stat st;
		if (fstatat(fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode))
			continue;
		_cleanup_free_ char *p = strjoin(CONFIG_DIR "/", rel);
		if (!p || strv_extend(&l, p) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

int unit_disable(int root_fd, const char *unit, char **reterr_msg)
{
	struct install_info info = {};
	_cleanup_strv_free_ char **links = NULL, **named = NULL;
	_cleanup_free_ char *target = NULL;
	int changed = 0, r;

	if (!unit_name_valid(unit))
		return -EINVAL;
	r = install_info_load(root_fd, unit, &info, reterr_msg);
	if (r >= 0) {
		r = links_compute(unit, &info, &links, &target);
		if (r < 0 && r != -EBADMSG)
			goto out;
	} else if (r != -ENOENT && r != -ERFKILL)
		return r;
	r = dep_links_named(root_fd, unit, &named);
	if (r < 0)
		goto out;
	char **lists[] = { links, named };
	for (size_t i = 0; i < ELEMENTSOF(lists); i++)
		for (char **l = lists[i]; l && *l; l++) {
			r = link_remove(root_fd, *l);
			if (r < 0)
				goto out;
			changed |= r;
		}
	r = changed;
out:
	install_info_done(&info);
	return r;
}

int unit_is_enabled(int root_fd, const char *unit)
{
	struct install_info info = {};
	_cleanup_strv_free_ char **links = NULL;
	_cleanup_free_ char *target = NULL;
	int r = install_info_load(root_fd, unit, &info, NULL);
	if (r == -ENOENT)
		return sysv_is_enabled(root_fd, unit);
	if (r < 0)
		return r;
	r = links_compute(unit, &info, &links, &target);
	if (r >= 0) {
		r = links ? 1 : 0;
		for (char **l = links; l && *l && r == 1; l++)
			if (link_check(root_fd, *l, target) != 1)
				r = 0;
	}
	install_info_done(&info);
	return r;
}

int unit_has_links(int root_fd, const char *unit)
{
	struct install_info info = {};
	_cleanup_strv_free_ char **links = NULL, **named = NULL;
	_cleanup_free_ char *target = NULL;
	if (install_info_load(root_fd, unit, &info, NULL) >= 0) {
		if (links_compute(unit, &info, &links, &target) >= 0)
			for (char **l = links; l && *l; l++)
				if (link_check(root_fd, *l, target) != 0) {
					install_info_done(&info);
					return 1;
				}
		install_info_done(&info);
	}
	if (dep_links_named(root_fd, unit, &named) < 0)
		return 0;
	return named ? 1 : 0;
}

static int preset_files(int root_fd, char ***ret)
{
	_cleanup_strv_free_ char **names = NULL, **paths = NULL;
	for (size_t i = 0; i < ELEMENTSOF(preset_dirs); i++) {
		_cleanup_strv_free_ char **found = NULL;
		if (fs_list_dir(root_fd, preset_dirs[i],
				&(struct fs_list_opts){ .suffix = ".preset", .hidden = true },
				&found) < 0)
			continue;
		STRV_FOREACH(f, found)
		{
			/* enlighten's own presets mirror the matrix, which the
			 * planner applies itself; only the others are policy. */
			if (strv_contains(names, *f) || strstr(*f, "enlighten"))
				continue;
			_cleanup_free_ char *p = strjoin(preset_dirs[i], "/", *f);
			if (!p || strv_extend(&names, *f) < 0 || strv_extend(&paths, p) < 0)
				return -ENOMEM;
		}
	}
	/* Sort by file name; paths[i] belongs to names[i]. */
	size_t n = strv_length(names);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
			t = paths[j];
			paths[j] = paths[j - 1];
			paths[j - 1] = t;
		}
	*ret = TAKE_PTR(paths);
	return 0;
}

int unit_preset_exact(int root_fd, const char *unit)
{
	_cleanup_strv_free_ char **files = NULL;
	int r = preset_files(root_fd, &files);
	if (r < 0)
		return r;
	for (char **f = files; f && *f; f++) {
		_cleanup_free_ char *text = NULL;
		if (fs_read_file_at(root_fd, *f, PRESET_FILE_MAX, &text, NULL) < 0)
			continue;
		for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			line = strstrip(line);
			const char *rest;
			int policy;
			if ((rest = startswith(line, "enable ")))
				policy = 1;
			else if ((rest = startswith(line, "disable ")))
				policy = 0;
			else
				continue;
			while (*rest == ' ' || *rest == '\t')
				rest++;
			_cleanup_free_ char *pattern = strndup(rest, strcspn(rest, " \t"));
			if (!pattern)
				return -ENOMEM;
			if (fnmatch(pattern, unit, 0) != 0)
				continue;
			/* The first match decides; only an exact name counts as a
			 * policy about this unit. */
			return streq(pattern, unit) ? policy : -ENOENT;
		}
	}
	return -ENOENT;
}
