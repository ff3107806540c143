/* SPDX-License-Identifier: MIT */
/*
 * build.c - the image build pipeline behind `enlighten build`. Lays out
 * the slots of one sparse raw file, streams the base tarball into the ext4
 * root, injects the payloads and the agent, checks the initrd, writes the
 * ESP and the GPT, converts to the requested formats and writes the
 * manifest. Everything goes under temporary names, renamed only when the
 * whole build succeeded; a signal removes them.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/image/build.h"
#include "builder/image/convert.h"
#include "builder/image/fs-ext4.h"
#include "builder/image/generalize.h"
#include "builder/image/image.h"
#include "builder/image/initrd-check.h"
#include "builder/image/inject.h"
#include "builder/image/loader-grub.h"
#include "builder/image/bmap.h"
#include "builder/image/manifest.h"
#include "builder/image/overlay.h"
#include "builder/image/recipe.h"
#include "builder/image/secure-boot.h"
#include "builder/image/stage.h"
#include "builder/windows/windows.h"
#include "lib/basic/cli.h"
#include "lib/activate/profile.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/hash.h"
#include "lib/activate/paths.h"
#include "lib/basic/json.h"
#include "lib/basic/macro.h"
#include "lib/basic/progress.h"
#include "lib/basic/string-util.h"
#include "lib/trust/catalog.h"
#include "builder/image/xen.h"
#include "lib/trust/minisign.h"

#define BOOT_CANDIDATES_MAX 8
#define BUILTIN_MAX (4 * 1024 * 1024)

/* ---- temporary files removed on a signal -------------------------------- */

#define TEMPS_MAX 8
static struct {
	int dir_fd;
	char name[NAME_MAX + 1];
} temps[TEMPS_MAX];
static volatile sig_atomic_t n_temps;

static void temps_add(int dir_fd, const char *name)
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

struct build {
	const struct recipe *recipe;
	const char *output_dir;
	const char *datadir;
	char **err;		  /* the engine's *reterr_msg */
	struct build_result *res; /* warnings, notes, artefacts */
	int dir_fd;
	char *const *formats;
	time_t now;

	struct atomic_file *raw;
	struct atomic_file *bmap; /* NAME.bmap beside the raw image */
	char *raw_path;
	struct image_slot slots[5]; /* [BIOS boot,] ESP, [MSR, Windows,] root */
	unsigned n_slots;
	struct image_slot *bios, *esp, *msr, *root, *windows_slot;
	char *windows_esp;    /* the Windows Boot Manager's files, for the ESP */
	json_object *windows; /* what the Windows half carries, for build.json */
	char disk_uuid[UUID_STRING_SIZE];
	struct manifest *manifest;
	struct sha256 *seed; /* recipe and inputs, for the partition GUIDs */
	struct profile_set *profile_set;
	char *profiles_dir;
	struct catalog *catalog;
	int repo_fd;
	struct stage stage; /* the repository's payloads: the profiles' closures */
	char *agent;
	char *unit_template;
	char *mke2fs_config; /* enlighten's, so that the host's does not decide */
	struct ext4 *ext4;   /* the root filesystem, between root_stream() and root_finish() */
	struct generalize generalize; /* what the base lost of one machine's identity */
	struct grub_choice grub;      /* Loader=grub: where grub.cfg went, what it boots */
};

/* An informational line for the caller; lost only when memory is short. */
#define build_note(b, ...) (void)strv_extendf(&(b)->res->notes, __VA_ARGS__)
/* A warning for the caller; returns 0 or -ENOMEM (with the message). */
#define build_warn(b, ...)                                                                         \
	(strv_extendf(&(b)->res->warnings, __VA_ARGS__) < 0 ? errmsg_oom((b)->err) : 0)

static int artefact_add(struct build *b, const char *name)
{
	_cleanup_free_ char *path = strjoin(b->output_dir, "/", name);
	if (!path || strv_extend(&b->res->artefacts, path) < 0)
		return errmsg_oom(b->err);
	return 0;
}

/* ---- boot files taken from the tarball stream ---------------------------- */

struct boot_file {
	char *name;
	int fd;
};

struct boot_files {
	struct boot_file kernels[BOOT_CANDIDATES_MAX], initrds[BOOT_CANDIDATES_MAX];
	struct boot_file configs[BOOT_CANDIDATES_MAX]; /* boot/config-V, for [Xen] */
	unsigned n_kernels, n_initrds, n_configs;
	int builtin_fd;
	const struct recipe *recipe;
};

static void boot_files_done(struct boot_files *b)
{
	for (unsigned i = 0; i < b->n_kernels; i++) {
		free(b->kernels[i].name);
		safe_close(b->kernels[i].fd);
	}
	for (unsigned i = 0; i < b->n_initrds; i++) {
		free(b->initrds[i].name);
		safe_close(b->initrds[i].fd);
	}
	for (unsigned i = 0; i < b->n_configs; i++) {
		free(b->configs[i].name);
		safe_close(b->configs[i].fd);
	}
	safe_close(b->builtin_fd);
}

static bool is_kernel_name(const char *n)
{
	return startswith(n, "boot/vmlinuz-") && !strchr(n + 5, '/');
}

static bool is_initrd_name(const char *n)
{
	return (startswith(n, "boot/initrd.img-") || startswith(n, "boot/initramfs-") ||
		startswith(n, "boot/initrd-")) &&
	       !strchr(n + 5, '/');
}

static int boot_tee(const char *name, uint64_t size, void *userdata)
{
	struct boot_files *b = userdata;
	const struct recipe *r = b->recipe;
	struct boot_file *list;
	unsigned *n;

	if (r->kernel ? streq(name, r->kernel) : is_kernel_name(name)) {
		list = b->kernels;
		n = &b->n_kernels;
	} else if (r->initrd ? streq(name, r->initrd) : is_initrd_name(name)) {
		list = b->initrds;
		n = &b->n_initrds;
	} else if (b->builtin_fd < 0 &&
		   (startswith(name, "lib/modules/") || startswith(name, "usr/lib/modules/")) &&
		   endswith(name, "/modules.builtin")) {
		b->builtin_fd = memfd_create("modules.builtin", MFD_CLOEXEC);
		return b->builtin_fd;
	} else if (r->xen_hypervisor && startswith(name, "boot/config-") &&
		   !strchr(name + 5, '/') && size <= XEN_KERNEL_CONFIG_MAX) {
		list = b->configs;
		n = &b->n_configs;
	} else
		return -1;
	if (*n >= BOOT_CANDIDATES_MAX)
		return -1;
	/* not close-on-exec: mcopy reads it as /dev/fd/N */
	int fd = memfd_create("enlighten-boot", 0);
	if (fd < 0)
		return -1;
	list[*n].name = strdup(name);
	if (!list[*n].name) {
		close(fd);
		return -1;
	}
	list[*n].fd = fd;
	(*n)++;
	return fd;
}

/* The kernel's version from its name: "boot/vmlinuz-6.1.0-56-amd64" -> "6.1.0-56-amd64". */
static const char *kernel_version(const char *name)
{
	const char *b = strrchr(name, '/');
	b = b ? b + 1 : name;
	return startswith(b, "vmlinuz-") ? b + strlen("vmlinuz-") : b;
}

