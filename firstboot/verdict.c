/* SPDX-License-Identifier: MIT */
/*
 * verdict.c - the detector, seen from the agent (sources.h). Apart from
 * repo.c so that the agent's light half links no catalog code.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firstboot/sources.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/string-util.h"

#if __has_include("detect/detect.h")
#include "detect/detect.h"
#define HAVE_DETECTOR 1
#else
#define HAVE_DETECTOR 0
#endif

void fb_verdict_done(struct fb_verdict *v)
{
	free(v->hypervisor);
	free(v->role);
	free(v->profile);
	free(v->container);
	json_object_put(v->json);
#if HAVE_DETECTOR
	verdict_free(v->raw);
#endif
	*v = (struct fb_verdict){};
}

json_object *fb_verdict_json(struct fb_verdict *v)
{
#if HAVE_DETECTOR
	if (!v->json && v->raw)
		v->json = verdict_to_json(v->raw);
#endif
	return v->json;
}

int fb_detect(const char *root, bool live, const char *cpuid_file, struct fb_verdict *ret,
	      char **reterr_msg)
{
#if HAVE_DETECTOR
	struct detect_opts o = { .root = root, .cpuid_file = cpuid_file, .live = live };
	struct verdict *v = NULL;
	int r = detect_run(&o, &v);
	if (r < 0) {
		return errmsg_set(reterr_msg, r, "detection failed: %s", strerror(-r));
	}
	struct fb_verdict f = {
		.hypervisor = strdup(hypervisor_to_string(v->hypervisor)),
		.role = strdup(role_to_string(v->role)),
		.profile = v->profile ? strdup(v->profile) : NULL,
		.container = v->container ? strdup(v->container) : NULL,
		.raw = v, /* JSON only when a report is written */
	};
	if (!f.hypervisor || !f.role || (v->container && !f.container)) {
		fb_verdict_done(&f);
		return -ENOMEM;
	}
	*ret = f;
	return 0;
#else
	(void)root;
	(void)live;
	(void)cpuid_file;
	(void)reterr_msg;
	/* Built without the detector: only a forced profile can be applied. */
	struct fb_verdict f = { .hypervisor = strdup("unknown"), .role = strdup("unknown") };
	if (!f.hypervisor || !f.role) {
		fb_verdict_done(&f);
		return -ENOMEM;
	}
	*ret = f;
	return 0;
#endif
}
