/* SPDX-License-Identifier: MIT */
/*
 * extract.c - safe archive extraction over libarchive. Entries are checked
 * by name and type first, then written with *at() calls relative to a
 * parent directory opened beneath the root (fs_open_beneath), the last
 * component never followed.
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "lib/basic/errmsg.h"
#include "lib/basic/extract.h"
#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

/* ---- tracker: counts, and the names of files and symlinks seen ---------- */

struct strset {
	char **slots; /* open addressing, NULL = empty */
	size_t n_slots, n_used;
};

struct extract_tracker {
	uint64_t entries;
	uint64_t bytes;
	struct strset files;	/* regular files: the valid hard-link targets */
	struct strset symlinks; /* no entry may be created through one */
};

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

/* The slot holding the first n bytes of s, or the empty slot for them. */
static char **set_slot(char **slots, size_t n_slots, const char *s, size_t n)
{
	size_t i = (size_t)hash_str(s, n) & (n_slots - 1);
	while (slots[i] && !(strlen(slots[i]) == n && memcmp(slots[i], s, n) == 0))
		i = (i + 1) & (n_slots - 1);
	return &slots[i];
}

static bool set_contains_n(const struct strset *set, const char *s, size_t n)
{
	return set->n_slots > 0 && *set_slot(set->slots, set->n_slots, s, n) != NULL;
}

static bool set_contains(const struct strset *set, const char *s)
{
	return set_contains_n(set, s, strlen(s));
}

static int set_add(struct strset *set, const char *s)
{
	if (2 * (set->n_used + 1) > set->n_slots) {
		size_t n = set->n_slots ? 2 * set->n_slots : 64;
		char **slots = calloc(n, sizeof(char *));
		if (!slots)
			return -ENOMEM;
		for (size_t i = 0; i < set->n_slots; i++)
			if (set->slots[i])
				*set_slot(slots, n, set->slots[i], strlen(set->slots[i])) =
					set->slots[i];
		free(set->slots);
		set->slots = slots;
		set->n_slots = n;
	}
	char **slot = set_slot(set->slots, set->n_slots, s, strlen(s));
	if (*slot)
		return 0;
	*slot = strdup(s);
	if (!*slot)
		return -ENOMEM;
	set->n_used++;
	return 0;
}

static void set_done(struct strset *set)
{
	for (size_t i = 0; i < set->n_slots; i++)
		free(set->slots[i]);
	free(set->slots);
}

/* The length of the first leading directory of path that is a symlink
 * seen before, or 0. */
static size_t through_symlink(const struct extract_tracker *t, const char *path)
{
	for (const char *p = path; (p = strchr(p, '/')); p++)
		if (set_contains_n(&t->symlinks, path, (size_t)(p - path)))
			return (size_t)(p - path);
	return 0;
}

int extract_tracker_new(struct extract_tracker **ret)
{
	struct extract_tracker *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	*ret = t;
	return 0;
}

void extract_tracker_free(struct extract_tracker *t)
{
	if (!t)
		return;
	set_done(&t->files);
	set_done(&t->symlinks);
	free(t);
}

/* ---- the per-entry check ------------------------------------------------ */

static uint64_t max_entries(const struct extract_policy *p)
{
	return p->max_entries ? p->max_entries : EXTRACT_DEFAULT_MAX_ENTRIES;
}

static uint64_t max_bytes(const struct extract_policy *p)
{
	return p->max_bytes ? p->max_bytes : EXTRACT_DEFAULT_MAX_BYTES;
}

static bool has_control(const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return true;
	return false;
}

/* A component Windows cannot hold: reserved characters, a trailing dot or
 * space, or a device name (CON, NUL, COM1, ... with any extension). */
static const char *windows_component_problem(const char *c, size_t n)
{
	static const char *const devices[] = { "CON", "PRN", "AUX", "NUL" };
	for (size_t i = 0; i < n; i++)
		if (strchr("<>:\"|?*\\", c[i]))
			return "a character Windows does not allow (<>:\"|?*\\)";
	if (c[n - 1] == '.' || c[n - 1] == ' ')
		return "a component ending in a dot or space";
	size_t stem = strcspn(c, ".");
	if (stem > n)
		stem = n;
	for (size_t i = 0; i < ELEMENTSOF(devices); i++)
		if (stem == 3 && strncasecmp(c, devices[i], 3) == 0)
			return "a Windows device name";
	if (stem == 4 && (strncasecmp(c, "COM", 3) == 0 || strncasecmp(c, "LPT", 3) == 0) &&
	    c[3] >= '1' && c[3] <= '9')
		return "a Windows device name";
	return NULL;
}

