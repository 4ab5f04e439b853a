/* SPDX-License-Identifier: ISC */
/*
 * test_proto.c - the codec above the frame scanner: sq_msg_parse on every
 * message shape (and the malformed ones, with or without a usable msgid),
 * the typed sq_param_* getters, the encoders read back by msgpack_unpack,
 * and sq_buf growth and consumption.  Method names and param names sent as
 * msgpack bin (as some clients' libraries do) count as strings when they are
 * valid UTF-8.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "sq_proto.h"

/* ---- helpers --------------------------------------------------------------- */

/* A string literal as (bytes, length), NULs inside it counted. */
#define B(s) s, sizeof(s) - 1

/* A packer writing into a fresh buffer; free with sq_buf_free. */
struct pb {
	struct sq_buf b;
	msgpack_packer pk;
};

static void pb_init(struct pb *p)
{
	sq_buf_init(&p->b);
	sq_packer_init(&p->pk, &p->b);
}

/* Parse p's bytes as one message (zone owned by the caller). */
static int parse(struct pb *p, msgpack_zone *z, struct sq_msg *m, const char **why)
{
	return sq_msg_parse(p->b.data, p->b.len, z, m, why);
}

/* Unpack exactly one object from buf, asserting nothing is left over. */
static msgpack_object unpack_one(const struct sq_buf *b, msgpack_zone *z)
{
	msgpack_object o;
	size_t off = 0;
	cr_assert_eq(msgpack_unpack(b->data, b->len, &off, z, &o), MSGPACK_UNPACK_SUCCESS);
	cr_assert_eq(off, b->len, "unpacked %zu of %zu bytes", off, b->len);
	return o;
}

/* Open params [ {..map packed by fill..} ] built from the packer callback. */
struct popen {
	struct pb pb;
	msgpack_zone zone;
	msgpack_object params;
	struct sq_params p;
};

static int popen_done(struct popen *x)
{
	msgpack_zone_init(&x->zone, 1024);
	x->params = unpack_one(&x->pb.b, &x->zone);
	return sq_params_open(&x->p, &x->params);
}

static void popen_free(struct popen *x)
{
	msgpack_zone_destroy(&x->zone);
	sq_buf_free(&x->pb.b);
}

/* Begin [ {n pairs} ] */
static msgpack_packer *popen_begin(struct popen *x, size_t npairs)
{
	pb_init(&x->pb);
	msgpack_pack_array(&x->pb.pk, 1);
	msgpack_pack_map(&x->pb.pk, npairs);
	return &x->pb.pk;
}

static bool printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* ---- sq_msg_parse: good shapes ------------------------------------------- */

Test(msg, request_is_parsed_with_its_fields)
{
	struct pb p;
	msgpack_zone z;
	struct sq_msg m;
	const char *why = "unset";
	pb_init(&p);
	msgpack_zone_init(&z, 256);
	sq_pack_request_head(&p.pk, 4000000000u, "sys.ping");
	msgpack_pack_array(&p.pk, 1);
	msgpack_pack_map(&p.pk, 1);
	sq_pack_kv_u64(&p.pk, "n", 3);
	cr_assert_eq(parse(&p, &z, &m, &why), 0, "%s", why);
	cr_assert_null(why);
	cr_assert_eq(m.type, SQ_MSG_REQUEST);
	cr_assert(m.has_msgid);
	cr_assert_eq(m.msgid, 4000000000u);
	cr_assert_eq(m.method_len, 8);
	cr_assert_eq(memcmp(m.method, "sys.ping", 8), 0);
	cr_assert_eq(m.params.type, MSGPACK_OBJECT_ARRAY);
	cr_assert_eq(m.params.via.array.size, 1);
	/* pointers refer into the frame, not copies */
	cr_assert(m.method >= p.b.data && m.method < p.b.data + p.b.len);
	msgpack_zone_destroy(&z);
	sq_buf_free(&p.b);
}

Test(msg, largest_msgid_is_accepted)
{
	struct pb p;
	msgpack_zone z;
	struct sq_msg m;
	const char *why;
	pb_init(&p);
	msgpack_zone_init(&z, 256);
	sq_pack_request_head(&p.pk, UINT32_MAX, "a");
	msgpack_pack_array(&p.pk, 0);
	cr_assert_eq(parse(&p, &z, &m, &why), 0);
	cr_assert_eq(m.msgid, UINT32_MAX);
	msgpack_zone_destroy(&z);
	sq_buf_free(&p.b);
}

Test(msg, response_is_parsed_with_error_and_result)
{
	struct pb p;
	msgpack_zone z;
	struct sq_msg m;
	const char *why;
	pb_init(&p);
	msgpack_zone_init(&z, 256);
	sq_pack_response_head(&p.pk, 9);
	sq_pack_cstr(&p.pk, "pong");
	cr_assert_eq(parse(&p, &z, &m, &why), 0);
	cr_assert_eq(m.type, SQ_MSG_RESPONSE);
	cr_assert(m.has_msgid);
	cr_assert_eq(m.msgid, 9);
	cr_assert_eq(m.error.type, MSGPACK_OBJECT_NIL);
	cr_assert(sq_obj_streq(&m.result, "pong"));
	cr_assert_null(m.method);
	msgpack_zone_destroy(&z);
	sq_buf_free(&p.b);
}

