/* SPDX-License-Identifier: MIT */
/*
 * manifest.c - the build manifest as JSON (see manifest.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <stdlib.h>

#include "builder/image/manifest.h"
#include "lib/basic/json.h"
#include "lib/basic/macro.h"
#include "lib/basic/string-util.h"

struct manifest {
	json_object *root, *inputs, *artefacts, *partitions;
	json_object *contents; /* in root once the first is added */
};

static json_object *hex_sha(const uint8_t sha[SHA256_DIGEST_SIZE])
{
	char hex[SHA256_HEX_SIZE];
	hex_encode(sha, SHA256_DIGEST_SIZE, hex);
	return json_object_new_string(hex);
}

int manifest_new(const char *image, const char *recipe,
		 const uint8_t recipe_sha[SHA256_DIGEST_SIZE], int64_t source_date_epoch,
		 struct manifest **ret)
{
	struct manifest *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->root = json_object_new_object();
	m->inputs = json_object_new_array();
	m->artefacts = json_object_new_array();
	m->partitions = json_object_new_array();
	json_object *r = json_object_new_object();
	if (!m->root || !m->inputs || !m->artefacts || !m->partitions || !r) {
		json_object_put(r);
		json_object_put(m->inputs);
		json_object_put(m->artefacts);
		json_object_put(m->partitions);
		manifest_free(m);
		return -ENOMEM;
	}
	json_object_object_add(r, "file", json_object_new_string(recipe));
	json_object_object_add(r, "sha256", hex_sha(recipe_sha));
	json_object_object_add(m->root, "schema", json_object_new_int(2));
	json_object_object_add(m->root, "image", json_object_new_string(image));
	json_object_object_add(m->root, "tool", json_object_new_string("enlighten"));
	json_object_object_add(m->root, "version", json_object_new_string(VERSION));
	json_object_object_add(m->root, "source_date_epoch",
			       json_object_new_int64(source_date_epoch));
	json_object_object_add(m->root, "recipe", r);
	json_object_object_add(m->root, "inputs", m->inputs);
	json_object_object_add(m->root, "artefacts", m->artefacts);
	json_object_object_add(m->root, "partitions", m->partitions);
	*ret = m;
	return 0;
}

void manifest_free(struct manifest *m)
{
	if (!m)
		return;
	json_object_put(m->root);
	free(m);
}

int manifest_add_input(struct manifest *m, const char *role, const char *name,
		       const uint8_t sha[SHA256_DIGEST_SIZE], uint64_t size)
{
	json_object *o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "role", json_object_new_string(role));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(o, "sha256", hex_sha(sha));
	json_object_array_add(m->inputs, o);
	return 0;
}

int manifest_add_content(struct manifest *m, const char *path,
			 const uint8_t sha[SHA256_DIGEST_SIZE], uint64_t size)
{
	if (!m->contents) {
		m->contents = json_object_new_array();
		if (!m->contents)
			return -ENOMEM;
		json_object_object_add(m->root, "contents", m->contents);
	}
	json_object *o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(o, "sha256", hex_sha(sha));
	json_object_array_add(m->contents, o);
	return 0;
}

int manifest_add_artefact(struct manifest *m, const char *file, const char *format, uint64_t size,
			  const uint8_t sha[SHA256_DIGEST_SIZE])
{
	json_object *o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "file", json_object_new_string(file));
	json_object_object_add(o, "format", json_object_new_string(format));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(o, "sha256", hex_sha(sha));
	json_object_array_add(m->artefacts, o);
	return 0;
}

int manifest_add_raw(struct manifest *m, const char *file, uint64_t size, const char *bmap,
		     uint64_t mapped)
{
	json_object *o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "file", json_object_new_string(file));
	json_object_object_add(o, "format", json_object_new_string("raw"));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(o, "mapped", json_object_new_int64((int64_t)mapped));
	json_object_object_add(o, "bmap", json_object_new_string(bmap));
	json_object_array_add(m->artefacts, o);
	return 0;
}

int manifest_add_partition(struct manifest *m, const struct image_slot *s, const char *fs)
{
	json_object *o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "name", json_object_new_string(s->name));
	json_object_object_add(o, "type", json_object_new_string(s->type));
	json_object_object_add(o, "partuuid", json_object_new_string(s->uuid));
	json_object_object_add(o, "filesystem", json_object_new_string(fs));
	json_object_object_add(o, "offset", json_object_new_int64((int64_t)s->offset));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)s->size));
	json_object_array_add(m->partitions, o);
	return 0;
}

int manifest_set_disk(struct manifest *m, const char *disk_uuid, uint64_t size)
{
	json_object_object_add(m->root, "disk_uuid", json_object_new_string(disk_uuid));
	json_object_object_add(m->root, "disk_size", json_object_new_int64((int64_t)size));
	return 0;
}

int manifest_write(struct manifest *m, int dir_fd, const char *path)
{
	return json_write_file_atomic_at(dir_fd, path, m->root, 0644);
}

#define HASH_CHUNK (1 << 20)

static int hash_zeros(struct sha256 *h, const uint8_t *zeros, uint64_t n)
{
	while (n > 0) {
		size_t k = n > HASH_CHUNK ? HASH_CHUNK : (size_t)n;
		int r = sha256_update(h, zeros, k);
		if (r < 0)
			return r;
		n -= k;
	}
	return 0;
}

int sha256_sparse_fd(int fd, uint8_t out[SHA256_DIGEST_SIZE], uint64_t *ret_size)
{
	_cleanup_sha256_ struct sha256 *h = NULL;
	_cleanup_free_ uint8_t *buf = malloc(HASH_CHUNK), *zeros = calloc(1, HASH_CHUNK);
	struct stat st;
	int r;

	if (!buf || !zeros)
		return -ENOMEM;
	if (fstat(fd, &st) < 0)
		return -errno;
	r = sha256_new(&h);
	if (r < 0)
		return r;
	uint64_t size = (uint64_t)st.st_size, off = 0;
	while (off < size) {
		off_t data = lseek(fd, (off_t)off, SEEK_DATA);
		if (data < 0 && errno == ENXIO) /* only a hole up to the end */
			data = (off_t)size;
		else if (data < 0) /* no SEEK_DATA here: read everything */
			data = (off_t)off;
		r = hash_zeros(h, zeros, (uint64_t)data - off);
		if (r < 0)
			return r;
		off = (uint64_t)data;
		if (off >= size)
			break;
		off_t hole = lseek(fd, (off_t)off, SEEK_HOLE);
		uint64_t end = hole < 0 ? size : MIN((uint64_t)hole, size);
		while (off < end) {
			size_t want = end - off > HASH_CHUNK ? HASH_CHUNK : (size_t)(end - off);
			ssize_t k = pread(fd, buf, want, (off_t)off);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return -errno;
			if (k == 0)
				return -EIO; /* the file shrank under us */
			r = sha256_update(h, buf, (size_t)k);
			if (r < 0)
				return r;
			off += (uint64_t)k;
		}
	}
	r = sha256_final(h, out);
	if (r < 0)
		return r;
	if (ret_size)
		*ret_size = size;
	return 0;
}
