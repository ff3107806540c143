/* SPDX-License-Identifier: MIT */
/*
 * fuzz-driver-catalog.c - libFuzzer target for Windows driver catalogs: the
 * signed envelope, and (first byte odd) the trust list alone, which a
 * mutated envelope would rarely reach past its signature.
 */
#include <stdint.h>
#include <stdlib.h>

#include "lib/trust/driver-catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct driver_catalog *c = NULL;
	char *err = NULL;

	if (size < 1)
		return 0;
	if (data[0] & 1)
		(void)driver_catalog_parse_trust_list(data + 1, size - 1, &c, &err);
	else
		(void)driver_catalog_parse(data + 1, size - 1, &c, &err);
	driver_catalog_free(c);
	free(err);
	return 0;
}
