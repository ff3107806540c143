/* SPDX-License-Identifier: MIT */
/*
 * qga.c - the QEMU guest agent client of boot-test (see qga.h). Blocking
 * I/O with poll() deadlines on one unix socket; nothing here prints.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "builder/boot-test/qemu.h"
#include "builder/boot-test/qga.h"
#include "lib/basic/fs.h"
#include "lib/basic/json.h"
#include "lib/basic/macro.h"

#define SYNC_TRY_USEC (2ULL * 1000000ULL)
#define CALL_USEC (20ULL * 1000000ULL)
#define EXEC_POLL_MSEC 200
#define READ_CHUNK 65536 /* bytes asked of guest-file-read at a time */

struct qga {
	int fd;
	char *buf; /* bytes received and not yet consumed */
	size_t len, cap;
};

void qga_close(struct qga *q)
{
	if (!q)
		return;
	safe_close(q->fd);
	free(q->buf);
	free(q);
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = negative_errno();
		safe_close(fd);
		return r;
	}
	return fd;
}

/* Reads more bytes into q->buf, waiting until deadline. */
static int fill(struct qga *q, uint64_t deadline)
{
	if (q->len >= QGA_REPLY_MAX)
		return -E2BIG;
	if (q->cap - q->len < READ_CHUNK + 1) {
		size_t cap = q->cap ? q->cap * 2 : 2 * READ_CHUNK;
		char *b = realloc(q->buf, cap);
		if (!b)
			return -ENOMEM;
		q->buf = b;
		q->cap = cap;
	}
	for (;;) {
		uint64_t now = now_usec();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		int k = poll(&p, 1, (int)((deadline - now) / 1000) + 1);
		if (k < 0 && errno != EINTR)
			return negative_errno();
		if (k <= 0)
			continue;
		ssize_t n = read(q->fd, q->buf + q->len, q->cap - q->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			return -ECONNRESET;
		q->len += (size_t)n;
		q->buf[q->len] = '\0';
		return 0;
	}
}

/* Takes one line (without its newline) out of the buffer, or -EAGAIN. */
static int take_line(struct qga *q, char **ret)
{
	char *nl = q->buf ? memchr(q->buf, '\n', q->len) : NULL;
	if (!nl)
		return -EAGAIN;
	size_t n = (size_t)(nl - q->buf);
	char *line = strndup(q->buf, n);
	if (!line)
		return -ENOMEM;
	memmove(q->buf, nl + 1, q->len - n - 1);
	q->len -= n + 1;
	q->buf[q->len] = '\0';
	*ret = line;
	return 0;
}

/* The next reply: a line that parses as a JSON object. */
static int read_reply(struct qga *q, uint64_t deadline, json_object **ret)
{
	for (;;) {
		_cleanup_free_ char *line = NULL;
		int r = take_line(q, &line);
		if (r == -EAGAIN) {
			r = fill(q, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (r < 0)
			return r;
		/* a 0xff delimiter (guest-sync-delimited) may lead the line */
		const char *s = line;
		while (*s == '\xff' || *s == ' ' || *s == '\r')
			s++;
		if (!*s)
			continue;
		json_object *o = NULL;
		if (json_parse_bounded(s, strlen(s), QGA_REPLY_MAX, &o, NULL) < 0 ||
		    !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			continue; /* not for us: noise after a reconnect */
		}
		*ret = o;
		return 0;
	}
}

static int send_command(struct qga *q, const char *command, json_object *arguments)
{
	_cleanup_json_ json_object *c = json_object_new_object();
	if (!c)
		return -ENOMEM;
	json_object_object_add(c, "execute", json_object_new_string(command));
	if (arguments)
		json_object_object_add(c, "arguments", json_object_get(arguments));
	const char *s = json_to_string(c, false);
	if (!s)
		return -ENOMEM;
	int r = fs_write_all(q->fd, s, strlen(s));
	return r < 0 ? r : fs_write_all(q->fd, "\n", 1);
}

static int sync_once(struct qga *q, int64_t id, uint64_t deadline)
{
	_cleanup_json_ json_object *args = json_object_new_object();
	if (!args)
		return -ENOMEM;
	json_object_object_add(args, "id", json_object_new_int64(id));
	int r = send_command(q, "guest-sync-delimited", args);
	if (r < 0)
		return r;
	for (;;) {
		_cleanup_json_ json_object *o = NULL;
		r = read_reply(q, deadline, &o);
		if (r < 0)
			return r;
		json_object *v;
		if (json_object_object_get_ex(o, "return", &v) && json_object_get_int64(v) == id)
			return 0;
	}
}

int qga_open(const char *socket_path, uint64_t deadline, struct qga **ret)
{
	struct qga *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->fd = -EBADF;
	int64_t id = (int64_t)(now_usec() % 1000000000) + 1;
	int r = -ETIMEDOUT;

	while (now_usec() < deadline) {
		if (q->fd < 0) {
			q->fd = connect_unix(socket_path);
			if (q->fd < 0) {
				/* QEMU listens there as long as it runs */
				r = q->fd;
				break;
			}
		}
		uint64_t try_until = now_usec() + SYNC_TRY_USEC;
		r = sync_once(q, ++id, try_until < deadline ? try_until : deadline);
		if (r == 0) {
			*ret = q;
			return 0;
		}
		if (r != -ETIMEDOUT)
			break; /* QEMU closed the socket: the guest is gone */
		q->len = 0;
	}
	qga_close(q);
	return r;
}

int qga_execute(struct qga *q, const char *command, json_object *arguments, json_object **ret,
		char **ret_error)
{
	uint64_t deadline = now_usec() + CALL_USEC;
	int r = send_command(q, command, arguments);
	if (r < 0)
		return r;
	_cleanup_json_ json_object *o = NULL;
	r = read_reply(q, deadline, &o);
	if (r < 0)
		return r;
	json_object *v;
	if (json_object_object_get_ex(o, "error", &v)) {
		if (ret_error) {
			const char *desc = NULL;
			(void)json_get_string(v, "desc", &desc);
			*ret_error = strdup(desc ?: "the guest agent refused");
		}
		return -EREMOTEIO;
	}
	if (!json_object_object_get_ex(o, "return", &v))
		return -EBADMSG;
	*ret = json_object_get(v);
	return 0;
}

/* base64 of at most QGA_REPLY_MAX bytes into a new buffer. */
static int b64_decode(const char *in, char **ret, size_t *ret_size)
{
	size_t n = strlen(in);
	if (n % 4)
		return -EBADMSG;
	_cleanup_free_ char *out = malloc(n / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	int k = n ? EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in, (int)n) : 0;
	if (k < 0)
		return -EBADMSG;
	size_t size = (size_t)k;
	for (size_t i = n; i > 0 && in[i - 1] == '=' && size > 0; i--)
		size--; /* EVP_DecodeBlock counts the padding as zero bytes */
	out[size] = '\0';
	*ret = TAKE_PTR(out);
	*ret_size = size;
	return 0;
}

int qga_read_file(struct qga *q, const char *path, char **ret, size_t *ret_size, char **ret_error)
{
	_cleanup_json_ json_object *args = json_object_new_object(), *h = NULL;
	if (!args)
		return -ENOMEM;
	json_object_object_add(args, "path", json_object_new_string(path));
	json_object_object_add(args, "mode", json_object_new_string("r"));
	int r = qga_execute(q, "guest-file-open", args, &h, ret_error);
	if (r < 0)
		return r;
	int64_t handle = json_object_get_int64(h);

	_cleanup_free_ char *data = NULL;
	size_t size = 0;
	for (;;) {
		_cleanup_json_ json_object *ra = json_object_new_object(), *rv = NULL;
		if (!ra) {
			r = -ENOMEM;
			break;
		}
		json_object_object_add(ra, "handle", json_object_new_int64(handle));
		json_object_object_add(ra, "count", json_object_new_int(READ_CHUNK));
		r = qga_execute(q, "guest-file-read", ra, &rv, ret_error);
		if (r < 0)
			break;
		const char *b64 = NULL;
		json_object *eof;
		_cleanup_free_ char *chunk = NULL;
		size_t k = 0;
		if (json_get_string(rv, "buf-b64", &b64) < 0 || b64_decode(b64, &chunk, &k) < 0) {
			r = -EBADMSG;
			break;
		}
		if (size + k > QGA_FILE_MAX) {
			r = -EFBIG;
			break;
		}
		char *d = realloc(data, size + k + 1);
		if (!d) {
			r = -ENOMEM;
			break;
		}
		data = d;
		memcpy(data + size, chunk, k);
		size += k;
		data[size] = '\0';
		if ((json_object_object_get_ex(rv, "eof", &eof) && json_object_get_boolean(eof)) ||
		    k == 0)
			break;
	}
	_cleanup_json_ json_object *ca = json_object_new_object(), *cv = NULL;
	if (ca) {
		json_object_object_add(ca, "handle", json_object_new_int64(handle));
		(void)qga_execute(q, "guest-file-close", ca, &cv, NULL);
	}
	if (r < 0)
		return r;
	if (!data && !(data = strdup("")))
		return -ENOMEM;
	*ret = TAKE_PTR(data);
	if (ret_size)
		*ret_size = size;
	return 0;
}

int qga_exec(struct qga *q, char *const argv[], uint64_t deadline, int *ret_exit, char **ret_out)
{
	_cleanup_json_ json_object *args = json_object_new_object(), *started = NULL;
	if (!args)
		return -ENOMEM;
	json_object *arg = json_object_new_array();
	for (size_t i = 1; argv[i]; i++)
		json_object_array_add(arg, json_object_new_string(argv[i]));
	json_object_object_add(args, "path", json_object_new_string(argv[0]));
	json_object_object_add(args, "arg", arg);
	json_object_object_add(args, "capture-output", json_object_new_boolean(true));
	int r = qga_execute(q, "guest-exec", args, &started, NULL);
	if (r < 0)
		return r;
	int64_t pid;
	r = json_get_int64(started, "pid", &pid);
	if (r < 0)
		return -EBADMSG;

	for (;;) {
		_cleanup_json_ json_object *sa = json_object_new_object(), *st = NULL;
		if (!sa)
			return -ENOMEM;
		json_object_object_add(sa, "pid", json_object_new_int64(pid));
		r = qga_execute(q, "guest-exec-status", sa, &st, NULL);
		if (r < 0)
			return r;
		json_object *v;
		if (json_object_object_get_ex(st, "exited", &v) && json_object_get_boolean(v)) {
			int64_t code = -1;
			(void)json_get_int64(st, "exitcode", &code);
			const char *b64 = NULL;
			_cleanup_free_ char *out = NULL;
			size_t k = 0;
			if (json_get_string(st, "out-data", &b64) >= 0)
				r = b64_decode(b64, &out, &k);
			else
				r = (out = strdup("")) ? 0 : -ENOMEM;
			if (r < 0)
				return r;
			*ret_exit = (int)code;
			*ret_out = TAKE_PTR(out);
			return 0;
		}
		if (now_usec() >= deadline)
			return -ETIMEDOUT;
		poll(NULL, 0, EXEC_POLL_MSEC);
	}
}
