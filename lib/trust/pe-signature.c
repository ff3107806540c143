/* SPDX-License-Identifier: MIT */
/*
 * pe-signature.c - the Authenticode signatures of a PE image (see
 * pe-signature.h): the certificate table found through the optional
 * header's data directory, each WIN_CERTIFICATE of type PKCS_SIGNED_DATA
 * parsed with OpenSSL; the digest it signs (the SpcIndirectDataContent's
 * DigestInfo) compared with the image's Authenticode digest, computed as
 * shim computes it (generate_hash()) from the layout read here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/trust/pe-signature.h"

#define WIN_CERT_TYPE_PKCS_SIGNED_DATA 0x0002
#define PE_DIR_SECURITY 4
#define PE_SECTIONS_MAX 96 /* the PE format's own limit */
#define SPC_INDIRECT_DATA_OID "1.3.6.1.4.1.311.2.1.4"

/* Where the parts of a PE image are, as the Authenticode digest needs them. */
struct pe_layout {
	uint64_t checksum;	  /* the optional header's CheckSum field */
	uint64_t security_dir;	  /* the certificate table's data directory entry, or 0 */
	uint64_t size_of_headers; /* SizeOfHeaders */
	uint64_t sections;	  /* the section table */
	uint16_t n_sections;
	uint32_t cert_off, cert_size; /* the certificate table, or 0, 0 */
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* The common name of a certificate name, or its one-line form. */
static char *name_text(const X509_NAME *n)
{
	char buf[256];
	int k = X509_NAME_get_text_by_NID((X509_NAME *)n, NID_commonName, buf, sizeof(buf));
	if (k > 0)
		return strdup(buf);
	char *line = X509_NAME_oneline(n, NULL, 0);
	char *s = line ? strdup(line) : NULL;
	OPENSSL_free(line);
	return s;
}

static int64_t not_after(const X509 *x)
{
	struct tm tm = {};
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free);

/* The headers of the PE image in d, checked to lie inside it. */
static int pe_layout_read(const uint8_t *d, size_t len, struct pe_layout *ret, char **reterr_msg)
{
	if (len < 0x40 || d[0] != 'M' || d[1] != 'Z')
		return errmsg_set(reterr_msg, -EBADMSG, "not a PE image (no 'MZ' header)");
	uint32_t pe = le32(d + 0x3c);
	if ((uint64_t)pe + 24 + 2 > len || memcmp(d + pe, "PE\0\0", 4) != 0)
		return errmsg_set(reterr_msg, -EBADMSG, "not a PE image (no 'PE' header)");
	uint64_t opt = (uint64_t)pe + 24;
	uint16_t magic = le16(d + opt);
	if (magic != 0x20b && magic != 0x10b)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "not a PE image (optional header magic %#x)", magic);
	uint64_t dirs = opt + (magic == 0x20b ? 112 : 96),
		 nd_off = opt + (magic == 0x20b ? 108 : 92);
	*ret = (struct pe_layout){
		.checksum = opt + 64,
		.n_sections = le16(d + pe + 6),
		.sections = opt + le16(d + pe + 20),
	};
	if (nd_off + 4 <= len && le32(d + nd_off) > PE_DIR_SECURITY &&
	    dirs + 8 * (PE_DIR_SECURITY + 1) <= len) {
		ret->security_dir = dirs + 8 * PE_DIR_SECURITY;
		ret->cert_off = le32(d + ret->security_dir);
		ret->cert_size = le32(d + ret->security_dir + 4);
		if (!ret->cert_off || !ret->cert_size)
			ret->cert_off = ret->cert_size = 0;
	}
	if (ret->cert_size && (uint64_t)ret->cert_off + ret->cert_size > len)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "its certificate table (%u bytes at %u) runs past the end of the "
				  "file",
				  ret->cert_size, ret->cert_off);
	ret->size_of_headers = opt + 64 <= len ? le32(d + opt + 60) : 0;
	if (ret->size_of_headers > len || ret->size_of_headers < ret->checksum + 4 ||
	    (ret->security_dir && ret->size_of_headers < ret->security_dir + 8))
		return errmsg_set(reterr_msg, -EBADMSG,
				  "its headers (SizeOfHeaders %" PRIu64 ") do not fit in the file",
				  ret->size_of_headers);
	if (ret->n_sections > PE_SECTIONS_MAX ||
	    ret->sections + 40ULL * ret->n_sections > ret->size_of_headers)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "its section table (%u sections) does not fit in its headers",
				  ret->n_sections);
	for (unsigned i = 0; i < ret->n_sections; i++) {
		const uint8_t *sec = d + ret->sections + 40ULL * i;
		uint32_t at = le32(sec + 20), size = le32(sec + 16);
		if ((uint64_t)at + size > len)
			return errmsg_set(reterr_msg, -EBADMSG,
					  "its section %u (%u bytes at %u) runs past the end of "
					  "the file",
					  i + 1, size, at);
	}
	return 0;
}

