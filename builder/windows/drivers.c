/* SPDX-License-Identifier: MIT */
/*
 * drivers.c - Windows driver packages staged into the image tree under
 * \Drivers\enlighten\<profile>\<package>\, where unattend.xml's DriverPaths
 * and SetupComplete.cmd point Windows' Plug and Play.
 *
 * A package is read by the row of the format table that recognises it.
 * Whatever the format, every entry goes through one check (entry_check):
 * regular files and directories only, names Windows can hold, caps on
 * count and bytes; files are created beneath the tree's fd only.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/windows/windows.h"
#include "lib/basic/copy.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/extract.h"
#include "lib/basic/fs.h"
#include "lib/basic/inf.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "lib/trust/driver-catalog.h"

#define DRIVER_DEPTH_MAX 8

struct stage_ctx {
	const char *source; /* for messages */
	const char *from;   /* the directory to copy: source, or where it was unpacked */
	int dst_fd;	    /* the package's folder in the tree */
	size_t files;
	uint64_t bytes;
	char *inf;    /* relative path of the one INF */
	char **paths; /* every file staged, relative to dst_fd */
	char **reterr_msg;
};

static int stage_err(struct stage_ctx *c, int r, const char *entry, const char *why)
{
	return errmsg_set(c->reterr_msg, r, "driver package '%s'%s%s%s: %s", c->source,
			  entry ? ": entry '" : "", entry ?: "", entry ? "'" : "", why);
}

void win_driver_pkg_done(struct win_driver_pkg *p)
{
	free(p->profile);
	free(p->name);
	free(p->inf);
	free(p->class);
	strv_free(p->hardware_ids);
	free(p->image_dir);
	*p = (struct win_driver_pkg){};
}

/* A single path component Windows can create: no reserved characters or
 * device names, no trailing dot or space, printable ASCII or UTF-8. */
static bool win_name_ok(const char *n)
{
	static const char *const reserved[] = { "CON", "PRN", "AUX", "NUL" };
	size_t len = strlen(n);

	if (len == 0 || len > 255 || streq(n, ".") || streq(n, ".."))
		return false;
	if (n[len - 1] == '.' || n[len - 1] == ' ' || !string_is_safe(n))
		return false;
	if (strpbrk(n, "<>:\"/\\|?*"))
		return false;
	size_t stem = strcspn(n, ".");
	for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
		if (stem == 3 && strncasecmp(n, reserved[i], 3) == 0)
			return false;
	if (stem == 4 && (strncasecmp(n, "COM", 3) == 0 || strncasecmp(n, "LPT", 3) == 0) &&
	    n[3] >= '1' && n[3] <= '9')
		return false;
	return true;
}

/* The one check every entry of every format passes before it is written. */
static int entry_check(struct stage_ctx *c, const char *relpath, mode_t type, uint64_t size)
{
	if (!S_ISREG(type) && !S_ISDIR(type))
		return stage_err(c, -EPERM, relpath,
				 S_ISLNK(type)
					 ? "symbolic links are not allowed in a driver package"
					 : "only files and directories are allowed");
	if (path_check_relative(relpath) < 0)
		return stage_err(c, -EINVAL, relpath, "path leaves the package");
	_cleanup_free_ char *copy = strdup(relpath);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save))
		if (!win_name_ok(p))
			return stage_err(c, -EINVAL, relpath, "not a valid Windows file name");
	if (++c->files > WIN_DRIVER_FILES_MAX)
		return stage_err(c, -E2BIG, relpath, "more files than a driver package may hold");
	if (S_ISREG(type)) {
		if (size > WIN_DRIVER_BYTES_MAX || c->bytes + size > WIN_DRIVER_BYTES_MAX)
			return stage_err(c, -EFBIG, relpath,
					 "driver package is larger than the 1 GiB cap");
		c->bytes += size;
		const char *ext = strrchr(relpath, '.');
		if (ext && strcasecmp(ext, ".inf") == 0) {
			if (c->inf)
				return stage_err(c, -EINVAL, relpath,
						 "a second INF file: a package holds one driver");
			c->inf = strdup(relpath);
			if (!c->inf)
				return -ENOMEM;
		}
	}
	return 0;
}

