/* SPDX-License-Identifier: MIT */
/*
 * grubenv.h - GRUB's environment block (PREFIX/grubenv): 1024 bytes, a
 * header line, `name=value` lines, '#' to the end. GRUB's load_env reads
 * it, its save_env rewrites it in place (so it must exist, one run of
 * blocks); `grub-reboot ID` sets next_entry in it, which grub.cfg boots
 * once (docs/boot-loaders.md). The build writes an empty one; boot-test
 * sets next_entry on its overlay.
 */
#pragma once

#include <stddef.h>

#define GRUBENV_SIZE 1024
#define GRUBENV_HEADER "# GRUB Environment Block\n"

/* The block old (old_size bytes; NULL: none yet) with key set to value
 * (NULL: taken out; key NULL: nothing changed), its other lines kept, into out (GRUBENV_SIZE bytes,
 * padded with '#'). -EBADMSG: old is no environment block; -EINVAL: a key
 * or value GRUB would need escapes for (newline, backslash, '=' in the
 * key); -E2BIG: the lines do not fit. */
int grubenv_set(const char *old, size_t old_size, const char *key, const char *value,
		char out[GRUBENV_SIZE]);

/* The value of key in the block (old_size bytes), copied into *ret; NULL
 * when it has none. -EBADMSG: no environment block; -ENOMEM. */
int grubenv_get(const char *old, size_t old_size, const char *key, char **ret);
