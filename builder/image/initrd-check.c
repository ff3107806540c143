/* SPDX-License-Identifier: MIT */
/*
 * initrd-check.c - reads an initrd (early uncompressed cpio segments walked
 * by their newc headers, then the main archive decompressed as a stream and
 * walked as newc, both bounded) and checks the boot-critical storage drivers of each
 * staged profile, as modules or built into the kernel.
 * The drivers are InitrdModules= of the profile matrix (lib/activate/profile.h).
 */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "builder/image/initrd-check.h"
#include "lib/activate/profile.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

#define INITRD_MAX (1024ULL * 1024 * 1024)
#define BUILTIN_MAX (4 * 1024 * 1024)
#define NAMES_MAX 200000
#define UNPACKED_MAX (2048ULL * 1024 * 1024)
#define DECODER_MEM (128ULL * 1024 * 1024)
#define UNPACK_CHUNK (64 * 1024)

struct names {
	char **modules;
	size_t n;
	char *builtin; /* the initrd's modules.builtin, if any */
};

static void names_done(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->modules[i]);
	free(s->modules);
	free(s->builtin);
}

/* "lib/modules/6.1/kernel/drivers/scsi/hv_storvsc.ko.xz" -> "hv_storvsc". */
static char *module_name(const char *path)
{
	static const char *const suffixes[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
		const char *e = endswith(b, suffixes[i]);
		if (!e || e == b)
			continue;
		char *n = strndup(b, (size_t)(e - b));
		if (!n)
			return NULL;
		for (char *p = n; *p; p++)
			if (*p == '-')
				*p = '_';
		return n;
	}
	return NULL;
}

static int names_add(struct names *s, const char *path)
{
	if (endswith(path, "/modules.builtin") || streq(path, "modules.builtin"))
		return 1; /* data wanted */
	char *n = module_name(path);
	if (!n)
		return 0;
	if (s->n >= NAMES_MAX) {
		free(n);
		return -E2BIG;
	}
	char **m = reallocarray(s->modules, s->n + 1, sizeof(char *));
	if (!m) {
		free(n);
		return -ENOMEM;
	}
	s->modules = m;
	s->modules[s->n++] = n;
	return 0;
}

static int parse_hex8(const uint8_t *p, uint32_t *ret)
{
	char buf[9];
	memcpy(buf, p, 8);
	buf[8] = '\0';
	return parse_u32(buf, 16, ret);
}

/* Walks uncompressed newc archives from *off; stops at data that is not one. */
static int walk_newc(const uint8_t *base, size_t size, size_t *off, struct names *s)
{
	while (*off + 110 <= size) {
		const uint8_t *h = base + *off;
		if (memcmp(h, "070701", 6) != 0 && memcmp(h, "070702", 6) != 0)
			return 0;
		uint32_t filesize, namesize;
		if (parse_hex8(h + 6 + 6 * 8, &filesize) < 0 ||
		    parse_hex8(h + 6 + 11 * 8, &namesize) < 0 || namesize == 0 || namesize > 4096)
			return -EBADMSG;
		size_t name_off = *off + 110;
		size_t data_off = (name_off + namesize + 3) & ~(size_t)3;
		size_t next = (data_off + (size_t)filesize + 3) & ~(size_t)3;
		if (data_off > size || next > size + 3 || data_off + filesize > size)
			return -EBADMSG;
		_cleanup_free_ char *name = strndup((const char *)base + name_off, namesize - 1);
		if (!name)
			return -ENOMEM;
		*off = MIN(next, size);
		if (streq(name, "TRAILER!!!")) {
			while (*off < size && base[*off] == 0) /* padding between archives */
				(*off)++;
			continue;
		}
		int r = names_add(s, name);
		if (r < 0)
			return r;
		if (r > 0 && filesize < BUILTIN_MAX && !s->builtin)
			s->builtin = strndup((const char *)base + data_off, filesize);
	}
	return 0;
}

