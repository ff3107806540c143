/* SPDX-License-Identifier: MIT */
/*
 * profiles-file.h - PATH.profiles beside a Windows payload: the profiles a
 * driver package folder (or an installer file) serves, declared by the OEM
 * in its own payload source instead of in the installed profile matrix
 * (docs/payload-packages.md). Profile names separated by white space, '#'
 * to the end of a line a comment.
 */
#pragma once

#include "lib/activate/profile.h"

#define PROFILES_FILE_SUFFIX ".profiles"
#define PROFILES_FILE_MAX 4096
#define PROFILES_FILE_MAX_NAMES 64

/* Reads rel beneath dir_fd and adds its profile names to *l (each once).
 * With a matrix, every name must be one of its profiles. Returns 0, or
 * -errno with *reterr_msg naming the file, the line and the name. */
int profiles_file_read(int dir_fd, const char *rel, const struct profile_set *matrix, char ***l,
		       char **reterr_msg);
