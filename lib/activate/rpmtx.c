/* SPDX-License-Identifier: MIT */
/*
 * rpmtx.c - librpm transactions beneath a root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmfi.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmps.h>
#include <rpm/rpmts.h>

#include "lib/activate/paths.h"
#include "lib/activate/rpmtx.h"
#include "lib/activate/scriptenv.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "lib/trust/rpm.h"

#define LOG_CAP (16 * 1024)

/* librpm's messages, collected instead of printed. */
struct rpmtx_log {
	char buf[LOG_CAP];
	size_t len;
};

static int log_cb(rpmlogRec rec, rpmlogCallbackData data)
{
	struct rpmtx_log *l = data;
	const char *m = rpmlogRecMessage(rec);
	if (rpmlogRecPriority(rec) <= RPMLOG_WARNING && m) {
		size_t n = strlen(m);
		if (l->len + n + 1 < sizeof(l->buf)) {
			memcpy(l->buf + l->len, m, n);
			l->len += n;
			l->buf[l->len] = '\0';
		}
	}
	return 0; /* handled: librpm prints nothing */
}

struct rpmtx_ctx {
	struct rpmtx_log log;
	rpmlogCallback old_cb;
	rpmlogCallbackData old_data;
	bool pushed, path_pushed;
};

static const char *dbpath_for(const char *root)
{
	_cleanup_close_ int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		_cleanup_close_ int a =
			fs_open_beneath(fd, "usr/lib/sysimage/rpm", O_PATH | O_DIRECTORY, 0);
		if (a >= 0)
			return "/usr/lib/sysimage/rpm";
	}
	return "/var/lib/rpm";
}

/* librpm opens ROOT/DBPATH as a plain path, following every symlink: a
 * tree whose var/lib/rpm leads outside it would have librpm update the
 * database it leads to. */
static int db_check(const char *root, char **reterr_msg)
{
	const char *db = dbpath_for(root) + 1;
	int r = fs_path_stays_beneath(root, db);
	if (r == -EXDEV)
		return errmsg_set(reterr_msg, r,
				  "the rpm database '/%s' is a symlink leading outside the root "
				  "'%s'; refusing to touch what it points to",
				  db, root);
	if (r < 0 && r != -ENOENT)
		return errmsg_errno(reterr_msg, r, "cannot resolve the rpm database '/%s': %m", db);
	return 0;
}

static int ctx_begin(struct rpmtx_ctx *c, const char *root, enum rpmtx_verify verify)
{
	static bool configured;
	*c = (struct rpmtx_ctx){};
	c->old_cb = rpmlogSetCallback(log_cb, &c->log);
	(void)c->old_data;
	if (!configured) {
		if (rpmReadConfigFiles(NULL, NULL) != 0) {
			rpmlogSetCallback(c->old_cb, NULL);
			return -EIO;
		}
		configured = true;
	}
	rpmPushMacro(NULL, "_dbpath", NULL, dbpath_for(root), RMIL_CMDLINE);
	rpmPushMacro(NULL, "_pkgverify_level", NULL,
		     verify == RPMTX_VERIFY_SIGNATURE ? "all" : "digest", RMIL_CMDLINE);
	c->pushed = true;
	return 0;
}

/* The scriptlets' PATH with the directory of scriptenv.h first. */
static int ctx_push_script_path(struct rpmtx_ctx *c)
{
	char *own = rpmExpand("%{?_install_script_path}", NULL);
	_cleanup_free_ char *path =
		own ? strjoin(SCRIPTENV_DIR ":", *own ? own : "/usr/sbin:/usr/bin:/sbin:/bin")
		    : NULL;
	free(own);
	if (!path)
		return -ENOMEM;
	rpmPushMacro(NULL, "_install_script_path", NULL, path, RMIL_CMDLINE);
	c->path_pushed = true;
	return 0;
}