/*
 * The compressed part: decompressed as a stream and walked as newc, the only
 * cpio the kernel reads. Both bounded, as the initrd comes from the base: at
 * most UNPACKED_MAX bytes unpacked, and at most DECODER_MEM of memory to
 * decompress (an xz or lzma header may ask for a 4 GiB dictionary, which
 * libarchive's filter would allocate; liblzma is given the limit instead).
 * libarchive decompresses gzip, bzip2, lz4 and zstd, each within a fixed
 * window. lzo is not read: libarchive here has no liblzo and would run the
 * host's lzop on the data.
 */
struct unpack {
	lzma_stream lz;
	bool use_lzma;
	struct archive *a;
	uint8_t buf[UNPACK_CHUNK];
	size_t pos, len;
	uint64_t total;
	bool eof;
	char **reterr_msg;
};

static int unpack_fill(struct unpack *u)
{
	if (u->eof) {
		u->pos = u->len = 0;
		return 0;
	}
	size_t n;
	if (u->use_lzma) {
		u->lz.next_out = u->buf;
		u->lz.avail_out = sizeof(u->buf);
		lzma_ret k = LZMA_OK;
		while (k == LZMA_OK && u->lz.avail_out == sizeof(u->buf))
			k = lzma_code(&u->lz, LZMA_FINISH);
		if (k == LZMA_MEMLIMIT_ERROR) {
			return errmsg_set(u->reterr_msg, -EFBIG,
					  "it needs more than %u MiB of memory to decompress, the "
					  "limit (rebuild the base's initrd with a smaller xz "
					  "dictionary)",
					  (unsigned)(DECODER_MEM >> 20));
		}
		if (k != LZMA_OK && k != LZMA_STREAM_END)
			return errmsg_set(u->reterr_msg, -EBADMSG, "corrupt xz/lzma data");
		n = sizeof(u->buf) - u->lz.avail_out;
		u->eof = k == LZMA_STREAM_END;
	} else {
		la_ssize_t k = archive_read_data(u->a, u->buf, sizeof(u->buf));
		if (k < 0)
			return errmsg_set(u->reterr_msg, -EBADMSG, "%s",
					  archive_error_string(u->a));
		n = (size_t)k;
		u->eof = k == 0;
	}
	u->pos = 0;
	u->len = n;
	u->total += n;
	if (u->total > UNPACKED_MAX) {
		return errmsg_set(
			u->reterr_msg, -EFBIG,
			"it unpacks to more than %u MiB, the limit (rebuild the base's initrd)",
			(unsigned)(UNPACKED_MAX >> 20));
	}
	return 0;
}

/* Copies n bytes to buf (NULL: skips them). -ENODATA at the end. */
static int unpack_read(struct unpack *u, void *buf, uint64_t n)
{
	while (n > 0) {
		if (u->pos == u->len) {
			int r = unpack_fill(u);
			if (r < 0)
				return r;
			if (u->len == 0)
				return -ENODATA;
		}
		size_t k = (size_t)MIN((uint64_t)(u->len - u->pos), n);
		if (buf) {
			memcpy(buf, u->buf + u->pos, k);
			buf = (uint8_t *)buf + k;
		}
		u->pos += k;
		n -= k;
	}
	return 0;
}

/* The next non-zero byte (the padding between archives skipped): 1 and the
 * byte, 0 at the end. */
static int unpack_skip_zeros(struct unpack *u, uint8_t *ret)
{
	for (;;) {
		if (u->pos == u->len) {
			int r = unpack_fill(u);
			if (r < 0)
				return r;
			if (u->len == 0)
				return 0;
		}
		uint8_t c = u->buf[u->pos++];
		if (c != 0) {
			*ret = c;
			return 1;
		}
	}
}