/* Normalizes name into a relative path: drops "." and empty components.
 * Returns 0 with *ret (NULL for the root itself), or -EPERM with *why. */
static int normalize(const char *name, bool windows, char **ret, const char **why)
{
	_cleanup_free_ char *out = NULL;
	size_t len = 0;

	if (!*name)
		return *why = "an empty name", -EPERM;
	if (strlen(name) >= PATH_MAX)
		return *why = "a name longer than PATH_MAX", -EPERM;
	if (has_control(name))
		return *why = "control characters in the name", -EPERM;
	if (name[0] == '/')
		return *why = "an absolute name", -EPERM;
	out = malloc(strlen(name) + 1);
	if (!out)
		return -ENOMEM;
	for (const char *p = name; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return *why = "'..' in the name", -EPERM;
		if (n > NAME_MAX)
			return *why = "a name component longer than NAME_MAX", -EPERM;
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			const char *w = windows ? windows_component_problem(p, n) : NULL;
			if (w)
				return *why = w, -EPERM;
			if (len > 0)
				out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	out[len] = '\0';
	*ret = len > 0 ? TAKE_PTR(out) : NULL;
	return 0;
}

/* Does a symlink at path (normalized) pointing to target stay beneath the
 * root? Lexically: the target's ".." may not climb above the root. */
static const char *symlink_problem(const char *path, const char *target, bool as_data)
{
	if (!*target)
		return "a symlink with an empty target";
	if (strlen(target) >= PATH_MAX || has_control(target))
		return "a symlink target with control characters or too long";
	if (as_data)
		return NULL;
	if (target[0] == '/')
		return "a symlink to an absolute path";
	long depth = 0;
	for (const char *s = path; (s = strchr(s, '/')); s++)
		depth++; /* the directories the link sits in */
	for (const char *p = target; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return "a symlink that leaves the root";
		} else if (n > 0 && !(n == 1 && p[0] == '.'))
			depth++;
		p += n;
		while (*p == '/')
			p++;
	}
	return NULL;
}

int extract_normalize_name(const char *name, char **ret_path, char **reterr_msg)
{
	const char *why = NULL;
	int r = normalize(name, false, ret_path, &why);
	if (r < 0 && r != -ENOMEM)
		return errmsg_set(reterr_msg, r, "entry '%s': %s",
				  string_is_safe(name) ? name : "(unprintable name)", why);
	return r;
}

int extract_account_bytes(const struct extract_policy *p, struct extract_tracker *t, uint64_t n,
			  char **reterr_msg)
{
	if (n > max_bytes(p) || t->bytes > max_bytes(p) - n)
		return errmsg_set(reterr_msg, -E2BIG,
				  "more than %llu bytes of data in total (archive bomb?)",
				  (unsigned long long)max_bytes(p));
	t->bytes += n;
	return 0;
}