static int section_cmp(const void *a, const void *b)
{
	const uint32_t *x = a, *y = b; /* { PointerToRawData, SizeOfRawData } */
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

static bool hash_range(EVP_MD_CTX *ctx, const uint8_t *d, uint64_t from, uint64_t to)
{
	return to <= from || EVP_DigestUpdate(ctx, d + from, to - from) == 1;
}

/* The image's Authenticode digest with md, as shim hashes it: the headers
 * up to SizeOfHeaders without the checksum and the certificate table's
 * directory entry, each section's raw data in file order, then the bytes
 * after the last hashed byte up to the certificate table. */
static int pe_digest(const uint8_t *d, size_t len, const struct pe_layout *l, const EVP_MD *md,
		     uint8_t *ret, unsigned *ret_len)
{
	uint32_t sec[PE_SECTIONS_MAX][2];
	uint64_t hashed = l->size_of_headers;
	for (unsigned i = 0; i < l->n_sections; i++) {
		const uint8_t *s = d + l->sections + 40ULL * i;
		sec[i][0] = le32(s + 20);
		sec[i][1] = le32(s + 16);
		hashed += sec[i][1];
	}
	qsort(sec, l->n_sections, sizeof(sec[0]), section_cmp);

	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint64_t dir = l->security_dir ?: l->size_of_headers,
		 dir_end = l->security_dir ? dir + 8 : dir;
	bool ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
		  hash_range(ctx, d, 0, l->checksum) && hash_range(ctx, d, l->checksum + 4, dir) &&
		  hash_range(ctx, d, dir_end, l->size_of_headers);
	for (unsigned i = 0; ok && i < l->n_sections; i++)
		ok = hash_range(ctx, d, sec[i][0], (uint64_t)sec[i][0] + sec[i][1]);
	if (ok && len > hashed + l->cert_size)
		ok = hash_range(ctx, d, hashed, len - l->cert_size);
	if (!ok || EVP_DigestFinal_ex(ctx, ret, ret_len) != 1)
		return -ENOMEM;
	return 0;
}

/* One DER element of tag at *p (definite length), its content in
 * ret and ret_len; p moves past it. */
static bool der_take(const uint8_t **p, const uint8_t *end, uint8_t tag, const uint8_t **ret,
		     size_t *ret_len)
{
	const uint8_t *q = *p;
	if (end - q < 2 || q[0] != tag)
		return false;
	size_t l = q[1];
	q += 2;
	if (l & 0x80) {
		unsigned k = l & 0x7f;
		if (k == 0 || k > 4 || (size_t)(end - q) < k)
			return false;
		for (l = 0; k; k--)
			l = l << 8 | *q++;
	}
	if ((size_t)(end - q) < l)
		return false;
	*ret = q;
	*ret_len = l;
	*p = q + l;
	return true;
}

/* The digest an Authenticode signature signs: the DigestInfo of its
 * SpcIndirectDataContent, SEQUENCE { SpcAttributeTypeAndOptionalValue,
 * DigestInfo { AlgorithmIdentifier { OID, ... }, OCTET STRING } }. */
static bool signed_digest(PKCS7 *p7, int *ret_nid, const uint8_t **ret, size_t *ret_len)
{
	PKCS7 *c = p7->d.sign->contents;
	char oid[64];
	if (!c || OBJ_obj2txt(oid, sizeof(oid), c->type, 1) <= 0 ||
	    strcmp(oid, SPC_INDIRECT_DATA_OID) != 0 || !c->d.other ||
	    c->d.other->type != V_ASN1_SEQUENCE)
		return false;
	const ASN1_STRING *v = c->d.other->value.sequence;
	const uint8_t *p = v->data, *end = p + v->length, *x, *alg, *oid_start;
	size_t n;
	if (!der_take(&p, end, 0x30, &x, &n)) /* the SpcIndirectDataContent */
		return false;
	p = x, end = x + n;
	if (!der_take(&p, end, 0x30, &x, &n) || /* SpcAttributeTypeAndOptionalValue */
	    !der_take(&p, end, 0x30, &x, &n))	/* DigestInfo */
		return false;
	p = x, end = x + n;
	if (!der_take(&p, end, 0x30, &alg, &n)) /* AlgorithmIdentifier */
		return false;
	const uint8_t *digest_info_rest = p, *a = alg;
	oid_start = a;
	if (!der_take(&a, alg + n, 0x06, &x, &n))
		return false;
	const unsigned char *o = oid_start;
	ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &o, a - oid_start);
	*ret_nid = obj ? OBJ_obj2nid(obj) : NID_undef;
	ASN1_OBJECT_free(obj);
	p = digest_info_rest;
	return der_take(&p, end, 0x04, ret, ret_len);
}

