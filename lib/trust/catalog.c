/* SPDX-License-Identifier: MIT */
/*
 * catalog.c - parse, check, write and verify the payload catalog. The parser
 * is strict: a key it does not know is an error, so a typo in a generated
 * catalog cannot silently drop a field.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/inf.h"
#include "lib/basic/json.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"
#include "lib/trust/catalog.h"

/* ---- memory ------------------------------------------------------------- */

static void rpm_object_free(struct catalog_rpm *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->version);
	free(r->release);
	free(r->arch);
	strv_free(r->provides);
	strv_free(r->requires);
	free(r);
}

void catalog_deb_free(struct catalog_deb *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->version);
	free(d->arch);
	strv_free(d->provides);
	strv_free(d->depends);
	free(d);
}

const char *catalog_payload_format(const struct catalog_payload *p)
{
	return p->rpm ? "rpm" : p->deb ? "deb" : p->inf ? "inf" : "file";
}

void catalog_inf_free(struct catalog_inf *i)
{
	if (!i)
		return;
	free(i->class);
	free(i->provider);
	free(i->driver_version);
	free(i->driver_date);
	free(i->catalog_file);
	strv_free(i->architectures);
	strv_free(i->hardware_ids);
	free(i);
}

void catalog_payload_done(struct catalog_payload *p)
{
	free(p->name);
	free(p->version);
	free(p->os);
	strv_free(p->profiles);
	free(p->arch);
	free(p->path);
	rpm_object_free(p->rpm);
	catalog_deb_free(p->deb);
	catalog_inf_free(p->inf);
	memset(p, 0, sizeof(*p));
}

void catalog_free(struct catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_payloads; i++)
		catalog_payload_done(&c->payloads[i]);
	free(c->payloads);
	free(c->product);
	free(c->channel);
	free(c);
}

int catalog_new(struct catalog **ret)
{
	struct catalog *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->schema = CATALOG_SCHEMA;
	*ret = c;
	return 0;
}

const struct catalog_payload *catalog_find_path(const struct catalog *c, const char *path)
{
	for (size_t i = 0; i < c->n_payloads; i++)
		if (streq(c->payloads[i].path, path))
			return &c->payloads[i];
	return NULL;
}

int catalog_add_payload(struct catalog *c, struct catalog_payload *p)
{
	if (c->n_payloads >= CATALOG_MAX_PAYLOADS)
		return -E2BIG;
	if (p->path && catalog_find_path(c, p->path))
		return -EEXIST;
	struct catalog_payload *n = reallocarray(c->payloads, c->n_payloads + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	c->payloads = n;
	c->payloads[c->n_payloads++] = *p;
	memset(p, 0, sizeof(*p));
	return 0;
}

static int strv_copy(char *const *l, char ***ret)
{
	_cleanup_strv_free_ char **c = calloc(1, sizeof(char *));
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; l && l[i]; i++)
		if (strv_extend(&c, l[i]) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(c);
	return 0;
}

int catalog_inf_from_driver(const struct inf_driver *d, struct catalog_inf **ret)
{
	struct catalog_inf *i = calloc(1, sizeof(*i));
	if (!i)
		return -ENOMEM;
	i->class = strdup(d->class ?: "");
	i->provider = strdup(d->provider ?: "");
	i->driver_version = strdup(d->driver_version ?: "");
	i->driver_date = d->driver_date ? strdup(d->driver_date) : NULL;
	i->catalog_file = d->catalog_file ? strdup(d->catalog_file) : NULL;
	if (!i->class || !i->provider || !i->driver_version ||
	    (d->driver_date && !i->driver_date) || (d->catalog_file && !i->catalog_file) ||
	    strv_copy(d->architectures, &i->architectures) < 0 ||
	    strv_copy(d->hardware_ids, &i->hardware_ids) < 0) {
		catalog_inf_free(i);
		return -ENOMEM;
	}
	*ret = i;
	return 0;
}

/* ---- time --------------------------------------------------------------- */

int catalog_time_parse(const char *s, time_t *ret)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	struct tm tm = {}, back;

	if (strlen(s) != strlen(shape))
		return -EINVAL;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return -EINVAL;
#define NUM(o, n) ((int)strtol(strndupa(s + (o), (n)), NULL, 10))
	tm.tm_year = NUM(0, 4) - 1900;
	tm.tm_mon = NUM(5, 2) - 1;
	tm.tm_mday = NUM(8, 2);
	tm.tm_hour = NUM(11, 2);
	tm.tm_min = NUM(14, 2);
	tm.tm_sec = NUM(17, 2);
#undef NUM
	if (tm.tm_year < 70)
		return -ERANGE; /* before 1970: no catalog was issued then */
	back = tm;
	time_t t = timegm(&tm);
	/* timegm normalizes: a field out of range shows as a difference */
	if (t == (time_t)-1 || tm.tm_year != back.tm_year || tm.tm_mon != back.tm_mon ||
	    tm.tm_mday != back.tm_mday || tm.tm_hour != back.tm_hour || tm.tm_min != back.tm_min ||
	    tm.tm_sec != back.tm_sec)
		return -EINVAL;
	*ret = t;
	return 0;
}

