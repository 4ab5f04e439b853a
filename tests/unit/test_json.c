/* SPDX-License-Identifier: ISC */
/*
 * test_json.c - client/json.c, the CLI's bridge between JSON and msgpack:
 * JSON -> msgpack -> JSON round trips, string escapes and surrogate pairs,
 * {"$bin": base64} in both directions, bytes that are not UTF-8 printed as
 * $bin, the depth bound, malformed input and trailing garbage, and a seeded
 * random msgpack -> JSON -> msgpack property check.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sq_proto.h"

/* ---- helpers --------------------------------------------------------------------- */

/* Print o as JSON (indent as sq_json_print), malloc'd. */
static char *print_obj(const msgpack_object *o, int indent)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	cr_assert_not_null(f);
	sq_json_print(f, o, indent);
	fclose(f);
	return s;
}

/* Parse JSON text (copied to an exact-size heap block so overreads show
 * under ASan) into packed msgpack in *out.  Returns sq_json_pack's rc. */
static int pack_text(const char *text, struct sq_buf *out, char *err, size_t errlen)
{
	msgpack_packer pk;
	char *copy = strdup(text);
	cr_assert_not_null(copy);
	sq_buf_init(out);
	sq_packer_init(&pk, out);
	err[0] = '\0';
	int rc = sq_json_pack(&pk, copy, err, errlen);
	free(copy);
	return rc;
}

/* JSON text -> msgpack -> one-line JSON text. */
static char *reprint(const char *text)
{
	struct sq_buf b;
	char err[200];
	int rc = pack_text(text, &b, err, sizeof(err));
	cr_assert_eq(rc, 0, "parsing %s: %s", text, err);
	msgpack_zone z;
	msgpack_object o;
	size_t off = 0;
	msgpack_zone_init(&z, 1024);
	cr_assert_eq(msgpack_unpack(b.data, b.len, &off, &z, &o), MSGPACK_UNPACK_SUCCESS);
	cr_assert_eq(off, b.len);
	char *s = print_obj(&o, -1);
	msgpack_zone_destroy(&z);
	sq_buf_free(&b);
	return s;
}

static void expect_reprint(const char *text, const char *want)
{
	char *got = reprint(text);
	cr_expect_str_eq(got, want, "%s", text);
	free(got);
}

static void expect_invalid(const char *text, const char *why)
{
	struct sq_buf b;
	char err[200];
	int rc = pack_text(text, &b, err, sizeof(err));
	cr_expect_eq(rc, -EINVAL, "accepted %s", text);
	cr_expect_neq(err[0], '\0', "no message for %s", text);
	if (why)
		cr_expect(strstr(err, why), "%s: message '%s' lacks '%s'", text, err, why);
	sq_buf_free(&b);
}

/* Unpack text's msgpack and check it is one str (or bin) with these bytes. */
static void expect_bytes(const char *text, msgpack_object_type type, const char *bytes,
                         size_t n)
{
	struct sq_buf b;
	char err[200];
	cr_assert_eq(pack_text(text, &b, err, sizeof(err)), 0, "%s: %s", text, err);
	msgpack_zone z;
	msgpack_object o;
	size_t off = 0;
	msgpack_zone_init(&z, 256);
	cr_assert_eq(msgpack_unpack(b.data, b.len, &off, &z, &o), MSGPACK_UNPACK_SUCCESS);
	cr_expect_eq(o.type, type, "%s: type %d", text, o.type);
	cr_expect_eq(o.via.str.size, n, "%s: %u bytes", text, o.via.str.size);
	if (o.via.str.size == n && n)
		cr_expect_eq(memcmp(o.via.str.ptr, bytes, n), 0, "%s: wrong bytes", text);
	msgpack_zone_destroy(&z);
	sq_buf_free(&b);
}

static char *print_str_bytes(const char *bytes, size_t n, msgpack_object_type type)
{
	msgpack_object o = { .type = type };
	o.via.str.ptr = bytes;
	o.via.str.size = (uint32_t)n;
	return print_obj(&o, -1);
}

/* ---- JSON -> msgpack -> JSON -------------------------------------------------------- */

