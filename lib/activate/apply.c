/* SPDX-License-Identifier: MIT */
/*
 * apply.c - the plan runner: journal, steps, undo.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/activate/apply.h"
#include "lib/activate/bootcount.h"
#include "lib/activate/dpkgtx.h"
#include "lib/activate/paths.h"
#include "lib/activate/units.h"
#include "lib/basic/copy.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/hash.h"
#include "lib/basic/json.h"
#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"

#define ENTRY_MAX (64 * 1024)
#define COPY_MAX ((uint64_t)1 << 32)

void apply_result_done(struct apply_result *r)
{
	strv_free(r->changes);
	*r = (struct apply_result){};
}

/* ---- small file operations beneath the root --------------------------------------------- */

static int parent_open(int root_fd, const char *path, const char **ret_base)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		*ret_base = path;
		return fs_open_beneath(root_fd, ".", O_RDONLY | O_DIRECTORY, 0);
	}
	_cleanup_free_ char *dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	*ret_base = slash + 1;
	return fs_open_beneath(root_fd, dir, O_RDONLY | O_DIRECTORY, 0);
}

static int remove_at(int root_fd, const char *path)
{
	const char *base;
	_cleanup_close_ int dfd = parent_open(root_fd, path, &base);
	if (dfd == -ENOENT || dfd == -ENOTDIR)
		return 0;
	if (dfd < 0)
		return dfd;
	if (unlinkat(dfd, base, 0) < 0)
		return errno == ENOENT ? 0 : negative_errno();
	(void)fsync(dfd);
	return 1;
}

static bool exists_at(int root_fd, const char *path)
{
	_cleanup_close_ int fd = fs_open_beneath(root_fd, path, O_PATH, 0);
	return fd >= 0;
}

static int write_if_changed(int root_fd, const char *path, const char *content)
{
	_cleanup_free_ char *cur = NULL;
	if (fs_read_file_at(root_fd, path, ENTRY_MAX, &cur, NULL) >= 0 && streq(cur, content))
		return 0;
	const char *slash = strrchr(path, '/');
	if (slash) {
		_cleanup_free_ char *dir = strndup(path, (size_t)(slash - path));
		if (!dir)
			return -ENOMEM;
		int r = fs_mkdir_p_at(root_fd, dir, 0755);
		if (r < 0)
			return r;
	}
	int r = fs_write_file_atomic_at(root_fd, path, content, strlen(content), 0644);
	return r < 0 ? r : 1;
}

/* Streams src to dst (both beneath the root), atomically. */
static int copy_at(int root_fd, const char *src, const char *dst)
{
	_cleanup_close_ int in = fs_open_beneath(root_fd, src, O_RDONLY, 0);
	_cleanup_atomic_file_ struct atomic_file *out = NULL;
	int r;

	if (in < 0)
		return in;
	r = atomic_file_open(root_fd, dst, 0600, &out);
	if (r < 0)
		return r;
	r = copy_stream(in, COPY_SINK_FD(out->fd), COPY_MAX, NULL, NULL);
	if (r < 0)
		return r;
	return atomic_file_commit(out);
}

/* ---- steps ------------------------------------------------------------------------------- */

static char *root_join(const char *root, const char *rel)
{
	return strjoin(streq(root, "/") ? "" : root, "/", rel);
}

static int verify_payload(const struct apply_opts *o, const struct plan_install *in,
			  char **reterr_msg)
{
	_cleanup_close_ int fd = fs_open_beneath(o->root_fd, in->path, O_RDONLY, 0);
	uint8_t digest[SHA256_DIGEST_SIZE];
	char hex[SHA256_HEX_SIZE];
	uint64_t len;

	if (fd < 0) {
		return errmsg_set(reterr_msg, fd,
				  "package '%s' is missing from the repository: '/%s': %s",
				  in->name, in->path, strerror(-fd));
	}
	int r = sha256_fd(fd, in->length + 1, digest, &len);
	if (r < 0 && r != -EFBIG)
		return r;
	hex_encode(digest, sizeof(digest), hex);
	if (r == -EFBIG || len != in->length || !in->sha256 || !streq(hex, in->sha256)) {
		return errmsg_set(
			reterr_msg, -EBADMSG,
			"package file '/%s' does not match the signed catalog (length or sha256)",
			in->path);
	}
	return 0;
}

/* The package database of the step's manager. */
static int pkg_installed(enum plan_step_kind kind, const struct apply_opts *o, char ***ret,
			 char **reterr_msg)
{
	if (kind == STEP_DPKG)
		return dpkgtx_installed(o->root_fd, ret, reterr_msg);
	return rpmtx_installed(o->root, ret, reterr_msg);
}