Test(msg, notification_has_no_msgid)
{
	struct pb p;
	msgpack_zone z;
	struct sq_msg m;
	const char *why;
	pb_init(&p);
	msgpack_zone_init(&z, 256);
	sq_pack_notify_head(&p.pk, "sys.error");
	msgpack_pack_array(&p.pk, 1);
	msgpack_pack_map(&p.pk, 1);
	sq_pack_kv_str(&p.pk, "code", "EPROTO");
	cr_assert_eq(parse(&p, &z, &m, &why), 0);
	cr_assert_eq(m.type, SQ_MSG_NOTIFY);
	cr_assert_not(m.has_msgid);
	cr_assert_eq(m.method_len, 9);
	cr_assert_eq(memcmp(m.method, "sys.error", 9), 0);
	cr_assert_eq(m.params.type, MSGPACK_OBJECT_ARRAY);
	cr_assert(sq_obj_streq(sq_map_get(&m.params.via.array.ptr[0], "code"), "EPROTO"));
	msgpack_zone_destroy(&z);
	sq_buf_free(&p.b);
}

/* A method name as bin (bin8, bin16, bin32) is the same name as a str. */
Test(msg, a_utf8_bin_method_is_a_method_name)
{
	static const struct { const char *name; const char *b; size_t n; uint32_t id; } ok[] = {
		{ "bin8 request", B("\x94\x00\x01\xc4\x08sys.ping\x90"), 1 },
		{ "bin16 request", B("\x94\x00\x02\xc5\x00\x08sys.ping\x91\x80"), 2 },
		{ "bin32 request", B("\x94\x00\x03\xc6\x00\x00\x00\x08sys.ping\x90"), 3 },
		{ "bin8 notification", B("\x93\x02\xc4\x08sys.ping\x90"), 0 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		msgpack_zone z;
		struct sq_msg m;
		const char *why = "unset";
		msgpack_zone_init(&z, 256);
		cr_assert_eq(sq_msg_parse(ok[i].b, ok[i].n, &z, &m, &why), 0, "%s: %s",
		             ok[i].name, why ? why : "");
		cr_assert_eq(m.type, ok[i].id ? SQ_MSG_REQUEST : SQ_MSG_NOTIFY, "%s", ok[i].name);
		cr_assert_eq(m.has_msgid, ok[i].id != 0, "%s", ok[i].name);
		if (ok[i].id)
			cr_assert_eq(m.msgid, ok[i].id, "%s", ok[i].name);
		cr_assert_eq(m.method_len, 8, "%s: method_len %u", ok[i].name, m.method_len);
		cr_assert_eq(memcmp(m.method, "sys.ping", 8), 0, "%s", ok[i].name);
		cr_assert_eq(m.params.type, MSGPACK_OBJECT_ARRAY, "%s", ok[i].name);
		msgpack_zone_destroy(&z);
	}
}

/* A bin that is not UTF-8 names no method: EINVAL (not EPROTO: the message
 * is shaped right), with the msgid so the daemon can answer it. */
Test(msg, a_bin_method_that_is_not_utf8_is_einval)
{
	static const struct { const char *b; size_t n; bool msgid; int type; } bad[] = {
		{ B("\x94\x00\x05\xc4\x04sy\xff.\x90"), true, SQ_MSG_REQUEST },
		{ B("\x94\x00\x05\xc4\x02\xed\xa0\x90"), true, SQ_MSG_REQUEST }, /* a surrogate */
		{ B("\x93\x02\xc4\x01\x80\x90"), false, SQ_MSG_NOTIFY },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msgpack_zone z;
		struct sq_msg m;
		const char *why = NULL;
		msgpack_zone_init(&z, 256);
		cr_assert_eq(sq_msg_parse(bad[i].b, bad[i].n, &z, &m, &why), -EINVAL, "case %zu", i);
		cr_assert(why && strstr(why, "UTF-8"), "case %zu: %s", i, why ? why : "(none)");
		cr_assert(printable_ascii(why));
		cr_assert_eq(m.has_msgid, bad[i].msgid, "case %zu", i);
		cr_assert_eq(m.type, bad[i].type, "case %zu", i);
		if (bad[i].msgid)
			cr_assert_eq(m.msgid, 5);
		msgpack_zone_destroy(&z);
	}
}

/* ---- sq_msg_parse: malformed shapes ------------------------------------------ */

struct bad_case {
	const char *name;
	const char *bytes;
	size_t len;
	bool msgid;       /* has_msgid expected */
	uint32_t id;
	int type;         /* m.type expected when msgid (or -1: don't care) */
};

static const struct bad_case bad_cases[] = {
	{ "empty frame", B(""), false, 0, -1 },
	{ "not an array (str)", B("\xa3" "abc"), false, 0, -1 },
	{ "not an array (map)", B("\x81\x00\x00"), false, 0, -1 },
	{ "array of 2", B("\x92\x00\x01"), false, 0, -1 },
	{ "array of 0", B("\x90"), false, 0, -1 },
	{ "type 3", B("\x94\x03\x01\xa1x\x90"), false, 0, -1 },
	{ "type -1", B("\x94\xff\x01\xa1x\x90"), false, 0, -1 },
	{ "type as a string", B("\x94\xa1" "0\x01\xa1x\x90"), false, 0, -1 },
	{ "type as a float", B("\x94\xca\x00\x00\x00\x00\x01\xa1x\x90"), false, 0, -1 },
	{ "request msgid negative", B("\x94\x00\xff\xa1x\x90"), false, 0, -1 },
	{ "request msgid 2^32", B("\x94\x00\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xa1x\x90"),
	  false, 0, -1 },
	{ "request msgid a string", B("\x94\x00\xa1" "1\xa1x\x90"), false, 0, -1 },
	{ "request msgid nil", B("\x94\x00\xc0\xa1x\x90"), false, 0, -1 },
	/* shaped wrong, but the msgid is there: the daemon can answer EPROTO */
	{ "request of 3", B("\x93\x00\x05\xa1x"), true, 5, SQ_MSG_REQUEST },
	{ "request of 5", B("\x95\x00\x06\xa1x\x90\xc0"), true, 6, SQ_MSG_REQUEST },
	{ "request method int", B("\x94\x00\x07\x01\x90"), true, 7, SQ_MSG_REQUEST },
	{ "request params map", B("\x94\x00\x09\xa1x\x80"), true, 9, SQ_MSG_REQUEST },
	{ "request params nil", B("\x94\x00\xcd\x01\x00\xa1x\xc0"), true, 256, SQ_MSG_REQUEST },
	{ "response of 3", B("\x93\x01\x05\xc0"), true, 5, SQ_MSG_RESPONSE },
	{ "response msgid negative", B("\x94\x01\xff\xc0\xc0"), false, 0, -1 },
	{ "notification of 4", B("\x94\x02\xa1x\x90\x90"), false, 0, -1 },
	{ "notification method int", B("\x93\x02\x01\x90"), false, 0, -1 },
	{ "notification params str", B("\x93\x02\xa1x\xa1y"), false, 0, -1 },
	/* not exactly one object */
	{ "truncated", B("\x94\x00\x01\xa4ping"), false, 0, -1 },
	{ "trailing byte", B("\x94\x00\x01\xa1x\x90\xc0"), false, 0, -1 },
	{ "two messages", B("\x94\x00\x01\xa1x\x90\x94\x00\x02\xa1x\x90"), false, 0, -1 },
};

Test(msg, malformed_messages_are_eproto_with_a_reason)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];
		msgpack_zone z;
		struct sq_msg m;
		const char *why = NULL;
		msgpack_zone_init(&z, 256);
		int rc = sq_msg_parse(bc->bytes, bc->len, &z, &m, &why);
		cr_assert_eq(rc, -EPROTO, "%s: rc %d", bc->name, rc);
		cr_assert(why && *why, "%s: no reason given", bc->name);
		cr_assert(printable_ascii(why), "%s: reason is not plain text", bc->name);
		cr_assert_eq(m.has_msgid, bc->msgid, "%s: has_msgid %d", bc->name, m.has_msgid);
		if (bc->msgid) {
			cr_assert_eq(m.msgid, bc->id, "%s: msgid %u", bc->name, m.msgid);
			cr_assert_eq(m.type, bc->type, "%s: type %d", bc->name, m.type);
		}
		msgpack_zone_destroy(&z);
	}
}

