/* SPDX-License-Identifier: MIT */
/*
 * fs-ext4.c - the root filesystem writer: an ext4 filesystem in the root
 * partition's byte range of the image, filled straight from the base tarball
 * stream through libext2fs. Nothing is extracted to the host, so owners,
 * xattrs and device nodes survive an unprivileged build, and no entry of a
 * hostile tarball can reach the host. Names are checked entry by entry; the
 * walk to an entry's parent never follows a symlink.
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <et/com_err.h>
#include <fcntl.h>
#include <ext2fs/ext2fs.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "builder/image/fs-ext4.h"
#include "lib/basic/copy.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/extract.h"
#include "lib/basic/fs.h"
#include "lib/basic/hash.h"
#include "lib/basic/macro.h"
#include "lib/basic/progress.h"
#include "lib/basic/spawn.h"
#include "lib/basic/string-util.h"

#define TAR_ENTRIES_MAX (16u * 1024 * 1024)
#define READ_CHUNK (256 * 1024)
#define DATA_CHUNK (1024 * 1024)

extern char **environ;

struct ext4 {
	ext2_filsys fs;
	time_t now;
	bool rw;
	/* the directory of the last entry: tarballs list a directory's files together */
	char *cache_path;
	ext2_ino_t cache_ino;
	/* the error of the last failed write to the image file: ENOSPC there is
	 * the output's filesystem that is full, not the root partition */
	errcode_t write_error;
	/* the names of the directories looked into, by hash */
	struct dname **names;
	size_t n_buckets, n_names;
	/* the last block of the directory last linked into */
	ext2_ino_t tail_dir;
	blk64_t tail_lblk, tail_pblk;
	char *tail_buf;
	/* file data goes past libext2fs: the image, the filesystem's offset */
	int data_fd;
	uint64_t offset;
	uint8_t *data_buf; /* DATA_CHUNK */
	struct data_run *runs;
	size_t n_runs_max;
};

/* A run of a file's blocks: logical lblk.. at physical pblk.. */
struct data_run {
	blk64_t lblk, pblk;
	uint64_t len;
};

static errcode_t note_write_error(io_channel channel, unsigned long block, int count,
				  const void *data, size_t size, int actual, errcode_t error)
{
	struct ext4 *e = channel->app_data;
	(void)block, (void)count, (void)data, (void)size, (void)actual;
	/* a cached block whose write failed is reported at the flush with no
	 * error code (libext2fs 1.47): the failed write's errno is the cause */
	if (e)
		e->write_error = error ? error : errno ? errno : EXT2_ET_SHORT_WRITE;
	return error;
}

const char *ext4_strerror(const struct ext4 *e, int r)
{
	if (e->write_error == ENOSPC || e->write_error == EXT2_ET_SHORT_WRITE)
		return "the filesystem the image is written to is full (free space there, or "
		       "give -o another directory)";
	if (r == -ENOSPC)
		return "the root partition is full (make Size= larger)";
	return strerror(-r);
}

static int errcode_to_errno(errcode_t err)
{
	if (err > 0 && err < 4096)
		return -(int)err;
	switch (err) {
	case EXT2_ET_DIR_NO_SPACE:
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
		return -ENOSPC;
	case EXT2_ET_FILE_NOT_FOUND:
		return -ENOENT;
	case EXT2_ET_NO_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

int ext4_format(const char *path, uint64_t offset, uint64_t size, const char *uuid,
		const char *label, time_t now, const char *config, char **reterr_msg)
{
	char ext[160], blocks[32], fake_time[64];
	_cleanup_free_ char *config_env = config ? strjoin("MKE2FS_CONFIG=", config) : NULL;
	_cleanup_free_ char **envp = NULL;
	size_t n = 0;

	snprintf(ext, sizeof(ext), "offset=%" PRIu64 ",hash_seed=%s,root_owner=0:0,nodiscard",
		 offset, uuid);
	snprintf(blocks, sizeof(blocks), "%" PRIu64, size / 4096);
	snprintf(fake_time, sizeof(fake_time), "E2FSPROGS_FAKE_TIME=%lld", (long long)now);

	while (environ[n])
		n++;
	envp = calloc(n + 3, sizeof(char *));
	if (!envp || (config && !config_env))
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!startswith(environ[i], "E2FSPROGS_FAKE_TIME=") &&
		    !startswith(environ[i], "MKE2FS_CONFIG="))
			envp[k++] = environ[i];
	envp[k++] = fake_time;
	if (config_env)
		envp[k++] = config_env;

	char *argv[] = { "mke2fs", "-q", "-F",	       "-F",   "-t",	      "ext4", "-b",
			 "4096",   "-I", "256",	       "-L",   (char *)label, "-U",   (char *)uuid,
			 "-E",	   ext,	 (char *)path, blocks, NULL };
	struct spawn_opts opts = { .stdin_fd = -1, .stdout_fd = -1, .envp = envp };
	struct spawn_result res = {};
	int r = spawn_run(argv, &opts, &res);
	if (r < 0) {
		return errmsg_set(reterr_msg, r, "cannot run 'mke2fs': %s", strerror(-r));
	}
	if (res.exit_status != 0) {
		errmsg_set(reterr_msg, -EIO, "'mke2fs' failed with exit status %d: %s",
			   res.exit_status, res.err ? strstrip(res.err) : "");
		spawn_result_done(&res);
		return -EIO;
	}
	spawn_result_done(&res);
	return 0;
}

int ext4_open(const char *path, uint64_t offset, bool rw, time_t now, struct ext4 **ret,
	      char **reterr_msg)
{
	char opts[64];
	ext2_filsys fs = NULL;

	snprintf(opts, sizeof(opts), "offset=%" PRIu64, offset);
	errcode_t err = ext2fs_open2(path, opts, (rw ? EXT2_FLAG_RW : 0) | EXT2_FLAG_64BITS, 0, 0,
				     unix_io_manager, &fs);
	if (err) {
		return errmsg_set(reterr_msg, errcode_to_errno(err),
				  "cannot open the ext4 filesystem at offset %" PRIu64
				  " of '%s': %s",
				  offset, path, error_message(err));
	}
	if (rw) {
		err = ext2fs_read_bitmaps(fs);
		if (err) {
			errmsg_set(reterr_msg, errcode_to_errno(err),
				   "cannot read the bitmaps of '%s': %s", path, error_message(err));
			ext2fs_close_free(&fs);
			return errcode_to_errno(err);
		}
		fs->now = now;
		fs->umask = 022;
	}
	struct ext4 *e = calloc(1, sizeof(*e));
	if (!e) {
		ext2fs_close_free(&fs);
		return -ENOMEM;
	}
	e->fs = fs;
	e->now = now;
	e->rw = rw;
	e->offset = offset;
	e->data_fd = rw ? open(path, O_WRONLY | O_CLOEXEC) : -1;
	if (rw && e->data_fd < 0) {
		int r = -errno;
		ext2fs_close_free(&fs);
		free(e);
		return errmsg_set(reterr_msg, r, "cannot open '%s': %s", path, strerror(-r));
	}
	fs->io->app_data = e;
	fs->io->write_error = note_write_error;
	*ret = e;
	return 0;
}

static void dnames_free(struct ext4 *e);

static void data_free(struct ext4 *e)
{
	if (e->data_fd >= 0)
		close(e->data_fd);
	free(e->data_buf);
	free(e->runs);
}

int ext4_close(struct ext4 *e)
{
	if (!e)
		return 0;
	errcode_t err = 0;
	if (e->fs) {
		if (e->rw)
			e->fs->super->s_kbytes_written = 0; /* the same bytes every build */
		err = ext2fs_close_free(&e->fs);
	}
	dnames_free(e);
	free(e->cache_path);
	data_free(e);
	free(e);
	return err ? errcode_to_errno(err) : 0;
}

void ext4_abort(struct ext4 *e)
{
	if (!e)
		return;
	if (e->fs) {
		e->fs->flags &= ~EXT2_FLAG_DIRTY;
		ext2fs_free(e->fs);
	}
	dnames_free(e);
	free(e->cache_path);
	data_free(e);
	free(e);
}

static int link_retry(ext2_filsys fs, ext2_ino_t dir, const char *name, ext2_ino_t ino, int ft)
{
	errcode_t err = ext2fs_link(fs, dir, name, ino, ft);
	if (err == EXT2_ET_DIR_NO_SPACE) {
		err = ext2fs_expand_dir(fs, dir);
		if (!err)
			err = ext2fs_link(fs, dir, name, ino, ft);
	}
	return err ? errcode_to_errno(err) : 0;
}

/*
 * The names of the directories the writer looks into, in memory.
 * ext2fs_lookup() and ext2fs_link() read a directory from its first block
 * on every call, so filling a directory of n entries cost n^2: a directory
 * is read once (when it is first looked into; never for one made here), then
 * each name is found by its hash, and new entries are appended to the
 * directory's last block, kept in memory while entries go to that directory.
 * An empty name marks a directory whose names are all in the table.
 */
struct dname {
	struct dname *next;
	ext2_ino_t dir, ino;
	char name[];
};

static size_t dname_hash(ext2_ino_t dir, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ dir;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29));
}

