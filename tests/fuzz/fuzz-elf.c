/* SPDX-License-Identifier: MIT */
/*
 * fuzz-elf.c - libFuzzer target for the ELF reader the build runs over the
 * base's libraries (elf_parse): any input is handled without crashing or
 * reading past it; a refusal always says why; what it reads is
 * consistent (version needs in pairs).
 */
#include <stdint.h>
#include <stdlib.h>

#include "builder/image/elf.h"
#include "lib/basic/string-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_info *i = NULL;
	char *msg = NULL;
	int r = elf_parse(data, size, &i, &msg);
	if (r < 0 && !msg)
		abort();
	if (r == 0 && strv_length(i->need_file) != strv_length(i->need_version))
		abort();
	elf_info_free(i);
	free(msg);
	return 0;
}
