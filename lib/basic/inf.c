/* SPDX-License-Identifier: MIT */
/*
 * inf.c - the INF syntax as Microsoft documents it ("General Syntax Rules
 * for INF Files", "INF Strings Section", "INF Manufacturer Section", "INF
 * Models Section", "INF Version Section"): decode to UTF-8, split into
 * logical lines, then sections and "key = values" lines, then substitute
 * %strkey% tokens.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/inf.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

/* ---- decoding ----------------------------------------------------------- */

static size_t put_utf8(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

static int decode_utf16(const uint8_t *p, size_t len, bool big, char **ret, char **err)
{
	if (len % 2)
		return errmsg_set(err, -EBADMSG, "UTF-16 text of odd length");
	char *out = malloc(len / 2 * 3 + 1), *o = out;
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 2) {
		uint32_t c =
			big ? (uint32_t)(p[i] << 8 | p[i + 1]) : (uint32_t)(p[i + 1] << 8 | p[i]);
		if (c >= 0xd800 && c < 0xdc00 && i + 3 < len) {
			uint32_t d = big ? (uint32_t)(p[i + 2] << 8 | p[i + 3])
					 : (uint32_t)(p[i + 3] << 8 | p[i + 2]);
			if (d >= 0xdc00 && d < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
				i += 2;
			}
		}
		if (c == 0 || (c >= 0xd800 && c < 0xe000)) {
			free(out);
			return errmsg_set(err, -EBADMSG, "%s in the UTF-16 text at byte %zu",
					  c ? "an unpaired surrogate" : "a NUL character", i);
		}
		o += put_utf8(o, c);
	}
	*o = '\0';
	*ret = out;
	return 0;
}

static bool valid_utf8(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint8_t c = p[i];
		size_t n = c < 0x80		? 1
			   : (c & 0xe0) == 0xc0 ? 2
			   : (c & 0xf0) == 0xe0 ? 3
			   : (c & 0xf8) == 0xf0 ? 4
						: 0;
		if (n == 0 || i + n > len || (n == 2 && c < 0xc2))
			return false;
		for (size_t j = 1; j < n; j++)
			if ((p[i + j] & 0xc0) != 0x80)
				return false;
		i += n;
	}
	return true;
}

/* UTF-16 (BOM, or a zero high byte first), UTF-8 (BOM optional), else ANSI
 * read as Latin-1. */
static int decode(const uint8_t *p, size_t len, char **ret, char **err)
{
	if (len >= 2 && p[0] == 0xff && p[1] == 0xfe)
		return decode_utf16(p + 2, len - 2, false, ret, err);
	if (len >= 2 && p[0] == 0xfe && p[1] == 0xff)
		return decode_utf16(p + 2, len - 2, true, ret, err);
	if (len >= 2 && p[0] != 0 && p[1] == 0)
		return decode_utf16(p, len, false, ret, err);
	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
		p += 3;
		len -= 3;
	}
	if (memchr(p, '\0', len))
		return errmsg_set(err, -EBADMSG, "a NUL byte at byte %zu",
				  (size_t)((const uint8_t *)memchr(p, '\0', len) - p));
	bool utf8 = valid_utf8(p, len);
	char *out = malloc(utf8 ? len + 1 : 2 * len + 1), *o = out;
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++)
		o += utf8 ? (*o = (char)p[i], 1) : put_utf8(o, p[i]);
	*o = '\0';
	*ret = out;
	return 0;
}

/* ---- memory ------------------------------------------------------------- */

void inf_free(struct inf *inf)
{
	if (!inf)
		return;
	for (size_t i = 0; i < inf->n_sections; i++) {
		struct inf_section *s = &inf->sections[i];
		for (size_t j = 0; j < s->n_lines; j++) {
			free(s->lines[j].key);
			strv_free(s->lines[j].values);
		}
		free(s->lines);
		free(s->name);
	}
	free(inf->sections);
	free(inf);
}

const struct inf_section *inf_find_section(const struct inf *inf, const char *name)
{
	for (size_t i = 0; i < inf->n_sections; i++)
		if (strcasecmp(inf->sections[i].name, name) == 0)
			return &inf->sections[i];
	return NULL;
}

const char *inf_get(const struct inf *inf, const char *section, const char *key)
{
	const struct inf_section *s = inf_find_section(inf, section);
	for (size_t i = 0; s && i < s->n_lines; i++)
		if (s->lines[i].key && strcasecmp(s->lines[i].key, key) == 0)
			return s->lines[i].values[0];
	return NULL;
}

