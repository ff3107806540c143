/* SPDX-License-Identifier: MIT */
/*
 * blake2b.h - unkeyed BLAKE2b with a chosen digest length (RFC 7693).
 *
 * OpenSSL 3.0 offers BLAKE2b only with a 64-byte digest; minisign's secret
 * key checksum is BLAKE2b-256, which is not a truncation of BLAKE2b-512 (the
 * length is part of the parameter block). This is the small reference form,
 * used for that checksum; bulk hashing goes through OpenSSL.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define BLAKE2B_MAX_OUT 64

struct blake2b {
	uint64_t h[8];
	uint64_t t[2];
	uint8_t buf[128];
	size_t n;      /* bytes in buf */
	size_t outlen; /* 1..64 */
};

/* outlen must be 1..64 (anything else is clamped into range). */
void blake2b_init(struct blake2b *s, size_t outlen);
void blake2b_update(struct blake2b *s, const void *p, size_t n);
/* Writes s->outlen bytes and wipes the state. */
void blake2b_final(struct blake2b *s, uint8_t *out);
