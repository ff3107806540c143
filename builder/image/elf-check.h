/* SPDX-License-Identifier: MIT */
/*
 * elf-check.h - whether a program in the image can start on the image's own
 * root, checked as the dynamic loader would check it: its program
 * interpreter is there, every NEEDED library (and every library those
 * need) is found in the loader's folders (/etc/ld.so.conf with its
 * includes, then the usual system folders) and built for the same machine,
 * and each defines the symbol versions asked of it (GLIBC_2.34, ...).
 *
 * Not followed: DT_RPATH/DT_RUNPATH and $ORIGIN, LD_LIBRARY_PATH, hwcaps
 * subfolders, and the symbols themselves (only their versions): the
 * check answers "will the loader start it", for a program built against a
 * distribution's libraries.
 */
#pragma once

#include "builder/image/fs-ext4.h"

/* path: the program, in the image. what: how messages name it ("the
 * first-boot agent"). 0 when it can start; otherwise -ENOENT (something is
 * missing), -ENOEXEC (built for another machine) or -EPROTO (a symbol
 * version the base lacks), with a message naming what and what to do. */
int elf_check_starts(struct ext4 *e, const char *path, const char *what, char **reterr_msg);