Test(json, scalars_and_containers_round_trip)
{
	expect_reprint("null", "null");
	expect_reprint("true", "true");
	expect_reprint("false", "false");
	expect_reprint("0", "0");
	expect_reprint("-0", "0");
	expect_reprint("42", "42");
	expect_reprint("-42", "-42");
	expect_reprint("18446744073709551615", "18446744073709551615");
	expect_reprint("-9223372036854775808", "-9223372036854775808");
	expect_reprint("3.5", "3.5");
	expect_reprint("-0.25", "-0.25");
	expect_reprint("1e3", "1000");
	expect_reprint("\"\"", "\"\"");
	expect_reprint("[]", "[]");
	expect_reprint("{}", "{}");
	expect_reprint(" [ 1 , [ ] , { } , \"a\" ] ", "[1,[],{},\"a\"]");
	expect_reprint("{\"a\": {\"b\": [true, null, -1.5]}, \"c\": \"d\"}",
	               "{\"a\":{\"b\":[true,null,-1.5]},\"c\":\"d\"}");
	expect_reprint("\t\r\n{\"k\"\n:\n1}\n", "{\"k\":1}");
}

Test(json, pretty_printing_indents_and_stays_parseable)
{
	struct sq_buf b;
	char err[200];
	cr_assert_eq(pack_text("{\"a\":[1,{\"b\":null}],\"e\":[]}", &b, err, sizeof(err)), 0);
	msgpack_zone z;
	msgpack_object o;
	size_t off = 0;
	msgpack_zone_init(&z, 256);
	cr_assert_eq(msgpack_unpack(b.data, b.len, &off, &z, &o), MSGPACK_UNPACK_SUCCESS);
	char *s = print_obj(&o, 2);
	cr_expect_str_eq(s, "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n"
	                    "  \"e\": []\n}");
	char *again = reprint(s);
	cr_expect_str_eq(again, "{\"a\":[1,{\"b\":null}],\"e\":[]}");
	free(again);
	free(s);
	msgpack_zone_destroy(&z);
	sq_buf_free(&b);
}

Test(json, escapes_decode_and_print_back)
{
	expect_bytes("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", MSGPACK_OBJECT_STR, "\"\\/\b\f\n\r\t", 8);
	expect_bytes("\"\\u0041\\u00e9\\u20AC\"", MSGPACK_OBJECT_STR, "A\xc3\xa9\xe2\x82\xac", 6);
	expect_bytes("\"a\\u0000b\"", MSGPACK_OBJECT_STR, "a\0b", 3);
	/* printing escapes what JSON requires, keeps UTF-8 as is */
	expect_reprint("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\"",
	               "\"\\\"\\\\/\\u0008\\u000c\\n\\r\\t\\u0001\\u001f\\u007f\"");
	expect_reprint("\"\\u00e9\"", "\"\xc3\xa9\"");
	expect_reprint("\"a\\u0000b\"", "\"a\\u0000b\"");
}

Test(json, surrogate_pairs_make_one_character)
{
	expect_bytes("\"\\ud83d\\ude00\"", MSGPACK_OBJECT_STR, "\xf0\x9f\x98\x80", 4);
	expect_bytes("\"\\uD800\\uDC00\"", MSGPACK_OBJECT_STR, "\xf0\x90\x80\x80", 4);
	expect_bytes("\"\\udbff\\udfff\"", MSGPACK_OBJECT_STR, "\xf4\x8f\xbf\xbf", 4);
	expect_reprint("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");
	/* raw UTF-8 in the input passes through */
	expect_bytes("\"\xf0\x9f\x98\x80\"", MSGPACK_OBJECT_STR, "\xf0\x9f\x98\x80", 4);
}

Test(json, lone_surrogates_are_refused)
{
	/* they have no UTF-8 form: accepting them would put a broken str on the wire */
	expect_invalid("\"\\ud83d\"", "surrogate");
	expect_invalid("\"\\ude00\"", "surrogate");
	expect_invalid("\"\\ud83dx\"", "surrogate");
	expect_invalid("\"\\ud83d\\u0041\"", "surrogate");
	expect_invalid("\"\\ud83d\\ud83d\"", "surrogate");
	expect_invalid("\"\\ude00\\ud83d\"", "surrogate");
}

