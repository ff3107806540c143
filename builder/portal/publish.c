/* SPDX-License-Identifier: MIT */
/*
 * publish.c - the download portal behind `enlighten portal publish`, a
 * static tree any web server can serve: the payloads at their catalog
 * paths, the signed catalog, and index.html for people.
 *
 * Each payload directory holds payloads and the catalog.json that `enlighten
 * payload index` wrote for them (unsigned; its entries are taken as they
 * are). Every payload is hashed while it is copied and lands in the portal
 * only when length and sha256 match its entry. The new catalog's version is
 * one more than the portal's current one, so clients that saw the old one
 * accept the new one and refuse the old one afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/portal/agent.h"
#include "builder/portal/publish.h"
#include "lib/basic/clock.h"
#include "lib/basic/copy.h"
#include "lib/basic/errmsg.h"
#include "lib/basic/fs.h"
#include "lib/basic/hash.h"
#include "lib/basic/macro.h"
#include "lib/basic/markup.h"
#include "lib/basic/string-util.h"
#include "lib/trust/catalog.h"
#include "lib/trust/minisign.h"

#define TEMPLATE_PATH "templates/portal/index.html.in"
#define TEMPLATE_MAX (256u * 1024)
#define PUBKEY_FILE "minisign.pub" /* the catalog's public key, for people to pin */
#define DEFAULT_TITLE PORTAL_DEFAULT_TITLE

struct publish {
	const char *out;
	const char *url;
	const char *title;
	uint64_t valid_days;
	int out_fd;
	const char *datadir;
	char key_id[MINISIGN_KEYID_HEX_SIZE]; /* of the key that signs the catalog */
	struct portal_agent *agents;	      /* --agent files, signed */
	size_t n_agents;
	char **err; /* the engine's *reterr_msg */
};

/* ---- copying payloads ---------------------------------------------------- */

/* Copies p->path from src_fd to out_fd, hashing on the way; the copy is
 * committed only when it matches the entry. A verified copy already in the
 * portal is kept. */
static int payload_copy(int src_fd, const char *src_name, int out_fd,
			const struct catalog_payload *p, char **err)
{
	_cleanup_free_ char *why = NULL, *dir = NULL;
	_cleanup_atomic_file_ struct atomic_file *f = NULL;
	_cleanup_sha256_ struct sha256 *h = NULL;
	uint8_t got[SHA256_DIGEST_SIZE];
	uint64_t total = 0;
	int r;

	if (catalog_verify_payload(out_fd, p, NULL) >= 0)
		return 0;

	_cleanup_close_ int in = fs_open_beneath(src_fd, p->path, O_RDONLY | O_NOFOLLOW, 0);
	if (in < 0)
		return errmsg_errno(err, in, "payload '%s' in '%s': %m", p->path, src_name);
	const char *slash = strrchr(p->path, '/');
	if (slash) {
		dir = strndup(p->path, (size_t)(slash - p->path));
		if (!dir)
			return errmsg_oom(err);
		r = fs_mkdir_p_at(out_fd, dir, 0755);
		if (r < 0)
			return errmsg_errno(err, r, "cannot create '%s' in the portal: %m", dir);
	}
	r = atomic_file_open(out_fd, p->path, 0644, &f);
	if (r < 0)
		return errmsg_errno(err, r, "cannot write '%s' in the portal: %m", p->path);
	if (sha256_new(&h) < 0)
		return errmsg_oom(err);
	r = copy_stream(in, COPY_SINK_FD(f->fd), p->length, h, &total);
	if (r == -EFBIG)
		return errmsg_errno(err, EBADMSG,
				    "payload '%s' in '%s' is longer than its catalog entry "
				    "(%" PRIu64 " bytes); run 'enlighten payload index' again",
				    p->path, src_name, p->length);
	if (r < 0)
		return errmsg_errno(err, r, "cannot copy '%s' from '%s': %m", p->path, src_name);
	if (sha256_final(h, got) < 0)
		return errmsg_oom(err);
	if (total != p->length || memcmp(got, p->sha256, sizeof(got)) != 0)
		return errmsg_errno(err, EBADMSG,
				    "payload '%s' in '%s' does not match its catalog entry (length "
				    "or sha256); run 'enlighten payload index' again",
				    p->path, src_name);
	r = atomic_file_commit(f);
	if (r < 0)
		return errmsg_errno(err, r, "cannot write '%s' in the portal: %m", p->path);
	return 0;
}

