/* SPDX-License-Identifier: MIT */
/*
 * hash.c - SHA-256 over OpenSSL EVP.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/basic/copy.h"
#include "lib/basic/hash.h"
#include "lib/basic/macro.h"

struct sha256 {
	EVP_MD_CTX *ctx;
};

int sha256_new(struct sha256 **ret)
{
	struct sha256 *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		sha256_free(h);
		return -ENOMEM;
	}
	*ret = h;
	return 0;
}

int sha256_update(struct sha256 *h, const void *p, size_t n)
{
	return EVP_DigestUpdate(h->ctx, p, n) == 1 ? 0 : -EIO;
}

int sha256_final(struct sha256 *h, uint8_t out[SHA256_DIGEST_SIZE])
{
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != SHA256_DIGEST_SIZE)
		return -EIO;
	return 0;
}

void sha256_free(struct sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int sha256_buffer(const void *p, size_t n, uint8_t out[SHA256_DIGEST_SIZE])
{
	_cleanup_sha256_ struct sha256 *h = NULL;
	int r = sha256_new(&h);
	if (r < 0)
		return r;
	r = sha256_update(h, p, n);
	if (r < 0)
		return r;
	return sha256_final(h, out);
}

int sha256_fd(int fd, uint64_t max, uint8_t out[SHA256_DIGEST_SIZE], uint64_t *ret_len)
{
	_cleanup_sha256_ struct sha256 *h = NULL;
	uint64_t total = 0;
	int r = sha256_new(&h);
	if (r < 0)
		return r;
	r = copy_stream(fd, COPY_SINK_NONE, max, h, &total);
	if (r < 0)
		return r;
	r = sha256_final(h, out);
	if (r < 0)
		return r;
	if (ret_len)
		*ret_len = total;
	return 0;
}