Test(json, bin_from_base64_and_back)
{
	expect_bytes("{\"$bin\": \"AAEC/w==\"}", MSGPACK_OBJECT_BIN, "\0\1\2\xff", 4);
	expect_bytes("{\"$bin\":\"\"}", MSGPACK_OBJECT_BIN, "", 0);
	expect_bytes("{\"$bin\": \"YQ\"}", MSGPACK_OBJECT_BIN, "a", 1);       /* unpadded */
	expect_bytes("{\"$bin\": \"-_8\"}", MSGPACK_OBJECT_BIN, "\xfb\xff", 2); /* url-safe */
	expect_bytes("{ \"$bin\" : \"aGVsbG8=\" }", MSGPACK_OBJECT_BIN, "hello", 5);
	expect_reprint("{\"$bin\": \"AAEC/w==\"}", "{\"$bin\": \"AAEC/w==\"}");
	expect_reprint("[{\"$bin\":\"YWI=\"},{\"$bin\":\"YWJj\"}]",
	               "[{\"$bin\": \"YWI=\"},{\"$bin\": \"YWJj\"}]");
	/* every length 0..5 of every byte pattern prints and parses back */
	unsigned char bytes[5];
	for (unsigned len = 0; len <= 5; len++) {
		for (unsigned seed = 0; seed < 64; seed++) {
			for (unsigned i = 0; i < len; i++)
				bytes[i] = (unsigned char)(seed * 37 + i * 101 + (seed >> 3) * 255);
			char *s = print_str_bytes((const char *)bytes, len, MSGPACK_OBJECT_BIN);
			expect_bytes(s, MSGPACK_OBJECT_BIN, (const char *)bytes, len);
			free(s);
		}
	}
}

Test(json, maps_that_only_look_like_bin_stay_maps)
{
	expect_reprint("{\"$bin\": \"YQ==\", \"x\": 1}", "{\"$bin\":\"YQ==\",\"x\":1}");
	expect_reprint("{\"x\": 1, \"$bin\": \"YQ==\"}", "{\"x\":1,\"$bin\":\"YQ==\"}");
	expect_reprint("{\"$bin\": 5}", "{\"$bin\":5}");
	expect_reprint("{\"$bin\": [\"YQ==\"]}", "{\"$bin\":[\"YQ==\"]}");
	expect_reprint("{\"$bi\": \"YQ==\"}", "{\"$bi\":\"YQ==\"}");
	expect_invalid("{\"$bin\": \"Y*Q=\"}", "base64");
}

Test(json, bytes_that_are_not_utf8_print_as_bin)
{
	static const struct { const char *b; size_t n; } bad[] = {
		{ "\xff", 1 }, { "\xfe\xff", 2 }, { "\x80", 1 }, { "a\xc3", 2 },
		{ "\xc0\x80", 2 },               /* overlong NUL */
		{ "\xc1\xbf", 2 },               /* overlong */
		{ "\xe0\x80\x80", 3 },           /* overlong */
		{ "\xed\xa0\x80", 3 },           /* a surrogate */
		{ "\xf0\x80\x80\x80", 4 },       /* overlong */
		{ "\xf4\x90\x80\x80", 4 },       /* above U+10FFFF */
		{ "\xf5\x80\x80\x80", 4 },       /* lead bytes that never occur */
		{ "\xf8\x88\x80\x80\x80", 5 },
		{ "\xf8\x80\x80", 3 },
		{ "\xff\x80\x80", 3 },
		{ "\xfc\x80\x80\x80\x80\x80", 6 },
		{ "\xe2\x82", 2 },               /* cut short */
		{ "\xe2\x28\xa1", 3 },           /* bad continuation */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_not(sq_utf8_valid(bad[i].b, bad[i].n), "case %zu judged valid", i);
		char *s = print_str_bytes(bad[i].b, bad[i].n, MSGPACK_OBJECT_STR);
		cr_expect_eq(strncmp(s, "{\"$bin\": \"", 10), 0, "case %zu printed %s", i, s);
		expect_bytes(s, MSGPACK_OBJECT_BIN, bad[i].b, bad[i].n);
		free(s);
	}
	static const struct { const char *b; size_t n; } good[] = {
		{ "", 0 }, { "abc", 3 }, { "\xc2\x80", 2 }, { "\xdf\xbf", 2 },
		{ "\xe0\xa0\x80", 3 }, { "\xef\xbf\xbf", 3 }, { "\xee\x80\x80", 3 },
		{ "\xf0\x90\x80\x80", 4 }, { "\xf4\x8f\xbf\xbf", 4 }, { "a\0b", 3 },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cr_expect(sq_utf8_valid(good[i].b, good[i].n), "good case %zu judged invalid", i);
		char *s = print_str_bytes(good[i].b, good[i].n, MSGPACK_OBJECT_STR);
		cr_expect_eq(s[0], '"', "good case %zu printed %s", i, s);
		expect_bytes(s, MSGPACK_OBJECT_STR, good[i].b, good[i].n);
		free(s);
	}
}