static int copy_fd(struct stage_ctx *c, int src, const char *relpath, uint64_t size)
{
	_cleanup_close_ int dst =
		fs_open_beneath(c->dst_fd, relpath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
	if (dst < 0)
		return stage_err(c, dst, relpath, "cannot create it in the image tree");
	if (strv_extend(&c->paths, relpath) < 0)
		return -ENOMEM;
	/* no more than was checked: a file that grew while copied is refused */
	int r = copy_stream(src, COPY_SINK_FD(dst), size, NULL, NULL);
	if (r == -EFBIG)
		return stage_err(c, r, relpath, "file changed while it was copied");
	if (r < 0)
		return stage_err(c, r, relpath, "cannot copy");
	return 0;
}

/* Format: a directory holding the INF, its catalog and its files. */
static int stage_dir_walk(struct stage_ctx *c, int dir_fd, const char *prefix, unsigned depth)
{
	if (depth > DRIVER_DEPTH_MAX)
		return stage_err(c, -ELOOP, prefix, "directories nested too deep");
	_cleanup_strv_free_ char **names = NULL;
	int r = fs_list_dir(dir_fd, NULL, &(struct fs_list_opts){ .hidden = true }, &names);
	if (r < 0)
		return r;
	for (char **n = names; r >= 0 && *n; n++) {
		_cleanup_free_ char *rel = *prefix ? strjoin(prefix, "/", *n) : strdup(*n);
		if (!rel) {
			r = -ENOMEM;
			break;
		}
		struct stat st;
		if (fstatat(dir_fd, *n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = stage_err(c, negative_errno(), rel, "cannot stat");
			break;
		}
		r = entry_check(c, rel, st.st_mode, (uint64_t)st.st_size);
		if (r < 0)
			break;
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(c->dst_fd, rel, 0755) < 0) {
				r = stage_err(c, negative_errno(), rel, "cannot create directory");
				break;
			}
			_cleanup_close_ int sub =
				openat(dir_fd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				r = stage_err(c, negative_errno(), rel, "cannot open directory");
				break;
			}
			r = stage_dir_walk(c, sub, rel, depth + 1);
		} else {
			_cleanup_close_ int src =
				openat(dir_fd, *n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (src < 0) {
				r = stage_err(c, negative_errno(), rel, "cannot open");
				break;
			}
			r = copy_fd(c, src, rel, (uint64_t)st.st_size);
		}
	}
	return r;
}

static int stage_dir(struct stage_ctx *c)
{
	_cleanup_close_ int fd = open(c->from, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return stage_err(c, negative_errno(), NULL, "cannot open the directory");
	return stage_dir_walk(c, fd, "", 0);
}

/* Format: an archive, unpacked by the shared safe extraction (which refuses
 * escapes, names Windows cannot hold and bombs), then copied like a
 * directory so that every entry passes entry_check too. */
static int stage_archive(struct stage_ctx *c, const char *scratch_dir)
{
	const struct extract_policy policy = {
		.max_entries = WIN_DRIVER_FILES_MAX,
		.max_bytes = WIN_DRIVER_BYTES_MAX,
		.windows_names = true,
	};
	_cleanup_free_ char *dir = strjoin(scratch_dir, "/unpack.XXXXXX");
	_cleanup_free_ char *target = NULL, *msg = NULL;
	if (!dir)
		return -ENOMEM;
	if (!mkdtemp(dir))
		return stage_err(c, negative_errno(), NULL, "cannot make a scratch directory");
	target = strjoin(dir, "/package");
	if (!target) {
		(void)fs_rm_rf(dir);
		return -ENOMEM;
	}
	int r = extract_archive(c->source, target, &policy, NULL, &msg);
	if (r < 0) {
		(void)fs_rm_rf(dir);
		return errmsg_set(c->reterr_msg, r, "driver package %s",
				  msg ?: "cannot be unpacked");
	}
	c->from = target;
	r = stage_dir(c);
	(void)fs_rm_rf(dir);
	return r;
}

static int stage_dir_format(struct stage_ctx *c, const char *scratch_dir _unused_)
{
	return stage_dir(c);
}

static const struct driver_format {
	const char *name;
	const char *suffix; /* NULL: a directory */
	int (*stage)(struct stage_ctx *c, const char *scratch_dir);
} driver_formats[] = {
	{ "INF directory", NULL, stage_dir_format },
	{ "cabinet", ".cab", stage_archive },
	{ "zip", ".zip", stage_archive },
	{ "ISO 9660", ".iso", stage_archive },
};

static const struct driver_format *format_find(const char *source, bool is_dir)
{
	for (size_t i = 0; i < ELEMENTSOF(driver_formats); i++) {
		const struct driver_format *f = &driver_formats[i];
		if (is_dir ? !f->suffix : f->suffix && endswith(source, f->suffix))
			return f;
	}
	return NULL;
}

/* The package's folder name: the source's base name without a format suffix. */
static char *package_name(const char *source, const struct driver_format *f)
{
	_cleanup_free_ char *copy = strdup(source);
	if (!copy)
		return NULL;
	size_t n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = 0;
	const char *base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
	char *name = strdup(base);
	if (name && f->suffix)
		name[strlen(name) - strlen(f->suffix)] = 0;
	return name;
}

/* The path beneath root_fd of a file named name (case-insensitively, as
 * Windows finds it) in the directory dir, or NULL. */
static char *find_file_ci(int root_fd, const char *dir, const char *name)
{
	_cleanup_strv_free_ char **names = NULL;
	if (fs_list_dir(root_fd, *dir ? dir : ".",
			&(struct fs_list_opts){ .hidden = true, .regular = true }, &names) < 0)
		return NULL;
	STRV_FOREACH(n, names)
	if (strcasecmp(*n, name) == 0)
		return *dir ? strjoin(dir, "/", *n) : strdup(*n);
	return NULL;
}

/* The package's catalog must be a signed Windows catalog that lists every
 * other file of the package with its digest (lib/trust/driver-catalog.h). */
static int catalog_check(struct stage_ctx *c, const char *cat)
{
	_cleanup_driver_catalog_ struct driver_catalog *dc = NULL;
	_cleanup_strv_free_ char **others = NULL;
	_cleanup_free_ char *data = NULL, *msg = NULL;
	size_t n;

	int r = fs_read_file_at(c->dst_fd, cat, DRIVER_CATALOG_MAX, &data, &n);
	if (r >= 0)
		r = driver_catalog_parse(data, n, &dc, &msg);
	if (r < 0)
		return errmsg_set(c->reterr_msg, r,
				  "driver package '%s': catalog '%s' is not a signed Windows "
				  "catalog: %s",
				  c->source, cat, msg ?: strerror(-r));
	STRV_FOREACH(p, c->paths)
	if (!streq(*p, cat) && strv_extend(&others, *p) < 0)
		return -ENOMEM;
	r = driver_catalog_check_files(dc, c->dst_fd, others, &msg);
	if (r < 0)
		return errmsg_set(c->reterr_msg, r, "driver package '%s': catalog '%s': %s",
				  c->source, cat, msg ?: strerror(-r));
	return 0;
}

/* The INF must parse, serve amd64, and name a catalog file that is there. */
static int inf_check(struct stage_ctx *c, struct inf_driver **ret)
{
	_cleanup_inf_ struct inf *inf = NULL;
	_cleanup_inf_driver_ struct inf_driver *drv = NULL;
	_cleanup_free_ char *msg = NULL, *dir = NULL;
	int r;

	r = inf_load_at(c->dst_fd, c->inf, &inf, &msg);
	if (r >= 0)
		r = inf_driver_info(inf, &drv, &msg);
	if (r < 0)
		return errmsg_set(c->reterr_msg, r,
				  "driver package '%s': INF '%s' does not parse: %s", c->source,
				  c->inf, msg ?: strerror(-r));
	if (!strv_contains(drv->architectures, "amd64")) {
		const char *const *a = (const char *const *)drv->architectures;
		return errmsg_set(
			c->reterr_msg, -EINVAL,
			"driver package '%s': INF '%s' is not for amd64 (it serves %s%s%s)",
			c->source, c->inf, a[0] ?: "nothing", a[0] && a[1] ? " and " : "",
			a[0] && a[1] ? a[1] : "");
	}
	if (!drv->catalog_file)
		return errmsg_set(
			c->reterr_msg, -EINVAL,
			"driver package '%s': INF '%s' names no catalog file (CatalogFile=); "
			"Windows refuses unsigned packages",
			c->source, c->inf);
	dir = strndup(c->inf, strrchr(c->inf, '/') ? (size_t)(strrchr(c->inf, '/') - c->inf) : 0);
	if (!dir)
		return -ENOMEM;
	_cleanup_free_ char *cat = strchr(drv->catalog_file, '/') || strchr(drv->catalog_file, '\\')
					   ? NULL
					   : find_file_ci(c->dst_fd, dir, drv->catalog_file);
	if (!cat)
		return errmsg_set(
			c->reterr_msg, -ENOENT,
			"driver package '%s': INF '%s' names catalog file '%s', which the "
			"package does not have",
			c->source, c->inf, drv->catalog_file);
	r = catalog_check(c, cat);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(drv);
	return 0;
}

int win_driver_stage(const char *profile, const char *source, int tree_fd, const char *scratch_dir,
		     struct win_driver_pkg *ret, char **reterr_msg)
{
	struct stage_ctx c = {
		.source = source, .from = source, .dst_fd = -EBADF, .reterr_msg = reterr_msg
	};
	_cleanup_inf_driver_ struct inf_driver *drv = NULL;
	_cleanup_free_ char *name = NULL, *rel = NULL;
	struct stat st;
	int r;

	if (stat(source, &st) < 0)
		return stage_err(&c, negative_errno(), NULL, strerror(errno));
	const struct driver_format *f = format_find(source, S_ISDIR(st.st_mode));
	if (!f)
		return stage_err(&c, -EINVAL, NULL,
				 "not an INF directory, .cab, .zip or .iso file");
	name = package_name(source, f);
	if (!name)
		return -ENOMEM;
	if (!win_name_ok(profile) || !win_name_ok(name))
		return stage_err(&c, -EINVAL, NULL,
				 "profile or package name is not a valid folder name");

	_cleanup_free_ char *parent = strjoin("Drivers/enlighten/", profile);
	rel = strjoin("Drivers/enlighten/", profile, "/", name);
	if (!parent || !rel)
		return -ENOMEM;
	r = fs_mkdir_p_at(tree_fd, parent, 0755);
	if (r < 0)
		return stage_err(&c, r, NULL, "cannot create its folder in the image tree");
	if (mkdirat(tree_fd, rel, 0755) < 0)
		return stage_err(&c, negative_errno(), NULL,
				 errno == EEXIST ? "a package of that name is already staged for "
						   "this profile"
						 : "cannot create its folder in the image tree");
	c.dst_fd = fs_open_beneath(tree_fd, rel, O_RDONLY | O_DIRECTORY, 0);
	if (c.dst_fd < 0)
		return stage_err(&c, c.dst_fd, NULL, "cannot open its folder in the image tree");

	_cleanup_strv_free_ char **paths_owner = NULL;
	r = f->stage(&c, scratch_dir);
	paths_owner = c.paths;
	if (r >= 0 && !c.inf)
		r = stage_err(&c, -EINVAL, NULL, "no INF file in the package");
	if (r >= 0)
		r = inf_check(&c, &drv);
	safe_close(c.dst_fd);
	if (r < 0) {
		free(c.inf);
		return r;
	}

	for (char *p = rel; *p; p++)
		if (*p == '/')
			*p = '\\';
	*ret = (struct win_driver_pkg){
		.profile = strdup(profile),
		.name = TAKE_PTR(name),
		.inf = c.inf,
		.class = TAKE_PTR(drv->class),
		.hardware_ids = TAKE_PTR(drv->hardware_ids),
		.image_dir = TAKE_PTR(rel),
	};
	if (!ret->profile) {
		win_driver_pkg_done(ret);
		return -ENOMEM;
	}
	return 0;
}

int win_driver_find_file(int tree_fd, const struct win_driver_pkg *p, const char *name,
			 char **ret_relpath)
{
	_cleanup_free_ char *dir = strjoin("Drivers/enlighten/", p->profile, "/", p->name);
	if (!dir)
		return -ENOMEM;
	_cleanup_strv_free_ char **names = NULL;
	int r = fs_list_dir(tree_fd, dir, &(struct fs_list_opts){ .hidden = true, .regular = true },
			    &names);
	if (r < 0)
		return r;
	STRV_FOREACH(n, names)
	if (strcasecmp(*n, name) == 0) {
		*ret_relpath = strjoin(dir, "/", *n);
		return *ret_relpath ? 0 : -ENOMEM;
	}
	return -ENOENT;
}