/* Picks the newest kernel and the initrd of the same version. */
static int boot_files_pick(struct boot_files *b, const struct recipe *r, struct boot_file **ret_k,
			   struct boot_file **ret_i, char **err)
{
	struct boot_file *k = NULL, *ird = NULL;
	for (unsigned i = 0; i < b->n_kernels; i++)
		if (!k || strverscmp(b->kernels[i].name, k->name) > 0)
			k = &b->kernels[i];
	if (!k)
		return errmsg_errno(err, ENOENT,
				    "base tarball '%s' has no kernel %s; set Kernel= in [Base]",
				    r->tarball, r->kernel ? r->kernel : "boot/vmlinuz-*");
	if (r->initrd)
		ird = b->n_initrds > 0 ? &b->initrds[0] : NULL;
	else {
		const char *v = kernel_version(k->name);
		for (unsigned i = 0; i < b->n_initrds && !ird; i++) {
			const char *n = b->initrds[i].name + strlen("boot/");
			if ((startswith(n, "initrd.img-") && streq(n + 11, v)) ||
			    (startswith(n, "initrd-") && streq(n + 7, v)) ||
			    (startswith(n, "initramfs-") && startswith(n + 10, v) &&
			     streq(n + 10 + strlen(v), ".img")))
				ird = &b->initrds[i];
		}
	}
	if (!ird)
		return errmsg_errno(err, ENOENT,
				    "base tarball '%s' has no initrd for kernel '%s'; set Initrd= "
				    "in [Base]",
				    r->tarball, k->name);
	*ret_k = k;
	*ret_i = ird;
	return 0;
}

static char *join_words(char *const *l)
{
	size_t n = 1;
	for (char *const *p = l; p && *p; p++)
		n += strlen(*p) + 2;
	char *s = calloc(1, n);
	for (char *const *p = l; s && p && *p; p++) {
		if (p != l)
			strcat(s, ", ");
		strcat(s, *p);
	}
	return s;
}

static int check_initrd(const struct build *b, struct boot_file *ird, int builtin_fd)
{
	const struct recipe *r = b->recipe;
	_cleanup_free_ char *builtin = NULL, *msg = NULL;
	_cleanup_free_ struct initrd_missing *missing = NULL;
	size_t n = 0;
	int k;

	if (r->initrd_check == INITRD_CHECK_NO)
		return 0;
	if (builtin_fd >= 0) {
		lseek(builtin_fd, 0, SEEK_SET);
		(void)fs_read_fd(builtin_fd, BUILTIN_MAX, &builtin, NULL);
	}
	k = initrd_check_drivers(ird->fd, builtin, b->profile_set, r->profiles, &missing, &n, &msg);
	if (k == -EINVAL)
		return errmsg_errno(b->err, k, "recipe '%s': %s in Profiles=", r->path,
				    msg ? msg : "");
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot read initrd '%s' from the base: %s",
				    ird->name, msg ? msg : strerror(-k));
	_cleanup_free_ char *lacking = NULL;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *hv = join_words(missing[i].hypervisors), *line = NULL;
		if (asprintf(&line,
			     "initrd '%s' lacks boot storage driver '%s' (profile %s): the image "
			     "%s not boot on %s",
			     ird->name, missing[i].driver, missing[i].profile,
			     r->initrd_check == INITRD_CHECK_WARN ? "will" : "would",
			     hv && *hv ? hv : missing[i].profile) < 0)
			return errmsg_oom(b->err);
		if (r->initrd_check == INITRD_CHECK_WARN) {
			if (strv_extend(&b->res->warnings, line) < 0)
				return errmsg_oom(b->err);
		} else if (!lacking)
			lacking = TAKE_PTR(line);
	}
	if (lacking)
		return errmsg_errno(
			b->err, ENOENT,
			"%s; add the drivers to the base's initrd, drop the profiles from "
			"Profiles=, or set InitrdCheck=warn in [Base]",
			lacking);
	return 0;
}

struct initrd_job {
	const struct build *build;
	struct boot_file *initrd;
	int builtin_fd;
	pthread_t thread;
	bool started;
	int result;
};

static void *initrd_job_main(void *arg)
{
	struct initrd_job *j = arg;
	j->result = check_initrd(j->build, j->initrd, j->builtin_fd);
	return NULL;
}

static int initrd_job_start(struct initrd_job *j, const struct build *b, struct boot_file *ird,
			    int builtin_fd)
{
	*j = (struct initrd_job){ .build = b, .initrd = ird, .builtin_fd = builtin_fd };
	int k = pthread_create(&j->thread, NULL, initrd_job_main, j);
	if (k != 0) /* no thread: check it here */
		return check_initrd(b, ird, builtin_fd);
	j->started = true;
	return 0;
}