/* The step's packages the database lists as installed and whose files are
 * all there: one listed with files missing is to be installed again. */
static int pkg_intact(const struct plan_step *s, const struct apply_opts *o, char ***ret,
		      char **reterr_msg)
{
	_cleanup_strv_free_ char **installed = NULL, **listed = NULL, **broken = NULL,
				 **intact = NULL;
	int r = pkg_installed(s->kind, o, &installed, reterr_msg);
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->n_install; i++)
		if (strv_contains(installed, s->install[i].name) &&
		    strv_extend(&listed, s->install[i].name) < 0)
			return -ENOMEM;
	r = s->kind == STEP_DPKG ? dpkgtx_broken(o->root_fd, listed, &broken)
				 : rpmtx_broken(o->root, listed, &broken, reterr_msg);
	if (r < 0)
		return r;
	STRV_FOREACH(n, installed)
	if (!strv_contains(broken, *n) && strv_extend(&intact, *n) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(intact);
	return 0;
}

static int pkg_run(enum plan_step_kind kind, const struct apply_opts *o, char *const *files,
		   char *const *erase, char **reterr_msg)
{
	if (kind == STEP_DPKG)
		return dpkgtx_run(o->root, files, erase, reterr_msg);
	return rpmtx_run(o->root, files, erase, o->verify, reterr_msg);
}

/* A transaction killed part way leaves librpm's temporary files. */
static int remove_rpm_leftovers(const struct plan_step *s, const struct apply_opts *o)
{
	_cleanup_strv_free_ char **names = NULL;
	for (size_t i = 0; i < s->n_install; i++)
		if (strv_extend(&names, s->install[i].name) < 0)
			return -ENOMEM;
	int r = rpmtx_remove_leftovers(o->root, names);
	return r < 0 ? r : 0;
}

static int step_packages(const struct plan_step *s, const struct apply_opts *o, bool rerun,
			 char **reterr_msg)
{
	_cleanup_strv_free_ char **files = NULL, **installed = NULL, **erase = NULL;
	bool rpm = s->kind == STEP_RPM;
	int r;

	r = pkg_intact(s, o, &installed, reterr_msg);
	if (r < 0)
		return r;
	/* Idempotent: only what is still to do (a rerun after a crash finds
	 * part or all of it done; a run cut short by a full disk may have left
	 * a package listed without its files). */
	for (size_t i = 0; i < s->n_install; i++) {
		if (strv_contains(installed, s->install[i].name))
			continue;
		r = verify_payload(o, &s->install[i], reterr_msg);
		if (r < 0)
			return r;
		_cleanup_free_ char *f = root_join(o->root, s->install[i].path);
		if (!f || strv_extend(&files, f) < 0)
			return -ENOMEM;
	}
	for (char **e = s->erase; e && *e; e++)
		if (strv_contains(installed, *e) && strv_extend(&erase, *e) < 0)
			return -ENOMEM;
	if (!files && !erase)
		return rerun && rpm ? remove_rpm_leftovers(s, o) : 0;
	if (rerun && rpm) {
		/* librpm names its temporary files after the transaction id,
		 * the time in seconds: a transaction killed in this same second
		 * left files of that name. Start in the next second. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		struct timespec rest = { 0, 1000000000L - ts.tv_nsec + 1000000L };
		nanosleep(&rest, NULL);
	}
	r = pkg_run(s->kind, o, files, erase, reterr_msg);
	if (r >= 0 && rerun && rpm)
		return remove_rpm_leftovers(s, o);
	return r;
}

static int step_kernel_args(const struct plan_step *s, const struct apply_opts *o)
{
	_cleanup_free_ char *text = NULL, *options = NULL, *edited = NULL, *out = NULL;
	int r = fs_read_file_at(o->root_fd, s->path, ENTRY_MAX, &text, NULL);
	if (r < 0)
		return r;
	if (endswith(s->path, "/grub.cfg")) { /* Loader=grub: every `linux` line */
		out = plan_grub_cfg_edit(text, s->remove, s->add);
		return out ? write_if_changed(o->root_fd, s->path, out) : -ENOMEM;
	}
	options = plan_entry_get(text, "options");
	edited = plan_options_edit(options, s->remove, s->add);
	if (!edited)
		return -ENOMEM;
	out = plan_entry_set(text, "options", *edited ? edited : NULL);
	if (!out)
		return -ENOMEM;
	return write_if_changed(o->root_fd, s->path, out);
}

