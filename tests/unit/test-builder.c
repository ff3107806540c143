/* SPDX-License-Identifier: MIT */
/*
 * test-builder.c - the image builder's pieces without a build: derived
 * UUIDs, the recipe reader, the initrd reader, the output format table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "builder/image/convert.h"
#include "builder/image/image.h"
#include "builder/image/initrd-check.h"
#include "builder/image/recipe.h"
#include "lib/basic/string-util.h"
#include "tests/unit/tap.h"

static void test_uuid(void)
{
	uint8_t seed[SHA256_DIGEST_SIZE] = { 1, 2, 3 };
	char a[UUID_STRING_SIZE], b[UUID_STRING_SIZE], c[UUID_STRING_SIZE];
	uuid_derive(seed, "root", a);
	uuid_derive(seed, "root", b);
	uuid_derive(seed, "esp", c);
	is_str(a, b, "same seed and label, same UUID");
	ok(!streq(a, c), "another label, another UUID");
	is_int((int)strlen(a), 36, "UUID string length");
	ok(a[14] == '5', "version 5 (%s)", a);
	ok(strchr("89ab", a[19]) != NULL, "RFC 4122 variant (%s)", a);
}

static void test_recipe(void)
{
	struct recipe *r = NULL;
	char *err = NULL;

	tap_write("base.conf", "[Image]\nName=base\nSize=2G\nFormats=raw, qcow2 raw\n"
			       "[Base]\nTarball=root.tar.zst\nInitrdCheck=warn\n"
			       "[Payloads]\nProfiles=kvm-guest xen-hvm\n");
	tap_write("sku.conf", "[Image]\nInclude=base.conf\nName=sku\n[Partitions]\nESPSize=100M\n");
	is_int(recipe_load("sku.conf", &r, &err), 0, "a recipe with an include loads%s%s",
	       err ? ": " : "", err ? err : "");
	if (r) {
		is_str(r->name, "sku", "a later key overrides the included one");
		ok(r->size == 2ULL << 30, "size from the include");
		ok(r->esp_size == 100ULL << 20, "ESPSize");
		is_str(r->tarball, "root.tar.zst", "path relative to the including file");
		is_int((int)strv_length(r->formats), 2, "formats deduplicated");
		is_int((int)r->initrd_check, INITRD_CHECK_WARN, "InitrdCheck=warn");
		ok(strv_contains(r->profiles, "xen-hvm"), "profiles listed");
	}
	r = recipe_free(r);

	tap_write("typo.conf", "[Image]\nName=x\n\nSise=1G\n");
	is_int(recipe_load("typo.conf", &r, &err), -EINVAL, "an unknown key fails");
	is_str(err, "recipe 'typo.conf' line 4: unknown key 'Sise' (did you mean 'Size'?)",
	       "... with file, line and suggestion");
	free(err);
	err = NULL;

	tap_write("self.conf", "[Image]\nInclude=self.conf\n");
	is_int(recipe_load("self.conf", &r, &err), -EINVAL, "a file including itself fails");
	ok(err && strstr(err, "makes a cycle"), "... as a cycle: %s", err ? err : "");
	free(err);
	err = NULL;

	tap_write("small.conf", "[Image]\nSize=40M\n[Base]\nTarball=x\n");
	is_int(recipe_load("small.conf", &r, &err), -EINVAL, "no room for the root fails");
	ok(err && strstr(err, "less than 16 MiB for the root"), "... saying so: %s",
	   err ? err : "");
	free(err);
}

/* One newc entry. */
static size_t newc(uint8_t *out, const char *name, const char *data)
{
	size_t n = (size_t)sprintf(
		(char *)out, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", 1,
		0100644, 0, 0, 1, 0, strlen(data), 0, 0, 0, 0, strlen(name) + 1, 0);
	memcpy(out + n, name, strlen(name) + 1);
	n += strlen(name) + 1;
	while (n % 4)
		out[n++] = 0;
	memcpy(out + n, data, strlen(data));
	n += strlen(data);
	while (n % 4)
		out[n++] = 0;
	return n;
}

static void test_initrd(void)
{
	static uint8_t buf[4096];
	size_t n = 0;
	n += newc(buf + n, "kernel/x86/microcode/GenuineIntel.bin", "ucode");
	n += newc(buf + n, "TRAILER!!!", "");
	memset(buf + n, 0, 8); /* padding between archives */
	n += 8;
	n += newc(buf + n, "usr/lib/modules/6.1/kernel/drivers/scsi/hv_storvsc.ko.xz", "x");
	n += newc(buf + n, "usr/lib/modules/6.1/kernel/drivers/block/xen-blkfront.ko", "x");
	n += newc(buf + n, "TRAILER!!!", "");

	int fd = memfd_create("initrd", MFD_CLOEXEC);
	ok(fd >= 0 && write(fd, buf, n) == (ssize_t)n, "initrd written");
	char **names = NULL, *err = NULL;
	is_int(initrd_list_modules(fd, &names, &err), 0, "two concatenated newc archives read%s%s",
	       err ? ": " : "", err ? err : "");
	ok(names && strv_contains(names, "hv_storvsc"), "module in the second archive found");
	ok(names && strv_contains(names, "xen_blkfront"), "dashes read as underscores");
	strv_free(names);
	close(fd);

	fd = memfd_create("junk", MFD_CLOEXEC);
	ok(write(fd, "not an initrd at all", 20) == 20, "junk written");
	names = NULL;
	ok(initrd_list_modules(fd, &names, &err) < 0, "junk is refused");
	free(err);
	strv_free(names);
	close(fd);
}