static int unpack_open(struct unpack *u, const uint8_t *base, size_t size)
{
	static const uint8_t xz_magic[] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
	if (size >= 6 && memcmp(base, xz_magic, 6) == 0) {
		u->use_lzma = true;
		if (lzma_stream_decoder(&u->lz, DECODER_MEM, LZMA_CONCATENATED) != LZMA_OK)
			return -ENOMEM;
	} else if (size >= 13 && base[0] == 0x5d && base[1] == 0 && base[2] == 0) {
		u->use_lzma = true; /* the legacy .lzma format, as the kernel detects it */
		if (lzma_alone_decoder(&u->lz, DECODER_MEM) != LZMA_OK)
			return -ENOMEM;
	}
	if (u->use_lzma) {
		u->lz.next_in = base;
		u->lz.avail_in = size;
		return 0;
	}
	u->a = archive_read_new();
	if (!u->a)
		return -ENOMEM;
	archive_read_support_filter_gzip(u->a);
	archive_read_support_filter_bzip2(u->a);
	archive_read_support_filter_lz4(u->a);
	archive_read_support_filter_zstd(u->a);
	archive_read_support_format_raw(u->a);
	struct archive_entry *e;
	if (archive_read_open_memory(u->a, base, size) != ARCHIVE_OK ||
	    archive_read_next_header(u->a, &e) != ARCHIVE_OK)
		return errmsg_set(u->reterr_msg, -EBADMSG, "%s", archive_error_string(u->a));
	return 0;
}

static void unpack_done(struct unpack *u)
{
	if (u->use_lzma)
		lzma_end(&u->lz);
	archive_read_free(u->a);
}

static int hex8(const uint8_t *p, uint32_t *ret)
{
	for (size_t i = 0; i < 8; i++)
		if (!isxdigit(p[i]))
			return -EBADMSG;
	return parse_hex8(p, ret);
}

/* One newc entry whose header's first byte is h[0]. 0, or 1 after the last. */
static int unpack_entry(struct unpack *u, uint8_t *h, struct names *s)
{
	int r = unpack_read(u, h + 1, 109);
	if (r < 0)
		return r == -ENODATA ? -EBADMSG : r;
	uint32_t filesize, namesize;
	if ((memcmp(h, "070701", 6) != 0 && memcmp(h, "070702", 6) != 0) ||
	    hex8(h + 6 + 6 * 8, &filesize) < 0 || hex8(h + 6 + 11 * 8, &namesize) < 0 ||
	    namesize == 0 || namesize > 4096)
		return -EBADMSG;
	char name[4096 + 4];
	size_t name_padded = ((110 + namesize + 3) & ~(size_t)3) - 110;
	r = unpack_read(u, name, name_padded);
	if (r < 0)
		return r == -ENODATA ? -EBADMSG : r;
	name[namesize - 1] = '\0';
	uint64_t data_padded = ((uint64_t)filesize + 3) & ~(uint64_t)3;
	if (streq(name, "TRAILER!!!")) {
		r = unpack_read(u, NULL, data_padded);
		return r == -ENODATA ? 1 : r < 0 ? r : 0;
	}
	r = names_add(s, name);
	if (r < 0)
		return r;
	if (r > 0 && filesize < BUILTIN_MAX && !s->builtin) {
		s->builtin = calloc(1, filesize + 1);
		if (!s->builtin)
			return -ENOMEM;
		r = unpack_read(u, s->builtin, filesize);
		if (r >= 0)
			r = unpack_read(u, NULL, data_padded - filesize);
	} else
		r = unpack_read(u, NULL, data_padded);
	return r == -ENODATA ? -EBADMSG : r;
}

static int read_compressed(const uint8_t *base, size_t size, struct names *s, char **reterr_msg)
{
	struct unpack *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->lz = (lzma_stream)LZMA_STREAM_INIT;
	u->reterr_msg = reterr_msg;
	int r = unpack_open(u, base, size);
	while (r >= 0) {
		uint8_t h[110];
		r = unpack_skip_zeros(u, &h[0]);
		if (r <= 0)
			break;
		r = unpack_entry(u, h, s);
		if (r > 0)
			r = 0; /* a trailer: another archive may follow */
	}
	unpack_done(u);
	free(u);
	return r;
}

