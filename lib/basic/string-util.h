/* SPDX-License-Identifier: MIT */
/*
 * string-util.h - parsing and formatting helpers for strings that come from
 * outside (files, command lines): every parser checks the whole string.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/basic/macro.h"

const char *endswith(const char *s, const char *suffix);

/* Parses all of s as an unsigned integer in base (0: 0x/0 prefixes allowed).
 * Returns 0, -EINVAL for anything but digits, -ERANGE on overflow. */
int parse_u64(const char *s, int base, uint64_t *ret);
int parse_u32(const char *s, int base, uint32_t *ret);

/* Parses "yes/no/true/false/1/0/on/off"; returns 1, 0, or -EINVAL. */
int parse_boolean(const char *s);

/* Parses a size with an optional K/M/G/T suffix (binary, optionally "iB"). */
int parse_size(const char *s, uint64_t *ret);

/* Removes leading and trailing white space in place; returns s. */
char *strstrip(char *s);

/* Lower-case hex of n bytes into out, which holds 2*n+1 bytes. */
void hex_encode(const void *p, size_t n, char *out);
/* The value of one hex digit, or -1. */
int unhexchar(char c);
/* Decodes exactly 2*n hex digits; -EINVAL on anything else. */
int hex_decode(const char *s, void *out, size_t n);

/* malloc'ed concatenation of a NULL-terminated list; NULL on OOM. */
char *strjoin_real(const char *first, ...) __attribute__((__sentinel__));
#define strjoin(first, ...) strjoin_real(first, __VA_ARGS__, NULL)

/* True when every byte is printable ASCII or UTF-8 continuation, no control. */
bool string_is_safe(const char *s);

/* Levenshtein distance (case-insensitive), for "did you mean" suggestions. */
size_t string_distance(const char *a, const char *b);

/* The one "did you mean" policy: the known name nearest to what the user
 * wrote, at most SUGGEST_MAX_DISTANCE edits away, the first on a tie.
 * Feed candidates to a struct suggestion, or hand a table to suggest_in(). */
#define SUGGEST_MAX_DISTANCE 2
struct suggestion {
	const char *input;
	const char *best; /* NULL while nothing is close */
	size_t distance;
};
#define SUGGESTION_INIT(s)                                                                         \
	{                                                                                          \
		.input = (s), .distance = SUGGEST_MAX_DISTANCE + 1                                 \
	}
void suggestion_add(struct suggestion *sg, const char *candidate);
/* The nearest of n names found at names, names + stride, ... (bytes): an
 * array of strings, or a string member of an array of structs. */
const char *suggest_in_table(const char *s, const void *names, size_t n, size_t stride);
/* suggest_in(s, table, n, member): the nearest table[i].member. */
#define suggest_in(s, table, n, member)                                                            \
	suggest_in_table((s), &(table)[0].member, (n), sizeof((table)[0]))
/* suggest_in_strings(s, array, n): the nearest array[i]. */
#define suggest_in_strings(s, array, n) suggest_in_table((s), (array), (n), sizeof((array)[0]))

/* NULL-terminated string vectors. */
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)
size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);
/* Appends a copy of s; returns 0 or -ENOMEM. */
int strv_extend(char ***l, const char *s);
/* Appends the formatted text; returns 0 or -ENOMEM. */
int strv_extendf(char ***l, const char *fmt, ...) _printf_(2, 3);
int strv_extendv(char ***l, const char *fmt, va_list ap) _printf_(2, 0);

#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)
