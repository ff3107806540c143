/* SPDX-License-Identifier: MIT */
/*
 * image.c - the Windows image build: stage drivers, write the answer
 * file and setup script, register boot-critical storage in the SYSTEM hive,
 * merge all of it into the selected image of the OEM's install.wim, then
 * write the outputs (an updated WIM, an NTFS volume, the ESP's Windows
 * boot files).
 *
 * Everything staged lives in one temporary tree that is merged at the root
 * of the image with a single wimlib update; the tree is removed at the end
 * whatever happens.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/windows/windows.h"
#include "lib/basic/cli.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define TEMPLATE_MAX (256 * 1024)
#define SYSTEM_HIVE "\\Windows\\System32\\config\\SYSTEM"

struct staging {
	char *dir;     /* the temporary directory, removed by staging_done */
	char *wim_tmp; /* the output WIM under its temporary name, removed too */
	char *tree;
	int tree_fd;
	int dir_fd; /* dir, locked while this run lives */
	struct win_driver_pkg *pkgs;
	size_t n_pkgs;
};

#define SCRATCH_PREFIX "enlighten-windows."
#define SCRATCH_NEW_PREFIX "enlighten-windows-new."
#define SCRATCH_OUTPUT "output" /* a symlink naming wim_tmp, for a sweep */

/* A scratch directory of a run that was killed: ours (same owner), not
 * locked. Its output WIM under construction, named by SCRATCH_OUTPUT, goes
 * with it. */
static void scratch_sweep_one(int tmp_fd, const char *tmpdir, const char *name)
{
	_cleanup_close_ int fd =
		openat(tmp_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
	    flock(fd, LOCK_EX | LOCK_NB) < 0)
		return;
	char out[PATH_MAX];
	ssize_t n = readlinkat(fd, SCRATCH_OUTPUT, out, sizeof(out) - 1);
	if (n > 0) {
		out[n] = '\0';
		const char *t = strrchr(out, '.');
		if (t && startswith(t, ".tmp-") && strlen(t) == strlen(".tmp-XXXXXX"))
			(void)unlink(out);
	}
	_cleanup_free_ char *path = strjoin(tmpdir, "/", name);
	if (path)
		(void)fs_rm_rf(path);
}

static void scratch_sweep(const char *tmpdir)
{
	_cleanup_close_ int fd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_strv_free_ char **names = NULL;
	if (fd < 0 ||
	    fs_list_dir(fd, NULL, &(struct fs_list_opts){ .prefix = SCRATCH_PREFIX }, &names) < 0)
		return;
	for (char **name = names; *name; name++)
		scratch_sweep_one(fd, tmpdir, *name);
}

/* The run's scratch directory, locked from its birth: made under another
 * name, locked, then renamed, so a sweep never sees it unlocked. The
 * scratch directories of killed runs are swept first. */
static int scratch_make(const char *tmpdir, struct staging *s, char **reterr_msg)
{
	scratch_sweep(tmpdir);
	_cleanup_free_ char *tmp = strjoin(tmpdir, "/" SCRATCH_NEW_PREFIX "XXXXXX");
	if (!tmp)
		return -ENOMEM;
	if (!mkdtemp(tmp))
		return errmsg_errno(reterr_msg, errno,
				    "cannot create a temporary directory in '%s': %m", tmpdir);
	s->dir_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	s->dir = strjoin(tmpdir, "/" SCRATCH_PREFIX, tmp + strlen(tmp) - 6);
	if (s->dir_fd < 0 || !s->dir || flock(s->dir_fd, LOCK_EX) < 0 || rename(tmp, s->dir) < 0) {
		int r = s->dir_fd < 0 || s->dir ? negative_errno() : -ENOMEM;
		(void)fs_rm_rf(tmp);
		free(TAKE_PTR(s->dir));
		return errmsg_errno(reterr_msg, r,
				    "cannot create a temporary directory in '%s': %m", tmpdir);
	}
	return 0;
}

