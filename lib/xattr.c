/* SPDX-License-Identifier: ISC */
/*
 * xattr.c - the portable half of sq_xattr.h: open once, read a whole value
 * or name list whatever its size, close.  The per-OS files only wrap the
 * descriptor calls.
 */
#include <errno.h>
#include <stdlib.h>

#include "sq_xattr.h"

#define READ_TRIES 4

void sq_xattr_buf_free(struct sq_xattr_buf *b)
{
	free(b->heap);
	b->heap = NULL;
	b->data = b->inline_buf;
	b->len = 0;
}

static ssize_t rd(const struct sq_xattr_file *f, const char *name, void *buf, size_t size)
{
	return name ? sq_xattr_fget(f, name, buf, size) : sq_xattr_flist(f, buf, size);
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* The value of name (the name list when name is NULL) into b. */
/* Reading: first into the 4 KiB inline buffer (most values are small, and
 * Linux allocates and zeroes as much kernel memory as the caller offers);
 * on ERANGE once more with 64 KiB, which holds anything Linux can store;
 * only beyond that (macOS) is the size asked for, with headroom, a few
 * times over if the value keeps growing meanwhile. */
static int read_all(const struct sq_xattr_file *f, const char *name, size_t max,
                    struct sq_xattr_buf *b)
{
	ssize_t n = rd(f, name, b->inline_buf, sizeof(b->inline_buf));
	if (n >= 0) {
		if ((size_t)n > max)
			return -E2BIG;
		b->len = (size_t)n;
		return 0;
	}
	if (n != -ERANGE)
		return (int)n;
	if (max <= sizeof(b->inline_buf))
		return -E2BIG;

	size_t want = min_size(SQ_XATTR_LINUX_MAX, max);
	for (int i = 0; i < READ_TRIES; i++) {
		char *p = realloc(b->heap, want);
		if (!p)
			return -ENOMEM;
		b->heap = p;
		n = rd(f, name, p, want);
		if (n >= 0) {
			b->data = p;
			b->len = (size_t)n;
			return 0;
		}
		if (n != -ERANGE)
			return (int)n;
		ssize_t need = rd(f, name, NULL, 0);
		if (need < 0)
			return (int)need;
		if ((size_t)need > max)
			return -E2BIG;
		/* it grew since: room for some more growth */
		want = min_size((size_t)need + (size_t)need / 4 + 256, max);
	}
	return -EAGAIN; /* it kept growing faster than we could read it */
}

static void buf_init(struct sq_xattr_buf *b)
{
	b->data = b->inline_buf;
	b->len = 0;
	b->heap = NULL;
}

int sq_xattr_get(const char *path, const char *name, int flags, size_t max,
                 struct sq_xattr_buf *out)
{
	struct sq_xattr_file f;
	buf_init(out);
	int rc = sq_xattr_open(&f, path, flags & ~SQ_XATTR_WRITE);
	if (rc < 0)
		return rc;
	rc = read_all(&f, name, max, out);
	sq_xattr_close(&f);
	if (rc < 0)
		sq_xattr_buf_free(out);
	return rc;
}

int sq_xattr_list(const char *path, int flags, size_t max, struct sq_xattr_buf *out)
{
	return sq_xattr_get(path, NULL, flags, max, out);
}

int sq_xattr_set(const char *path, const char *name, const void *value, size_t len,
                 enum sq_xattr_mode mode, int flags)
{
	struct sq_xattr_file f;
	int rc = sq_xattr_open(&f, path, flags | SQ_XATTR_WRITE);
	if (rc < 0)
		return rc;
	rc = sq_xattr_fset(&f, name, value, len, mode);
	sq_xattr_close(&f);
	return rc;
}

int sq_xattr_remove(const char *path, const char *name, int flags)
{
	struct sq_xattr_file f;
	int rc = sq_xattr_open(&f, path, flags | SQ_XATTR_WRITE);
	if (rc < 0)
		return rc;
	rc = sq_xattr_fremove(&f, name);
	sq_xattr_close(&f);
	return rc;
}
