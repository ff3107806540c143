/* SPDX-License-Identifier: MIT */
/*
 * test-elf.c - the loader's view of an ELF file: this test program and the
 * C library it runs on read as the loader reads them; every truncation and
 * a flipped byte at every offset of the program's headers end in an error
 * or a result, never a read outside the buffer (ASan watches); other
 * classes and text are told apart.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image/elf.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "tap.h"

static char *slurp(const char *path, size_t *ret_n)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	char *buf = malloc((size_t)st.st_size);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		return NULL;
	}
	*ret_n = (size_t)st.st_size;
	return buf;
}

static char *libc_path;

static int find_libc(struct dl_phdr_info *info, size_t size _unused_, void *data _unused_)
{
	if (info->dlpi_name && strstr(info->dlpi_name, "/libc.so.6"))
		libc_path = strdup(info->dlpi_name);
	return 0;
}

static void test_self(char **buf, size_t *n)
{
	_cleanup_(elf_info_freep) struct elf_info *i = NULL;
	_cleanup_free_ char *msg = NULL;

	*buf = slurp("/proc/self/exe", n);
	ok(*buf, "this program read");
	is_int(elf_parse(*buf, *n, &i, &msg), 0, "this program parses: %s", msg ? msg : "");
	ok(!i->partial && i->class == ELFCLASS64, "read in full");
	ok(i->interp && strstr(i->interp, "ld-linux"), "its interpreter: %s",
	   i->interp ? i->interp : "(none)");
	ok(strv_contains(i->needed, "libc.so.6"), "it needs libc.so.6");
	bool glibc = false;
	for (size_t k = 0; i->need_file && i->need_file[k]; k++)
		glibc |= streq(i->need_file[k], "libc.so.6") &&
			 startswith(i->need_version[k], "GLIBC_2.");
	ok(glibc, "it asks libc.so.6 for a GLIBC_2.* version");
	ok(i->machine == EM_X86_64 || i->machine == EM_AARCH64 || elf_machine_name(i->machine),
	   "its machine is named: %s", elf_machine_name(i->machine));
}

static void test_libc(void)
{
	_cleanup_(elf_info_freep) struct elf_info *i = NULL;
	_cleanup_free_ char *msg = NULL, *buf = NULL;
	size_t n = 0;

	dl_iterate_phdr(find_libc, NULL);
	ok(libc_path, "the C library this program runs on: %s", libc_path ? libc_path : "?");
	buf = libc_path ? slurp(libc_path, &n) : NULL;
	is_int(buf ? elf_parse(buf, n, &i, &msg) : -1, 0, "it parses");
	is_str(i ? i->soname : NULL, "libc.so.6", "its SONAME");
	ok(i && strv_contains(i->defined, "GLIBC_2.2.5") + strv_contains(i->defined, "GLIBC_2.17"),
	   "it defines the first GLIBC version of its machine");
	ok(i && strv_contains(i->defined, "libc.so.6"), "and its base version");
	free(libc_path);
}

/* Every prefix and a flipped byte at each offset of the first 4 KiB: an
 * error with a message, or a result; never past the buffer. */
static void test_damaged(const char *buf, size_t n)
{
	size_t errors = 0, parsed = 0;
	bool silent = false;
	for (size_t len = 0; len < n && len < 8192; len += len < 512 ? 1 : 61) {
		char *copy = malloc(len ? len : 1);
		memcpy(copy, buf, len);
		struct elf_info *i = NULL;
		char *msg = NULL;
		int r = elf_parse(copy, len, &i, &msg);
		if (r < 0 && !msg)
			silent = true;
		r < 0 ? errors++ : parsed++;
		elf_info_free(i);
		free(msg);
		free(copy);
	}
	ok(errors > 0 && !silent, "truncated copies: %zu refused, each with a reason", errors);
	char *copy = malloc(n);
	for (size_t off = 0; off < 4096 && off < n; off++) {
		memcpy(copy, buf, n);
		copy[off] ^= 0xa5;
		struct elf_info *i = NULL;
		char *msg = NULL;
		if (elf_parse(copy, n, &i, &msg) < 0 && !msg)
			silent = true;
		elf_info_free(i);
		free(msg);
	}
	free(copy);
	ok(!silent, "a flipped byte at each of the first 4096 offsets: no crash, no silent error");
}

static void test_others(void)
{
	_cleanup_(elf_info_freep) struct elf_info *i = NULL;
	_cleanup_free_ char *msg = NULL;
	unsigned char h32[64] = { 0x7f, 'E', 'L', 'F', ELFCLASS32, ELFDATA2LSB, 1 };
	h32[18] = EM_386;
	is_int(elf_parse(h32, sizeof(h32), &i, &msg), 0, "a 32-bit header reads");
	ok(i && i->partial && i->machine == EM_386 && i->class == ELFCLASS32,
	   "as partial, i386, 32-bit");
	is_int(elf_parse("/* GNU ld script */", 19, &i, &msg), -EMEDIUMTYPE,
	       "a linker script is not ELF");
	unsigned char bad[64] = { 0x7f, 'E', 'L', 'F', 7, 1 };
	free(msg), msg = NULL;
	ok(elf_parse(bad, sizeof(bad), &i, &msg) == -EBADMSG && msg, "an unknown class: %s",
	   msg ? msg : "");
	is_str(elf_machine_triplet(EM_X86_64), "x86_64-linux-gnu", "x86-64's multiarch folder");
	ok(!elf_machine_name(0xbeef), "an unknown machine has no name");
}

int main(void)
{
	char *buf = NULL;
	size_t n = 0;
	tap_tmpdir();
	test_self(&buf, &n);
	if (buf)
		test_damaged(buf, n);
	free(buf);
	test_libc();
	test_others();
	return tap_done();
}