Test(msg, every_truncation_of_a_request_is_eproto)
{
	struct pb p;
	pb_init(&p);
	sq_pack_request_head(&p.pk, 70000, "fs.list");
	msgpack_pack_array(&p.pk, 1);
	msgpack_pack_map(&p.pk, 2);
	sq_pack_kv_str(&p.pk, "path", "/");
	sq_pack_kv_i64(&p.pk, "depth", -3);
	for (size_t cut = 0; cut < p.b.len; cut++) {
		msgpack_zone z;
		struct sq_msg m;
		const char *why;
		msgpack_zone_init(&z, 256);
		cr_assert_eq(sq_msg_parse(p.b.data, cut, &z, &m, &why), -EPROTO, "cut %zu", cut);
		cr_assert_not(m.has_msgid);
		msgpack_zone_destroy(&z);
	}
	sq_buf_free(&p.b);
}

/* ---- params ------------------------------------------------------------------ */

Test(params, open_accepts_empty_nil_and_one_map)
{
	struct popen x;
	pb_init(&x.pb);
	msgpack_pack_array(&x.pb.pk, 0);
	cr_assert_eq(popen_done(&x), 0);
	cr_assert_null(x.p.map);
	cr_assert_null(sq_param(&x.p, "a"));
	popen_free(&x);

	pb_init(&x.pb);
	msgpack_pack_array(&x.pb.pk, 1);
	msgpack_pack_nil(&x.pb.pk);
	cr_assert_eq(popen_done(&x), 0);
	cr_assert_null(x.p.map);
	popen_free(&x);

	popen_begin(&x, 0);
	cr_assert_eq(popen_done(&x), 0);
	cr_assert_not_null(x.p.map);
	cr_assert_eq(x.p.map->size, 0);
	popen_free(&x);
}

Test(params, open_rejects_other_shapes)
{
	struct sq_params p;
	cr_assert_eq(sq_params_open(&p, NULL), -EINVAL);
	cr_assert(strstr(p.err, "array"));

	struct popen x;
	/* not an array */
	pb_init(&x.pb);
	msgpack_pack_map(&x.pb.pk, 0);
	cr_assert_eq(popen_done(&x), -EINVAL);
	cr_assert(strstr(x.p.err, "params"), "%s", x.p.err);
	popen_free(&x);
	/* [5] */
	pb_init(&x.pb);
	msgpack_pack_array(&x.pb.pk, 1);
	msgpack_pack_int(&x.pb.pk, 5);
	cr_assert_eq(popen_done(&x), -EINVAL);
	popen_free(&x);
	/* [{}, {}] */
	pb_init(&x.pb);
	msgpack_pack_array(&x.pb.pk, 2);
	msgpack_pack_map(&x.pb.pk, 0);
	msgpack_pack_map(&x.pb.pk, 0);
	cr_assert_eq(popen_done(&x), -EINVAL);
	popen_free(&x);
	/* [["a"]] */
	pb_init(&x.pb);
	msgpack_pack_array(&x.pb.pk, 1);
	msgpack_pack_array(&x.pb.pk, 1);
	sq_pack_cstr(&x.pb.pk, "a");
	cr_assert_eq(popen_done(&x), -EINVAL);
	popen_free(&x);
	/* {1: 2}: names must be strings */
	msgpack_packer *pk = popen_begin(&x, 1);
	msgpack_pack_int(pk, 1);
	msgpack_pack_int(pk, 2);
	cr_assert_eq(popen_done(&x), -EINVAL);
	cr_assert(strstr(x.p.err, "strings"), "%s", x.p.err);
	popen_free(&x);
	/* {bin "\xff": 1}: a bin name must be UTF-8 to be a name */
	pk = popen_begin(&x, 1);
	msgpack_pack_bin_with_body(pk, "\xff", 1);
	msgpack_pack_int(pk, 1);
	cr_assert_eq(popen_done(&x), -EINVAL);
	cr_assert(strstr(x.p.err, "UTF-8"), "%s", x.p.err);
	cr_assert(printable_ascii(x.p.err), "%s", x.p.err);
	popen_free(&x);
}