static struct dname **dname_slot(struct ext4 *e, ext2_ino_t dir, const char *name)
{
	struct dname **d = &e->names[dname_hash(dir, name) & (e->n_buckets - 1)];
	while (*d && ((*d)->dir != dir || !streq((*d)->name, name)))
		d = &(*d)->next;
	return d;
}

static int dname_grow(struct ext4 *e)
{
	size_t n = e->n_buckets ? e->n_buckets * 2 : 1024;
	struct dname **b = calloc(n, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_buckets; i++)
		for (struct dname *d = e->names[i], *next; d; d = next) {
			next = d->next;
			size_t k = dname_hash(d->dir, d->name) & (n - 1);
			d->next = b[k];
			b[k] = d;
		}
	free(e->names);
	e->names = b;
	e->n_buckets = n;
	return 0;
}

/* Adds or updates dir's entry name. */
static int dname_set(struct ext4 *e, ext2_ino_t dir, const char *name, ext2_ino_t ino)
{
	if (e->n_names >= e->n_buckets) {
		int r = dname_grow(e);
		if (r < 0)
			return r;
	}
	struct dname **slot = dname_slot(e, dir, name);
	if (*slot) {
		(*slot)->ino = ino;
		return 0;
	}
	size_t len = strlen(name);
	struct dname *d = malloc(sizeof(*d) + len + 1);
	if (!d)
		return -ENOMEM;
	*d = (struct dname){ .dir = dir, .ino = ino };
	memcpy(d->name, name, len + 1);
	*slot = d;
	e->n_names++;
	return 0;
}

static void dname_remove(struct ext4 *e, ext2_ino_t dir, const char *name)
{
	if (!e->n_buckets)
		return;
	struct dname **slot = dname_slot(e, dir, name), *d = *slot;
	if (d) {
		*slot = d->next;
		free(d);
		e->n_names--;
	}
}

static bool dname_loaded(struct ext4 *e, ext2_ino_t dir)
{
	return e->n_buckets && *dname_slot(e, dir, "");
}

static void dnames_free(struct ext4 *e)
{
	for (size_t i = 0; i < e->n_buckets; i++)
		for (struct dname *d = e->names[i], *next; d; d = next) {
			next = d->next;
			free(d);
		}
	free(e->names);
	e->names = NULL;
	e->n_buckets = e->n_names = 0;
	free(e->tail_buf);
	e->tail_buf = NULL;
}

struct load_ctx {
	struct ext4 *e;
	ext2_ino_t dir;
	int r;
};

static int load_one(struct ext2_dir_entry *dirent, int offset _unused_, int blocksize _unused_,
		    char *buf _unused_, void *priv)
{
	struct load_ctx *c = priv;
	int len = ext2fs_dirent_name_len(dirent);
	if (len == 0 || (len == 1 && dirent->name[0] == '.') ||
	    (len == 2 && dirent->name[0] == '.' && dirent->name[1] == '.'))
		return 0;
	char name[EXT2_NAME_LEN + 1];
	memcpy(name, dirent->name, (size_t)len);
	name[len] = '\0';
	if (memchr(name, '\0', (size_t)len))
		return 0; /* not a name a lookup could ask for */
	c->r = dname_set(c->e, c->dir, name, dirent->inode);
	return c->r < 0 ? DIRENT_ABORT : 0;
}

/* Reads dir's names into the table, once. */
static int dname_load(struct ext4 *e, ext2_ino_t dir)
{
	if (dname_loaded(e, dir))
		return 0;
	struct load_ctx c = { .e = e, .dir = dir };
	errcode_t err = ext2fs_dir_iterate(e->fs, dir, 0, NULL, load_one, &c);
	if (c.r < 0)
		return c.r;
	if (err)
		return errcode_to_errno(err);
	return dname_set(e, dir, "", 0);
}

/* A directory made here: empty, nothing to read. */
static int dname_new_dir(struct ext4 *e, ext2_ino_t dir)
{
	return dname_set(e, dir, "", 0);
}

static void tail_forget(struct ext4 *e, ext2_ino_t dir)
{
	if (e->tail_dir == dir)
		e->tail_dir = 0;
}

/* Reads the last block of dir into the tail buffer: 0, or 1 when dir is not
 * a plain directory of blocks (inline data, an htree index), which
 * ext2fs_link() handles. */
static int tail_load(struct ext4 *e, ext2_ino_t dir)
{
	ext2_filsys fs = e->fs;
	if (e->tail_dir == dir)
		return 0;
	e->tail_dir = 0;
	struct ext2_inode inode;
	errcode_t err = ext2fs_read_inode(fs, dir, &inode);
	if (err)
		return errcode_to_errno(err);
	uint64_t size = EXT2_I_SIZE(&inode);
	if ((inode.i_flags & (EXT2_INDEX_FL | EXT4_INLINE_DATA_FL)) || size < fs->blocksize ||
	    size % fs->blocksize)
		return 1;
	blk64_t lblk = size / fs->blocksize - 1, pblk = 0;
	err = ext2fs_bmap2(fs, dir, &inode, NULL, 0, lblk, NULL, &pblk);
	if (err)
		return errcode_to_errno(err);
	if (pblk == 0)
		return 1;
	if (!e->tail_buf) {
		e->tail_buf = malloc(fs->blocksize);
		if (!e->tail_buf)
			return -ENOMEM;
	}
	err = ext2fs_read_dir_block4(fs, pblk, e->tail_buf, 0, dir);
	if (err)
		return errcode_to_errno(err);
	e->tail_dir = dir;
	e->tail_lblk = lblk;
	e->tail_pblk = pblk;
	return 0;
}