/* Reads DIR/catalog.json (from `enlighten payload index`), copies its
 * payloads and moves its entries into c. */
static int payload_dir_add(struct publish *pb, const char *dir, struct catalog *c)
{
	char **err = pb->err;
	_cleanup_catalog_ struct catalog *in = NULL;
	_cleanup_free_ char *buf = NULL, *why = NULL;
	size_t len;
	int r;

	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errmsg_errno(err, errno, "cannot open payload directory '%s': %m", dir);
	r = fs_read_file_at(dfd, CATALOG_FILE, CATALOG_MAX_SIZE, &buf, &len);
	if (r == -ENOENT)
		return errmsg_errno(err, r,
				    "'%s' has no %s; run 'enlighten payload index %s' first", dir,
				    CATALOG_FILE, dir);
	if (r < 0)
		return errmsg_errno(err, r, "cannot read '%s/%s': %m", dir, CATALOG_FILE);
	r = catalog_parse(buf, len, &in, &why);
	if (r < 0)
		return errmsg_errno(err, r, "'%s/%s': %s", dir, CATALOG_FILE,
				    why ? why : strerror(-r));
	if (!c->product) {
		c->product = strdup(in->product);
		c->channel = strdup(in->channel);
		if (!c->product || !c->channel)
			return errmsg_oom(err);
	}
	for (size_t i = 0; i < in->n_payloads; i++) {
		struct catalog_payload *p = &in->payloads[i];
		r = payload_copy(dfd, dir, pb->out_fd, p, pb->err);
		if (r < 0)
			return r;
		_cleanup_free_ char *path = strdup(p->path);
		if (!path)
			return errmsg_oom(err);
		r = catalog_add_payload(c, p);
		if (r == -EEXIST)
			return errmsg_errno(err, r,
					    "payload path '%s' comes from two payload directories",
					    path);
		if (r < 0)
			return errmsg_errno(err, r, "cannot add '%s' to the catalog: %m", path);
	}
	return 0;
}

/* ---- index.html ---------------------------------------------------------- */

/* A catalog path as a relative URL (each byte outside the unreserved set
 * percent-encoded; '/' kept). */
static void url_path(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("/-._~+", c))
			fputc(c, f);
		else
			fprintf(f, "%%%02X", c);
	}
}

static void size_human(FILE *f, uint64_t n)
{
	if (n < 1024)
		fprintf(f, "%" PRIu64 " bytes", n);
	else if (n < 1024 * 1024)
		fprintf(f, "%.1f KiB", (double)n / 1024);
	else
		fprintf(f, "%.1f MiB", (double)n / (1024 * 1024));
}

static int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The install block, once per OS: Linux through enlighten, Windows by hand
 * (PowerShell and pnputil, what a Windows admin has). */
static void html_install(FILE *f, const struct publish *pb, const char *os)
{
	const char *url = pb->url ? pb->url : "https://PORTAL";

	if (streq(os, "linux")) {
		fputs("<p>On a running system, detect the hypervisor and activate what it needs "
		      "(the packages are verified against the signed catalog first):</p>\n"
		      "<pre>sudo enlighten install --portal ",
		      f);
		markup_escape(f, url);
		fputs("</pre>\n<p>Or download and verify one profile's packages (PROFILE: a "
		      "heading below):</p>\n<pre>enlighten fetch --portal ",
		      f);
		markup_escape(f, url);
		fputs(" --os linux --profile PROFILE --dest DIR</pre>\n", f);
		return;
	}
	fputs("<p>Each row is one driver package. Download its files into one folder, check "
	      "each file's SHA-256 in PowerShell against the row,</p>\n"
	      "<pre>Get-FileHash -Algorithm SHA256 .\\*</pre>\n"
	      "<p>unpack a .cab package there (<code>expand -F:* PACKAGE.cab .</code>), "
	      "and add the package to the driver store from an elevated prompt (Windows "
	      "installs it on the devices it matches):</p>\n"
	      "<pre>pnputil /add-driver .\\*.inf /install</pre>\n",
	      f);
}