/* A param name as bin is the name it spells: found, checked against the
 * allowed names, and a duplicate of the same name as str. */
Test(params, a_utf8_bin_name_is_a_param_name)
{
	struct popen x;
	msgpack_packer *pk = popen_begin(&x, 2);
	msgpack_pack_bin_with_body(pk, "path", 4);
	sq_pack_cstr(pk, "/etc");
	msgpack_pack_bin_with_body(pk, "depth", 5);
	msgpack_pack_int(pk, 2);
	cr_assert_eq(popen_done(&x), 0, "%s", x.p.err);
	static const char *const allowed[] = { "path", "depth", NULL };
	cr_assert_eq(sq_params_only(&x.p, allowed), 0, "%s", x.p.err);
	const char *path;
	int64_t depth;
	cr_assert_eq(sq_param_cstr(&x.p, "path", true, &x.zone, &path), 0, "%s", x.p.err);
	cr_assert_str_eq(path, "/etc");
	cr_assert_eq(sq_param_int(&x.p, "depth", true, 0, 9, &depth), 0, "%s", x.p.err);
	cr_assert_eq(depth, 2);
	static const char *const only_path[] = { "path", NULL };
	cr_assert_eq(sq_params_only(&x.p, only_path), -EINVAL);
	cr_assert(strstr(x.p.err, "'depth'"), "%s", x.p.err);
	popen_free(&x);

	/* {"pid": 1, bin "pid": 2}: one name given twice */
	pk = popen_begin(&x, 2);
	sq_pack_kv_u64(pk, "pid", 1);
	msgpack_pack_bin_with_body(pk, "pid", 3);
	msgpack_pack_int(pk, 2);
	cr_assert_eq(popen_done(&x), -EINVAL);
	cr_assert(strstr(x.p.err, "'pid' given twice"), "%s", x.p.err);
	popen_free(&x);
}

Test(params, duplicates_are_refused_by_name)
{
	struct popen x;
	msgpack_packer *pk = popen_begin(&x, 3);
	sq_pack_kv_u64(pk, "pid", 1);
	sq_pack_kv_u64(pk, "signal", 9);
	sq_pack_kv_u64(pk, "pid", 2);
	cr_assert_eq(popen_done(&x), -EINVAL);
	cr_assert(strstr(x.p.err, "'pid'") && strstr(x.p.err, "twice"), "%s", x.p.err);
	popen_free(&x);

	/* empty names (msgpack-c gives them a NULL pointer) */
	pk = popen_begin(&x, 2);
	sq_pack_kv_u64(pk, "", 1);
	sq_pack_kv_u64(pk, "", 2);
	cr_assert_eq(popen_done(&x), -EINVAL);
	cr_assert(strstr(x.p.err, "''") && strstr(x.p.err, "twice"), "%s", x.p.err);
	popen_free(&x);

	pk = popen_begin(&x, 1);
	sq_pack_kv_u64(pk, "", 1);
	cr_assert_eq(popen_done(&x), 0);
	static const char *const allowed[] = { "a", NULL };
	cr_assert_eq(sq_params_only(&x.p, allowed), -EINVAL);
	cr_assert(strstr(x.p.err, "unknown param ''"), "%s", x.p.err);
	popen_free(&x);
}

Test(params, at_most_64_params)
{
	struct popen x;
	char name[16];
	msgpack_packer *pk = popen_begin(&x, 64);
	for (int i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		sq_pack_kv_u64(pk, name, (uint64_t)i);
	}
	cr_assert_eq(popen_done(&x), 0, "%s", x.p.err);
	popen_free(&x);

	pk = popen_begin(&x, 65);
	for (int i = 0; i < 65; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		sq_pack_kv_u64(pk, name, (uint64_t)i);
	}
	cr_assert_eq(popen_done(&x), -EINVAL);
	cr_assert(strstr(x.p.err, "too many"), "%s", x.p.err);
	popen_free(&x);
}

Test(params, only_names_the_unknown_param)
{
	static const char *const allowed[] = { "path", "follow", NULL };
	static const char *const none[] = { NULL };
	struct popen x;
	msgpack_packer *pk = popen_begin(&x, 2);
	sq_pack_kv_str(pk, "path", "/");
	sq_pack_kv_bool(pk, "follow", true);
	cr_assert_eq(popen_done(&x), 0);
	cr_assert_eq(sq_params_only(&x.p, allowed), 0);
	cr_assert_eq(sq_params_only(&x.p, none), -EINVAL);
	cr_assert(strstr(x.p.err, "'path'"), "%s", x.p.err);
	popen_free(&x);

	pk = popen_begin(&x, 2);
	sq_pack_kv_str(pk, "path", "/");
	sq_pack_kv_bool(pk, "pat", true); /* a prefix of an allowed name */
	cr_assert_eq(popen_done(&x), 0);
	cr_assert_eq(sq_params_only(&x.p, allowed), -EINVAL);
	cr_assert(strstr(x.p.err, "unknown param 'pat'"), "%s", x.p.err);
	popen_free(&x);

	pk = popen_begin(&x, 1);
	msgpack_pack_str_with_body(pk, "path\0x", 6); /* NUL inside a name */
	msgpack_pack_nil(pk);
	cr_assert_eq(popen_done(&x), 0);
	cr_assert_eq(sq_params_only(&x.p, allowed), -EINVAL);
	cr_assert_null(sq_param(&x.p, "path"));
	popen_free(&x);

	/* no params at all: nothing unknown */
	pb_init(&x.pb);
	msgpack_pack_array(&x.pb.pk, 0);
	cr_assert_eq(popen_done(&x), 0);
	cr_assert_eq(sq_params_only(&x.p, none), 0);
	popen_free(&x);
}

