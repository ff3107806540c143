/* SPDX-License-Identifier: MIT */
/*
 * range.c - ranged reads of one remote file over one libcurl easy handle
 * (see range.h).
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/basic/errmsg.h"
#include "lib/basic/macro.h"
#include "lib/net/fetch.h"
#include "lib/net/range.h"

#define ETAG_MAX 256

struct net_range {
	CURL *easy;
	char *url;
	int retries;
	char etag[ETAG_MAX];
	char curl_err[CURL_ERROR_SIZE];
};

/* One response being received. */
struct receive {
	struct net_range *r;
	uint8_t *buf;
	size_t want, got;
	uint64_t cr_start, cr_total; /* from Content-Range */
	bool have_cr, overflow;
};

static size_t on_write(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct receive *rc = userdata;
	size_t n = size * nmemb;
	if (n > rc->want - rc->got) {
		rc->overflow = true;
		return 0; /* more than asked for: stop */
	}
	memcpy(rc->buf + rc->got, p, n);
	rc->got += n;
	return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct receive *rc = userdata;
	size_t n = size * nmemb;
	char line[ETAG_MAX + 32];
	if (n >= sizeof(line))
		return n;
	memcpy(line, p, n);
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strncasecmp(line, "content-range: bytes ", 21) == 0) {
		uint64_t a, b, total;
		if (sscanf(line + 21, "%" SCNu64 "-%" SCNu64 "/%" SCNu64, &a, &b, &total) == 3) {
			rc->cr_start = a;
			rc->cr_total = total;
			rc->have_cr = true;
		}
	} else if (strncasecmp(line, "etag: ", 6) == 0 && !rc->r->etag[0] &&
		   strlen(line + 6) < ETAG_MAX)
		memcpy(rc->r->etag, line + 6, strlen(line + 6) + 1);
	return n;
}

static void setup(struct net_range *r, const struct net_range_opts *o)
{
	CURL *e = r->easy;
	bool from_https = strncmp(r->url, "https://", 8) == 0;
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, o->allow_http ? "http,https" : "https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR,
			 o->allow_http && !from_https ? "http,https" : "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)FETCH_MAX_REDIRS);
	curl_easy_setopt(e, CURLOPT_CAINFO, o->cainfo ? o->cainfo : FETCH_DEFAULT_CAINFO);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "enlighten/" VERSION);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_err);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
}

int net_range_new(const char *url, const struct net_range_opts *o, struct net_range **ret,
		  char **reterr_msg)
{
	struct net_range *r = calloc(1, sizeof(*r));
	if (!r)
		return errmsg_oom(reterr_msg);
	r->url = strdup(url);
	r->easy = curl_easy_init();
	r->retries = o->retries < 0 ? 4 : o->retries;
	if (!r->url || !r->easy) {
		net_range_free(r);
		return errmsg_oom(reterr_msg);
	}
	setup(r, o);
	*ret = r;
	return 0;
}

void net_range_free(struct net_range *r)
{
	if (!r)
		return;
	if (r->easy)
		curl_easy_cleanup(r->easy);
	free(r->url);
	free(r);
}

/* One request for [off, off + n); *got gets what arrived. */
static int request(struct net_range *r, uint64_t off, uint8_t *buf, size_t n, size_t *got,
		   uint64_t *ret_total, char **reterr_msg)
{
	struct receive rc = { .r = r, .buf = buf, .want = n };
	struct curl_slist *headers = NULL;
	char range[64], hdr[ETAG_MAX + 16];
	long status = 0;

	snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, off, off + n - 1);
	if (r->etag[0]) {
		snprintf(hdr, sizeof(hdr), "If-Range: %s", r->etag);
		if (!(headers = curl_slist_append(NULL, hdr)))
			return errmsg_oom(reterr_msg);
	}
	r->curl_err[0] = '\0';
	curl_easy_setopt(r->easy, CURLOPT_RANGE, range);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, &rc);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, &rc);
	CURLcode c = curl_easy_perform(r->easy);
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	*got = rc.got;
	if (status && status != 206)
		return errmsg_set(
			reterr_msg, -EIO,
			"'%s' answered HTTP %ld to a range request (changed on the server, "
			"or no range support)",
			r->url, status);
	if (rc.overflow || (rc.have_cr && rc.cr_start != off))
		return errmsg_set(reterr_msg, -EIO,
				  "'%s' sent other bytes than the range %s asked for", r->url,
				  range);
	if (c != CURLE_OK)
		return errmsg_set(reterr_msg, -EAGAIN, "'%s': %s", r->url,
				  r->curl_err[0] ? r->curl_err : curl_easy_strerror(c));
	if (ret_total)
		*ret_total = rc.cr_total;
	return 0;
}

int net_range_read(struct net_range *r, uint64_t off, void *buf, size_t n, char **reterr_msg)
{
	size_t done = 0;
	int attempts = 0; /* in a row without a byte */
	while (done < n) {
		size_t got = 0;
		int k = request(r, off + done, (uint8_t *)buf + done, n - done, &got, NULL,
				reterr_msg);
		done += got;
		if (k == -EAGAIN || (k >= 0 && got == 0)) {
			if (got > 0) { /* cut short: resume from here at once */
				attempts = 0;
				continue;
			}
			if (attempts++ >= r->retries)
				return errmsg_set(reterr_msg, -EIO,
						  "'%s': gave up at byte %" PRIu64
						  " after %d attempts without progress",
						  r->url, off + done, attempts);
			usleep(200000u << MIN(attempts, 5));
			continue;
		}
		if (k < 0)
			return k;
	}
	return 0;
}

int net_range_size(struct net_range *r, uint64_t *ret, char **reterr_msg)
{
	uint8_t b;
	size_t got = 0;
	uint64_t total = 0;
	int k = request(r, 0, &b, 1, &got, &total, reterr_msg);
	if (k < 0)
		return k == -EAGAIN ? -EIO : k;
	if (total == 0)
		return errmsg_set(reterr_msg, -EIO, "'%s' does not say its size (Content-Range)",
				  r->url);
	*ret = total;
	return 0;
}

int net_get_small(const char *url, const struct net_range_opts *o, size_t max, char **ret,
		  size_t *ret_len, char **reterr_msg)
{
	struct net_range *r = NULL;
	_cleanup_free_ uint8_t *buf = malloc(max + 1);
	int k = buf ? net_range_new(url, o, &r, reterr_msg) : errmsg_oom(reterr_msg);
	if (k < 0)
		return k;
	struct receive rc = { .r = r, .buf = buf, .want = max };
	long status = 0;
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, &rc);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, &rc);
	CURLcode c = curl_easy_perform(r->easy);
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (rc.overflow)
		k = errmsg_set(reterr_msg, -EFBIG, "'%s' is larger than %zu bytes", url, max);
	else if (c != CURLE_OK)
		k = errmsg_set(reterr_msg, -EIO, "cannot fetch '%s': %s", url,
			       r->curl_err[0] ? r->curl_err : curl_easy_strerror(c));
	else if (status != 200)
		k = errmsg_set(reterr_msg, -EIO, "cannot fetch '%s': HTTP %ld", url, status);
	net_range_free(r);
	if (k < 0)
		return k;
	buf[rc.got] = '\0';
	*ret = (char *)TAKE_PTR(buf);
	*ret_len = rc.got;
	return 0;
}
