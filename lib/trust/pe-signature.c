/* SPDX-License-Identifier: MIT */
/*
 * pe-signature.c - the Authenticode signatures of a PE image (see
 * pe-signature.h): the certificate table found through the optional
 * header's data directory, each WIN_CERTIFICATE of type PKCS_SIGNED_DATA
 * parsed with OpenSSL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/trust/pe-signature.h"

#define WIN_CERT_TYPE_PKCS_SIGNED_DATA 0x0002
#define PE_DIR_SECURITY 4

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

static int signature_read(const uint8_t *der, size_t n, struct pe_signature *ret)
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
		free(ret->signer);
		free(ret->ca);
		r = -ENOMEM;
		goto out;
	}
	r = 0;
out:
	sk_X509_free(signers);
	PKCS7_free(p7);
	return r;
}

int pe_signatures_read(const void *buf, size_t len, struct pe_signature **ret, char **reterr_msg)
{
	const uint8_t *d = buf;
	*ret = NULL;
	if (len < 0x40 || d[0] != 'M' || d[1] != 'Z')
		return errmsg_set(reterr_msg, -EBADMSG, "not a PE image (no 'MZ' header)");
	uint32_t pe = le32(d + 0x3c);
	if ((uint64_t)pe + 24 + 2 > len || memcmp(d + pe, "PE\0\0", 4) != 0)
		return errmsg_set(reterr_msg, -EBADMSG, "not a PE image (no 'PE' header)");
	uint16_t magic = le16(d + pe + 24);
	uint64_t dirs = pe + 24 + (magic == 0x20b ? 112 : 96),
		 nd_off = pe + 24 + (magic == 0x20b ? 108 : 92);
	if (magic != 0x20b && magic != 0x10b)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "not a PE image (optional header magic %#x)", magic);
	if (nd_off + 4 > len || le32(d + nd_off) <= PE_DIR_SECURITY ||
	    dirs + 8 * (PE_DIR_SECURITY + 1) > len)
		return 0; /* no certificate table entry: unsigned */
	uint32_t off = le32(d + dirs + 8 * PE_DIR_SECURITY);
	uint32_t size = le32(d + dirs + 8 * PE_DIR_SECURITY + 4);
	if (!off || !size)
		return 0;
	if ((uint64_t)off + size > len)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "its certificate table (%u bytes at %u) runs past the end of the "
				  "file",
				  size, off);

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
			int r = signature_read(d + p + 8, l - 8, &sigs[n]);
			if (r < 0) {
				pe_signatures_free(sigs, n);
				return r == -ENOMEM ? errmsg_oom(reterr_msg)
						    : errmsg_set(reterr_msg, r,
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

void pe_signatures_free(struct pe_signature *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++) {
		free(s[i].signer);
		free(s[i].ca);
	}
	free(s);
}