/* Puts the entry into the tail buffer's free space: true when it fits. */
static bool tail_insert(struct ext4 *e, const char *name, ext2_ino_t ino, int ft)
{
	ext2_filsys fs = e->fs;
	unsigned int csum = ext2fs_has_feature_metadata_csum(fs->super)
				    ? sizeof(struct ext2_dir_entry_tail)
				    : 0;
	unsigned int end = fs->blocksize - csum, off = 0, last = 0, rec_len = 0;
	size_t len = strlen(name);
	unsigned int need = EXT2_DIR_REC_LEN(len);

	while (off < end) {
		struct ext2_dir_entry *d = (struct ext2_dir_entry *)(e->tail_buf + off);
		if (ext2fs_get_rec_len(fs, d, &rec_len) || rec_len < 8 || off + rec_len > end)
			return false;
		last = off;
		off += rec_len;
	}
	if (off != end)
		return false;
	struct ext2_dir_entry *d = (struct ext2_dir_entry *)(e->tail_buf + last);
	unsigned int used = d->inode ? EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(d)) : 0;
	if (rec_len < used + need)
		return false;
	if (used) {
		ext2fs_set_rec_len(fs, used, d);
		d = (struct ext2_dir_entry *)(e->tail_buf + last + used);
	}
	memset(d, 0, need);
	d->inode = ino;
	ext2fs_dirent_set_name_len(d, (int)len);
	ext2fs_dirent_set_file_type(d, ext2fs_has_feature_filetype(fs->super) ? ft : 0);
	memcpy(d->name, name, len);
	ext2fs_set_rec_len(fs, rec_len - used, d);
	return true;
}

/* A new last block for dir, empty, in the tail buffer. */
static int tail_extend(struct ext4 *e, ext2_ino_t dir)
{
	ext2_filsys fs = e->fs;
	struct ext2_inode inode;
	errcode_t err = ext2fs_read_inode(fs, dir, &inode);
	if (err)
		return errcode_to_errno(err);
	blk64_t lblk = e->tail_lblk + 1, pblk = 0;
	e->tail_dir = 0;
	err = ext2fs_bmap2(fs, dir, &inode, NULL, BMAP_ALLOC, lblk, NULL, &pblk);
	if (!err)
		err = ext2fs_inode_size_set(fs, &inode, (lblk + 1) * fs->blocksize);
	if (!err)
		err = ext2fs_write_inode(fs, dir, &inode);
	char *block = NULL;
	if (!err)
		err = ext2fs_new_dir_block(fs, 0, 0, &block);
	if (err)
		return errcode_to_errno(err);
	memcpy(e->tail_buf, block, fs->blocksize);
	ext2fs_free_mem(&block);
	e->tail_dir = dir;
	e->tail_lblk = lblk;
	e->tail_pblk = pblk;
	return 0;
}

/* Links name in dir to ino: appended to the last block, or a new one. */
static int dir_link(struct ext4 *e, ext2_ino_t dir, const char *name, ext2_ino_t ino, int ft)
{
	int r = tail_load(e, dir);
	if (r < 0)
		return r;
	if (r > 0) {
		r = link_retry(e->fs, dir, name, ino, ft);
	} else {
		if (!tail_insert(e, name, ino, ft)) {
			r = tail_extend(e, dir);
			if (r < 0)
				return r;
			if (!tail_insert(e, name, ino, ft)) {
				e->tail_dir = 0;
				return -EIO;
			}
		}
		errcode_t err = ext2fs_write_dir_block4(e->fs, e->tail_pblk, e->tail_buf, 0, dir);
		if (err) {
			e->tail_dir = 0;
			return errcode_to_errno(err);
		}
	}
	if (r < 0 || !dname_loaded(e, dir))
		return r;
	return dname_set(e, dir, name, ino);
}

static int lookup(struct ext4 *e, ext2_ino_t dir, const char *name, ext2_ino_t *ret)
{
	int r = dname_load(e, dir);
	if (r < 0)
		return r;
	struct dname *d = *dname_slot(e, dir, name);
	if (!d)
		return -ENOENT;
	*ret = d->ino;
	return 0;
}

static void inode_set_owner(struct ext2_inode *inode, uid_t uid, gid_t gid)
{
	inode->i_uid = uid & 0xffff;
	ext2fs_set_i_uid_high(*inode, uid >> 16);
	inode->i_gid = gid & 0xffff;
	ext2fs_set_i_gid_high(*inode, gid >> 16);
}

static void inode_set_time(struct ext2_inode *inode, time_t t)
{
	inode->i_atime = inode->i_ctime = inode->i_mtime = (uint32_t)t;
}

/* Sets mode bits (not type), owner and times of an existing inode. */
static int inode_set_attrs(ext2_filsys fs, ext2_ino_t ino, mode_t perm, uid_t uid, gid_t gid,
			   time_t t)
{
	struct ext2_inode inode;
	errcode_t err = ext2fs_read_inode(fs, ino, &inode);
	if (err)
		return errcode_to_errno(err);
	inode.i_mode = (inode.i_mode & LINUX_S_IFMT) | (perm & 07777);
	inode_set_owner(&inode, uid, gid);
	inode_set_time(&inode, t);
	err = ext2fs_write_inode(fs, ino, &inode);
	return err ? errcode_to_errno(err) : 0;
}

static int make_symlink(struct ext4 *e, ext2_ino_t parent, const char *name, const char *target,
			ext2_ino_t *ret)
{
	ext2_ino_t ino;
	/* made unnamed, then linked, as make_dir() */
	errcode_t err = ext2fs_new_inode(e->fs, parent, LINUX_S_IFLNK | 0777, NULL, &ino);
	if (!err)
		err = ext2fs_symlink(e->fs, parent, ino, NULL, target);
	if (err)
		return errcode_to_errno(err);
	int r = dir_link(e, parent, name, ino, EXT2_FT_SYMLINK);
	if (r < 0)
		return r;
	*ret = ino;
	return 0;
}

static int make_dir(struct ext4 *e, ext2_ino_t parent, const char *name, ext2_ino_t *ret)
{
	ext2_ino_t ino;
	/* made unnamed, then linked: ext2fs_mkdir() would read all of parent */
	errcode_t err = ext2fs_new_inode(e->fs, parent, LINUX_S_IFDIR | 0755, NULL, &ino);
	if (!err)
		err = ext2fs_mkdir(e->fs, parent, ino, NULL);
	if (err)
		return errcode_to_errno(err);
	int r = dname_new_dir(e, ino);
	if (r < 0)
		return r;
	r = dir_link(e, parent, name, ino, EXT2_FT_DIR);
	if (r < 0)
		return r;
	r = inode_set_attrs(e->fs, ino, 0755, 0, 0, e->now);
	if (r < 0)
		return r;
	*ret = ino;
	return 0;
}

/*
 * Walks dir (a relative path, "" for the root) from the root without
 * following symlinks; creates missing directories when create. -ENOTDIR
 * with *ret_bad set to the component's path when one is not a directory.
 */
static int walk_dir(struct ext4 *e, const char *dir, bool create, ext2_ino_t *ret, char **ret_bad)
{
	if (e->cache_path && streq(e->cache_path, dir)) {
		*ret = e->cache_ino;
		return 0;
	}
	_cleanup_free_ char *copy = strdup(dir);
	if (!copy)
		return -ENOMEM;
	ext2_ino_t ino = EXT2_ROOT_INO;
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (streq(c, "."))
			continue;
		if (strlen(c) > EXT2_NAME_LEN)
			return -ENAMETOOLONG;
		ext2_ino_t next;
		int r = lookup(e, ino, c, &next);
		if (r == -ENOENT && create)
			r = make_dir(e, ino, c, &next);
		if (r < 0)
			return r;
		struct ext2_inode inode;
		errcode_t err = ext2fs_read_inode(e->fs, next, &inode);
		if (err)
			return errcode_to_errno(err);
		if (!LINUX_S_ISDIR(inode.i_mode)) {
			if (ret_bad) {
				size_t len = (size_t)(c - copy) + strlen(c);
				*ret_bad = strndup(dir, len);
			}
			return LINUX_S_ISLNK(inode.i_mode) ? -ELOOP : -ENOTDIR;
		}
		ino = next;
	}
	char *p = strdup(dir);
	if (!p)
		return -ENOMEM;
	free(e->cache_path);
	e->cache_path = p;
	e->cache_ino = ino;
	*ret = ino;
	return 0;
}