/* ---- parsing ------------------------------------------------------------ */

struct parser {
	struct inf *inf;
	ssize_t cur; /* current section, -1 before the first */
	unsigned line;
	size_t n_lines;
	char **err;
};

static int perr(struct parser *ps, const char *what)
{
	return errmsg_set(ps->err, -EBADMSG, "line %u: %s", ps->line, what);
}

/* Copies [s, e) without surrounding white space, removing quotes ("" is a
 * quote inside a quoted string). */
static int unquote(struct parser *ps, const char *s, const char *e, char **ret)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	char *out = malloc((size_t)(e - s) + 1), *o = out;
	bool q = false;
	if (!out)
		return -ENOMEM;
	for (const char *p = s; p < e; p++) {
		if (*p == '"') {
			if (q && p + 1 < e && p[1] == '"') {
				*o++ = '"';
				p++;
			} else
				q = !q;
		} else
			*o++ = *p;
	}
	*o = '\0';
	if (q) {
		free(out);
		return perr(ps, "unterminated quoted string");
	}
	*ret = out;
	return 0;
}

static int section_open(struct parser *ps, const char *name)
{
	struct inf *inf = ps->inf;
	for (size_t i = 0; i < inf->n_sections; i++)
		if (strcasecmp(inf->sections[i].name, name) == 0) {
			ps->cur = (ssize_t)i;
			return 0;
		}
	struct inf_section *n = reallocarray(inf->sections, inf->n_sections + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	inf->sections = n;
	n[inf->n_sections] = (struct inf_section){ .name = strdup(name), .line = ps->line };
	if (!n[inf->n_sections].name)
		return -ENOMEM;
	ps->cur = (ssize_t)inf->n_sections++;
	return 0;
}

static int parse_header(struct parser *ps, char *l)
{
	char *close = strchr(l, ']');
	if (!close)
		return perr(ps, "section header without ']'");
	for (const char *p = close + 1; *p; p++)
		if (*p != ' ' && *p != '\t')
			return perr(ps, "text after the section header");
	*close = '\0';
	char *name = strstrip(l + 1);
	if (!*name)
		return perr(ps, "empty section name");
	if (strchr(name, '['))
		return perr(ps, "'[' inside a section name");
	return section_open(ps, name);
}

static int parse_entry(struct parser *ps, const char *l)
{
	struct inf_section *s = &ps->inf->sections[ps->cur];
	struct inf_line line = { .line = ps->line };
	_cleanup_strv_free_ char **values = calloc(1, sizeof(char *));
	_cleanup_free_ char *key = NULL;
	const char *eq = NULL, *start;
	bool q = false;
	size_t n = 0;
	int r;

	if (!values)
		return -ENOMEM;
	for (const char *p = l; *p; p++)
		if (*p == '"')
			q = !q;
		else if (*p == '=' && !q) {
			eq = p;
			break;
		}
	start = l;
	if (eq) {
		r = unquote(ps, l, eq, &key);
		if (r < 0)
			return r;
		if (!*key)
			return perr(ps, "'=' without a key");
		start = eq + 1;
	}
	q = false;
	for (const char *p = start;; p++) {
		if (*p == '"')
			q = !q;
		if ((*p == ',' && !q) || *p == '\0') {
			char *v;
			if (++n > INF_MAX_VALUES)
				return perr(ps, "more than 256 values on the line");
			r = unquote(ps, start, p, &v);
			if (r < 0)
				return r;
			r = strv_extend(&values, v);
			free(v);
			if (r < 0)
				return r;
			start = p + 1;
		}
		if (*p == '\0')
			break;
	}
	if (++ps->n_lines > INF_MAX_LINES)
		return perr(ps, "too many lines");
	struct inf_line *nl = reallocarray(s->lines, s->n_lines + 1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	s->lines = nl;
	line.key = TAKE_PTR(key);
	line.values = TAKE_PTR(values);
	s->lines[s->n_lines++] = line;
	return 0;
}

/* Cuts a ';' comment (outside quotes) and trailing white space. */
static void cut_comment(char *l)
{
	bool q = false;
	char *p;
	for (p = l; *p; p++)
		if (*p == '"')
			q = !q;
		else if (*p == ';' && !q)
			break;
	*p = '\0';
	while (p > l && (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\r'))
		*--p = '\0';
}

static int parse_text(struct parser *ps, char *text)
{
	_cleanup_free_ char *logical = NULL;
	size_t llen = 0;
	unsigned first = 0, no = 0;
	int r;

	logical = malloc(INF_MAX_LINE + 1);
	if (!logical)
		return -ENOMEM;
	for (char *p = text; p;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		no++;
		cut_comment(p);
		size_t n = strlen(p);
		bool more = n > 0 && p[n - 1] == '\\';
		if (more)
			p[--n] = '\0';
		if (llen == 0)
			first = no;
		ps->line = first;
		if (llen + n > INF_MAX_LINE)
			return perr(ps, "line longer than 8192 characters");
		memcpy(logical + llen, p, n);
		llen += n;
		logical[llen] = '\0';
		p = nl ? nl + 1 : NULL;
		if (more && p)
			continue;

		char *l = strstrip(logical);
		if (*l == '[')
			r = parse_header(ps, l);
		else if (!*l)
			r = 0;
		else if (ps->cur < 0)
			r = perr(ps, "text before the first section");
		else
			r = parse_entry(ps, l);
		if (r < 0)
			return r;
		llen = 0;
	}
	return 0;
}

/* ---- %strkey% substitution ---------------------------------------------- */

static const char *string_lookup(const struct inf_section *strings, const char *k, size_t n)
{
	for (size_t i = 0; strings && i < strings->n_lines; i++) {
		const char *key = strings->lines[i].key;
		if (key && strlen(key) == n && strncasecmp(key, k, n) == 0)
			return strings->lines[i].values[0];
	}
	return NULL;
}

/* Replaces %name% by its [Strings] value and %% by %; unknown names stay. */
static int substitute(const struct inf_section *strings, unsigned line, char **s, char **err)
{
	if (!strchr(*s, '%'))
		return 0;
	size_t cap = 4 * INF_MAX_LINE, n = 0;
	_cleanup_free_ char *out = malloc(cap + 1);
	if (!out)
		return -ENOMEM;
	for (const char *p = *s; *p;) {
		const char *add = p;
		size_t k = 1;
		if (*p == '%') {
			const char *e = strchr(p + 1, '%');
			if (e == p + 1) {
				k = 1; /* "%%" is one '%' */
				p++;
			} else if (e) {
				const char *v = string_lookup(strings, p + 1, (size_t)(e - p - 1));
				if (v) {
					add = v;
					k = strlen(v);
					p = e;
				} else {
					k = (size_t)(e - p + 1);
					p = e;
				}
			}
		}
		if (n + k > cap)
			return errmsg_set(err, -EBADMSG,
					  "line %u: too long after %%strkey%% substitution", line);
		memcpy(out + n, add, k);
		n += k;
		p++;
	}
	out[n] = '\0';
	free(*s);
	*s = TAKE_PTR(out);
	return 0;
}

static const struct inf_section *strings_section(const struct inf *inf)
{
	const struct inf_section *s = inf_find_section(inf, "Strings");
	for (size_t i = 0; !s && i < inf->n_sections; i++)
		if (strncasecmp(inf->sections[i].name, "Strings.", 8) == 0)
			s = &inf->sections[i];
	return s;
}

static int substitute_all(struct inf *inf, char **err)
{
	const struct inf_section *strings = strings_section(inf);
	for (size_t i = 0; i < inf->n_sections; i++) {
		struct inf_section *s = &inf->sections[i];
		if (strncasecmp(s->name, "Strings", 7) == 0)
			continue; /* string values are literal */
		for (size_t j = 0; j < s->n_lines; j++) {
			int r = s->lines[j].key ? substitute(strings, s->lines[j].line,
							     &s->lines[j].key, err)
						: 0;
			for (char **v = s->lines[j].values; r >= 0 && *v; v++)
				r = substitute(strings, s->lines[j].line, v, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int inf_parse(const void *buf, size_t len, struct inf **ret, char **reterr_msg)
{
	_cleanup_free_ char *text = NULL;
	struct inf *inf;
	int r;

	if (len > INF_MAX_SIZE)
		return errmsg_set(reterr_msg, -E2BIG, "larger than %u bytes", INF_MAX_SIZE);
	r = decode(buf, len, &text, reterr_msg);
	if (r < 0)
		return r;
	inf = calloc(1, sizeof(*inf));
	if (!inf)
		return -ENOMEM;
	struct parser ps = { .inf = inf, .cur = -1, .err = reterr_msg };
	r = parse_text(&ps, text);
	if (r >= 0)
		r = substitute_all(inf, reterr_msg);
	if (r < 0) {
		inf_free(inf);
		return r;
	}
	*ret = inf;
	return 0;
}

int inf_load_at(int dir_fd, const char *path, struct inf **ret, char **reterr_msg)
{
	_cleanup_free_ char *buf = NULL, *why = NULL;
	_cleanup_close_ int fd = -EBADF;
	size_t n;
	int r;

	fd = dir_fd == AT_FDCWD
		     ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
		     : fs_open_beneath(dir_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	if (fd == -1)
		fd = negative_errno();
	if (fd < 0)
		return errmsg_set(reterr_msg, fd, "cannot open INF '%s': %s", path, strerror(-fd));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return errmsg_set(reterr_msg, -EINVAL, "INF '%s' is not a regular file", path);
	r = fs_read_fd(fd, INF_MAX_SIZE, &buf, &n);
	if (r == -EFBIG)
		return errmsg_set(reterr_msg, -E2BIG, "INF '%s' is larger than %u bytes", path,
				  INF_MAX_SIZE);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "cannot read INF '%s': %s", path, strerror(-r));
	r = inf_parse(buf, n, ret, &why);
	if (r < 0)
		return errmsg_set(reterr_msg, r, "INF '%s': %s", path, why ? why : strerror(-r));
	return 0;
}

/* ---- driver facts ------------------------------------------------------- */

void inf_driver_free(struct inf_driver *d)
{
	if (!d)
		return;
	free(d->class);
	free(d->class_guid);
	free(d->provider);
	free(d->driver_date);
	free(d->driver_version);
	free(d->catalog_file);
	strv_free(d->catalog_files);
	strv_free(d->architectures);
	strv_free(d->hardware_ids);
	free(d);
}

static bool valid_date(const char *s)
{
	unsigned m, d, y;
	int n = 0;
	if (sscanf(s, "%2u/%2u/%4u%n", &m, &d, &y, &n) != 3 || s[n] != '\0')
		return false;
	return m >= 1 && m <= 12 && d >= 1 && d <= 31 && y >= 1980 && y <= 9999;
}

static bool valid_version(const char *s)
{
	/* 1 to 4 dot-separated numbers, each at most 65535 */
	unsigned parts = 0;
	for (const char *p = s;; p++) {
		char *e;
		if (*p < '0' || *p > '9')
			return false;
		unsigned long x = strtoul(p, &e, 10);
		if (x > 65535 || ++parts > 4)
			return false;
		p = e;
		if (*p == '\0')
			return true;
		if (*p != '.')
			return false;
	}
}

/* "NTamd64.10.0...19041" -> "amd64"; "NT" -> "" (any); NULL if unknown. */
static const char *decoration_arch(const char *dec)
{
	static const char *const archs[] = { "amd64", "x86", "arm64", "ia64", "arm" };
	if (strncasecmp(dec, "NT", 2) != 0)
		return NULL;
	size_t n = strcspn(dec + 2, ".");
	if (n == 0)
		return "";
	for (size_t i = 0; i < ELEMENTSOF(archs); i++)
		if (strlen(archs[i]) == n && strncasecmp(dec + 2, archs[i], n) == 0)
			return archs[i];
	return NULL;
}

static int strv_add_unique(char ***l, const char *s)
{
	for (char **p = *l; p && *p; p++)
		if (strcasecmp(*p, s) == 0)
			return 0;
	return strv_extend(l, s);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int models_section(const struct inf *inf, const struct inf_line *m, const char *name,
			  struct inf_driver *d, char **err)
{
	const struct inf_section *s = inf_find_section(inf, name);
	if (!s)
		return errmsg_set(err, -EBADMSG,
				  "line %u: [Manufacturer] names models section [%s], which does "
				  "not exist",
				  m->line, name);
	for (size_t i = 0; i < s->n_lines; i++) {
		char **v = s->lines[i].values;
		if (!v[0] || !v[1] || !*v[1])
			return errmsg_set(err, -EBADMSG,
					  "line %u: model in [%s] without a hardware id "
					  "(want 'description = install-section, hardware-id')",
					  s->lines[i].line, s->name);
		for (size_t j = 1; v[j]; j++)
			if (*v[j] && strv_add_unique(&d->hardware_ids, v[j]) < 0)
				return -ENOMEM;
	}
	return 0;
}

int inf_driver_info(const struct inf *inf, struct inf_driver **ret, char **reterr_msg)
{
	_cleanup_inf_driver_ struct inf_driver *d = calloc(1, sizeof(*d));
	const struct inf_section *ver = inf_find_section(inf, "Version");
	const struct inf_section *man = inf_find_section(inf, "Manufacturer");
	const char *dv = NULL;
	int r;

	if (!d)
		return -ENOMEM;
	if (!ver)
		return errmsg_set(reterr_msg, -EBADMSG, "no [Version] section");
	if (!man)
		return errmsg_set(reterr_msg, -EBADMSG, "no [Manufacturer] section");
	d->class = dup_or_null(inf_get(inf, "Version", "Class"));
	d->class_guid = dup_or_null(inf_get(inf, "Version", "ClassGuid"));
	d->provider = dup_or_null(inf_get(inf, "Version", "Provider"));
	if (!d->class || !*d->class)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "line %u: [Version] has no Class=", ver->line);
	if (!d->provider || !*d->provider)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "line %u: [Version] has no Provider=", ver->line);
	d->catalog_files = calloc(1, sizeof(char *));
	d->architectures = calloc(1, sizeof(char *));
	d->hardware_ids = calloc(1, sizeof(char *));
	if (!d->catalog_files || !d->architectures || !d->hardware_ids)
		return -ENOMEM;

	for (size_t i = 0; i < ver->n_lines; i++) {
		const struct inf_line *l = &ver->lines[i];
		if (!l->key)
			continue;
		if (strcasecmp(l->key, "DriverVer") == 0) {
			dv = l->values[0];
			if (!l->values[1] || !valid_date(l->values[0]) ||
			    !valid_version(l->values[1]))
				return errmsg_set(reterr_msg, -EBADMSG,
						  "line %u: DriverVer must be 'MM/DD/YYYY,w.x.y.z'",
						  l->line);
			free(d->driver_date); /* the last DriverVer wins */
			free(d->driver_version);
			d->driver_date = strdup(l->values[0]);
			d->driver_version = strdup(l->values[1]);
			if (!d->driver_date || !d->driver_version)
				return -ENOMEM;
		} else if (strcasecmp(l->key, "CatalogFile") == 0 ||
			   strncasecmp(l->key, "CatalogFile.", 12) == 0) {
			if (!*l->values[0])
				return errmsg_set(reterr_msg, -EBADMSG,
						  "line %u: empty %s=", l->line, l->key);
			if (strv_add_unique(&d->catalog_files, l->values[0]) < 0)
				return -ENOMEM;
			if (!d->catalog_file || strcasecmp(l->key, "CatalogFile") == 0) {
				free(d->catalog_file);
				d->catalog_file = strdup(l->values[0]);
				if (!d->catalog_file)
					return -ENOMEM;
			}
		}
	}
	if (!dv)
		return errmsg_set(reterr_msg, -EBADMSG,
				  "line %u: [Version] has no DriverVer=", ver->line);

	for (size_t i = 0; i < man->n_lines; i++) {
		const struct inf_line *m = &man->lines[i];
		const char *base = m->values[0];
		if (!base || !*base)
			return errmsg_set(reterr_msg, -EBADMSG,
					  "line %u: [Manufacturer] entry without a models section",
					  m->line);
		if (!m->values[1]) {
			/* undecorated: the x86 models section of old */
			if (strv_add_unique(&d->architectures, "x86") < 0)
				return -ENOMEM;
			r = models_section(inf, m, base, d, reterr_msg);
			if (r < 0)
				return r;
			continue;
		}
		for (size_t j = 1; m->values[j]; j++) {
			const char *dec = m->values[j];
			const char *arch = decoration_arch(dec);
			_cleanup_free_ char *name = NULL;
			if (!arch)
				return errmsg_set(reterr_msg, -EBADMSG,
						  "line %u: unknown platform decoration '%s' (want "
						  "NTamd64, NTx86, NTarm64, ...)",
						  m->line, dec);
			if (*arch && strv_add_unique(&d->architectures, arch) < 0)
				return -ENOMEM;
			if (asprintf(&name, "%s.%s", base, dec) < 0)
				return -ENOMEM;
			r = models_section(inf, m, name, d, reterr_msg);
			if (r < 0)
				return r;
		}
	}
	*ret = TAKE_PTR(d);
	return 0;
}