static void file_link(FILE *f, const struct catalog_payload *p)
{
	const char *base = strrchr(p->path, '/');
	fputs("<a href=\"", f);
	url_path(f, p->path);
	fputs("\">", f);
	markup_escape(f, base ? base + 1 : p->path);
	fputs("</a>", f);
}

/* The package a Windows payload belongs to: the same name in the same
 * folder (an INF with its catalog and binaries). */
static bool same_package(const struct catalog_payload *a, const struct catalog_payload *b)
{
	const char *sa = strrchr(a->path, '/'), *sb = strrchr(b->path, '/');
	size_t la = sa ? (size_t)(sa - a->path) : 0, lb = sb ? (size_t)(sb - b->path) : 0;
	return streq(a->name, b->name) && la == lb && strncmp(a->path, b->path, la) == 0;
}

static bool wanted(const struct catalog_payload *p, const char *os, const char *profile)
{
	return streq(p->os, os) && strv_contains(p->profiles, profile);
}

/* One row per Windows driver package, listing its files. */
static void html_package_row(FILE *f, const struct catalog *c, size_t first, const char *profile)
{
	const struct catalog_payload *p = &c->payloads[first];
	char hex[SHA256_HEX_SIZE];

	fputs("<tr><td data-label=\"Package\">", f);
	markup_escape(f, p->name);
	fputs("</td><td data-label=\"Version\">", f);
	markup_escape(f, p->version);
	fputs("</td><td data-label=\"Files\"><ul class=\"files\">\n", f);
	for (size_t i = first; i < c->n_payloads; i++) {
		const struct catalog_payload *q = &c->payloads[i];
		if (!wanted(q, "windows", profile) || !same_package(p, q))
			continue;
		hex_encode(q->sha256, SHA256_DIGEST_SIZE, hex);
		fputs("<li>", f);
		file_link(f, q);
		fputs(" <span class=\"size\">", f);
		size_human(f, q->length);
		fprintf(f, "</span> <code>%s</code></li>\n", hex);
	}
	fputs("</ul></td></tr>\n", f);
}

/* The size and SHA-256 cells of a file's row. */
static void html_size_sha(FILE *f, uint64_t length, const uint8_t sha256[SHA256_DIGEST_SIZE])
{
	char hex[SHA256_HEX_SIZE];

	hex_encode(sha256, SHA256_DIGEST_SIZE, hex);
	fputs("<td data-label=\"Size\" class=\"size\">", f);
	size_human(f, length);
	fprintf(f, "</td><td data-label=\"SHA-256\" class=\"sha\"><code>%s</code></td>", hex);
}

static void html_linux_row(FILE *f, const struct catalog_payload *p)
{
	fputs("<tr><td data-label=\"Name\"><a href=\"", f);
	url_path(f, p->path);
	fputs("\">", f);
	markup_escape(f, p->name);
	fputs("</a></td><td data-label=\"Version\">", f);
	markup_escape(f, p->version);
	fputs("</td>", f);
	html_size_sha(f, p->length, p->sha256);
	fputs("</tr>\n", f);
}

