/* SPDX-License-Identifier: MIT */
/*
 * plan.h - an activation plan as data: the ordered steps that turn a root
 * tree into a proper guest of one profile and undo what belonged to every
 * other profile.
 *
 * The planner compares what the profile wants with what the tree holds, so
 * a step is only planned when it changes something, and a plan computed on
 * a converged tree is empty. Each step is idempotent: apply.h may run it
 * again after a crash. A plan round-trips through JSON (the state journal
 * keeps it, --plan prints it).
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/activate/profile.h"
#include "lib/basic/macro.h"

/* One Linux payload of the verified catalog. */
struct plan_payload {
	char *name;   /* rpm name */
	char *evr;    /* [epoch:]version-release */
	char *path;   /* beneath the root: the repository dir + catalog path */
	char *sha256; /* 64 hex */
	uint64_t length;
	char **profiles; /* profiles that ship it */
};

void plan_payload_done(struct plan_payload *p);

/* The target's own package manager, which installs the payloads. */
enum plan_pkg_manager {
	PLAN_PKG_RPM,  /* .rpm payloads, librpm on the root's rpmdb */
	PLAN_PKG_DPKG, /* .deb payloads, dpkg on the root's var/lib/dpkg */
};

/* Everything the planner looks at. root_fd is the tree being planned for. */
struct plan_input {
	int root_fd;
	const char *root;		     /* for messages and spawned tools */
	const struct profile *profile;	     /* the one to activate */
	const struct profile_set *profiles;  /* the whole matrix (incl. profile) */
	const struct plan_payload *payloads; /* catalog, Linux payloads */
	size_t n_payloads;
	char **installed;     /* package names in the package database */
	char **broken;	      /* of those, the ones with files missing: install again */
	char *const *closure; /* payload names the image build solved for the profile
			       * (its dependency closure), or NULL: the payloads the
			       * catalog tags with the profile */
	enum plan_pkg_manager manager;
	const char *family;   /* "debian", "suse" or NULL: names in the matrix */
	const char *previous; /* profile recorded last time, or NULL */
	bool forced;	      /* profile from an override */
};

enum plan_step_kind {
	STEP_RPM,	   /* one transaction: install[] + erase[] */
	STEP_DPKG,	   /* the same through dpkg: install[], then purge erase[] */
	STEP_WRITE_FILE,   /* path, content */
	STEP_REMOVE_FILE,  /* path */
	STEP_ENABLE_UNIT,  /* unit */
	STEP_DISABLE_UNIT, /* unit */
	STEP_KERNEL_ARGS,  /* entry, add[], remove[] */
	STEP_INITRD,	   /* entry, kver, drivers[], output; drivers NULL: back to generic */
	_STEP_KIND_MAX,
};

const char *plan_step_kind_to_string(enum plan_step_kind k);
enum plan_step_kind plan_step_kind_from_string(const char *s);

struct plan_install {
	char *name;
	char *evr;
	char *path; /* beneath the root */
	char *sha256;
	uint64_t length;
};

struct plan_step {
	enum plan_step_kind kind;
	char *path;    /* WRITE_FILE, REMOVE_FILE; entry file for KERNEL_ARGS, INITRD */
	char *content; /* WRITE_FILE */
	char *unit;    /* ENABLE_UNIT, DISABLE_UNIT */
	struct plan_install *install; /* RPM, DPKG */
	size_t n_install;
	char **erase;	/* RPM, DPKG: names */
	char **add;	/* KERNEL_ARGS */
	char **remove;	/* KERNEL_ARGS */
	char *kver;	/* INITRD */
	char **drivers; /* INITRD; NULL: restore the generic initrd */
	char *output;	/* INITRD: host-only initrd, beneath the root */
	char *generic;	/* INITRD: generic initrd as the entry names it */
	char *fallback; /* INITRD: fallback entry file, beneath the root */
};

struct plan {
	char *profile;
	char *previous;
	bool forced;
	struct plan_step *steps;
	size_t n_steps;
};

void plan_free(struct plan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct plan *, plan_free);
#define _cleanup_plan_ _cleanup_(plan_freep)

/* Files the agent owns in the tree. */
#define PLAN_MODULES_LOAD_FILE "etc/modules-load.d/enlighten.conf"
#define PLAN_MODPROBE_FILE "etc/modprobe.d/enlighten.conf"
#define PLAN_UDEV_FILE "etc/udev/rules.d/80-enlighten.rules"
#define PLAN_FALLBACK_ENTRY "enlighten-fallback.conf"
/* Loader=grub: the profile's kernel arguments for grub-mkconfig, so that a
 * grub.cfg the distribution regenerates (kernel updates) keeps them */
#define PLAN_GRUB_DEFAULTS_FILE "etc/default/grub.d/enlighten-profile.cfg"
#define PLAN_INITRD_NAME "initrd-enlighten"

/* Builds the plan. Fails with -ENOENT and a message when a wanted package is
 * neither installed nor in the catalog. */
int plan_build(const struct plan_input *in, struct plan **ret, char **reterr_msg);

/* The plan as JSON ({"schema":1,"profile":...,"steps":[...]}), and back. */
json_object *plan_to_json(const struct plan *p);
int plan_from_json(json_object *o, struct plan **ret, char **reterr_msg);

/* One line per step, for --verbose and the report. */
char *plan_step_describe(const struct plan_step *s);

/* The contents the agent writes to its modules-load.d / modprobe.d / udev
 * rules files for a profile; NULL when the profile needs none (the file is
 * removed). */
char *plan_modules_load_content(const struct profile *p);
char *plan_modprobe_content(const struct profile *p);
char *plan_udev_content(const struct profile *p);

/* Boot loader: the ESP directory beneath the root ("boot/efi", "efi",
 * "boot"), found from etc/fstab or from where loader/entries exists, and the
 * main entry file (the first loader/entries/\*.conf that is not ours and
 * has a `linux` line: not an `efi` entry such as Xen's). */
int plan_find_esp(int root_fd, char **ret_esp);
int plan_find_entry(int root_fd, const char *esp, char **ret_entry);

/* Reads "key value" from a boot loader entry text; NULL when absent. */
char *plan_entry_get(const char *text, const char *key);
/* Returns a copy of text with key's line set to value (appended when absent,
 * removed when value is NULL). */
char *plan_entry_set(const char *text, const char *key, const char *value);
/* GRUB's configuration beneath the root ("boot/grub/grub.cfg", or
 * "boot/grub2/grub.cfg"); -ENOENT when there is none. */
int plan_find_grub_cfg(int root_fd, char **ret_path);
/* Returns a copy of a grub.cfg text with the arguments of every `linux`
 * (or `linuxefi`) line edited as plan_options_edit() does. */
char *plan_grub_cfg_edit(const char *text, char *const *remove, char *const *add);
/* Edits an options string: removes the args in remove (an item "k" also
 * removes "k=..."), then appends the args of add that are missing. */
char *plan_options_edit(const char *options, char *const *remove, char *const *add);
