/* SPDX-License-Identifier: MIT */
/*
 * fetch.c - parallel, verified downloads over libcurl multi (see fetch.h).
 *
 * One job per file. The loop starts jobs whose backoff has passed while
 * fewer than opts->jobs run, lets libcurl work, and settles each finished
 * transfer: complete -> handed to the hashing thread, and once its digest
 * matches the catalog, renamed into DEST; failed -> retried later from the
 * mirror at the front of the shared order, or given up. The loop itself only
 * moves bytes, so hashing runs on another core while transfers go on.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/hash-worker.h"
#include "lib/basic/hash.h"
#include "lib/basic/macro.h"
#include "lib/basic/progress.h"
#include "lib/basic/string-util.h"
#include "lib/net/fetch.h"

#define DATA_DIR FETCH_PARTIAL_DIR "/data"
#define ETAG_DIR FETCH_PARTIAL_DIR "/etag"
#define ETAG_MAX 256
#define ERROR_BODY_MAX (64 * 1024)
#define BACKOFF_MAX_MS 30000u
#define RETRY_AFTER_MAX_S 30
#define WRITE_BUF_SIZE (256u * 1024)

enum job_state { JOB_PENDING, JOB_ACTIVE, JOB_VERIFYING, JOB_DONE };

struct job {
	/* what */
	const char *path;
	uint64_t cap;		 /* most bytes accepted */
	bool exact;		 /* length must be cap and sha256 must match */
	const uint8_t *sha256;	 /* with exact */
	struct fetch_item *item; /* NULL for a memory job */
	/* scheduling */
	enum job_state state;
	unsigned attempts;
	uint64_t next_try_ms;
	uint32_t excluded; /* mirrors that cannot serve this job */
	int result;
	char error[512];
	/* the transfer under way */
	CURL *easy;
	struct curl_slist *headers;
	char *url;
	int mirror;
	int fd;		  /* the quarantined file, or -EBADF for memory */
	uint64_t offset;  /* bytes kept from an earlier attempt */
	uint64_t written; /* bytes in the file (or buffer) now */
	bool range_requested;
	bool body_started;
	bool discard; /* an error page: read and drop */
	uint64_t discarded;
	char etag[ETAG_MAX]; /* of the response being read */
	bool have_range;
	uint64_t range_start;
	int werr;	    /* failure found in a callback */
	bool werr_excludes; /* ... that this mirror will repeat */
	char werr_msg[256];
	char curl_err[CURL_ERROR_SIZE];
	uint8_t *wbuf; /* bytes received, not yet written */
	size_t wbuf_len;
	/* memory jobs */
	char *buf;
};

struct fetch_run {
	const struct fetch_opts *o;
	char *const *mirrors;
	size_t n_mirrors;
	int order[FETCH_MAX_MIRRORS]; /* mirror indices, best first */
	int dest_fd;
	CURLM *multi;
	struct job *jobs;
	size_t n_jobs;
	unsigned active;
	unsigned verifying;	    /* jobs whose file is being hashed */
	struct hash_worker *hasher; /* started with the first complete file */
	bool etag_files;	    /* no user xattrs here: validators in ETAG_DIR */
	uint64_t bytes_done;	    /* of finished jobs, for the progress bar */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void opts_defaults(const struct fetch_opts *in, struct fetch_opts *out)
{
	*out = in ? *in : (struct fetch_opts){ .retries = -1 };
	if (!out->cainfo)
		out->cainfo = FETCH_DEFAULT_CAINFO;
	if (!out->jobs)
		out->jobs = 8;
	if (!out->per_host)
		out->per_host = out->jobs;
	if (!out->connect_timeout_s)
		out->connect_timeout_s = 30;
	if (!out->low_speed_limit)
		out->low_speed_limit = 1024;
	if (!out->low_speed_time_s)
		out->low_speed_time_s = 30;
	if (out->retries < 0)
		out->retries = 4;
	if (!out->backoff_ms)
		out->backoff_ms = 250;
}

static const char *url_scheme_end(const char *url, const char *scheme)
{
	size_t n = strlen(scheme);
	if (strncasecmp(url, scheme, n) != 0 || strncmp(url + n, "://", 3) != 0)
		return NULL;
	return url + n + 3;
}

bool fetch_url_allowed(const struct fetch_opts *o, const char *url)
{
	if (url_scheme_end(url, "https") || url_scheme_end(url, "file"))
		return true;
	return o && o->allow_http && url_scheme_end(url, "http");
}

static _printf_(2, 3) void job_fail_msg(struct job *j, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->error, sizeof(j->error), fmt, ap);
	va_end(ap);
}

/* ---- paths in the quarantine ------------------------------------------- */

static char *quarantine_path(const char *dir, const char *path)
{
	return strjoin(dir, "/", path);
}

