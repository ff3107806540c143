/* SPDX-License-Identifier: MIT */
/*
 * fuzz-bmap.c - libFuzzer target for the block map deploy reads from a
 * source it does not control (bmap_parse): any input is handled without
 * crashing, and a map it accepts is consistent (ranges in order, inside
 * the image, their blocks adding up to the mapped count) and formats back
 * into a map that parses to the same ranges.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/image/bmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bmap *b = NULL, *again = NULL;
	char *msg = NULL, *text = NULL;
	size_t len;

	if (bmap_parse((const char *)data, size, &b, &msg) == 0) {
		uint64_t sum = 0;
		for (size_t i = 0; i < b->n_ranges; i++) {
			const struct bmap_range *r = &b->ranges[i];
			if (r->last < r->first || r->last >= b->blocks_count ||
			    (i > 0 && r->first <= b->ranges[i - 1].last))
				abort();
			sum += r->last - r->first + 1;
		}
		if (sum != b->mapped_count)
			abort();
		if (bmap_format(b, &text, &len) == 0) {
			if (bmap_parse(text, len, &again, NULL) != 0 ||
			    again->n_ranges != b->n_ranges ||
			    memcmp(again->ranges, b->ranges, b->n_ranges * sizeof(*b->ranges)) != 0)
				abort();
		}
	} else if (!msg)
		abort(); /* every refusal says why */
	bmap_free(again);
	bmap_free(b);
	free(text);
	free(msg);
	return 0;
}