static int initrd_value(const struct plan_step *s, char **ret)
{
	/* The entry names the initrd relative to the ESP, in the directory of
	 * the generic one. */
	const char *slash = strrchr(s->generic, '/');
	_cleanup_free_ char *dir =
		slash ? strndup(s->generic, (size_t)(slash - s->generic)) : strdup("");
	if (!dir)
		return -ENOMEM;
	*ret = strjoin(dir[0] == '/' ? "" : "/", dir, *dir ? "/" : "", PLAN_INITRD_NAME);
	if (*ret && strstr(*ret, "//")) {
		char *p = *ret;
		memmove(p, p + 1, strlen(p));
	}
	return *ret ? 0 : -ENOMEM;
}

/* The fallback entry: the entry as it is, with the generic initrd and
 * none of the profiles' kernel arguments, so any move still boots. */
static int write_fallback_entry(const struct plan_step *s, const struct apply_opts *o,
				const char *text)
{
	_cleanup_free_ char *options = plan_entry_get(text, "options");
	_cleanup_free_ char *title = plan_entry_get(text, "title");
	_cleanup_free_ char *plain = plan_options_edit(options, s->remove, NULL);
	_cleanup_free_ char *t2 = strjoin(title ? title : "Linux", " (generic initrd)");
	if (!plain || !t2)
		return -ENOMEM;
	_cleanup_free_ char *a = plan_entry_set(text, "initrd", s->generic);
	_cleanup_free_ char *b = a ? plan_entry_set(a, "options", *plain ? plain : NULL) : NULL;
	_cleanup_free_ char *c = b ? plan_entry_set(b, "title", t2) : NULL;
	_cleanup_free_ char *d = c ? plan_entry_set(c, "sort-key", "zz-enlighten-fallback") : NULL;
	if (!d)
		return -ENOMEM;
	return write_if_changed(o->root_fd, s->fallback, d);
}

/* The initrd with the drivers (space-separated), built by the initrd tool
 * beside the target and renamed over it: a crash leaves the old initrd or
 * the new one, never half of one. */
static int rebuild_initrd(const struct plan_step *s, const struct apply_opts *o,
			  const char *drivers, char **reterr_msg)
{
	int r;
	_cleanup_free_ char *tmp_rel = strjoin(s->output, ".tmp");
	_cleanup_free_ char *tmp = tmp_rel ? root_join(o->root, tmp_rel) : NULL;
	if (!tmp)
		return -ENOMEM;
	(void)remove_at(o->root_fd, tmp_rel); /* a power cut's half-written one */
	/* the tool gets a plain path and follows every symlink in it */
	r = fs_path_stays_beneath(o->root, tmp_rel);
	if (r < 0) {
		return errmsg_set(reterr_msg, r, "'/%s' %s", tmp_rel,
				  r == -EXDEV ? "leads outside the root through a symlink; "
						"refusing to have the initrd written there"
					      : strerror(-r));
	}
	const char *tool = o->initrd_tool ? o->initrd_tool : "dracut";
	const char *argv[16];
	size_t k = 0;
	argv[k++] = tool;
	argv[k++] = "--force";
	argv[k++] = "--hostonly";
	argv[k++] = "--no-hostonly-cmdline";
	argv[k++] = "--add-drivers";
	argv[k++] = drivers;
	argv[k++] = "--kver";
	argv[k++] = s->kver;
	if (!streq(o->root, "/")) {
		argv[k++] = "--sysroot";
		argv[k++] = o->root;
	}
	argv[k++] = tmp;
	argv[k] = NULL;
	struct spawn_result res = {};
	r = spawn_run((char *const *)argv, NULL, &res);
	if (r < 0 || res.exit_status != 0) {
		errmsg_set(reterr_msg, r < 0 ? r : -EIO, "initrd rebuild with '%s' failed%s%s",
			   tool, r < 0 ? ": " : (res.err && *res.err ? ": " : ""),
			   r < 0 ? strerror(-r) : (res.err ? strstrip(res.err) : ""));
		spawn_result_done(&res);
		(void)remove_at(o->root_fd, tmp_rel);
		return r < 0 ? r : -EIO;
	}
	spawn_result_done(&res);
	const char *base;
	_cleanup_close_ int dfd = parent_open(o->root_fd, s->output, &base);
	if (dfd < 0)
		return dfd;
	const char *tbase = strrchr(tmp_rel, '/') ? strrchr(tmp_rel, '/') + 1 : tmp_rel;
	if (renameat(dfd, tbase, dfd, base) < 0)
		return negative_errno();
	(void)fsync(dfd);
	return 0;
}

/* The host-only entry with a full count (STEP+3.conf), then loader.conf's
 * default for it; the entry's other files (a count run down, an old
 * profile's) go once the new one is there. */