/* Opens (creating its directories) the file for path under dir beneath
 * dest_fd. */
static int quarantine_open(int dest_fd, const char *dir, const char *path, int flags)
{
	_cleanup_free_ char *p = quarantine_path(dir, path);
	if (!p)
		return -ENOMEM;
	char *slash = strrchr(p, '/');
	*slash = '\0';
	int r = fs_mkdir_p_at(dest_fd, p, 0700);
	if (r < 0)
		return r;
	*slash = '/';
	return fs_open_beneath(dest_fd, p, flags, 0600);
}

/* Opens the directory holding path (beneath dest_fd) and returns its fd and
 * the last component. */
static int parent_open(int dest_fd, const char *path, const char **ret_base)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		*ret_base = path;
		return fs_open_beneath(dest_fd, ".", O_RDONLY | O_DIRECTORY, 0);
	}
	_cleanup_free_ char *dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	int r = fs_mkdir_p_at(dest_fd, dir, 0755);
	if (r < 0)
		return r;
	*ret_base = slash + 1;
	return fs_open_beneath(dest_fd, dir, O_RDONLY | O_DIRECTORY, 0);
}

static int unlink_beneath(int dest_fd, const char *path)
{
	const char *slash = strrchr(path, '/');
	_cleanup_close_ int dfd = -EBADF;
	const char *base = path;

	if (slash) {
		_cleanup_free_ char *dir = strndup(path, (size_t)(slash - path));
		if (!dir)
			return -ENOMEM;
		dfd = fs_open_beneath(dest_fd, dir, O_RDONLY | O_DIRECTORY, 0);
		if (dfd < 0)
			return dfd == -ENOENT ? 0 : dfd;
		base = slash + 1;
	} else
		dfd = fs_open_beneath(dest_fd, ".", O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0)
		return dfd;
	if (unlinkat(dfd, base, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static void partial_drop(struct fetch_run *run, struct job *j)
{
	_cleanup_free_ char *d = quarantine_path(DATA_DIR, j->path);
	_cleanup_free_ char *e = quarantine_path(ETAG_DIR, j->path);
	if (d)
		(void)unlink_beneath(run->dest_fd, d);
	if (e && run->etag_files)
		(void)unlink_beneath(run->dest_fd, e);
}

/* The validator of a partial file is an extended attribute on it, so it
 * goes wherever the file goes; where the file system has no user xattrs it
 * is a file beside it in ETAG_DIR. */
#define ETAG_XATTR "user.enlighten.etag"

static int etag_read(struct fetch_run *run, struct job *j, char out[ETAG_MAX])
{
	ssize_t n = fgetxattr(j->fd, ETAG_XATTR, out, ETAG_MAX - 1);
	if (n > 0) {
		out[n] = '\0';
		return string_is_safe(out) ? 0 : -EINVAL;
	}
	if (n < 0 && errno != ENOTSUP)
		return -errno;

	_cleanup_free_ char *p = quarantine_path(ETAG_DIR, j->path);
	_cleanup_free_ char *s = NULL;
	if (!p)
		return -ENOMEM;
	int r = fs_read_line_at(run->dest_fd, p, ETAG_MAX - 1, &s);
	if (r < 0)
		return r;
	if (!*s || !string_is_safe(s))
		return -EINVAL;
	snprintf(out, ETAG_MAX, "%s", s);
	return 0;
}

/* Records etag for the partial file (NULL: forgets it). */
static int etag_write(struct fetch_run *run, struct job *j, const char *etag)
{
	if (!run->etag_files) {
		int k = etag ? fsetxattr(j->fd, ETAG_XATTR, etag, strlen(etag), 0)
			     : fremovexattr(j->fd, ETAG_XATTR);
		if (k >= 0 || (errno == ENODATA && !etag))
			return 0;
		if (errno != ENOTSUP)
			return -errno;
		run->etag_files = true;
	}
	if (!etag) {
		_cleanup_free_ char *e = quarantine_path(ETAG_DIR, j->path);
		return e ? unlink_beneath(run->dest_fd, e) : -ENOMEM;
	}
	_cleanup_close_ int fd =
		quarantine_open(run->dest_fd, ETAG_DIR, j->path, O_WRONLY | O_CREAT | O_TRUNC);
	if (fd < 0)
		return fd;
	int r = fs_write_all(fd, etag, strlen(etag));
	if (r < 0)
		return r;
	return fs_write_all(fd, "\n", 1);
}

/* ---- libcurl callbacks ---------------------------------------------------- */

static _printf_(3, 4) size_t write_fail(struct job *j, int err, const char *fmt, ...)
{
	va_list ap;
	j->werr = err;
	va_start(ap, fmt);
	vsnprintf(j->werr_msg, sizeof(j->werr_msg), fmt, ap);
	va_end(ap);
	return 0; /* short count: libcurl aborts the transfer */
}

/* Decides at the first byte of the body what it is: the rest of a file
 * (206 to our range), the whole file (200, or file://), or an error page. */
static int body_begin(struct fetch_run *run, struct job *j)
{
	long code = 0;
	curl_off_t cl = -1;

	j->body_started = true;
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(j->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);

	if (code == 206) {
		if (!j->range_requested || !j->have_range || j->range_start != j->offset)
			return write_fail(j, -EPROTO, "server sent a range that was not asked for"),
			       -EPROTO;
		if (cl >= 0 && j->offset + (uint64_t)cl > j->cap)
			return write_fail(j, -EFBIG,
					  "response announces %" PRIu64
					  " bytes, more than the signed length %" PRIu64,
					  j->offset + (uint64_t)cl, j->cap),
			       -EFBIG;
		return 0; /* appending to what is there */
	}
	if (code != 0 && code != 200) {
		j->discard = true;
		return 0;
	}

	/* the whole body: whatever an earlier attempt left goes */
	if (j->offset > 0 || j->written > 0) {
		j->wbuf_len = 0;
		if (ftruncate(j->fd, 0) < 0 || lseek(j->fd, 0, SEEK_SET) < 0)
			return write_fail(j, -errno, "cannot reset the partial file: %m"), -EIO;
		j->offset = j->written = 0;
	}
	if (cl >= 0 && (uint64_t)cl > j->cap)
		return write_fail(j, -EFBIG,
				  "response announces %" PRIu64 " bytes, more than the %s %" PRIu64,
				  (uint64_t)cl, j->exact ? "signed length" : "limit", j->cap),
		       -EFBIG;
	if (j->fd >= 0 && code == 200)
		(void)etag_write(run, j, j->etag[0] ? j->etag : NULL);
	return 0;
}

struct write_ctx {
	struct fetch_run *run;
	struct job *job;
};

/* Writes what the job gathered to its file. */
static int job_flush(struct job *j)
{
	if (j->fd < 0 || j->wbuf_len == 0)
		return 0;
	int r = fs_write_all(j->fd, j->wbuf, j->wbuf_len);
	j->wbuf_len = 0;
	return r;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct write_ctx *w = userdata;
	struct job *j = w->job;
	size_t n = size * nmemb;

	if (!j->body_started && body_begin(w->run, j) < 0)
		return 0;
	if (j->discard) {
		j->discarded += n;
		return j->discarded > ERROR_BODY_MAX ? 0 : n;
	}
	if (n > j->cap - j->written)
		return write_fail(j, -EFBIG, "body is longer than the %s %" PRIu64,
				  j->exact ? "signed length" : "limit of", j->cap);
	if (j->fd >= 0) {
		/* libcurl hands over 16 KiB at a time: gather them into fewer writes */
		if (j->wbuf_len + n > WRITE_BUF_SIZE) {
			int r = job_flush(j);
			if (r < 0) {
				errno = -r;
				return write_fail(j, r, "cannot write the partial file: %m");
			}
		}
		if (n >= WRITE_BUF_SIZE) {
			int r = fs_write_all(j->fd, p, n);
			if (r < 0) {
				errno = -r;
				return write_fail(j, r, "cannot write the partial file: %m");
			}
		} else {
			memcpy(j->wbuf + j->wbuf_len, p, n);
			j->wbuf_len += n;
		}
	} else
		memcpy(j->buf + j->written, p, n);
	j->written += n;
	return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct job *j = ((struct write_ctx *)userdata)->job;
	size_t n = size * nmemb;
	char line[512];
	const char *v;

	if (n >= sizeof(line))
		return n; /* no header we read is that long */
	memcpy(line, p, n);
	line[n] = '\0';
	strstrip(line);

	if (strncmp(line, "HTTP/", 5) == 0) { /* a new response (after a redirect) */
		j->etag[0] = '\0';
		j->have_range = false;
	} else if (strncasecmp(line, "etag:", 5) == 0) {
		v = line + 5;
		v += strspn(v, " \t");
		if (strlen(v) < ETAG_MAX && string_is_safe(v))
			snprintf(j->etag, sizeof(j->etag), "%s", v);
	} else if (strncasecmp(line, "content-range:", 14) == 0) {
		v = line + 14;
		v += strspn(v, " \t");
		const char *s = startswith(v, "bytes ");
		char num[32];
		size_t k = s ? strspn(s, "0123456789") : 0;
		if (s && k > 0 && k < sizeof(num) && s[k] == '-') {
			memcpy(num, s, k);
			num[k] = '\0';
			j->have_range = parse_u64(num, 10, &j->range_start) >= 0;
		}
	}
	return n;
}

/* ---- jobs ---------------------------------------------------------------- */

static char *url_join(const char *base, const char *path)
{
	size_t bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	size_t cap = bl + 1 + 3 * strlen(path) + 1;
	char *u = malloc(cap), *q;
	if (!u)
		return NULL;
	memcpy(u, base, bl);
	q = u + bl;
	*q++ = '/';
	for (const char *s = path; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("/-._~+", c))
			*q++ = (char)c;
		else {
			snprintf(q, 4, "%%%02X", c);
			q += 3;
		}
	}
	*q = '\0';
	return u;
}

static int mirror_pick(struct fetch_run *run, const struct job *j)
{
	for (size_t i = 0; i < run->n_mirrors; i++)
		if (!(j->excluded & (1u << run->order[i])))
			return run->order[i];
	return -1;
}

/* A mirror that failed goes to the back of the order for the rest of the run. */
static void mirror_demote(struct fetch_run *run, int m)
{
	size_t i;
	for (i = 0; i < run->n_mirrors && run->order[i] != m; i++)
		;
	if (i >= run->n_mirrors)
		return;
	memmove(&run->order[i], &run->order[i + 1], (run->n_mirrors - i - 1) * sizeof(int));
	run->order[run->n_mirrors - 1] = m;
}

/* Lets go of the connection; the URL and the file stay (transfer_cleanup). */
static void transfer_release(struct fetch_run *run, struct job *j)
{
	if (j->easy) {
		curl_multi_remove_handle(run->multi, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
	}
	curl_slist_free_all(j->headers);
	j->headers = NULL;
}

static void transfer_cleanup(struct fetch_run *run, struct job *j)
{
	transfer_release(run, j);
	free(j->url);
	j->url = NULL;
	j->fd = safe_close(j->fd);
}

/* Keeps what an earlier attempt left if its validator is known (the whole
 * file is hashed when complete, whatever was resumed). */
static int resume_prepare(struct fetch_run *run, struct job *j, char etag[ETAG_MAX])
{
	struct stat st;

	if (fstat(j->fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0 || (uint64_t)st.st_size >= j->cap || etag_read(run, j, etag) < 0) {
		if (ftruncate(j->fd, 0) < 0)
			return -errno;
		return 0;
	}
	j->offset = j->written = (uint64_t)st.st_size;
	return 1;
}

static int transfer_start(struct fetch_run *run, struct job *j)
{
	const struct fetch_opts *o = run->o;
	char etag[ETAG_MAX] = "";
	int r;

	j->mirror = mirror_pick(run, j);
	if (j->mirror < 0)
		return -ENOENT;
	j->url = url_join(run->mirrors[j->mirror], j->path);
	j->easy = curl_easy_init();
	if (!j->url || !j->easy)
		return -ENOMEM;
	j->offset = j->written = 0;
	j->range_requested = j->body_started = j->discard = j->have_range = false;
	j->discarded = 0;
	j->etag[0] = '\0';
	j->werr = 0;
	j->werr_excludes = false;
	j->werr_msg[0] = j->curl_err[0] = '\0';
	j->attempts++;
	if (j->item)
		j->item->attempts = j->attempts;

	if (j->item) {
		j->fd = quarantine_open(run->dest_fd, DATA_DIR, j->path, O_RDWR | O_CREAT);
		if (j->fd < 0)
			return j->fd;
		j->wbuf_len = 0;
		if (!j->wbuf && !(j->wbuf = malloc(WRITE_BUF_SIZE)))
			return -ENOMEM;
		bool http = url_scheme_end(j->url, "http") || url_scheme_end(j->url, "https");
		r = http ? resume_prepare(run, j, etag) : (ftruncate(j->fd, 0) < 0 ? -errno : 0);
		if (r < 0)
			return r;
		if (r > 0) {
			char range[48], hdr[ETAG_MAX + 16];
			snprintf(range, sizeof(range), "%" PRIu64 "-", j->offset);
			snprintf(hdr, sizeof(hdr), "If-Range: %s", etag);
			j->headers = curl_slist_append(NULL, hdr);
			if (!j->headers)
				return -ENOMEM;
			curl_easy_setopt(j->easy, CURLOPT_RANGE, range);
			curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->headers);
			j->range_requested = true;
		}
		if (lseek(j->fd, (off_t)j->offset, SEEK_SET) < 0)
			return -errno;
	} else {
		free(j->buf);
		j->buf = malloc(j->cap + 1);
		if (!j->buf)
			return -ENOMEM;
	}

	static const char https_only[] = "https,file";
	static const char with_http[] = "http,https,file";
	bool from_https = url_scheme_end(j->url, "https");
	CURL *e = j->easy;

	curl_easy_setopt(e, CURLOPT_URL, j->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, o->allow_http ? with_http : https_only);
	/* redirects: never to file://, never from https down to http */
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR,
			 o->allow_http && !from_https ? "http,https" : "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)FETCH_MAX_REDIRS);
	curl_easy_setopt(e, CURLOPT_CAINFO, o->cainfo);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, o->low_speed_time_s);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	/* wait for a connection that multiplexes (HTTP/2 over TLS) rather than
	 * open more; plain http never multiplexes, so it does not wait */
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, from_https ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "enlighten/" VERSION);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->curl_err);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	return 0;
}

