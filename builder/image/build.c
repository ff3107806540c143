/* SPDX-License-Identifier: MIT */
/*
 * build.c - the image build pipeline behind `enlighten build`: lays out
 * the slots of one sparse raw file (partitions.c), reads the inputs
 * (build-inputs.c), runs each partition's writer phase by phase (the
 * part-NAME.c rows), writes the GPT, converts to the requested formats and
 * writes the manifest. Everything goes under temporary names, renamed only
 * when the whole build succeeded; a signal removes them.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image/bmap.h"
#include "builder/image/build-private.h"
#include "builder/image/convert.h"
#include "builder/image/installer.h"
#include "lib/activate/profile.h"
#include "lib/basic/fs.h"
#include "lib/basic/progress.h"
#include "lib/trust/catalog.h"

/* ---- temporary files removed on a signal -------------------------------- */

#define TEMPS_MAX 8
static struct {
	int dir_fd;
	char name[NAME_MAX + 1];
} temps[TEMPS_MAX];
static volatile sig_atomic_t n_temps;

void temps_add(int dir_fd, const char *name)
{
	if (n_temps >= TEMPS_MAX)
		return;
	temps[n_temps].dir_fd = dir_fd;
	snprintf(temps[n_temps].name, sizeof(temps[n_temps].name), "%s", name);
	n_temps = n_temps + 1;
}