static void staging_done(struct staging *s)
{
	for (size_t i = 0; i < s->n_pkgs; i++)
		win_driver_pkg_done(&s->pkgs[i]);
	free(s->pkgs);
	safe_close(s->tree_fd);
	if (s->wim_tmp)
		(void)unlink(s->wim_tmp);
	if (s->dir)
		(void)fs_rm_rf(s->dir);
	safe_close(s->dir_fd); /* the lock goes last */
	free(s->wim_tmp);
	free(s->dir);
	free(s->tree);
}

static int stage_drivers(const struct win_image_opts *o, struct staging *s, char **reterr_msg)
{
	s->pkgs = calloc(o->n_drivers ?: 1, sizeof(*s->pkgs));
	if (!s->pkgs)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_drivers; i++) {
		int r = win_driver_stage(o->drivers[i].profile, o->drivers[i].path, s->tree_fd,
					 s->dir, &s->pkgs[s->n_pkgs], reterr_msg);
		if (r < 0)
			return r;
		s->n_pkgs++;
	}
	return 0;
}

/* The staged package that carries <service>.sys, or NULL; ret_relpath is
 * the file's path in the tree. */
static int find_carrier(struct staging *s, const char *service, const struct win_driver_pkg **ret,
			char **ret_relpath)
{
	_cleanup_free_ char *sys = strjoin(service, ".sys");
	if (!sys)
		return -ENOMEM;
	for (size_t j = 0; j < s->n_pkgs; j++) {
		int r = win_driver_find_file(s->tree_fd, &s->pkgs[j], sys, ret_relpath);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		*ret = &s->pkgs[j];
		return 0;
	}
	return -ENOENT;
}

/* Each boot-critical service: its hardware ids (given, or its package's
 * INF's), and its <service>.sys copied to \Windows\System32\drivers, where
 * the boot loader loads it from. */
static int stage_boot(const struct win_image_opts *o, struct staging *s,
		      struct win_boot_driver **ret, char **reterr_msg)
{
	static char *const placeholder[] = { (char *)"X\\Y", NULL };
	_cleanup_free_ struct win_boot_driver *d = calloc(o->n_boot ?: 1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	r = fs_mkdir_p_at(s->tree_fd, "Windows/System32/drivers", 0755);
	if (r < 0)
		return r;
	for (size_t i = 0; i < o->n_boot; i++) {
		const char *svc = o->boot[i].service;
		const struct win_driver_pkg *pkg = NULL;
		_cleanup_free_ char *from = NULL, *to = NULL, *data = NULL;
		size_t n;

		/* the name is checked before it becomes a path */
		d[i] = (struct win_boot_driver){ .service = svc,
						 .hardware_ids =
							 o->boot[i].hardware_ids ?: placeholder };
		r = win_boot_driver_check(&d[i], reterr_msg);
		if (r < 0)
			return r;
		r = find_carrier(s, svc, &pkg, &from);
		if (r == -ENOENT)
			return errmsg_set(
				reterr_msg, r,
				"boot-critical service '%s': no staged driver package carries "
				"'%s.sys'",
				svc, svc);
		if (r < 0)
			return r;
		d[i].hardware_ids = o->boot[i].hardware_ids ?: pkg->hardware_ids;
		if (!o->boot[i].hardware_ids && !pkg->hardware_ids[0])
			return errmsg_set(
				reterr_msg, -EINVAL,
				"boot-critical service '%s': INF '%s' of package '%s' lists no "
				"hardware ids; give them with SERVICE=HWID",
				svc, pkg->inf, pkg->name);
		r = win_boot_driver_check(&d[i], reterr_msg);
		if (r < 0)
			return r;

		to = strjoin("Windows/System32/drivers/", svc, ".sys");
		if (!to)
			return -ENOMEM;
		r = fs_read_file_at(s->tree_fd, from, WIN_DRIVER_BYTES_MAX, &data, &n);
		if (r < 0)
			return errmsg_set(reterr_msg, r, "cannot read '%s': %s", from,
					  strerror(-r));
		r = fs_write_file_atomic_at(s->tree_fd, to, data, n, 0644);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(d);
	return 0;
}

static int stage_unattend(const struct win_image_opts *o, struct staging *s, char **reterr_msg)
{
	_cleanup_free_ char *default_path = NULL, *tmpl = NULL, *xml = NULL, *cmd = NULL;
	_cleanup_strv_free_ char **dirs = NULL;
	const char *path = o->unattend_template;
	int r;

	if (!path) {
		default_path = strjoin(cli_datadir(), "/templates/windows/unattend.xml.in");
		if (!default_path)
			return -ENOMEM;
		path = default_path;
	}
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? negative_errno() : fs_read_fd(fd, TEMPLATE_MAX, &tmpl, NULL);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read unattend template '%s': %s", path,
				  strerror(-r));
	for (size_t i = 0; i < s->n_pkgs; i++) {
		_cleanup_free_ char *d = strjoin("C:\\", s->pkgs[i].image_dir);
		if (!d || strv_extend(&dirs, d) < 0)
			return -ENOMEM;
	}
	_cleanup_free_ char *why = NULL;
	r = win_unattend_render(tmpl, dirs, &xml, &why);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "unattend template '%s': %s", path,
				  why ?: strerror(-r));
	if ((r = fs_mkdir_p_at(s->tree_fd, "Windows/Panther", 0755)) < 0 ||
	    (r = fs_write_file_atomic_at(s->tree_fd, "Windows/Panther/unattend.xml", xml,
					 strlen(xml), 0644)) < 0)
		return r;

