/* SPDX-License-Identifier: MIT */
/*
 * fuzz-catalog.c - libFuzzer target for the catalog parser: any input is
 * parsed without crashing, and what parses writes out to JSON that parses
 * again to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/basic/json.h"
#include "lib/trust/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct catalog *c = NULL, *c2 = NULL;
	json_object *o = NULL, *o2 = NULL;
	char *err = NULL;

	if (catalog_parse((const char *)data, size, &c, &err) >= 0) {
		if (catalog_to_json(c, &o) < 0)
			abort();
		char *s = strdup(json_to_string(o, true));
		if (!s || catalog_parse(s, strlen(s), &c2, NULL) < 0 ||
		    catalog_to_json(c2, &o2) < 0 || strcmp(s, json_to_string(o2, true)) != 0)
			abort(); /* the writer made something the parser refuses or changes */
		free(s);
	}
	json_object_put(o);
	json_object_put(o2);
	catalog_free(c);
	catalog_free(c2);
	free(err);
	return 0;
}
