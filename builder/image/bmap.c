/* SPDX-License-Identifier: MIT */
/*
 * bmap.c - the block map of a raw image (see bmap.h): made from the image's
 * data regions in one pass, written and read in bmaptool's XML format 2.0,
 * so `bmaptool copy` takes ours and `enlighten deploy` takes bmaptool's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/image/bmap.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define READ_CHUNK (1u << 20) /* a multiple of BMAP_BLOCK_SIZE */

void bmap_free(struct bmap *b)
{
	if (!b)
		return;
	free(b->ranges);
	free(b);
}

uint64_t bmap_range_length(const struct bmap *b, const struct bmap_range *r)
{
	uint64_t end = MIN((r->last + 1) * b->block_size, b->image_size);
	return end - r->first * b->block_size;
}

static int bmap_add_range(struct bmap *b, uint64_t first, uint64_t last,
			  const uint8_t sha[SHA256_DIGEST_SIZE], size_t *allocated)
{
	if (b->n_ranges == *allocated) {
		size_t n = *allocated ? *allocated * 2 : 64;
		struct bmap_range *p = reallocarray(b->ranges, n, sizeof(*p));
		if (!p)
			return -ENOMEM;
		b->ranges = p;
		*allocated = n;
	}
	struct bmap_range *r = &b->ranges[b->n_ranges++];
	r->first = first;
	r->last = last;
	memcpy(r->sha256, sha, SHA256_DIGEST_SIZE);
	b->mapped_count += last - first + 1;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* The run being hashed while the image is read. */
struct run {
	struct sha256 *h; /* NULL when no run is open */
	uint64_t first;	  /* its first block */
	uint64_t next;	  /* the block after its last */
	size_t allocated; /* of the bmap's ranges */
};

static int run_close(struct bmap *b, struct run *run)
{
	uint8_t sha[SHA256_DIGEST_SIZE];
	if (!run->h)
		return 0;
	int r = sha256_final(run->h, sha);
	sha256_free(TAKE_PTR(run->h));
	if (r < 0)
		return r;
	return bmap_add_range(b, run->first, run->next - 1, sha, &run->allocated);
}

/* Feeds n bytes read at block `block` (n a multiple of the block size, or the
 * image's partial last block) into the runs: zero blocks end a run. */
static int run_feed(struct bmap *b, struct run *run, uint64_t block, const uint8_t *p, size_t n)
{
	const size_t bs = b->block_size;
	for (size_t i = 0; i < n;) {
		size_t len = MIN(bs, n - i), span = 0;
		if (all_zero(p + i, len)) {
			int r = run_close(b, run);
			if (r < 0)
				return r;
			i += len;
			block++;
			continue;
		}
		if (run->h && run->next != block) {
			int r = run_close(b, run);
			if (r < 0)
				return r;
		}
		if (!run->h) {
			int r = sha256_new(&run->h);
			if (r < 0)
				return r;
			run->first = block;
		}
		/* the blocks that follow and are not zeros go in one update */
		while (i + span < n && !all_zero(p + i + span, MIN(bs, n - i - span)))
			span += MIN(bs, n - i - span);
		int r = sha256_update(run->h, p + i, span);
		if (r < 0)
			return r;
		i += span;
		block += (span + bs - 1) / bs;
		run->next = block;
	}
	return 0;
}

/* Reads [from, to) of fd (block-aligned but for the image's end) into the runs. */
static int read_region(struct bmap *b, struct run *run, int fd, uint8_t *buf, uint64_t from,
		       uint64_t to)
{
	while (from < to) {
		size_t want = (size_t)MIN((uint64_t)READ_CHUNK, to - from);
		ssize_t k = pread(fd, buf, want, (off_t)from);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if ((size_t)k != want)
			return -EIO; /* the image shrank under us */
		int r = run_feed(b, run, from / b->block_size, buf, want);
		if (r < 0)
			return r;
		from += want;
	}
	return 0;
}

/* A run never crosses a multiple of BMAP_SEGMENT: the segments are mapped
 * on threads of their own, and the map stays the same whatever their number. */
#define BMAP_SEGMENT (UINT64_C(64) << 20)
#define BMAP_THREADS_MAX 4

struct segment {
	uint64_t start, end;
	struct bmap part; /* its runs */
	int result;
};

struct map_job {
	int fd;
	struct segment *segs;
	size_t n_segs;
	atomic_size_t next;
};

static int map_segment(int fd, struct segment *s, uint8_t *buf)
{
	struct run run = {};
	uint64_t off = s->start;
	int r = 0;

	s->part.block_size = BMAP_BLOCK_SIZE;
	s->part.image_size = s->end;
	while (r >= 0 && off < s->end) {
		off_t data = lseek(fd, (off_t)off, SEEK_DATA);
		if (data < 0 && errno == ENXIO) /* a hole up to the end */
			break;
		if (data < 0) /* no SEEK_DATA here: all of it is data */
			data = (off_t)off;
		uint64_t from = MAX(off, (uint64_t)data / BMAP_BLOCK_SIZE * BMAP_BLOCK_SIZE);
		if (from >= s->end)
			break;
		off_t hole = lseek(fd, (off_t)from, SEEK_HOLE);
		uint64_t to = hole < 0 ? s->end : (uint64_t)hole;
		to = MIN((to + BMAP_BLOCK_SIZE - 1) / BMAP_BLOCK_SIZE * BMAP_BLOCK_SIZE, s->end);
		if (to <= from)
			to = MIN(from + BMAP_BLOCK_SIZE, s->end);
		r = read_region(&s->part, &run, fd, buf, from, to);
		off = to;
	}
	if (r >= 0)
		r = run_close(&s->part, &run);
	sha256_free(run.h);
	return r;
}

static void *map_worker(void *userdata)
{
	struct map_job *j = userdata;
	_cleanup_free_ uint8_t *buf = malloc(READ_CHUNK);
	for (;;) {
		size_t i = atomic_fetch_add(&j->next, 1);
		if (i >= j->n_segs)
			break;
		j->segs[i].result = buf ? map_segment(j->fd, &j->segs[i], buf) : -ENOMEM;
	}
	return NULL;
}

/* The segments in order, their runs joined into b. */
static int join_segments(struct bmap *b, struct segment *segs, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (segs[i].result < 0)
			return segs[i].result;
		total += segs[i].part.n_ranges;
	}
	b->ranges = calloc(MAX(total, (size_t)1), sizeof(*b->ranges));
	if (!b->ranges)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (segs[i].part.n_ranges)
			memcpy(b->ranges + b->n_ranges, segs[i].part.ranges,
			       segs[i].part.n_ranges * sizeof(*b->ranges));
		b->n_ranges += segs[i].part.n_ranges;
		b->mapped_count += segs[i].part.mapped_count;
	}
	return 0;
}

