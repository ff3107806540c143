/* SPDX-License-Identifier: MIT */
/*
 * test-bmap.c - the block map: made from a sparse file with zero blocks
 * written as data, formatted, parsed back, and refused when tampered with.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "builder/image/bmap.h"
#include "lib/basic/macro.h"
#include "tap.h"

static void put(int fd, uint64_t off, char c, size_t n)
{
	char buf[3 * BMAP_BLOCK_SIZE];
	memset(buf, c, sizeof(buf));
	if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
		abort();
}

static int parse_text(const char *text, struct bmap **ret, char **msg)
{
	return bmap_parse(text, strlen(text), ret, msg);
}

static void test_roundtrip(void)
{
	_cleanup_close_ int fd = open("img", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	_cleanup_bmap_ struct bmap *b = NULL, *p = NULL;
	_cleanup_free_ char *text = NULL, *msg = NULL;
	size_t len;
	const uint64_t size = 64 * BMAP_BLOCK_SIZE + 100; /* a partial last block */

	ok(fd >= 0 && ftruncate(fd, (off_t)size) == 0, "sparse image made");
	put(fd, 0, 'a', 2 * BMAP_BLOCK_SIZE);			 /* blocks 0-1 */
	put(fd, 2 * BMAP_BLOCK_SIZE, 0, BMAP_BLOCK_SIZE);	 /* block 2: zeros written */
	put(fd, 3 * BMAP_BLOCK_SIZE + 10, 'b', 1);		 /* block 3, one byte */
	put(fd, 10 * BMAP_BLOCK_SIZE, 'c', 3 * BMAP_BLOCK_SIZE); /* blocks 10-12 */
	put(fd, 64 * BMAP_BLOCK_SIZE, 'd', 100);		 /* the partial last block */

	is_int(bmap_from_fd(fd, size, &b), 0, "mapped");
	is_int((int)b->n_ranges, 4, "four runs: 0-1, 3 (block 2 is zeros), 10-12, 64");
	ok(b->n_ranges == 4 && b->ranges[0].first == 0 && b->ranges[0].last == 1, "run 0-1");
	ok(b->n_ranges == 4 && b->ranges[1].first == 3 && b->ranges[1].last == 3, "run 3");
	is_int((int)b->blocks_count, 65, "65 blocks, the last partial");
	ok(b->n_ranges == 4 && b->ranges[3].first == 64 &&
		   bmap_range_length(b, &b->ranges[3]) == 100,
	   "the last run is the partial block's 100 bytes");

	is_int(bmap_format(b, &text, &len), 0, "formatted");
	is_int(bmap_parse(text, len, &p, &msg), 0, "parsed back");
	ok(p && p->n_ranges == b->n_ranges && p->mapped_count == b->mapped_count &&
		   p->image_size == size &&
		   memcmp(p->ranges, b->ranges, b->n_ranges * sizeof(*b->ranges)) == 0,
	   "the same map");
}

static void test_tail(void)
{
	_cleanup_close_ int fd = open("tail", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	_cleanup_bmap_ struct bmap *b = NULL;
	ok(fd >= 0 && ftruncate(fd, 8 * BMAP_BLOCK_SIZE) == 0, "image made");
	put(fd, 6 * BMAP_BLOCK_SIZE, 'x', 2 * BMAP_BLOCK_SIZE);
	is_int(bmap_from_fd(fd, 8 * BMAP_BLOCK_SIZE, &b), 0, "mapped");
	ok(b->n_ranges == 1 && b->ranges[0].first == 6 && b->ranges[0].last == 7,
	   "a run up to the end");
}

static void test_refused(void)
{
	_cleanup_close_ int fd = open("img2", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	_cleanup_bmap_ struct bmap *b = NULL, *p = NULL;
	_cleanup_free_ char *text = NULL;
	size_t len;

	ok(fd >= 0 && ftruncate(fd, 16 * BMAP_BLOCK_SIZE) == 0, "image made");
	put(fd, 4 * BMAP_BLOCK_SIZE, 'q', BMAP_BLOCK_SIZE);
	is_int(bmap_from_fd(fd, 16 * BMAP_BLOCK_SIZE, &b), 0, "mapped");
	is_int(bmap_format(b, &text, &len), 0, "formatted");

	char *at = strstr(text, "> 4 <");
	ok(at != NULL, "the range is in the text");
	if (at) {
		_cleanup_free_ char *msg = NULL;
		at[2] = '5';
		is_int(bmap_parse(text, len, &p, &msg), -EBADMSG, "a changed range is refused");
		ok(msg && strstr(msg, "checksum"), "... by the file's checksum: %s", msg);
		at[2] = '4';
	}

	static const char *const bad[] = {
		"",
		"<bmap version=\"3.0\"></bmap>",
		"<bmap version=\"2.0\"><ImageSize> 4096 </ImageSize></bmap>",
		"<bmap version=\"2.0\"><ImageSize>4096</ImageSize><BlockSize>4096</BlockSize>"
		"<BlocksCount>2</BlocksCount><MappedBlocksCount>0</MappedBlocksCount>"
		"<ChecksumType>sha256</ChecksumType><BmapFileChecksum>00</BmapFileChecksum>"
		"<BlockMap></BlockMap></bmap>",
		"<bmap version=\"2.0\"><ImageSize>4096</ImageSize><BlockSize>4096</BlockSize>"
		"<BlocksCount>1</BlocksCount><MappedBlocksCount>1</MappedBlocksCount>"
		"<ChecksumType>md5</ChecksumType>",
		"<bmap version=\"2.0\"><ImageSize>4096</ImageSize><BlockSize>4096</BlockSize>"
		"<BlocksCount>1</BlocksCount><MappedBlocksCount>1</MappedBlocksCount>"
		"<ChecksumType>sha256</ChecksumType><BmapFileChecksum>0</BmapFileChecksum>"
		"<BlockMap><Range> 0 </Range></BlockMap></bmap>",
		"<bmap version=\"2.0\"><ImageSize>4096</ImageSize><BlockSize>4096</BlockSize>"
		"<BlocksCount>1</BlocksCount><MappedBlocksCount>1</MappedBlocksCount>"
		"<ChecksumType>sha256</ChecksumType><BmapFileChecksum>0</BmapFileChecksum>"
		"<BlockMap><Range chksum=\"00\"> 5-2 </Range></BlockMap></bmap>",
		"<bmap version=\"2.0\"><!-- unterminated",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_bmap_ struct bmap *q = NULL;
		_cleanup_free_ char *msg = NULL;
		int r = parse_text(bad[i], &q, &msg);
		ok(r < 0 && msg && q == NULL, "bad bmap %zu refused: %s", i, msg ? msg : "(none)");
	}
}

int main(void)
{
	tap_tmpdir();
	test_roundtrip();
	test_tail();
	test_refused();
	return tap_done();
}
