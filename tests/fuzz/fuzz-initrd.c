/* SPDX-License-Identifier: MIT */
/*
 * fuzz-initrd.c - libFuzzer target for the initrd reader of the universal
 * initrd check (builder/image/initrd-check.c): early uncompressed newc segments
 * walked by their headers, then libarchive. Any bytes read or fail cleanly.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "builder/image/initrd-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-initrd", MFD_CLOEXEC);
	char **names = NULL, *err = NULL;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size && initrd_list_modules(fd, &names, &err) >= 0)
		for (char **n = names; *n; n++)
			free(*n);
	free(names);
	free(err);
	close(fd);
	return 0;
}
