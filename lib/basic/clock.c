/* SPDX-License-Identifier: MIT */
/*
 * clock.c - SOURCE_DATE_EPOCH, parsed once for every program (see clock.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/basic/clock.h"
#include "lib/basic/string-util.h"

int source_date_epoch(time_t *ret)
{
	const char *e = getenv("SOURCE_DATE_EPOCH");
	uint64_t t;

	if (!e || !*e) {
		*ret = time(NULL);
		return 0;
	}
	if (parse_u64(e, 10, &t) < 0 || t > SOURCE_DATE_EPOCH_MAX)
		return -EINVAL;
	*ret = (time_t)t;
	return 1;
}
