/* SPDX-License-Identifier: MIT */
/*
 * gen-ic-files.c - writes the files of the enlighten-ic-<profile> package
 * from the profile matrix, so that payloads/profiles/<profile>.conf stays
 * the one source of truth. A build tool (run by make), not installed.
 *
 *   gen-ic-files PROFILES_DIR PROFILE OUTDIR [FAMILY]
 *
 * FAMILY ("debian", "suse") picks the family's unit names from the
 * matrix ([Debian], [SUSE]) and its initrd tool's drop-in (initramfs-tools
 * for debian, dracut otherwise).
 * writes into OUTDIR/root/ (the package's tree, an existing empty directory)
 * and OUTDIR/files.list (the spec's %files list). Output is a function of
 * the profile alone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "lib/activate/profile.h"
#include "lib/basic/fs.h"
#include "lib/basic/log.h"
#include "lib/basic/string-util.h"

struct out {
	int root_fd;
	FILE *list;
};

/* Writes prefix+name+suffix (relative to the package root) and lists it in
 * %files. */
static int emit(struct out *o, const char *prefix, const char *name, const char *suffix,
		const char *text)
{
	_cleanup_free_ char *path = strjoin(prefix, name, suffix);
	_cleanup_free_ char *dir = path ? strdup(path) : NULL;
	if (!dir)
		return log_oom();
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		int r = fs_mkdir_p_at(o->root_fd, dir, 0755);
		if (r < 0)
			return log_error_errno(r, "cannot create '%s': %m", dir);
	}
	int r = fs_write_file_atomic_at(o->root_fd, path, text, strlen(text), 0644);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s': %m", path);
	fprintf(o->list, "/%s\n", path);
	return 0;
}

/* Appends "prefix item suffix" for each item to a growing string. */
static int append_each(char **s, char *const *l, const char *prefix, const char *suffix)
{
	for (; *l; l++) {
		char *n = strjoin(*s ? *s : "", prefix, *l, suffix);
		if (!n)
			return -ENOMEM;
		free(*s);
		*s = n;
	}
	return 0;
}

static int append(char **s, const char *a)
{
	return append_each(s, (char *const[]){ (char *)a, NULL }, "", "");
}