int bmap_from_fd(int fd, uint64_t size, struct bmap **ret)
{
	_cleanup_bmap_ struct bmap *b = calloc(1, sizeof(*b));
	struct map_job j = { .fd = fd,
			     .n_segs = (size_t)((size + BMAP_SEGMENT - 1) / BMAP_SEGMENT) };
	pthread_t threads[BMAP_THREADS_MAX - 1];
	size_t n_threads = 0;
	int r;

	if (!b)
		return -ENOMEM;
	b->image_size = size;
	b->block_size = BMAP_BLOCK_SIZE;
	b->blocks_count = (size + BMAP_BLOCK_SIZE - 1) / BMAP_BLOCK_SIZE;
	j.segs = calloc(MAX(j.n_segs, (size_t)1), sizeof(*j.segs));
	if (!j.segs)
		return -ENOMEM;
	for (size_t i = 0; i < j.n_segs; i++) {
		j.segs[i].start = i * BMAP_SEGMENT;
		j.segs[i].end = MIN((i + 1) * BMAP_SEGMENT, size);
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = MIN((size_t)MAX(cpus, 1L), (size_t)BMAP_THREADS_MAX);
	while (n_threads + 1 < MIN(want, j.n_segs) &&
	       pthread_create(&threads[n_threads], NULL, map_worker, &j) == 0)
		n_threads++;
	map_worker(&j);
	for (size_t i = 0; i < n_threads; i++)
		pthread_join(threads[i], NULL);
	r = join_segments(b, j.segs, j.n_segs);
	for (size_t i = 0; i < j.n_segs; i++)
		free(j.segs[i].part.ranges);
	free(j.segs);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(b);
	return 0;
}

static void human_size(uint64_t n, char *out, size_t len)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	size_t u = 0;
	while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%" PRIu64 " bytes", n);
	else
		snprintf(out, len, "%.1f %s", v, units[u]);
}