static void job_finish(struct fetch_run *run, struct job *j, int result)
{
	j->state = JOB_DONE;
	j->result = result;
	if (result >= 0)
		run->bytes_done += j->exact ? j->cap : 0;
	if (j->item) {
		j->item->result = result;
		j->item->mirror = result >= 0 ? j->mirror : -1;
		snprintf(j->item->error, sizeof(j->item->error), "%s", result < 0 ? j->error : "");
		if (run->o->on_event)
			run->o->on_event(j->item,
					 result < 0 ? FETCH_EVENT_FAILED : FETCH_EVENT_DONE,
					 result < 0 ? j->error : NULL, run->o->userdata);
	}
}

static uint64_t backoff_ms(struct fetch_run *run, unsigned attempt, long retry_after_s)
{
	uint64_t b = run->o->backoff_ms;
	for (unsigned i = 1; i < attempt && b < BACKOFF_MAX_MS; i++)
		b *= 2;
	b = MIN(b, (uint64_t)BACKOFF_MAX_MS);
	/* jitter: between half and all of it */
	b = b / 2 + (uint64_t)random() % (b / 2 + 1);
	if (retry_after_s > 0)
		b = MAX(b, (uint64_t)MIN(retry_after_s, (long)RETRY_AFTER_MAX_S) * 1000u);
	return b;
}