int extract_check_entry(const struct extract_policy *p, struct extract_tracker *t,
			const struct extract_entry_info *e, char **ret_path, char **reterr_msg)
{
	_cleanup_free_ char *path = NULL, *link = NULL;
	const char *why = NULL;
	const char *shown = e->name && string_is_safe(e->name) ? e->name : "(unprintable name)";
	int r;

	if (++t->entries > max_entries(p))
		return errmsg_set(reterr_msg, -E2BIG, "more than %llu entries (archive bomb?)",
				  (unsigned long long)max_entries(p));
	if (!e->name)
		return errmsg_set(reterr_msg, -EPERM, "entry without a readable name");
	r = normalize(e->name, p->windows_names, &path, &why);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return errmsg_set(reterr_msg, r, "entry '%s': %s", shown, why);

	mode_t type = e->mode & S_IFMT;
	/* with symlinks as data nothing is resolved here: the writer walks its
	 * own tree and refuses paths through links (builder/image/fs-ext4.c does) */
	size_t via = path && !p->symlinks_as_data ? through_symlink(t, path) : 0;
	if (via > 0)
		return errmsg_set(reterr_msg, -EPERM,
				  "entry '%s': a path through the symlink '%.*s' extracted before",
				  shown, (int)via, path);
	if (!path && type != S_IFDIR)
		return errmsg_set(reterr_msg, -EPERM, "entry '%s': a non-directory at the root",
				  shown);
	if (e->hardlink) {
		_cleanup_free_ char *target = NULL;
		r = normalize(e->hardlink, p->windows_names, &target, &why);
		if (r == -ENOMEM)
			return r;
		if (r < 0 || !target || !set_contains(&t->files, target))
			return errmsg_set(reterr_msg, -EPERM,
					  "entry '%s': a hard link to '%s', which is not a file "
					  "extracted before",
					  shown, string_is_safe(e->hardlink) ? e->hardlink : "?");
		link = TAKE_PTR(target);
		type = S_IFREG;
	} else if (type == S_IFLNK) {
		if (!e->symlink)
			return errmsg_set(reterr_msg, -EPERM,
					  "entry '%s': a symlink without target", shown);
		why = symlink_problem(path, e->symlink, p->symlinks_as_data);
		if (why)
			return errmsg_set(reterr_msg, -EPERM, "entry '%s': %s ('%s')", shown, why,
					  string_is_safe(e->symlink) ? e->symlink : "?");
	} else if (type == S_IFCHR || type == S_IFBLK) {
		if (!p->allow_devices)
			return errmsg_set(reterr_msg, -EPERM,
					  "entry '%s': a device node (not allowed here)", shown);
	} else if (type == S_IFSOCK)
		return errmsg_set(reterr_msg, -EPERM, "entry '%s': a socket", shown);
	else if (type != S_IFREG && type != S_IFDIR && type != S_IFIFO)
		return errmsg_set(reterr_msg, -EPERM, "entry '%s': an unknown file type", shown);

	if ((e->mode & (S_ISUID | S_ISGID)) && !p->allow_setuid && type != S_IFDIR)
		return errmsg_set(reterr_msg, -EPERM,
				  "entry '%s': setuid or setgid bit (not allowed here)", shown);
	if (e->size > 0 && (uint64_t)e->size > max_bytes(p) - MIN(t->bytes, max_bytes(p)))
		return errmsg_set(reterr_msg, -E2BIG,
				  "entry '%s': %lld bytes, past the cap of %llu bytes in total "
				  "(archive bomb?)",
				  shown, (long long)e->size, (unsigned long long)max_bytes(p));
	if (type == S_IFREG && !e->hardlink)
		r = set_add(&t->files, path);
	else if (type == S_IFLNK)
		r = set_add(&t->symlinks, path);
	else if (type == S_IFDIR && path && set_contains(&t->symlinks, path))
		r = errmsg_set(reterr_msg, -EPERM,
			       "entry '%s': a directory over the symlink extracted before", shown);
	if (r < 0)
		return r;
	*ret_path = TAKE_PTR(path);
	return 0;
}

int extract_check_archive_entry(const struct extract_policy *p, struct extract_tracker *t,
				struct archive_entry *ae, char **ret_path, char **reterr_msg)
{
	struct extract_entry_info e = {
		.name = archive_entry_pathname(ae),
		.mode = archive_entry_mode(ae),
		.symlink = archive_entry_symlink(ae),
		.hardlink = archive_entry_hardlink(ae),
		.size = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : -1,
	};
	if (!e.name)
		e.name = archive_entry_pathname_utf8(ae);
	return extract_check_entry(p, t, &e, ret_path, reterr_msg);
}

/* ---- writing ------------------------------------------------------------ */

struct writer {
	const char *archive;
	const struct extract_policy *policy;
	struct extract_tracker *tracker;
	struct archive *a;
	int root_fd;
	char **err;
};

/* Opens (creating it) the directory holding path, beneath the root; *base
 * points at the last component. */
static int open_parent(struct writer *w, const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		*base = path;
		int fd = fcntl(w->root_fd, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? negative_errno() : fd;
	}
	_cleanup_free_ char *dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	*base = slash + 1;
	int r = fs_mkdir_p_at(w->root_fd, dir, 0755);
	if (r < 0)
		return r;
	return fs_open_beneath(w->root_fd, dir, O_RDONLY | O_DIRECTORY, 0);
}

