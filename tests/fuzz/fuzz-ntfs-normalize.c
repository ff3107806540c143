/* SPDX-License-Identifier: MIT */
/*
 * fuzz-ntfs-normalize.c - libFuzzer target for the NTFS time normalizer
 * (builder/windows/ntfs-normalize.c). A fresh 2 MiB volume made once by mkntfs is
 * the template; each input is a list of patches applied to a copy of it
 * (3 bytes offset, 1 byte length, that many bytes), so the fuzzer reaches
 * the MFT records and INDX blocks instead of stopping at the boot sector.
 * Without mkntfs the input is the volume itself. Any input ends in success
 * or -EBADMSG with a message, without a crash.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "builder/windows/ntfs-normalize.h"
#include "lib/basic/spawn.h"

#define TEMPLATE_SIZE (2 * 1024 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *template;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/fuzz-ntfs-normalize.XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);
	(void)argc, (void)argv;
	if (fd < 0)
		return 0;
	char *const mkntfs[] = { "mkntfs", "--force", "--fast", "--quiet", "--zero-time", "-s",
				 "512",	   "-c",      "512",	"-p",	   "0",		  "-H",
				 "255",	   "-S",      "63",	path,	   NULL };
	struct spawn_result res = {};
	if (ftruncate(fd, TEMPLATE_SIZE) == 0 && spawn_run(mkntfs, NULL, &res) >= 0 &&
	    res.exit_status == 0 && (template = malloc(TEMPLATE_SIZE)) &&
	    pread(fd, template, TEMPLATE_SIZE, 0) != TEMPLATE_SIZE) {
		free(template);
		template = NULL;
	}
	spawn_result_done(&res);
	close(fd);
	unlink(path);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-ntfs-normalize", MFD_CLOEXEC);
	char *err = NULL;

	if (fd < 0)
		return 0;
	if (template) {
		if (write(fd, template, TEMPLATE_SIZE) != TEMPLATE_SIZE)
			goto out;
		for (size_t i = 0; i + 4 <= size;) {
			size_t off = (data[i] | data[i + 1] << 8 | (size_t)data[i + 2] << 16) %
				     TEMPLATE_SIZE;
			size_t n = data[i + 3] % 16 + 1;
			i += 4;
			n = n < size - i ? n : size - i;
			if (pwrite(fd, data + i, n, (off_t)off) < 0)
				goto out;
			i += n;
		}
	} else if (write(fd, data, size) != (ssize_t)size) {
		goto out;
	}
	int r = ntfs_normalize_times(fd, 1700000000, NULL, &err);
	if (r < 0 && (r != -EBADMSG || !err))
		abort(); /* a damaged volume is a message, not another error */
out:
	free(err);
	close(fd);
	return 0;
}