Test(json, other_msgpack_types_print_as_valid_json)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_FLOAT64 };
	o.via.f64 = NAN;
	char *s = print_obj(&o, -1);
	cr_expect_str_eq(s, "null");
	free(s);
	o.via.f64 = -INFINITY;
	s = print_obj(&o, -1);
	cr_expect_str_eq(s, "null");
	free(s);
	o.type = MSGPACK_OBJECT_FLOAT32;
	o.via.f64 = 0.5;
	s = print_obj(&o, -1);
	cr_expect_str_eq(s, "0.5");
	free(s);

	msgpack_object e = { .type = MSGPACK_OBJECT_EXT };
	e.via.ext.type = 5;
	e.via.ext.ptr = "ab";
	e.via.ext.size = 2;
	s = print_obj(&e, -1);
	cr_expect_str_eq(s, "{\"$ext\": 5, \"data\": {\"$bin\": \"YWI=\"}}");
	free(s);

	/* keys that are not text still give a JSON object */
	msgpack_object_kv kv[2];
	kv[0].key.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
	kv[0].key.via.u64 = 1;
	kv[0].val.type = MSGPACK_OBJECT_NIL;
	kv[1].key.type = MSGPACK_OBJECT_STR;
	kv[1].key.via.str.ptr = "\xff";
	kv[1].key.via.str.size = 1;
	kv[1].val.type = MSGPACK_OBJECT_BOOLEAN;
	kv[1].val.via.boolean = true;
	msgpack_object m = { .type = MSGPACK_OBJECT_MAP };
	m.via.map.size = 2;
	m.via.map.ptr = kv;
	s = print_obj(&m, -1);
	char *again = reprint(s);
	cr_expect_str_eq(again, s);
	free(again);
	free(s);
}

/* ---- malformed input ----------------------------------------------------------------- */

Test(json, malformed_input_is_einval_with_a_message)
{
	expect_invalid("", NULL);
	expect_invalid("   ", NULL);
	expect_invalid("tru", NULL);
	expect_invalid("nul", NULL);
	expect_invalid("[1,]", NULL);
	expect_invalid("[1 2]", "','");
	expect_invalid("{\"a\":1,}", "key");
	expect_invalid("{\"a\" 1}", "':'");
	expect_invalid("{a: 1}", "key");
	expect_invalid("{\"a\":1", NULL);
	expect_invalid("[", NULL);
	expect_invalid("\"abc", "unterminated");
	expect_invalid("\"abc\\", NULL);      /* ends inside an escape */
	expect_invalid("\"\\", NULL);
	expect_invalid("\"\\u12\"", "\\u");
	expect_invalid("\"\\u12", "\\u");
	expect_invalid("\"\\x41\"", "escape");
	expect_invalid("\"a\nb\"", "control");
	expect_invalid("-", NULL);
	expect_invalid("--1", NULL);
	expect_invalid("1.2.3", NULL);
	expect_invalid("1e", NULL);
	expect_invalid("18446744073709551616", NULL);
	expect_invalid("-9223372036854775809", NULL);
	expect_invalid("NaN", NULL);
	expect_invalid("Infinity", NULL);
	expect_invalid("'a'", NULL);
}

Test(json, trailing_garbage_is_rejected)
{
	expect_invalid("1 2", "trailing");
	expect_invalid("{} x", "trailing");
	expect_invalid("[] ]", "trailing");
	expect_invalid("nullx", "trailing");
	expect_invalid("\"a\"\"b\"", "trailing");
	expect_invalid("0x10", "trailing");
	expect_reprint("[1]  \n\t", "[1]");
}

static char *nested(int depth, char open, char close)
{
	char *s = malloc((size_t)depth * 2 + 1);
	cr_assert_not_null(s);
	memset(s, open, (size_t)depth);
	memset(s + depth, close, (size_t)depth);
	s[depth * 2] = '\0';
	return s;
}

