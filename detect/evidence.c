/* SPDX-License-Identifier: MIT */
/*
 * evidence.c - the verdict's evidence list: every signal read and what it
 * said, capped so that a tree with endless garbage cannot grow it unbounded.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "detect/probe.h"

void evidence_add(struct probe_ctx *ctx, const char *source, const char *fmt, ...)
{
	struct verdict *v = ctx->v;
	char *detail = NULL, *src = NULL;
	va_list ap;

	if (ctx->oom || v->n_evidence > EVIDENCE_MAX)
		return;
	if (v->n_evidence == EVIDENCE_MAX) {
		source = "detect";
		detail = strdup("evidence truncated: too many signals");
	} else {
		va_start(ap, fmt);
		if (vasprintf(&detail, fmt, ap) < 0)
			detail = NULL;
		va_end(ap);
	}
	src = strdup(source);
	struct evidence *ne = reallocarray(v->evidence, v->n_evidence + 1, sizeof(*ne));
	if (!detail || !src || !ne) {
		free(detail);
		free(src);
		if (ne)
			v->evidence = ne;
		ctx->oom = true;
		return;
	}
	v->evidence = ne;
	v->evidence[v->n_evidence++] = (struct evidence){ .source = src, .detail = detail };
}

void signals_done(struct signals *s)
{
	for (size_t i = 0; i < _DMI_FIELD_MAX; i++)
		free(s->dmi[i]);
}
