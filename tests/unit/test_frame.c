/* SPDX-License-Identifier: ISC */
/*
 * test_frame.c - the bounded frame scanner: complete and partial frames,
 * every split point, and hostile headers (huge length prefixes, deep
 * nesting, oversized counts, the never-used 0xc1 byte).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "sq_proto.h"

static size_t pack_request(char *buf, size_t cap, uint32_t id, const char *method)
{
	struct sq_buf b;
	msgpack_packer pk;
	sq_buf_init(&b);
	sq_packer_init(&pk, &b);
	sq_pack_request_head(&pk, id, method);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	sq_pack_kv_str(&pk, "path", "/tmp/x y");
	sq_pack_cstr(&pk, "list");
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int64(&pk, -5);
	msgpack_pack_double(&pk, 1.5);
	msgpack_pack_bin_with_body(&pk, "\0\1\2", 3);
	cr_assert_leq(b.len, cap);
	memcpy(buf, b.data, b.len);
	size_t n = b.len;
	sq_buf_free(&b);
	return n;
}

Test(frame, complete_frame_is_found_exactly)
{
	char buf[256];
	size_t n = pack_request(buf, sizeof(buf), 7, "xattr.get");
	size_t flen = 0;
	cr_assert_eq(sq_frame_scan(buf, n, &sq_default_limits, &flen), 0);
	cr_assert_eq(flen, n);
	/* a second frame behind it is not swallowed */
	memcpy(buf + n, buf, n);
	cr_assert_eq(sq_frame_scan(buf, 2 * n, &sq_default_limits, &flen), 0);
	cr_assert_eq(flen, n);
}

Test(frame, every_prefix_needs_more)
{
	char buf[256];
	size_t n = pack_request(buf, sizeof(buf), 300, "sys.ping");
	for (size_t cut = 0; cut < n; cut++) {
		size_t flen;
		cr_assert_eq(sq_frame_scan(buf, cut, &sq_default_limits, &flen), -EAGAIN,
		             "cut at %zu", cut);
	}
}

Test(frame, huge_length_prefixes_are_refused_from_the_header)
{
	size_t flen;
	/* str32 claiming 4 GiB, with 5 bytes present */
	const char str32[] = "\xdb\xff\xff\xff\xff";
	cr_assert_eq(sq_frame_scan(str32, 5, &sq_default_limits, &flen), -E2BIG);
	/* bin32 */
	const char bin32[] = "\xc6\xff\xff\xff\xf0";
	cr_assert_eq(sq_frame_scan(bin32, 5, &sq_default_limits, &flen), -E2BIG);
	/* array32 claiming 4 billion elements */
	const char arr32[] = "\xdd\xff\xff\xff\xff";
	cr_assert_eq(sq_frame_scan(arr32, 5, &sq_default_limits, &flen), -E2BIG);
	/* map32 */
	const char map32[] = "\xdf\x7f\xff\xff\xff";
	cr_assert_eq(sq_frame_scan(map32, 5, &sq_default_limits, &flen), -E2BIG);
	/* ext32 */
	const char ext32[] = "\xc9\xff\xff\xff\xff\x01";
	cr_assert_eq(sq_frame_scan(ext32, 6, &sq_default_limits, &flen), -E2BIG);
}

Test(frame, deep_nesting_is_refused_without_recursion)
{
	static char deep[100000];
	memset(deep, 0x91, sizeof(deep)); /* [[[[...]]]] 100,000 levels */
	size_t flen;
	cr_assert_eq(sq_frame_scan(deep, sizeof(deep), &sq_default_limits, &flen), -E2BIG);
	/* exactly at the limit is fine */
	char ok[SQ_DEFAULT_MAX_DEPTH + 1];
	memset(ok, 0x91, SQ_DEFAULT_MAX_DEPTH);
	ok[SQ_DEFAULT_MAX_DEPTH - 1] = (char)0x90; /* innermost is empty */
	cr_assert_eq(sq_frame_scan(ok, SQ_DEFAULT_MAX_DEPTH, &sq_default_limits, &flen), 0);
	cr_assert_eq(flen, SQ_DEFAULT_MAX_DEPTH);
}