/* Splits path into its directory ("" for the root) and leaf, in buf. */
static void split_path(char *buf, const char **ret_dir, const char **ret_leaf)
{
	char *slash = strrchr(buf, '/');
	if (!slash) {
		*ret_dir = "";
		*ret_leaf = buf;
		return;
	}
	*slash = '\0';
	*ret_dir = buf;
	*ret_leaf = slash + 1;
}

static int resolve_parent(struct ext4 *e, const char *path, bool create, char **ret_buf,
			  ext2_ino_t *ret_parent, const char **ret_leaf, char **ret_bad)
{
	char *buf = strdup(path);
	if (!buf)
		return -ENOMEM;
	const char *dir, *leaf;
	split_path(buf, &dir, &leaf);
	int r = walk_dir(e, dir, create, ret_parent, ret_bad);
	if (r < 0) {
		free(buf);
		return r;
	}
	if (strlen(leaf) > EXT2_NAME_LEN) {
		free(buf);
		return -ENAMETOOLONG;
	}
	*ret_buf = buf;
	*ret_leaf = leaf;
	return 0;
}

struct new_inode {
	mode_t mode; /* type and permissions */
	uid_t uid;
	gid_t gid;
	time_t mtime;
	uint64_t size;
	dev_t rdev;
};

static int file_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return EXT2_FT_REG_FILE;
	case S_IFDIR:
		return EXT2_FT_DIR;
	case S_IFLNK:
		return EXT2_FT_SYMLINK;
	case S_IFCHR:
		return EXT2_FT_CHRDEV;
	case S_IFBLK:
		return EXT2_FT_BLKDEV;
	case S_IFIFO:
		return EXT2_FT_FIFO;
	case S_IFSOCK:
		return EXT2_FT_SOCK;
	default:
		return EXT2_FT_UNKNOWN;
	}
}

/* A new regular file or special node in parent; its inode number in *ret. */
static int create_inode(struct ext4 *e, ext2_ino_t parent, const char *leaf,
			const struct new_inode *n, ext2_ino_t *ret)
{
	ext2_filsys fs = e->fs;
	ext2_ino_t ino;
	errcode_t err = ext2fs_new_inode(fs, parent, LINUX_S_IFREG | 0600, NULL, &ino);
	if (err)
		return errcode_to_errno(err);
	int r = dir_link(e, parent, leaf, ino, file_type(n->mode));
	if (r < 0)
		return r;
	ext2fs_inode_alloc_stats2(fs, ino, +1, 0);

	struct ext2_inode inode = {};
	inode.i_mode = n->mode; /* Linux and ext4 share the S_IF* values */
	inode_set_owner(&inode, n->uid, n->gid);
	inode_set_time(&inode, n->mtime);
	inode.i_links_count = 1;
	if (S_ISCHR(n->mode) || S_ISBLK(n->mode)) {
		unsigned major = major(n->rdev), minor = minor(n->rdev);
		if (major < 256 && minor < 256) {
			inode.i_block[0] = major * 256 + minor;
			inode.i_block[1] = 0;
		} else {
			inode.i_block[0] = 0;
			inode.i_block[1] = (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
		}
	} else if (S_ISREG(n->mode)) {
		err = ext2fs_inode_size_set(fs, &inode, n->size);
		if (err)
			return errcode_to_errno(err);
		if (ext2fs_has_feature_extents(fs->super)) {
			ext2_extent_handle_t h;
			err = ext2fs_extent_open2(fs, ino, &inode, &h);
			if (err)
				return errcode_to_errno(err);
			ext2fs_extent_free(h);
		}
	}
	err = ext2fs_write_new_inode(fs, ino, &inode);
	if (err)
		return errcode_to_errno(err);
	*ret = ino;
	return 0;
}

static int write_at(ext2_file_t file, uint64_t offset, const void *buf, size_t n)
{
	errcode_t err = ext2fs_file_llseek(file, offset, EXT2_SEEK_SET, NULL);
	if (err)
		return errcode_to_errno(err);
	while (n > 0) {
		unsigned int chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n, written = 0;
		err = ext2fs_file_write(file, buf, chunk, &written);
		if (err)
			return errcode_to_errno(err);
		if (written == 0)
			return -EIO;
		buf = (const uint8_t *)buf + written;
		n -= written;
	}
	return 0;
}

static int tee_write(int fd, const void *buf, size_t n, uint64_t offset)
{
	while (n > 0) {
		ssize_t k = pwrite(fd, buf, n, (off_t)offset);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf = (const uint8_t *)buf + k;
		n -= (size_t)k;
		offset += (uint64_t)k;
	}
	return 0;
}

/*
 * A regular file's data, straight to its blocks: allocated in one go
 * (ext2fs_fallocate(), not zeroed) and written with one pwrite() per run of
 * up to DATA_CHUNK, past libext2fs's block cache (the blocks are new, so
 * none of them is cached). ext2fs_file_write() allocates, zeroes and writes
 * each block apart: two writes a block, the most of a build's system calls.
 */
struct data_writer {
	struct ext4 *e;
	size_t n_runs, cur;
	uint64_t size, buf_off; /* the file's size; the offset of the buffer's start */
	size_t buf_len;
};

/* Whether the entry's data (NULL: a host file's) can go straight to its
 * blocks: not sparse, and a filesystem of extents without inline data. */
static bool data_direct(struct ext4 *e, struct archive_entry *entry)
{
	ext2_filsys fs = e->fs;
	if (e->data_fd < 0 || (entry && archive_entry_sparse_count(entry) > 0) ||
	    !ext2fs_has_feature_extents(fs->super) || ext2fs_has_feature_inline_data(fs->super))
		return false;
	if (!e->data_buf)
		e->data_buf = malloc(DATA_CHUNK);
	return e->data_buf;
}

static int data_map(struct data_writer *w, ext2_ino_t ino)
{
	struct ext4 *e = w->e;
	ext2_filsys fs = e->fs;
	struct ext2_inode inode;
	blk64_t nblocks = (w->size + fs->blocksize - 1) / fs->blocksize;
	errcode_t err = ext2fs_read_inode(fs, ino, &inode);
	if (!err)
		err = ext2fs_fallocate(fs, EXT2_FALLOCATE_FORCE_INIT, ino, &inode, ~0ULL, 0,
				       nblocks);
	if (err)
		return errcode_to_errno(err);
	ext2_extent_handle_t h;
	err = ext2fs_extent_open(fs, ino, &h);
	if (err)
		return errcode_to_errno(err);
	struct ext2fs_extent x;
	blk64_t next = 0;
	int r = 0;
	for (err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &x); !err;
	     err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &x)) {
		if (!(x.e_flags & EXT2_EXTENT_FLAGS_LEAF) ||
		    (x.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT))
			continue;
		if (x.e_lblk != next || (x.e_flags & EXT2_EXTENT_FLAGS_UNINIT)) {
			r = -EIO; /* not what was just allocated */
			break;
		}
		if (w->n_runs == e->n_runs_max) {
			size_t n = e->n_runs_max ? e->n_runs_max * 2 : 64;
			struct data_run *runs = reallocarray(e->runs, n, sizeof(*runs));
			if (!runs) {
				r = -ENOMEM;
				break;
			}
			e->runs = runs;
			e->n_runs_max = n;
		}
		e->runs[w->n_runs++] = (struct data_run){ x.e_lblk, x.e_pblk, x.e_len };
		next = x.e_lblk + x.e_len;
	}
	ext2fs_extent_free(h);
	if (r < 0)
		return r;
	if (err != EXT2_ET_EXTENT_NO_NEXT)
		return errcode_to_errno(err);
	return next >= nblocks ? 0 : -EIO;
}