int catalog_time_format(time_t t, char out[static 21])
{
	struct tm tm;
	/* snprintf, not strftime: %Y does not pad years below 1000 */
	if (!gmtime_r(&t, &tm) || tm.tm_year < 70 || tm.tm_year > 9999 - 1900)
		return -ERANGE;
	char buf[72];
	int n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n != 20)
		return -ERANGE;
	memcpy(out, buf, 21);
	return 0;
}

/* ---- parsing ------------------------------------------------------------ */

struct parse {
	char **err;
	char where[96]; /* "catalog", "payload 3", "payload 3 rpm" */
};

static int fail(struct parse *ps, const char *fmt, ...) _printf_(2, 3);
static int fail(struct parse *ps, const char *fmt, ...)
{
	_cleanup_free_ char *what = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	return errmsg_set(ps->err, -EBADMSG, "%s: %s", ps->where, what ? what : "invalid");
}

static int check_keys(struct parse *ps, json_object *o, const char *const *keys)
{
	json_object_object_foreach(o, k, v)
	{
		(void)v;
		if (strv_contains((char *const *)keys, k))
			continue;
		if (!string_is_safe(k) || strlen(k) > 64)
			return fail(ps, "unknown key (not printable or too long)");
		const char *best = suggest_in_strings(k, keys, strv_length((char *const *)keys));
		if (best)
			return fail(ps, "unknown key '%s' (did you mean '%s'?)", k, best);
		return fail(ps, "unknown key '%s'", k);
	}
	return 0;
}

typedef bool (*string_check)(const char *s);

static bool is_word(const char *s)
{
	/* names, versions, architectures: no white space, quotes or slashes */
	for (const char *p = s; *p; p++)
		if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') ||
		      ('0' <= *p && *p <= '9') || strchr("._+-~^:", *p)))
			return false;
	return *s != '\0';
}

bool catalog_is_word(const char *s)
{
	return strlen(s) <= CATALOG_MAX_STRING && is_word(s);
}

static bool is_profile(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!(('a' <= *p && *p <= 'z') || ('0' <= *p && *p <= '9') || *p == '-'))
			return false;
	return *s != '\0';
}

static bool is_text(const char *s)
{
	return string_is_safe(s);
}

