/* SPDX-License-Identifier: MIT */
/*
 * driver-catalog.c - Windows driver catalogs (see driver-catalog.h). The
 * PKCS#7 envelope and its signature go through OpenSSL; the trust list
 * inside is read with a small bounded DER walker, since OpenSSL has no
 * template for Microsoft's CTL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/string-util.h"
#include "lib/trust/driver-catalog.h"

#define FILE_MAX (256u * 1024 * 1024)

/* ---- DER ------------------------------------------------------------------ */

struct der {
	const uint8_t *p;
	size_t n;
};

/* The next element of d: its tag, its value, and (in *ret_all) the whole
 * element with tag and length. Single-byte tags, definite lengths only. */
static int der_next(struct der *d, uint8_t *ret_tag, struct der *ret_value, struct der *ret_all)
{
	if (d->n < 2)
		return -EBADMSG;
	uint8_t tag = d->p[0], l = d->p[1];
	size_t hdr = 2, len;
	if ((tag & 0x1f) == 0x1f)
		return -EBADMSG;
	if (l < 0x80)
		len = l;
	else {
		unsigned k = l & 0x7f;
		if (k == 0 || k > 4 || d->n < 2 + k)
			return -EBADMSG;
		len = 0;
		for (unsigned i = 0; i < k; i++)
			len = (len << 8) | d->p[2 + i];
		hdr += k;
	}
	if (len > d->n - hdr)
		return -EBADMSG;
	if (ret_all)
		*ret_all = (struct der){ d->p, hdr + len };
	*ret_tag = tag;
	*ret_value = (struct der){ d->p + hdr, len };
	d->p += hdr + len;
	d->n -= hdr + len;
	return 0;
}

/* The next element, which must have tag want. */
static int der_expect(struct der *d, uint8_t want, struct der *ret_value)
{
	uint8_t tag;
	int r = der_next(d, &tag, ret_value, NULL);
	return r < 0 ? r : tag == want ? 0 : -EBADMSG;
}

enum { DER_INTEGER = 0x02, DER_OCTETS = 0x04, DER_OID = 0x06, DER_BMP = 0x1e };
enum { DER_SEQUENCE = 0x30, DER_SET = 0x31 };

/* OIDs as the bodies of their DER encodings. */
#define OID(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })
static bool oid_is(struct der v, const uint8_t *body, size_t n)
{
	return v.n == n && memcmp(v.p, body, n) == 0;
}
#define MS 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37 /* 1.3.6.1.4.1.311 */
#define OID_CATALOG_LIST OID(MS, 0x0c, 0x01, 0x01)
#define OID_CATALOG_NAMEVALUE OID(MS, 0x0c, 0x02, 0x01)
#define OID_SPC_INDIRECT_DATA OID(MS, 0x02, 0x01, 0x04)
#define OID_SPC_PE_IMAGE_DATA OID(MS, 0x02, 0x01, 0x0f)
#define OID_SHA1 OID(0x2b, 0x0e, 0x03, 0x02, 0x1a)
#define OID_SHA256 OID(0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01)

/* ---- the trust list -------------------------------------------------------- */

/* UTF-16LE, NUL-terminated or not, to UTF-8; only the BMP. */
static char *utf16le_to_utf8(struct der v)
{
	char *s = malloc(v.n / 2 * 3 + 1), *o = s;
	if (!s)
		return NULL;
	for (size_t i = 0; i + 1 < v.n; i += 2) {
		unsigned c = v.p[i] | (unsigned)v.p[i + 1] << 8;
		if (c == 0)
			break;
		if (c >= 0xd800 && c <= 0xdfff) {
			free(s);
			return NULL;
		}
		if (c < 0x80)
			*o++ = (char)c;
		else if (c < 0x800) {
			*o++ = (char)(0xc0 | c >> 6);
			*o++ = (char)(0x80 | (c & 0x3f));
		} else {
			*o++ = (char)(0xe0 | c >> 12);
			*o++ = (char)(0x80 | ((c >> 6) & 0x3f));
			*o++ = (char)(0x80 | (c & 0x3f));
		}
	}
	*o = 0;
	return s;
}

/* SEQUENCE { BMPString "File", INTEGER flags, OCTET STRING name } */
static int parse_namevalue(struct der v, struct driver_catalog_member *m)
{
	static const uint8_t file_tag[] = { 0, 'F', 0, 'i', 0, 'l', 0, 'e' };
	struct der s, tag, flags, name;
	if (der_expect(&v, DER_SEQUENCE, &s) < 0 || der_expect(&s, DER_BMP, &tag) < 0 ||
	    der_expect(&s, DER_INTEGER, &flags) < 0 || der_expect(&s, DER_OCTETS, &name) < 0)
		return -EBADMSG;
	if (tag.n != sizeof(file_tag) || memcmp(tag.p, file_tag, sizeof(file_tag)) != 0)
		return 0; /* another name-value pair (OSAttr, HWID...) */
	char *f = utf16le_to_utf8(name);
	if (!f || !*f || !string_is_safe(f) || strchr(f, '/') || strchr(f, '\\')) {
		free(f);
		return -EBADMSG;
	}
	free(m->file);
	m->file = f;
	return 0;
}