/* Writes the buffer (padded with zeros to whole blocks) to its blocks. */
static int data_flush(struct data_writer *w)
{
	struct ext4 *e = w->e;
	unsigned bs = e->fs->blocksize;
	if (w->buf_len == 0)
		return 0;
	size_t len = (w->buf_len + bs - 1) / bs * bs;
	memset(e->data_buf + w->buf_len, 0, len - w->buf_len);
	blk64_t lblk = w->buf_off / bs, end = lblk + len / bs;
	while (lblk < end) {
		while (w->cur < w->n_runs && lblk >= e->runs[w->cur].lblk + e->runs[w->cur].len)
			w->cur++;
		if (w->cur == w->n_runs)
			return -EIO;
		const struct data_run *run = &e->runs[w->cur];
		blk64_t n = MIN(end, run->lblk + run->len) - lblk;
		int r = tee_write(e->data_fd, e->data_buf + (lblk - w->buf_off / bs) * bs,
				  (size_t)n * bs, e->offset + (run->pblk + lblk - run->lblk) * bs);
		if (r < 0) {
			e->write_error = -r;
			return r;
		}
		lblk += n;
	}
	w->buf_off += w->buf_len;
	w->buf_len = 0;
	return 0;
}

/* Appends n bytes (NULL: zeros) at offset, the end of what came before or
 * past it (a gap is zeros). */