static int write_hostonly_entry(const struct plan_step *s, const struct apply_opts *o,
				const char *text, const char *value)
{
	_cleanup_free_ char *full = bootcount_hostonly_path(s->path);
	_cleanup_free_ char *want = bootcount_hostonly_entry(text, value, s->remove, s->add);
	_cleanup_free_ char *lc_path = bootcount_loader_conf_path(s->path), *lc = NULL,
			    *lc_want = NULL;
	_cleanup_strv_free_ char **files = NULL;
	if (!full || !want || !lc_path)
		return -ENOMEM;
	int r = bootcount_hostonly_files(o->root_fd, s->path, &files);
	if (r < 0)
		return r;
	r = write_if_changed(o->root_fd, full, want);
	for (char **f = files; r >= 0 && *f; f++)
		if (!streq(*f, full))
			r = remove_at(o->root_fd, *f);
	if (r < 0)
		return r;
	(void)fs_read_file_at(o->root_fd, lc_path, ENTRY_MAX, &lc, NULL);
	lc_want = bootcount_loader_conf(lc, s->path);
	return lc_want ? write_if_changed(o->root_fd, lc_path, lc_want) : -ENOMEM;
}

/* Removes the host-only entry, its initrd and its stamp. */
static int remove_hostonly(const struct plan_step *s, const struct apply_opts *o,
			   const char *stamp_path)
{
	_cleanup_strv_free_ char **files = NULL;
	int r = bootcount_hostonly_files(o->root_fd, s->path, &files);
	for (char **f = files; r >= 0 && f && *f; f++)
		r = remove_at(o->root_fd, *f);
	if (r >= 0)
		r = remove_at(o->root_fd, s->output);
	if (r >= 0)
		r = remove_at(o->root_fd, stamp_path);
	return r < 0 ? r : 0;
}

static int step_initrd(const struct plan_step *s, const struct apply_opts *o, char **reterr_msg)
{
	_cleanup_free_ char *text = NULL, *value = NULL, *stamp_path = NULL, *generic_text = NULL;
	int r;

	r = fs_read_file_at(o->root_fd, s->path, ENTRY_MAX, &text, NULL);
	if (r < 0)
		return r;
	r = initrd_value(s, &value);
	if (r < 0)
		return r;
	stamp_path = strjoin(s->output, ".drivers");
	if (!stamp_path)
		return -ENOMEM;

	if (!exists_at(o->root_fd, s->fallback)) {
		r = write_fallback_entry(s, o, text);
		if (r < 0)
			return r;
	}
	/* the entry itself keeps (or gets back) the generic initrd: the
	 * default boots on every hypervisor */
	generic_text = plan_entry_set(text, "initrd", s->generic);
	if (!generic_text)
		return -ENOMEM;
	r = write_if_changed(o->root_fd, s->path, generic_text);
	if (r < 0)
		return r;
	if (!s->drivers)
		return remove_hostonly(s, o, stamp_path);

	_cleanup_free_ char *joined = NULL, *stamp = NULL, *cur_stamp = NULL;
	size_t n = 1;
	for (char **d = s->drivers; *d; d++)
		n += strlen(*d) + 1;
	joined = calloc(1, n);
	if (!joined)
		return -ENOMEM;
	for (char **d = s->drivers; *d; d++) {
		if (d != s->drivers)
			strcat(joined, " "); /* sized above */
		strcat(joined, *d);
	}
	stamp = strjoin(s->kver, "\n");
	for (char **d = s->drivers; stamp && *d; d++) {
		char *t = strjoin(stamp, *d, "\n");
		free(stamp);
		stamp = t;
	}
	if (!stamp)
		return -ENOMEM;

	(void)fs_read_file_at(o->root_fd, stamp_path, ENTRY_MAX, &cur_stamp, NULL);
	if (!cur_stamp || !streq(cur_stamp, stamp) || !exists_at(o->root_fd, s->output)) {
		r = rebuild_initrd(s, o, joined, reterr_msg);
		if (r < 0)
			return r;
		r = write_if_changed(o->root_fd, stamp_path, stamp);
		if (r < 0)
			return r;
	}
	r = write_hostonly_entry(s, o, generic_text, value);
	return r < 0 ? r : 0;
}

/* Removes what a power cut during an atomic write of path left: the
 * ".#NAME.*" temporary files beside it. */
static void remove_stale_temporaries(int root_fd, const char *path)
{
	const char *base;
	_cleanup_close_ int dfd = path ? parent_open(root_fd, path, &base) : -EBADF;
	if (dfd < 0)
		return;
	_cleanup_free_ char *prefix = strjoin(".#", base, ".");
	_cleanup_strv_free_ char **names = NULL;
	if (!prefix ||
	    fs_list_dir(dfd, NULL, &(struct fs_list_opts){ .prefix = prefix, .hidden = true },
			&names) < 0)
		return;
	STRV_FOREACH(n, names)
	(void)unlinkat(dfd, *n, 0);
}