/* Whether the digest p7 signs is the image's. */
static int signature_digest(PKCS7 *p7, const uint8_t *d, size_t len, const struct pe_layout *l,
			    struct pe_signature *ret)
{
	int nid;
	const uint8_t *want;
	size_t want_len;
	if (!signed_digest(p7, &nid, &want, &want_len))
		return -EBADMSG;
	const EVP_MD *md = EVP_get_digestbynid(nid);
	ret->digest = PE_DIGEST_UNKNOWN;
	if (!md)
		return 0;
	snprintf(ret->digest_name, sizeof(ret->digest_name), "%s", OBJ_nid2sn(nid));
	for (char *c = ret->digest_name; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	uint8_t have[EVP_MAX_MD_SIZE];
	unsigned have_len;
	int r = pe_digest(d, len, l, md, have, &have_len);
	if (r < 0)
		return r;
	ret->digest = have_len == want_len && memcmp(have, want, have_len) == 0 ? PE_DIGEST_MATCHES
										: PE_DIGEST_DIFFERS;
	return 0;
}

static int signature_read(const uint8_t *der, size_t n, const uint8_t *d, size_t len,
			  const struct pe_layout *l, struct pe_signature *ret)
{
	const unsigned char *p = der;
	PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)n);
	if (!p7)
		return -EBADMSG;
	int r = -EBADMSG;
	STACK_OF(X509) *signers = NULL;
	if (!PKCS7_type_is_signed(p7))
		goto out;
	signers = PKCS7_get0_signers(p7, NULL, 0);
	if (!signers || sk_X509_num(signers) < 1)
		goto out;
	X509 *signer = sk_X509_value(signers, 0);
	const X509_NAME *issuer = X509_get_issuer_name(signer);
	*ret = (struct pe_signature){
		.signer = name_text(X509_get_subject_name(signer)),
		.ca = name_text(issuer),
		.ca_not_after = -1,
	};
	STACK_OF(X509) *certs = p7->d.sign->cert;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);
		if (X509_NAME_cmp(X509_get_subject_name(c), issuer) == 0)
			ret->ca_not_after = not_after(c);
	}
	if (!ret->signer || !ret->ca) {
		r = -ENOMEM;
		goto fail;
	}
	r = signature_digest(p7, d, len, l, ret);
	if (r >= 0)
		goto out;
fail:
	free(ret->signer);
	free(ret->ca);
out:
	sk_X509_free(signers);
	PKCS7_free(p7);
	return r;
}

int pe_signatures_read(const void *buf, size_t len, struct pe_signature **ret, char **reterr_msg)
{
	const uint8_t *d = buf;
	struct pe_layout lay = {};
	*ret = NULL;
	int r = pe_layout_read(d, len, &lay, reterr_msg);
	if (r < 0)
		return r;
	if (!lay.cert_size)
		return 0; /* no certificate table: unsigned */
	uint32_t off = lay.cert_off, size = lay.cert_size;

	struct pe_signature *sigs = calloc(PE_SIGNATURES_MAX, sizeof(*sigs));
	size_t n = 0;
	if (!sigs)
		return errmsg_oom(reterr_msg);
	for (uint64_t p = off; p + 8 <= (uint64_t)off + size;) {
		uint32_t l = le32(d + p);
		uint16_t type = le16(d + p + 6);
		if (l < 8 || p + l > (uint64_t)off + size) {
			pe_signatures_free(sigs, n);
			return errmsg_set(
				reterr_msg, -EBADMSG,
				"its certificate table has an entry of %u bytes at %" PRIu64
				" that does not fit",
				l, p);
		}
		if (type == WIN_CERT_TYPE_PKCS_SIGNED_DATA) {
			if (n == PE_SIGNATURES_MAX) {
				pe_signatures_free(sigs, n);
				return errmsg_set(reterr_msg, -EBADMSG, "more than %d signatures",
						  PE_SIGNATURES_MAX);
			}
			int k = signature_read(d + p + 8, l - 8, d, len, &lay, &sigs[n]);
			if (k < 0) {
				pe_signatures_free(sigs, n);
				return k == -ENOMEM ? errmsg_oom(reterr_msg)
						    : errmsg_set(reterr_msg, k,
								 "signature %zu is not a readable "
								 "PKCS#7 signature",
								 n + 1);
			}
			n++;
		}
		p += (l + 7) & ~7u;
	}
	if (!n) {
		free(sigs);
		return 0;
	}
	*ret = sigs;
	return (int)n;
}

const char *pe_digest_to_string(enum pe_digest d)
{
	static const char *const names[] = {
		[PE_DIGEST_MATCHES] = "matches",
		[PE_DIGEST_DIFFERS] = "differs",
		[PE_DIGEST_UNKNOWN] = "unknown",
	};
	return (unsigned)d < ELEMENTSOF(names) ? names[d] : "unknown";
}

void pe_signatures_free(struct pe_signature *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++) {
		free(s[i].signer);
		free(s[i].ca);
	}
	free(s);
}
