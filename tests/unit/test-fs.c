/* SPDX-License-Identifier: MIT */
/*
 * test-fs.c - root-relative access refuses escapes (with openat2 and with the
 * portable walk), bounded reads, and atomic replace keeps the old file when
 * the write fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <dirent.h>

#include "lib/basic/fs.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "tests/unit/tap.h"

static void setup_tree(void)
{
	mkdir("root", 0755);
	mkdir("root/etc", 0755);
	mkdir("root/sys", 0755);
	mkdir("root/sys/class", 0755);
	tap_write("root/etc/hostname", "guest\n");
	tap_write("secret", "outside\n");
	tap_symlink("../../secret", "root/etc/escape-rel");
	tap_symlink("/etc/passwd", "root/etc/escape-abs");
	tap_symlink("hostname", "root/etc/alias");
	tap_symlink("../../etc/hostname", "root/sys/class/updown");
	tap_symlink("loop-b", "root/etc/loop-a");
	tap_symlink("loop-a", "root/etc/loop-b");
	mkfifo("root/etc/fifo", 0644);
}

static void test_escapes(bool walk)
{
	const char *how = walk ? "walk" : "openat2";
	_cleanup_close_ int root = open("root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *s = NULL;

	fs_force_walk(walk);
	is_int(fs_read_line_at(root, "etc/hostname", 64, &s), 0, "%s: plain file reads", how);
	is_str(s, "guest", "%s: first line without newline", how);
	free(s);
	s = NULL;
	is_int(fs_read_line_at(root, "etc/alias", 64, &s), 0, "%s: symlink inside root", how);
	free(s);
	s = NULL;
	is_int(fs_read_line_at(root, "sys/class/updown", 64, &s), 0,
	       "%s: symlink with .. that stays inside", how);
	free(s);
	s = NULL;
	is_int(fs_read_line_at(root, "etc/escape-rel", 64, &s), -EXDEV, "%s: relative escape", how);
	is_int(fs_read_line_at(root, "etc/escape-abs", 64, &s), -EXDEV, "%s: absolute link", how);
	is_int(fs_read_line_at(root, "../secret", 64, &s), -EINVAL, "%s: .. in the path", how);
	is_int(fs_read_line_at(root, "etc/../../secret", 64, &s), -EINVAL, "%s: inner ..", how);
	is_int(fs_read_line_at(root, "/etc/hostname", 64, &s), -EINVAL, "%s: absolute path", how);
	is_int(fs_read_line_at(root, "etc/loop-a", 64, &s), -ELOOP, "%s: symlink loop", how);
	is_int(fs_read_line_at(root, "etc/fifo", 64, &s), -EINVAL, "%s: fifo refused", how);
	is_int(fs_read_line_at(root, "etc", 64, &s), -EISDIR, "%s: directory refused", how);
	is_int(fs_read_line_at(root, "etc/missing", 64, &s), -ENOENT, "%s: missing", how);
	fs_force_walk(false);
}

static void test_bounds(void)
{
	_cleanup_close_ int root = open("root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *s = NULL;
	size_t n;

	tap_write("root/etc/long", "0123456789abcdef\n");
	is_int(fs_read_line_at(root, "etc/long", 8, &s), -EFBIG, "line longer than the cap");
	is_int(fs_read_file_at(root, "etc/long", 8, &s, &n), -EFBIG, "file larger than the cap");
	is_int(fs_read_file_at(root, "etc/long", 17, &s, &n), 0, "file exactly at the cap");
	is_int(n, 17, "size reported");
	free(s);
	s = NULL;

	FILE *f = fopen("root/etc/binary", "we");
	fwrite("ab\0cd", 1, 5, f);
	fclose(f);
	is_int(fs_read_line_at(root, "etc/binary", 64, &s), -EBADMSG, "NUL bytes refused");

	tap_write("root/etc/nonl", "no newline");
	is_int(fs_read_line_at(root, "etc/nonl", 64, &s), 0, "no trailing newline");
	is_str(s, "no newline", "whole content");
	free(s);
}

/* AT_FDCWD: the path as the caller gives it, absolute or relative (not
 * confined: the working directory is no root to stay beneath). */
static void test_cwd(void)
{
	_cleanup_free_ char *cwd = getcwd(NULL, 0), *abs = NULL, *s = NULL, *line = NULL;
	size_t n = 0;
	abs = strjoin(cwd, "/root/etc/hostname");
	is_int(fs_read_file_at(AT_FDCWD, abs, 64, &s, &n), 0, "AT_FDCWD: an absolute path reads");
	is_str(s, "guest\n", "AT_FDCWD: its content");
	is_int(fs_read_line_at(AT_FDCWD, abs, 64, &line), 0, "AT_FDCWD: its first line");
	is_str(line, "guest", "AT_FDCWD: the line");
	free(s);
	s = NULL;
	is_int(fs_read_file_at(AT_FDCWD, "root/etc/hostname", 64, &s, &n), 0,
	       "AT_FDCWD: a relative path reads");
	free(s);
	s = NULL;
	is_int(fs_read_file_at(AT_FDCWD, "root/etc/../../secret", 64, &s, &n), 0,
	       "AT_FDCWD: .. is the caller's to use");
	is_int(fs_read_file_at(AT_FDCWD, "", 64, &s, &n), -EINVAL, "AT_FDCWD: an empty path");
	free(abs);
	abs = strjoin(cwd, "/root/etc");
	is_int(fs_read_file_at(AT_FDCWD, abs, 64, &s, &n), -EISDIR,
	       "AT_FDCWD: a directory refused");
	free(abs);
	abs = strjoin(cwd, "/root/etc/fifo");
	is_int(fs_read_line_at(AT_FDCWD, abs, 64, &line), -EINVAL, "AT_FDCWD: a fifo refused");
}

