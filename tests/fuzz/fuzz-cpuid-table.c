/* SPDX-License-Identifier: MIT */
/*
 * fuzz-cpuid-table.c - libFuzzer target for the --cpuid-file parser: any
 * bytes either parse into a table whose lookups stay in bounds, or give
 * -EBADMSG/-E2BIG with a line number and a printable message.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detect/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpuid_table *t = NULL;
	char *msg = NULL;
	unsigned line = 0;
	uint32_t r[4];

	int k = cpuid_table_parse((const char *)data, size, &t, &line, &msg);
	if (k == 0) {
		if (!t || t->n > CPUID_TABLE_MAX_ENTRIES)
			abort();
		for (size_t i = 0; i < t->n; i++) {
			cpuid_table_lookup(t, t->entries[i].leaf, t->entries[i].subleaf, r);
			if (memcmp(r, t->entries[i].reg, sizeof(r)) != 0)
				abort();
		}
		cpuid_table_lookup(t, 0x40000000, 0, r);
	} else {
		if (t || (k != -EBADMSG && k != -E2BIG && k != -ENOMEM))
			abort();
		if (k == -EBADMSG && (line == 0 || !msg))
			abort();
		for (const char *p = msg; p && *p; p++)
			if (*p < ' ' || *p > '~')
				abort();
	}
	free(msg);
	cpuid_table_free(t);
	return 0;
}
