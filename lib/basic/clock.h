/* SPDX-License-Identifier: MIT */
/*
 * clock.h - the time a build or a record is stamped with: SOURCE_DATE_EPOCH
 * when set (reproducible builds), else the clock.
 */
#pragma once

#include <time.h>

/* The latest SOURCE_DATE_EPOCH taken: 9999-12-31T23:59:59Z, as catalogs. */
#define SOURCE_DATE_EPOCH_MAX 253402300799ull

/* *ret = SOURCE_DATE_EPOCH (returns 1) or, when it is unset or empty, the
 * clock (returns 0); -EINVAL when it is not decimal seconds from 0 to
 * SOURCE_DATE_EPOCH_MAX (*ret untouched). */
int source_date_epoch(time_t *ret);