static int step_run(const struct plan_step *s, const struct apply_opts *o, bool rerun,
		    char **reterr_msg)
{
	int r;
	if (rerun) {
		remove_stale_temporaries(o->root_fd, s->path);
		remove_stale_temporaries(o->root_fd, s->fallback);
		if (s->kind == STEP_INITRD) {
			_cleanup_free_ char *full = bootcount_hostonly_path(s->path);
			_cleanup_free_ char *lc = bootcount_loader_conf_path(s->path);
			remove_stale_temporaries(o->root_fd, full);
			remove_stale_temporaries(o->root_fd, lc);
		}
		if (s->output) {
			_cleanup_free_ char *stamp = strjoin(s->output, ".drivers");
			remove_stale_temporaries(o->root_fd, stamp);
		}
	}
	switch (s->kind) {
	case STEP_RPM:
	case STEP_DPKG:
		return step_packages(s, o, rerun, reterr_msg);
	case STEP_WRITE_FILE:
		r = write_if_changed(o->root_fd, s->path, s->content);
		break;
	case STEP_REMOVE_FILE:
		r = remove_at(o->root_fd, s->path);
		break;
	case STEP_ENABLE_UNIT:
		r = unit_enable(o->root_fd, s->unit, reterr_msg);
		if (r == -ENOENT)
			errmsg_default(reterr_msg, r, "unit '%s' not found in the tree", s->unit);
		else if (r == -ERFKILL)
			errmsg_default(reterr_msg, r, "unit '%s' is masked", s->unit);
		break;
	case STEP_DISABLE_UNIT:
		r = unit_disable(o->root_fd, s->unit, reterr_msg);
		break;
	case STEP_KERNEL_ARGS:
		r = step_kernel_args(s, o);
		break;
	case STEP_INITRD:
		return step_initrd(s, o, reterr_msg);
	default:
		return -EINVAL;
	}
	return r < 0 ? r : 0;
}

int apply_step(const struct plan_step *s, const struct apply_opts *o, char **reterr_msg)
{
	return step_run(s, o, false, reterr_msg);
}

/* ---- journal and undo -------------------------------------------------------------------- */

struct run {
	struct state *state;
	const struct apply_opts *o;
	json_object *journal; /* state->journal */
	long writes;
};

static int journal_save(struct run *run)
{
	int r = state_save(run->o->root_fd, run->state);
	if (r < 0)
		return r;
	if (run->o->abort_after >= 0 && run->writes++ == run->o->abort_after)
		_exit(APPLY_TEST_ABORT_STATUS); /* the crash tests' power cut */
	return 0;
}

static json_object *undo_list(struct run *run)
{
	json_object *u;
	if (!json_object_object_get_ex(run->journal, "undo", &u) ||
	    !json_object_is_type(u, json_type_array)) {
		u = json_object_new_array();
		json_object_object_add(run->journal, "undo", u);
	}
	return u;
}

/* Copies each path that exists to the backup directory and records it. */
static int undo_record_files(struct run *run, size_t index, const char *const *paths)
{
	json_object *undo = undo_list(run);
	int r = fs_mkdir_p_at(run->o->root_fd, APPLY_BACKUP_DIR, 0700);
	if (r < 0)
		return r;
	for (size_t k = 0; paths[k]; k++) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "step", json_object_new_int64((int64_t)index));
		json_object_object_add(e, "path", json_object_new_string(paths[k]));
		if (exists_at(run->o->root_fd, paths[k])) {
			char name[64];
			snprintf(name, sizeof(name), APPLY_BACKUP_DIR "/%zu-%zu", index, k);
			r = copy_at(run->o->root_fd, paths[k], name);
			if (r < 0) {
				json_object_put(e);
				return r;
			}
			json_object_object_add(e, "backup", json_object_new_string(name));
		} else
			json_object_object_add(e, "backup", NULL);
		json_object_array_add(undo, e);
	}
	return 0;
}