static int read_initrd(int fd, struct names *s, char **reterr_msg)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size == 0 || (uint64_t)st.st_size > INITRD_MAX) {
		return errmsg_set(reterr_msg, -EBADMSG, "initrd is empty or larger than 1 GiB");
	}
	size_t size = (size_t)st.st_size;
	uint8_t *base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	size_t off = 0;
	int r = walk_newc(base, size, &off, s);
	if (r >= 0 && off < size)
		r = read_compressed(base + off, size - off, s, reterr_msg);
	munmap(base, size);
	if (r == -EBADMSG)
		errmsg_default(reterr_msg, r, "not a cpio archive");
	return r;
}

static bool builtin_has(const char *text, const char *driver)
{
	if (!text)
		return false;
	const char *p = text;
	while (*p) {
		const char *nl = strchrnul(p, '\n');
		_cleanup_free_ char *line = strndup(p, (size_t)(nl - p));
		_cleanup_free_ char *n = line ? module_name(line) : NULL;
		if (n && streq(n, driver))
			return true;
		p = *nl ? nl + 1 : nl;
	}
	return false;
}

int initrd_list_modules(int fd, char ***ret, char **reterr_msg)
{
	struct names s = {};
	int r = read_initrd(fd, &s, reterr_msg);
	if (r < 0) {
		names_done(&s);
		return r;
	}
	char **l = calloc(s.n + 1, sizeof(char *));
	if (!l) {
		names_done(&s);
		return -ENOMEM;
	}
	if (s.n > 0)
		memcpy(l, s.modules, s.n * sizeof(char *));
	free(s.modules);
	free(s.builtin);
	*ret = l;
	return 0;
}

static char *normalise(const char *driver)
{
	char *n = strdup(driver);
	for (char *p = n; p && *p; p++)
		if (*p == '-')
			*p = '_';
	return n;
}

int initrd_check_drivers(int fd, const char *builtin, const struct profile_set *set,
			 char *const *profiles, struct initrd_missing **ret, size_t *ret_n,
			 char **reterr_msg)
{
	struct names s = {};
	struct initrd_missing *missing = NULL;
	size_t n_missing = 0;
	int r;

	for (char *const *p = profiles; p && *p; p++)
		if (!profile_set_find(set, *p)) {
			return errmsg_set(reterr_msg, -EINVAL, "unknown profile '%s'", *p);
		}

	r = read_initrd(fd, &s, reterr_msg);
	if (r < 0) {
		names_done(&s);
		return r;
	}
	for (size_t i = 0; i < profile_set_size(set); i++) {
		const struct profile *p = profile_set_get(set, i);
		if (profiles && *profiles && !strv_contains(profiles, profile_name(p)))
			continue;
		for (char *const *d = profile_get(p, PROFILE_LINUX_INITRD_MODULES); *d; d++) {
			_cleanup_free_ char *want = normalise(*d);
			if (!want) {
				r = -ENOMEM;
				break;
			}
			bool found = builtin_has(builtin, want) || builtin_has(s.builtin, want);
			for (size_t k = 0; !found && k < s.n; k++)
				found = streq(s.modules[k], want);
			if (found)
				continue;
			struct initrd_missing *m =
				reallocarray(missing, n_missing + 1, sizeof(*missing));
			if (!m) {
				r = -ENOMEM;
				break;
			}
			missing = m;
			missing[n_missing++] = (struct initrd_missing){
				.driver = *d,
				.profile = profile_name(p),
				.hypervisors = profile_get(p, PROFILE_MATCH_HYPERVISOR),
			};
		}
	}
	names_done(&s);
	if (r < 0) {
		free(missing);
		return r;
	}
	*ret = missing;
	*ret_n = n_missing;
	return 0;
}
