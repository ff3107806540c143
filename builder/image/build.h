/* SPDX-License-Identifier: MIT */
/*
 * build.h - the image build pipeline: one recipe in, the disk image in each
 * requested format and its manifest out, renamed into place only when the
 * whole build succeeded. The engine of `enlighten build`; it never logs.
 */
#pragma once

#include <time.h>

#include "builder/image/recipe.h"

struct build_options {
	const struct recipe *recipe;
	const char *output_dir; /* must exist */
	char *const *formats;	/* NULL: the recipe's Formats= */
	time_t now;		/* SOURCE_DATE_EPOCH, or the time of the build */
	const char *datadir;	/* profiles and templates (cli_datadir()) */
};

struct build_result {
	char **artefacts; /* paths of what was written, the manifest last */
	char **warnings;  /* for the caller to log */
	char **notes;	  /* informational lines, for the caller to log */
};

void build_result_done(struct build_result *res);

/* Builds the image. Returns 0 and fills *ret (the caller calls
 * build_result_done()), or -errno with a sentence in *reterr_msg; on failure
 * nothing that looks finished is left in the output directory, but
 * ret->warnings is still filled for the caller to log. */
int image_build(const struct build_options *o, struct build_result *ret, char **reterr_msg);