Test(params, error_messages_stay_short_printable_text)
{
	/* hostile names: long, control characters, bytes that are not UTF-8,
	 * a multi-byte character across the cut: the message goes back on the
	 * wire as a msgpack str and must be valid text */
	static const char *const none[] = { NULL };
	char name[300];
	memset(name, 'a', sizeof(name));
	memcpy(name + 63, "\xc3\xa9", 2);   /* é straddling a 64-byte cut */
	name[100] = '\n';
	name[101] = '\x1b';
	name[102] = (char)0xff;
	struct popen x;
	msgpack_packer *pk = popen_begin(&x, 1);
	msgpack_pack_str_with_body(pk, name, sizeof(name));
	msgpack_pack_nil(pk);
	cr_assert_eq(popen_done(&x), 0);
	cr_assert_eq(sq_params_only(&x.p, none), -EINVAL);
	cr_assert_lt(strlen(x.p.err), sizeof(x.p.err) - 1);
	cr_assert(printable_ascii(x.p.err), "not plain text: %s", x.p.err);
	popen_free(&x);

	pk = popen_begin(&x, 2);
	msgpack_pack_str_with_body(pk, "\xff\x01", 2);
	msgpack_pack_nil(pk);
	msgpack_pack_str_with_body(pk, "\xff\x01", 2);
	msgpack_pack_nil(pk);
	cr_assert_eq(popen_done(&x), -EINVAL);
	cr_assert(strstr(x.p.err, "twice"), "%s", x.p.err);
	cr_assert(printable_ascii(x.p.err), "not plain text: %s", x.p.err);
	popen_free(&x);

	pk = popen_begin(&x, 1);
	msgpack_pack_str_with_body(pk, "\xe2\x82", 2); /* cut UTF-8 */
	msgpack_pack_nil(pk);
	cr_assert_eq(popen_done(&x), 0);
	cr_assert_eq(sq_params_only(&x.p, none), -EINVAL);
	cr_assert(printable_ascii(x.p.err), "not plain text: %s", x.p.err);
	popen_free(&x);
}

Test(params, int_getter_types_ranges_and_absence)
{
	struct popen x;
	msgpack_packer *pk = popen_begin(&x, 9);
	sq_pack_kv_i64(pk, "neg", -5);
	sq_pack_kv_u64(pk, "big", UINT64_MAX);
	sq_pack_kv_u64(pk, "max", INT64_MAX);
	sq_pack_kv_i64(pk, "min", INT64_MIN);
	sq_pack_kv_str(pk, "str", "12");
	sq_pack_kv_double(pk, "flt", 1.0);
	sq_pack_kv_bool(pk, "bool", true);
	sq_pack_cstr(pk, "nil");
	msgpack_pack_nil(pk);
	sq_pack_kv_u64(pk, "ten", 10);
	cr_assert_eq(popen_done(&x), 0);

	int64_t v = 42;
	cr_assert_eq(sq_param_int(&x.p, "neg", true, -5, 5, &v), 0);
	cr_assert_eq(v, -5);
	cr_assert_eq(sq_param_int(&x.p, "neg", true, -4, 5, &v), -EINVAL);
	cr_assert(strstr(x.p.err, "'neg'") && strstr(x.p.err, "range"), "%s", x.p.err);
	cr_assert_eq(sq_param_int(&x.p, "ten", true, 0, 10, &v), 0);
	cr_assert_eq(v, 10);
	cr_assert_eq(sq_param_int(&x.p, "ten", true, 0, 9, &v), -EINVAL);
	cr_assert_eq(sq_param_int(&x.p, "ten", true, 11, 20, &v), -EINVAL);
	cr_assert_eq(sq_param_int(&x.p, "max", true, INT64_MIN, INT64_MAX, &v), 0);
	cr_assert_eq(v, INT64_MAX);
	cr_assert_eq(sq_param_int(&x.p, "min", true, INT64_MIN, INT64_MAX, &v), 0);
	cr_assert_eq(v, INT64_MIN);
	/* above INT64_MAX cannot be represented: a range error, not a wrap */
	v = 42;
	cr_assert_eq(sq_param_int(&x.p, "big", true, INT64_MIN, INT64_MAX, &v), -EINVAL);
	cr_assert_eq(v, 42);
	cr_assert(strstr(x.p.err, "'big'"), "%s", x.p.err);
	/* wrong types name the param */
	const char *wrong[] = { "str", "flt", "bool" };
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(sq_param_int(&x.p, wrong[i], false, 0, 100, &v), -EINVAL, "%s", wrong[i]);
		cr_assert(strstr(x.p.err, wrong[i]) && strstr(x.p.err, "integer"), "%s", x.p.err);
	}
	cr_assert_eq(v, 42);
	/* absent: optional leaves the output alone, required fails */
	cr_assert_eq(sq_param_int(&x.p, "nope", false, 0, 1, &v), 1);
	cr_assert_eq(v, 42);
	cr_assert_eq(sq_param_int(&x.p, "nope", true, 0, 1, &v), -EINVAL);
	cr_assert(strstr(x.p.err, "missing") && strstr(x.p.err, "'nope'"), "%s", x.p.err);
	/* nil counts as absent when optional, and is a wrong type when required */
	cr_assert_eq(sq_param_int(&x.p, "nil", false, 0, 1, &v), 1);
	cr_assert_eq(sq_param_int(&x.p, "nil", true, 0, 1, &v), -EINVAL);
	cr_assert_eq(v, 42);
	popen_free(&x);
}