/* Checks the digest of the complete file and renames it into DEST. */
static int job_commit(struct fetch_run *run, struct job *j, const struct hash_worker_result *h)
{
	char hex[SHA256_HEX_SIZE];
	const char *base;

	if (h->result < 0)
		return h->result;
	if (h->size != j->cap) /* changed under us */
		return -EBADMSG;
	if (memcmp(h->sha256, j->sha256, SHA256_DIGEST_SIZE) != 0) {
		hex_encode(h->sha256, sizeof(h->sha256), hex);
		job_fail_msg(j, "'%s' from '%s': sha256 %s does not match the catalog", j->path,
			     j->url, hex);
		return -EBADMSG;
	}
	if (fchmod(j->fd, 0644) < 0)
		return -errno;

	_cleanup_free_ char *q = quarantine_path(DATA_DIR, j->path);
	if (!q)
		return -ENOMEM;
	const char *qslash = strrchr(q, '/');
	_cleanup_free_ char *qdir = strndup(q, (size_t)(qslash - q));
	if (!qdir)
		return -ENOMEM;
	_cleanup_close_ int qfd = fs_open_beneath(run->dest_fd, qdir, O_RDONLY | O_DIRECTORY, 0);
	if (qfd < 0)
		return qfd;
	_cleanup_close_ int dfd = parent_open(run->dest_fd, j->path, &base);
	if (dfd < 0)
		return dfd;
	(void)etag_write(run, j, NULL); /* the verified file carries no validator */
	if (renameat(qfd, qslash + 1, dfd, base) < 0)
		return -errno;
	return 0;
}

