/* SPDX-License-Identifier: MIT */
/*
 * fuzz-inf.c - libFuzzer target for the INF parser and the driver facts.
 */
#include <stdint.h>
#include <stdlib.h>

#include "lib/basic/inf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inf *inf = NULL;
	struct inf_driver *d = NULL;
	char *err = NULL;

	if (inf_parse(data, size, &inf, &err) >= 0) {
		free(err);
		err = NULL;
		(void)inf_driver_info(inf, &d, &err);
	}
	inf_driver_free(d);
	inf_free(inf);
	free(err);
	return 0;
}