static void on_signal(int sig)
{
	for (int i = 0; i < n_temps; i++)
		(void)unlinkat(temps[i].dir_fd, temps[i].name, 0);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void signals_install(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	/* past RLIMIT_FSIZE a write fails with EFBIG, and the build cleans up */
	signal(SIGXFSZ, SIG_IGN);
}

static int artefact_add(struct build *b, const char *name)
{
	_cleanup_free_ char *path = strjoin(b->output_dir, "/", name);
	if (!path || strv_extend(&b->res->artefacts, path) < 0)
		return errmsg_oom(b->err);
	return 0;
}

/* "xxxxxxxx-xxxx-..." -> 16 bytes */
static int hex_decode_uuid(const char *s, uint8_t out[16])
{
	char hex[33];
	size_t n = 0;
	for (const char *p = s; *p && n < 32; p++)
		if (*p != '-')
			hex[n++] = *p;
	hex[n] = '\0';
	return hex_decode(hex, out, 16);
}

static int output_add(struct build *b, struct atomic_file *f, const char *file, const char *format)
{
	uint8_t sha[SHA256_DIGEST_SIZE];
	uint64_t size;
	_cleanup_close_ int fd = openat(b->dir_fd, f->tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errmsg_errno(b->err, errno, "cannot read back '%s': %m", f->tmp);
	int k = sha256_sparse_fd(fd, sha, &size);
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot read back '%s': %m", f->tmp);
	k = manifest_add_artefact(b->manifest, file, format, size, sha);
	return k < 0 ? errmsg_oom(b->err) : 0;
}

/* The raw image with its block map, NAME.bmap: the manifest carries the
 * map's digest, and the map a digest of every run of non-zero blocks, so
 * every byte of the image is covered without hashing its zeros. */
static int raw_map(struct build *b, struct bmap **ret_map, char **ret_text, size_t *ret_len)
{
	_cleanup_close_ int fd = openat(b->dir_fd, b->raw->tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errmsg_errno(b->err, errno, "cannot read back '%s': %m", b->raw->tmp);
	int k = bmap_from_fd(fd, b->recipe->size, ret_map);
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot map the blocks of '%s': %m", b->raw->tmp);
	k = bmap_format(*ret_map, ret_text, ret_len);
	return k < 0 ? errmsg_oom(b->err) : 0;
}

int raw_map_text(struct build *b, char **ret_text, size_t *ret_len)
{
	_cleanup_bmap_ struct bmap *map = NULL;
	return raw_map(b, &map, ret_text, ret_len);
}

static int raw_add(struct build *b, const char *raw_name)
{
	_cleanup_bmap_ struct bmap *map = NULL;
	_cleanup_free_ char *text = NULL, *name = NULL;
	uint8_t sha[SHA256_DIGEST_SIZE];
	size_t len = 0;
	int k;

	k = raw_map(b, &map, &text, &len);
	if (k < 0)
		return k;
	k = sha256_buffer(text, len, sha);
	name = strjoin(b->recipe->name, ".bmap");
	if (k < 0 || !name)
		return errmsg_oom(b->err);
	k = atomic_file_open(b->dir_fd, name, 0644, &b->bmap);
	if (k >= 0) {
		temps_add(b->dir_fd, b->bmap->tmp);
		k = fs_write_all(b->bmap->fd, text, len);
	}
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot write '%s' in '%s': %m", name,
				    b->output_dir);
	k = manifest_add_raw(b->manifest, raw_name, b->recipe->size, name,
			     map->mapped_count * map->block_size);
	if (k >= 0)
		k = manifest_add_artefact(b->manifest, name, "bmap", len, sha);
	return k < 0 ? errmsg_oom(b->err) : 0;
}

/* The manifest, the seed of the partition GUIDs and the inputs read before
 * the disk; then the raw image, sparse, at its full size. */
static int build_start(struct build *b, const char *raw_name)
{
	const struct recipe *r = b->recipe;
	int k;

	k = manifest_new(r->name, base_name(r->path), r->hash, b->now, &b->manifest);
	if (k >= 0)
		k = sha256_new(&b->seed);
	if (k >= 0)
		k = sha256_update(b->seed, r->hash, sizeof(r->hash));
	if (k < 0)
		return errmsg_oom(b->err);

	k = load_profiles(b);
	if (k >= 0)
		k = check_payloads(b);
	if (k >= 0)
		k = stage_payloads(b);
	if (k < 0)
		return k;
	k = add_input(b, "agent", b->agent);
	if (k >= 0 && r->win_wim)
		k = add_input(b, "install.wim", r->win_wim);
	if (k < 0)
		return k;

	k = atomic_file_open(b->dir_fd, raw_name, 0644, &b->raw);
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot create an image in '%s': %m", b->output_dir);
	temps_add(b->dir_fd, b->raw->tmp);
	b->raw_path = strjoin(b->output_dir, "/", b->raw->tmp);
	if (!b->raw_path)
		return errmsg_oom(b->err);
	if (ftruncate(b->raw->fd, (off_t)r->size) < 0)
		return errmsg_errno(b->err, errno,
				    "cannot make a %" PRIu64 " byte image in '%s': %m", r->size,
				    b->output_dir);
	return 0;
}

/* Every partition's writer, phase by phase (partition.h), the GPT among
 * them; then the partitions into the manifest, in disk order. */
static int build_partitions(struct build *b)
{
	const struct recipe *r = b->recipe;
	_cleanup_free_ char *msg = NULL;
	int k = 0;

	partitions_layout(b);
	for (enum partition_phase p = 0; k >= 0 && p < PARTITION_PHASE_AFTER_GPT; p++)
		k = partitions_write(b, p);
	int q = initrd_job_wait(&b->initrd_job, &b->res->warnings, k >= 0 ? b->err : NULL);
	if (k >= 0)
		k = q;
	if (b->ext4)
		ext4_abort(TAKE_PTR(b->ext4));
	if (k < 0)
		return k;

	k = gpt_write(b->raw_path, r->size, b->disk_uuid, b->slots, b->n_slots, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "%s", msg);
	k = partitions_write(b, PARTITION_PHASE_AFTER_GPT);
	if (k < 0)
		return k;
	manifest_set_disk(b->manifest, b->disk_uuid, r->size);
	for (unsigned i = 0; i < b->n_slots; i++)
		manifest_add_partition(b->manifest, &b->slots[i], b->kinds[i]->fs);
	return 0;
}

/* One format other than raw, made from the raw image under its temporary
 * name (*ret: the caller frees it, committed or not). */
static int build_convert(struct build *b, const struct output_format *of, struct atomic_file **ret)
{
	_cleanup_free_ char *name = strjoin(b->recipe->name, ".", of->ext), *path = NULL,
			    *msg = NULL;
	if (!name)
		return errmsg_oom(b->err);
	int k = atomic_file_open(b->dir_fd, name, 0644, ret);
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot create '%s' in '%s': %m", name,
				    b->output_dir);
	temps_add(b->dir_fd, (*ret)->tmp);
	path = strjoin(b->output_dir, "/", (*ret)->tmp);
	if (!path)
		return errmsg_oom(b->err);
	struct progress *p = progress_new(of->name, 0);
	uint8_t uuid[16];
	(void)hex_decode_uuid(b->disk_uuid, uuid);
	struct convert_opts co = { .now = b->now, .uuid = uuid };
	if (of->medium)
		k = installer_make(b, *ret);
	else if ((k = convert_image(b->raw_path, path, of, &co, &msg)) < 0)
		errmsg_errno(b->err, k, "%s", msg ? msg : strerror(-k));
	progress_done(p);
	if (k >= 0)
		k = output_add(b, *ret, name, of->name);
	return k;
}

/* All complete: renamed into place, the manifest last, each artefact
 * listed for the caller. */
static int build_commit(struct build *b, struct atomic_file **outputs, unsigned n_out,
			const char *raw_name, const char *manifest_name)
{
	int k;
	for (unsigned i = 0; i < n_out; i++) {
		k = atomic_file_commit(outputs[i]);
		if (k < 0)
			return errmsg_errno(b->err, k, "cannot finish '%s': %m", outputs[i]->name);
	}
	if (strv_contains(b->formats, "raw")) {
		k = atomic_file_commit(b->raw);
		if (k >= 0)
			k = atomic_file_commit(b->bmap);
		if (k < 0)
			return errmsg_errno(b->err, k, "cannot finish '%s': %m", raw_name);
	}
	k = manifest_write(b->manifest, b->dir_fd, manifest_name);
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot write '%s': %m", manifest_name);
	for (unsigned i = 0; k >= 0 && i < n_out; i++)
		k = artefact_add(b, outputs[i]->name);
	if (k >= 0 && strv_contains(b->formats, "raw"))
		k = artefact_add(b, raw_name);
	if (k >= 0 && b->bmap)
		k = artefact_add(b, b->bmap->name);
	if (k >= 0)
		k = artefact_add(b, manifest_name);
	return k;
}

static int build_run(struct build *b)
{
	const struct recipe *r = b->recipe;
	struct atomic_file *outputs[8] = {};
	_cleanup_free_ char *raw_name = strjoin(r->name, ".raw"),
			    *manifest_name = strjoin(r->name, ".manifest.json");
	unsigned n_out = 0;
	int k;

	if (!raw_name || !manifest_name)
		return errmsg_oom(b->err);
	k = build_start(b, raw_name);
	if (k >= 0)
		k = build_partitions(b);
	if (k < 0)
		return k;

	/* every format from the raw image, each under its temporary name */
	for (char *const *f = b->formats; k >= 0 && f && *f; f++) {
		const struct output_format *of = output_format_find(*f);
		if (!of)
			k = errmsg_errno(b->err, EINVAL, "unknown format '%s'", *f);
		else if (!of->qemu_format && !of->medium)
			k = raw_add(b, raw_name);
		else if (n_out < ELEMENTSOF(outputs))
			k = build_convert(b, of, &outputs[n_out++]);
	}
	if (k >= 0)
		k = build_commit(b, outputs, n_out, raw_name, manifest_name);
	if (k < 0) /* a manifest means a finished build: never leave one behind a failure */
		for (unsigned i = 0; i < n_out; i++)
			if (outputs[i] && outputs[i]->committed)
				(void)unlinkat(b->dir_fd, outputs[i]->name, 0);
	for (unsigned i = 0; i < n_out; i++)
		atomic_file_free(outputs[i]);
	return k;
}

void build_result_done(struct build_result *res)
{
	strv_free(res->artefacts);
	strv_free(res->warnings);
	strv_free(res->notes);
	*res = (struct build_result){};
}

/* The output directory, created when it does not exist (its parent must). */
static int open_output_dir(const char *dir, char **reterr_msg)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return errmsg_errno(reterr_msg, errno,
					    errno == ENOENT
						    ? "cannot create output directory '%s': "
						      "its parent does not exist"
						    : "cannot create output directory '%s': %m",
					    dir);
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return errmsg_errno(reterr_msg, errno, "cannot open output directory '%s': %m",
				    dir);
	return fd;
}