Test(params, bool_bytes_array_getters)
{
	struct popen x;
	msgpack_packer *pk = popen_begin(&x, 6);
	sq_pack_kv_bool(pk, "t", true);
	sq_pack_kv_u64(pk, "one", 1);
	sq_pack_cstr(pk, "bin");
	msgpack_pack_bin_with_body(pk, "\0\1\2", 3);
	sq_pack_kv_str(pk, "s", "abc");
	sq_pack_cstr(pk, "arr");
	msgpack_pack_array(pk, 2);
	msgpack_pack_int(pk, 1);
	msgpack_pack_int(pk, 2);
	sq_pack_cstr(pk, "map");
	msgpack_pack_map(pk, 0);
	cr_assert_eq(popen_done(&x), 0);

	bool b = false;
	cr_assert_eq(sq_param_bool(&x.p, "t", true, &b), 0);
	cr_assert(b);
	cr_assert_eq(sq_param_bool(&x.p, "one", true, &b), -EINVAL);
	cr_assert(strstr(x.p.err, "'one'") && strstr(x.p.err, "boolean"), "%s", x.p.err);
	cr_assert_eq(sq_param_bool(&x.p, "absent", false, &b), 1);
	cr_assert_eq(sq_param_bool(&x.p, "absent", true, &b), -EINVAL);

	const char *ptr = NULL;
	size_t len = 0;
	cr_assert_eq(sq_param_bytes(&x.p, "bin", true, &ptr, &len), 0);
	cr_assert_eq(len, 3);
	cr_assert_eq(memcmp(ptr, "\0\1\2", 3), 0);
	cr_assert(ptr >= x.pb.b.data && ptr < x.pb.b.data + x.pb.b.len, "points into the message");
	cr_assert_eq(sq_param_bytes(&x.p, "s", true, &ptr, &len), 0);
	cr_assert_eq(len, 3);
	cr_assert_eq(memcmp(ptr, "abc", 3), 0);
	cr_assert_eq(sq_param_bytes(&x.p, "arr", true, &ptr, &len), -EINVAL);
	cr_assert(strstr(x.p.err, "'arr'"), "%s", x.p.err);

	const msgpack_object_array *a = NULL;
	cr_assert_eq(sq_param_array(&x.p, "arr", true, &a), 0);
	cr_assert_eq(a->size, 2);
	cr_assert_eq(a->ptr[1].via.u64, 2);
	cr_assert_eq(sq_param_array(&x.p, "map", true, &a), -EINVAL);
	cr_assert(strstr(x.p.err, "'map'") && strstr(x.p.err, "array"), "%s", x.p.err);
	cr_assert_eq(sq_param_array(&x.p, "none", false, &a), 1);
	popen_free(&x);
}

Test(params, cstr_is_a_terminated_copy_without_nuls)
{
	struct popen x;
	msgpack_packer *pk = popen_begin(&x, 5);
	sq_pack_kv_str(pk, "path", "/etc/passwd");
	sq_pack_cstr(pk, "nul");
	msgpack_pack_str_with_body(pk, "/etc\0/shadow", 12);
	sq_pack_kv_str(pk, "empty", "");
	sq_pack_cstr(pk, "bin");
	msgpack_pack_bin_with_body(pk, "name", 4);
	sq_pack_kv_u64(pk, "num", 7);
	cr_assert_eq(popen_done(&x), 0);

	msgpack_zone z;
	msgpack_zone_init(&z, 256);
	const char *s = NULL;
	cr_assert_eq(sq_param_cstr(&x.p, "path", true, &z, &s), 0);
	cr_assert_str_eq(s, "/etc/passwd");
	cr_assert(s < x.pb.b.data || s >= x.pb.b.data + x.pb.b.len, "a copy, not the frame");
	cr_assert_eq(sq_param_cstr(&x.p, "bin", true, &z, &s), 0);
	cr_assert_str_eq(s, "name");
	cr_assert_eq(sq_param_cstr(&x.p, "empty", true, &z, &s), 0);
	cr_assert_str_eq(s, "");
	s = "untouched";
	cr_assert_eq(sq_param_cstr(&x.p, "nul", true, &z, &s), -EINVAL);
	cr_assert(strstr(x.p.err, "'nul'") && strstr(x.p.err, "NUL"), "%s", x.p.err);
	cr_assert_str_eq(s, "untouched");
	cr_assert_eq(sq_param_cstr(&x.p, "num", true, &z, &s), -EINVAL);
	cr_assert_eq(sq_param_cstr(&x.p, "missing", false, &z, &s), 1);
	cr_assert_eq(sq_param_cstr(&x.p, "missing", true, &z, &s), -EINVAL);
	cr_assert_str_eq(s, "untouched");
	msgpack_zone_destroy(&z);
	popen_free(&x);
}

/* ---- encoders ----------------------------------------------------------------- */

