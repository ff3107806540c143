/* SPDX-License-Identifier: MIT */
/*
 * pe-signature.h - the Authenticode signatures of a PE image (an EFI
 * loader, a signed kernel): each PKCS#7 SignedData of the certificate table,
 * with its signer and the CA that a verifier (UEFI's db, shim's vendor
 * certificate) must trust for it, and when that CA's certificate ends, where
 * the signature carries it. What Secure Boot will need, read offline; the
 * digest is not checked against the image here.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define PE_SIGNATURES_MAX 8

struct pe_signature {
	char *signer;	      /* the signing certificate's common name (or its subject) */
	char *ca;	      /* its issuer's common name: the CA to trust */
	int64_t ca_not_after; /* the end of the CA's certificate (seconds), or -1: not carried */
};

/* Reads the signatures of the PE image in buf. Returns the number found
 * (0: unsigned) with *ret set (free with pe_signatures_free()), or -EBADMSG
 * with a sentence in *reterr_msg when buf is not a PE image or a signature
 * cannot be read. */
int pe_signatures_read(const void *buf, size_t len, struct pe_signature **ret, char **reterr_msg);
void pe_signatures_free(struct pe_signature *s, size_t n);