static void ctx_end(struct rpmtx_ctx *c)
{
	if (c->path_pushed)
		rpmPopMacro(NULL, "_install_script_path");
	if (c->pushed) {
		rpmPopMacro(NULL, "_pkgverify_level");
		rpmPopMacro(NULL, "_dbpath");
	}
	rpmlogSetCallback(c->old_cb, NULL);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "WHAT: what rpm logged", its lines joined with ';'; returns r. */
static int fail_logged(char **reterr_msg, int r, const char *what, const struct rpmtx_log *l)
{
	if (!reterr_msg)
		return r;
	_cleanup_free_ char *text = strndup(l->buf, l->len);
	if (text)
		strstrip(text);
	/* one line per problem reads better joined */
	for (char *p = text; p && *p; p++)
		if (*p == '\n')
			*p = ';';
	return errmsg_set(reterr_msg, r, "%s%s%s", what, text && *text ? ": " : "",
			  text ? text : "");
}

int rpmtx_installed(const char *root, char ***ret_names, char **reterr_msg)
{
	struct rpmtx_ctx c;
	_cleanup_strv_free_ char **names = NULL;
	int r = db_check(root, reterr_msg);
	if (r < 0)
		return r;
	r = ctx_begin(&c, root, RPMTX_VERIFY_SIGNATURE);
	if (r < 0)
		return r;

	_cleanup_free_ char *dbdir = strjoin(root, dbpath_for(root));
	if (!dbdir || access(dbdir, F_OK) < 0) {
		errmsg_set(reterr_msg, -ENOENT, "no rpm database in '%s'", dbdir ? dbdir : root);
		ctx_end(&c);
		return -ENOENT;
	}
	rpmts ts = rpmtsCreate();
	rpmtsSetRootDir(ts, root);
	rpmdbMatchIterator mi = rpmtsInitIterator(ts, RPMDBI_PACKAGES, NULL, 0);
	Header h;
	r = 0;
	while (mi && (h = rpmdbNextIterator(mi))) {
		const char *n = headerGetString(h, RPMTAG_NAME);
		if (n && !strv_contains(names, n) && strv_extend(&names, n) < 0) {
			r = -ENOMEM;
			break;
		}
	}
	rpmdbFreeIterator(mi);
	if (!mi && r == 0 && c.log.len > 0) {
		r = fail_logged(reterr_msg, -EIO, "cannot read the rpm database", &c.log);
	}
	rpmtsFree(ts);
	ctx_end(&c);
	if (r < 0)
		return r;
	if (names)
		qsort(names, strv_length(names), sizeof(char *), str_cmp);
	*ret_names = TAKE_PTR(names);
	return 0;
}

/* Whether a file the rpmdb says it installed is gone from the tree. */
static bool file_missing(int root_fd, const char *fn)
{
	while (*fn == '/')
		fn++;
	if (!*fn)
		return false;
	_cleanup_close_ int fd = fs_open_beneath(root_fd, fn, O_PATH | O_NOFOLLOW, 0);
	return fd == -ENOENT;
}

int rpmtx_broken(const char *root, char *const *names, char ***ret_broken, char **reterr_msg)
{
	struct rpmtx_ctx c;
	_cleanup_strv_free_ char **broken = NULL;
	int r = db_check(root, reterr_msg);
	if (r < 0)
		return r;
	_cleanup_close_ int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return errmsg_errno(reterr_msg, errno, "cannot open '%s': %m", root);
	r = ctx_begin(&c, root, RPMTX_VERIFY_SIGNATURE);
	if (r < 0)
		return r;
	rpmts ts = rpmtsCreate();
	rpmtsSetRootDir(ts, root);
	for (char *const *n = names; r >= 0 && n && *n; n++) {
		rpmdbMatchIterator mi = rpmtsInitIterator(ts, RPMDBI_NAME, *n, 0);
		Header h;
		bool missing = false;
		while (!missing && mi && (h = rpmdbNextIterator(mi))) {
			rpmfi fi = rpmfiNew(ts, h, RPMTAG_BASENAMES, RPMFI_KEEPHEADER);
			while (!missing && fi && rpmfiNext(fi) >= 0)
				/* only files it put there: not %ghost, not excluded
				 * (--excludedocs, netshared), not replaced */
				missing = !(rpmfiFFlags(fi) & RPMFILE_GHOST) &&
					  rpmfiFState(fi) == RPMFILE_STATE_NORMAL &&
					  file_missing(root_fd, rpmfiFN(fi));
			rpmfiFree(fi);
		}
		rpmdbFreeIterator(mi);
		if (missing && strv_extend(&broken, *n) < 0)
			r = -ENOMEM;
	}
	rpmtsFree(ts);
	ctx_end(&c);
	if (r < 0)
		return r;
	*ret_broken = TAKE_PTR(broken);
	return 0;
}

static void *notify(const void *hd _unused_, const rpmCallbackType what,
		    const rpm_loff_t amount _unused_, const rpm_loff_t total _unused_, fnpyKey key,
		    rpmCallbackData data _unused_)
{
	static FD_t fd;
	switch (what) {
	case RPMCALLBACK_INST_OPEN_FILE:
		if (!key)
			return NULL;
		fd = Fopen((const char *)key, "r.ufdio");
		if (fd && Ferror(fd)) {
			Fclose(fd);
			fd = NULL;
		}
		return fd;
	case RPMCALLBACK_INST_CLOSE_FILE:
		if (fd) {
			Fclose(fd);
			fd = NULL;
		}
		return NULL;
	default:
		return NULL;
	}
}

static int problems_text(rpmts ts, struct rpmtx_log *l)
{
	rpmps ps = rpmtsProblems(ts);
	int n = rpmpsNumProblems(ps);
	if (n > 0) {
		rpmpsi psi = rpmpsInitIterator(ps);
		rpmProblem p;
		while ((p = rpmpsiNext(psi))) {
			char *s = rpmProblemString(p);
			if (s) {
				size_t k = strlen(s);
				if (l->len + k + 2 < sizeof(l->buf)) {
					memcpy(l->buf + l->len, s, k);
					l->len += k;
					l->buf[l->len++] = '\n';
					l->buf[l->len] = '\0';
				}
				free(s);
			}
		}
		rpmpsFreeIterator(psi);
	}
	rpmpsFree(ps);
	return n;
}

/* A transaction set holding every element, checked and ordered. */
static int ts_build(const char *root, char *const *files, char *const *erase,
		    enum rpmtx_verify verify, struct rpmtx_log *log, rpmts *ret, char **reterr_msg)
{
	rpmts ts = rpmtsCreate();
	int r = 0;

	rpmtsSetRootDir(ts, root);
	rpmtsSetVfyLevel(ts, verify == RPMTX_VERIFY_SIGNATURE
				     ? RPMSIG_SIGNATURE_TYPE | RPMSIG_DIGEST_TYPE
				     : RPMSIG_DIGEST_TYPE);
	rpmtsSetNotifyCallback(ts, notify, NULL);

	for (char *const *f = files; f && *f; f++) {
		FD_t fd = Fopen(*f, "r.ufdio");
		Header h = NULL;
		if (!fd || Ferror(fd)) {
			if (fd)
				Fclose(fd);
			r = errmsg_set(reterr_msg, -ENOENT, "cannot open package '%s'", *f);
			goto fail;
		}
		rpmRC rc = rpmReadPackageFile(ts, fd, *f, &h);
		Fclose(fd);
		bool bad = rc == RPMRC_FAIL || rc == RPMRC_NOTFOUND ||
			   (verify == RPMTX_VERIFY_SIGNATURE &&
			    (rc == RPMRC_NOKEY || rc == RPMRC_NOTTRUSTED));
		if (bad || !h) {
			_cleanup_free_ char *what = NULL;
			if (asprintf(&what, "package '%s' does not verify%s", *f,
				     rc == RPMRC_NOKEY	      ? " (signed with an unknown key)"
				     : rc == RPMRC_NOTTRUSTED ? " (key not trusted)"
							      : "") < 0)
				what = NULL;
			r = fail_logged(reterr_msg, -EPROTO,
					what ? what : "package does not verify", log);
			headerFree(h);
			goto fail;
		}
		/* the key is the path the notify callback opens */
		r = rpmtsAddInstallElement(ts, h, (fnpyKey)*f, 1, NULL);
		headerFree(h);
		if (r != 0) {
			r = fail_logged(reterr_msg, -EPROTO,
					"cannot add the package to the transaction", log);
			goto fail;
		}
	}
	for (char *const *e = erase; e && *e; e++) {
		rpmdbMatchIterator mi = rpmtsInitIterator(ts, RPMDBI_NAME, *e, 0);
		Header h;
		while (mi && (h = rpmdbNextIterator(mi)))
			rpmtsAddEraseElement(ts, h, -1);
		rpmdbFreeIterator(mi);
	}
	if (rpmtsCheck(ts) != 0 || problems_text(ts, log) > 0) {
		r = fail_logged(reterr_msg, -EPROTO, "the package transaction does not check", log);
		goto fail;
	}
	if (rpmtsOrder(ts) != 0) {
		r = fail_logged(reterr_msg, -EPROTO, "the package transaction cannot be ordered",
				log);
		goto fail;
	}
	*ret = ts;
	return 0;
fail:
	rpmtsFree(ts);
	return r;
}

/* rpm_key_fn: one key into the database of the transaction set. */
static int import_pkt(const uint8_t *pkt, size_t len, void *userdata)
{
	return rpmtsImportPubkey(userdata, pkt, len) == RPMRC_OK ? 1 : -EKEYREJECTED;
}

static int import_file(rpmts ts, int dir_fd, const char *name, struct rpmtx_log *log,
		       char **reterr_msg)
{
	_cleanup_free_ char *armor = NULL;
	int r = fs_read_file_at(dir_fd, name, RPM_KEY_MAX_SIZE, &armor, NULL);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot read key '/%s/%s': %m",
				    IMAGE_RPM_KEYS_DIR, name);
	r = rpm_armor_keys(armor, import_pkt, ts);
	if (r == 0)
		r = errmsg_set(reterr_msg, -EBADMSG,
			       "key '/%s/%s' holds no OpenPGP public key; build the image again",
			       IMAGE_RPM_KEYS_DIR, name);
	else if (r == -EKEYREJECTED) {
		_cleanup_free_ char *what = NULL;
		if (asprintf(&what, "key '/%s/%s' cannot be imported into the rpm database",
			     IMAGE_RPM_KEYS_DIR, name) < 0)
			return -ENOMEM;
		fail_logged(reterr_msg, r, what, log);
	}
	return r < 0 ? r : 0;
}