/* A string member: required or optional (*ret stays NULL when absent). */
static int get_str(struct parse *ps, json_object *o, const char *key, bool required,
		   string_check check, char **ret)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !v) {
		if (required)
			return fail(ps, "missing key '%s'", key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return fail(ps, "'%s' must be a string", key);
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	if (n != strlen(s))
		return fail(ps, "'%s' contains a NUL byte", key);
	if (n > CATALOG_MAX_STRING)
		return fail(ps, "'%s' is longer than %u bytes", key, CATALOG_MAX_STRING);
	if (!check(s))
		return fail(ps, "'%s' has an invalid value", key);
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static int get_u64(struct parse *ps, json_object *o, const char *key, uint64_t min, uint64_t max,
		   uint64_t *ret)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return fail(ps, "missing key '%s'", key);
	if (!json_object_is_type(v, json_type_int))
		return fail(ps, "'%s' must be an integer", key);
	errno = 0;
	int64_t x = json_object_get_int64(v);
	if (errno != 0 || x < 0 || (uint64_t)x < min || (uint64_t)x > max)
		return fail(ps, "'%s' must be between %" PRIu64 " and %" PRIu64, key, min, max);
	*ret = (uint64_t)x;
	return 0;
}

static int get_time(struct parse *ps, json_object *o, const char *key, time_t *ret)
{
	_cleanup_free_ char *s = NULL;
	int r = get_str(ps, o, key, true, is_text, &s);
	if (r < 0)
		return r;
	if (catalog_time_parse(s, ret) < 0)
		return fail(ps, "'%s' is not a UTC time like 2026-11-24T12:00:00Z", key);
	return 0;
}

/* A list of strings; absent gives an empty list unless required. */
static int get_strv(struct parse *ps, json_object *o, const char *key, bool required,
		    string_check check, char ***ret)
{
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
	json_object *v;
	if (!l)
		return -ENOMEM;
	if (!json_object_object_get_ex(o, key, &v) || !v) {
		if (required)
			return fail(ps, "missing key '%s'", key);
		*ret = TAKE_PTR(l);
		return 0;
	}
	if (!json_object_is_type(v, json_type_array))
		return fail(ps, "'%s' must be a list of strings", key);
	size_t n = json_object_array_length(v);
	if (n > CATALOG_MAX_LIST)
		return fail(ps, "'%s' has more than %u entries", key, CATALOG_MAX_LIST);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		if (!e || !json_object_is_type(e, json_type_string))
			return fail(ps, "'%s' entry %zu must be a string", key, i + 1);
		const char *s = json_object_get_string(e);
		if ((size_t)json_object_get_string_len(e) != strlen(s) ||
		    strlen(s) > CATALOG_MAX_STRING || !check(s))
			return fail(ps, "'%s' entry %zu has an invalid value", key, i + 1);
		if (strv_extend(&l, s) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

static int parse_rpm(struct parse *ps, json_object *o, struct catalog_rpm **ret)
{
	static const char *const keys[] = { "name", "epoch",	"version",  "release",
					    "arch", "provides", "requires", NULL };
	struct catalog_rpm *r = calloc(1, sizeof(*r));
	json_object *v;
	int k;

	if (!r)
		return -ENOMEM;
	if (!json_object_is_type(o, json_type_object))
		k = fail(ps, "must be an object");
	else if ((k = check_keys(ps, o, keys)) >= 0 &&
		 (k = get_str(ps, o, "name", true, is_word, &r->name)) >= 0 &&
		 (k = get_str(ps, o, "version", true, is_word, &r->version)) >= 0 &&
		 (k = get_str(ps, o, "release", true, is_word, &r->release)) >= 0 &&
		 (k = get_str(ps, o, "arch", true, is_word, &r->arch)) >= 0 &&
		 (k = get_strv(ps, o, "provides", false, is_text, &r->provides)) >= 0 &&
		 (k = get_strv(ps, o, "requires", false, is_text, &r->requires)) >= 0 &&
		 json_object_object_get_ex(o, "epoch", &v) && v) {
		uint64_t e;
		k = get_u64(ps, o, "epoch", 0, UINT32_MAX, &e);
		r->epoch = (uint32_t)e;
		r->has_epoch = true;
	}
	if (k < 0) {
		rpm_object_free(r);
		return k;
	}
	*ret = r;
	return 0;
}

static bool is_deb_version(const char *s)
{
	/* dpkg: [epoch:]upstream[-revision], letters, digits and . + - ~ : */
	return *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			       "0123456789.+-~:") == strlen(s);
}

static int parse_deb(struct parse *ps, json_object *o, struct catalog_deb **ret)
{
	static const char *const keys[] = {
		"name", "version", "arch", "provides", "depends", NULL
	};
	struct catalog_deb *d = calloc(1, sizeof(*d));
	int k;

	if (!d)
		return -ENOMEM;
	if (!json_object_is_type(o, json_type_object))
		k = fail(ps, "must be an object");
	else
		(void)((k = check_keys(ps, o, keys)) < 0 ||
		       (k = get_str(ps, o, "name", true, is_word, &d->name)) < 0 ||
		       (k = get_str(ps, o, "version", true, is_deb_version, &d->version)) < 0 ||
		       (k = get_str(ps, o, "arch", true, is_word, &d->arch)) < 0 ||
		       (k = get_strv(ps, o, "provides", false, is_text, &d->provides)) < 0 ||
		       (k = get_strv(ps, o, "depends", false, is_text, &d->depends)) < 0);
	if (k < 0) {
		catalog_deb_free(d);
		return k;
	}
	*ret = d;
	return 0;
}

static int parse_inf(struct parse *ps, json_object *o, struct catalog_inf **ret)
{
	static const char *const keys[] = { "class",	      "provider",
					    "driver_version", "driver_date",
					    "catalog_file",   "architectures",
					    "hardware_ids",   NULL };
	struct catalog_inf *i = calloc(1, sizeof(*i));
	int k;

	if (!i)
		return -ENOMEM;
	if (!json_object_is_type(o, json_type_object))
		k = fail(ps, "must be an object");
	else
		(void)((k = check_keys(ps, o, keys)) < 0 ||
		       (k = get_str(ps, o, "class", true, is_text, &i->class)) < 0 ||
		       (k = get_str(ps, o, "provider", true, is_text, &i->provider)) < 0 ||
		       (k = get_str(ps, o, "driver_version", true, is_word, &i->driver_version)) <
			       0 ||
		       (k = get_str(ps, o, "driver_date", false, is_text, &i->driver_date)) < 0 ||
		       (k = get_str(ps, o, "catalog_file", false, is_text, &i->catalog_file)) < 0 ||
		       (k = get_strv(ps, o, "architectures", true, is_word, &i->architectures)) <
			       0 ||
		       (k = get_strv(ps, o, "hardware_ids", true, is_text, &i->hardware_ids)) < 0);
	if (k < 0) {
		catalog_inf_free(i);
		return k;
	}
	*ret = i;
	return 0;
}

static bool is_os(const char *s)
{
	return streq(s, "linux") || streq(s, "windows");
}

static bool is_path(const char *s)
{
	/* relative, no "." or "..", no empty components or trailing slash, no
	 * backslash (a second separator on Windows): one spelling per file */
	return path_check_relative(s) == 0 && !strstr(s, "//") && !endswith(s, "/") &&
	       !streq(s, ".") && !startswith(s, "./") && !strstr(s, "/./") && !endswith(s, "/.") &&
	       !strchr(s, '\\') && string_is_safe(s);
}

bool catalog_is_path(const char *s)
{
	return strlen(s) <= CATALOG_MAX_STRING && is_path(s);
}

static int parse_payload(struct parse *ps, json_object *o, size_t idx, struct catalog_payload *p)
{
	static const char *const keys[] = { "name", "version", "os",	 "profiles", "arch",
					    "path", "length",  "sha256", "format",   "rpm",
					    "deb",  "inf",     NULL };
	_cleanup_free_ char *sha = NULL;
	json_object *v;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return fail(ps, "must be an object");
	if ((r = get_str(ps, o, "name", true, is_word, &p->name)) < 0)
		return r;
	/* from here on, messages name the payload */
	snprintf(ps->where, sizeof(ps->where), "catalog payload %zu ('%.40s')", idx, p->name);
	if ((r = check_keys(ps, o, keys)) < 0)
		return r;
	if ((r = get_str(ps, o, "version", true, is_word, &p->version)) < 0 ||
	    (r = get_str(ps, o, "os", true, is_os, &p->os)) < 0 ||
	    (r = get_strv(ps, o, "profiles", true, is_profile, &p->profiles)) < 0 ||
	    (r = get_str(ps, o, "arch", true, is_word, &p->arch)) < 0 ||
	    (r = get_str(ps, o, "path", true, is_path, &p->path)) < 0 ||
	    (r = get_u64(ps, o, "length", 0, INT64_MAX, &p->length)) < 0 ||
	    (r = get_str(ps, o, "sha256", true, is_text, &sha)) < 0)
		return r;
	if (strlen(sha) != 2 * SHA256_DIGEST_SIZE ||
	    strspn(sha, "0123456789abcdef") != strlen(sha) ||
	    hex_decode(sha, p->sha256, SHA256_DIGEST_SIZE) < 0)
		return fail(ps, "'sha256' must be 64 lower-case hex digits");

	_cleanup_free_ char *format = NULL;
	if ((r = get_str(ps, o, "format", false, is_word, &format)) < 0)
		return r;
	size_t n_objects = 0;
	if (json_object_object_get_ex(o, "rpm", &v) && v) {
		n_objects++;
		strncat(ps->where, " rpm", sizeof(ps->where) - strlen(ps->where) - 1);
		if ((r = parse_rpm(ps, v, &p->rpm)) < 0)
			return r;
	}
	if (json_object_object_get_ex(o, "deb", &v) && v) {
		n_objects++;
		strncat(ps->where, " deb", sizeof(ps->where) - strlen(ps->where) - 1);
		if ((r = parse_deb(ps, v, &p->deb)) < 0)
			return r;
	}
	if (json_object_object_get_ex(o, "inf", &v) && v) {
		n_objects++;
		strncat(ps->where, " inf", sizeof(ps->where) - strlen(ps->where) - 1);
		if ((r = parse_inf(ps, v, &p->inf)) < 0)
			return r;
	}
	if (n_objects > 1)
		return fail(ps, "has more than one of 'rpm', 'deb' and 'inf'");
	if (format && !streq(format, catalog_payload_format(p)))
		return fail(ps, "has 'format' \"%s\" but its data says \"%s\"", format,
			    catalog_payload_format(p));
	return 0;
}

int catalog_parse(const char *buf, size_t len, struct catalog **ret, char **reterr_msg)
{
	static const char *const keys[] = { "schema", "product", "channel",  "version",
					    "issued", "expires", "payloads", NULL };
	struct parse ps = { .err = reterr_msg, .where = "catalog" };
	_cleanup_catalog_ struct catalog *c = NULL;
	_cleanup_json_ json_object *o = NULL;
	_cleanup_free_ char *why = NULL;
	uint64_t schema;
	json_object *pl;
	int r;

	if (len > CATALOG_MAX_SIZE)
		return errmsg_set(reterr_msg, -E2BIG,
				  "catalog is %zu bytes, more than the %u allowed", len,
				  CATALOG_MAX_SIZE);
	r = json_parse_bounded(buf, len, CATALOG_MAX_SIZE, &o, &why);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "catalog: not valid JSON: %s",
				  why ? why : "parse error");
	if (!json_object_is_type(o, json_type_object))
		return fail(&ps, "must be a JSON object");
	r = catalog_new(&c);
	if (r < 0)
		return r;
	if ((r = check_keys(&ps, o, keys)) < 0 ||
	    (r = get_u64(&ps, o, "schema", 1, UINT32_MAX, &schema)) < 0)
		return r;
	if (schema != CATALOG_SCHEMA)
		return fail(&ps,
			    "schema %" PRIu64 " is not supported (this program reads schema %d)",
			    schema, CATALOG_SCHEMA);
	if ((r = get_str(&ps, o, "product", true, is_word, &c->product)) < 0 ||
	    (r = get_str(&ps, o, "channel", true, is_word, &c->channel)) < 0 ||
	    (r = get_u64(&ps, o, "version", 0, INT64_MAX, &c->version)) < 0 ||
	    (r = get_time(&ps, o, "issued", &c->issued)) < 0 ||
	    (r = get_time(&ps, o, "expires", &c->expires)) < 0)
		return r;
	if (c->expires <= c->issued)
		return fail(&ps, "'expires' is not after 'issued'");
	if (!json_object_object_get_ex(o, "payloads", &pl) || !pl)
		return fail(&ps, "missing key 'payloads'");
	if (!json_object_is_type(pl, json_type_array))
		return fail(&ps, "'payloads' must be a list");
	size_t n = json_object_array_length(pl);
	if (n > CATALOG_MAX_PAYLOADS)
		return fail(&ps, "more than %u payloads", CATALOG_MAX_PAYLOADS);
	for (size_t i = 0; i < n; i++) {
		struct catalog_payload p = {};
		snprintf(ps.where, sizeof(ps.where), "catalog payload %zu", i + 1);
		r = parse_payload(&ps, json_object_array_get_idx(pl, i), i + 1, &p);
		if (r >= 0) {
			r = catalog_add_payload(c, &p);
			if (r == -EEXIST)
				r = fail(&ps, "path '%s' is listed twice", p.path);
		}
		catalog_payload_done(&p);
		if (r < 0)
			return r;
	}
	r = sha256_buffer(buf, len, c->sha256);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

/* ---- writing ------------------------------------------------------------ */

static json_object *strv_to_json(char *const *l)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; a && l && l[i]; i++)
		if (json_object_array_add(a, json_object_new_string(l[i])) < 0) {
			json_object_put(a);
			return NULL;
		}
	return a;
}