Test(frame, message_size_limit_counts_whole_frame)
{
	struct sq_limits lim = sq_default_limits;
	lim.max_msg = 16;
	char buf[64];
	buf[0] = (char)0xd9; /* str8 of 20 bytes: 22 > 16 */
	buf[1] = 20;
	memset(buf + 2, 'a', 20);
	size_t flen;
	cr_assert_eq(sq_frame_scan(buf, 2, &lim, &flen), -E2BIG);
	buf[1] = 14; /* 16 bytes total: allowed */
	cr_assert_eq(sq_frame_scan(buf, 16, &lim, &flen), 0);
	cr_assert_eq(flen, 16);
}

Test(frame, element_and_object_counts_are_bounded)
{
	struct sq_limits lim = sq_default_limits;
	lim.max_elems = 4;
	const char arr5[] = "\x95\x01\x02\x03\x04\x05";
	size_t flen;
	cr_assert_eq(sq_frame_scan(arr5, 6, &lim, &flen), -E2BIG);
	lim = sq_default_limits;
	lim.max_total = 3;
	cr_assert_eq(sq_frame_scan(arr5, 6, &lim, &flen), -E2BIG);
}

Test(frame, reserved_byte_is_a_protocol_error)
{
	size_t flen;
	cr_assert_eq(sq_frame_scan("\xc1", 1, &sq_default_limits, &flen), -EPROTO);
	cr_assert_eq(sq_frame_scan("\x92\x01\xc1", 3, &sq_default_limits, &flen), -EPROTO);
}

Test(frame, all_fixed_width_types_are_sized_right)
{
	/* [nil,true,u8,u16,u32,u64,i8,i16,i32,i64,f32,f64,fixext1,fixext16] */
	const unsigned char b[] = {
		0x9e, 0xc0, 0xc3, 0xcc, 1, 0xcd, 0, 1, 0xce, 0, 0, 0, 1,
		0xcf, 0, 0, 0, 0, 0, 0, 0, 1, 0xd0, 0xff, 0xd1, 0, 1, 0xd2, 0, 0, 0, 1,
		0xd3, 0, 0, 0, 0, 0, 0, 0, 1, 0xca, 0, 0, 0, 0, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0,
		0xd4, 1, 0xaa, 0xd8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	size_t flen;
	cr_assert_eq(sq_frame_scan((const char *)b, sizeof(b), &sq_default_limits, &flen), 0);
	cr_assert_eq(flen, sizeof(b));
}

/* Resuming after every possible split gives the same answer as one scan. */
Test(frame, resumed_scans_agree_with_whole_scans)
{
	char buf[512];
	size_t n = pack_request(buf, sizeof(buf), 77, "proc.list");
	memcpy(buf + n, "\x91\xc1", 2); /* a bad second frame after it */
	for (size_t step = 1; step <= 7; step++) {
		struct sq_frame_scanner st;
		size_t flen = 0;
		int rc = -EAGAIN;
		sq_frame_scanner_init(&st);
		size_t have = 0;
		do {
			have = have + step > n ? n : have + step;
			rc = sq_frame_scan_resume(&st, buf, have, &sq_default_limits, &flen);
		} while (rc == -EAGAIN && have < n);
		cr_assert_eq(rc, 0, "step %zu", step);
		cr_assert_eq(flen, n, "step %zu", step);
		/* the bad frame is found the same way, byte by byte */
		sq_frame_scanner_init(&st);
		rc = sq_frame_scan_resume(&st, buf + n, 1, &sq_default_limits, &flen);
		cr_assert_eq(rc, -EAGAIN);
		rc = sq_frame_scan_resume(&st, buf + n, 2, &sq_default_limits, &flen);
		cr_assert_eq(rc, -EPROTO);
	}
	/* a hostile prefix is refused at once even when resumed */
	struct sq_frame_scanner st;
	size_t flen;
	sq_frame_scanner_init(&st);
	cr_assert_eq(sq_frame_scan_resume(&st, "\x92\x01", 2, &sq_default_limits, &flen), -EAGAIN);
	cr_assert_eq(sq_frame_scan_resume(&st, "\x92\x01\xdb\xff\xff\xff\xff", 7,
	                                  &sq_default_limits, &flen), -E2BIG);
}