Test(encode, response_head_then_result)
{
	struct pb p;
	msgpack_zone z;
	pb_init(&p);
	msgpack_zone_init(&z, 256);
	sq_pack_response_head(&p.pk, 123456);
	msgpack_pack_map(&p.pk, 6);
	sq_pack_kv_str(&p.pk, "s", "x");
	sq_pack_kv_str(&p.pk, "null", NULL);
	sq_pack_kv_u64(&p.pk, "u", UINT64_MAX);
	sq_pack_kv_i64(&p.pk, "i", INT64_MIN);
	sq_pack_kv_bool(&p.pk, "f", false);
	sq_pack_kv_double(&p.pk, "d", -2.5);
	msgpack_object o = unpack_one(&p.b, &z);
	cr_assert_eq(o.type, MSGPACK_OBJECT_ARRAY);
	cr_assert_eq(o.via.array.size, 4);
	const msgpack_object *e = o.via.array.ptr;
	cr_assert_eq(e[0].via.u64, 1);
	cr_assert_eq(e[1].via.u64, 123456);
	cr_assert_eq(e[2].type, MSGPACK_OBJECT_NIL);
	const msgpack_object *r = &e[3];
	cr_assert(sq_obj_streq(sq_map_get(r, "s"), "x"));
	cr_assert_eq(sq_map_get(r, "null")->type, MSGPACK_OBJECT_NIL);
	cr_assert_eq(sq_map_get(r, "u")->via.u64, UINT64_MAX);
	cr_assert_eq(sq_map_get(r, "i")->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
	cr_assert_eq(sq_map_get(r, "i")->via.i64, INT64_MIN);
	cr_assert_eq(sq_map_get(r, "f")->type, MSGPACK_OBJECT_BOOLEAN);
	cr_assert_not(sq_map_get(r, "f")->via.boolean);
	cr_assert_eq(sq_map_get(r, "d")->via.f64, -2.5);
	cr_assert_null(sq_map_get(r, "absent"));
	cr_assert_null(sq_map_get(r, "n"), "a prefix of a key is not the key");
	cr_assert_null(sq_map_get(&e[1], "s"), "not a map");
	cr_assert_null(sq_map_get(NULL, "s"));
	msgpack_zone_destroy(&z);
	sq_buf_free(&p.b);
}

Test(encode, error_response_round_trips)
{
	struct pb p;
	msgpack_zone z;
	struct sq_msg m;
	const char *why;
	pb_init(&p);
	msgpack_zone_init(&z, 256);
	sq_pack_error_response(&p.pk, 77, "EACCES", "no: /root");
	cr_assert_eq(parse(&p, &z, &m, &why), 0);
	cr_assert_eq(m.type, SQ_MSG_RESPONSE);
	cr_assert_eq(m.msgid, 77);
	cr_assert_eq(m.error.type, MSGPACK_OBJECT_MAP);
	cr_assert_eq(m.error.via.map.size, 2);
	cr_assert(sq_obj_streq(sq_map_get(&m.error, "code"), "EACCES"));
	cr_assert(sq_obj_streq(sq_map_get(&m.error, "message"), "no: /root"));
	cr_assert_eq(m.result.type, MSGPACK_OBJECT_NIL);
	msgpack_zone_destroy(&z);
	sq_buf_free(&p.b);
}

Test(encode, request_and_notification_round_trip_through_the_scanner)
{
	struct pb p;
	pb_init(&p);
	sq_pack_request_head(&p.pk, 1, "proc.get");
	msgpack_pack_array(&p.pk, 1);
	msgpack_pack_map(&p.pk, 1);
	sq_pack_kv_i64(&p.pk, "pid", 1);
	size_t first = p.b.len;
	sq_pack_notify_head(&p.pk, "sys.error");
	msgpack_pack_array(&p.pk, 0);

	size_t flen;
	cr_assert_eq(sq_frame_scan(p.b.data, p.b.len, &sq_default_limits, &flen), 0);
	cr_assert_eq(flen, first);
	msgpack_zone z;
	struct sq_msg m;
	const char *why;
	msgpack_zone_init(&z, 256);
	cr_assert_eq(sq_msg_parse(p.b.data, flen, &z, &m, &why), 0);
	cr_assert_eq(m.type, SQ_MSG_REQUEST);
	cr_assert_eq(m.msgid, 1);
	struct sq_params prm;
	cr_assert_eq(sq_params_open(&prm, &m.params), 0);
	int64_t pid = 0;
	cr_assert_eq(sq_param_int(&prm, "pid", true, 1, 1 << 22, &pid), 0);
	cr_assert_eq(pid, 1);

	size_t rest = p.b.len - first;
	cr_assert_eq(sq_frame_scan(p.b.data + first, rest, &sq_default_limits, &flen), 0);
	cr_assert_eq(flen, rest);
	cr_assert_eq(sq_msg_parse(p.b.data + first, rest, &z, &m, &why), 0);
	cr_assert_eq(m.type, SQ_MSG_NOTIFY);
	cr_assert_eq(m.params.via.array.size, 0);
	msgpack_zone_destroy(&z);
	sq_buf_free(&p.b);
}

Test(encode, streq_compares_str_and_bin_exactly)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_STR };
	o.via.str.ptr = "abc";
	o.via.str.size = 3;
	cr_assert(sq_obj_streq(&o, "abc"));
	cr_assert_not(sq_obj_streq(&o, "ab"));
	cr_assert_not(sq_obj_streq(&o, "abcd"));
	o.type = MSGPACK_OBJECT_BIN;
	o.via.bin.ptr = "abc";
	o.via.bin.size = 3;
	cr_assert(sq_obj_streq(&o, "abc"));
	o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
	o.via.u64 = 3;
	cr_assert_not(sq_obj_streq(&o, "abc"));
}

Test(encode, empty_strings_and_keys)
{
	/* zero-length str and bin (their pointer may be anything) */
	struct pb p;
	msgpack_zone z;
	pb_init(&p);
	msgpack_zone_init(&z, 256);
	msgpack_pack_map(&p.pk, 2);
	sq_pack_kv_str(&p.pk, "", "");
	sq_pack_cstr(&p.pk, "b");
	msgpack_pack_bin_with_body(&p.pk, "", 0);
	msgpack_object o = unpack_one(&p.b, &z);
	cr_assert(sq_obj_streq(sq_map_get(&o, ""), ""));
	cr_assert(sq_obj_streq(sq_map_get(&o, "b"), ""));
	cr_assert_not(sq_obj_streq(sq_map_get(&o, "b"), "x"));
	msgpack_zone_destroy(&z);
	sq_buf_free(&p.b);
}

/* ---- sq_buf ------------------------------------------------------------------- */

