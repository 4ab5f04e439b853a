/* SPDX-License-Identifier: ISC */
/*
 * test_fastpath.c - proto/'s shortcuts must give exactly what the general
 * code gives.  Requests without params ([0, id, "m", []]): the scanner and
 * parser vs the general walk and msgpack_unpack, for every msgid and method
 * encoding, split point, frame behind it, tight limit and near-miss shape.
 * The response head and sq_buf_write vs msgpack-c's own packing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "sq_proto.h"

/* [0, id, method, []] with the msgid encoded as tag (0: smallest form). */
static size_t plain(char *buf, uint32_t id, unsigned char tag, const char *method,
                    bool str8)
{
	size_t n = 0, m = strlen(method);
	buf[n++] = (char)0x94;
	buf[n++] = 0x00;
	if (tag == 0 && id < 128) {
		buf[n++] = (char)id;
	} else if (tag == 0xcc) {
		buf[n++] = (char)0xcc;
		buf[n++] = (char)id;
	} else if (tag == 0xcd) {
		buf[n++] = (char)0xcd;
		buf[n++] = (char)(id >> 8);
		buf[n++] = (char)id;
	} else {
		buf[n++] = (char)tag; /* 0xce or 0xcf (the latter left to the walk) */
		if (tag == 0xcf)
			for (int i = 0; i < 4; i++)
				buf[n++] = 0;
		buf[n++] = (char)(id >> 24);
		buf[n++] = (char)(id >> 16);
		buf[n++] = (char)(id >> 8);
		buf[n++] = (char)id;
	}
	if (str8) {
		buf[n++] = (char)0xd9;
		buf[n++] = (char)m;
	} else {
		buf[n++] = (char)(0xa0 | m);
	}
	memcpy(buf + n, method, m);
	n += m;
	buf[n++] = (char)0x90;
	return n;
}

/* What the general decoder makes of the frame. */
static void check_like_unpack(const char *buf, size_t n)
{
	msgpack_zone z;
	msgpack_object o;
	size_t off = 0;
	struct sq_msg m;
	const char *why;

	msgpack_zone_init(&z, 256);
	cr_assert_eq(msgpack_unpack(buf, n, &off, &z, &o), MSGPACK_UNPACK_SUCCESS);
	cr_assert_eq(off, n);
	cr_assert_eq(sq_msg_parse(buf, n, &z, &m, &why), 0);
	cr_assert_eq(m.type, SQ_MSG_REQUEST);
	cr_assert(m.has_msgid);
	cr_assert_eq(m.msgid, o.via.array.ptr[1].via.u64);
	cr_assert_eq(m.method_len, o.via.array.ptr[2].via.str.size);
	if (m.method_len) /* msgpack-c gives NULL for an empty str */
		cr_assert_eq(memcmp(m.method, o.via.array.ptr[2].via.str.ptr, m.method_len), 0);
	cr_assert_eq(m.params.type, MSGPACK_OBJECT_ARRAY);
	cr_assert_eq(m.params.via.array.size, 0);
	msgpack_zone_destroy(&z);
}

static void check_frame(const char *buf, size_t n)
{
	char two[128];
	size_t flen = 0;

	cr_assert_eq(sq_frame_scan(buf, n, &sq_default_limits, &flen), 0);
	cr_assert_eq(flen, n);
	for (size_t cut = 0; cut < n; cut++)
		cr_assert_eq(sq_frame_scan(buf, cut, &sq_default_limits, &flen), -EAGAIN,
		             "cut at %zu of %zu", cut, n);
	/* pipelined: the frame behind is not swallowed, a partial one neither */
	memcpy(two, buf, n);
	memcpy(two + n, buf, n);
	for (size_t extra = 0; extra <= n; extra++) {
		cr_assert_eq(sq_frame_scan(two, n + extra, &sq_default_limits, &flen), 0);
		cr_assert_eq(flen, n);
	}
	check_like_unpack(buf, n);
}

Test(plain, every_msgid_encoding_and_method_form)
{
	static const uint32_t ids[] = { 0, 1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX };
	static const char *const methods[] = { "", "sys.ping", "a.method.of.31.characters.long" };
	char buf[128];

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		for (size_t j = 0; j < 3; j++)
			for (int s8 = 0; s8 < 2; s8++) {
				uint32_t id = ids[i];
				unsigned char tag = id < 128 ? 0 : id < 256 ? 0xcc
				                  : id < 65536 ? 0xcd : 0xce;
				check_frame(buf, plain(buf, id, tag, methods[j], s8));
				/* wider than needed is still the same request */
				if (tag != 0xce)
					check_frame(buf, plain(buf, id, 0xce, methods[j], s8));
				check_frame(buf, plain(buf, id, 0xcf, methods[j], s8));
			}
}