static int data_write(struct data_writer *w, uint64_t offset, const void *data, size_t n)
{
	uint8_t *buf = w->e->data_buf;
	if (offset < w->buf_off + w->buf_len)
		return -EINVAL; /* data goes forward in an archive that is not sparse */
	while (w->buf_off + w->buf_len < offset || n > 0) {
		bool gap = w->buf_off + w->buf_len < offset;
		size_t room = DATA_CHUNK - w->buf_len;
		size_t k = gap ? (size_t)MIN((uint64_t)room, offset - w->buf_off - w->buf_len)
			       : MIN(room, n);
		if (gap || !data)
			memset(buf + w->buf_len, 0, k);
		else {
			memcpy(buf + w->buf_len, data, k);
			data = (const uint8_t *)data + k;
		}
		w->buf_len += k;
		if (!gap)
			n -= k, offset += k;
		if (w->buf_len == DATA_CHUNK) {
			int r = data_flush(w);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* The entry's data into inode ino (size bytes), and to tee_fd (>= 0). */
static int copy_data(struct ext4 *e, struct archive *a, struct archive_entry *entry,
		     const char *name, ext2_ino_t ino, uint64_t size,
		     const struct extract_policy *policy, struct extract_tracker *tracker,
		     int tee_fd, uint64_t *bytes, char **reterr_msg)
{
	bool direct = data_direct(e, entry);
	struct data_writer w = { .e = e, .size = size };
	ext2_file_t file = NULL;
	errcode_t err;
	int r = 0;

	if (direct) {
		r = data_map(&w, ino);
		if (r < 0)
			return r;
	} else {
		err = ext2fs_file_open(e->fs, ino, EXT2_FILE_WRITE, &file);
		if (err)
			return errcode_to_errno(err);
	}
	for (;;) {
		const void *data;
		size_t n;
		la_int64_t offset;
		int k = archive_read_data_block(a, &data, &n, &offset);
		if (k == ARCHIVE_EOF)
			break;
		if (k != ARCHIVE_OK) {
			errmsg_set(reterr_msg, -EIO, "tarball entry '%s': %s", name,
				   archive_error_string(a));
			r = -EIO;
			break;
		}
		r = extract_account_bytes(policy, tracker, n, reterr_msg);
		if (r < 0)
			break;
		if (offset < 0 || (uint64_t)offset + n > size) {
			errmsg_set(reterr_msg, -EINVAL,
				   "tarball entry '%s' has more data than its size", name);
			r = -EINVAL;
			break;
		}
		r = direct ? data_write(&w, (uint64_t)offset, data, n)
			   : write_at(file, (uint64_t)offset, data, n);
		if (r < 0)
			break;
		if (tee_fd >= 0) {
			r = tee_write(tee_fd, data, n, (uint64_t)offset);
			if (r < 0)
				break;
		}
		*bytes += n;
	}
	if (direct) {
		if (r >= 0) /* zeros up to the size, as a hole would read */
			r = data_write(&w, size, NULL, 0);
		if (r >= 0)
			r = data_flush(&w);
		return r;
	}
	err = ext2fs_file_close(file);
	if (r < 0)
		return r;
	return err ? errcode_to_errno(err) : 0;
}

static int set_xattrs(ext2_filsys fs, ext2_ino_t ino, struct archive_entry *entry)
{
	if (archive_entry_xattr_reset(entry) == 0)
		return 0;
	struct ext2_xattr_handle *h = NULL;
	errcode_t err = ext2fs_xattrs_open(fs, ino, &h);
	if (!err)
		err = ext2fs_xattrs_read(h);
	const char *name;
	const void *value;
	size_t size;
	while (!err && archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK)
		err = ext2fs_xattr_set(h, name, value, size);
	errcode_t err2 = h ? ext2fs_xattrs_close(&h) : 0;
	if (!err)
		err = err2;
	return err ? errcode_to_errno(err) : 0;
}

struct tar_reader {
	int fd;
	struct sha256 *hash;
	struct progress *progress;
	uint64_t done;
	uint8_t buf[READ_CHUNK];
	int error;
};

static ssize_t tar_read(struct archive *a _unused_, void *userdata, const void **ret)
{
	struct tar_reader *t = userdata;
	for (;;) {
		ssize_t n = read(t->fd, t->buf, sizeof(t->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			t->error = -errno;
			return -1;
		}
		if (n > 0 && t->hash)
			(void)sha256_update(t->hash, t->buf, (size_t)n);
		t->done += (uint64_t)n;
		if (t->progress)
			progress_update(t->progress, t->done);
		*ret = t->buf;
		return n;
	}
}

/* Takes leaf (inode existing, not a directory) out of parent: its inode is
 * freed with its last link. */
static int remove_leaf(struct ext4 *e, ext2_ino_t parent, const char *leaf, ext2_ino_t existing)
{
	struct ext2_inode inode;
	errcode_t err = ext2fs_read_inode(e->fs, existing, &inode);
	if (err)
		return errcode_to_errno(err);
	if (LINUX_S_ISDIR(inode.i_mode))
		return -EISDIR;
	tail_forget(e, parent);
	err = ext2fs_unlink(e->fs, parent, leaf, existing, 0);
	if (err)
		return errcode_to_errno(err);
	dname_remove(e, parent, leaf);
	if (inode.i_links_count > 0)
		inode.i_links_count--;
	if (inode.i_links_count == 0) {
		if (ext2fs_inode_has_valid_blocks2(e->fs, &inode)) {
			err = ext2fs_punch(e->fs, existing, &inode, NULL, 0, ~0ULL);
			if (err)
				return errcode_to_errno(err);
		}
		inode.i_dtime = (uint32_t)e->now;
		ext2fs_inode_alloc_stats2(e->fs, existing, -1, 0);
	}
	err = ext2fs_write_inode(e->fs, existing, &inode);
	return err ? errcode_to_errno(err) : 0;
}

/* In an overlay, what is at an entry's path gives way: a non-directory is
 * removed for the entry; a directory stays for a directory entry (1: keep
 * it as it is) and is never replaced by anything else. 0: create the entry. */
static int overlay_make_room(struct ext4 *e, ext2_ino_t parent, const char *leaf,
			     ext2_ino_t existing, mode_t mode, const char *name, char **reterr_msg)
{
	struct ext2_inode inode;
	errcode_t err = ext2fs_read_inode(e->fs, existing, &inode);
	if (err)
		return errcode_to_errno(err);
	bool was_dir = LINUX_S_ISDIR(inode.i_mode);
	if (was_dir && S_ISDIR(mode))
		return 1;
	if (was_dir || S_ISDIR(mode))
		return errmsg_set(reterr_msg, -EEXIST,
				  "entry '%s' would replace %s with %s; refused (an overlay "
				  "replaces files, never a directory with a file or the reverse)",
				  name, was_dir ? "a directory" : "a file",
				  was_dir ? "a file" : "a directory");
	return remove_leaf(e, parent, leaf, existing);
}

/* Entry name, a hard link to hardlink (an earlier entry), as leaf in parent. */
static int add_hardlink(struct ext4 *e, ext2_ino_t parent, const char *leaf, const char *name,
			const char *hardlink, bool exists, char **reterr_msg)
{
	ext2_filsys fs = e->fs;
	_cleanup_free_ char *target_name = NULL;
	int r;

	/* extract_check_entry() has checked it names an earlier regular file */
	r = extract_normalize_name(hardlink, &target_name, NULL);
	if (r < 0 || !target_name) {
		return errmsg_set(reterr_msg, -EINVAL,
				  "tarball entry '%s': a hard link to '%s'; refused", name,
				  hardlink);
	}
	_cleanup_free_ char *tbuf = NULL, *tbad = NULL;
	ext2_ino_t tparent, target;
	const char *tleaf;
	r = resolve_parent(e, target_name, false, &tbuf, &tparent, &tleaf, &tbad);
	if (r >= 0)
		r = lookup(e, tparent, tleaf, &target);
	if (r < 0) {
		return errmsg_set(reterr_msg, -EINVAL,
				  "tarball entry '%s' is a hard link to '%s', which is not an "
				  "earlier "
				  "entry; refused",
				  name, hardlink);
	}
	struct ext2_inode inode;
	errcode_t err = ext2fs_read_inode(fs, target, &inode);
	if (err)
		return errcode_to_errno(err);
	if (LINUX_S_ISDIR(inode.i_mode)) {
		return errmsg_set(reterr_msg, -EINVAL,
				  "tarball entry '%s' is a hard link to directory '%s'; refused",
				  name, hardlink);
	}
	if (exists) {
		return errmsg_set(reterr_msg, -EEXIST, "tarball entry '%s' appears twice; refused",
				  name);
	}
	r = dir_link(e, parent, leaf, target, file_type(inode.i_mode));
	if (r < 0)
		return r;
	/* the link's parent may be the cached directory: keep the cache valid */
	err = ext2fs_read_inode(fs, target, &inode);
	if (err)
		return errcode_to_errno(err);
	inode.i_links_count++;
	err = ext2fs_write_inode(fs, target, &inode);
	return err ? errcode_to_errno(err) : 0;
}

static int add_entry(struct ext4 *e, struct archive *a, struct archive_entry *entry,
		     const char *name, const struct extract_policy *policy,
		     struct extract_tracker *tracker, ext4_tee_fn tee, void *userdata, bool overlay,
		     uint64_t *bytes, char **reterr_msg)
{
	ext2_filsys fs = e->fs;
	mode_t mode = archive_entry_mode(entry);
	uid_t uid = (uid_t)archive_entry_uid(entry);
	gid_t gid = (gid_t)archive_entry_gid(entry);
	time_t mtime = archive_entry_mtime(entry);
	const char *hardlink = archive_entry_hardlink(entry);
	_cleanup_free_ char *buf = NULL, *bad = NULL;
	ext2_ino_t parent, ino;
	const char *leaf;
	int r;

	if (!*name) { /* the root directory itself */
		if (!S_ISDIR(mode))
			return errmsg_set(reterr_msg, -EINVAL,
					  "tarball entry '.' is not a directory");
		if (overlay) /* the base's root keeps its owner and mode */
			return 0;
		return inode_set_attrs(fs, EXT2_ROOT_INO, mode, uid, gid, mtime);
	}

	r = resolve_parent(e, name, true, &buf, &parent, &leaf, &bad);
	if (r == -ELOOP || r == -ENOTDIR) {
		return errmsg_set(
			reterr_msg, -EINVAL,
			"tarball entry '%s' goes through '%s', which is %s; refused (an entry "
			"must not lead outside its directory)",
			name, bad ? bad : "?", r == -ELOOP ? "a symlink" : "not a directory");
	}
	if (r < 0)
		return r;

	ext2_ino_t existing;
	bool exists = lookup(e, parent, leaf, &existing) >= 0;
	if (exists && overlay) {
		r = overlay_make_room(e, parent, leaf, existing, hardlink ? S_IFREG : mode, name,
				      reterr_msg);
		if (r != 0)
			return r < 0 ? r : 0; /* 1: an existing directory, kept */
		exists = false;
	}

	if (hardlink)
		return add_hardlink(e, parent, leaf, name, hardlink, exists, reterr_msg);

	if (S_ISDIR(mode)) {
		if (exists) {
			struct ext2_inode inode;
			errcode_t err = ext2fs_read_inode(fs, existing, &inode);
			if (err)
				return errcode_to_errno(err);
			if (!LINUX_S_ISDIR(inode.i_mode)) {
				return errmsg_set(reterr_msg, -EEXIST,
						  "tarball entry '%s' appears twice; refused",
						  name);
			}
			ino = existing;
		} else {
			r = make_dir(e, parent, leaf, &ino);
			if (r < 0)
				return r;
		}
		r = inode_set_attrs(fs, ino, mode, uid, gid, mtime);
		if (r < 0)
			return r;
		return set_xattrs(fs, ino, entry);
	}

	if (exists) {
		return errmsg_set(reterr_msg, -EEXIST, "tarball entry '%s' appears twice; refused",
				  name);
	}

	if (S_ISLNK(mode)) {
		const char *target = archive_entry_symlink(entry);
		if (!target || !*target || strlen(target) >= fs->blocksize) {
			return errmsg_set(reterr_msg, -EINVAL,
					  "tarball entry '%s' is a symlink without a usable target",
					  name);
		}
		r = make_symlink(e, parent, leaf, target, &ino);
		if (r < 0)
			return r;
		r = inode_set_attrs(fs, ino, 0777, uid, gid, mtime);
		if (r < 0)
			return r;
		return set_xattrs(fs, ino, entry);
	}

	if (!S_ISREG(mode) && !S_ISCHR(mode) && !S_ISBLK(mode) && !S_ISFIFO(mode) &&
	    !S_ISSOCK(mode)) {
		return errmsg_set(reterr_msg, -EINVAL,
				  "tarball entry '%s' has an unknown type; refused", name);
	}

	struct new_inode n = {
		.mode = mode,
		.uid = uid,
		.gid = gid,
		.mtime = mtime,
		.size = S_ISREG(mode) ? (uint64_t)archive_entry_size(entry) : 0,
		.rdev = archive_entry_rdev(entry),
	};
	r = create_inode(e, parent, leaf, &n, &ino);
	if (r < 0)
		return r;

	if (S_ISREG(mode) && n.size > 0) {
		int tee_fd = tee ? tee(name, n.size, userdata) : -1;
		r = copy_data(e, a, entry, name, ino, n.size, policy, tracker, tee_fd, bytes,
			      reterr_msg);
		if (r < 0)
			return r;
	}
	return set_xattrs(fs, ino, entry);
}

static bool skip_entry(const struct ext4_tar_opts *o, struct archive_entry *entry, const char *name)
{
	if (o->skip(name, o->skip_userdata))
		return true;
	const char *hl = archive_entry_hardlink(entry);
	_cleanup_free_ char *target = NULL;
	return hl && extract_normalize_name(hl, &target, NULL) >= 0 && target &&
	       o->skip(target, o->skip_userdata);
}

int ext4_add_tarball(struct ext4 *e, int fd, const struct ext4_tar_opts *o,
		     struct ext4_tar_stats *ret_stats, char **reterr_msg)
{
	struct sha256 *hash = o->hash;
	ext4_tee_fn tee = o->tee;
	void *userdata = o->userdata;
	struct archive *a = archive_read_new();
	_cleanup_free_ struct tar_reader *t = calloc(1, sizeof(*t));
	struct ext4_tar_stats stats = {};
	/* the image's own root: device nodes, setuid programs and absolute
	 * symlinks are what a root filesystem holds; none is resolved here */
	const struct extract_policy policy = {
		.max_entries = TAR_ENTRIES_MAX,
		.max_bytes = o->max_bytes ? o->max_bytes : UINT64_MAX / 2,
		.allow_devices = true,
		.allow_setuid = true,
		.symlinks_as_data = true,
	};
	_cleanup_extract_tracker_ struct extract_tracker *tracker = NULL;
	int r = extract_tracker_new(&tracker);
	if (r < 0)
		return r;

	if (!a || !t) {
		archive_read_free(a);
		return -ENOMEM;
	}
	t->fd = fd;
	t->hash = hash;
	t->progress = o->progress;
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_cpio(a);
	if (archive_read_open(a, t, NULL, tar_read, NULL) != ARCHIVE_OK) {
		errmsg_set(reterr_msg, -EINVAL, "not a tarball: %s", archive_error_string(a));
		archive_read_free(a);
		return t->error < 0 ? t->error : -EINVAL;
	}

	for (;;) {
		struct archive_entry *entry;
		int k = archive_read_next_header(a, &entry);
		if (k == ARCHIVE_EOF)
			break;
		if (k == ARCHIVE_WARN)
			k = ARCHIVE_OK;
		if (k != ARCHIVE_OK) {
			errmsg_set(reterr_msg, -EINVAL, "cannot read the tarball: %s",
				   archive_error_string(a));
			r = t->error < 0 ? t->error : -EINVAL;
			break;
		}
		stats.entries++;
		_cleanup_free_ char *name = NULL, *why = NULL;
		r = extract_check_archive_entry(&policy, tracker, entry, &name, &why);
		if (r < 0) {
			errmsg_set(reterr_msg, r, "%s; refused", why ? why : strerror(-r));
			break;
		}
		if (o->skip && name && skip_entry(o, entry, name)) {
			stats.skipped++;
			continue; /* libarchive skips the data */
		}
		r = add_entry(e, a, entry, name ? name : "", &policy, tracker, tee, userdata,
			      o->overlay, &stats.bytes, reterr_msg);
		if (r < 0) {
			errmsg_default(reterr_msg, r, "cannot write tarball entry '%s': %s", name,
				       ext4_strerror(e, r));
			break;
		}
	}
	archive_read_free(a);
	if (r < 0)
		return r;

	/* hash what follows the end-of-archive blocks too: the file is the input */
	if (hash) {
		r = copy_stream(fd, COPY_SINK_NONE, UINT64_MAX, hash, NULL);
		if (r < 0)
			return r;
	}
	if (ret_stats)
		*ret_stats = stats;
	return 0;
}

int ext4_mkdir_p(struct ext4 *e, const char *path, mode_t mode)
{
	ext2_ino_t ino;
	int r = walk_dir(e, path, true, &ino, NULL);
	if (r < 0)
		return r;
	return inode_set_attrs(e->fs, ino, mode, 0, 0, e->now);
}

/* The builder's files replace what the base has at their path (never a
 * directory). */
static int new_file(struct ext4 *e, const char *path, uint64_t size, mode_t mode, ext2_ino_t *ret)
{
	_cleanup_free_ char *buf = NULL;
	ext2_ino_t parent, existing;
	const char *leaf;
	int r = resolve_parent(e, path, true, &buf, &parent, &leaf, NULL);
	if (r < 0)
		return r;
	if (lookup(e, parent, leaf, &existing) >= 0) {
		r = remove_leaf(e, parent, leaf, existing);
		if (r < 0)
			return r;
	}
	struct new_inode n = {
		.mode = S_IFREG | (mode & 07777),
		.mtime = e->now,
		.size = size,
	};
	return create_inode(e, parent, leaf, &n, ret);
}

int ext4_write_file(struct ext4 *e, const char *path, const void *data, size_t size, mode_t mode)
{
	ext2_ino_t ino;
	int r = new_file(e, path, size, mode, &ino);
	if (r < 0 || size == 0)
		return r;
	ext2_file_t file;
	errcode_t err = ext2fs_file_open(e->fs, ino, EXT2_FILE_WRITE, &file);
	if (err)
		return errcode_to_errno(err);
	r = write_at(file, 0, data, size);
	err = ext2fs_file_close(file);
	if (r < 0)
		return r;
	return err ? errcode_to_errno(err) : 0;
}

struct file_sink {
	ext2_file_t file;
	uint64_t off;
};

static int data_sink_write(void *userdata, const void *buf, size_t n)
{
	struct data_writer *w = userdata;
	return data_write(w, w->buf_off + w->buf_len, buf, n);
}

static int file_sink_write(void *userdata, const void *buf, size_t n)
{
	struct file_sink *s = userdata;
	int r = write_at(s->file, s->off, buf, n);
	s->off += n;
	return r;
}

int ext4_write_file_fd(struct ext4 *e, const char *path, int fd, mode_t mode, struct sha256 *h,
		       uint64_t *ret_len)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	ext2_ino_t ino;
	int r = new_file(e, path, (uint64_t)st.st_size, mode, &ino);
	if (r < 0)
		return r;
	/* no more than the size the inode was made for */
	uint64_t max = (uint64_t)st.st_size;
	if (st.st_size > 0 && data_direct(e, NULL)) {
		struct data_writer w = { .e = e, .size = max };
		r = data_map(&w, ino);
		if (r >= 0)
			r = copy_stream(
				fd, &(struct copy_sink){ .write = data_sink_write, .userdata = &w },
				max, h, ret_len);
		if (r >= 0)
			r = data_write(&w, w.size, NULL, 0); /* a file that shrank: zeros */
		return r < 0 ? r : data_flush(&w);
	}
	struct file_sink s = {};
	errcode_t err = ext2fs_file_open(e->fs, ino, EXT2_FILE_WRITE, &s.file);
	if (err)
		return errcode_to_errno(err);
	r = copy_stream(fd, &(struct copy_sink){ .write = file_sink_write, .userdata = &s }, max, h,
			ret_len);
	err = ext2fs_file_close(s.file);
	if (r < 0)
		return r;
	return err ? errcode_to_errno(err) : 0;
}

int ext4_symlink(struct ext4 *e, const char *path, const char *target)
{
	_cleanup_free_ char *buf = NULL;
	ext2_ino_t parent, ino;
	const char *leaf;
	int r = resolve_parent(e, path, true, &buf, &parent, &leaf, NULL);
	if (r < 0)
		return r;
	if (lookup(e, parent, leaf, &ino) >= 0)
		return -EEXIST;
	r = make_symlink(e, parent, leaf, target, &ino);
	if (r < 0)
		return r;
	return inode_set_attrs(e->fs, ino, 0777, 0, 0, e->now);
}

static int lookup_path(struct ext4 *e, const char *path, ext2_ino_t *ret)
{
	_cleanup_free_ char *buf = NULL;
	ext2_ino_t parent;
	const char *leaf;
	int r = resolve_parent(e, path, false, &buf, &parent, &leaf, NULL);
	if (r < 0)
		return r;
	return lookup(e, parent, leaf, ret);
}

/* The inode of the regular file at path: -EISDIR for a directory, -EINVAL
 * for any other type. */
static int lookup_regular(struct ext4 *e, const char *path, ext2_ino_t *ret_ino,
			  struct ext2_inode *ret_inode)
{
	int r = lookup_path(e, path, ret_ino);
	if (r < 0)
		return r;
	errcode_t err = ext2fs_read_inode(e->fs, *ret_ino, ret_inode);
	if (err)
		return errcode_to_errno(err);
	if (!LINUX_S_ISREG(ret_inode->i_mode))
		return LINUX_S_ISDIR(ret_inode->i_mode) ? -EISDIR : -EINVAL;
	return 0;
}

int ext4_file_place(struct ext4 *e, const char *path, uint64_t *ret_offset, uint64_t *ret_size)
{
	ext2_ino_t ino;
	struct ext2_inode inode;
	int r = lookup_regular(e, path, &ino, &inode);
	if (r < 0)
		return r == -EISDIR ? -EINVAL : r;
	uint64_t size = EXT2_I_SIZE(&inode), bs = e->fs->blocksize;
	if (size == 0 || (inode.i_flags & EXT4_INLINE_DATA_FL))
		return -ERANGE;
	blk64_t first = 0;
	for (uint64_t l = 0; l < (size + bs - 1) / bs; l++) {
		blk64_t p = 0;
		errcode_t err = ext2fs_bmap2(e->fs, ino, &inode, NULL, 0, l, NULL, &p);
		if (err)
			return errcode_to_errno(err);
		if (l == 0)
			first = p;
		if (p == 0 || p != first + l)
			return -ERANGE; /* a hole, or not one run */
	}
	*ret_offset = (uint64_t)first * bs;
	*ret_size = size;
	return 0;
}

int ext4_lstat_type(struct ext4 *e, const char *path, mode_t *ret)
{
	ext2_ino_t ino;
	struct ext2_inode inode;
	int r = lookup_path(e, path, &ino);
	if (r < 0)
		return r;
	errcode_t err = ext2fs_read_inode(e->fs, ino, &inode);
	if (err)
		return errcode_to_errno(err);
	*ret = (mode_t)(inode.i_mode & LINUX_S_IFMT);
	return 0;
}

int ext4_file_size(struct ext4 *e, const char *path, uint64_t *ret)
{
	ext2_ino_t ino;
	struct ext2_inode inode;
	int r = lookup_regular(e, path, &ino, &inode);
	if (r < 0)
		return r == -EISDIR ? -EINVAL : r;
	*ret = EXT2_I_SIZE(&inode);
	return 0;
}

static int read_ino(struct ext4 *e, ext2_ino_t ino, const struct ext2_inode *inode, size_t max,
		    char **ret, size_t *ret_size)
{
	_cleanup_free_ char *data = NULL;
	errcode_t err;
	uint64_t size = EXT2_I_SIZE(inode);
	if (size > max)
		return -EFBIG;
	data = malloc(size + 1);
	if (!data)
		return -ENOMEM;
	ext2_file_t file;
	err = ext2fs_file_open(e->fs, ino, 0, &file);
	if (err)
		return errcode_to_errno(err);
	unsigned got = 0;
	err = ext2fs_file_read(file, data, (unsigned)size, &got);
	ext2fs_file_close(file);
	if (err)
		return errcode_to_errno(err);
	data[got] = '\0';
	if (ret_size)
		*ret_size = got;
	*ret = TAKE_PTR(data);
	return 0;
}

int ext4_read_file(struct ext4 *e, const char *path, size_t max, char **ret, size_t *ret_size)
{
	ext2_ino_t ino;
	struct ext2_inode inode;
	int r = lookup_regular(e, path, &ino, &inode);
	if (r < 0)
		return r;
	return read_ino(e, ino, &inode, max, ret, ret_size);
}

/* The regular file at path, symlinks followed inside the image. */
static int lookup_follow(struct ext4 *e, const char *path, ext2_ino_t *ret_ino,
			 struct ext2_inode *ret_inode)
{
	/* libext2fs resolves each symlink against the filesystem's root, so an
	 * absolute target and ".." stay inside the image; it gives up after
	 * EXT2FS_MAX_NESTED_LINKS links */
	errcode_t err = ext2fs_namei_follow(e->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, ret_ino);
	if (err)
		return err == EXT2_ET_FILE_NOT_FOUND || err == EXT2_ET_NO_DIRECTORY
			       ? -ENOENT
			       : errcode_to_errno(err);
	err = ext2fs_read_inode(e->fs, *ret_ino, ret_inode);
	if (err)
		return errcode_to_errno(err);
	if (!LINUX_S_ISREG(ret_inode->i_mode))
		return LINUX_S_ISDIR(ret_inode->i_mode) ? -EISDIR : -EINVAL;
	return 0;
}

int ext4_read_file_follow(struct ext4 *e, const char *path, size_t max, char **ret,
			  size_t *ret_size)
{
	ext2_ino_t ino;
	struct ext2_inode inode;
	int r = lookup_follow(e, path, &ino, &inode);
	if (r < 0)
		return r;
	return read_ino(e, ino, &inode, max, ret, ret_size);
}

struct ext4_file {
	ext2_file_t file;
};

int ext4_file_open_follow(struct ext4 *e, const char *path, struct ext4_file **ret,
			  uint64_t *ret_size)
{
	ext2_ino_t ino;
	struct ext2_inode inode;
	int r = lookup_follow(e, path, &ino, &inode);
	if (r < 0)
		return r;
	struct ext4_file *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	errcode_t err = ext2fs_file_open(e->fs, ino, 0, &f->file);
	if (err) {
		free(f);
		return errcode_to_errno(err);
	}
	*ret_size = EXT2_I_SIZE(&inode);
	*ret = f;
	return 0;
}

int ext4_file_pread(struct ext4_file *f, void *buf, size_t n, uint64_t off)
{
	if (n > UINT_MAX)
		return -EFBIG;
	errcode_t err = ext2fs_file_llseek(f->file, off, EXT2_SEEK_SET, NULL);
	unsigned got = 0;
	if (!err)
		err = ext2fs_file_read(f->file, buf, (unsigned)n, &got);
	if (err)
		return errcode_to_errno(err);
	return got == n ? 0 : -EIO;
}

struct ext4_file *ext4_file_close(struct ext4_file *f)
{
	if (f) {
		ext2fs_file_close(f->file);
		free(f);
	}
	return NULL;
}

struct list_ctx {
	char **names;
	int r;
};

static int list_one(struct ext2_dir_entry *dirent, int offset _unused_, int blocksize _unused_,
		    char *buf _unused_, void *priv)
{
	struct list_ctx *c = priv;
	int len = ext2fs_dirent_name_len(dirent);
	if ((len == 1 && dirent->name[0] == '.') ||
	    (len == 2 && dirent->name[0] == '.' && dirent->name[1] == '.'))
		return 0;
	_cleanup_free_ char *n = strndup(dirent->name, (size_t)len);
	if (!n || strv_extend(&c->names, n) < 0) {
		c->r = -ENOMEM;
		return DIRENT_ABORT;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool ext4_needs_recovery(struct ext4 *e)
{
	return ext2fs_has_feature_journal_needs_recovery(e->fs->super);
}

int ext4_list_dir(struct ext4 *e, const char *path, char ***ret)
{
	ext2_ino_t ino;
	int r = walk_dir(e, path, false, &ino, NULL);
	if (r < 0)
		return r;
	struct list_ctx c = {};
	errcode_t err = ext2fs_dir_iterate(e->fs, ino, 0, NULL, list_one, &c);
	if (c.r < 0 || err) {
		strv_free(c.names);
		return c.r < 0 ? c.r : errcode_to_errno(err);
	}
	if (c.names)
		qsort(c.names, strv_length(c.names), sizeof(char *), cmp_str);
	*ret = c.names;
	return 0;
}
