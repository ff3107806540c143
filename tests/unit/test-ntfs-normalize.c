/* SPDX-License-Identifier: MIT */
/*
 * test-ntfs-normalize.c - the NTFS time normalizer on a volume mkntfs makes
 * here: times set and clamped, $MFTMirr kept equal, a second pass changes
 * nothing, and corrupt or truncated volumes give a message, never a crash
 * (run under ASan by make SANITIZE=1 check).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/windows/ntfs-normalize.h"
#include "lib/basic/macro.h"
#include "lib/basic/spawn.h"
#include "tests/unit/tap.h"

#define VOL_SIZE (4 * 1024 * 1024)
#define EPOCH 1700000000LL
#define NTFS_TIME(t) ((uint64_t)((t) + 11644473600LL) * 10000000ULL)

static uint8_t *good;
static uint32_t cluster, mft_off, mirr_off;

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Writes img (size bytes) as vol.img, normalizes it, reads it back into img
 * when out is set. */
static int run(uint8_t *img, size_t size, bool out, struct ntfs_normalize_stats *st, char **err)
{
	_cleanup_close_ int fd = open("vol.img", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || pwrite(fd, img, size, 0) != (ssize_t)size) {
		printf("Bail out! cannot write vol.img\n");
		exit(1);
	}
	free(*err);
	*err = NULL;
	int r = ntfs_normalize_times(fd, EPOCH, st, err);
	if (out && pread(fd, img, size, 0) != (ssize_t)size) {
		printf("Bail out! cannot read vol.img\n");
		exit(1);
	}
	return r;
}

static uint8_t *copy_good(void)
{
	uint8_t *c = malloc(VOL_SIZE);
	if (!c)
		exit(1);
	return memcpy(c, good, VOL_SIZE);
}

static void test_good(void)
{
	struct ntfs_normalize_stats st = {};
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ uint8_t *img = copy_good();

	is_int(run(img, VOL_SIZE, true, &st, &err), 0, "a fresh volume normalizes (%s)",
	       err ? err : "no message");
	ok(st.records >= 16, "every metadata file's record read (%llu)",
	   (unsigned long long)st.records);
	ok(st.index_blocks >= 1, "the root's INDX block read (%llu)",
	   (unsigned long long)st.index_blocks);
	ok(st.times > 0, "times changed (%llu)", (unsigned long long)st.times);

	/* record 0, $MFT: $STANDARD_INFORMATION's value at 0x18 of the attribute */
	const uint8_t *rec = img + mft_off;
	const uint8_t *si = rec + (rec[0x14] | rec[0x15] << 8);
	const uint8_t *val = si + (si[0x14] | si[0x15] << 8);
	ok(get32(si) == 0x10, "record 0 starts with $STANDARD_INFORMATION");
	ok(get64(val + 16) == NTFS_TIME(EPOCH), "its MFT change time is the epoch");
	ok(get64(val + 8) <= NTFS_TIME(EPOCH), "its modification time is not later");
	ok(memcmp(img + mft_off, img + mirr_off, 4 * 1024) == 0, "$MFTMirr equals $MFT's start");

	uint8_t *again = malloc(VOL_SIZE);
	memcpy(again, img, VOL_SIZE);
	is_int(run(again, VOL_SIZE, true, &st, &err), 0, "a second pass works");
	is_int(st.times, 0, "and changes no time");
	ok(memcmp(again, img, VOL_SIZE) == 0, "nor any byte");
	free(again);
}

/* Runs a corrupted copy; expects -EBADMSG and a message holding want. */
static void bad(uint8_t *img, size_t size, const char *want, const char *what)
{
	_cleanup_free_ char *err = NULL;
	int r = run(img, size, false, NULL, &err);
	is_int(r, -EBADMSG, "%s: refused", what);
	ok(err && strstr(err, want), "%s: says '%s' (%s)", what, want, err ? err : "no message");
	free(img);
}

static uint8_t *find_indx(uint8_t *img)
{
	return memmem(img + mft_off + 64 * 1024, VOL_SIZE - mft_off - 64 * 1024, "INDX", 4);
}

