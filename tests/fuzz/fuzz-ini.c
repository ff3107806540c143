/* SPDX-License-Identifier: MIT */
/*
 * fuzz-ini.c - libFuzzer target for the INI reader (lib/basic/ini.h): any
 * bytes (NULs, CRs, long lines included) are read or refused with a
 * message, under both duplicate policies and with and without a default
 * section.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/basic/ini.h"
#include "lib/basic/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct conf {
	size_t n, bytes;
};

static int count(struct ini *ini, const char *value, void *field)
{
	struct conf *c = field;
	c->n++;
	c->bytes += strlen(value) + strlen(ini_section(ini));
	if (value[0] == '!')
		return ini_fail(ini, "'%s' refused", value);
	return value[0] == '?' ? -EINVAL : 0;
}

static const struct ini_key keys[] = {
	{ "A", "x", count, 0, 0 },
	{ "A", "y", count, 0, 0 },
	{ "B", "x", count, 0, 0 },
	{ NULL, "Include", count, 0, 0 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int i = 0; i < 4; i++) {
		struct ini_syntax s = {
			.what = i & 1 ? "recipe" : NULL,
			.keys = keys,
			.n_keys = ELEMENTSOF(keys),
			.default_section = i & 2 ? "A" : NULL,
			.duplicates = i & 1 ? INI_DUPLICATES_REFUSE : INI_DUPLICATES_PARSE,
			.max_size = 64 * 1024,
			.max_line = 80,
		};
		struct conf c = {};
		char *msg = NULL;
		int r = ini_read(&s, "fuzz.conf", (const char *)data, size, &c, NULL, &msg);
		if (r < 0 && !msg)
			abort(); /* every refusal says why */
		free(msg);
	}
	return 0;
}
