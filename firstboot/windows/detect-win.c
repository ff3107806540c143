/* SPDX-License-Identifier: MIT */
/*
 * detect-win.c - detect_run() for Windows: the signals Windows offers
 * (CPUID, the SMBIOS table, the Plug and Play devices) through the probes
 * and rules of detect/, mapped to a profile by detect/profile-map.c. The
 * Hyper-V root partition is told, as on Linux, by the CPUID partition
 * privileges (CreatePartitions, CpuManagement).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "detect/probe.h"
#include "firstboot/windows/winagent.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/string-util.h"

#define RSMB_SIGNATURE 0x52534D42u /* 'RSMB' */

/* The probes whose signals exist on Windows; the others read Linux files. */
static const struct probe *const probes[] = { &probe_cpuid, &probe_dmi, &probe_bus };

DEFINE_TRIVIAL_CLEANUP_FUNC(struct cpuid_table *, cpuid_table_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct verdict *, verdict_free);

static int load_cpuid(struct probe_ctx *ctx, const char *path, struct cpuid_table **ret,
		      char **reterr_msg)
{
	_cleanup_free_ char *buf = NULL, *msg = NULL;
	size_t n;
	unsigned line = 0;

	int r = win_read_file(path, CPUID_TABLE_MAX_BYTES, &buf, &n);
	if (r == -EFBIG) {
		evidence_add(ctx, "cpuid-file", "cpuid file '%s': larger than %u bytes, ignored",
			     path, CPUID_TABLE_MAX_BYTES);
		return 0;
	}
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read cpuid file '%s': %s", path,
				  strerror(-r));
	r = cpuid_table_parse(buf, n, ret, &line, &msg);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		evidence_add(ctx, "cpuid-file", "cpuid file '%s' line %u: %s, ignored", path, line,
			     msg ? msg : "bad line");
	return 0;
}

/* The SMBIOS table from the firmware, or from a file (tests, fixtures). */
static int load_smbios(struct probe_ctx *ctx, const char *path, char **reterr_msg)
{
	_cleanup_free_ char *buf = NULL, *msg = NULL;
	size_t n;
	int r;

	if (path) {
		r = win_read_file(path, WIN_FILE_MAX, &buf, &n);
		if (r < 0)
			return errmsg_set(reterr_msg, r, "cannot read SMBIOS file '%s': %s", path,
					  strerror(-r));
	} else {
		UINT size = GetSystemFirmwareTable(RSMB_SIGNATURE, 0, NULL, 0);
		if (size == 0 || size > WIN_FILE_MAX) {
			evidence_add(ctx, "dmi", "no SMBIOS table from the firmware (error %lu)",
				     GetLastError());
			return 0;
		}
		buf = malloc(size);
		if (!buf)
			return -ENOMEM;
		n = GetSystemFirmwareTable(RSMB_SIGNATURE, 0, buf, size);
	}
	r = smbios_to_sysfs((const uint8_t *)buf, n, &msg);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		evidence_add(ctx, "dmi", "SMBIOS table%s%s%s: %s, ignored", path ? " '" : "",
			     path ? path : "", path ? "'" : "", msg ? msg : "does not parse");
	return 0;
}

static int load_devices(const char *path, char **reterr_msg)
{
	_cleanup_free_ char *buf = NULL;
	size_t n;

	if (!path)
		return devices_enumerate(reterr_msg);
	int r = win_read_file(path, WIN_FILE_MAX, &buf, &n);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read devices file '%s': %s", path,
				  strerror(-r));
	for (char *l = buf, *next; l && *l; l = next) {
		next = strchr(l, '\n');
		if (next)
			*next++ = '\0';
		l[strcspn(l, "\r#")] = '\0';
		l += strspn(l, " \t");
		for (size_t k = strlen(l); k > 0 && (l[k - 1] == ' ' || l[k - 1] == '\t'); k--)
			l[k - 1] = '\0';
		if (*l && (r = devices_add_id(l)) < 0 && r != -E2BIG)
			return r;
	}
	return 0;
}

int win_detect(const struct win_detect_opts *o, struct verdict **ret, char **reterr_msg)
{
	_cleanup_(verdict_freep) struct verdict *v = calloc(1, sizeof(*v));
	_cleanup_(cpuid_table_freep) struct cpuid_table *table = NULL;
	struct signals sig = {};
	struct probe_ctx ctx = { .sig = &sig, .v = v, .root_fd = -EBADF };
	int r;

	if (!v)
		return -ENOMEM;
	win_sysfs_clear();
	if (o->cpuid_file) {
		r = load_cpuid(&ctx, o->cpuid_file, &table, reterr_msg);
		if (r < 0)
			return r;
		ctx.cpuid_table = table; /* a bad table means no CPUID, not the host's */
	} else
		ctx.cpuid_instruction = true;
	r = load_smbios(&ctx, o->smbios_file, reterr_msg);
	if (r >= 0)
		r = load_devices(o->devices_file, reterr_msg);
	if (r < 0) {
		win_sysfs_clear();
		signals_done(&sig);
		return r;
	}

	for (size_t i = 0; i < ELEMENTSOF(probes) && !ctx.oom; i++)
		probes[i]->run(&ctx);
	r = ctx.oom ? -ENOMEM : rules_apply(&ctx);
	signals_done(&sig);
	win_sysfs_clear();
	if (r < 0 || ctx.oom)
		return -ENOMEM;
	v->profile = strdup(verdict_profile(v->hypervisor, v->role, v->xen_mode));
	if (!v->profile)
		return -ENOMEM;
	*ret = TAKE_PTR(v);
	return 0;
}
