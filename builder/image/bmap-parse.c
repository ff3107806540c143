/* SPDX-License-Identifier: MIT */
/*
 * bmap-parse.c - reads a block map (bmap.h) from an input: the small XML
 * subset bmaptool writes (a prolog, comments, the <bmap> element and its
 * children), strictly, every number and count bounded, the file's own
 * checksum checked the way bmaptool checks it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "builder/image/bmap.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

/* Exactly 2 * SHA256_DIGEST_SIZE hex digits, not NUL-terminated. */
static int sha256_from_hex(const char *s, size_t n, uint8_t out[SHA256_DIGEST_SIZE])
{
	if (n != 2 * SHA256_DIGEST_SIZE)
		return -EINVAL;
	for (size_t i = 0; i < SHA256_DIGEST_SIZE; i++) {
		int hi = unhexchar(s[2 * i]), lo = unhexchar(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

struct cursor {
	const char *p, *end;
};

static void skip_space(struct cursor *c)
{
	while (c->p < c->end && strchr(" \t\r\n", *c->p) && *c->p)
		c->p++;
}

static bool looking_at(const struct cursor *c, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(c->end - c->p) >= n && memcmp(c->p, s, n) == 0;
}

/* Skips white space, comments and processing instructions. */
static int skip_misc(struct cursor *c)
{
	for (;;) {
		skip_space(c);
		const char *close = looking_at(c, "<!--") ? "-->"
				    : looking_at(c, "<?") ? "?>"
							  : NULL;
		if (!close)
			return 0;
		const char *e = memmem(c->p, (size_t)(c->end - c->p), close, strlen(close));
		if (!e)
			return -EBADMSG;
		c->p = e + strlen(close);
	}
}

/* An opening tag: its name and the text of its attributes. */
struct tag {
	const char *name, *attrs;
	size_t name_len, attrs_len;
	bool closing;
};

static int next_tag(struct cursor *c, struct tag *t)
{
	int r = skip_misc(c);
	if (r < 0 || !looking_at(c, "<"))
		return -EBADMSG;
	c->p++;
	*t = (struct tag){ .closing = looking_at(c, "/") };
	if (t->closing)
		c->p++;
	t->name = c->p;
	while (c->p < c->end && !strchr(" \t\r\n/>", *c->p))
		c->p++;
	t->name_len = (size_t)(c->p - t->name);
	t->attrs = c->p;
	const char *gt = memchr(c->p, '>', (size_t)(c->end - c->p));
	if (!gt || t->name_len == 0)
		return -EBADMSG;
	t->attrs_len = (size_t)(gt - t->attrs);
	c->p = gt + 1;
	return 0;
}

static bool tag_is(const struct tag *t, const char *name)
{
	return t->name_len == strlen(name) && memcmp(t->name, name, t->name_len) == 0;
}

/* The value of attribute name="..." (or '...') in t, or NULL. */
static const char *tag_attr(const struct tag *t, const char *name, size_t *ret_len)
{
	size_t n = strlen(name);
	for (const char *p = t->attrs; p + n + 2 < t->attrs + t->attrs_len; p++) {
		if (memcmp(p, name, n) != 0 || p[n] != '=' || !strchr(" \t\r\n", p[-1]))
			continue;
		char q = p[n + 1];
		if (q != '"' && q != '\'')
			return NULL;
		const char *v = p + n + 2, *e = memchr(v, q, (size_t)(t->attrs + t->attrs_len - v));
		if (!e)
			return NULL;
		*ret_len = (size_t)(e - v);
		return v;
	}
	return NULL;
}

/* The text up to </name>, trimmed. */
static int element_text(struct cursor *c, const struct tag *t, const char **ret, size_t *ret_len)
{
	const char *start = c->p, *lt = memchr(c->p, '<', (size_t)(c->end - c->p));
	struct tag end;
	if (!lt)
		return -EBADMSG;
	c->p = lt;
	if (next_tag(c, &end) < 0 || !end.closing || end.name_len != t->name_len ||
	    memcmp(end.name, t->name, t->name_len) != 0)
		return -EBADMSG;
	while (start < lt && strchr(" \t\r\n", *start))
		start++;
	while (lt > start && strchr(" \t\r\n", lt[-1]))
		lt--;
	*ret = start;
	*ret_len = (size_t)(lt - start);
	return 0;
}

static int parse_number(const char *s, size_t n, uint64_t *ret)
{
	uint64_t v = 0;
	if (n == 0 || n > 19)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EBADMSG;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret = v;
	return 0;
}

static int parse_range(struct bmap *b, const struct tag *t, const char *s, size_t n,
		       size_t *allocated, char **reterr_msg)
{
	const char *dash = memchr(s, '-', n), *sum;
	size_t sum_len = 0;
	struct bmap_range r = {};

	if (b->n_ranges >= BMAP_MAX_RANGES)
		return errmsg_set(reterr_msg, -E2BIG, "more than %u ranges", BMAP_MAX_RANGES);
	const char *a_end = dash ? dash : s + n;
	while (a_end > s && a_end[-1] == ' ')
		a_end--;
	const char *b_start = dash ? dash + 1 : s;
	while (b_start < s + n && *b_start == ' ')
		b_start++;
	if (parse_number(s, (size_t)(a_end - s), &r.first) < 0 ||
	    parse_number(b_start, (size_t)(s + n - b_start), &r.last) < 0)
		return errmsg_set(reterr_msg, -EBADMSG, "range %zu: '%.*s' is not FIRST-LAST",
				  b->n_ranges + 1, (int)MIN(n, (size_t)40), s);
	sum = tag_attr(t, "chksum", &sum_len);
	if (!sum)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "range %zu has no checksum (make the bmap with checksums)",
				  b->n_ranges + 1);
	if (sha256_from_hex(sum, sum_len, r.sha256) < 0)
		return errmsg_set(reterr_msg, -EBADMSG, "range %zu: bad checksum", b->n_ranges + 1);
	uint64_t prev_end = b->n_ranges ? b->ranges[b->n_ranges - 1].last + 1 : 0;
	if (r.last < r.first || r.first < prev_end || r.last >= b->blocks_count)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "range %zu (%" PRIu64 "-%" PRIu64
				  ") is out of order or beyond the image's %" PRIu64 " blocks",
				  b->n_ranges + 1, r.first, r.last, b->blocks_count);
	if (b->n_ranges == *allocated) {
		size_t na = *allocated ? *allocated * 2 : 64;
		struct bmap_range *p = reallocarray(b->ranges, na, sizeof(*p));
		if (!p)
			return errmsg_oom(reterr_msg);
		b->ranges = p;
		*allocated = na;
	}
	b->ranges[b->n_ranges++] = r;
	b->mapped_count += r.last - r.first + 1;
	return 0;
}

static int parse_block_map(struct cursor *c, struct bmap *b, char **reterr_msg)
{
	size_t allocated = 0;
	for (;;) {
		struct tag t;
		const char *s;
		size_t n;
		if (next_tag(c, &t) < 0)
			return errmsg_set(reterr_msg, -EBADMSG, "<BlockMap> is not closed");
		if (t.closing && tag_is(&t, "BlockMap"))
			return 0;
		if (t.closing || !tag_is(&t, "Range") || element_text(c, &t, &s, &n) < 0)
			return errmsg_set(reterr_msg, -EBADMSG,
					  "unexpected '<%.*s>' in <BlockMap> after range %zu",
					  (int)MIN(t.name_len, (size_t)40), t.name, b->n_ranges);
		int r = parse_range(b, &t, s, n, &allocated, reterr_msg);
		if (r < 0)
			return r;
	}
}

/* The numbers and names of the header: the fields bmaptool's reader needs. */
struct header {
	uint64_t image_size, block_size, blocks_count, mapped_count;
	bool have[4], sha256;
	const char *checksum;
	size_t checksum_len;
};

static const char *const header_fields[] = { "ImageSize", "BlockSize", "BlocksCount",
					     "MappedBlocksCount" };

static int parse_field(struct header *h, const struct tag *t, const char *s, size_t n,
		       char **reterr_msg)
{
	for (size_t i = 0; i < ELEMENTSOF(header_fields); i++) {
		if (!tag_is(t, header_fields[i]))
			continue;
		uint64_t *v[] = { &h->image_size, &h->block_size, &h->blocks_count,
				  &h->mapped_count };
		if (parse_number(s, n, v[i]) < 0)
			return errmsg_set(reterr_msg, -EBADMSG, "<%s> is not a number",
					  header_fields[i]);
		h->have[i] = true;
		return 0;
	}
	if (tag_is(t, "ChecksumType")) {
		if (n != 6 || memcmp(s, "sha256", 6) != 0)
			return errmsg_set(reterr_msg, -EOPNOTSUPP,
					  "checksum type '%.*s' is not supported (only sha256)",
					  (int)MIN(n, (size_t)20), s);
		h->sha256 = true;
	} else if (tag_is(t, "BmapFileChecksum")) {
		h->checksum = s;
		h->checksum_len = n;
	}
	return 0; /* other elements: a later minor version's, left alone */
}

static int check_header(const struct header *h, struct bmap *b, char **reterr_msg)
{
	for (size_t i = 0; i < ELEMENTSOF(header_fields); i++)
		if (!h->have[i])
			return errmsg_set(reterr_msg, -EBADMSG, "<%s> is missing",
					  header_fields[i]);
	if (!h->sha256 || !h->checksum)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "<ChecksumType> sha256 or <BmapFileChecksum> is missing");
	if (h->block_size < 512 || h->block_size > (1u << 20) ||
	    (h->block_size & (h->block_size - 1)))
		return errmsg_set(reterr_msg, -EBADMSG,
				  "block size %" PRIu64 " is not a power of two from 512 to 1 MiB",
				  h->block_size);
	if (h->image_size > (UINT64_C(1) << 50) ||
	    h->blocks_count != (h->image_size + h->block_size - 1) / h->block_size)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "image size %" PRIu64 " does not match %" PRIu64
				  " blocks of %" PRIu64 " bytes",
				  h->image_size, h->blocks_count, h->block_size);
	b->image_size = h->image_size;
	b->block_size = (uint32_t)h->block_size;
	b->blocks_count = h->blocks_count;
	return 0;
}