/* SEQUENCE { SEQUENCE { OID type, ANY }, SEQUENCE { SEQUENCE { OID alg, NULL }, OCTETS } } */
static int parse_indirect(struct der v, struct driver_catalog_member *m)
{
	struct der s, data, type, info, alg, alg_oid, digest;
	if (der_expect(&v, DER_SEQUENCE, &s) < 0 || der_expect(&s, DER_SEQUENCE, &data) < 0 ||
	    der_expect(&data, DER_OID, &type) < 0 || der_expect(&s, DER_SEQUENCE, &info) < 0 ||
	    der_expect(&info, DER_SEQUENCE, &alg) < 0 || der_expect(&alg, DER_OID, &alg_oid) < 0 ||
	    der_expect(&info, DER_OCTETS, &digest) < 0)
		return -EBADMSG;
	m->kind = oid_is(type, OID_SPC_PE_IMAGE_DATA) ? DRIVER_DIGEST_PE : DRIVER_DIGEST_FLAT;
	if (oid_is(alg_oid, OID_SHA1) && digest.n == 20)
		m->md_nid = NID_sha1;
	else if (oid_is(alg_oid, OID_SHA256) && digest.n == 32)
		m->md_nid = NID_sha256;
	else
		return -EPROTONOSUPPORT;
	memcpy(m->digest, digest.p, digest.n);
	m->digest_len = digest.n;
	return 0;
}

/* SEQUENCE { OCTET STRING identifier, SET OF SEQUENCE { OID, SET { value } } } */
static int parse_member(struct der v, struct driver_catalog_member *m)
{
	struct der id, attrs;
	if (der_expect(&v, DER_OCTETS, &id) < 0)
		return -EBADMSG;
	if (v.n == 0 || der_expect(&v, DER_SET, &attrs) < 0)
		return -EBADMSG;
	while (attrs.n > 0) {
		struct der a, type, values;
		if (der_expect(&attrs, DER_SEQUENCE, &a) < 0 ||
		    der_expect(&a, DER_OID, &type) < 0 || der_expect(&a, DER_SET, &values) < 0)
			return -EBADMSG;
		int r = 0;
		if (oid_is(type, OID_CATALOG_NAMEVALUE))
			r = parse_namevalue(values, m);
		else if (oid_is(type, OID_SPC_INDIRECT_DATA))
			r = parse_indirect(values, m);
		if (r < 0)
			return r;
	}
	return m->digest_len > 0 ? 0 : -ENODATA;
}

/* SEQUENCE { SEQUENCE usage, [OCTETS id], [INTEGER seq], time, [time],
 *            SEQUENCE algorithm, [SEQUENCE OF member], [0] extensions } */
static int parse_ctl(struct der ctl, struct driver_catalog *c, char **reterr_msg)
{
	struct der s, usage, e;
	unsigned n_seq = 0;
	uint8_t tag;
	bool catalog_list = false;

	if (der_expect(&ctl, DER_SEQUENCE, &s) < 0 || ctl.n != 0)
		return errmsg_set(reterr_msg, -EBADMSG, "its trust list is not DER");
	while (s.n > 0) {
		if (der_next(&s, &tag, &e, NULL) < 0)
			return errmsg_set(reterr_msg, -EBADMSG, "its trust list is not DER");
		if (tag != DER_SEQUENCE)
			continue; /* identifier, sequence number, times, extensions */
		n_seq++;
		if (n_seq == 1) { /* subject usage: the catalog list */
			usage = e;
			while (usage.n > 0) {
				struct der o;
				if (der_expect(&usage, DER_OID, &o) < 0)
					return errmsg_set(reterr_msg, -EBADMSG,
							  "its trust list has a malformed usage");
				catalog_list = catalog_list || oid_is(o, OID_CATALOG_LIST);
			}
		} else if (n_seq == 3) { /* the members */
			while (e.n > 0) {
				struct der mv;
				if (c->n_members >= DRIVER_CATALOG_MEMBERS_MAX)
					return errmsg_set(reterr_msg, -E2BIG,
							  "it lists more than %u files",
							  DRIVER_CATALOG_MEMBERS_MAX);
				if (der_expect(&e, DER_SEQUENCE, &mv) < 0)
					return errmsg_set(reterr_msg, -EBADMSG,
							  "its member %zu is not DER",
							  c->n_members + 1);
				struct driver_catalog_member *n =
					reallocarray(c->members, c->n_members + 1, sizeof(*n));
				if (!n)
					return errmsg_oom(reterr_msg);
				c->members = n;
				struct driver_catalog_member *m = &n[c->n_members++];
				*m = (struct driver_catalog_member){};
				int r = parse_member(mv, m);
				if (r == -EPROTONOSUPPORT)
					return errmsg_set(reterr_msg, -EBADMSG,
							  "member %zu%s%s%s has a digest that is "
							  "neither SHA-1 nor SHA-256",
							  c->n_members, m->file ? " ('" : "",
							  m->file ?: "", m->file ? "')" : "");
				if (r < 0)
					return errmsg_set(reterr_msg, -EBADMSG,
							  "member %zu%s%s%s is malformed or has no "
							  "digest",
							  c->n_members, m->file ? " ('" : "",
							  m->file ?: "", m->file ? "')" : "");
			}
		}
	}
	if (!catalog_list)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "its trust list is not a catalog list (szOID_CATALOG_LIST)");
	return 0;
}

