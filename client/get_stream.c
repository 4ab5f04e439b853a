/* SPDX-License-Identifier: ISC */
/*
 * get_stream.c - sysq get reads its connection itself rather than through
 * sysq_read: a file.data header is recognised as soon as its bytes are in
 * (peeked at, so that no payload byte is taken with it), and the bin
 * payload after it is left on the socket for the caller to splice or copy,
 * exactly blen bytes.  Every other message is cut whole with the bounded
 * frame scanner and parsed as libsysq does.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "get_stream.h"

/* The most bytes peeked at to find a header (its usual size is ~30). */
#define HEAD_PEEK 128

void gs_init(struct gstream *s, int fd, uint32_t id)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->id = id;
	sq_buf_init(&s->in);
	sq_buf_init(&s->frame);
	msgpack_zone_init(&s->zone, 4096);
	s->lim = sq_default_limits;
	s->lim.max_msg = 256u << 20; /* as libsysq */
	s->lim.max_elems = 1u << 24;
	s->lim.max_total = 1u << 26;
	s->lim.max_depth = SQ_MAX_DEPTH_LIMIT;
}

void gs_free(struct gstream *s)
{
	sq_buf_free(&s->in);
	sq_buf_free(&s->frame);
	msgpack_zone_destroy(&s->zone);
}

/* ---- the file.data header ------------------------------------------------------------- */

struct cur {
	const unsigned char *p, *end;
	bool short_;   /* ran out of bytes */
};

