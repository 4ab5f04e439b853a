/* SPDX-License-Identifier: ISC */
/*
 * test_get_stream.c - sysq get's file.data header reader (gs_data_head,
 * client/get_stream.c): the exact header length and bin length for every
 * msgid and bin size encoding, -EAGAIN for every cut-short prefix, and "not
 * a header to cut" for another msgid, another message, the bin not last
 * or a nested value before it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "get_stream.h"
#include "sq_proto.h"

/* [2, "file.data", [{keys before..., "data": <bin header of blen>}]] */
static size_t head(struct sq_buf *b, uint32_t id, uint32_t blen, const char *extra)
{
	msgpack_packer pk;
	sq_buf_init(b);
	sq_packer_init(&pk, b);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, 2);
	sq_pack_cstr(&pk, "file.data");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, extra ? 3 : 2);
	sq_pack_cstr(&pk, "msgid");
	msgpack_pack_uint32(&pk, id);
	if (extra) {
		sq_pack_cstr(&pk, extra);
		if (strcmp(extra, "nested") == 0) {
			msgpack_pack_array(&pk, 1);
			msgpack_pack_int(&pk, 1);
		} else {
			sq_pack_cstr(&pk, "some text");
		}
	}
	sq_pack_cstr(&pk, "data");
	msgpack_pack_bin(&pk, blen);
	return b->len;
}

Test(get_stream, every_header_is_cut_exactly_and_every_prefix_waits)
{
	const uint32_t ids[] = { 1, 127, 128, 255, 256, 65535, 65536, 4000000000u };
	const uint32_t lens[] = { 0, 1, 255, 256, 65535, 65536, 1u << 20, 4294967295u };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			struct sq_buf b;
			size_t n = head(&b, ids[i], lens[j], NULL);
			/* the payload's first bytes after it change nothing */
			cr_assert_eq(sq_buf_append(&b, "\xc1\xc1\xc1", 3), 0);
			size_t hlen = 0;
			uint64_t blen = 0;
			cr_assert_eq(gs_data_head((const unsigned char *)b.data, b.len, ids[i], &hlen,
			                          &blen), 1, "id %u len %u", ids[i], lens[j]);
			cr_assert_eq(hlen, n);
			cr_assert_eq(blen, lens[j]);
			for (size_t k = 0; k < n; k++)
				cr_assert_eq(gs_data_head((const unsigned char *)b.data, k, ids[i], &hlen,
				                          &blen), -EAGAIN, "prefix %zu of %zu", k, n);
			sq_buf_free(&b);
		}
}

Test(get_stream, scalar_keys_before_data_are_skipped)
{
	struct sq_buf b;
	size_t n = head(&b, 7, 1000, "note");
	size_t hlen;
	uint64_t blen;
	cr_assert_eq(gs_data_head((const unsigned char *)b.data, n, 7, &hlen, &blen), 1);
	cr_assert_eq(hlen, n);
	cr_assert_eq(blen, 1000);
	sq_buf_free(&b);
}

Test(get_stream, anything_else_is_left_to_the_whole_message_reader)
{
	struct sq_buf b;
	size_t hlen;
	uint64_t blen;
	size_t n = head(&b, 7, 10, NULL);
	cr_assert_eq(gs_data_head((const unsigned char *)b.data, n, 8, &hlen, &blen), 0,
	             "another msgid");
	sq_buf_free(&b);
	n = head(&b, 7, 10, "nested");
	cr_assert_eq(gs_data_head((const unsigned char *)b.data, n, 7, &hlen, &blen), 0,
	             "a nested value before the bin");
	sq_buf_free(&b);

	/* data before msgid: the bin is not last */
	msgpack_packer pk;
	sq_buf_init(&b);
	sq_packer_init(&pk, &b);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, 2);
	sq_pack_cstr(&pk, "file.data");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	sq_pack_cstr(&pk, "data");
	msgpack_pack_bin_with_body(&pk, "ab", 2);
	sq_pack_cstr(&pk, "msgid");
	msgpack_pack_uint32(&pk, 7);
	cr_assert_eq(gs_data_head((const unsigned char *)b.data, b.len, 7, &hlen, &blen), 0);
	sq_buf_free(&b);

	/* file.end and a response: not data, told at their first bytes */
	sq_buf_init(&b);
	sq_packer_init(&pk, &b);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, 2);
	sq_pack_cstr(&pk, "file.end");
	cr_assert_eq(gs_data_head((const unsigned char *)b.data, b.len, 7, &hlen, &blen), 0);
	sq_buf_free(&b);
	sq_buf_init(&b);
	sq_packer_init(&pk, &b);
	msgpack_pack_array(&pk, 4);
	cr_assert_eq(gs_data_head((const unsigned char *)b.data, b.len, 7, &hlen, &blen), 0);
	sq_buf_free(&b);
}