/* As bmaptool: the file with its checksum's first occurrence replaced by zeros. */
static int check_file_checksum(const char *text, size_t len, const struct header *h,
			       char **reterr_msg)
{
	uint8_t want[SHA256_DIGEST_SIZE], got[SHA256_DIGEST_SIZE];
	if (sha256_from_hex(h->checksum, h->checksum_len, want) < 0)
		return errmsg_set(reterr_msg, -EBADMSG, "<BmapFileChecksum> is not a SHA-256");
	_cleanup_free_ char *copy = malloc(len);
	if (!copy)
		return errmsg_oom(reterr_msg);
	memcpy(copy, text, len);
	char *at = memmem(copy, len, h->checksum, h->checksum_len);
	memset(at, '0', h->checksum_len);
	int r = sha256_buffer(copy, len, got);
	if (r < 0)
		return errmsg_errno(reterr_msg, r, "cannot hash the bmap: %m");
	if (memcmp(want, got, sizeof(got)) != 0)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "its own checksum does not match (the file was changed)");
	return 0;
}

static int parse_bmap_element(struct cursor *c, struct bmap *b, struct header *h, char **reterr_msg)
{
	struct tag t;
	const char *s, *version;
	size_t n, vlen = 0;

	if (next_tag(c, &t) < 0 || t.closing || !tag_is(&t, "bmap"))
		return errmsg_set(reterr_msg, -EBADMSG, "no <bmap> element");
	version = tag_attr(&t, "version", &vlen);
	if (!version || !((vlen >= 2 && memcmp(version, "2.", 2) == 0) ||
			  (vlen == 3 && memcmp(version, "1.4", 3) == 0)))
		return errmsg_set(reterr_msg, -EOPNOTSUPP,
				  "bmap version '%.*s' is not supported (2.x is)",
				  version ? (int)MIN(vlen, (size_t)20) : 0, version ? version : "");
	for (;;) {
		if (next_tag(c, &t) < 0)
			return errmsg_set(reterr_msg, -EBADMSG, "<bmap> is not closed");
		if (t.closing && tag_is(&t, "bmap"))
			break;
		if (t.closing)
			return errmsg_set(reterr_msg, -EBADMSG, "unexpected '</%.*s>'",
					  (int)MIN(t.name_len, (size_t)40), t.name);
		if (tag_is(&t, "BlockMap")) {
			int r = check_header(h, b, reterr_msg);
			if (r >= 0)
				r = parse_block_map(c, b, reterr_msg);
			if (r < 0)
				return r;
			continue;
		}
		if (element_text(c, &t, &s, &n) < 0)
			return errmsg_set(reterr_msg, -EBADMSG, "'<%.*s>' is not closed",
					  (int)MIN(t.name_len, (size_t)40), t.name);
		int r = parse_field(h, &t, s, n, reterr_msg);
		if (r < 0)
			return r;
	}
	if (!b->block_size)
		return errmsg_set(reterr_msg, -EBADMSG, "<BlockMap> is missing");
	if (skip_misc(c) < 0 || c->p != c->end)
		return errmsg_set(reterr_msg, -EBADMSG, "text after </bmap>");
	return 0;
}

int bmap_parse(const char *text, size_t len, struct bmap **ret, char **reterr_msg)
{
	_cleanup_bmap_ struct bmap *b = calloc(1, sizeof(*b));
	struct cursor c = { text, text + len };
	struct header h = {};

	if (!b)
		return errmsg_oom(reterr_msg);
	if (len > BMAP_MAX_FILE)
		return errmsg_set(reterr_msg, -EFBIG, "larger than %u MiB", BMAP_MAX_FILE >> 20);
	if (memchr(text, '\0', len))
		return errmsg_set(reterr_msg, -EBADMSG, "a NUL byte: not a bmap file");
	int r = parse_bmap_element(&c, b, &h, reterr_msg);
	if (r < 0)
		return r;
	if (b->mapped_count != h.mapped_count)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "<MappedBlocksCount> %" PRIu64 " but the ranges hold %" PRIu64
				  " blocks",
				  h.mapped_count, b->mapped_count);
	r = check_file_checksum(text, len, &h, reterr_msg);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(b);
	return 0;
}