/* ---- the envelope ----------------------------------------------------------- */

/* The trust list's DER and the bytes the signature digests: an OCTET STRING
 * content (CMS) is digested whole; a content embedded as its SEQUENCE
 * (Authenticode, PKCS#7 v1.5) by its contents octets. */
static int ctl_of(PKCS7 *p7, struct der *ret_ctl, struct der *ret_signed)
{
	if (!PKCS7_type_is_signed(p7) || !p7->d.sign || !p7->d.sign->contents)
		return -EBADMSG;
	PKCS7 *inner = p7->d.sign->contents;
	static const char ctl_oid[] = "1.3.6.1.4.1.311.10.1";
	char txt[64];
	if (!inner->type || OBJ_obj2txt(txt, sizeof(txt), inner->type, 1) <= 0 ||
	    !streq(txt, ctl_oid) || !inner->d.other)
		return -ENOMSG;
	ASN1_TYPE *t = inner->d.other;
	if (t->type == V_ASN1_OCTET_STRING && t->value.octet_string) {
		*ret_ctl = (struct der){ t->value.octet_string->data,
					 (size_t)t->value.octet_string->length };
		*ret_signed = *ret_ctl;
		return 0;
	}
	if (t->type == V_ASN1_SEQUENCE && t->value.sequence) {
		*ret_ctl =
			(struct der){ t->value.sequence->data, (size_t)t->value.sequence->length };
		struct der all = *ret_ctl, v;
		uint8_t tag;
		if (der_next(&all, &tag, &v, NULL) < 0)
			return -EBADMSG;
		*ret_signed = v;
		return 0;
	}
	return -EBADMSG;
}

int driver_catalog_parse(const void *buf, size_t len, struct driver_catalog **ret,
			 char **reterr_msg)
{
	_cleanup_driver_catalog_ struct driver_catalog *c = NULL;
	const unsigned char *p = buf;
	struct der ctl, signed_bytes;
	int r;

	if (len > DRIVER_CATALOG_MAX)
		return errmsg_set(reterr_msg, -EFBIG, "it is larger than %u bytes",
				  DRIVER_CATALOG_MAX);
	PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)len);
	if (!p7)
		return errmsg_set(reterr_msg, -EBADMSG, "it is not PKCS#7 (DER)");
	r = ctl_of(p7, &ctl, &signed_bytes);
	if (r < 0) {
		PKCS7_free(p7);
		return errmsg_set(reterr_msg, -EBADMSG,
				  r == -ENOMSG
					  ? "its signed content is not a certificate trust list"
					  : "it is not PKCS#7 signed data");
	}
	/* the signature over the content; the signer's chain is Windows's check */
	/* behind a buffer BIO: PKCS7_verify() copies a memory BIO given to it,
	 * and OpenSSL 3.0 leaks that copy when the content does not decode */
	BIO *mem = BIO_new_mem_buf(signed_bytes.p, (int)signed_bytes.n);
	BIO *in = mem ? BIO_new(BIO_f_buffer()) : NULL;
	if (in)
		BIO_push(in, mem);
	else
		BIO_free(mem);
	int ok = in && PKCS7_verify(p7, NULL, NULL, in, NULL, PKCS7_NOVERIFY | PKCS7_BINARY);
	BIO_free_all(in);
	ERR_clear_error();
	if (ok != 1) {
		PKCS7_free(p7);
		return errmsg_set(reterr_msg, -EBADMSG,
				  "its signature does not match its content (altered, or not "
				  "signed)");
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		PKCS7_free(p7);
		return errmsg_oom(reterr_msg);
	}
	r = parse_ctl(ctl, c, reterr_msg);
	PKCS7_free(p7);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