/* Adds key: v to o, taking v; a NULL v (out of memory) fails. */
static int add(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return -ENOMEM;
	return json_object_object_add(o, key, v) < 0 ? -ENOMEM : 0;
}

static int add_str(json_object *o, const char *key, const char *s)
{
	return s ? add(o, key, json_object_new_string(s)) : 0;
}

static json_object *rpm_to_json(const struct catalog_rpm *rpm)
{
	json_object *o = json_object_new_object();
	if (!o || add_str(o, "name", rpm->name) < 0 ||
	    (rpm->has_epoch && add(o, "epoch", json_object_new_int64(rpm->epoch)) < 0) ||
	    add_str(o, "version", rpm->version) < 0 || add_str(o, "release", rpm->release) < 0 ||
	    add_str(o, "arch", rpm->arch) < 0 ||
	    add(o, "provides", strv_to_json(rpm->provides)) < 0 ||
	    add(o, "requires", strv_to_json(rpm->requires)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *deb_to_json(const struct catalog_deb *deb)
{
	json_object *o = json_object_new_object();
	if (!o || add_str(o, "name", deb->name) < 0 || add_str(o, "version", deb->version) < 0 ||
	    add_str(o, "arch", deb->arch) < 0 ||
	    add(o, "provides", strv_to_json(deb->provides)) < 0 ||
	    add(o, "depends", strv_to_json(deb->depends)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *inf_to_json(const struct catalog_inf *inf)
{
	json_object *o = json_object_new_object();
	if (!o || add_str(o, "class", inf->class) < 0 ||
	    add_str(o, "provider", inf->provider) < 0 ||
	    add_str(o, "driver_version", inf->driver_version) < 0 ||
	    add_str(o, "driver_date", inf->driver_date) < 0 ||
	    add_str(o, "catalog_file", inf->catalog_file) < 0 ||
	    add(o, "architectures", strv_to_json(inf->architectures)) < 0 ||
	    add(o, "hardware_ids", strv_to_json(inf->hardware_ids)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *payload_to_json(const struct catalog_payload *p)
{
	char hex[SHA256_HEX_SIZE];
	json_object *o = json_object_new_object();

	hex_encode(p->sha256, SHA256_DIGEST_SIZE, hex);
	if (!o || add_str(o, "name", p->name) < 0 || add_str(o, "version", p->version) < 0 ||
	    add_str(o, "os", p->os) < 0 || add(o, "profiles", strv_to_json(p->profiles)) < 0 ||
	    add_str(o, "arch", p->arch) < 0 || add_str(o, "path", p->path) < 0 ||
	    add(o, "length", json_object_new_int64((int64_t)p->length)) < 0 ||
	    add_str(o, "sha256", hex) < 0 || add_str(o, "format", catalog_payload_format(p)) < 0 ||
	    (p->rpm && add(o, "rpm", rpm_to_json(p->rpm)) < 0) ||
	    (p->deb && add(o, "deb", deb_to_json(p->deb)) < 0) ||
	    (p->inf && add(o, "inf", inf_to_json(p->inf)) < 0)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int catalog_to_json(const struct catalog *c, json_object **ret)
{
	char issued[21], expires[21];
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *a;
	int r;

	if (!o)
		return -ENOMEM;
	if ((r = catalog_time_format(c->issued, issued)) < 0 ||
	    (r = catalog_time_format(c->expires, expires)) < 0)
		return r;
	if (add(o, "schema", json_object_new_int(CATALOG_SCHEMA)) < 0 ||
	    add_str(o, "product", c->product) < 0 || add_str(o, "channel", c->channel) < 0 ||
	    add(o, "version", json_object_new_int64((int64_t)c->version)) < 0 ||
	    add_str(o, "issued", issued) < 0 || add_str(o, "expires", expires) < 0)
		return -ENOMEM;
	a = json_object_new_array();
	if (add(o, "payloads", a) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_payloads; i++) {
		json_object *p = payload_to_json(&c->payloads[i]);
		if (!p || json_object_array_add(a, p) < 0) {
			json_object_put(p);
			return -ENOMEM;
		}
	}
	*ret = TAKE_PTR(o);
	return 0;
}

int catalog_write_at(int dir_fd, const char *path, const struct catalog *c)
{
	_cleanup_json_ json_object *o = NULL;
	int r = catalog_to_json(c, &o);
	if (r < 0)
		return r;
	return json_write_file_atomic_at(dir_fd, path, o, 0644);
}

/* ---- verification ------------------------------------------------------- */

int catalog_load_verified(int dir_fd, const struct minisign_pubkey *pk,
			  const struct catalog_load_opts *opts, struct catalog **ret,
			  char **reterr_msg)
{
	_cleanup_minisig_ struct minisign_sig *sig = NULL;
	_cleanup_catalog_ struct catalog *c = NULL;
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL, *why = NULL;
	struct stat st;
	size_t len;
	int r;

	fd = fs_open_beneath(dir_fd, CATALOG_FILE, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	if (fd < 0)
		return errmsg_set(reterr_msg, fd, "cannot open '%s': %s", CATALOG_FILE,
				  strerror(-fd));
	if (fstat(fd, &st) < 0)
		return errmsg_set(reterr_msg, negative_errno(), "cannot stat '%s': %m",
				  CATALOG_FILE);
	if (!S_ISREG(st.st_mode))
		return errmsg_set(reterr_msg, -EBADMSG, "'%s' is not a regular file", CATALOG_FILE);
	if ((uint64_t)st.st_size > CATALOG_MAX_SIZE)
		return errmsg_set(reterr_msg, -E2BIG,
				  "'%s' is %" PRIu64 " bytes, more than the %u allowed; refusing "
				  "to read it",
				  CATALOG_FILE, (uint64_t)st.st_size, CATALOG_MAX_SIZE);
	r = fs_read_fd(fd, CATALOG_MAX_SIZE, &buf, &len);
	if (r == -EFBIG)
		return errmsg_set(reterr_msg, -E2BIG, "'%s' grew past %u bytes while read",
				  CATALOG_FILE, CATALOG_MAX_SIZE);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read '%s': %s", CATALOG_FILE,
				  strerror(-r));

	r = minisign_sig_load_at(dir_fd, CATALOG_SIG_FILE, &sig, &why);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "%s", why ? why : "cannot load the signature");
	r = minisign_verify_buffer(pk, sig, buf, len, &why);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "'%s': bad signature: %s", CATALOG_FILE,
				  why ? why : strerror(-r));

	r = catalog_parse(buf, len, &c, reterr_msg);
	if (r < 0)
		return r;

	time_t now = opts && opts->now ? opts->now : time(NULL);
	if (c->issued > now + CATALOG_MAX_CLOCK_SKEW && !(opts && opts->allow_expired)) {
		char when[21] = "?", clock[21] = "?";
		(void)catalog_time_format(c->issued, when);
		(void)catalog_time_format(now, clock);
		return errmsg_set(reterr_msg, -ESTALE,
				  "'%s' version %" PRIu64 " says it was issued at %s, more than a "
				  "day after this machine's clock (%s); check the clock, then ask "
				  "the vendor",
				  CATALOG_FILE, c->version, when, clock);
	}
	if (now >= c->expires && !(opts && opts->allow_expired)) {
		char when[21] = "?";
		(void)catalog_time_format(c->expires, when);
		return errmsg_set(reterr_msg, -ESTALE,
				  "'%s' version %" PRIu64 " expired at %s; get a current "
				  "catalog from the vendor",
				  CATALOG_FILE, c->version, when);
	}
	*ret = TAKE_PTR(c);
	return 0;
}

int catalog_payload_open(int dir_fd, const struct catalog_payload *p, char **reterr_msg)
{
	struct stat st;
	_cleanup_close_ int fd =
		fs_open_beneath(dir_fd, p->path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	if (fd < 0)
		return errmsg_set(reterr_msg, fd, "payload '%s': cannot open: %s", p->path,
				  strerror(-fd));
	if (fstat(fd, &st) < 0)
		return errmsg_set(reterr_msg, negative_errno(), "payload '%s': cannot stat: %m",
				  p->path);
	if (!S_ISREG(st.st_mode))
		return errmsg_set(reterr_msg, -EBADMSG, "payload '%s': not a regular file",
				  p->path);
	if ((uint64_t)st.st_size != p->length)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "payload '%s': length %" PRIu64 ", catalog says %" PRIu64,
				  p->path, (uint64_t)st.st_size, p->length);
	return TAKE_FD(fd);
}

int catalog_payload_check(const struct catalog_payload *p, int r,
			  const uint8_t digest[SHA256_DIGEST_SIZE], uint64_t n, char **reterr_msg)
{
	char got[SHA256_HEX_SIZE], want[SHA256_HEX_SIZE];

	if (r == -EFBIG || (r >= 0 && n != p->length))
		return errmsg_set(reterr_msg, -EBADMSG,
				  "payload '%s': changed while read (length differs from %" PRIu64
				  ")",
				  p->path, p->length);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "payload '%s': cannot read: %s", p->path,
				  strerror(-r));
	if (memcmp(digest, p->sha256, SHA256_DIGEST_SIZE) != 0) {
		hex_encode(digest, SHA256_DIGEST_SIZE, got);
		hex_encode(p->sha256, SHA256_DIGEST_SIZE, want);
		return errmsg_set(reterr_msg, -EBADMSG, "payload '%s': sha256 %s, catalog says %s",
				  p->path, got, want);
	}
	return 0;
}

int catalog_verify_payload(int dir_fd, const struct catalog_payload *p, char **reterr_msg)
{
	uint8_t digest[SHA256_DIGEST_SIZE] = {};
	uint64_t n = 0;

	_cleanup_close_ int fd = catalog_payload_open(dir_fd, p, reterr_msg);
	if (fd < 0)
		return fd;
	int r = sha256_fd(fd, p->length, digest, &n);
	return catalog_payload_check(p, r, digest, n, reterr_msg);
}

int catalog_check_rollback(const struct catalog *c, uint64_t last_version,
			   const uint8_t *last_sha256, char **reterr_msg)
{
	if (c->version < last_version)
		return errmsg_set(reterr_msg, -EPERM,
				  "catalog version %" PRIu64 " is older than version %" PRIu64
				  " seen before; refusing a rollback",
				  c->version, last_version);
	if (c->version == last_version && last_sha256 &&
	    memcmp(c->sha256, last_sha256, SHA256_DIGEST_SIZE) != 0)
		return errmsg_set(reterr_msg, -EPERM,
				  "catalog version %" PRIu64 " differs from the catalog with the "
				  "same version seen before; a new catalog needs a higher version",
				  c->version);
	return 0;
}
