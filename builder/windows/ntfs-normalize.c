/* SPDX-License-Identifier: MIT */
/*
 * ntfs-normalize.c - the time stamps of an NTFS volume made fixed after
 * wimlib applied an image into it through libntfs-3g.
 *
 * wimlib sets each file's creation, modification and access times from the
 * WIM, but libntfs-3g stamps the "MFT record changed" time of everything it
 * touches with the clock, in $STANDARD_INFORMATION, in $FILE_NAME and in the
 * copies of $FILE_NAME that the parent directory's index ($I30) keeps. This
 * file reads the volume's own structures (boot sector, $MFT data runs, MFT
 * records, INDX blocks), changes those times in place and writes back what
 * changed. No libntfs-3g: it would stamp the clock again.
 *
 * Layouts follow the NTFS on-disk format as libntfs-3g (layout.h) and
 * Microsoft's documentation describe it. All numbers are little-endian.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/windows/ntfs-normalize.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"

#define NTFS_BLOCK 512		       /* the stride of update sequence fixups */
#define NTFS_EPOCH_DELTA 11644473600LL /* seconds from 1601-01-01 to 1970-01-01 */
#define NTFS_TICKS 10000000LL	       /* 100 ns units per second */
#define RECORD_CHUNK 64		       /* MFT records read at once */

enum {
	AT_STANDARD_INFORMATION = 0x10,
	AT_FILE_NAME = 0x30,
	AT_DATA = 0x80,
	AT_INDEX_ROOT = 0x90,
	AT_INDEX_ALLOCATION = 0xa0,
	AT_END = 0xffffffff,
};

#define INDEX_ENTRY_LAST 0x02
#define FILE_NAME_MIN 0x42 /* $FILE_NAME value without its name */

/* Offsets of the four times in $STANDARD_INFORMATION (those of a
 * $FILE_NAME are 8 further on, after the parent reference); the third is
 * the MFT record's change time. */
#define TIME_CHANGED 2

struct run {
	uint64_t vcn, lcn, len; /* clusters */
	bool sparse;
};

struct runlist {
	struct run *runs;
	size_t n;
	uint64_t start, end; /* byte range of the attribute that the runs map */
};