static int initrd_job_wait(struct initrd_job *j)
{
	if (!j->started)
		return 0;
	pthread_join(j->thread, NULL);
	j->started = false;
	return j->result;
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

/* ---- inputs --------------------------------------------------------------- */

static const char *base_name(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

static int hash_file(const char *path, uint8_t sha[SHA256_DIGEST_SIZE], uint64_t *ret_size)
{
	_cleanup_close_ int fd = fs_open_input(path);
	if (fd < 0)
		return fd;
	return sha256_fd(fd, UINT64_MAX, sha, ret_size);
}

/* The enlighten-firstboot installed beside this program. */
static char *find_agent(void)
{
	const char *dir = cli_program_dir();
	if (!dir)
		return NULL;
	static const char *const rel[] = { "/../sbin/enlighten-firstboot", "/enlighten-firstboot" };
	for (size_t i = 0; i < ELEMENTSOF(rel); i++) {
		char *p = strjoin(dir, rel[i]);
		if (p && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

static int add_input(struct build *b, const char *role, const char *path)
{
	uint8_t sha[SHA256_DIGEST_SIZE];
	uint64_t size;
	int r = hash_file(path, sha, &size);
	if (r < 0)
		return errmsg_set(b->err, r, "cannot read %s '%s': %s", role, path,
				  fs_input_strerror(r));
	r = manifest_add_input(b->manifest, role, base_name(path), sha, size);
	if (r >= 0)
		r = sha256_update(b->seed, sha, sizeof(sha));
	return r < 0 ? errmsg_oom(b->err) : 0;
}

/* The payload source: a signed catalog, verified with the recipe's key, and
 * every payload it lists checked for length and sha256. */
static int check_payloads(struct build *b)
{
	const struct recipe *r = b->recipe;
	_cleanup_free_ char *msg = NULL, *catalog = NULL, *sig = NULL;
	struct minisign_pubkey pk;
	int k;

	if (!r->payload_source)
		return 0;
	b->repo_fd = open(r->payload_source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->repo_fd < 0)
		return errmsg_errno(b->err, errno, "cannot open payload source '%s': %m",
				    r->payload_source);
	/* A demo key's secret sits unencrypted on the build host: an image
	 * that trusts it is not shippable, and is built only as a demo. */
	if (r->public_key_is_demo && !r->demo)
		return errmsg_set(
			b->err, -EPERM,
			"PublicKey '%s' is marked a demo key (PublicKeyIsDemo=yes): an "
			"image that trusts it would trust a secret left unencrypted on the "
			"build host; give the OEM's own key, or build a demo with 'Demo=yes' "
			"in [Image]",
			r->public_key);
	if (r->public_key_is_demo &&
	    build_warn(b,
		       "THIS IS A DEMO IMAGE (Demo=yes): it trusts the demo key '%s', whose "
		       "secret is unencrypted on the build host; never ship it",
		       r->public_key) < 0)
		return -ENOMEM;
	k = minisign_pubkey_load_at(AT_FDCWD, r->public_key, &pk, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "public key '%s': %s", r->public_key,
				    msg ? msg : strerror(-k));
	k = catalog_load_verified(b->repo_fd, &pk, &(struct catalog_load_opts){}, &b->catalog,
				  &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "payload source '%s': %s", r->payload_source,
				    msg ? msg : strerror(-k));
	for (size_t i = 0; i < b->catalog->n_payloads; i++) {
		k = catalog_verify_payload(b->repo_fd, &b->catalog->payloads[i], &msg);
		if (k < 0)
			return errmsg_errno(b->err, k, "payload source '%s': %s", r->payload_source,
					    msg ? msg : strerror(-k));
	}

	catalog = strjoin(r->payload_source, "/" CATALOG_FILE);
	sig = strjoin(r->payload_source, "/" CATALOG_SIG_FILE);
	if (!catalog || !sig)
		return errmsg_oom(b->err);
	k = add_input(b, "catalog", catalog);
	if (k >= 0)
		k = add_input(b, "catalog-signature", sig);
	if (k >= 0)
		k = add_input(b, "public-key", r->public_key);
	return k;
}

/* The payloads the image's repository holds: the dependency closure of
 * each staged profile on the base (stage.h). */
static int stage_payloads(struct build *b)
{
	const struct recipe *r = b->recipe;
	_cleanup_free_ char *msg = NULL;
	if (!b->catalog)
		return 0;
	int k = 0;
	STRV_FOREACH(key, r->package_keys)
	if (k >= 0)
		k = add_input(b, "package-key", *key);
	if (k < 0)
		return k;
	k = stage_plan(r->tarball, b->repo_fd, b->catalog, b->profile_set, r->profiles,
		       r->package_keys, &b->stage, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "payload source '%s': %s%s", r->payload_source,
				    msg ? msg : strerror(-k),
				    k == -ESRCH
					    ? "; add what is missing to the payload source and "
					      "index it again, or drop the profile from Profiles="
					    : "");
	if (b->stage.warning && strv_extend(&b->res->warnings, b->stage.warning) < 0)
		return errmsg_oom(b->err);
	return 0;
}

static int load_profiles(struct build *b)
{
	const struct recipe *r = b->recipe;
	_cleanup_free_ char *msg = NULL;
	b->profiles_dir = strjoin(b->datadir, "/payloads/profiles");
	if (!b->profiles_dir)
		return errmsg_oom(b->err);
	int k = profile_set_load(b->profiles_dir, &b->profile_set, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot load the profile matrix from '%s': %s",
				    b->profiles_dir, msg ? msg : strerror(-k));
	for (char **p = r->profiles; p && *p; p++)
		if (!profile_set_find(b->profile_set, *p))
			return errmsg_errno(b->err, EINVAL,
					    "recipe '%s': Profiles= names '%s', which is not in "
					    "the profile matrix '%s'",
					    r->path, *p, b->profiles_dir);
	return 0;
}

/* The slots in disk order: [BIOS boot,] ESP, [MSR, Windows,] root. The
 * dual disk follows Microsoft's order for GPT; the BIOS boot partition,
 * where it is, comes first, as KIWI and the Debian installer put it. */
static void layout(struct build *b)
{
	const struct recipe *r = b->recipe;
	uint64_t start = MIB;
	unsigned n = 0;

	if (r->firmware & FIRMWARE_BIOS) {
		b->bios = &b->slots[n++];
		*b->bios = (struct image_slot){
			.name = "bios",
			.type = GPT_TYPE_BIOS_BOOT,
			.label = "bios",
			.offset = start,
			.size = RECIPE_BIOS_BOOT_SIZE,
		};
		start += RECIPE_BIOS_BOOT_SIZE;
	}
	b->esp = &b->slots[n++];
	*b->esp = (struct image_slot){
		.name = "esp",
		.type = GPT_TYPE_ESP,
		.label = r->esp_label,
		.offset = start,
		.size = r->esp_size,
	};
	start += r->esp_size;
	if (r->win_wim) {
		b->msr = &b->slots[n++];
		*b->msr = (struct image_slot){
			.name = "msr",
			.type = GPT_TYPE_MSR,
			.label = "msr",
			.offset = start,
			.size = RECIPE_MSR_SIZE,
		};
		start += RECIPE_MSR_SIZE;
		b->windows_slot = &b->slots[n++];
		*b->windows_slot = (struct image_slot){
			.name = "windows",
			.type = GPT_TYPE_MS_BASIC_DATA,
			.label = "Windows",
			.offset = start,
			.size = r->win_size,
		};
		start += r->win_size;
	}
	b->root = &b->slots[n++];
	*b->root = (struct image_slot){
		.name = "root",
		.type = GPT_TYPE_ROOT_X86_64,
		.label = r->root_label,
		.offset = start,
		.size = r->size - MIB - start, /* the backup GPT's MiB at the end */
	};
	b->n_slots = n;
	/* filesystem UUIDs from the recipe: they are needed before the inputs are read */
	uuid_derive(r->hash, "esp-filesystem", b->esp->fs_uuid);
	uuid_derive(r->hash, "root-filesystem", b->root->fs_uuid);
}

/* The recipe's overlays over the base, in order (a later one wins), each an
 * input of the manifest and of the partition GUIDs. */
static int add_overlays(struct build *b, struct ext4 *e)
{
	const struct recipe *r = b->recipe;
	STRV_FOREACH(path, r->overlays)
	{
		_cleanup_free_ char *msg = NULL;
		uint8_t sha[SHA256_DIGEST_SIZE];
		uint64_t size;
		struct overlay_opts o = {
			.now = b->now,
			.max_bytes = b->root->size,
			.skip = r->generalize ? generalize_skip : NULL,
			.skip_userdata = &b->generalize,
		};
		int k = overlay_add(e, *path, &o, sha, &size, &msg);
		if (k < 0)
			return errmsg_errno(b->err, k, "%s", msg ? msg : strerror(-k));
		/* its last component, as "tree" for "oem/tree/" */
		_cleanup_free_ char *name = strdup(*path);
		for (size_t n = name ? strlen(name) : 0; n > 1 && name[n - 1] == '/'; n--)
			name[n - 1] = '\0';
		k = name ? manifest_add_input(b->manifest, "overlay", base_name(name), sha, size)
			 : -ENOMEM;
		if (k >= 0)
			k = sha256_update(b->seed, sha, sizeof(sha));
		if (k < 0)
			return errmsg_oom(b->err);
	}
	return 0;
}

/* The root filesystem, first part: formatted and filled from the base
 * tarball stream; then the partition GUIDs, as every input is read. The
 * filesystem stays open in b->ext4 for root_finish(). */
static int root_stream(struct build *b, struct boot_files *boot)
{
	const struct recipe *r = b->recipe;
	struct image_slot *root = b->root;
	_cleanup_free_ char *msg = NULL;
	_cleanup_close_ int tar_fd = -EBADF;
	struct ext4 *e = NULL;
	int k;

	k = ext4_format(b->raw_path, root->offset, root->size, root->fs_uuid, root->label, b->now,
			b->mke2fs_config, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot make the root filesystem: %s", msg);
	k = ext4_open(b->raw_path, root->offset, true, b->now, &e, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "%s", msg);

	tar_fd = fs_open_input(r->tarball);
	if (tar_fd < 0) {
		ext4_abort(e);
		return errmsg_set(b->err, tar_fd, "cannot open base tarball '%s': %s", r->tarball,
				  fs_input_strerror(tar_fd));
	}
	struct stat st;
	_cleanup_sha256_ struct sha256 *h = NULL;
	if (fstat(tar_fd, &st) < 0 || sha256_new(&h) < 0) {
		ext4_abort(e);
		return errmsg_errno(b->err, errno, "cannot read base tarball '%s': %m", r->tarball);
	}
	struct progress *p = progress_new("base", (uint64_t)st.st_size);
	struct ext4_tar_opts o = {
		.hash = h,
		.tee = boot_tee,
		.userdata = boot,
		.progress = p,
		.max_bytes = root->size,
		.skip = r->generalize ? generalize_skip : NULL,
		.skip_userdata = &b->generalize,
	};
	struct ext4_tar_stats stats;
	k = ext4_add_tarball(e, tar_fd, &o, &stats, &msg);
	progress_done(p);
	if (k < 0) {
		ext4_abort(e);
		return errmsg_errno(b->err, k, "base tarball '%s': %s", r->tarball,
				    msg ? msg : strerror(-k));
	}

	uint8_t sha[SHA256_DIGEST_SIZE];
	k = sha256_final(h, sha);
	if (k >= 0)
		k = manifest_add_input(b->manifest, "base", base_name(r->tarball), sha,
				       (uint64_t)st.st_size);
	if (k >= 0)
		k = sha256_update(b->seed, sha, sizeof(sha));
	if (k < 0) {
		ext4_abort(e);
		return errmsg_oom(b->err);
	}
	k = add_overlays(b, e);
	if (k < 0) {
		ext4_abort(e);
		return k;
	}

	/* the inputs are all read: now the partition GUIDs */
	uint8_t seed[SHA256_DIGEST_SIZE];
	k = sha256_final(b->seed, seed);
	if (k < 0) {
		ext4_abort(e);
		return errmsg_oom(b->err);
	}
	uuid_derive(seed, "disk", b->disk_uuid);
	uuid_derive(seed, "partition-esp", b->esp->uuid);
	uuid_derive(seed, "partition-root", b->root->uuid);
	if (b->windows_slot) {
		uuid_derive(seed, "partition-msr", b->msr->uuid);
		uuid_derive(seed, "partition-windows", b->windows_slot->uuid);
	}
	if (b->bios)
		uuid_derive(seed, "partition-bios", b->bios->uuid);
	b->ext4 = e;
	return 0;
}

/* glibc's directory for a locale, under usr/lib/locale/: the codeset in
 * lower case without '-' ("en_US.UTF-8" -> "en_US.utf8"). */
static char *locale_dir(const char *locale)
{
	char *s = strjoin("usr/lib/locale/", locale, "/LC_CTYPE");
	char *dot = s ? strchr(s + strlen("usr/lib/locale/"), '.') : NULL;
	if (!dot)
		return s;
	char *q = dot + 1, *p = dot + 1;
	for (; *p && *p != '@' && *p != '/'; p++)
		if (*p != '-')
			*q++ = (char)tolower((unsigned char)*p);
	memmove(q, p, strlen(p) + 1);
	return s;
}

/* Warns about a Timezone= or Locale= the base lacks: a dangling
 * /etc/localtime, a LANG that falls back to C. A locale-archive may hold
 * any locale, so a base with one is taken at its word. */
static int check_system_settings(struct build *b, struct ext4 *e)
{
	const struct recipe *r = b->recipe;
	uint64_t size;

	if (r->timezone) {
		_cleanup_free_ char *zone = strjoin("usr/share/zoneinfo/", r->timezone);
		if (!zone)
			return errmsg_oom(b->err);
		if (ext4_file_size(e, zone, &size) == -ENOENT &&
		    build_warn(b,
			       "Timezone=%s: the base has no '/%s', so /etc/localtime will point "
			       "nowhere; add the time zone data (tzdata) to the base",
			       r->timezone, zone) < 0)
			return -ENOMEM;
	}
	if (r->locale && !streq(r->locale, "C") && !streq(r->locale, "POSIX") &&
	    !startswith(r->locale, "C.")) {
		_cleanup_free_ char *dir = locale_dir(r->locale);
		if (!dir)
			return errmsg_oom(b->err);
		if (ext4_file_size(e, "usr/lib/locale/locale-archive", &size) == -ENOENT &&
		    ext4_file_size(e, dir, &size) == -ENOENT &&
		    build_warn(b,
			       "Locale=%s: the base has no such locale (no '/usr/lib/locale/"
			       "locale-archive', no '/%s'), so programs will fall back to C",
			       r->locale, dir) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The kernel command line: the recipe's, after root= and rw unless it has
 * its own root=. */
static int boot_cmdline(struct build *b, char **ret)
{
	const char *extra = b->recipe->cmdline ? b->recipe->cmdline : "";
	char *cmdline = NULL;
	if (strstr(extra, "root=") == extra || strstr(extra, " root="))
		cmdline = strdup(extra);
	else if (asprintf(&cmdline, "root=PARTUUID=%s rw%s%s", b->root->uuid, *extra ? " " : "",
			  extra) < 0)
		cmdline = NULL;
	if (!cmdline)
		return errmsg_oom(b->err);
	*ret = cmdline;
	return 0;
}

/* Loader=grub: grub.cfg on the root, booting the distribution's kernel links. */
static int grub_config_write(struct build *b, struct ext4 *e, struct boot_file *kernel,
			     struct boot_file *initrd)
{
	const struct recipe *r = b->recipe;
	_cleanup_free_ char *cmdline = NULL, *msg = NULL;
	int k = boot_cmdline(b, &cmdline);
	if (k < 0)
		return k;
	struct grub_config gc = {
		.title = r->name,
		.root_fs_uuid = b->root->fs_uuid,
		.cmdline = cmdline,
		.kernel = kernel->name,
		.initrd = initrd->name,
		.kernel_pinned = r->kernel,
		.windows_title = b->windows_esp ? "Windows Boot Manager" : NULL,
		.xen_default = r->xen_default,
	};
	_cleanup_free_ char *xen_efi = NULL;
	if (r->xen_hypervisor) {
		if (asprintf(&xen_efi, "/%s/%s/xen.efi", r->name, kernel_version(kernel->name)) < 0)
			return errmsg_oom(b->err);
		gc.xen_efi = xen_efi;
	}
	k = grub_install_config(e, &gc, &b->grub, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "%s", msg ? msg : strerror(-k));
	if (b->grub.kernel_link)
		build_note(b,
			   "GRUB: /%s/grub.cfg boots /%s, which the base's kernel packages move "
			   "to each kernel they install",
			   b->grub.prefix, b->grub.kernel_link);
	else
		return build_warn(b,
				  "GRUB: /%s/grub.cfg boots '/%s'%s; a kernel update will not "
				  "change what boots",
				  b->grub.prefix, kernel->name,
				  r->kernel ? " as Kernel= says"
					    : ": the base keeps no link to its newest kernel");
	return 0;
}

/* The root filesystem, second part: what enlighten injects, then closed. */
static int root_finish(struct build *b, struct boot_file *kernel, struct boot_file *initrd)
{
	const struct recipe *r = b->recipe;
	struct ext4 *e = TAKE_PTR(b->ext4);
	_cleanup_free_ char *msg = NULL;
	_cleanup_json_ json_object *generalized = NULL;
	int k;

	if (r->generalize) {
		k = generalize_finish(e, &b->generalize, &msg);
		if (k >= 0 && !(generalized = generalize_to_json(&b->generalize)))
			k = -ENOMEM;
		if (k < 0) {
			ext4_abort(e);
			return errmsg_errno(b->err, k, "%s", msg ? msg : strerror(-k));
		}
	}
	struct inject_opts io = {
		.repo_fd = b->repo_fd,
		.catalog = b->catalog,
		.public_key = r->public_key,
		.profiles_dir = b->profiles_dir,
		.profiles = r->profiles,
		.staged = b->stage.staged,
		.closure = b->stage.closure,
		.package_keys = r->package_keys,
		.agent_binary = b->agent,
		.agent_unit_template = b->unit_template,
		.root_partuuid = b->root->uuid,
		.esp_partuuid = b->esp->uuid,
		.hostname = r->hostname,
		.no_grow_root = !r->grow_root,
		.locale = r->locale,
		.timezone = r->timezone,
		.image_name = r->name,
		.source_date_epoch = b->now,
		.windows = b->windows,
		.generalized = generalized,
	};
	k = check_system_settings(b, e);
	if (k >= 0 && b->stage.closure) {
		/* the closure file's digest in the manifest: inject_repo() writes
		 * this same serialization */
		const char *text = json_to_string(b->stage.closure, true);
		uint8_t sha[SHA256_DIGEST_SIZE];
		k = text ? sha256_buffer(text, strlen(text), sha) : -ENOMEM;
		if (k >= 0)
			k = manifest_add_content(b->manifest,
						 "/" IMAGE_REPO_DIR "/" IMAGE_CLOSURE_FILE, sha,
						 strlen(text));
		if (k < 0) {
			ext4_abort(e);
			return errmsg_oom(b->err);
		}
	}
	if (k >= 0)
		k = inject_all(e, &io, &msg);
	if (k >= 0 && r->loader == LOADER_GRUB) {
		k = grub_config_write(b, e, kernel, initrd);
		if (k < 0) {
			ext4_abort(e);
			return k;
		}
	}
	if (k < 0) {
		ext4_abort(e);
		return errmsg_errno(b->err, k, "%s", msg ? msg : strerror(-k));
	}
	k = ext4_close(e);
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot write the root filesystem to '%s': %m",
				    b->raw_path);
	return 0;
}

/* A driver package folder of the payload source may only hold files the
 * signed catalog lists (and so were verified): the whole folder is staged. */
static const struct catalog *unlisted_catalog;
static size_t unlisted_prefix;
static char unlisted_path[PATH_MAX];
static int unlisted_one(const char *p, const struct stat *st _unused_, int flag,
			struct FTW *ftw _unused_)
{
	if (flag != FTW_F)
		return flag == FTW_D || flag == FTW_DP ? 0 : 1; /* symlinks and the like too */
	const char *rel = p + unlisted_prefix;
	for (size_t i = 0; i < unlisted_catalog->n_payloads; i++)
		if (streq(unlisted_catalog->payloads[i].path, rel))
			return 0;
	snprintf(unlisted_path, sizeof(unlisted_path), "%s", rel);
	return 1;
}

static int check_package_listed(const struct build *b, const char *dir)
{
	_cleanup_free_ char *full = strjoin(b->recipe->payload_source, "/", dir);
	if (!full)
		return errmsg_oom(b->err);
	unlisted_catalog = b->catalog;
	unlisted_prefix = strlen(b->recipe->payload_source) + 1;
	unlisted_path[0] = 0;
	int k = nftw(full, unlisted_one, 16, FTW_PHYS);
	if (k < 0)
		return errmsg_errno(b->err, errno, "cannot read '%s': %m", full);
	if (k > 0)
		return errmsg_errno(
			b->err, EPERM,
			"payload source '%s': '%s' is in a Windows driver package but "
			"not in the signed catalog; it would reach the image unverified",
			b->recipe->payload_source, unlisted_path[0] ? unlisted_path : dir);
	return 0;
}

/* The Windows half of a dual disk (builder/windows/image.c): the OEM's image
 * with the drivers, answer file and boot-critical registry applied to an
 * NTFS volume made beside the image, copied into its slot (libntfs-3g takes
 * no offset), and the Windows Boot Manager's files kept for the ESP. */
static int write_windows(struct build *b)
{
	const struct recipe *r = b->recipe;
	size_t n_drv = strv_length(r->win_drivers), n_boot = strv_length(r->win_boot_critical);
	_cleanup_free_ struct win_driver_source *drivers = calloc(n_drv + 1, sizeof(*drivers));
	_cleanup_free_ struct win_boot_spec *boot = calloc(n_boot + 1, sizeof(*boot));
	_cleanup_strv_free_ char **copies = NULL;
	_cleanup_free_ char *ntfs = NULL, *ntfs_name = NULL, *msg = NULL;
	struct win_image_result res;
	int k;

	if (!drivers || !boot)
		return errmsg_oom(b->err);
	for (size_t i = 0; i < n_drv; i++) {
		/* "PROFILE=PATH", as the recipe parser checked it */
		if (strv_extend(&copies, r->win_drivers[i]) < 0)
			return errmsg_oom(b->err);
		char *eq = strchr(copies[i], '=');
		*eq = 0;
		drivers[i] = (struct win_driver_source){ copies[i], eq + 1 };
	}
	if (!r->win_drivers && b->catalog) {
		/* no Drivers=: every Windows driver package of the verified payload
		 * catalog (the folder of each INF payload), for each of its profiles
		 * that the recipe stages */
		_cleanup_strv_free_ char **pairs = NULL;
		for (size_t i = 0; i < b->catalog->n_payloads; i++) {
			const struct catalog_payload *p = &b->catalog->payloads[i];
			if (!p->inf || !streq_ptr(p->os, "windows") || !endswith(p->path, ".inf"))
				continue;
			_cleanup_free_ char *dir =
				strndup(p->path, strrchr(p->path, '/')
							 ? (size_t)(strrchr(p->path, '/') - p->path)
							 : 0);
			if (!dir)
				return errmsg_oom(b->err);
			if (!*dir)
				return errmsg_errno(
					b->err, EINVAL,
					"catalog payload '%s': a Windows driver package "
					"must be in a folder of its own",
					p->path);
			int k2 = check_package_listed(b, dir);
			if (k2 < 0)
				return k2;
			for (char **pr = p->profiles; pr && *pr; pr++) {
				if (r->profiles && !strv_contains(r->profiles, *pr))
					continue;
				_cleanup_free_ char *pair =
					strjoin(*pr, "=", r->payload_source, "/", dir);
				if (!pair)
					return errmsg_oom(b->err);
				if (!strv_contains(pairs, pair) && strv_extend(&pairs, pair) < 0)
					return errmsg_oom(b->err);
			}
		}
		n_drv = strv_length(pairs);
		free(drivers);
		drivers = calloc(n_drv + 1, sizeof(*drivers));
		if (!drivers)
			return errmsg_oom(b->err);
		for (size_t i = 0; i < n_drv; i++) {
			char *eq = strchr(pairs[i], '=');
			*eq = 0;
			drivers[i] = (struct win_driver_source){ pairs[i], eq + 1 };
		}
		strv_free(copies);
		copies = TAKE_PTR(pairs); /* owns the strings drivers[] points into */
	}
	for (size_t i = 0; i < n_boot; i++)
		boot[i] = (struct win_boot_spec){ .service = r->win_boot_critical[i] };

	ntfs_name = strjoin(".#", r->name, ".ntfs");
	b->windows_esp = strjoin(b->output_dir, "/.#", r->name, ".esp");
	if (!ntfs_name || !b->windows_esp || !(ntfs = strjoin(b->output_dir, "/", ntfs_name)))
		return errmsg_oom(b->err);
	temps_add(b->dir_fd, ntfs_name);
	/* the installers Installers= names: every .msi or .exe of the catalog
	 * for a profile the recipe stages, into the agent's installers\ */
	_cleanup_strv_free_ char **installers = NULL;
	for (size_t i = 0; b->catalog && i < b->catalog->n_payloads; i++) {
		const struct catalog_payload *p = &b->catalog->payloads[i];
		const char *ext = strrchr(p->path, '.');
		if (p->inf || !streq_ptr(p->os, "windows") || !ext ||
		    (strcasecmp(ext, ".msi") != 0 && strcasecmp(ext, ".exe") != 0))
			continue;
		bool staged = false;
		for (char **pr = p->profiles; pr && *pr && !staged; pr++)
			staged = !r->profiles || strv_contains(r->profiles, *pr);
		_cleanup_free_ char *path = strjoin(r->payload_source, "/", p->path);
		if (!path)
			return errmsg_oom(b->err);
		if (staged && !strv_contains(installers, path) &&
		    strv_extend(&installers, path) < 0)
			return errmsg_oom(b->err);
	}
	_cleanup_free_ char *agent_exe = NULL, *why = NULL;
	k = win_agent_find(r->win_agent, &agent_exe, &why);
	if (k < 0)
		return errmsg_errno(b->err, k, "recipe '%s': %s", r->path, why ?: strerror(-k));
	k = add_input(b, "windows-agent", agent_exe);
	if (k < 0)
		return k;
	struct win_image_opts o = {
		.agent_exe = agent_exe,
		.profiles_dir = b->profiles_dir,
		.installers = (const char *const *)installers,
		.n_installers = strv_length(installers),
		.wim = r->win_wim,
		.image = r->win_image,
		.drivers = drivers,
		.n_drivers = n_drv,
		.boot = boot,
		.n_boot = n_boot,
		.unattend_template = r->win_unattend,
		.out_ntfs = ntfs,
		.ntfs_size = b->windows_slot->size,
		.ntfs_start_sector = b->windows_slot->offset / SECTOR_SIZE,
		.out_esp = b->windows_esp,
		.mtime = b->now,
	};
	k = win_image_build(&o, &res, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "recipe '%s': %s", r->path,
				    msg ? msg : strerror(-k));

	_cleanup_close_ int fd = open(ntfs, O_RDONLY | O_CLOEXEC);
	k = fd < 0 ? -errno : ntfs_copy_sparse(fd, b->raw->fd, b->windows_slot->offset);
	(void)unlink(ntfs);
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot copy the Windows volume into '%s': %m",
				    b->raw_path);
	build_note(b, "Windows: %zu driver package(s), %zu boot-critical service(s) through the %s",
		   res.n_packages, res.n_boot, win_hive_method_to_string(res.hive_method));

	json_object *j = json_object_new_object(), *pk = json_object_new_array(),
		    *bc = json_object_new_array();
	if (!j || !pk || !bc) {
		json_object_put(j);
		json_object_put(pk);
		json_object_put(bc);
		win_image_result_done(&res);
		return errmsg_oom(b->err);
	}
	json_object_object_add(j, "image",
			       res.image_name ? json_object_new_string(res.image_name) : NULL);
	for (char **p = res.packages; p && *p; p++)
		json_object_array_add(pk, json_object_new_string(*p));
	for (char **p = r->win_boot_critical; p && *p; p++)
		json_object_array_add(bc, json_object_new_string(*p));
	json_object_object_add(j, "drivers", pk);
	json_object_object_add(j, "boot_critical", bc);
	json_object_object_add(j, "boot_registration",
			       json_object_new_string(win_hive_method_to_string(res.hive_method)));
	b->windows = j;
	win_image_result_done(&res);
	return 0;
}

/* The Xen entry's parts: the dom0 kernel checked for Xen support from
 * its boot/config-V, xen.efi out of the signed hypervisor package, and
 * xen.cfg. */
static int xen_entry(struct build *b, const struct boot_files *boot, const struct boot_file *kernel,
		     const char *cmdline, struct xen_efi *ret_efi, char **ret_cfg)
{
	const struct recipe *r = b->recipe;
	const char *v = kernel_version(kernel->name);
	_cleanup_free_ char *config = NULL, *want = strjoin("boot/config-", v), *msg = NULL;
	if (!want)
		return errmsg_oom(b->err);
	for (unsigned i = 0; i < boot->n_configs; i++) {
		if (!streq(boot->configs[i].name, want))
			continue;
		int k = lseek(boot->configs[i].fd, 0, SEEK_SET) < 0 ? -errno : 0;
		if (k >= 0)
			k = fs_read_fd(boot->configs[i].fd, XEN_KERNEL_CONFIG_MAX, &config, NULL);
		if (k < 0)
			return errmsg_errno(b->err, k, "cannot read '%s' of the base: %m", want);
	}
	if (!config)
		return errmsg_errno(b->err, ENOENT,
				    "[Xen]: the base tarball '%s' has no '%s', so the dom0 kernel "
				    "'%s' cannot be checked for Xen support; ship the kernel's "
				    "config with it, or remove [Xen]",
				    r->tarball, want, kernel->name);
	if (!xen_kernel_config_has_dom0(config))
		return errmsg_errno(
			b->err, ENOTSUP,
			"[Xen]: the kernel '%s' of base tarball '%s' cannot run as the "
			"Xen control domain ('%s' lacks CONFIG_XEN_DOM0=y); use a kernel "
			"built with Xen dom0 support (Debian's linux-image-amd64, SUSE's "
			"kernel-default) or remove [Xen]",
			kernel->name, r->tarball, want);

	int k = xen_efi_from_payload(b->repo_fd, b->catalog, r->xen_hypervisor, ret_efi, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "[Xen] Hypervisor=: %s", msg ? msg : strerror(-k));
	struct xen_cfg_opts o = {
		.section = r->name,
		.dom0_memory = r->xen_dom0_memory,
		.dom0_cpus = r->xen_dom0_cpus,
		.options = r->xen_options,
		.cmdline = cmdline,
		.xen_cmdline = r->xen_cmdline,
	};
	*ret_cfg = xen_cfg_text(&o);
	if (!*ret_cfg) {
		xen_efi_done(ret_efi);
		return errmsg_oom(b->err);
	}
	if (r->loader == LOADER_GRUB)
		build_note(
			b,
			"Xen entry '%s (Xen)' in grub.cfg, under UEFI%s: %s from package '%s' %s",
			r->name, r->xen_default ? " the default" : "", ret_efi->member,
			r->xen_hypervisor,
			ret_efi->payload->version ? ret_efi->payload->version : "");
	else
		build_note(b, "Xen entry '%s-xen.conf'%s: %s from package '%s' %s", r->name,
			   r->xen_default ? " (the default)" : "", ret_efi->member,
			   r->xen_hypervisor,
			   ret_efi->payload->version ? ret_efi->payload->version : "");
	return 0;
}

#define SB_LOADER_MAX (16 * 1024 * 1024)
#define SB_KERNEL_MAX (256 * 1024 * 1024)

/* A file the recipe or the host names (absolute paths too), up to max bytes. */
static int read_host_file(const char *path, size_t max, char **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fs_read_fd(fd, max, ret, ret_size);
}

/* SecureBoot=yes: shim, the signed GRUB and the kernel must each be signed;
 * the CAs they need go to the notes, a chain that depends only on expired
 * CAs to the warnings. Fills *ret_mok with MokManager beside shim, if any. */
static int secure_boot_prepare(struct build *b, struct boot_file *kernel, char **ret_mok)
{
	const struct recipe *r = b->recipe;
	_cleanup_free_ char *shim = NULL, *grub = NULL, *vmlinuz = NULL, *kname = NULL, *mok = NULL,
			    *msg = NULL;
	size_t n_shim = 0, n_grub = 0, n_kernel = 0;
	int k;

	k = read_host_file(r->shim, SB_LOADER_MAX, &shim, &n_shim);
	if (k < 0)
		return errmsg_errno(b->err, k,
				    "cannot read shim '%s' (install shim-signed or set Shim= in "
				    "[Boot]): %m",
				    r->shim);
	k = read_host_file(r->signed_grub, SB_LOADER_MAX, &grub, &n_grub);
	if (k < 0)
		return errmsg_errno(b->err, k,
				    "cannot read the signed GRUB '%s' (install "
				    "grub-efi-amd64-signed or set SignedGrub= in [Boot]): %m",
				    r->signed_grub);
	if (lseek(kernel->fd, 0, SEEK_SET) < 0 ||
	    (k = fs_read_fd(kernel->fd, SB_KERNEL_MAX, &vmlinuz, &n_kernel)) < 0)
		return errmsg_errno(b->err, k < 0 ? k : -errno, "cannot read back the kernel: %m");
	kname = strjoin("/", kernel->name, "' of base tarball '", r->tarball);
	if (!kname)
		return errmsg_oom(b->err);
	const struct sb_file files[] = {
		{ "shim", r->shim, shim, n_shim,
		  "set Shim= in [Boot] to a shim signed by Microsoft's UEFI CA, such as Debian's "
		  "/usr/lib/shim/shimx64.efi.signed (shim-signed)" },
		{ "GRUB", r->signed_grub, grub, n_grub,
		  "set SignedGrub= in [Boot] to a GRUB signed by the distribution, such as "
		  "Debian's /usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed "
		  "(grub-efi-amd64-signed)" },
		/* the name reads: kernel '/boot/vmlinuz-V' of base tarball 'T' */
		{ "kernel", kname, vmlinuz, n_kernel,
		  "use a base with the distribution's signed kernel (Debian: linux-image-amd64)" },
	};
	k = sb_check(files, ELEMENTSOF(files), time(NULL), &b->res->notes, &b->res->warnings,
		     b->err);
	if (k < 0)
		return k;
	k = add_input(b, "shim", r->shim);
	if (k >= 0)
		k = add_input(b, "signed-grub", r->signed_grub);
	if (k < 0)
		return k;

	const char *slash = strrchr(r->shim, '/');
	mok = slash ? strndup(r->shim, (size_t)(slash - r->shim + 1)) : strdup("");
	if (!mok)
		return errmsg_oom(b->err);
	*ret_mok = strjoin(mok, "mmx64.efi.signed");
	if (!*ret_mok)
		return errmsg_oom(b->err);
	if (access(*ret_mok, R_OK) < 0) {
		free(*ret_mok);
		*ret_mok = NULL;
	}
	return 0;
}

static int write_esp(struct build *b, const struct boot_files *boot, struct boot_file *kernel,
		     struct boot_file *initrd)
{
	const struct recipe *r = b->recipe;
	_cleanup_free_ char *cmdline = NULL, *title = NULL, *msg = NULL;
	_cleanup_close_ int grub_fd = -EBADF;

	int k = boot_cmdline(b, &cmdline);
	if (k < 0)
		return k;
	if (asprintf(&title, "%s", r->name) < 0)
		return errmsg_oom(b->err);

	_cleanup_free_ char *mok = NULL, *stub = NULL;
	if (r->secure_boot) {
		k = secure_boot_prepare(b, kernel, &mok);
		if (k < 0)
			return k;
		stub = grub_signed_stub(b->grub.prefix, b->root->fs_uuid);
		if (!stub)
			return errmsg_oom(b->err);
	} else if (r->loader == LOADER_GRUB) {
		grub_fd = memfd_create("enlighten-grub-efi", 0); /* inherited by mcopy */
		if (grub_fd < 0)
			return errmsg_errno(b->err, errno, "cannot make GRUB's EFI image: %m");
		k = grub_mkimage("x86_64-efi", GRUB_EFI_DIR, b->grub.prefix, b->root->fs_uuid,
				 grub_fd, &msg);
		if (k < 0)
			return errmsg_errno(b->err, k, "%s", msg);
	}

	struct esp_content c = {
		.grub_fd = grub_fd,
		.shim = r->secure_boot ? r->shim : NULL,
		.signed_grub = r->signed_grub,
		.mok_manager = mok,
		.grub_stub = stub,
		.kernel_fd = kernel->fd,
		.initrd_fd = initrd->fd,
		.kernel_version = kernel_version(kernel->name),
		.title = title,
		.cmdline = cmdline,
		.entry_name = r->name,
		.systemd_boot = r->systemd_boot,
		.now = b->now,
	};
	if (r->loader == LOADER_SYSTEMD_BOOT) {
		int lfd = fs_open_input(r->systemd_boot);
		if (lfd < 0)
			return errmsg_set(
				b->err, lfd,
				"cannot read the boot loader '%s' (install systemd-boot-efi "
				"or set Loader= in [Boot]): %s",
				r->systemd_boot, fs_input_strerror(lfd));
		safe_close(lfd);
	}
	c.windows_boot_dir = b->windows_esp;
	_cleanup_free_ char *xen_cfg = NULL;
	struct xen_efi xen = { .fd = -EBADF };
	k = r->xen_hypervisor ? xen_entry(b, boot, kernel, cmdline, &xen, &xen_cfg) : 0;
	if (k < 0)
		return k;
	c.xen_cfg = xen_cfg;
	c.xen_efi_fd = xen.fd;
	c.xen_default = r->xen_default;
	k = fat_write(b->raw_path, b->esp, &c, &msg);
	xen_efi_done(&xen);
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot write the ESP: %s",
				    msg ? msg : strerror(-k));
	return 0;
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
static int raw_add(struct build *b, const char *raw_name)
{
	_cleanup_bmap_ struct bmap *map = NULL;
	_cleanup_free_ char *text = NULL, *name = NULL;
	uint8_t sha[SHA256_DIGEST_SIZE];
	size_t len = 0;
	int k;

	_cleanup_close_ int fd = openat(b->dir_fd, b->raw->tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errmsg_errno(b->err, errno, "cannot read back '%s': %m", b->raw->tmp);
	k = bmap_from_fd(fd, b->recipe->size, &map);
	if (k < 0)
		return errmsg_errno(b->err, k, "cannot map the blocks of '%s': %m", b->raw->tmp);
	k = bmap_format(map, &text, &len);
	if (k >= 0)
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

static int build_run(struct build *b)
{
	const struct recipe *r = b->recipe;
	struct atomic_file *outputs[8] = {};
	_cleanup_free_ char *raw_name = NULL, *manifest_name = NULL;
	struct boot_files boot = { .builtin_fd = -EBADF, .recipe = r };
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

	raw_name = strjoin(r->name, ".raw");
	manifest_name = strjoin(r->name, ".manifest.json");
	if (!raw_name || !manifest_name)
		return errmsg_oom(b->err);
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

	layout(b);
	/* Windows first: the Linux root's build.json says what it carries */
	k = b->windows_slot ? write_windows(b) : 0;
	if (k >= 0)
		k = root_stream(b, &boot);
	if (k >= 0) {
		/* the initrd check reads the initrd on a thread of its own meanwhile */
		struct boot_file *kernel = NULL, *initrd = NULL;
		struct initrd_job ij = {};
		k = boot_files_pick(&boot, r, &kernel, &initrd, b->err);
		if (k >= 0)
			k = initrd_job_start(&ij, b, initrd, boot.builtin_fd);
		if (k >= 0)
			k = root_finish(b, kernel, initrd);
		if (k >= 0)
			k = write_esp(b, &boot, kernel, initrd);
		int q = initrd_job_wait(&ij);
		if (k >= 0)
			k = q;
		if (b->ext4)
			ext4_abort(TAKE_PTR(b->ext4));
	}
	boot_files_done(&boot);
	if (k < 0)
		return k;

	_cleanup_free_ char *msg = NULL;
	k = gpt_write(b->raw_path, r->size, b->disk_uuid, b->slots, b->n_slots, &msg);
	if (k < 0)
		return errmsg_errno(b->err, k, "%s", msg);
	if (b->bios) {
		k = grub_install_bios(b->raw_path, b->bios->offset, b->bios->size, b->grub.prefix,
				      b->root->fs_uuid, &msg);
		if (k < 0)
			return errmsg_errno(b->err, k, "%s", msg ? msg : strerror(-k));
	}
	manifest_set_disk(b->manifest, b->disk_uuid, r->size);
	if (b->bios)
		manifest_add_partition(b->manifest, b->bios, "none");
	manifest_add_partition(b->manifest, b->esp, "vfat");
	if (b->windows_slot) {
		manifest_add_partition(b->manifest, b->msr, "none");
		manifest_add_partition(b->manifest, b->windows_slot, "ntfs");
	}
	manifest_add_partition(b->manifest, b->root, "ext4");

	/* every format from the raw image, each under its temporary name */
	unsigned n_out = 0;
	for (char *const *f = b->formats; f && *f; f++) {
		const struct output_format *of = output_format_find(*f);
		if (!of)
			return errmsg_errno(b->err, EINVAL, "unknown format '%s'", *f);
		if (!of->qemu_format) {
			k = raw_add(b, raw_name);
			if (k < 0)
				return k;
			continue;
		}
		_cleanup_free_ char *name = strjoin(r->name, ".", of->ext), *path = NULL;
		if (!name)
			return errmsg_oom(b->err);
		struct atomic_file *af;
		k = atomic_file_open(b->dir_fd, name, 0644, &af);
		if (k < 0)
			return errmsg_errno(b->err, k, "cannot create '%s' in '%s': %m", name,
					    b->output_dir);
		outputs[n_out++] = af;
		temps_add(b->dir_fd, af->tmp);
		path = strjoin(b->output_dir, "/", af->tmp);
		if (!path)
			k = errmsg_oom(b->err);
		struct progress *p = path ? progress_new(of->name, 0) : NULL;
		if (k >= 0) {
			uint8_t uuid[16];
			(void)hex_decode_uuid(b->disk_uuid, uuid);
			struct convert_opts co = { .now = b->now, .uuid = uuid };
			k = convert_image(b->raw_path, path, of, &co, &msg);
			if (k < 0)
				errmsg_errno(b->err, k, "%s", msg ? msg : strerror(-k));
		}
		progress_done(p);
		if (k >= 0)
			k = output_add(b, af, name, of->name);
		if (k < 0)
			goto fail;
	}

	/* all complete: rename into place, the manifest last */
	for (unsigned i = 0; i < n_out; i++) {
		k = atomic_file_commit(outputs[i]);
		if (k < 0) {
			errmsg_errno(b->err, k, "cannot finish '%s': %m", outputs[i]->name);
			goto fail;
		}
	}
	if (strv_contains(b->formats, "raw")) {
		k = atomic_file_commit(b->raw);
		if (k >= 0)
			k = atomic_file_commit(b->bmap);
		if (k < 0) {
			errmsg_errno(b->err, k, "cannot finish '%s': %m", raw_name);
			goto fail;
		}
	}
	k = manifest_write(b->manifest, b->dir_fd, manifest_name);
	if (k < 0) {
		errmsg_errno(b->err, k, "cannot write '%s': %m", manifest_name);
		goto fail;
	}
	for (unsigned i = 0; k >= 0 && i < n_out; i++)
		k = artefact_add(b, outputs[i]->name);
	if (k >= 0 && strv_contains(b->formats, "raw"))
		k = artefact_add(b, raw_name);
	if (k >= 0 && b->bmap)
		k = artefact_add(b, b->bmap->name);
	if (k >= 0)
		k = artefact_add(b, manifest_name);
fail:
	if (k < 0) /* a manifest means a finished build: never leave one behind a failure */
		for (char *const *f = b->formats; f && *f; f++) {
			const struct output_format *of = output_format_find(*f);
			_cleanup_free_ char *name = of ? strjoin(r->name, ".", of->ext) : NULL;
			for (unsigned i = 0; name && i < n_out; i++)
				if (outputs[i]->committed && streq(outputs[i]->name, name))
					(void)unlinkat(b->dir_fd, name, 0);
		}
	for (unsigned i = 0; i < n_out; i++)
		atomic_file_free(outputs[i]);
	return k;
}

/* What the build needs beside the recipe: the agent, its unit template and
 * enlighten's mke2fs.conf, all from the data directory or beside us. */
static int build_locate(struct build *b)
{
	const struct recipe *r = b->recipe;

	b->agent = r->agent_binary ? strdup(r->agent_binary) : find_agent();
	if (!b->agent)
		return errmsg_errno(
			b->err, ENOENT,
			"cannot find enlighten-firstboot beside enlighten; set Binary= in "
			"[Agent]");
	/* installed: DATADIR/image/; a source tree as data directory: firstboot/ */
	b->unit_template = strjoin(b->datadir, "/image/enlighten-firstboot.service.in");
	if (b->unit_template && access(b->unit_template, R_OK) < 0) {
		free(b->unit_template);
		b->unit_template = strjoin(b->datadir, "/firstboot/enlighten-firstboot.service.in");
	}
	b->mke2fs_config = strjoin(b->datadir, "/templates/filesystems/mke2fs.conf");
	if (!b->unit_template || !b->mke2fs_config)
		return errmsg_oom(b->err);
	if (access(b->mke2fs_config, R_OK) < 0)
		return errmsg_errno(b->err, errno,
				    "cannot read '%s' (is enlighten installed completely?): %m",
				    b->mke2fs_config);
	return 0;
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
	};
	int k;

	*ret = (struct build_result){};
	k = build_locate(&b);
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
	safe_close(b.dir_fd);
	if (k < 0) {
		strv_free(ret->artefacts);
		ret->artefacts = NULL;
	}
	return k;
}