static void test_bad(void)
{
	uint8_t *img;

	bad(copy_good(), 100, "too short for an NTFS boot sector", "100 bytes");
	img = copy_good();
	memcpy(img + 3, "FAT32   ", 8);
	bad(img, VOL_SIZE, "no NTFS boot sector", "another filesystem");
	img = copy_good();
	img[0x40] = 0;
	bad(img, VOL_SIZE, "bad MFT record or index block size", "record size 0");
	img = copy_good();
	img[0x0d] = 0x90;
	bad(img, VOL_SIZE, "bad sector or cluster size", "cluster size byte 0x90");
	img = copy_good();
	memset(img + 0x30, 0x7f, 8);
	bad(img, VOL_SIZE, "$MFT lies past the end", "MFT cluster past the end");
	bad(copy_good(), mirr_off, "$MFTMirr", "truncated before $MFTMirr");
	bad(copy_good(), mft_off + 5 * 1024 + 100, "past the end", "truncated in the MFT");

	img = copy_good();
	img[mft_off + 5 * 1024 + 510] ^= 0xff;
	bad(img, VOL_SIZE, "MFT record 5: update sequence mismatch", "a torn record");
	img = copy_good();
	uint8_t *rec = img + mft_off + 5 * 1024;
	uint16_t first = (uint16_t)(rec[0x14] | rec[0x15] << 8);
	rec[first + 4] = 0xf8;
	rec[first + 5] = 0x7f;
	bad(img, VOL_SIZE, "MFT record 5: attribute at 0x", "an attribute longer than its record");
	img = copy_good();
	rec = img + mft_off + 5 * 1024;
	memset(rec + 0x18, 0xff, 4); /* bytes in use */
	bad(img, VOL_SIZE, "attributes outside the record", "a record's used size too large");
	img = copy_good();
	rec = img + mft_off + 3 * 1024;
	memcpy(rec, "BAAD", 4);
	bad(img, VOL_SIZE, "MFT record 3: no FILE signature", "a record marked bad");

	img = copy_good();
	uint8_t *indx = find_indx(img);
	ok(indx != NULL, "the volume has an INDX block");
	if (indx) {
		memcpy(indx, "XXXX", 4);
		bad(img, VOL_SIZE, "directory index: no INDX signature",
		    "an INDX block overwritten");
		img = copy_good();
		indx = find_indx(img);
		uint32_t eo = get32(indx + 0x18);
		indx[0x18 + eo + 8] = 3; /* the first entry's length */
		bad(img, VOL_SIZE, "has a bad length", "an index entry of length 3");
		img = copy_good();
		indx = find_indx(img);
		memset(indx + 0x1c, 0xff, 4); /* index length */
		bad(img, VOL_SIZE, "index entries outside their node",
		    "an index longer than its block");
	} else {
		free(img);
	}
}

/* Random damage to the MFT records and the INDX blocks: each run ends in 0
 * or -EBADMSG with a message, and (under ASan) never reads out of bounds. */
static void test_damage(void)
{
	_cleanup_free_ uint8_t *img = malloc(VOL_SIZE);
	_cleanup_free_ char *err = NULL;
	uint8_t *indx = find_indx(good);
	size_t indx_off = indx ? (size_t)(indx - good) : mft_off;
	unsigned bad_runs = 0, refused = 0;

	srand(1);
	for (int i = 0; i < 300; i++) {
		memcpy(img, good, VOL_SIZE);
		int n = 1 + rand() % 8;
		for (int k = 0; k < n; k++) {
			size_t base = rand() % 2 ? mft_off : indx_off;
			size_t span = base == mft_off ? 27 * 1024 : 4096;
			img[base + (size_t)rand() % span] = (uint8_t)rand();
		}
		int r = run(img, VOL_SIZE, false, NULL, &err);
		if (r == -EBADMSG && err)
			refused++;
		else if (r != 0)
			bad_runs++;
	}
	is_int(bad_runs, 0, "300 damaged volumes: each normalized or refused with a message");
	ok(refused > 0, "some were refused (%u)", refused);
}

int main(void)
{
	tap_tmpdir();
	char *const argv[] = { "mkntfs", "--force", "--fast", "--quiet", "--zero-time", "-s",
			       "512",	 "-c",	    "512",    "-p",	 "0",		"-H",
			       "255",	 "-S",	    "63",     "new.img", NULL };
	struct spawn_result res = {};
	_cleanup_close_ int fd = open("new.img", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, VOL_SIZE) < 0) {
		printf("Bail out! cannot make new.img\n");
		return 1;
	}
	int r = spawn_run(argv, NULL, &res);
	if (r < 0 || res.exit_status != 0) {
		printf("1..0 # SKIP mkntfs (package ntfs-3g) is not installed or failed\n");
		spawn_result_done(&res);
		return 0;
	}
	spawn_result_done(&res);
	good = malloc(VOL_SIZE);
	if (!good || pread(fd, good, VOL_SIZE, 0) != VOL_SIZE) {
		printf("Bail out! cannot read new.img\n");
		return 1;
	}
	cluster = (uint32_t)(good[0x0b] | good[0x0c] << 8) * good[0x0d];
	mft_off = (uint32_t)(get64(good + 0x30) * cluster);
	mirr_off = (uint32_t)(get64(good + 0x38) * cluster);

	test_good();
	test_bad();
	test_damage();
	free(good);
	return tap_done();
}
