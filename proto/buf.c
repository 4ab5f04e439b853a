/* SPDX-License-Identifier: ISC */
/*
 * buf.c - sq_buf, the growable byte buffer behind every encoder and the
 * daemon's per-connection output.  Doubling growth, front consumption by
 * memmove (buffers are drained whole in the common case).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sq_proto.h"

void sq_buf_init(struct sq_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void sq_buf_free(struct sq_buf *b)
{
	free(b->data);
	sq_buf_init(b);
}

int sq_buf_reserve(struct sq_buf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return 0;
	size_t want = b->len + extra;
	if (want < b->len)
		return -ENOMEM;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < want) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	char *p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int sq_buf_append(struct sq_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (b->cap - b->len < n) {
		int rc = sq_buf_reserve(b, n);
		if (rc < 0)
			return rc;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void sq_buf_consume(struct sq_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

int sq_buf_write(void *data, const char *buf, size_t len)
{
	struct sq_buf *b = data;
	/* the packer writes a byte or a few at a time: do those in place */
	if (len == 1 && b->len < b->cap) {
		b->data[b->len++] = buf[0];
		return 0;
	}
	return sq_buf_append(b, buf, len) == 0 ? 0 : -1;
}

void sq_packer_init(msgpack_packer *pk, struct sq_buf *b)
{
	msgpack_packer_init(pk, b, sq_buf_write);
}
