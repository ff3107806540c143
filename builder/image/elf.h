/* SPDX-License-Identifier: MIT */
/*
 * elf.h - what the dynamic loader needs of an ELF file, read from its bytes
 * (program headers and the dynamic segment, as ld.so reads them, so a
 * stripped file reads the same): the machine, the program interpreter, the
 * NEEDED libraries and SONAME, the symbol versions it needs from each
 * library (.gnu.version_r) and those it defines (.gnu.version_d).
 *
 * Every offset, count and string is checked against the buffer: a hostile
 * or truncated file is an error naming what is wrong, never a read past
 * its end. Only 64-bit little-endian files are read in full (what the
 * builder's agent is); any other ELF gets its class, byte order and machine
 * and `partial` set, which is enough to tell it is not for this agent.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/basic/macro.h"

struct elf_info {
	uint8_t class; /* ELFCLASS32, ELFCLASS64 */
	uint8_t data;  /* ELFDATA2LSB, ELFDATA2MSB */
	uint16_t machine;
	bool partial; /* not 64-bit little-endian: nothing below was read */
	char *interp; /* PT_INTERP, NULL for a static file */
	char *soname;
	char **needed; /* DT_NEEDED, in order */
	/* version needs: need_file[i] must define need_version[i] */
	char **need_file;
	char **need_version;
	char **defined; /* version definitions, the base (SONAME) one included */
};

/* Reads n bytes at off of the file into buf (the range is inside the file);
 * a negative errno when it cannot. */
typedef int (*elf_pread_fn)(void *userdata, void *buf, size_t n, uint64_t off);

/* Reads a file of size bytes through pread, only the parts the loader
 * reads (headers, dynamic segment, string table, version tables): a few
 * KiB of a library of megabytes. */
int elf_read(elf_pread_fn pread, void *userdata, uint64_t size, struct elf_info **ret,
	     char **reterr_msg);
/* The same over a buffer: -EMEDIUMTYPE for a file that is not ELF at all, -EBADMSG for
 * a damaged one (with the reason in reterr_msg). */
int elf_parse(const void *buf, size_t n, struct elf_info **ret, char **reterr_msg);
struct elf_info *elf_info_free(struct elf_info *i);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct elf_info *, elf_info_free);

/* "x86-64", "aarch64", ... or NULL for a machine this table does not name. */
const char *elf_machine_name(uint16_t machine);
/* The Debian multiarch triplet of a machine ("x86_64-linux-gnu"), or NULL. */
const char *elf_machine_triplet(uint16_t machine);