static int undo_record(struct run *run, size_t index, const struct plan_step *s)
{
	json_object *e;
	switch (s->kind) {
	case STEP_WRITE_FILE:
	case STEP_REMOVE_FILE:
	case STEP_KERNEL_ARGS:
		return undo_record_files(run, index, (const char *const[]){ s->path, NULL });
	case STEP_INITRD: {
		/* the host-only entry under each name it has or gets, so undo
		 * puts back the old one and removes the new */
		_cleanup_strv_free_ char **paths = NULL;
		_cleanup_free_ char *stamp = strjoin(s->output, ".drivers");
		_cleanup_free_ char *full = bootcount_hostonly_path(s->path);
		_cleanup_free_ char *lc = bootcount_loader_conf_path(s->path);
		if (!stamp || !full || !lc)
			return -ENOMEM;
		int r = bootcount_hostonly_files(run->o->root_fd, s->path, &paths);
		if (r < 0)
			return r;
		const char *more[] = { s->path, s->fallback, s->output, stamp, lc, full };
		for (size_t k = 0; k < ELEMENTSOF(more); k++)
			if (!strv_contains(paths, more[k]) && strv_extend(&paths, more[k]) < 0)
				return -ENOMEM;
		return undo_record_files(run, index, (const char *const *)paths);
	}
	case STEP_ENABLE_UNIT:
	case STEP_DISABLE_UNIT: {
		bool on = s->kind == STEP_ENABLE_UNIT
				  ? unit_is_enabled(run->o->root_fd, s->unit) == 1
				  : unit_has_links(run->o->root_fd, s->unit) == 1;
		e = json_object_new_object();
		json_object_object_add(e, "step", json_object_new_int64((int64_t)index));
		json_object_object_add(e, "unit", json_object_new_string(s->unit));
		json_object_object_add(e, "enabled", json_object_new_boolean(on));
		json_object_array_add(undo_list(run), e);
		return 0;
	}
	case STEP_RPM:
	case STEP_DPKG: {
		_cleanup_strv_free_ char **installed = NULL;
		int r = pkg_intact(s, run->o, &installed, NULL);
		if (r < 0)
			return 0; /* the step itself reports it */
		json_object *names = json_object_new_array();
		for (size_t i = 0; i < s->n_install; i++)
			if (!strv_contains(installed, s->install[i].name))
				json_object_array_add(names,
						      json_object_new_string(s->install[i].name));
		/* what it erases cannot be put back (the package files are
		 * not kept): undo checks they are still there, intact */
		json_object *erased = json_object_new_array();
		for (char **n = s->erase; n && *n; n++)
			if (strv_contains(installed, *n))
				json_object_array_add(erased, json_object_new_string(*n));
		e = json_object_new_object();
		json_object_object_add(e, "step", json_object_new_int64((int64_t)index));
		json_object_object_add(e, "installed", names);
		json_object_object_add(e, "erased", erased);
		json_object_object_add(e, "manager",
				       json_object_new_string(plan_step_kind_to_string(s->kind)));
		json_object_array_add(undo_list(run), e);
		return 0;
	}
	default:
		return 0;
	}
}

/* The packages a step erased (its undo record's "erased") must still be
 * installed with their files after its undo: else the tree is not as it
 * was (-ENOTRECOVERABLE), whatever else the undo put back. */
static int undo_check_erased(struct run *run, enum plan_step_kind kind, json_object *e)
{
	_cleanup_strv_free_ char **names = NULL, **now = NULL, **broken = NULL;
	json_object *v;
	if (!json_object_object_get_ex(e, "erased", &v) || !json_object_is_type(v, json_type_array))
		return 0;
	for (size_t k = 0; k < json_object_array_length(v); k++)
		if (strv_extend(&names, json_object_get_string(json_object_array_get_idx(v, k))) <
		    0)
			return -ENOMEM;
	if (!names)
		return 0;
	int r = pkg_installed(kind, run->o, &now, NULL);
	if (r < 0)
		return r;
	STRV_FOREACH(n, names)
	if (!strv_contains(now, *n))
		return -ENOTRECOVERABLE;
	r = kind == STEP_DPKG ? dpkgtx_broken(run->o->root_fd, names, &broken)
			      : rpmtx_broken(run->o->root, names, &broken, NULL);
	if (r < 0)
		return r;
	return broken ? -ENOTRECOVERABLE : 0;
}

/* Undoes every recorded step, newest first. Best effort: returns the first
 * error but goes on. */