static void html_table(FILE *f, const struct catalog *c, const char *os, const char *profile)
{
	bool windows = streq(os, "windows");

	fprintf(f, "<section id=\"%s-", os);
	markup_escape(f, profile);
	fputs("\">\n<h3>", f);
	markup_escape(f, profile);
	fputs(windows ? "</h3>\n<table>\n<thead><tr><th>Package</th><th>Version</th>"
			"<th>Files (size, SHA-256)</th></tr></thead>\n<tbody>\n"
		      : "</h3>\n<table>\n<thead><tr><th>Name</th><th>Version</th><th>Size</th>"
			"<th>SHA-256</th></tr></thead>\n<tbody>\n",
	      f);
	for (size_t i = 0; i < c->n_payloads; i++) {
		const struct catalog_payload *p = &c->payloads[i];
		if (!wanted(p, os, profile))
			continue;
		if (!windows) {
			html_linux_row(f, p);
			continue;
		}
		bool seen = false; /* listed with an earlier file of its package */
		for (size_t j = 0; j < i && !seen; j++)
			seen = wanted(&c->payloads[j], os, profile) &&
			       same_package(&c->payloads[j], p);
		if (!seen)
			html_package_row(f, c, i, profile);
	}
	fputs("</tbody>\n</table>\n</section>\n", f);
}

/* A link to agent file name (suffix: "" or ".minisig"), named as its file. */
static void agent_link(FILE *f, const char *name, const char *suffix)
{
	fputs("<a href=\"" PORTAL_AGENT_DIR "/", f);
	url_path(f, name);
	fprintf(f, "%s\">", suffix);
	markup_escape(f, name);
	fprintf(f, "%s</a>", suffix);
}

/* The agent files, for a system without enlighten: one row each, with its
 * signature; minisign checks it, Get-FileHash where minisign is not at hand. */
