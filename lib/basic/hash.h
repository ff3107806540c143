/* SPDX-License-Identifier: MIT */
/*
 * hash.h - SHA-256 through OpenSSL's EVP interface, streaming: a payload is
 * read once, whatever else is done with its bytes.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32
#define SHA256_HEX_SIZE (2 * SHA256_DIGEST_SIZE + 1)

struct sha256;

int sha256_new(struct sha256 **ret);
int sha256_update(struct sha256 *h, const void *p, size_t n);
/* Writes the digest; the context can then only be freed. */
int sha256_final(struct sha256 *h, uint8_t out[SHA256_DIGEST_SIZE]);
void sha256_free(struct sha256 *h);
static inline void sha256_freep(struct sha256 **h)
{
	sha256_free(*h);
}
#define _cleanup_sha256_ __attribute__((__cleanup__(sha256_freep)))

/* One-shot digest of a buffer. */
int sha256_buffer(const void *p, size_t n, uint8_t out[SHA256_DIGEST_SIZE]);

/* Digest of fd from its current offset to EOF; more than max bytes gives
 * -EFBIG. ret_len (may be NULL) gets the byte count. */
int sha256_fd(int fd, uint64_t max, uint8_t out[SHA256_DIGEST_SIZE], uint64_t *ret_len);