static bool curl_code_retryable(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

static void job_settle(struct fetch_run *run, struct job *j, int r, bool retry, bool exclude,
		       bool keep_partial, long retry_after);

static void hasher_notify(void *userdata)
{
	struct fetch_run *run = userdata;
	curl_multi_wakeup(run->multi);
}

/* Hands the complete file to the hashing thread; the connection is free. */
static int verify_start(struct fetch_run *run, struct job *j)
{
	if (!run->hasher) {
		int r = hash_worker_new(hasher_notify, run, &run->hasher);
		if (r < 0)
			return r;
	}
	int r = hash_worker_submit(run->hasher, j->fd, j->cap, j);
	if (r < 0)
		return r;
	transfer_release(run, j);
	j->state = JOB_VERIFYING;
	run->active--;
	run->verifying++;
	return 0;
}

/* Settles a finished transfer: verify, retry later, or give up. */
static void transfer_done(struct fetch_run *run, struct job *j, CURLcode cc)
{
	long code = 0, retry_after = 0;
	bool retry = false, exclude = false, keep_partial = false;
	int r = 0;

	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_off_t ra = 0;
	if (curl_easy_getinfo(j->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
		retry_after = (long)ra;
	if (cc == CURLE_OK && !j->body_started)
		(void)body_begin(run, j); /* an empty body */
	int k = job_flush(j);
	if (k < 0 && !j->werr) {
		j->werr = k;
		snprintf(j->werr_msg, sizeof(j->werr_msg), "cannot write the partial file: %s",
			 strerror(-k));
	}

	if (j->werr) {
		r = j->werr;
		job_fail_msg(j, "'%s' from '%s': %s", j->path, j->url, j->werr_msg);
		exclude = r == -EFBIG || r == -EPROTO;
		retry = !exclude && r != -ENOSPC;
	} else if (cc != CURLE_OK) {
		r = cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
		const char *why = j->curl_err[0] ? j->curl_err : curl_easy_strerror(cc);
		if (cc == CURLE_UNSUPPORTED_PROTOCOL)
			job_fail_msg(
				j, "'%s' from '%s': %s (redirects to a weaker scheme are refused)",
				j->path, j->url, why);
		else
			job_fail_msg(j, "'%s' from '%s': %s", j->path, j->url, why);
		retry = curl_code_retryable(cc);
		exclude = !retry;
		keep_partial = retry && j->written > j->offset;
	} else if (j->discard || (code != 0 && code != 200 && code != 206)) {
		r = code == 404 || code == 410 ? -ENOENT : -EIO;
		job_fail_msg(j, "'%s' from '%s': server answered HTTP %ld", j->path, j->url, code);
		retry = code == 408 || code == 429 || code >= 500;
		exclude = !retry;
		keep_partial = true; /* an error page changes nothing in the file */
	} else if (j->item && j->written != j->cap) {
		r = -EBADMSG;
		job_fail_msg(j, "'%s' from '%s': got %" PRIu64 " bytes, the catalog says %" PRIu64,
			     j->path, j->url, j->written, j->cap);
		retry = true;
		keep_partial = true;
	} else if (j->item) {
		r = verify_start(run, j);
		if (r >= 0)
			return;
		job_fail_msg(j, "'%s': cannot hash the file: %s", j->path, strerror(-r));
	} else
		j->buf[j->written] = '\0';

	run->active--;
	job_settle(run, j, r, retry, exclude, keep_partial, retry_after);
}

/* The digest of a complete file is back: rename it into DEST, or retry. */
static void verify_done(struct fetch_run *run, const struct hash_worker_result *h)
{
	struct job *j = h->tag;
	bool retry = false, exclude = false;

	run->verifying--;
	int r = job_commit(run, j, h);
	if (r < 0 && !j->error[0])
		job_fail_msg(j, "'%s': cannot store the file: %s", j->path, strerror(-r));
	if (r == -EBADMSG) {
		/* complete but wrong: a resumed prefix may be to blame, else the mirror */
		retry = true;
		exclude = j->offset == 0;
	}
	job_settle(run, j, r, retry, exclude, false, 0);
}

/* Finishes a job after its transfer, or puts it back to be tried again. */
static void job_settle(struct fetch_run *run, struct job *j, int r, bool retry, bool exclude,
		       bool keep_partial, long retry_after)
{
	int mirror = j->mirror;
	if (r < 0) {
		mirror_demote(run, mirror);
		if (exclude)
			j->excluded |= 1u << mirror;
		if (j->item && !keep_partial)
			partial_drop(run, j);
	}
	transfer_cleanup(run, j);

	if (r >= 0) {
		job_finish(run, j, 0);
		return;
	}
	bool more = j->attempts < (unsigned)run->o->retries + 1 + (unsigned)run->n_mirrors - 1;
	if (!(retry || exclude) || !more || mirror_pick(run, j) < 0) {
		job_finish(run, j, r);
		return;
	}
	/* a failover to another mirror goes at once; the same mirror again waits */
	bool same = mirror_pick(run, j) == mirror;
	j->next_try_ms = now_ms() + (same ? backoff_ms(run, j->attempts, retry_after) : 0);
	j->state = JOB_PENDING;
	if (j->item && run->o->on_event)
		run->o->on_event(j->item, FETCH_EVENT_RETRY, j->error, run->o->userdata);
}

/* ---- the loop ------------------------------------------------------------ */

static void run_progress(struct fetch_run *run)
{
	if (!run->o->progress)
		return;
	uint64_t done = run->bytes_done;
	for (size_t i = 0; i < run->n_jobs; i++)
		if (run->jobs[i].state == JOB_ACTIVE || run->jobs[i].state == JOB_VERIFYING)
			done += run->jobs[i].written;
	progress_update(run->o->progress, done);
}

static int run_loop(struct fetch_run *run, char **reterr_msg)
{
	struct write_ctx *wctx = calloc(run->n_jobs ? run->n_jobs : 1, sizeof(*wctx));
	int r = 0;

	if (!wctx)
		return -ENOMEM;
	for (size_t i = 0; i < run->n_jobs; i++)
		wctx[i] = (struct write_ctx){ .run = run, .job = &run->jobs[i] };

	for (;;) {
		uint64_t now = now_ms(), wake = UINT64_MAX;
		bool pending = false;

		for (size_t i = 0; i < run->n_jobs; i++) {
			struct job *j = &run->jobs[i];
			if (j->state != JOB_PENDING)
				continue;
			pending = true;
			if (j->next_try_ms > now) {
				wake = MIN(wake, j->next_try_ms);
				continue;
			}
			if (run->active >= run->o->jobs)
				continue;
			int k = transfer_start(run, j);
			if (k < 0) {
				if (!j->error[0] || k != -ENOENT)
					job_fail_msg(j, "'%s': cannot start the transfer: %s",
						     j->path, strerror(-k));
				transfer_cleanup(run, j);
				job_finish(run, j, k);
				continue;
			}
			curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, &wctx[i]);
			curl_easy_setopt(j->easy, CURLOPT_HEADERDATA, &wctx[i]);
			if (curl_multi_add_handle(run->multi, j->easy) != CURLM_OK) {
				job_fail_msg(j, "'%s': cannot start the transfer", j->path);
				transfer_cleanup(run, j);
				job_finish(run, j, -ENOMEM);
				continue;
			}
			j->state = JOB_ACTIVE;
			run->active++;
		}
		if (run->active == 0 && run->verifying == 0 && !pending)
			break;

		int running = 0;
		CURLMcode mc = curl_multi_perform(run->multi, &running);
		if (mc != CURLM_OK) {
			r = errmsg_set(reterr_msg, -EIO, "%s", curl_multi_strerror(mc));
			break;
		}
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(run->multi, &left)))
			if (msg->msg == CURLMSG_DONE) {
				struct job *j = NULL;
				curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
				CURLcode cc = msg->data.result;
				transfer_done(run, j, cc);
			}
		struct hash_worker_result h;
		while (run->hasher && hash_worker_collect(run->hasher, &h) > 0)
			verify_done(run, &h);
		run_progress(run);

		/* wait for the network only when no job can start right away */
		bool unfinished = false, startable = false;
		now = now_ms();
		for (size_t i = 0; i < run->n_jobs; i++) {
			const struct job *j = &run->jobs[i];
			unfinished = unfinished || j->state != JOB_DONE;
			startable =
				startable || (j->state == JOB_PENDING && j->next_try_ms <= now &&
					      run->active < run->o->jobs);
		}
		if (!unfinished)
			break;
		int timeout = 1000;
		if (startable)
			timeout = 0;
		else if (wake != UINT64_MAX)
			timeout = wake <= now ? 0 : (int)MIN(wake - now, 1000u);
		if (run->active > 0 || timeout > 0)
			curl_multi_poll(run->multi, NULL, 0, timeout, NULL);
	}
	hash_worker_free(run->hasher); /* waits: no file is closed under it */
	run->hasher = NULL;
	for (size_t i = 0; i < run->n_jobs; i++)
		if (run->jobs[i].easy || run->jobs[i].fd >= 0)
			transfer_cleanup(run, &run->jobs[i]);
	free(wctx);
	return r;
}