static int generate(const struct profile *p, const char *family, struct out *o)
{
	const char *name = profile_name(p);
	bool debian = family && streq(family, "debian");
	_cleanup_free_ char *head = NULL;
	int r;

	if (asprintf(&head, "# enlighten-ic-%s: generated from payloads/profiles/%s.conf\n", name,
		     name) < 0)
		return log_oom();

	/* modules-load.d(5): one module per line */
	char *const *mods = profile_get(p, PROFILE_LINUX_MODULES);
	if (*mods) {
		_cleanup_free_ char *t = strdup(head);
		if (!t || append_each(&t, mods, "", "\n") < 0)
			return log_oom();
		if ((r = emit(o, "usr/lib/modules-load.d/enlighten-", name, ".conf", t)) < 0)
			return r;
	}

	/* modprobe.d(5): blacklist and options */
	char *const *bl = profile_get(p, PROFILE_LINUX_BLACKLIST);
	char *const *opts = profile_get(p, PROFILE_LINUX_MODPROBE_OPTIONS);
	if (*bl || *opts) {
		_cleanup_free_ char *t = strdup(head);
		if (!t || append_each(&t, bl, "blacklist ", "\n") < 0 ||
		    append_each(&t, opts, "options ", "\n") < 0)
			return log_oom();
		if ((r = emit(o, "usr/lib/modprobe.d/50-enlighten-", name, ".conf", t)) < 0)
			return r;
	}

	/* dracut.conf(5): the boot-critical drivers; omit_drivers for blacklisted */
	char *const *initrd = profile_get(p, PROFILE_LINUX_INITRD_MODULES);
	if (*initrd || *bl) {
		_cleanup_free_ char *t = strdup(head);
		if (!t)
			return log_oom();
		if (*initrd && (append(&t, "add_drivers+=\"") < 0 ||
				append_each(&t, initrd, " ", "") < 0 || append(&t, " \"\n") < 0))
			return log_oom();
		if (*bl && (append(&t, "omit_drivers+=\"") < 0 ||
			    append_each(&t, bl, " ", "") < 0 || append(&t, " \"\n") < 0))
			return log_oom();
		if (debian) {
			/* initramfs-tools reads modules.d: the boot-critical
			 * drivers, one per line (it has no omit list) */
			_cleanup_free_ char *m = strdup(head);
			if (!m || append_each(&m, initrd, "", "\n") < 0)
				return log_oom();
			if (*initrd &&
			    (r = emit(o, "usr/share/initramfs-tools/modules.d/enlighten-", name,
				      ".conf", m)) < 0)
				return r;
		} else if ((r = emit(o, "usr/lib/dracut/dracut.conf.d/50-enlighten-", name, ".conf",
				     t)) < 0)
			return r;
	}

	/* udev(7) rules, one per line */
	char *const *rules = profile_get(p, PROFILE_LINUX_UDEV_RULES);
	if (*rules) {
		_cleanup_free_ char *t = strdup(head);
		if (!t || append_each(&t, rules, "", "\n") < 0)
			return log_oom();
		if ((r = emit(o, "usr/lib/udev/rules.d/80-enlighten-", name, ".rules", t)) < 0)
			return r;
	}

	/* systemd.preset(5): the guest daemons on, the others' daemons off */
	char *const *on = profile_get_for(p, family, PROFILE_LINUX_SERVICES);
	char *const *off = profile_get(p, PROFILE_LINUX_DISABLE_SERVICES);
	if (*on || *off) {
		_cleanup_free_ char *t = strdup(head);
		if (!t || append_each(&t, on, "enable ", "\n") < 0 ||
		    append_each(&t, off, "disable ", "\n") < 0)
			return log_oom();
		if ((r = emit(o, "usr/lib/systemd/system-preset/50-enlighten-", name, ".preset",
			      t)) < 0)
			return r;
	}

	/* always present, so that every package owns a file: the profile name
	 * and the kernel arguments the first-boot agent applies */
	_cleanup_free_ char *t = NULL;
	if (asprintf(&t, "%sPROFILE=%s\nKERNEL_ARGS=\"", head, name) < 0 ||
	    append_each(&t, profile_get(p, PROFILE_LINUX_KERNEL_ARGS), "", " ") < 0 ||
	    append(&t, "\"\n") < 0)
		return log_oom();
	return emit(o, "usr/lib/enlighten/ic/", name, ".env", t);
}

int main(int argc, char *argv[])
{
	_cleanup_profile_set_ struct profile_set *set = NULL;
	_cleanup_free_ char *msg = NULL;

	log_set_program("gen-ic-files");
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "Usage: gen-ic-files PROFILES_DIR PROFILE OUTDIR [FAMILY]\n");
		return 2;
	}
	int r = profile_set_load(argv[1], &set, &msg);
	if (r < 0) {
		if (msg)
			log_error("%s", msg);
		return log_error_errno(r, "cannot load profiles from '%s': %m", argv[1]), 1;
	}
	const struct profile *p = profile_set_find(set, argv[2]);
	if (!p) {
		log_error("no profile '%s' in '%s'", argv[2], argv[1]);
		return 1;
	}

	_cleanup_free_ char *root = strjoin(argv[3], "/root");
	_cleanup_free_ char *list = strjoin(argv[3], "/files.list");
	if (!root || !list)
		return log_oom(), 1;
	struct out o = { .root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) };
	if (o.root_fd < 0)
		return log_error_errno(-errno, "cannot open '%s': %m", root), 1;
	o.list = fopen(list, "we");
	if (!o.list)
		return log_error_errno(-errno, "cannot write '%s': %m", list), 1;

	r = generate(p, argc == 5 ? argv[4] : NULL, &o);
	if (fclose(o.list) != 0 && r >= 0)
		r = log_error_errno(-errno, "cannot write '%s': %m", list);
	close(o.root_fd);
	return r < 0 ? 1 : 0;
}