	r = win_setupcomplete_render(WIN_DRIVERS_ROOT, o->agent_path ?: WIN_AGENT_PATH,
				     o->agent_exe != NULL, &cmd);
	if (r < 0)
		return r;
	if ((r = fs_mkdir_p_at(s->tree_fd, "Windows/Setup/Scripts", 0755)) < 0 ||
	    (r = fs_write_file_atomic_at(s->tree_fd, "Windows/Setup/Scripts/SetupComplete.cmd", cmd,
					 strlen(cmd), 0644)) < 0)
		return r;
	return 0;
}

/* Every staged file and folder gets the same time stamp, so the same
 * inputs give the same WIM and NTFS volume. */
static int64_t stamp_time;
static int stamp_one(const char *p, const struct stat *st _unused_, int flag _unused_,
		     struct FTW *ftw _unused_)
{
	const struct timespec ts[2] = { { .tv_sec = stamp_time }, { .tv_sec = stamp_time } };
	return utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -1 : 0;
}

static int stamp_tree(const char *dir, int64_t t)
{
	stamp_time = t;
	return nftw(dir, stamp_one, 16, FTW_PHYS | FTW_DEPTH) != 0 ? negative_errno() : 0;
}

static int edit_hive(const struct win_boot_driver *drivers, size_t n, int64_t mtime,
		     struct staging *s, struct win_wim *w, enum win_hive_method *ret_method,
		     char **reterr_msg)
{
	_cleanup_free_ char *hive_dir = strjoin(s->dir, "/hive");
	_cleanup_free_ char *hive = strjoin(s->dir, "/hive/SYSTEM");
	int r;

	if (!hive_dir || !hive)
		return -ENOMEM;
	if (mkdir(hive_dir, 0700) < 0)
		return negative_errno();
	r = win_wim_extract_file(w, SYSTEM_HIVE, hive_dir, reterr_msg);
	if (r < 0)
		return r;
	r = win_hive_add_boot_drivers(hive, drivers, n, ret_method, reterr_msg);
	if (r < 0)
		return r;
	if (mtime != 0 && (r = stamp_tree(hive_dir, mtime)) < 0)
		return r;
	return win_wim_add(w, hive, SYSTEM_HIVE, reterr_msg);
}

/* "<path>.tmp-XXXXXX" beside path, created; the caller renames or unlinks. */
static int temp_beside(const char *path, bool dir, char **ret)
{
	_cleanup_free_ char *t = strjoin(path, ".tmp-XXXXXX");
	if (!t)
		return -ENOMEM;
	/* mkstemp's 0600 would outlive the rename: outputs get the usual modes */
	if (dir) {
		if (!mkdtemp(t))
			return negative_errno();
		if (chmod(t, 0755) < 0)
			return negative_errno();
	} else {
		_cleanup_close_ int fd = mkostemp(t, O_CLOEXEC);
		if (fd < 0 || fchmod(fd, 0644) < 0)
			return negative_errno();
	}
	*ret = TAKE_PTR(t);
	return 0;
}