Test(json, nesting_depth_is_bounded)
{
	/* 30 levels print back (msgpack-c's unpacker itself stops at 32) */
	char *ok = nested(30, '[', ']');
	char *got = reprint(ok);
	cr_expect_str_eq(got, ok);
	free(got);
	free(ok);

	/* the parser's own bound: 65 levels of containers, not 66 */
	char *deep = nested(65, '[', ']');
	char *deeper = nested(66, '[', ']');
	struct sq_buf b;
	char err[200];
	int rc65 = pack_text(deep, &b, err, sizeof(err));
	sq_buf_free(&b);
	int rc66 = pack_text(deeper, &b, err, sizeof(err));
	sq_buf_free(&b);
	cr_expect_eq(rc65, 0, "65 levels: %s", err);
	cr_expect_eq(rc66, -EINVAL);
	cr_expect(strstr(err, "deep"), "%s", err);
	free(deep);
	free(deeper);

	/* 100,000 levels: refused, not a stack overflow */
	char *huge = nested(100000, '[', ']');
	expect_invalid(huge, "deep");
	free(huge);
	char *objs = malloc(600001);
	for (int i = 0; i < 100000; i++)
		memcpy(objs + i * 6, "{\"a\": ", 6);
	objs[600000] = '\0';
	expect_invalid(objs, "deep");
	free(objs);
}

/* ---- random msgpack -> JSON -> msgpack ------------------------------------------------- */

/* An independent UTF-8 check, straight from RFC 3629's table. */
static bool strict_utf8(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i], need, lo = 0x80, hi = 0xbf;
		if (c <= 0x7f) { i++; continue; }
		if (c >= 0xc2 && c <= 0xdf) need = 1;
		else if (c == 0xe0) { need = 2; lo = 0xa0; }
		else if (c == 0xed) { need = 2; hi = 0x9f; }
		else if (c >= 0xe1 && c <= 0xef) need = 2;
		else if (c == 0xf0) { need = 3; lo = 0x90; }
		else if (c >= 0xf1 && c <= 0xf3) need = 3;
		else if (c == 0xf4) { need = 3; hi = 0x8f; }
		else return false;
		if (i + need >= n)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			unsigned b = s[i + k];
			if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf))
				return false;
		}
		i += need + 1;
	}
	return true;
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void gen(msgpack_packer *pk, int depth)
{
	unsigned kind = (unsigned)(rnd() % (depth > 4 ? 8 : 10));
	char s[24];
	size_t n;
	switch (kind) {
	case 0: msgpack_pack_nil(pk); break;
	case 1: if (rnd() & 1) msgpack_pack_true(pk); else msgpack_pack_false(pk); break;
	case 2: msgpack_pack_uint64(pk, rnd() >> (rnd() % 64)); break;
	case 3: msgpack_pack_int64(pk, -(int64_t)(rnd() >> (1 + rnd() % 63)) - 1); break;
	case 4: msgpack_pack_double(pk, (double)(int64_t)rnd() / (double)(1 + rnd() % 1000000)); break;
	case 5: /* str: mostly text, sometimes arbitrary bytes */
	case 6:
		n = rnd() % sizeof(s);
		for (size_t i = 0; i < n; i++)
			s[i] = kind == 5 ? (char)(rnd() % 128) : (char)rnd();
		msgpack_pack_str_with_body(pk, s, n);
		break;
	case 7:
		n = rnd() % sizeof(s);
		for (size_t i = 0; i < n; i++)
			s[i] = (char)rnd();
		msgpack_pack_bin_with_body(pk, s, n);
		break;
	case 8:
		n = rnd() % 5;
		msgpack_pack_array(pk, n);
		for (size_t i = 0; i < n; i++)
			gen(pk, depth + 1);
		break;
	default:
		n = rnd() % 5;
		msgpack_pack_map(pk, n);
		for (size_t i = 0; i < n; i++) {
			char k[8];
			int kl = snprintf(k, sizeof(k), "k%zu", i); /* distinct, never "$bin" */
			msgpack_pack_str_with_body(pk, k, (size_t)kl);
			gen(pk, depth + 1);
		}
		break;
	}
}

static double num(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER: return (double)o->via.u64;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return (double)o->via.i64;
	default: return o->via.f64;
	}
}

static bool is_num(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
	       o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
	       o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32;
}

/* Equal as JSON sees it: numbers by value; a str that is not UTF-8 comes
 * back as bin with the same bytes. */