int driver_catalog_parse_trust_list(const void *buf, size_t len, struct driver_catalog **ret,
				    char **reterr_msg)
{
	_cleanup_driver_catalog_ struct driver_catalog *c = calloc(1, sizeof(*c));
	if (!c)
		return errmsg_oom(reterr_msg);
	if (len > DRIVER_CATALOG_MAX)
		return errmsg_set(reterr_msg, -EFBIG, "it is larger than %u bytes",
				  DRIVER_CATALOG_MAX);
	int r = parse_ctl((struct der){ buf, len }, c, reterr_msg);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

struct driver_catalog *driver_catalog_free(struct driver_catalog *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n_members; i++)
		free(c->members[i].file);
	free(c->members);
	free(c);
	return NULL;
}

/* ---- digests of the package's files ---------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The Authenticode digest of a PE image: everything but the checksum, the
 * certificate table's directory entry and the certificate table; pad8 adds
 * the zero padding to eight bytes that signing tools hash for an image
 * without a certificate table. */
static int pe_digest(const uint8_t *f, size_t n, const EVP_MD *md, bool pad8, uint8_t *out,
		     unsigned *out_len)
{
	if (n < 0x40 || f[0] != 'M' || f[1] != 'Z')
		return -EBADMSG;
	size_t pe = le32(f + 0x3c);
	if (pe > n || n - pe < 24 + 96 || memcmp(f + pe, "PE\0\0", 4) != 0)
		return -EBADMSG;
	size_t opt = pe + 24;
	unsigned magic = f[opt] | (unsigned)f[opt + 1] << 8;
	size_t dirs = magic == 0x10b ? opt + 96 : magic == 0x20b ? opt + 112 : 0;
	if (!dirs || dirs + 5 * 8 > n || le32(f + dirs - 4) < 5)
		return -EBADMSG;
	size_t csum = opt + 64, cert_dir = dirs + 4 * 8;
	size_t cert_off = le32(f + cert_dir), cert_size = le32(f + cert_dir + 4);
	size_t end = n;
	if (cert_size > 0) {
		if (cert_off < cert_dir + 8 || cert_off > n || cert_size > n - cert_off)
			return -EBADMSG;
		end = cert_off;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	static const uint8_t zero[8];
	int ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, f, csum) &&
		 EVP_DigestUpdate(ctx, f + csum + 4, cert_dir - csum - 4) &&
		 EVP_DigestUpdate(ctx, f + cert_dir + 8, end - cert_dir - 8) &&
		 (!pad8 || cert_size > 0 || end % 8 == 0 ||
		  EVP_DigestUpdate(ctx, zero, 8 - end % 8)) &&
		 EVP_DigestFinal_ex(ctx, out, out_len);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -ENOMEM;
}

static bool member_matches(const struct driver_catalog_member *m, const uint8_t *f, size_t n)
{
	const EVP_MD *md = m->md_nid == NID_sha1 ? EVP_sha1() : EVP_sha256();
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	if (m->kind == DRIVER_DIGEST_FLAT)
		return EVP_Digest(f, n, d, &dl, md, NULL) && dl == m->digest_len &&
		       memcmp(d, m->digest, dl) == 0;
	for (int pad = 0; pad < 2; pad++)
		if (pe_digest(f, n, md, pad, d, &dl) >= 0 && dl == m->digest_len &&
		    memcmp(d, m->digest, dl) == 0)
			return true;
	return false;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

int driver_catalog_check_files(const struct driver_catalog *c, int dir_fd, char *const *files,
			       char **reterr_msg)
{
	STRV_FOREACH(file, files)
	{
		_cleanup_free_ char *data = NULL;
		size_t n;
		int r = fs_read_file_at(dir_fd, *file, FILE_MAX, &data, &n);
		if (r < 0)
			return errmsg_errno(reterr_msg, r, "cannot read '%s': %m", *file);

		const struct driver_catalog_member *named = NULL;
		bool found = false;
		for (size_t i = 0; i < c->n_members && !found; i++) {
			const struct driver_catalog_member *m = &c->members[i];
			if (m->file && strcasecmp(m->file, base_name(*file)) == 0) {
				named = m;
				found = member_matches(m, (const uint8_t *)data, n);
			} else if (!m->file)
				found = member_matches(m, (const uint8_t *)data, n);
		}
		if (!found)
			return errmsg_set(
				reterr_msg, -EBADMSG,
				named ? "'%s' does not match its digest in the catalog "
					"(altered after signing?)"
				      : "'%s' is not in the catalog; Windows would refuse "
					"the package",
				*file);
	}
	return 0;
}
