/* SPDX-License-Identifier: MIT */
/*
 * build-private.h - what the files of the build pipeline share (build.c,
 * build-inputs.c, boot-files.c, partitions.c and each part-NAME.c): the
 * state of one build and the helpers each of them calls. Not for use
 * outside builder/image/.
 */
#pragma once

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder/image/build.h"
#include "builder/image/fs-ext4.h"
#include "builder/image/generalize.h"
#include "builder/image/image.h"
#include "builder/image/loader-grub.h"
#include "builder/image/manifest.h"
#include "builder/image/partition.h"
#include "builder/image/recipe.h"
#include "builder/image/stage.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/hash.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define BOOT_CANDIDATES_MAX 8
#define BOOT_MODULES_MAX (5 * BOOT_CANDIDATES_MAX)
#define BUILTIN_MAX (4 * 1024 * 1024)
#define SLOTS_MAX 5

/* ---- boot files taken from the tarball stream (boot-files.c) ------------ */

struct boot_file {
	char *name;
	int fd;
};

struct boot_files {
	struct boot_file kernels[BOOT_CANDIDATES_MAX], initrds[BOOT_CANDIDATES_MAX];
	struct boot_file configs[BOOT_CANDIDATES_MAX]; /* boot/config-V, for [Xen] */
	/* the FAT modules (fat, vfat, nls_*) of every kernel, for the installer */
	struct boot_file modules[BOOT_MODULES_MAX];
	unsigned n_kernels, n_initrds, n_configs, n_modules;
	bool want_fat_modules; /* Formats=installer */
	int builtin_fd;
	const struct recipe *recipe;
};

struct build;

/* The initrd check, on a thread of its own while the root is finished;
 * its warnings and message kept apart until initrd_job_wait(), so the two
 * threads never write the same list. */
struct initrd_job {
	const struct build *build;
	struct boot_file *initrd;
	int builtin_fd;
	pthread_t thread;
	bool started;
	int result;
	char **warnings;
	char *msg;
};

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
	struct image_slot slots[SLOTS_MAX]; /* in disk order (partitions.c) */
	const struct partition_kind *kinds[SLOTS_MAX];
	unsigned n_slots;
	struct image_slot *bios, *esp, *msr, *root, *windows_slot; /* NULL: none */
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
	struct generalize generalize;	   /* what the base lost of one machine's identity */
	struct grub_choice grub;	   /* Loader=grub: where grub.cfg went, what it boots */
	struct boot_files boot;		   /* from the base, as the root streams in */
	struct boot_file *kernel, *initrd; /* picked from boot, once the root is in */
	struct initrd_job initrd_job;
};

/* An informational line for the caller; lost only when memory is short. */
#define build_note(b, ...) (void)strv_extendf(&(b)->res->notes, __VA_ARGS__)
/* A warning for the caller; returns 0 or -ENOMEM (with the message). */
#define build_warn(b, ...)                                                                         \
	(strv_extendf(&(b)->res->warnings, __VA_ARGS__) < 0 ? errmsg_oom((b)->err) : 0)

/* build.c: a temporary name in the output directory, removed on a signal. */
void temps_add(int dir_fd, const char *name);

/* build.c: the block map of the raw image as written so far, as text. */
int raw_map_text(struct build *b, char **ret_text, size_t *ret_len);

/* boot-files.c */
void boot_files_done(struct boot_files *b);
/* ext4_tar_opts.tee: keeps the boot files as the tarball streams past. */
int boot_tee(const char *name, uint64_t size, void *userdata);
/* The FAT modules kept for the kernel of that version (the installer
 * mounts its medium's report partition with them), in load order. */
unsigned boot_fat_modules(const struct boot_files *b, const char *version,
			  const struct boot_file **ret, unsigned max);
/* "boot/vmlinuz-6.1.0-56-amd64" -> "6.1.0-56-amd64" */
const char *kernel_version(const char *name);
int boot_files_pick(struct boot_files *b, const struct recipe *r, struct boot_file **ret_k,
		    struct boot_file **ret_i, char **err);
int initrd_job_start(struct initrd_job *j, const struct build *b, struct boot_file *ird,
		     int builtin_fd);
/* Joins the check: its warnings appended to *warnings, its message put in
 * *err on failure (err NULL: dropped, as another error came first). */
int initrd_job_wait(struct initrd_job *j, char ***warnings, char **err);
int boot_cmdline(struct build *b, char **ret);

/* build-inputs.c */
const char *base_name(const char *p);
/* Hashes the file at path into the manifest (as role) and the seed. */
int add_input(struct build *b, const char *role, const char *path);
int check_payloads(struct build *b);
int stage_payloads(struct build *b);
int load_profiles(struct build *b);
int build_locate(struct build *b);
