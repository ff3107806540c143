/* SPDX-License-Identifier: MIT */
/*
 * fuzz-profile.c - libFuzzer target for the profile matrix parser
 * (lib/activate/profile.h): any bytes parse or fail cleanly, and a parsed profile's
 * lists read back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/activate/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile *p = NULL;
	char *err = NULL;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (profile_parse("fuzz", "fuzz.conf", text, &p, &err) >= 0)
		for (int k = 0; k < _PROFILE_KEY_MAX; k++)
			for (char *const *v = profile_get(p, k); *v; v++)
				(void)strlen(*v);
	profile_free(p);
	free(err);
	free(text);
	return 0;
}