static bool same(const msgpack_object *a, const msgpack_object *b)
{
	if (is_num(a) && is_num(b)) {
		if (a->type == b->type && a->type != MSGPACK_OBJECT_FLOAT64)
			return a->via.u64 == b->via.u64;
		return num(a) == num(b);
	}
	if (a->type == MSGPACK_OBJECT_STR &&
	    !sq_utf8_valid(a->via.str.ptr, a->via.str.size)) {
		return b->type == MSGPACK_OBJECT_BIN && a->via.str.size == b->via.bin.size &&
		       memcmp(a->via.str.ptr, b->via.bin.ptr, a->via.str.size) == 0;
	}
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case MSGPACK_OBJECT_NIL: return true;
	case MSGPACK_OBJECT_BOOLEAN: return a->via.boolean == b->via.boolean;
	case MSGPACK_OBJECT_STR:
	case MSGPACK_OBJECT_BIN:
		return a->via.str.size == b->via.str.size &&
		       (a->via.str.size == 0 ||
		        memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size) == 0);
	case MSGPACK_OBJECT_ARRAY:
		if (a->via.array.size != b->via.array.size)
			return false;
		for (uint32_t i = 0; i < a->via.array.size; i++)
			if (!same(&a->via.array.ptr[i], &b->via.array.ptr[i]))
				return false;
		return true;
	case MSGPACK_OBJECT_MAP:
		if (a->via.map.size != b->via.map.size)
			return false;
		for (uint32_t i = 0; i < a->via.map.size; i++)
			if (!same(&a->via.map.ptr[i].key, &b->via.map.ptr[i].key) ||
			    !same(&a->via.map.ptr[i].val, &b->via.map.ptr[i].val))
				return false;
		return true;
	default:
		return false;
	}
}

Test(json, random_values_survive_print_and_parse)
{
	rng_state = 0x5157514a534f4e31ull; /* fixed seed: deterministic */
	for (int iter = 0; iter < 2000; iter++) {
		struct sq_buf b;
		msgpack_packer pk;
		sq_buf_init(&b);
		sq_packer_init(&pk, &b);
		gen(&pk, 0);
		msgpack_zone z;
		msgpack_object o;
		size_t off = 0;
		msgpack_zone_init(&z, 1024);
		cr_assert_eq(msgpack_unpack(b.data, b.len, &off, &z, &o), MSGPACK_UNPACK_SUCCESS);
		for (int indent = -1; indent <= 2; indent += 3) {
			char *text = print_obj(&o, indent);
			struct sq_buf b2;
			char err[200];
			int rc = pack_text(text, &b2, err, sizeof(err));
			cr_assert_eq(rc, 0, "iteration %d: printed JSON does not parse: %s\n%s", iter,
			             err, text);
			msgpack_object o2;
			size_t off2 = 0;
			cr_assert_eq(msgpack_unpack(b2.data, b2.len, &off2, &z, &o2),
			             MSGPACK_UNPACK_SUCCESS);
			cr_assert(same(&o, &o2), "iteration %d: changed in the round trip:\n%s", iter,
			          text);
			cr_assert(strict_utf8(text, strlen(text)), "iteration %d: output is not UTF-8:\n%s",
			          iter, text);
			sq_buf_free(&b2);
			free(text);
		}
		msgpack_zone_destroy(&z);
		sq_buf_free(&b);
	}
}

Test(json, utf8_check_agrees_with_rfc3629)
{
	/* every 1..3-byte string over the interesting byte values, then random
	 * strings: sq_utf8_valid decides whether a str prints as text or $bin */
	static const unsigned char vals[] = {
		0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2,
		0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5,
		0xf7, 0xf8, 0xfb, 0xfc, 0xfe, 0xff,
	};
	const size_t nv = sizeof(vals);
	char s[8];
	for (size_t a = 0; a < nv; a++)
		for (size_t b = 0; b < nv; b++)
			for (size_t c = 0; c < nv; c++) {
				s[0] = (char)vals[a];
				s[1] = (char)vals[b];
				s[2] = (char)vals[c];
				for (size_t n = 1; n <= 3; n++)
					cr_assert_eq(!!sq_utf8_valid(s, n), strict_utf8(s, n),
					             "%02x %02x %02x (first %zu)", vals[a], vals[b],
					             vals[c], n);
			}
	rng_state = 0x7574663838383838ull;
	for (int i = 0; i < 200000; i++) {
		uint64_t r = rnd();
		size_t n = 1 + (size_t)(r % 7);
		for (size_t k = 0; k < n; k++)
			s[k] = (char)((0x80 | (rnd() & 0x7f)) ^ (((r >> 8) & 1) ? 0 : 0x80));
		if ((r >> 9) & 1)
			s[0] = (char)(0xc0 | ((r >> 16) & 0x3f));
		cr_assert_eq(!!sq_utf8_valid(s, n), strict_utf8(s, n), "random case %d", i);
	}
}