static int run_init(struct fetch_run *run, const struct fetch_opts *o, char *const *mirrors,
		    char **reterr_msg)
{
	static bool curl_ready;

	run->o = o;
	run->mirrors = mirrors;
	run->n_mirrors = strv_length((char **)mirrors);
	run->dest_fd = -EBADF;
	if (run->n_mirrors == 0 || run->n_mirrors > FETCH_MAX_MIRRORS) {
		return errmsg_set(reterr_msg, -EINVAL, "give between 1 and %d mirrors",
				  FETCH_MAX_MIRRORS);
	}
	for (size_t i = 0; i < run->n_mirrors; i++) {
		if (!fetch_url_allowed(o, mirrors[i])) {
			return errmsg_set(reterr_msg, -EINVAL,
					  "URL '%s' is not https:// or file:// (plain http needs "
					  "--allow-http)",
					  mirrors[i]);
		}
		run->order[i] = (int)i;
	}
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -EIO;
		curl_ready = true;
		srandom((unsigned)now_ms() ^ (unsigned)getpid());
	}
	run->multi = curl_multi_init();
	if (!run->multi)
		return -ENOMEM;
	curl_multi_setopt(run->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(run->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)o->per_host);
	curl_multi_setopt(run->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)o->jobs);
	return 0;
}