static int wim_copy(const char *from, const char *out, char **ret_tmp, char **reterr_msg)
{
	_cleanup_free_ char *tmp = NULL;
	int r = temp_beside(out, false, &tmp);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot create '%s': %s", out, strerror(-r));
	_cleanup_close_ int src = open(from, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int dst = open(tmp, O_WRONLY | O_CLOEXEC);
	struct stat st;
	r = src < 0 || dst < 0 || fstat(src, &st) < 0 || ftruncate(dst, st.st_size) < 0
		    ? negative_errno()
		    : ntfs_copy_sparse(src, dst, 0);
	if (r < 0) {
		(void)unlink(tmp);
		return errmsg_set(reterr_msg, r, "cannot copy '%s' to '%s': %s", from, tmp,
				  strerror(-r));
	}
	*ret_tmp = TAKE_PTR(tmp);
	return 0;
}

/* The file outputs: each writer fills a temporary file beside the output. */
static int write_ntfs(const struct win_image_opts *o, struct win_wim *w, const char *tmp,
		      char **reterr_msg)
{
	return ntfs_make_from_wim(w, tmp, o->ntfs_size, o->ntfs_start_sector, o->mtime, reterr_msg);
}

static int out_file(const struct win_image_opts *o, struct win_wim *w, const char *out,
		    int (*write)(const struct win_image_opts *, struct win_wim *, const char *,
				 char **),
		    char **reterr_msg)
{
	_cleanup_free_ char *tmp = NULL;
	int r = temp_beside(out, false, &tmp);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot create '%s': %s", out, strerror(-r));
	r = write(o, w, tmp, reterr_msg);
	if (r >= 0 && rename(tmp, out) < 0)
		r = errmsg_set(reterr_msg, negative_errno(), "cannot rename to '%s': %m", out);
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

/* The ESP's Windows files, as bcdboot lays them out: the image's
 * \Windows\Boot\EFI as \EFI\Microsoft\Boot (bootmgfw.efi and its
 * resources). The BCD store is not made here: see docs/windows-image.md. */
static int out_esp(const struct win_image_opts *o, struct win_wim *w, char **reterr_msg)
{
	_cleanup_free_ char *tmp = NULL, *ms = NULL, *from = NULL, *to = NULL, *probe = NULL;
	int r = temp_beside(o->out_esp, true, &tmp);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot create '%s': %s", o->out_esp,
				  strerror(-r));
	ms = strjoin(tmp, "/EFI/Microsoft");
	from = strjoin(tmp, "/EFI/Microsoft/EFI");
	to = strjoin(tmp, "/EFI/Microsoft/Boot");
	probe = strjoin(to, "/bootmgfw.efi");
	if (!ms || !from || !to || !probe) {
		r = -ENOMEM;
		goto fail;
	}
	r = fs_mkdir_p_at(AT_FDCWD, ms, 0755);
	if (r < 0)
		goto fail;
	r = win_wim_extract_file(w, "\\Windows\\Boot\\EFI", ms, reterr_msg);
	if (r < 0)
		goto fail;
	if (rename(from, to) < 0) {
		r = negative_errno();
		goto fail;
	}
	if (access(probe, F_OK) < 0) {
		r = errmsg_set(reterr_msg, -ENOENT,
			       "the image has no '\\Windows\\Boot\\EFI\\bootmgfw.efi'; is it a "
			       "UEFI Windows image?");
		goto fail;
	}
	if (rename(tmp, o->out_esp) < 0) {
		r = errmsg_set(reterr_msg, negative_errno(), "cannot rename to '%s': %m",
			       o->out_esp);
		goto fail;
	}
	return 0;
fail:
	(void)fs_rm_rf(tmp);
	return r;
}

int win_image_build(const struct win_image_opts *o, struct win_image_result *ret, char **reterr_msg)
{
	__attribute__((__cleanup__(staging_done))) struct staging s = { .tree_fd = -EBADF,
									.dir_fd = -EBADF };
	_cleanup_win_wim_ struct win_wim *w = NULL;
	_cleanup_free_ struct win_boot_driver *boot = NULL;
	struct win_image_result res = {};
	int r;

	/* opened first to fail early on a bad WIM or image */
	r = win_wim_open(o->wim, NULL, o->image, false, &w, reterr_msg);
	if (r < 0)
		return r;

	const char *tmpdir = o->tmpdir ?: getenv("TMPDIR") ?: "/tmp";
	r = scratch_make(tmpdir, &s, reterr_msg);
	if (r < 0)
		return r;
	s.tree = strjoin(s.dir, "/tree");
	if (!s.tree)
		return -ENOMEM;
	if (mkdir(s.tree, 0755) < 0)
		return negative_errno();
	s.tree_fd = open(s.tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.tree_fd < 0)
		return negative_errno();

	if ((r = stage_drivers(o, &s, reterr_msg)) < 0 ||
	    (r = stage_boot(o, &s, &boot, reterr_msg)) < 0 ||
	    (r = stage_unattend(o, &s, reterr_msg)) < 0)
		return r;
	if (o->agent_exe && (r = win_agent_stage(o->agent_exe, o->profiles_dir, o->installers,
						 o->n_installers, s.tree_fd, reterr_msg)) < 0)
		return r;
	if (o->out_wim) {
		/* the output starts as a copy of the input that is then updated in
		 * place: the image data is copied, not decompressed and written */
		win_wim_free(TAKE_PTR(w));
		r = wim_copy(o->wim, o->out_wim, &s.wim_tmp, reterr_msg);
		if (r < 0)
			return r;
		_cleanup_free_ char *abs =
			s.wim_tmp[0] == '/' ? strdup(s.wim_tmp) : realpath(s.wim_tmp, NULL);
		if (!abs || symlinkat(abs, s.dir_fd, SCRATCH_OUTPUT) < 0)
			return negative_errno();
		r = win_wim_open(s.wim_tmp, o->wim, o->image, true, &w, reterr_msg);
		if (r < 0)
			return r;
	}
	r = edit_hive(boot, o->n_boot, o->mtime, &s, w, &res.hive_method, reterr_msg);
	if (r < 0)
		return r;
	if (o->mtime != 0 && (r = stamp_tree(s.tree, o->mtime)) < 0)
		return r;
	r = win_wim_add(w, s.tree, "", reterr_msg);
	if (r < 0)
		return r;

	if (o->out_wim) {
		r = win_wim_overwrite(w, reterr_msg);
		if (r < 0)
			return r;
		if (o->mtime != 0 &&
		    (r = win_wim_pin_time(s.wim_tmp, win_wim_image_index(w), o->mtime)) < 0)
			return errmsg_set(reterr_msg, r, "cannot set the image time in '%s': %s",
					  o->out_wim, strerror(-r));
		if (rename(s.wim_tmp, o->out_wim) < 0)
			return errmsg_set(reterr_msg, negative_errno(), "cannot rename to '%s': %m",
					  o->out_wim);
		free(TAKE_PTR(s.wim_tmp));
	}
	if (o->out_ntfs && (r = out_file(o, w, o->out_ntfs, write_ntfs, reterr_msg)) < 0)
		return r;
	if (o->out_esp && (r = out_esp(o, w, reterr_msg)) < 0)
		return r;

	res.n_packages = s.n_pkgs;
	res.n_boot = o->n_boot;
	if (win_wim_image_name(w) && !(res.image_name = strdup(win_wim_image_name(w))))
		return -ENOMEM;
	for (size_t i = 0; i < s.n_pkgs; i++) {
		_cleanup_free_ char *p = strjoin(s.pkgs[i].profile, "\\", s.pkgs[i].name);
		if (!p || strv_extend(&res.packages, p) < 0) {
			win_image_result_done(&res);
			return -ENOMEM;
		}
	}
	if (ret)
		*ret = res;
	else
		win_image_result_done(&res);
	return 0;
}

void win_image_result_done(struct win_image_result *r)
{
	free(r->image_name);
	strv_free(r->packages);
	*r = (struct win_image_result){};
}
