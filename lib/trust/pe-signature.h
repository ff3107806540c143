/* SPDX-License-Identifier: MIT */
/*
 * pe-signature.h - the Authenticode signatures of a PE image (an EFI
 * loader, a signed kernel): each PKCS#7 SignedData of the certificate table,
 * with its signer and the CA that a verifier (UEFI's db, shim's vendor
 * certificate) must trust for it, and when that CA's certificate ends, where
 * the signature carries it, and whether the digest it signs is the
 * image's own Authenticode digest (the hash a firmware or shim computes
 * before it checks the signature). What Secure Boot will need, read
 * offline; the certificates are not checked against any trust store here.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define PE_SIGNATURES_MAX 8

enum pe_digest {
	PE_DIGEST_MATCHES, /* the signed digest is the image's Authenticode digest */
	PE_DIGEST_DIFFERS, /* it is not: the image changed after it was signed */
	PE_DIGEST_UNKNOWN, /* signed with a digest algorithm this reader does not know */
};

struct pe_signature {
	char *signer;	       /* the signing certificate's common name (or its subject) */
	char *ca;	       /* its issuer's common name: the CA to trust */
	int64_t ca_not_after;  /* the end of the CA's certificate (seconds), or -1: not carried */
	enum pe_digest digest; /* the signed digest against the image's */
	char digest_name[16];  /* its algorithm ("sha256"), or "" when unknown */
};

/* Reads the signatures of the PE image in buf and checks the digest each
 * one signs against the image, hashed as shim and UEFI firmware hash it:
 * the headers without the checksum and the certificate table's directory
 * entry, the sections in file order, then what lies between the last
 * section and the certificate table. Returns the number found (0: unsigned)
 * with *ret set (free with pe_signatures_free()), or -EBADMSG with a
 * sentence in *reterr_msg when buf is not a PE image, its headers or
 * sections do not fit in it, or a signature cannot be read. */
int pe_signatures_read(const void *buf, size_t len, struct pe_signature **ret, char **reterr_msg);
void pe_signatures_free(struct pe_signature *s, size_t n);

/* "matches", "differs" or "unknown". */
const char *pe_digest_to_string(enum pe_digest d);