/* Imports every IMAGE_RPM_KEYS_DIR/\*.asc beneath root, in name order. */
static int import_keys(const char *root, struct rpmtx_log *log, char **reterr_msg)
{
	_cleanup_close_ int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return errmsg_errno(reterr_msg, -errno, "cannot open '%s': %m", root);
	_cleanup_close_ int dir_fd =
		fs_open_beneath(root_fd, IMAGE_RPM_KEYS_DIR, O_RDONLY | O_DIRECTORY, 0);
	if (dir_fd == -ENOENT)
		return 0;
	if (dir_fd < 0)
		return errmsg_errno(reterr_msg, dir_fd, "cannot open '/%s': %m",
				    IMAGE_RPM_KEYS_DIR);
	_cleanup_strv_free_ char **names = NULL;
	/* the sorted *.asc names; -E2BIG past RPMTX_MAX_KEY_FILES */
	int r = fs_list_dir(dir_fd, NULL,
			    &(struct fs_list_opts){ .suffix = ".asc", .max = RPMTX_MAX_KEY_FILES },
			    &names);
	if (r == -E2BIG)
		return errmsg_set(reterr_msg, r, "'/%s' holds more than %d keys",
				  IMAGE_RPM_KEYS_DIR, RPMTX_MAX_KEY_FILES);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot list '/%s': %m", IMAGE_RPM_KEYS_DIR);
	if (!names)
		return 0;
	rpmts ts = rpmtsCreate();
	if (!ts)
		return -ENOMEM;
	rpmtsSetRootDir(ts, root);
	for (char **n = names; r >= 0 && *n; n++)
		r = import_file(ts, dir_fd, *n, log, reterr_msg);
	rpmtsFree(ts);
	return r;
}