/* One build at a time in an output directory (a lock on it, released when
 * the build ends, however it ends); then the temporaries of a build of the
 * same image that was killed (.#NAME.*: artefacts under construction, the
 * Windows ESP tree) are removed rather than left to fill the disk. */
static int output_dir_claim(struct build *b)
{
	if (flock(b->dir_fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK
			       ? errmsg_set(b->err, -EBUSY,
					    "another build is writing into '%s'; wait for it to "
					    "end or give another -o DIR",
					    b->output_dir)
			       : errmsg_errno(b->err, errno, "cannot lock '%s': %m", b->output_dir);

	_cleanup_free_ char *prefix = strjoin(".#", b->recipe->name, ".");
	if (!prefix)
		return errmsg_oom(b->err);
	_cleanup_strv_free_ char **names = NULL;
	int r = fs_list_dir(b->dir_fd, NULL,
			    &(struct fs_list_opts){ .prefix = prefix, .hidden = true }, &names);
	if (r < 0)
		return errmsg_errno(b->err, r, "cannot read '%s': %m", b->output_dir);
	unsigned n = 0;
	for (char **name = names; *name; name++, n++)
		if (unlinkat(b->dir_fd, *name, 0) < 0) {
			_cleanup_free_ char *path = strjoin(b->output_dir, "/", *name);
			r = errno == EISDIR && path ? fs_rm_rf(path) : -errno;
			if (r < 0)
				return errmsg_errno(b->err, r,
						    "cannot remove '%s/%s', left by an interrupted "
						    "build: %m",
						    b->output_dir, *name);
		}
	if (n > 0)
		build_note(b, "removed %u temporary file(s) an interrupted build left in '%s'", n,
			   b->output_dir);
	return 0;
}

int image_build(const struct build_options *o, struct build_result *ret, char **reterr_msg)
{
	struct build b = {
		.recipe = o->recipe,
		.output_dir = o->output_dir,
		.datadir = o->datadir,
		.err = reterr_msg,
		.res = ret,
		.formats = o->formats ? o->formats : o->recipe->formats,
		.now = o->now,
		.dir_fd = -EBADF,
		.repo_fd = -EBADF,
		.boot = { .builtin_fd = -EBADF, .recipe = o->recipe },
	};
	int k;

	*ret = (struct build_result){};
	b.boot.want_fat_modules = strv_contains(b.formats, "installer");
	k = build_locate(&b);
	if (k >= 0 && strv_contains(b.formats, "installer"))
		k = installer_check_tools(reterr_msg);
	if (k >= 0) {
		k = b.dir_fd = open_output_dir(o->output_dir, reterr_msg);
		if (k >= 0)
			k = output_dir_claim(&b);
	}
	if (k >= 0) {
		signals_install();
		k = build_run(&b);
	}

	atomic_file_free(b.raw);
	atomic_file_free(b.bmap);
	n_temps = 0;
	if (b.windows_esp)
		(void)fs_rm_rf(b.windows_esp);
	free(b.windows_esp);
	json_object_put(b.windows);
	manifest_free(b.manifest);
	sha256_free(b.seed);
	free(b.raw_path);
	profile_set_free(b.profile_set);
	free(b.profiles_dir);
	catalog_free(b.catalog);
	stage_done(&b.stage);
	safe_close(b.repo_fd);
	free(b.agent);
	free(b.unit_template);
	free(b.mke2fs_config);
	grub_choice_done(&b.grub);
	boot_files_done(&b.boot);
	safe_close(b.dir_fd);
	if (k < 0) {
		strv_free(ret->artefacts);
		ret->artefacts = NULL;
	}
	return k;
}