Test(buf, grows_by_doubling_and_keeps_content)
{
	struct sq_buf b;
	sq_buf_init(&b);
	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, 0);
	cr_assert_eq(sq_buf_append(&b, "x", 0), 0);
	cr_assert_null(b.data, "an empty append allocates nothing");
	cr_assert_eq(sq_buf_reserve(&b, 0), 0);

	char chunk[100];
	size_t total = 0;
	for (int i = 0; i < 100; i++) {
		memset(chunk, 'A' + i % 26, sizeof(chunk));
		cr_assert_eq(sq_buf_append(&b, chunk, sizeof(chunk)), 0);
		total += sizeof(chunk);
		cr_assert_eq(b.len, total);
		cr_assert_geq(b.cap, b.len);
		/* powers of two from 256 */
		cr_assert_eq(b.cap & (b.cap - 1), 0, "cap %zu", b.cap);
		cr_assert_geq(b.cap, 256);
	}
	for (int i = 0; i < 100; i++)
		for (size_t k = 0; k < sizeof(chunk); k++)
			cr_assert_eq(b.data[(size_t)i * sizeof(chunk) + k], 'A' + i % 26);
	cr_assert_eq(b.cap, 16384);

	/* reserving what is already free does not move the data */
	char *before = b.data;
	cr_assert_eq(sq_buf_reserve(&b, b.cap - b.len), 0);
	cr_assert_eq(b.data, before);
	sq_buf_free(&b);
	cr_assert_null(b.data);
	cr_assert_eq(b.len + b.cap, 0);
}

Test(buf, impossible_sizes_fail_cleanly)
{
	struct sq_buf b;
	sq_buf_init(&b);
	cr_assert_eq(sq_buf_reserve(&b, SIZE_MAX), -ENOMEM);
	cr_assert_eq(sq_buf_append(&b, "abc", 3), 0);
	cr_assert_eq(sq_buf_reserve(&b, SIZE_MAX - 1), -ENOMEM); /* len + extra wraps */
	cr_assert_eq(sq_buf_reserve(&b, SIZE_MAX / 2 + 2), -ENOMEM);
	cr_assert_eq(b.len, 3);
	cr_assert_eq(memcmp(b.data, "abc", 3), 0);
	sq_buf_free(&b);
}

Test(buf, consume_drops_from_the_front)
{
	struct sq_buf b;
	sq_buf_init(&b);
	cr_assert_eq(sq_buf_append(&b, "0123456789", 10), 0);
	sq_buf_consume(&b, 0);
	cr_assert_eq(b.len, 10);
	sq_buf_consume(&b, 3);
	cr_assert_eq(b.len, 7);
	cr_assert_eq(memcmp(b.data, "3456789", 7), 0);
	size_t cap = b.cap;
	sq_buf_consume(&b, 100);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, cap, "consuming keeps the allocation");
	cr_assert_eq(sq_buf_append(&b, "ab", 2), 0);
	cr_assert_eq(memcmp(b.data, "ab", 2), 0);
	sq_buf_consume(&b, 2);
	cr_assert_eq(b.len, 0);
	sq_buf_free(&b);

	/* consuming from a never-used buffer is harmless */
	sq_buf_init(&b);
	sq_buf_consume(&b, 5);
	cr_assert_eq(b.len, 0);
}

Test(buf, is_a_msgpack_write_target)
{
	struct sq_buf b;
	sq_buf_init(&b);
	cr_assert_eq(sq_buf_write(&b, "xyz", 3), 0);
	cr_assert_eq(b.len, 3);
	msgpack_packer pk;
	sq_packer_init(&pk, &b);
	msgpack_pack_uint8(&pk, 0xcc);
	cr_assert_eq(b.len, 5);
	cr_assert_eq((unsigned char)b.data[3], 0xcc);
	cr_assert_eq((unsigned char)b.data[4], 0xcc);
	sq_buf_free(&b);
}

/* A cloned object owns all its bytes: the buffer it was decoded from can
 * be overwritten (as the loop's read buffer is) and the clone is the same. */
Test(msg, a_clone_outlives_its_buffer)
{
	struct sq_buf b;
	sq_buf_init(&b);
	msgpack_packer pk;
	sq_packer_init(&pk, &b);
	msgpack_pack_map(&pk, 3);
	sq_pack_kv_str(&pk, "path", "/etc/hostname");
	sq_pack_cstr(&pk, "value");
	msgpack_pack_bin_with_body(&pk, "\0\1\2", 3);
	sq_pack_cstr(&pk, "list");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int(&pk, -7);
	msgpack_pack_map(&pk, 1);
	sq_pack_kv_str(&pk, "k", "v");

	msgpack_zone parse, keep;
	msgpack_zone_init(&parse, 256);
	msgpack_zone_init(&keep, 256);
	msgpack_object src, copy;
	size_t off = 0;
	cr_assert_eq(msgpack_unpack(b.data, b.len, &off, &parse, &src), MSGPACK_UNPACK_SUCCESS);
	cr_assert_eq(sq_obj_clone(&keep, &src, &copy), 0);
	memset(b.data, 'X', b.len); /* the decoded strings pointed in here */
	msgpack_zone_destroy(&parse);

	cr_assert(sq_obj_streq(sq_map_get(&copy, "path"), "/etc/hostname"));
	const msgpack_object *v = sq_map_get(&copy, "value");
	cr_assert(v && v->type == MSGPACK_OBJECT_BIN && v->via.bin.size == 3 &&
	          memcmp(v->via.bin.ptr, "\0\1\2", 3) == 0);
	const msgpack_object *l = sq_map_get(&copy, "list");
	cr_assert(l && l->type == MSGPACK_OBJECT_ARRAY && l->via.array.size == 2);
	cr_assert_eq(l->via.array.ptr[0].via.i64, -7);
	cr_assert(sq_obj_streq(sq_map_get(&l->via.array.ptr[1], "k"), "v"));
	msgpack_zone_destroy(&keep);
	sq_buf_free(&b);
}