/* The text with 64 zeros where the file's checksum goes; *ret_at is its offset. */
static int bmap_text(const struct bmap *b, char **ret_text, size_t *ret_len, size_t *ret_at)
{
	char *text = NULL, hex[SHA256_HEX_SIZE], size_h[32], mapped_h[32];
	size_t len = 0;
	long at;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	human_size(b->image_size, size_h, sizeof(size_h));
	human_size(b->mapped_count * b->block_size, mapped_h, sizeof(mapped_h));
	fprintf(f,
		"<?xml version=\"1.0\" ?>\n"
		"<!-- The block map of a raw image, made by enlighten build: the blocks\n"
		"     that are not all zeros, in runs, each with its SHA-256. Every other\n"
		"     block of the image is zeros. bmaptool's format 2.0. -->\n\n"
		"<bmap version=\"2.0\">\n"
		"    <!-- Image size in bytes: %s -->\n"
		"    <ImageSize> %" PRIu64 " </ImageSize>\n\n"
		"    <!-- Size of a block in bytes -->\n"
		"    <BlockSize> %" PRIu32 " </BlockSize>\n\n"
		"    <!-- Count of blocks in the image file -->\n"
		"    <BlocksCount> %" PRIu64 " </BlocksCount>\n\n"
		"    <!-- Count of mapped blocks: %s or %.1f%% -->\n"
		"    <MappedBlocksCount> %" PRIu64 " </MappedBlocksCount>\n\n"
		"    <!-- Type of checksum used in this file -->\n"
		"    <ChecksumType> sha256 </ChecksumType>\n\n"
		"    <!-- The checksum of this bmap file. When it is calculated, the value of\n"
		"         the checksum has be zero (all ASCII \"0\" symbols).  -->\n"
		"    <BmapFileChecksum> ",
		size_h, b->image_size, b->block_size, b->blocks_count, mapped_h,
		b->blocks_count ? 100.0 * (double)b->mapped_count / (double)b->blocks_count : 0.0,
		b->mapped_count);
	at = ftell(f);
	fprintf(f,
		"%064d </BmapFileChecksum>\n\n"
		"    <!-- The runs of mapped blocks, first-last, with their SHA-256 -->\n"
		"    <BlockMap>\n",
		0);
	for (size_t i = 0; i < b->n_ranges; i++) {
		const struct bmap_range *r = &b->ranges[i];
		hex_encode(r->sha256, SHA256_DIGEST_SIZE, hex);
		if (r->first == r->last)
			fprintf(f, "        <Range chksum=\"%s\"> %" PRIu64 " </Range>\n", hex,
				r->first);
		else
			fprintf(f,
				"        <Range chksum=\"%s\"> %" PRIu64 "-%" PRIu64 " </Range>\n",
				hex, r->first, r->last);
	}
	fputs("    </BlockMap>\n</bmap>\n", f);
	if (ferror(f) | fclose(f)) {
		free(text);
		return -ENOMEM;
	}
	*ret_text = text;
	*ret_len = len;
	*ret_at = (size_t)at;
	return 0;
}

int bmap_format(const struct bmap *b, char **ret_text, size_t *ret_len)
{
	uint8_t sha[SHA256_DIGEST_SIZE];
	char hex[SHA256_HEX_SIZE];
	size_t len, at;
	char *text;
	int r = bmap_text(b, &text, &len, &at);
	if (r < 0)
		return r;
	r = sha256_buffer(text, len, sha);
	if (r < 0) {
		free(text);
		return r;
	}
	hex_encode(sha, SHA256_DIGEST_SIZE, hex);
	memcpy(text + at, hex, SHA256_HEX_SIZE - 1);
	*ret_text = text;
	*ret_len = len;
	return 0;
}