static void run_done(struct fetch_run *run)
{
	if (run->multi)
		curl_multi_cleanup(run->multi);
	run->dest_fd = safe_close(run->dest_fd);
	free(run->jobs);
}

/* Hashes a file that is already in DEST; 1 when it matches, 0 when there is
 * none, or it did not match and was removed. */
static int cache_check(struct fetch_run *run, struct fetch_item *it)
{
	uint8_t got[SHA256_DIGEST_SIZE];
	uint64_t len = 0;
	struct stat st;

	_cleanup_close_ int fd =
		fs_open_beneath(run->dest_fd, it->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EEXIST;
	int r = sha256_fd(fd, it->length, got, &len);
	if (r >= 0 && len == it->length && memcmp(got, it->sha256, sizeof(got)) == 0)
		return 1;
	if (r < 0 && r != -EFBIG)
		return r;
	r = unlink_beneath(run->dest_fd, it->path);
	return r < 0 ? r : 0;
}

int fetch_files(const struct fetch_opts *opts, char *const *mirrors, const char *dest,
		struct fetch_item *items, size_t n_items, char **reterr_msg)
{
	struct fetch_opts o;
	struct fetch_run run = {};
	int r;

	opts_defaults(opts, &o);
	r = run_init(&run, &o, mirrors, reterr_msg);
	if (r < 0)
		goto out;
	run.dest_fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (run.dest_fd < 0) {
		r = -errno;
		errmsg_errno(reterr_msg, r, "cannot open '%s': %m", dest);
		goto out;
	}
	run.jobs = calloc(n_items ? n_items : 1, sizeof(struct job));
	if (!run.jobs) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_items; i++) {
		struct fetch_item *it = &items[i];
		struct job *j = &run.jobs[run.n_jobs];

		it->result = 0;
		it->cached = false;
		it->attempts = 0;
		it->mirror = -1;
		it->error[0] = '\0';
		if (path_check_relative(it->path) < 0 ||
		    startswith(it->path, FETCH_PARTIAL_DIR "/") ||
		    streq(it->path, FETCH_PARTIAL_DIR)) {
			r = errmsg_set(reterr_msg, -EINVAL, "refusing the path '%s'", it->path);
			goto out;
		}
		r = cache_check(&run, it);
		if (r < 0) {
			it->result = r;
			snprintf(it->error, sizeof(it->error), "'%s' in '%s': %s", it->path, dest,
				 strerror(-r));
			if (o.on_event)
				o.on_event(it, FETCH_EVENT_FAILED, it->error, o.userdata);
			continue;
		}
		if (r > 0) {
			it->cached = true;
			run.bytes_done += it->length;
			if (o.on_event)
				o.on_event(it, FETCH_EVENT_CACHED, NULL, o.userdata);
			continue;
		}
		*j = (struct job){ .path = it->path,
				   .cap = it->length,
				   .exact = true,
				   .sha256 = it->sha256,
				   .item = it,
				   .fd = -EBADF };
		run.n_jobs++;
	}
	r = run_loop(&run, reterr_msg);
	if (r < 0)
		goto out;
	r = 0;
	for (size_t i = 0; i < n_items; i++)
		if (items[i].result < 0)
			r = -EIO;
	if (r == 0) {
		/* nothing left to resume: the quarantine goes */
		_cleanup_free_ char *q = strjoin(dest, "/" FETCH_PARTIAL_DIR);
		if (q)
			(void)fs_rm_rf(q);
	}
out:
	for (size_t i = 0; i < run.n_jobs; i++) {
		free(run.jobs[i].buf);
		free(run.jobs[i].wbuf);
	}
	run_done(&run);
	return r;
}

int fetch_buffer(const struct fetch_opts *opts, char *const *mirrors, const char *path, size_t max,
		 char **ret, size_t *ret_size, int *ret_mirror, char **reterr_msg)
{
	struct fetch_opts o;
	struct fetch_run run = {};
	struct job j = { .path = path, .cap = max, .fd = -EBADF };
	int r;

	opts_defaults(opts, &o);
	o.progress = NULL;
	o.on_event = NULL;
	r = run_init(&run, &o, mirrors, reterr_msg);
	if (r < 0)
		goto out;
	if (path_check_relative(path) < 0) {
		r = errmsg_set(reterr_msg, -EINVAL, "refusing the path '%s'", path);
		goto out;
	}
	run.jobs = &j;
	run.n_jobs = 1;
	r = run_loop(&run, reterr_msg);
	run.jobs = NULL;
	if (r < 0)
		goto out;
	if (j.result < 0) {
		r = j.result;
		errmsg_set(reterr_msg, r, "%s", j.error);
		goto out;
	}
	*ret = TAKE_PTR(j.buf);
	*ret_size = (size_t)j.written;
	if (ret_mirror)
		*ret_mirror = j.mirror;
	r = 0;
out:
	free(j.buf);
	run_done(&run);
	return r;
}
