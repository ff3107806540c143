/* SPDX-License-Identifier: MIT */
/*
 * test-grubenv.c - GRUB's environment block as grub-editenv writes it: the
 * empty block, a variable set, replaced and taken out, other lines kept,
 * and blocks or values GRUB would not read back the same.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "builder/image/grubenv.h"
#include "lib/basic/macro.h"
#include "tests/unit/tap.h"

#define H GRUBENV_HEADER

/* The lines of a block, up to its '#' padding. */
static char *lines(const char *block)
{
	size_t n = strlen(H);
	while (n < GRUBENV_SIZE && block[n] != '#')
		n++;
	return strndup(block + strlen(H), n - strlen(H));
}

static bool padded(const char *block)
{
	size_t n = GRUBENV_SIZE;
	while (n > 0 && block[n - 1] == '#')
		n--;
	return n >= strlen(H) && memcmp(block, H, strlen(H)) == 0;
}

static void test_set(void)
{
	char a[GRUBENV_SIZE], b[GRUBENV_SIZE], c[GRUBENV_SIZE];
	is_int(grubenv_set(NULL, 0, NULL, NULL, a), 0, "an empty block");
	ok(padded(a), "... the header, then '#' to 1024 bytes");
	_cleanup_free_ char *l = lines(a);
	is_str(l, "", "... and no variables");

	is_int(grubenv_set(a, sizeof(a), "next_entry", "enlighten-xen", b), 0, "set next_entry");
	free(l);
	l = lines(b);
	is_str(l, "next_entry=enlighten-xen\n", "... one line");
	ok(padded(b), "... still 1024 bytes");

	is_int(grubenv_set(b, sizeof(b), "saved_entry", "0", c), 0, "set another");
	is_int(grubenv_set(c, sizeof(c), "next_entry", "windows", a), 0, "replace next_entry");
	free(l);
	l = lines(a);
	is_str(l, "saved_entry=0\nnext_entry=windows\n", "... the other kept, the old value gone");

	is_int(grubenv_set(a, sizeof(a), "next_entry", NULL, b), 0, "take next_entry out");
	free(l);
	l = lines(b);
	is_str(l, "saved_entry=0\n", "... only the other left");

	_cleanup_free_ char *v = NULL;
	is_int(grubenv_get(a, sizeof(a), "next_entry", &v), 0, "read next_entry");
	is_str(v, "windows", "... its value");
	free(v);
	v = NULL;
	is_int(grubenv_get(b, sizeof(b), "next_entry", &v), 0, "read a variable not there");
	ok(v == NULL, "... none");
	is_int(grubenv_get(b, sizeof(b), "saved_entr", &v), 0, "a prefix of a name is no name");
	ok(v == NULL, "... none");
}

static void test_bad(void)
{
	char out[GRUBENV_SIZE], big[GRUBENV_SIZE];
	is_int(grubenv_set("not an env block", 16, "a", "b", out), -EBADMSG,
	       "a block without the header is refused");
	is_int(grubenv_get("# GRUB", 6, "a", &(char *){ NULL }), -EBADMSG,
	       "... read too, when cut short");
	is_int(grubenv_set(NULL, 0, "a", "x\ny", out), -EINVAL, "a newline in a value");
	is_int(grubenv_set(NULL, 0, "a", "x\\y", out), -EINVAL, "a backslash in a value");
	is_int(grubenv_set(NULL, 0, "a=b", "c", out), -EINVAL, "'=' in a name");
	is_int(grubenv_set(NULL, 0, "", "c", out), -EINVAL, "an empty name");
	char value[GRUBENV_SIZE];
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	is_int(grubenv_set(NULL, 0, "a", value, out), -E2BIG, "a value that does not fit");
	is_int(grubenv_set(NULL, 0, NULL, NULL, big), 0, "an empty block");
	value[GRUBENV_SIZE - strlen(H) - 3] = '\0'; /* "a=" + value + "\n": exactly full */
	is_int(grubenv_set(big, sizeof(big), "a", value, out), 0, "a value that just fits");
	ok(out[GRUBENV_SIZE - 1] == '\n', "... to the last byte");
}

int main(void)
{
	test_set();
	test_bad();
	return tap_done();
}