static void html_agents(FILE *f, const struct publish *pb)
{
	if (pb->n_agents == 0)
		return;
	fputs("<section id=\"agent\">\n<h2>The agent</h2>\n"
	      "<p>For a system that does not have enlighten yet: the first-boot agent and "
	      "its packages. Each file is signed with the key above; check one with "
	      "minisign before installing it:</p>\n"
	      "<pre>minisign -Vm FILE -p " PUBKEY_FILE "</pre>\n"
	      "<p>On Windows, compare the file's SHA-256 in PowerShell with its row:</p>\n"
	      "<pre>Get-FileHash -Algorithm SHA256 .\\FILE</pre>\n"
	      "<table>\n<thead><tr><th>File</th><th>Size</th><th>SHA-256</th>"
	      "<th>Signature</th></tr></thead>\n<tbody>\n",
	      f);
	for (size_t i = 0; i < pb->n_agents; i++) {
		const struct portal_agent *a = &pb->agents[i];
		fputs("<tr><td data-label=\"File\">", f);
		agent_link(f, a->name, "");
		fputs("</td>", f);
		html_size_sha(f, a->length, a->sha256);
		fputs("<td data-label=\"Signature\">", f);
		agent_link(f, a->name, ".minisig");
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody>\n</table>\n</section>\n", f);
}

static char *html_content(const struct publish *pb, const struct catalog *c)
{
	static const struct {
		const char *os, *title;
	} oses[] = { { "linux", "Linux" }, { "windows", "Windows" } };
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	if (!f)
		return NULL;
	html_agents(f, pb);
	for (size_t k = 0; k < ELEMENTSOF(oses); k++) {
		_cleanup_strv_free_ char **profiles = NULL;
		for (size_t i = 0; i < c->n_payloads; i++)
			if (streq(c->payloads[i].os, oses[k].os))
				for (char **p = c->payloads[i].profiles; p && *p; p++)
					if (!strv_contains(profiles, *p) &&
					    strv_extend(&profiles, *p) < 0)
						goto fail;
		if (!profiles)
			continue;
		qsort(profiles, strv_length(profiles), sizeof(char *), strcmp_ptr);
		fprintf(f, "<section id=\"%s\">\n<h2>%s</h2>\n", oses[k].os, oses[k].title);
		html_install(f, pb, oses[k].os);
		for (char **p = profiles; p && *p; p++)
			html_table(f, c, oses[k].os, *p);
		fputs("</section>\n", f);
	}
	if (c->n_payloads == 0)
		fputs("<p>No payloads are published yet.</p>\n", f);
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
fail:
	fclose(f);
	free(s);
	return NULL;
}

/* Fills the template's placeholders; each value is escaped HTML already. */
static char *template_fill(const char *tpl, char *const *keys, char *const *values)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	if (!f)
		return NULL;
	for (const char *p = tpl; *p;) {
		const char *at = strchr(p, '@');
		if (!at) {
			fputs(p, f);
			break;
		}
		fwrite(p, 1, (size_t)(at - p), f);
		size_t i;
		for (i = 0; keys[i]; i++)
			if (startswith(at, keys[i]))
				break;
		if (keys[i]) {
			fputs(values[i], f);
			p = at + strlen(keys[i]);
		} else {
			fputc('@', f);
			p = at + 1;
		}
	}
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

static char *escaped(const char *s)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	if (!f)
		return NULL;
	markup_escape(f, s);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static int index_write(const struct publish *pb, const struct catalog *c)
{
	char **err = pb->err;
	_cleanup_free_ char *tpl = NULL, *content = NULL, *title = NULL, *page = NULL;
	char issued[21], expires[21], version[24], count[24];
	size_t len;
	int r;

	_cleanup_close_ int data = open(pb->datadir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (data < 0)
		return errmsg_errno(err, errno, "cannot open the data directory '%s': %m",
				    pb->datadir);
	r = fs_read_file_at(data, TEMPLATE_PATH, TEMPLATE_MAX, &tpl, &len);
	if (r < 0)
		return errmsg_errno(err, r, "cannot read the page template '%s/%s': %m",
				    pb->datadir, TEMPLATE_PATH);
	content = html_content(pb, c);
	title = escaped(pb->title);
	if (!content || !title)
		return errmsg_oom(err);
	(void)catalog_time_format(c->issued, issued);
	(void)catalog_time_format(c->expires, expires);
	snprintf(version, sizeof(version), "%" PRIu64, c->version);
	snprintf(count, sizeof(count), "%zu", c->n_payloads);
	char *keys[] = { "@TITLE@", "@VERSION@", "@ISSUED@",  "@EXPIRES@", "@COUNT@",
			 "@KEYID@", "@PUBKEY@",	 "@CONTENT@", NULL };
	char *values[] = {
		title,	 version, issued, expires, count, (char *)pb->key_id, (char *)PUBKEY_FILE,
		content, NULL
	};
	page = template_fill(tpl, keys, values);
	if (!page)
		return errmsg_oom(err);
	r = fs_write_file_atomic_at(pb->out_fd, "index.html", page, strlen(page), 0644);
	if (r < 0)
		return errmsg_errno(err, r, "cannot write '%s/index.html': %m", pb->out);
	return 0;
}

/* ---- the catalog --------------------------------------------------------- */

/* The portal's current catalog version, 0 when it has none. */
static int version_current(struct publish *pb, uint64_t *ret)
{
	char **err = pb->err;
	_cleanup_catalog_ struct catalog *old = NULL;
	_cleanup_free_ char *buf = NULL, *why = NULL;
	size_t len;

	int r = fs_read_file_at(pb->out_fd, CATALOG_FILE, CATALOG_MAX_SIZE, &buf, &len);
	if (r == -ENOENT) {
		*ret = 0;
		return 0;
	}
	if (r < 0)
		return errmsg_errno(err, r, "cannot read '%s/%s': %m", pb->out, CATALOG_FILE);
	r = catalog_parse(buf, len, &old, &why);
	if (r < 0)
		return errmsg_errno(err, r,
				    "'%s/%s' (the published catalog) does not parse, so its "
				    "version is unknown: %s",
				    pb->out, CATALOG_FILE, why ? why : strerror(-r));
	*ret = old->version;
	return 0;
}

static int time_issued(time_t *ret, char **err)
{
	if (source_date_epoch(ret) < 0)
		return errmsg_errno(err, EINVAL, "SOURCE_DATE_EPOCH '%s' is not a time in seconds",
				    getenv("SOURCE_DATE_EPOCH"));
	return 0;
}

static int catalog_sign(struct publish *pb, const struct minisign_seckey *sk, uint64_t version,
			time_t issued)
{
	char **err = pb->err;
	_cleanup_minisig_ struct minisign_sig *sig = NULL;
	_cleanup_free_ char *text = NULL;
	char trusted[128];
	int r;

	_cleanup_close_ int fd = fs_open_beneath(pb->out_fd, CATALOG_FILE, O_RDONLY, 0);
	if (fd < 0)
		return errmsg_errno(err, fd, "cannot open '%s/%s': %m", pb->out, CATALOG_FILE);
	snprintf(trusted, sizeof(trusted), "timestamp:%lld file:%s version:%" PRIu64,
		 (long long)issued, CATALOG_FILE, version);
	r = minisign_sign_fd(sk, fd, "signature from enlighten portal publish", trusted, &sig);
	if (r < 0)
		return errmsg_errno(err, r, "cannot sign the catalog: %m");
	r = minisign_sig_format(sig, &text);
	if (r < 0)
		return errmsg_oom(err);
	r = fs_write_file_atomic_at(pb->out_fd, CATALOG_SIG_FILE, text, strlen(text), 0644);
	if (r < 0)
		return errmsg_errno(err, r, "cannot write '%s/%s': %m", pb->out, CATALOG_SIG_FILE);

	/* the public key beside it, named on the page with its id */
	struct minisign_pubkey pk;
	_cleanup_free_ char *pub = NULL;
	minisign_seckey_public(sk, &pk);
	minisign_key_id_hex(pk.key_id, pb->key_id);
	if (minisign_pubkey_format(&pk, &pub) < 0)
		return errmsg_oom(err);
	r = fs_write_file_atomic_at(pb->out_fd, PUBKEY_FILE, pub, strlen(pub), 0644);
	if (r < 0)
		return errmsg_errno(err, r, "cannot write '%s/%s': %m", pb->out, PUBKEY_FILE);
	return 0;
}

int portal_publish(const struct publish_options *o, uint64_t *ret_version, size_t *ret_n,
		   char **reterr_msg)
{
	char **err = reterr_msg;
	struct publish pb = { .out = o->out,
			      .url = o->url,
			      .title = o->title ?: DEFAULT_TITLE,
			      .valid_days = o->valid_days,
			      .datadir = o->datadir,
			      .out_fd = -EBADF,
			      .err = reterr_msg };
	_cleanup_catalog_ struct catalog *c = NULL;
	uint64_t version = 0;
	time_t issued = 0;
	int r;

	if (mkdir(pb.out, 0755) < 0 && errno != EEXIST)
		return errmsg_errno(err, errno, "cannot create '%s': %m", pb.out);
	pb.out_fd = open(pb.out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pb.out_fd < 0)
		return errmsg_errno(err, errno, "cannot open '%s': %m", pb.out);
	_cleanup_close_ int out_fd_owner = pb.out_fd;

	r = version_current(&pb, &version);
	if (r >= 0)
		r = time_issued(&issued, reterr_msg);
	if (r < 0)
		return r;
	if (catalog_new(&c) < 0)
		return errmsg_oom(err);
	STRV_FOREACH(d, o->dirs)
	{
		r = payload_dir_add(&pb, *d, c);
		if (r < 0)
			return r;
	}
	c->version = version + 1;
	c->issued = issued;
	c->expires = issued + (time_t)(pb.valid_days * 86400);
	/* the agent files before the catalog: a refused one leaves the
	 * portal's catalog and page as they were */
	_cleanup_free_ char *why = NULL;
	r = portal_agents_add(pb.out_fd, o->agents, o->key, issued, &pb.agents, &pb.n_agents, &why);
	if (r < 0)
		return errmsg_errno(err, r, "%s", why ? why : strerror(-r));

	r = catalog_write_at(pb.out_fd, CATALOG_FILE, c);
	if (r < 0)
		errmsg_errno(err, r, "cannot write '%s/%s': %m", pb.out, CATALOG_FILE);
	if (r >= 0)
		r = catalog_sign(&pb, o->key, c->version, issued);
	if (r >= 0)
		r = index_write(&pb, c);
	portal_agents_free(pb.agents, pb.n_agents);
	if (r < 0)
		return r;
	*ret_version = c->version;
	*ret_n = c->n_payloads;
	return 0;
}