static int undo_all(struct run *run)
{
	json_object *undo;
	int ret = 0, r;
	if (!json_object_object_get_ex(run->journal, "undo", &undo) ||
	    !json_object_is_type(undo, json_type_array))
		return 0;
	for (size_t i = json_object_array_length(undo); i-- > 0;) {
		json_object *e = json_object_array_get_idx(undo, i), *v;
		const char *path, *backup, *unit;
		if (json_get_string(e, "path", &path) >= 0 && path_check_relative(path) >= 0) {
			if (json_get_string(e, "backup", &backup) >= 0 &&
			    path_check_relative(backup) >= 0) {
				const char *slash = strrchr(path, '/');
				_cleanup_free_ char *dir =
					slash ? strndup(path, (size_t)(slash - path)) : NULL;
				if (dir)
					(void)fs_mkdir_p_at(run->o->root_fd, dir, 0755);
				r = copy_at(run->o->root_fd, backup, path);
			} else
				r = remove_at(run->o->root_fd, path);
		} else if (json_get_string(e, "unit", &unit) >= 0 &&
			   json_object_object_get_ex(e, "enabled", &v)) {
			r = json_object_get_boolean(v) ? unit_enable(run->o->root_fd, unit, NULL)
						       : unit_disable(run->o->root_fd, unit, NULL);
		} else if (json_object_object_get_ex(e, "installed", &v) &&
			   json_object_is_type(v, json_type_array)) {
			_cleanup_strv_free_ char **names = NULL, **now = NULL, **erase = NULL;
			for (size_t k = 0; k < json_object_array_length(v); k++)
				if (strv_extend(&names, json_object_get_string(
								json_object_array_get_idx(v, k))) <
				    0)
					return -ENOMEM;
			const char *m = NULL;
			enum plan_step_kind kind =
				json_get_string(e, "manager", &m) >= 0 && streq(m, "dpkg")
					? STEP_DPKG
					: STEP_RPM;
			/* dpkg: every name, since a run that failed in a
			 * later round leaves packages unpacked but not
			 * installed, and purging one that is not there is
			 * nothing to dpkg */
			r = kind == STEP_DPKG ? 0 : pkg_installed(kind, run->o, &now, NULL);
			for (char **n = names; r >= 0 && n && *n; n++)
				if ((kind == STEP_DPKG || strv_contains(now, *n)) &&
				    strv_extend(&erase, *n) < 0)
					r = -ENOMEM;
			if (r >= 0 && erase)
				r = pkg_run(kind, run->o, NULL, erase, NULL);
			if (r >= 0)
				r = undo_check_erased(run, kind, e);
		} else
			r = 0;
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

static void backup_clear(const struct apply_opts *o)
{
	_cleanup_free_ char *p = root_join(o->root, APPLY_BACKUP_DIR);
	if (p)
		(void)fs_rm_rf(p);
}

/* Whether the journal has an undo record of step index already. */
static bool undo_has_step(struct run *run, size_t index)
{
	json_object *undo;
	if (!json_object_object_get_ex(run->journal, "undo", &undo) ||
	    !json_object_is_type(undo, json_type_array))
		return false;
	for (size_t k = 0; k < json_object_array_length(undo); k++) {
		int64_t step;
		if (json_get_int64(json_object_array_get_idx(undo, k), "step", &step) >= 0 &&
		    step == (int64_t)index)
			return true;
	}
	return false;
}

/* Runs every step from the first: those done before are done again, which
 * finds nothing to do (steps are idempotent) or redoes what an undo that
 * did not finish took back. rerun is the index of the step that was running
 * when the run was cut (its leftovers are cleared first), or SIZE_MAX. */
static int run_steps(struct run *run, const struct plan *plan, size_t rerun,
		     struct apply_result *res, char **reterr_msg)
{
	int r;
	for (size_t i = 0; i < plan->n_steps; i++) {
		const struct plan_step *s = &plan->steps[i];
		/* A step recorded before keeps its record from then: recording
		 * again would save its half-done files as the "before". */
		if (!undo_has_step(run, i)) {
			r = undo_record(run, i, s);
			if (r < 0)
				return errmsg_default(
					reterr_msg, r,
					"cannot keep what step %zu changes, to undo it: %s", i + 1,
					strerror(-r));
		}
		json_object_object_add(run->journal, "next", json_object_new_int64((int64_t)i));
		json_object_object_add(run->journal, "running", json_object_new_boolean(true));
		r = journal_save(run);
		if (r < 0)
			return errmsg_default(reterr_msg, r, "cannot save the journal in '/%s': %s",
					      IMAGE_STATE_FILE, strerror(-r));

		r = step_run(s, run->o, i == rerun, reterr_msg);
		if (r < 0) {
			_cleanup_free_ char *d = plan_step_describe(s);
			return errmsg_default(reterr_msg, r, "step %zu (%s) failed: %s", i + 1,
					      d ? d : "?", strerror(-r));
		}
		char *d = plan_step_describe(s);
		if (!d || strv_extend(&res->changes, d) < 0) {
			free(d);
			return -ENOMEM;
		}
		free(d);
		res->changed = true;

		json_object_object_add(run->journal, "next", json_object_new_int64((int64_t)i + 1));
		json_object_object_add(run->journal, "running", json_object_new_boolean(false));
		r = journal_save(run);
		if (r < 0)
			return errmsg_default(reterr_msg, r, "cannot save the journal in '/%s': %s",
					      IMAGE_STATE_FILE, strerror(-r));
	}
	return 0;
}

static int finish(struct run *run, const struct plan *plan, int r, const char *msg)
{
	struct state *st = run->state;
	_cleanup_free_ char *now = state_timestamp();
	free(st->finished);
	st->finished = TAKE_PTR(now);
	free(st->result);
	free(st->error);
	st->error = NULL;
	if (r >= 0) {
		free(st->profile);
		st->profile = strdup(plan->profile);
		st->forced = plan->forced;
		st->result = strdup("complete");
	} else {
		st->result = strdup("failed");
		st->error = msg ? strdup(msg) : NULL;
	}
	/* Backups first: a power cut between the two leaves the journal,
	 * whose resume finds every step done and finishes again. */
	backup_clear(run->o);
	json_object_put(st->journal);
	st->journal = NULL;
	run->journal = NULL;
	int k = state_save(run->o->root_fd, st);
	return r < 0 ? r : k;
}

/* An undo that did not finish (a full disk, a package manager that
 * fails): the journal and the backups stay, so that the next run does the
 * plan again from its first step, and the state says the run failed. */
static void keep_journal(struct run *run, const char *msg)
{
	struct state *st = run->state;
	free(st->finished);
	st->finished = state_timestamp();
	free(st->result);
	st->result = strdup("failed");
	free(st->error);
	st->error = msg ? strdup(msg) : NULL;
	json_object_object_add(run->journal, "running", json_object_new_boolean(false));
	(void)state_save(run->o->root_fd, st); /* if it fails, the last journal saved stays */
}

static int go(struct run *run, const struct plan *plan, size_t rerun, struct apply_result *ret,
	      char **reterr_msg)
{
	struct apply_result res = {};
	int r = run_steps(run, plan, rerun, &res, reterr_msg);
	if (r < 0) {
		int u = undo_all(run);
		if (u < 0) {
			_cleanup_free_ char *first = reterr_msg ? TAKE_PTR(*reterr_msg) : NULL;
			errmsg_set(
				reterr_msg, r,
				"%s; undoing it failed too (%s): the system is partly changed, and "
				"the next run does the plan again",
				first ? first : strerror(-r),
				u == -ENOTRECOVERABLE ? "packages it removed are not back"
						      : strerror(-u));
			keep_journal(run, reterr_msg ? *reterr_msg : NULL);
			ret->undo_failed = true;
		} else
			finish(run, plan, r, reterr_msg ? *reterr_msg : NULL);
		apply_result_done(&res);
		return r;
	}
	r = finish(run, plan, 0, NULL);
	if (r < 0) {
		apply_result_done(&res);
		return r;
	}
	*ret = res;
	return 0;
}

int apply_plan(struct state *state, const struct plan *plan, const struct apply_opts *o,
	       struct apply_result *ret, char **reterr_msg)
{
	struct run run = { .state = state, .o = o };
	json_object *j = json_object_new_object(), *pj = plan_to_json(plan);
	if (!j || !pj) {
		json_object_put(j);
		json_object_put(pj);
		return -ENOMEM;
	}
	json_object_object_add(j, "plan", pj);
	json_object_object_add(j, "next", json_object_new_int64(0));
	json_object_object_add(j, "running", json_object_new_boolean(false));
	json_object_object_add(j, "undo", json_object_new_array());
	json_object_put(state->journal);
	state->journal = j;
	run.journal = j;
	backup_clear(o); /* leftovers of a crash before a journal existed */
	int r = journal_save(&run);
	if (r < 0)
		return r;
	return go(&run, plan, SIZE_MAX, ret, reterr_msg);
}

int apply_resume(struct state *state, const struct apply_opts *o, struct apply_result *ret,
		 char **reterr_msg)
{
	struct run run = { .state = state, .o = o, .journal = state->journal };
	_cleanup_plan_ struct plan *plan = NULL;
	json_object *pj;
	int64_t next;
	int r;

	if (!run.journal || !json_object_object_get_ex(run.journal, "plan", &pj) ||
	    json_get_int64(run.journal, "next", &next) < 0 || next < 0) {
		return errmsg_set(reterr_msg, -EBADMSG, "state '/%s': the journal is malformed",
				  IMAGE_STATE_FILE);
	}
	r = plan_from_json(pj, &plan, reterr_msg);
	if (r < 0)
		return r;
	/* a package step that was running may have left its policy-rc.d and
	 * the scripts' commands; running it again need not reach the package
	 * manager (its packages are in) */
	dpkgtx_recover(o->root_fd);
	json_object *running;
	bool was_running = json_object_object_get_ex(run.journal, "running", &running) &&
			   json_object_get_boolean(running);
	return go(&run, plan, was_running ? (size_t)next : SIZE_MAX, ret, reterr_msg);
}