struct vol {
	int fd;
	uint64_t file_size;
	uint32_t cluster;
	uint32_t record;
	uint32_t index_block;
	uint64_t time; /* the NTFS time everything is set or clamped to */
	struct ntfs_normalize_stats stats;
	char **reterr_msg;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static bool is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static void runlist_done(struct runlist *l)
{
	free(l->runs);
	*l = (struct runlist){};
}

/* pread/pwrite of all of len at off, which must lie inside the file. */
static int io_full(struct vol *v, bool write, void *buf, size_t len, uint64_t off)
{
	if (off > v->file_size || len > v->file_size - off)
		return errmsg_set(v->reterr_msg, -EBADMSG,
				  "byte %" PRIu64 " lies past the end of the volume", off);
	for (size_t done = 0; done < len;) {
		ssize_t n = write ? pwrite(v->fd, (uint8_t *)buf + done, len - done,
					   (off_t)(off + done))
				  : pread(v->fd, (uint8_t *)buf + done, len - done,
					  (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errmsg_set(v->reterr_msg, negative_errno(),
					  "cannot %s byte %" PRIu64 " of the volume: %m",
					  write ? "write" : "read", off + done);
		if (n == 0)
			return errmsg_set(v->reterr_msg, -EIO,
					  "the volume ends early at byte %" PRIu64, off + done);
		done += (size_t)n;
	}
	return 0;
}

/* Reads or writes len bytes at byte vpos of a non-resident attribute through
 * its runs. Sparse parts read as zeros and are never written. */
static int runlist_io(struct vol *v, const struct runlist *l, bool write, uint8_t *buf, size_t len,
		      uint64_t vpos)
{
	while (len > 0) {
		uint64_t vcn = vpos / v->cluster;
		const struct run *r = NULL;
		for (size_t i = 0; i < l->n && !r; i++)
			if (vcn >= l->runs[i].vcn && vcn - l->runs[i].vcn < l->runs[i].len)
				r = &l->runs[i];
		if (!r)
			return errmsg_set(v->reterr_msg, -EBADMSG,
					  "no data run maps cluster %" PRIu64, vcn);
		uint64_t run_end = (r->vcn + r->len) * v->cluster;
		size_t n = (size_t)MIN((uint64_t)len, run_end - vpos);
		if (r->sparse) {
			if (write)
				return errmsg_set(v->reterr_msg, -EBADMSG,
						  "cannot write into a sparse run");
			memset(buf, 0, n);
		} else {
			uint64_t phys = (r->lcn + (vcn - r->vcn)) * v->cluster + vpos % v->cluster;
			int k = io_full(v, write, buf, n, phys);
			if (k < 0)
				return k;
		}
		buf += n, vpos += n, len -= n;
	}
	return 0;
}

/* Decodes the mapping pairs of the non-resident attribute at a (len bytes,
 * checked by the caller to hold the 0x40-byte header). */
static int runlist_decode(struct vol *v, const uint8_t *a, uint32_t len, struct runlist *ret)
{
	uint64_t vcn = get64(a + 0x10), last = get64(a + 0x18);
	uint16_t mp = get16(a + 0x20);
	uint64_t data_size = get64(a + 0x30);
	int64_t lcn = 0;
	struct runlist l = {};

	if (mp < 0x40 || mp >= len)
		return errmsg_set(v->reterr_msg, -EBADMSG, "mapping pairs outside the attribute");
	if (vcn > last || last >= v->file_size / v->cluster)
		return errmsg_set(v->reterr_msg, -EBADMSG,
				  "clusters %" PRIu64 "-%" PRIu64 " lie past the end of the volume",
				  vcn, last);
	l.start = vcn * v->cluster;
	l.end = MIN((last + 1) * v->cluster, data_size);
	for (uint32_t p = mp; p < len && a[p] != 0;) {
		unsigned nlen = a[p] & 0x0f, noff = a[p] >> 4;
		if (nlen == 0 || nlen > 8 || noff > 8 || p + 1 + nlen + noff > len) {
			free(l.runs);
			return errmsg_set(v->reterr_msg, -EBADMSG, "bad mapping pair");
		}
		uint64_t count = 0;
		for (unsigned i = 0; i < nlen; i++)
			count |= (uint64_t)a[p + 1 + i] << (8 * i);
		uint64_t delta = 0;
		for (unsigned i = 0; i < noff; i++)
			delta |= (uint64_t)a[p + 1 + nlen + i] << (8 * i);
		if (noff > 0 && noff < 8 && (delta >> (8 * noff - 1)) & 1)
			delta |= ~0ULL << (8 * noff); /* sign extension */
		lcn = (int64_t)((uint64_t)lcn + delta);
		uint64_t clusters = v->file_size / v->cluster;
		if (count == 0 || count > clusters || vcn + count - 1 > last ||
		    (noff > 0 && (lcn < 0 || (uint64_t)lcn > clusters - count))) {
			free(l.runs);
			return errmsg_set(v->reterr_msg, -EBADMSG,
					  "a data run lies outside the volume");
		}
		struct run *nr = reallocarray(l.runs, l.n + 1, sizeof(*nr));
		if (!nr) {
			free(l.runs);
			return -ENOMEM;
		}
		l.runs = nr;
		l.runs[l.n++] = (struct run){ vcn, (uint64_t)lcn, count, noff == 0 };
		vcn += count;
		p += 1 + nlen + noff;
	}
	*ret = l;
	return 0;
}

/* Checks and undoes the update sequence fixups of a record or INDX block of
 * size bytes (a multiple of NTFS_BLOCK). */
static int fixup_read(struct vol *v, uint8_t *b, size_t size)
{
	uint16_t ofs = get16(b + 4), count = get16(b + 6);
	if (count != size / NTFS_BLOCK + 1 || ofs < 8 || ofs % 2 != 0 ||
	    (size_t)ofs + 2u * count > size)
		return errmsg_set(v->reterr_msg, -EBADMSG, "bad update sequence array");
	for (uint16_t i = 1; i < count; i++) {
		uint8_t *end = b + i * NTFS_BLOCK - 2;
		if (memcmp(end, b + ofs, 2) != 0)
			return errmsg_set(v->reterr_msg, -EBADMSG,
					  "update sequence mismatch (a torn write)");
		memcpy(end, b + ofs + 2 * i, 2);
	}
	return 0;
}

/* The inverse of fixup_read (the same sequence number, checked there). */
static void fixup_write(uint8_t *b)
{
	uint16_t ofs = get16(b + 4), count = get16(b + 6);
	for (uint16_t i = 1; i < count; i++) {
		uint8_t *end = b + i * NTFS_BLOCK - 2;
		memcpy(b + ofs + 2 * i, end, 2);
		memcpy(end, b + ofs, 2);
	}
}

/* The four times at p: the change time set, the others clamped. */
static bool fix_times(struct vol *v, uint8_t *p)
{
	bool changed = false;
	for (int i = 0; i < 4; i++) {
		uint64_t t = get64(p + 8 * i);
		uint64_t nt = i == TIME_CHANGED || t > v->time ? v->time : t;
		if (nt != t) {
			put64(p + 8 * i, nt);
			v->stats.times++;
			changed = true;
		}
	}
	return changed;
}

/* Bytes past what a node or record uses keep what libntfs-3g left there,
 * entries moved out of an index root among them, with the clock's times:
 * zeroed, so the volume depends on its contents alone. */
static int zero_slack(uint8_t *p, size_t used, size_t end, bool *changed)
{
	for (size_t i = used; i < end; i++)
		if (p[i]) {
			memset(p + used, 0, end - used);
			*changed = true;
			break;
		}
	return 0;
}

/* The entries of an index node (p, len bytes, from its index header), whose
 * keys are $FILE_NAME values. */
static int fix_index_entries(struct vol *v, uint8_t *h, size_t len, bool *changed)
{
	if (len < 16)
		return errmsg_set(v->reterr_msg, -EBADMSG, "index header too short");
	uint32_t first = get32(h), used = get32(h + 4);
	if (first < 16 || first > used || used > len)
		return errmsg_set(v->reterr_msg, -EBADMSG, "index entries outside their node");
	for (uint32_t off = first;;) {
		if (used - off < 16)
			return errmsg_set(v->reterr_msg, -EBADMSG,
					  "index node without a last entry");
		uint8_t *e = h + off;
		uint16_t elen = get16(e + 8), klen = get16(e + 10), flags = get16(e + 12);
		if (elen < 16 || elen % 8 != 0 || elen > used - off)
			return errmsg_set(v->reterr_msg, -EBADMSG,
					  "index entry at 0x%" PRIx32 " has a bad length", off);
		if (flags & INDEX_ENTRY_LAST)
			return zero_slack(h, used, MIN((size_t)get32(h + 8), len), changed);
		if (klen < FILE_NAME_MIN || klen > elen - 16u)
			return errmsg_set(v->reterr_msg, -EBADMSG,
					  "index entry at 0x%" PRIx32 " has a bad file name", off);
		if (fix_times(v, e + 16 + 8))
			*changed = true;
		off += elen;
	}
}

/* Every INDX block of the non-resident $I30 $INDEX_ALLOCATION at a. */
static int fix_index_allocation(struct vol *v, const uint8_t *a, uint32_t len, uint32_t block)
{
	_cleanup_free_ uint8_t *b = NULL;
	struct runlist l = {};
	int r = runlist_decode(v, a, len, &l);
	if (r < 0)
		return r;
	if (!(b = malloc(block))) {
		runlist_done(&l);
		return -ENOMEM;
	}
	for (uint64_t pos = l.start; pos < l.end && l.end - pos >= block; pos += block) {
		bool changed = false;
		r = runlist_io(v, &l, false, b, block, pos);
		if (r < 0)
			break;
		if (get32(b) == 0)
			continue; /* never used */
		v->stats.index_blocks++;
		if (memcmp(b, "INDX", 4) != 0) {
			r = errmsg_set(v->reterr_msg, -EBADMSG, "no INDX signature");
			break;
		}
		if ((r = fixup_read(v, b, block)) < 0 ||
		    (r = fix_index_entries(v, b + 0x18, block - 0x18, &changed)) < 0)
			break;
		if (changed) {
			fixup_write(b);
			if ((r = runlist_io(v, &l, true, b, block, pos)) < 0)
				break;
		}
	}
	runlist_done(&l);
	return r < 0 ? errmsg_prefix(v->reterr_msg, r, "directory index") : r;
}

/* True when the attribute at a (len bytes) is named "$I30". */
static bool named_i30(const uint8_t *a, uint32_t len)
{
	static const uint8_t i30[] = { '$', 0, 'I', 0, '3', 0, '0', 0 };
	uint16_t off = get16(a + 10);
	return a[9] == 4 && off <= len && len - off >= sizeof(i30) && !memcmp(a + off, i30, 8);
}

/* The resident value of the attribute at a, or NULL when it does not fit. */
static uint8_t *resident_value(uint8_t *a, uint32_t len, uint32_t min, uint32_t *ret_len)
{
	uint32_t vlen = get32(a + 0x10);
	uint16_t voff = get16(a + 0x14);
	if (voff < 0x18 || voff > len || vlen > len - voff || vlen < min)
		return NULL;
	*ret_len = vlen;
	return a + voff;
}

/* One MFT record (fixups undone), its times fixed in place; the INDX blocks
 * of its directory index are fixed and written here when indexes is set. */
static int fix_record(struct vol *v, uint8_t *rec, bool indexes, bool *changed)
{
	uint16_t first = get16(rec + 0x14);
	uint32_t used = get32(rec + 0x18);
	uint32_t block = v->index_block;

	if (used > v->record || first < 0x30 || first >= used)
		return errmsg_set(v->reterr_msg, -EBADMSG, "attributes outside the record");
	for (uint32_t off = first;;) {
		if (used - off < 4)
			return errmsg_set(v->reterr_msg, -EBADMSG, "no end of attributes");
		uint8_t *a = rec + off;
		uint32_t type = get32(a);
		if (type == AT_END)
			return zero_slack(rec, used, v->record, changed);
		if (used - off < 0x18)
			return errmsg_set(v->reterr_msg, -EBADMSG,
					  "attribute at 0x%" PRIx32 " runs past the record", off);
		uint32_t len = get32(a + 4);
		bool nonres = a[8] != 0;
		if (len < (nonres ? 0x40u : 0x18u) || len % 8 != 0 || len > used - off)
			return errmsg_set(v->reterr_msg, -EBADMSG,
					  "attribute at 0x%" PRIx32 " has a bad length", off);

		uint8_t *val;
		uint32_t vlen;
		if (nonres) {
			if (type == AT_INDEX_ALLOCATION && indexes && named_i30(a, len)) {
				int r = fix_index_allocation(v, a, len, block);
				if (r < 0)
					return r;
			}
		} else if (type == AT_STANDARD_INFORMATION || type == AT_FILE_NAME) {
			bool fn = type == AT_FILE_NAME;
			if (!(val = resident_value(a, len, fn ? FILE_NAME_MIN : 32, &vlen)))
				return errmsg_set(v->reterr_msg, -EBADMSG,
						  "attribute 0x%" PRIx32 " is too short", type);
			if (fix_times(v, val + (fn ? 8 : 0)))
				*changed = true;
		} else if (type == AT_INDEX_ROOT && named_i30(a, len)) {
			if (!(val = resident_value(a, len, 0x20, &vlen)))
				return errmsg_set(v->reterr_msg, -EBADMSG, "index root too short");
			block = get32(val + 8);
			if (get32(val) != AT_FILE_NAME || block < NTFS_BLOCK || !is_pow2(block) ||
			    block > 65536)
				return errmsg_set(v->reterr_msg, -EBADMSG,
						  "not a file name index, or a bad block size");
			int r = fix_index_entries(v, val + 0x10, vlen - 0x10, changed);
			if (r < 0)
				return r;
		}
		off += len;
	}
}

/* Reads the records [first, first + n) of the attribute mapped by l,
 * fixes and writes back each that changed. */
static int fix_records(struct vol *v, const struct runlist *l, uint64_t n, bool indexes,
		       const char *what)
{
	_cleanup_free_ uint8_t *buf = malloc((size_t)RECORD_CHUNK * v->record);
	if (!buf)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i += RECORD_CHUNK) {
		size_t m = (size_t)MIN((uint64_t)RECORD_CHUNK, n - i);
		int r = runlist_io(v, l, false, buf, m * v->record, i * v->record);
		for (size_t j = 0; r >= 0 && j < m; j++) {
			uint8_t *rec = buf + j * v->record;
			bool changed = false;
			if (get32(rec) == 0)
				continue; /* never formatted */
			v->stats.records++;
			if (memcmp(rec, "FILE", 4) != 0)
				r = errmsg_set(v->reterr_msg, -EBADMSG, "no FILE signature");
			if (r >= 0)
				r = fixup_read(v, rec, v->record);
			if (r >= 0)
				r = fix_record(v, rec, indexes, &changed);
			if (r >= 0 && changed) {
				fixup_write(rec);
				r = runlist_io(v, l, true, rec, v->record, (i + j) * v->record);
			}
			if (r < 0) {
				char where[64];
				snprintf(where, sizeof(where), "%s record %" PRIu64, what, i + j);
				return errmsg_prefix(v->reterr_msg, r, "%s", where);
			}
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* The unnamed $DATA of the record rec (fixups undone): its runs and how
 * many whole records they hold. */
static int record_data(struct vol *v, uint8_t *rec, struct runlist *ret, uint64_t *ret_n)
{
	uint16_t first = get16(rec + 0x14);
	uint32_t used = get32(rec + 0x18);
	if (memcmp(rec, "FILE", 4) != 0)
		return errmsg_set(v->reterr_msg, -EBADMSG, "no FILE signature");
	int r = fixup_read(v, rec, v->record);
	if (r < 0)
		return r;
	if (used > v->record || first < 0x30 || first >= used)
		return errmsg_set(v->reterr_msg, -EBADMSG, "attributes outside the record");
	for (uint32_t off = first; used - off >= 0x18;) {
		uint8_t *a = rec + off;
		uint32_t len = get32(a + 4);
		if (get32(a) == AT_END || len < 0x18 || len % 8 != 0 || len > used - off)
			break;
		if (get32(a) == AT_DATA && a[8] != 0 && a[9] == 0 && len >= 0x40) {
			if (get64(a + 0x10) != 0)
				break;
			r = runlist_decode(v, a, len, ret);
			if (r < 0)
				return r;
			/* all of the data must be in this one extent */
			if (ret->end < get64(a + 0x30)) {
				runlist_done(ret);
				return errmsg_set(v->reterr_msg, -EBADMSG,
						  "$DATA continues in another record "
						  "(an attribute list), which is not supported");
			}
			*ret_n = (ret->end - ret->start) / v->record;
			return 0;
		}
		off += len;
	}
	return errmsg_set(v->reterr_msg, -EBADMSG, "no non-resident $DATA");
}

/* Cluster and record sizes: a byte from the boot sector, either a count of
 * clusters or, negative, the log2 of bytes. */
static uint64_t boot_size(int8_t b, uint32_t cluster)
{
	if (b > 0)
		return (uint64_t)b * cluster;
	if (b <= -9 && b >= -16)
		return 1ULL << -b;
	return 0;
}

static int read_boot(struct vol *v, uint8_t bs[static 512])
{
	if (v->file_size < 512)
		return errmsg_set(v->reterr_msg, -EBADMSG, "too short for an NTFS boot sector");
	int r = io_full(v, false, bs, 512, 0);
	if (r < 0)
		return r;
	if (memcmp(bs + 3, "NTFS    ", 8) != 0 || bs[510] != 0x55 || bs[511] != 0xaa)
		return errmsg_set(v->reterr_msg, -EBADMSG, "no NTFS boot sector");
	uint16_t sector = get16(bs + 0x0b);
	uint8_t spc = bs[0x0d];
	uint64_t per = spc <= 0x80 ? spc : spc >= 0xf4 ? 1ULL << (256 - spc) : 0;
	if (sector < 256 || sector > 4096 || !is_pow2(sector) || !is_pow2(per) ||
	    per * sector > 2 * 1024 * 1024)
		return errmsg_set(v->reterr_msg, -EBADMSG, "bad sector or cluster size");
	v->cluster = (uint32_t)(per * sector);
	uint64_t record = boot_size((int8_t)bs[0x40], v->cluster);
	uint64_t index = boot_size((int8_t)bs[0x44], v->cluster);
	if (record < 1024 || record > 65536 || !is_pow2(record) || index < NTFS_BLOCK ||
	    index > 65536 || !is_pow2(index))
		return errmsg_set(v->reterr_msg, -EBADMSG, "bad MFT record or index block size");
	v->record = (uint32_t)record;
	v->index_block = (uint32_t)index;
	return 0;
}

int ntfs_normalize_times(int fd, int64_t epoch, struct ntfs_normalize_stats *ret_stats,
			 char **reterr_msg)
{
	struct vol v = { .fd = fd, .reterr_msg = reterr_msg };
	struct runlist mft = {}, mirror = {};
	uint64_t n_mft = 0, n_mirror = 0;
	uint8_t boot[512];
	struct stat st;
	int r;

	if (epoch < -NTFS_EPOCH_DELTA || epoch > INT64_MAX / NTFS_TICKS - NTFS_EPOCH_DELTA)
		return errmsg_set(reterr_msg, -EINVAL, "time %" PRId64 " out of NTFS's range",
				  epoch);
	v.time = (uint64_t)(epoch + NTFS_EPOCH_DELTA) * NTFS_TICKS;
	if (fstat(fd, &st) < 0)
		return errmsg_set(reterr_msg, negative_errno(), "cannot stat the volume: %m");
	v.file_size = (uint64_t)st.st_size;
	if ((r = read_boot(&v, boot)) < 0)
		return r;

	/* record 0 is $MFT, found through the boot sector; record 1 $MFTMirr */
	uint64_t mft_lcn = get64(boot + 0x30);
	_cleanup_free_ uint8_t *rec = malloc(v.record);
	if (!rec)
		return -ENOMEM;
	if (mft_lcn >= v.file_size / v.cluster)
		return errmsg_set(reterr_msg, -EBADMSG, "the $MFT lies past the end of the volume");
	if ((r = io_full(&v, false, rec, v.record, mft_lcn * v.cluster)) < 0 ||
	    (r = record_data(&v, rec, &mft, &n_mft)) < 0)
		r = errmsg_prefix(reterr_msg, r, "$MFT");
	else if ((r = runlist_io(&v, &mft, false, rec, v.record, v.record)) < 0 ||
		 (r = record_data(&v, rec, &mirror, &n_mirror)) < 0)
		r = errmsg_prefix(reterr_msg, r, "$MFTMirr");
	else if ((r = fix_records(&v, &mft, n_mft, true, "MFT")) >= 0 &&
		 (r = fix_records(&v, &mirror, MIN(n_mirror, n_mft), false, "$MFTMirr")) >= 0 &&
		 ret_stats)
		*ret_stats = v.stats;

	runlist_done(&mft);
	runlist_done(&mirror);
	return r;
}
