/* SPDX-License-Identifier: MIT */
/*
 * detect.c - detect_run(): open the root, load the CPUID table, run every
 * probe of the table below, apply the rules, map the verdict to a profile.
 * The container probe runs only for a live root (see detect_opts.live).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "detect/probe.h"
#include "lib/basic/fs.h"

/* Order is the order of the evidence in the verdict. */
static const struct probe *const probes[] = {
	&probe_cpuid, &probe_dmi,	 &probe_sysfs_hypervisor, &probe_xen,
	&probe_bus,   &probe_devicetree, &probe_kernel,		  &probe_container,
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct cpuid_table *, cpuid_table_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct verdict *, verdict_free);

/* Loads --cpuid-file. Only a file that cannot be opened is an error; bad
 * content leaves *ret NULL (no CPUID) with the reason in the evidence. */
static int load_cpuid_table(struct probe_ctx *ctx, const char *path, struct cpuid_table **ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	_cleanup_free_ char *buf = NULL, *msg = NULL;
	_cleanup_free_ char *shown = value_show(path, strlen(path));
	size_t n;
	unsigned line = 0;
	struct stat st;

	*ret = NULL;
	if (fd < 0)
		return negative_errno();
	if (!shown)
		return -ENOMEM;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode)) {
		evidence_add(ctx, "cpuid-file", "cpuid file '%s': %s, ignored", shown,
			     S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
		return 0;
	}
	int r = fs_read_fd(fd, CPUID_TABLE_MAX_BYTES, &buf, &n);
	if (r == -EFBIG) {
		evidence_add(ctx, "cpuid-file", "cpuid file '%s': larger than %u bytes, ignored",
			     shown, CPUID_TABLE_MAX_BYTES);
		return 0;
	}
	if (r < 0) {
		evidence_add(ctx, "cpuid-file", "cpuid file '%s': unreadable (%s), ignored", shown,
			     strerror(-r));
		return r == -ENOMEM ? r : 0;
	}
	r = cpuid_table_parse(buf, n, ret, &line, &msg);
	if (r == -ENOMEM)
		return r;
	if (r == -E2BIG)
		evidence_add(ctx, "cpuid-file",
			     "cpuid file '%s' line %u: more than %u entries, ignored", shown, line,
			     CPUID_TABLE_MAX_ENTRIES);
	else if (r < 0)
		evidence_add(ctx, "cpuid-file", "cpuid file '%s' line %u: %s, ignored", shown, line,
			     msg ? msg : "bad line");
	return 0;
}

int detect_run(const struct detect_opts *o, struct verdict **ret)
{
	_cleanup_(verdict_freep) struct verdict *v = calloc(1, sizeof(*v));
	_cleanup_(cpuid_table_freep) struct cpuid_table *table = NULL;
	_cleanup_close_ int root_fd = -EBADF;
	struct signals sig = {};
	struct probe_ctx ctx = { .sig = &sig };
	int r;

	if (!v)
		return -ENOMEM;
	ctx.v = v;
	root_fd = open(o && o->root ? o->root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return negative_errno();
	ctx.root_fd = root_fd;
	ctx.at_slash = !(o && o->root);
	ctx.live = ctx.at_slash || o->live;

	if (o && o->cpuid_file) {
		r = load_cpuid_table(&ctx, o->cpuid_file, &table);
		if (r < 0)
			return r;
		ctx.cpuid_table = table;
		/* A bad table means no CPUID, not the host's. */
	} else
		ctx.cpuid_instruction = !(o && o->root);

	for (size_t i = 0; i < ELEMENTSOF(probes) && !ctx.oom; i++)
		probes[i]->run(&ctx);
	if (!ctx.oom)
		r = rules_apply(&ctx);
	else
		r = -ENOMEM;
	signals_done(&sig);
	if (r < 0 || ctx.oom)
		return -ENOMEM;

	v->profile = strdup(verdict_profile(v->hypervisor, v->role, v->xen_mode));
	if (!v->profile)
		return -ENOMEM;
	*ret = TAKE_PTR(v);
	return 0;
}