Test(plain, tight_limits_still_refuse_it)
{
	char buf[64];
	size_t n = plain(buf, 1, 0, "sys.ping", false), flen;
	struct sq_limits l = sq_default_limits;

	l.max_msg = n - 1;
	cr_assert_eq(sq_frame_scan(buf, n, &l, &flen), -E2BIG);
	l.max_msg = n;
	cr_assert_eq(sq_frame_scan(buf, n, &l, &flen), 0);
	l = sq_default_limits;
	l.max_depth = 0;
	cr_assert_eq(sq_frame_scan(buf, n, &l, &flen), -E2BIG);
	l = sq_default_limits;
	l.max_elems = 3;
	cr_assert_eq(sq_frame_scan(buf, n, &l, &flen), -E2BIG);
	l = sq_default_limits;
	l.max_total = 4;
	cr_assert_eq(sq_frame_scan(buf, n, &l, &flen), -E2BIG);
	l.max_total = 5;
	cr_assert_eq(sq_frame_scan(buf, n, &l, &flen), 0);
}

Test(plain, near_misses_take_the_general_path)
{
	msgpack_zone z;
	struct sq_msg m;
	const char *why;
	size_t flen;
	msgpack_zone_init(&z, 256);

	/* params [nil]: a request with one params element */
	static const char one[] = "\x94\x00\x05\xa1x\x91\xc0";
	cr_assert_eq(sq_frame_scan(one, 7, &sq_default_limits, &flen), 0);
	cr_assert_eq(flen, 7);
	cr_assert_eq(sq_msg_parse(one, 7, &z, &m, &why), 0);
	cr_assert_eq(m.params.via.array.size, 1);

	/* a negative msgid is still refused, with its reason */
	static const char neg[] = "\x94\x00\xff\xa1x\x90";
	cr_assert_eq(sq_frame_scan(neg, 6, &sq_default_limits, &flen), 0);
	cr_assert_eq(sq_msg_parse(neg, 6, &z, &m, &why), -EPROTO);
	cr_assert_str_eq(why, "msgid must be an unsigned 32-bit integer");

	/* a method that is bin, not str: the general path, the same name */
	static const char bin[] = "\x94\x00\x05\xc4\x01x\x90";
	cr_assert_eq(sq_msg_parse(bin, 7, &z, &m, &why), 0);
	cr_assert_eq(m.method_len, 1);
	cr_assert_eq(m.method[0], 'x');

	/* a response and a notification of similar size */
	static const char resp[] = "\x94\x01\x05\xc0\x90";
	cr_assert_eq(sq_msg_parse(resp, 5, &z, &m, &why), 0);
	cr_assert_eq(m.type, SQ_MSG_RESPONSE);
	static const char note[] = "\x93\x02\xa1x\x90";
	cr_assert_eq(sq_msg_parse(note, 5, &z, &m, &why), 0);
	cr_assert_eq(m.type, SQ_MSG_NOTIFY);

	/* trailing bytes after a plain request are not one frame */
	static const char tail[] = "\x94\x00\x05\xa1x\x90\x01";
	cr_assert_eq(sq_msg_parse(tail, 7, &z, &m, &why), -EPROTO);
	msgpack_zone_destroy(&z);
}

/* The bytes msgpack-c's own calls make, one by one. */
static void ref_head(struct sq_buf *b, uint32_t id)
{
	msgpack_packer pk;
	sq_packer_init(&pk, b);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, SQ_MSG_RESPONSE);
	msgpack_pack_uint32(&pk, id);
	msgpack_pack_nil(&pk);
}

Test(head, response_head_is_what_msgpack_packs)
{
	static const uint32_t ids[] = { 0, 1, 127, 128, 200, 255, 256, 4660, 65535,
	                                65536, 0x123456, UINT32_MAX - 1, UINT32_MAX };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct sq_buf a, b;
		msgpack_packer pk;
		sq_buf_init(&a);
		sq_buf_init(&b);
		ref_head(&a, ids[i]);
		sq_packer_init(&pk, &b);
		sq_pack_response_head(&pk, ids[i]);
		cr_assert_eq(b.len, a.len, "msgid %u", ids[i]);
		cr_assert_eq(memcmp(a.data, b.data, a.len), 0, "msgid %u", ids[i]);
		sq_buf_free(&a);
		sq_buf_free(&b);
	}
}

Test(head, byte_writes_grow_the_buffer)
{
	struct sq_buf b;
	sq_buf_init(&b);
	for (int i = 0; i < 5000; i++) {
		char c = (char)(i * 7);
		cr_assert_eq(sq_buf_write(&b, &c, 1), 0);
		cr_assert_eq(sq_buf_write(&b, "xy", i % 3 == 0 ? 2 : 0), 0);
	}
	size_t at = 0;
	for (int i = 0; i < 5000; i++) {
		cr_assert_eq(b.data[at++], (char)(i * 7), "byte %d", i);
		if (i % 3 == 0) {
			cr_assert_eq(memcmp(b.data + at, "xy", 2), 0);
			at += 2;
		}
	}
	cr_assert_eq(at, b.len);
	cr_assert_leq(b.len, b.cap);
	sq_buf_free(&b);
}