static int transaction_run(const char *root, char *const *install_files, char *const *erase_names,
			   enum rpmtx_verify verify, char **reterr_msg)
{
	struct rpmtx_ctx c;
	rpmts ts = NULL;
	int r = db_check(root, reterr_msg);
	if (r < 0)
		return r;
	r = ctx_begin(&c, root, verify);
	if (r < 0)
		return r;
	r = ctx_push_script_path(&c);
	if (r >= 0)
		r = import_keys(root, &c.log, reterr_msg);
	if (r < 0)
		goto out;

	/* First a test run: verification, conflicts, disk space. Nothing is
	 * written to the rpmdb or the tree. */
	r = ts_build(root, install_files, erase_names, verify, &c.log, &ts, reterr_msg);
	if (r < 0)
		goto out;
	/* REPLACEPKG: a package the rpmdb lists but whose files are gone
	 * (rpmtx_broken()) is installed again over its own record */
	rpmtsSetFlags(ts, RPMTRANS_FLAG_TEST);
	if (rpmtsRun(ts, NULL, RPMPROB_FILTER_REPLACEPKG) != 0) {
		problems_text(ts, &c.log);
		r = fail_logged(reterr_msg, -EPROTO, "the package transaction fails its test run",
				&c.log);
		goto out;
	}
	rpmtsFree(ts);
	ts = NULL;

