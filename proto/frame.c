/* SPDX-License-Identifier: ISC */
/*
 * frame.c - the bounded msgpack frame scanner.
 *
 * Walks the bytes of one msgpack object iteratively, checking every length
 * prefix and count against sq_limits before anything is allocated.  A claim
 * of 4 GiB or 100,000 levels of nesting is refused from its header alone.
 */
#include <errno.h>
#include <string.h>

#include "plain_req.h"
#include "sq_proto.h"

const struct sq_limits sq_default_limits = {
	.max_msg = SQ_DEFAULT_MAX_MSG,
	.max_depth = SQ_DEFAULT_MAX_DEPTH,
	.max_elems = SQ_DEFAULT_MAX_ELEMS,
	.max_total = SQ_DEFAULT_MAX_TOTAL,
};

static uint64_t be(const unsigned char *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Byte layout of one header: fixed header size, width of a length field that
 * follows the tag (0: none), and whether the length counts payload bytes or
 * child objects (1 per array element, 2 per map pair). */
struct hdr {
	unsigned size;     /* header bytes, including any length field */
	unsigned lenw;     /* width of the big-endian length field */
	unsigned children; /* 0 payload, 1 array, 2 map */
	uint64_t payload;  /* payload bytes, or fixed child count */
};

static int classify(unsigned char b, struct hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->size = 1;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return 0;
	if (b >= 0x80 && b <= 0x8f) { h->children = 2; h->payload = b & 0x0f; return 0; }
	if (b >= 0x90 && b <= 0x9f) { h->children = 1; h->payload = b & 0x0f; return 0; }
	if (b >= 0xa0 && b <= 0xbf) { h->payload = b & 0x1f; return 0; }
	switch (b) {
	case 0xc4: case 0xd9: h->lenw = 1; break;            /* bin8, str8 */
	case 0xc5: case 0xda: h->lenw = 2; break;            /* bin16, str16 */
	case 0xc6: case 0xdb: h->lenw = 4; break;            /* bin32, str32 */
	case 0xc7: h->lenw = 1; h->size = 1; h->payload = 1; break; /* ext8: +type */
	case 0xc8: h->lenw = 2; h->payload = 1; break;
	case 0xc9: h->lenw = 4; h->payload = 1; break;
	case 0xca: h->payload = 4; break;                    /* float32 */
	case 0xcb: h->payload = 8; break;                    /* float64 */
	case 0xcc: case 0xd0: h->payload = 1; break;
	case 0xcd: case 0xd1: h->payload = 2; break;
	case 0xce: case 0xd2: h->payload = 4; break;
	case 0xcf: case 0xd3: h->payload = 8; break;
	case 0xd4: h->payload = 2; break;                    /* fixext 1..16: type + data */
	case 0xd5: h->payload = 3; break;
	case 0xd6: h->payload = 5; break;
	case 0xd7: h->payload = 9; break;
	case 0xd8: h->payload = 17; break;
	case 0xdc: h->lenw = 2; h->children = 1; break;      /* array16 */
	case 0xdd: h->lenw = 4; h->children = 1; break;      /* array32 */
	case 0xde: h->lenw = 2; h->children = 2; break;      /* map16 */
	case 0xdf: h->lenw = 4; h->children = 2; break;      /* map32 */
	default: return -EPROTO;                             /* 0xc1: never used */
	}
	h->size += h->lenw;
	return 0;
}

void sq_frame_scanner_init(struct sq_frame_scanner *st)
{
	st->pos = 0;
	st->depth = 0;
	st->total = 0;
	st->remaining[0] = 1;
}

/*
 * The walk keeps all of its position in *st and commits a step only once the
 * bytes it needs are present, so a frame arriving a byte at a time costs
 * O(frame) in total, not O(frame^2).  A scalar's payload is skipped without
 * being read, so it is committed at once and checked for presence later.
 */
int sq_frame_scan_resume(struct sq_frame_scanner *st, const char *buf, size_t len,
                         const struct sq_limits *lim, size_t *frame_len)
{
	const unsigned char *p = (const unsigned char *)buf;
	unsigned max_depth = lim->max_depth < SQ_MAX_DEPTH_LIMIT ? lim->max_depth
	                                                         : SQ_MAX_DEPTH_LIMIT;
	/* [0, msgid, "method", []]: 5 objects, depth 1, 4 elements; the walk
	 * below would accept it whole whenever the limits allow those */
	if (st->pos == 0 && st->total == 0) {
		uint32_t id, mlen;
		const char *meth;
		size_t plain = sq_plain_request(buf, len, &id, &meth, &mlen);
		if (plain && plain <= lim->max_msg && lim->max_depth >= 1 &&
		    lim->max_elems >= 4 && lim->max_total >= 5) {
			*frame_len = plain;
			return 0;
		}
	}
	for (;;) {
		if (st->pos > len)
			return -EAGAIN; /* the last payload is not all here yet */
		while (st->remaining[st->depth] == 0) {
			if (st->depth == 0) {
				*frame_len = st->pos;
				return 0;
			}
			st->depth--;
		}
		size_t pos = st->pos;
		if (pos >= len)
			return pos >= lim->max_msg ? -E2BIG : -EAGAIN;
		struct hdr h;
		unsigned char b = p[pos];
		if (b <= 0x7f || b >= 0xe0 || (b >= 0xa0 && b <= 0xbf) || b == 0xc0 ||
		    b == 0xc2 || b == 0xc3) {
			/* the most common tags (fixint, fixstr, nil, bool): a scalar
			 * whose size the tag alone gives, without classify */
			h.size = 1;
			h.lenw = 0;
			h.children = 0;
			h.payload = b >= 0xa0 && b <= 0xbf ? b & 0x1fu : 0;
		} else if (classify(b, &h) < 0) {
			return -EPROTO;
		}
		if ((uint64_t)pos + h.size > lim->max_msg)
			return -E2BIG;
		if (pos + h.size > len)
			return -EAGAIN;

		uint64_t n = h.payload;
		if (h.lenw)
			n = be(p + pos + 1, h.lenw) + (h.children ? 0 : h.payload);
		pos += h.size;

		if (h.children == 0) {
			if ((uint64_t)pos + n > lim->max_msg || st->total + 1 > lim->max_total)
				return -E2BIG;
			st->total++;
			st->remaining[st->depth]--;
			st->pos = pos + (size_t)n;
			continue;
		}
		/* a container: every child needs at least one byte */
		uint64_t kids = n * h.children;
		if (n > lim->max_elems || (uint64_t)pos + kids > lim->max_msg ||
		    st->total + 1 > lim->max_total)
			return -E2BIG;
		if (kids && st->depth + 1 > max_depth)
			return -E2BIG;
		st->total++;
		st->remaining[st->depth]--;
		st->pos = pos;
		if (kids)
			st->remaining[++st->depth] = kids;
	}
}

int sq_frame_scan(const char *buf, size_t len, const struct sq_limits *lim,
                  size_t *frame_len)
{
	struct sq_frame_scanner st;
	sq_frame_scanner_init(&st);
	return sq_frame_scan_resume(&st, buf, len, lim, frame_len);
}