/* A zstd frame by hand: data in a raw block, then rle_blocks blocks of
 * 128 KiB of zeros each (4 bytes apiece), so a large unpacked size costs
 * nothing to make. */
static size_t zstd_frame(uint8_t *out, const uint8_t *data, size_t n, size_t rle_blocks)
{
	size_t k = 0;
	memcpy(out, "\x28\xb5\x2f\xfd\x00\x38", 6); /* no size, 128 KiB window */
	k += 6;
	for (size_t i = 0; i <= rle_blocks; i++) {
		bool last = i == rle_blocks;
		uint32_t h = last ? 1 : 0;
		if (i == 0)
			h |= (uint32_t)n << 3; /* raw */
		else
			h |= 1u << 1 | (128u * 1024) << 3;
		out[k++] = h & 0xff, out[k++] = (h >> 8) & 0xff, out[k++] = (h >> 16) & 0xff;
		if (i == 0) {
			memcpy(out + k, data, n);
			k += n;
		} else
			out[k++] = 0;
	}
	return k;
}

static int list_bytes(const uint8_t *buf, size_t n, char ***names, char **err)
{
	int fd = memfd_create("initrd", MFD_CLOEXEC);
	if (fd < 0 || write(fd, buf, n) != (ssize_t)n)
		return -EIO;
	int r = initrd_list_modules(fd, names, err);
	close(fd);
	return r;
}

/* A hostile initrd is bounded: in what it unpacks to, and in what its
 * decompression may allocate. */
static void test_initrd_bounds(void)
{
	static uint8_t cpio[512], out[160 * 1024];
	char **names = NULL, *err = NULL;
	size_t n = newc(cpio, "usr/lib/modules/6.1/kernel/drivers/scsi/sd_mod.ko", "x");
	n += newc(cpio + n, "TRAILER!!!", "");

	size_t k = 0;
	lzma_filter f[2] = { { .id = LZMA_FILTER_LZMA2 }, { .id = LZMA_VLI_UNKNOWN } };
	lzma_options_lzma o;
	lzma_lzma_preset(&o, 0);
	o.dict_size = 1 << 20;
	f[0].options = &o;
	ok(lzma_stream_buffer_encode(f, LZMA_CHECK_CRC32, NULL, cpio, n, out, &k, sizeof(out)) ==
		   LZMA_OK,
	   "an xz initrd made");
	is_int(list_bytes(out, k, &names, &err), 0, "an xz initrd is read%s%s", err ? ": " : "",
	       err ? err : "");
	ok(names && strv_contains(names, "sd_mod"), "... its module found");
	strv_free(names);
	names = NULL;

	/* the block header's dictionary size raised to 4 GiB, its CRC32 redone */
	size_t bh = 12, hs = ((size_t)out[bh] + 1) * 4;
	uint8_t *props = memmem(out + bh, hs, "\x21\x01", 2);
	ok(props, "the LZMA2 filter found in the block header");
	if (props) {
		props[2] = 40;
		uint32_t crc = lzma_crc32(out + bh, hs - 4, 0);
		memcpy(out + bh + hs - 4, &crc, 4);
	}
	is_int(list_bytes(out, k, &names, &err), -EFBIG,
	       "an xz initrd asking for a 4 GiB dictionary is refused");
	ok(err && strstr(err, "more than 128 MiB of memory"), "... naming the limit: %s",
	   err ? err : "");
	free(err);
	err = NULL;

	/* a newc header claiming a 4 GiB name */
	n = newc(cpio, "x", "");
	memcpy(cpio + 6 + 11 * 8, "FFFFFF00", 8);
	k = zstd_frame(out, cpio, n, 0);
	is_int(list_bytes(out, k, &names, &err), -EBADMSG, "a 4 GiB name is refused");
	free(err);
	err = NULL;

	/* one entry of 4 GiB of zeros: stops at the 2 GiB limit */
	n = newc(cpio, "big", "");
	memcpy(cpio + 6 + 6 * 8, "FFFFFFFF", 8);
	k = zstd_frame(out, cpio, n, 16384 + 64); /* 2 GiB and 8 MiB */
	is_int(list_bytes(out, k, &names, &err), -EFBIG, "an initrd unpacking to 4 GiB is refused");
	ok(err && strstr(err, "more than 2048 MiB"), "... naming the limit: %s", err ? err : "");
	free(err);
}

static void test_formats(void)
{
	ok(output_format_find("vhd") && streq(output_format_find("vhd")->qemu_format, "vpc"),
	   "vhd is qemu-img's vpc");
	ok(strstr(output_format_find("vhd")->options, "fixed"), "... fixed, for Azure");
	ok(!output_format_find("raw")->qemu_format, "raw needs no conversion");
	ok(!output_format_find("qcow"), "unknown format");
}

int main(void)
{
	tap_tmpdir();
	test_uuid();
	test_recipe();
	test_initrd();
	test_initrd_bounds();
	test_formats();
	return tap_done();
}