static uint64_t take(struct cur *c, size_t n)
{
	if ((size_t)(c->end - c->p) < n) {
		c->short_ = true;
		c->p = c->end;
		return 0;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | *c->p++;
	return v;
}

/* A str header's length, or -1 when the next object is not a str. */
static int64_t str_len(struct cur *c)
{
	unsigned t = (unsigned)take(c, 1);
	if (c->short_)
		return -1;
	if ((t & 0xe0) == 0xa0)
		return t & 0x1f;
	if (t == 0xd9 || t == 0xda || t == 0xdb)
		return (int64_t)take(c, (size_t)1 << (t - 0xd9));
	return -1;
}

/* The str at c equals s (len n); consumes it. */
static bool str_is(struct cur *c, const char *s, size_t n)
{
	int64_t len = str_len(c);
	if (len < 0 || c->short_)
		return false;
	if ((size_t)(c->end - c->p) < (uint64_t)len) {
		c->short_ = true;
		return false;
	}
	bool eq = (uint64_t)len == n && memcmp(c->p, s, n) == 0;
	c->p += len;
	return eq;
}

/* An array or map header's count, for the given fix range base (0x90 or
 * 0x80) and 16/32 type bytes; -1 when the object is something else. */
static int64_t count(struct cur *c, unsigned fix, unsigned t16)
{
	unsigned t = (unsigned)take(c, 1);
	if (c->short_)
		return -1;
	if ((t & 0xf0) == fix)
		return t & 0x0f;
	if (t == t16 || t == t16 + 1)
		return (int64_t)take(c, t == t16 ? 2 : 4);
	return -1;
}

/* Skip a scalar value (nil, bool, numbers, str, bin); false for anything
 * else (this reader does not cut containers or extensions). */
static bool skip_scalar(struct cur *c)
{
	unsigned t = (unsigned)take(c, 1);
	if (c->short_)
		return false;
	if (t < 0x80 || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
		return true;
	uint64_t n;
	switch (t) {
	case 0xcc: case 0xd0: n = 1; break;
	case 0xcd: case 0xd1: n = 2; break;
	case 0xce: case 0xd2: case 0xca: n = 4; break;
	case 0xcf: case 0xd3: case 0xcb: n = 8; break;
	case 0xd9: case 0xc4: n = take(c, 1); break;
	case 0xda: case 0xc5: n = take(c, 2); break;
	case 0xdb: case 0xc6: n = take(c, 4); break;
	default:
		if ((t & 0xe0) == 0xa0) {
			n = t & 0x1f;
			break;
		}
		return false;
	}
	if (c->short_ || (uint64_t)(c->end - c->p) < n) {
		c->short_ = true;
		return false;
	}
	c->p += n;
	return true;
}

int gs_data_head(const unsigned char *buf, size_t len, uint32_t id, size_t *hlen,
                 uint64_t *blen)
{
	struct cur c = { buf, buf + len, false };
#define NEED(cond) do { bool ok_ = (cond); if (c.short_) return -EAGAIN; if (!ok_) return 0; } while (0)
	NEED(take(&c, 1) == 0x93);
	NEED(take(&c, 1) == SQ_MSG_NOTIFY);
	NEED(str_is(&c, "file.data", 9));
	NEED(count(&c, 0x90, 0xdc) == 1);
	int64_t n = count(&c, 0x80, 0xde);
	NEED(n > 0);
	bool ours = false;
	for (int64_t i = 0; i < n; i++) {
		int64_t klen = str_len(&c);
		NEED(klen >= 0 && klen <= 16);
		if ((size_t)(c.end - c.p) < (size_t)klen)
			return -EAGAIN;
		const unsigned char *key = c.p;
		c.p += klen;
		if (klen == 4 && memcmp(key, "data", 4) == 0) {
			NEED(i == n - 1 && ours);  /* the bin last: the payload follows */
			unsigned t = (unsigned)take(&c, 1);
			NEED(t == 0xc4 || t == 0xc5 || t == 0xc6);
			uint64_t b = take(&c, (size_t)1 << (t - 0xc4));
			NEED(true);
			*hlen = (size_t)(c.p - buf);
			*blen = b;
			return 1;
		}
		if (klen == 5 && memcmp(key, "msgid", 5) == 0) {
			unsigned t = (unsigned)take(&c, 1);
			uint64_t v = t < 0x80 ? t : t >= 0xcc && t <= 0xcf
			             ? take(&c, (size_t)1 << (t - 0xcc)) : UINT64_MAX;
			NEED(v == id);
			ours = true;
			continue;
		}
		NEED(skip_scalar(&c));
	}
	return 0;
#undef NEED
}

/* ---- reading -------------------------------------------------------------------------- */

size_t gs_buffered(const struct gstream *s, uint64_t max, const char **p)
{
	size_t have = s->in.len - s->in_pos;
	*p = s->in.data + s->in_pos;
	return have < max ? have : (size_t)max;
}

void gs_consume(struct gstream *s, size_t n)
{
	s->in_pos += n;
	if (s->in_pos == s->in.len)
		s->in.len = s->in_pos = 0;
}

/* Make room for at least want more bytes after the unused ones. */
static int room(struct gstream *s, size_t want)
{
	if (s->in_pos) {
		memmove(s->in.data, s->in.data + s->in_pos, s->in.len - s->in_pos);
		s->in.len -= s->in_pos;
		s->in_pos = 0;
	}
	return sq_buf_reserve(&s->in, want);
}

/* The header is on the socket after the buffered bytes: take exactly it. */
static int take_head(struct gstream *s, size_t hlen)
{
	size_t have = s->in.len - s->in_pos;
	while (have < hlen) {
		ssize_t k = recv(s->fd, s->in.data + s->in.len, hlen - have, MSG_WAITALL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -ECONNRESET;
		s->in.len += (size_t)k;
		have += (size_t)k;
	}
	gs_consume(s, hlen);
	return 0;
}

static int whole_message(struct gstream *s, size_t flen, struct sq_msg *m)
{
	s->frame.len = 0;
	if (sq_buf_append(&s->frame, s->in.data + s->in_pos, flen) < 0)
		return -ENOMEM;
	gs_consume(s, flen);
	msgpack_zone_clear(&s->zone);
	const char *why;
	if (sq_msg_parse(s->frame.data, flen, &s->zone, m, &why) < 0 ||
	    m->type == SQ_MSG_REQUEST)
		return -EPROTO;
	return GS_MESSAGE;
}

int gs_next(struct gstream *s, struct sq_msg *m, uint64_t *payload)
{
	for (;;) {
		const unsigned char *p = (const unsigned char *)s->in.data + s->in_pos;
		size_t have = s->in.len - s->in_pos, hlen, flen;
		int h = have ? gs_data_head(p, have, s->id, &hlen, payload) : -EAGAIN;
		if (h == 1) {
			gs_consume(s, hlen);
			return GS_DATA;
		}
		if (have) {
			int rc = sq_frame_scan((const char *)p, have, &s->lim, &flen);
			if (rc == 0)
				return whole_message(s, flen, m);
			if (rc != -EAGAIN)
				return rc;
		}
		if (room(s, 65536) < 0)
			return -ENOMEM;
		if (h == -EAGAIN && have < HEAD_PEEK) {
			/* look without taking: a payload byte must stay on the socket */
			ssize_t k = recv(s->fd, s->in.data + s->in.len, HEAD_PEEK - have, MSG_PEEK);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return k < 0 ? -errno : -ECONNRESET;
			h = gs_data_head((const unsigned char *)s->in.data, have + (size_t)k, s->id,
			                 &hlen, payload);
			if (h == 1) {
				int rc = take_head(s, hlen);
				return rc < 0 ? rc : GS_DATA;
			}
		}
		/* something else, or a header cut in pieces: read on */
		ssize_t k = recv(s->fd, s->in.data + s->in.len, s->in.cap - s->in.len, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -ECONNRESET;
		s->in.len += (size_t)k;
	}
}