static void test_mkdir(void)
{
	_cleanup_close_ int root = open("root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	is_int(fs_mkdir_p_at(root, "var/lib/enlighten", 0755), 0, "mkdir -p beneath root");
	ok(stat("root/var/lib/enlighten", &st) == 0 && S_ISDIR(st.st_mode), "directory exists");
	tap_symlink("../..", "root/var/up");
	is_int(fs_mkdir_p_at(root, "var/up/evil", 0755), -EXDEV, "mkdir through an escaping link");
	ok(stat("evil", &st) < 0, "nothing created outside");
}

static void test_atomic(void)
{
	_cleanup_close_ int root = open("root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *s = NULL;

	is_int(fs_write_file_atomic_at(root, "etc/hostname", "new\n", 4, 0644), 0,
	       "atomic replace");
	is_int(fs_read_line_at(root, "etc/hostname", 64, &s), 0, "read back");
	is_str(s, "new", "new content in place");
	free(s);
	s = NULL;

	/* A write that fails part way (file size limit) must leave the old file. */
	struct rlimit old, lim = { .rlim_cur = 4096, .rlim_max = RLIM_INFINITY };
	getrlimit(RLIMIT_FSIZE, &old);
	lim.rlim_max = old.rlim_max;
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &lim);
	size_t big = 1 << 16;
	char *buf = calloc(1, big);
	int r = fs_write_file_atomic_at(root, "etc/hostname", buf, big, 0644);
	setrlimit(RLIMIT_FSIZE, &old);
	free(buf);
	ok(r == -EFBIG, "failed write reports EFBIG (got %d)", r);
	is_int(fs_read_line_at(root, "etc/hostname", 64, &s), 0, "target still readable");
	is_str(s, "new", "old content kept after a failed write");
	free(s);

	int leftovers = 0;
	_cleanup_close_ int etc = open("root/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fdopendir(TAKE_FD(etc));
	for (struct dirent *de; (de = readdir(d));)
		if (startswith(de->d_name, ".#"))
			leftovers++;
	closedir(d);
	is_int(leftovers, 0, "no temporary file left behind");

	is_int(fs_write_file_atomic_at(root, "../outside", "x", 1, 0644), -EINVAL,
	       "atomic write refuses ..");
	struct stat st;
	is_int(fs_write_file_atomic_at(root, "var/up/x", "x", 1, 0644), -EXDEV,
	       "atomic write refuses a link escape");
	ok(stat("x", &st) < 0, "nothing written outside");
}

static void test_list(void)
{
	char **l = NULL;
	mkdir("list", 0755);
	mkdir("list/sub", 0755);
	tap_write("list/b.conf", "");
	tap_write("list/a.conf", "");
	tap_write("list/.hidden.conf", "");
	tap_write("list/c.txt", "");
	tap_symlink("a.conf", "list/link.conf");

	int root = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	is_int(fs_list_dir(root, "list", NULL, &l), 0, "list a directory");
	is_int((int)strv_length(l), 5, "all but the hidden name");
	is_str(l[0], "a.conf", "sorted: first");
	is_str(l[4], "sub", "sorted: last");
	l = strv_free(l);

	is_int(fs_list_dir(root, "list",
			   &(struct fs_list_opts){ .suffix = ".conf", .hidden = true }, &l),
	       0, "by suffix, hidden ones too");
	is_int((int)strv_length(l), 4, "four .conf names");
	is_str(l[0], ".hidden.conf", "the hidden one sorts first");
	l = strv_free(l);

	is_int(fs_list_dir(root, "list", &(struct fs_list_opts){ .regular = true }, &l), 0,
	       "regular files only");
	is_int((int)strv_length(l), 3, "no symlink, no directory");
	l = strv_free(l);

	is_int(fs_list_dir(root, "list", &(struct fs_list_opts){ .max = 2 }, &l), -E2BIG,
	       "more than max: -E2BIG");
	is_int(fs_list_dir(root, "list", &(struct fs_list_opts){ .max = 2, .truncate = true }, &l),
	       1, "more than max, truncated: 1");
	is_int((int)strv_length(l), 2, "max names kept");
	l = strv_free(l);

	is_int(fs_list_dir(root, "list/none", NULL, &l), -ENOENT, "a missing directory");
	is_int(fs_list_dir(root, "../list", NULL, &l), -EINVAL, "a path leaving the root refused");
	mkdir("empty", 0755);
	is_int(fs_list_dir(root, "empty", NULL, &l), 0, "an empty directory");
	ok(l && !*l, "gives an empty list, not NULL");
	l = strv_free(l);
	int sub = open("list/sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	is_int(fs_list_dir(sub, NULL, NULL, &l), 0, "an fd of its own (path NULL)");
	l = strv_free(l);
	close(sub);
	close(root);
}

int main(void)
{
	tap_tmpdir();
	setup_tree();
	test_escapes(false);
	test_escapes(true);
	test_bounds();
	test_cwd();
	test_mkdir();
	test_atomic();
	test_list();
	return tap_done();
}