	r = ts_build(root, install_files, erase_names, verify, &c.log, &ts, reterr_msg);
	if (r < 0)
		goto out;
	rpmtsSetFlags(ts, RPMTRANS_FLAG_NONE);
	if (rpmtsRun(ts, NULL, RPMPROB_FILTER_REPLACEPKG) != 0) {
		problems_text(ts, &c.log);
		r = fail_logged(reterr_msg, -EIO, "the package transaction failed", &c.log);
		goto out;
	}
	r = 0;
out:
	if (ts)
		rpmtsFree(ts);
	ctx_end(&c);
	return r;
}

int rpmtx_run(const char *root, char *const *install_files, char *const *erase_names,
	      enum rpmtx_verify verify, char **reterr_msg)
{
	_cleanup_close_ int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return errmsg_errno(reterr_msg, negative_errno(), "cannot open '%s': %m", root);
	/* the scriptlets' own commands first in their PATH (scriptenv.h) */
	int r = scriptenv_begin(root_fd, false);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot write '" SCRIPTENV_DIR "': %m");
	r = transaction_run(root, install_files, erase_names, verify, reterr_msg);
	if (r >= 0)
		r = scriptenv_finish(root, root_fd);
	scriptenv_end(root_fd);
	return r;
}

static bool is_tid_suffix(const char *s)
{
	if (strlen(s) != 8)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* Removes DIR/BASE;XXXXXXXX beneath root_fd. */
static int remove_tid_files(int root_fd, const char *fn)
{
	const char *slash = strrchr(fn, '/');
	if (!slash || slash == fn)
		return 0;
	_cleanup_free_ char *dir = strndup(fn + 1, (size_t)(slash - fn - 1));
	if (!dir || !*dir)
		return 0;
	_cleanup_close_ int dfd = fs_open_beneath(root_fd, dir, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0)
		return 0;
	_cleanup_free_ char *prefix = strjoin(slash + 1, ";");
	_cleanup_strv_free_ char **names = NULL;
	if (!prefix ||
	    fs_list_dir(dfd, NULL, &(struct fs_list_opts){ .prefix = prefix, .hidden = true },
			&names) < 0)
		return 0;
	int removed = 0;
	STRV_FOREACH(name, names)
	if (is_tid_suffix(*name + strlen(prefix)) && unlinkat(dfd, *name, 0) == 0)
		removed++;
	return removed;
}

int rpmtx_remove_leftovers(const char *root, char *const *names)
{
	struct rpmtx_ctx c;
	int removed = 0;
	_cleanup_close_ int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return negative_errno();
	int r = db_check(root, NULL);
	if (r < 0)
		return r;
	r = ctx_begin(&c, root, RPMTX_VERIFY_SIGNATURE);
	if (r < 0)
		return r;
	rpmts ts = rpmtsCreate();
	rpmtsSetRootDir(ts, root);
	for (char *const *name = names; name && *name; name++) {
		rpmdbMatchIterator mi = rpmtsInitIterator(ts, RPMDBI_NAME, *name, 0);
		Header h;
		while (mi && (h = rpmdbNextIterator(mi))) {
			rpmfi fi = rpmfiNew(ts, h, RPMTAG_BASENAMES, RPMFI_KEEPHEADER);
			while (fi && rpmfiNext(fi) >= 0) {
				const char *fn = rpmfiFN(fi);
				if (fn)
					removed += remove_tid_files(root_fd, fn);
			}
			rpmfiFree(fi);
		}
		rpmdbFreeIterator(mi);
	}
	rpmtsFree(ts);
	ctx_end(&c);
	return removed;
}