/* Removes what is at base (not a directory) so it can be created afresh. */
static int clear_name(int dir_fd, const char *base)
{
	struct stat st;
	if (fstatat(dir_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : negative_errno();
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	return unlinkat(dir_fd, base, 0) < 0 ? negative_errno() : 0;
}

static int copy_data(struct writer *w, int fd, const char *shown)
{
	const void *buf;
	size_t n;
	la_int64_t off;
	int64_t end = 0;

	for (;;) {
		int k = archive_read_data_block(w->a, &buf, &n, &off);
		if (k == ARCHIVE_EOF)
			break;
		if (k < ARCHIVE_WARN)
			return errmsg_set(w->err, -EBADMSG, "entry '%s': %s", shown,
					  archive_error_string(w->a) ?: "cannot read data");
		_cleanup_free_ char *why = NULL;
		int r = extract_account_bytes(w->policy, w->tracker, n, &why);
		if (r < 0)
			return errmsg_set(w->err, r, "entry '%s': %s", shown, why);
		if (off < 0)
			return errmsg_set(w->err, -EBADMSG, "entry '%s': bad data offset", shown);
		for (size_t done = 0; done < n;) {
			ssize_t k2 =
				pwrite(fd, (const char *)buf + done, n - done, off + (off_t)done);
			if (k2 < 0) {
				if (errno == EINTR)
					continue;
				return errmsg_set(w->err, negative_errno(),
						  "entry '%s': cannot write: %m", shown);
			}
			done += (size_t)k2;
		}
		end = MAX(end, off + (int64_t)n);
	}
	/* a sparse file that ends in a hole */
	if (ftruncate(fd, MAX(end, 0)) < 0)
		return errmsg_set(w->err, negative_errno(), "entry '%s': cannot write: %m", shown);
	return 0;
}

static int write_entry(struct writer *w, struct archive_entry *ae, const char *path)
{
	const char *shown = path, *base;
	mode_t mode = archive_entry_mode(ae);
	mode_t perm = mode & 07777;
	int r;

	if (!w->policy->allow_setuid)
		perm &= (mode_t) ~(S_ISUID | S_ISGID);
	if (S_ISDIR(mode) && !archive_entry_hardlink(ae)) {
		r = fs_mkdir_p_at(w->root_fd, path, 0755);
		if (r < 0)
			return errmsg_set(w->err, r, "entry '%s': cannot make the directory: %s",
					  shown, strerror(-r));
		_cleanup_close_ int dfd =
			fs_open_beneath(w->root_fd, path, O_RDONLY | O_DIRECTORY, 0);
		if (dfd < 0 || fchmod(dfd, (perm & 07777) | 0700) < 0)
			return errmsg_set(w->err, dfd < 0 ? dfd : negative_errno(),
					  "entry '%s': cannot set the directory's mode", shown);
		return 0;
	}

	_cleanup_close_ int dir_fd = open_parent(w, path, &base);
	if (dir_fd < 0)
		return errmsg_set(w->err, dir_fd, "entry '%s': cannot open its directory: %s",
				  shown, strerror(-dir_fd));
	r = clear_name(dir_fd, base);
	if (r < 0)
		return errmsg_set(w->err, r, "entry '%s': cannot replace what is there: %s", shown,
				  strerror(-r));

	const char *hardlink = archive_entry_hardlink(ae);
	if (hardlink) {
		_cleanup_free_ char *target = NULL;
		const char *why, *tbase;
		r = normalize(hardlink, false, &target, &why);
		if (r < 0 || !target)
			return errmsg_set(w->err, -EPERM, "entry '%s': bad hard link", shown);
		_cleanup_close_ int tdir = open_parent(w, target, &tbase);
		if (tdir < 0 || linkat(tdir, tbase, dir_fd, base, 0) < 0)
			return errmsg_set(w->err, tdir < 0 ? tdir : negative_errno(),
					  "entry '%s': cannot link to '%s'", shown, target);
		if (archive_entry_size(ae) <= 0)
			return 0;
		/* cpio puts the data on the last link of a set */
		_cleanup_close_ int fd =
			openat(dir_fd, base, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return errmsg_set(w->err, negative_errno(), "entry '%s': cannot open: %m",
					  shown);
		return copy_data(w, fd, shown);
	}

	switch (mode & S_IFMT) {
	case S_IFLNK:
		if (symlinkat(archive_entry_symlink(ae), dir_fd, base) < 0)
			return errmsg_set(w->err, negative_errno(),
					  "entry '%s': cannot make the symlink: %m", shown);
		return 0;
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
		if (mknodat(dir_fd, base, (mode & S_IFMT) | (perm & 0777), archive_entry_rdev(ae)) <
		    0)
			return errmsg_set(w->err, negative_errno(),
					  "entry '%s': cannot make the node: %m", shown);
		return 0;
	case S_IFREG: {
		_cleanup_close_ int fd = openat(
			dir_fd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return errmsg_set(w->err, negative_errno(), "entry '%s': cannot create: %m",
					  shown);
		r = copy_data(w, fd, shown);
		if (r < 0)
			return r;
		if (fchmod(fd, perm) < 0)
			return errmsg_set(w->err, negative_errno(),
					  "entry '%s': cannot set mode: %m", shown);
		if (archive_entry_mtime_is_set(ae)) {
			struct timespec ts[2] = {
				{ .tv_nsec = UTIME_OMIT },
				{ archive_entry_mtime(ae), archive_entry_mtime_nsec(ae) },
			};
			(void)futimens(fd, ts);
		}
		return 0;
	}
	default:
		return errmsg_set(w->err, -EPERM, "entry '%s': unsupported type", shown);
	}
}

static struct archive *reader_new(void)
{
	struct archive *a = archive_read_new();
	if (!a)
		return NULL;
	/* the formats we need, not all: mtree, for one, reads files named in it */
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_cpio(a);
	archive_read_support_format_zip(a);
	archive_read_support_format_cab(a);
	archive_read_support_format_iso9660(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_lz4(a);
	archive_read_support_filter_compress(a);
	archive_read_support_filter_rpm(a);
	return a;
}

static int extract_into(struct writer *w, const char *archive_path)
{
	struct archive_entry *ae;
	int r;

	if (archive_read_open_filename(w->a, archive_path, 1 << 16) != ARCHIVE_OK)
		return errmsg_set(w->err, -EBADMSG, "cannot open: %s",
				  archive_error_string(w->a) ?: "unknown format");
	for (;;) {
		_cleanup_free_ char *path = NULL, *why = NULL;
		int k = archive_read_next_header(w->a, &ae);
		if (k == ARCHIVE_EOF)
			return 0;
		if (k < ARCHIVE_WARN)
			return errmsg_set(w->err, -EBADMSG, "%s",
					  archive_error_string(w->a) ?: "damaged archive");
		r = extract_check_archive_entry(w->policy, w->tracker, ae, &path, &why);
		if (r < 0)
			return errmsg_set(w->err, r, "%s", why ? why : "entry refused");
		if (!path)
			continue; /* "./": the root itself */
		r = write_entry(w, ae, path);
		if (r < 0)
			return r;
	}
}

int extract_archive(const char *archive_path, const char *target, const struct extract_policy *p,
		    struct extract_stats *ret_stats, char **reterr_msg)
{
	static const struct extract_policy defaults = {};
	_cleanup_extract_tracker_ struct extract_tracker *t = NULL;
	_cleanup_free_ char *tmp = NULL, *why = NULL;
	struct stat st;
	int r;

	if (!p)
		p = &defaults;
	if (lstat(target, &st) == 0)
		return errmsg_set(reterr_msg, -EEXIST, "archive '%s': target '%s' exists already",
				  archive_path, target);
	r = extract_tracker_new(&t);
	if (r < 0)
		return r;

	const char *slash = strrchr(target, '/');
	if (slash && slash[1] == '\0')
		return errmsg_set(reterr_msg, -EINVAL, "target '%s' ends in '/'", target);
	if (slash)
		r = asprintf(&tmp, "%.*s/.#extract-%s.XXXXXX", (int)(slash - target), target,
			     slash + 1);
	else
		r = asprintf(&tmp, ".#extract-%s.XXXXXX", target);
	if (r < 0)
		return -ENOMEM;
	if (!mkdtemp(tmp))
		return errmsg_set(reterr_msg, negative_errno(),
				  "archive '%s': cannot make a directory beside '%s': %m",
				  archive_path, target);

	struct writer w = {
		.archive = archive_path,
		.policy = p,
		.tracker = t,
		.a = reader_new(),
		.root_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
		.err = &why,
	};
	if (!w.a || w.root_fd < 0)
		r = w.a ? negative_errno() : -ENOMEM;
	else
		r = extract_into(&w, archive_path);
	if (r >= 0 && fchmod(w.root_fd, 0755) < 0)
		r = negative_errno();
	if (w.a)
		archive_read_free(w.a);
	safe_close(w.root_fd);
	if (r >= 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_NOREPLACE) < 0)
		r = errmsg_set(&why, negative_errno(), "cannot rename into place: %m");
	if (r < 0) {
		(void)fs_rm_rf(tmp);
		return errmsg_set(reterr_msg, r, "archive '%s': %s", archive_path,
				  why ? why : strerror(-r));
	}
	if (ret_stats)
		*ret_stats = (struct extract_stats){ .entries = t->entries, .bytes = t->bytes };
	return 0;
}
