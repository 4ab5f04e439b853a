/* SPDX-License-Identifier: ISC */
/*
 * msg.c - msgpack-rpc message shapes: parsing a scanned frame into an
 * sq_msg, encoding requests, responses, errors and notifications, and
 * reading decoded objects (map look-up, str/bin comparison, deep copy).
 */
#include <errno.h>
#include <string.h>

#include "plain_req.h"
#include "sq_proto.h"
#include "sq_utf8.h"

static bool as_u32(const msgpack_object *o, uint32_t *out)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX)
		return false;
	*out = (uint32_t)o->via.u64;
	return true;
}

static int fail(const char **why, const char *reason)
{
	*why = reason;
	return -EPROTO;
}

/* A method name: a str, or a bin holding valid UTF-8 (clients whose msgpack
 * library sends strings as bin, or old-spec raw).  0, -EPROTO for any other
 * type, -EINVAL for a bin that is not UTF-8. */
static int method_name(const msgpack_object *o, struct sq_msg *m, const char **why)
{
	if (o->type == MSGPACK_OBJECT_STR) {
		m->method = o->via.str.ptr;
		m->method_len = o->via.str.size;
		return 0;
	}
	if (o->type != MSGPACK_OBJECT_BIN)
		return fail(why, "method must be a string");
	if (!sq_utf8_valid(o->via.bin.ptr, o->via.bin.size)) {
		*why = "method is a bin that is not valid UTF-8";
		return -EINVAL;
	}
	m->method = o->via.bin.ptr;
	m->method_len = o->via.bin.size;
	return 0;
}

int sq_msg_parse(const char *frame, size_t len, msgpack_zone *zone,
                 struct sq_msg *m, const char **why)
{
	msgpack_object root;
	size_t off = 0;

	memset(m, 0, sizeof(*m));
	*why = NULL;
	/* a request without params needs no decoder and no zone */
	if (len && sq_plain_request(frame, len, &m->msgid, &m->method, &m->method_len) == len) {
		m->type = SQ_MSG_REQUEST;
		m->has_msgid = true;
		m->params.type = MSGPACK_OBJECT_ARRAY;
		return 0;
	}
	msgpack_unpack_return ur = msgpack_unpack(frame, len, &off, zone, &root);
	if (ur != MSGPACK_UNPACK_SUCCESS || off != len)
		return fail(why, "frame is not one msgpack object");
	if (root.type != MSGPACK_OBJECT_ARRAY || root.via.array.size < 3)
		return fail(why, "message must be an array of 3 or 4 elements");

	const msgpack_object *e = root.via.array.ptr;
	uint32_t n = root.via.array.size;
	if (e[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || e[0].via.u64 > 2)
		return fail(why, "message type must be 0, 1 or 2");
	m->type = (int)e[0].via.u64;

	int rc;
	switch (m->type) {
	case SQ_MSG_REQUEST:
		m->has_msgid = as_u32(&e[1], &m->msgid);
		if (!m->has_msgid)
			return fail(why, "msgid must be an unsigned 32-bit integer");
		if (n != 4)
			return fail(why, "request must be [0, msgid, method, params]");
		if ((rc = method_name(&e[2], m, why)) < 0)
			return rc;
		if (e[3].type != MSGPACK_OBJECT_ARRAY)
			return fail(why, "params must be an array");
		m->params = e[3];
		return 0;
	case SQ_MSG_RESPONSE:
		m->has_msgid = as_u32(&e[1], &m->msgid);
		if (!m->has_msgid || n != 4)
			return fail(why, "response must be [1, msgid, error, result]");
		m->error = e[2];
		m->result = e[3];
		return 0;
	default:
		if (n != 3 || (e[1].type != MSGPACK_OBJECT_STR && e[1].type != MSGPACK_OBJECT_BIN) ||
		    e[2].type != MSGPACK_OBJECT_ARRAY)
			return fail(why, "notification must be [2, method, params]");
		if ((rc = method_name(&e[1], m, why)) < 0)
			return rc;
		m->params = e[2];
		return 0;
	}
}

void sq_pack_cstr(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

void sq_pack_text(msgpack_packer *pk, const char *p, size_t n)
{
	if (sq_utf8_valid(p, n))
		msgpack_pack_str_with_body(pk, p, n);
	else
		msgpack_pack_bin_with_body(pk, p, n);
}

void sq_pack_response_head(msgpack_packer *pk, uint32_t msgid)
{
	/* [1, msgid, nil, in one write: the bytes msgpack_pack_array(4),
	 * _uint8(1), _uint32(msgid) and _nil() would write one by one */
	unsigned char h[8];
	size_t n = 0;
	h[n++] = 0x94;
	h[n++] = SQ_MSG_RESPONSE;
	if (msgid < 0x80) {
		h[n++] = (unsigned char)msgid;
	} else if (msgid < 0x100) {
		h[n++] = 0xcc;
		h[n++] = (unsigned char)msgid;
	} else if (msgid < 0x10000) {
		h[n++] = 0xcd;
		h[n++] = (unsigned char)(msgid >> 8);
		h[n++] = (unsigned char)msgid;
	} else {
		h[n++] = 0xce;
		h[n++] = (unsigned char)(msgid >> 24);
		h[n++] = (unsigned char)(msgid >> 16);
		h[n++] = (unsigned char)(msgid >> 8);
		h[n++] = (unsigned char)msgid;
	}
	h[n++] = 0xc0;
	pk->callback(pk->data, (const char *)h, n);
}

void sq_pack_error(msgpack_packer *pk, const char *code, const char *message)
{
	if (!code) {
		msgpack_pack_nil(pk);
		return;
	}
	msgpack_pack_map(pk, 2);
	sq_pack_kv_str(pk, "code", code);
	sq_pack_kv_str(pk, "message", message);
}

void sq_pack_error_response(msgpack_packer *pk, uint32_t msgid,
                            const char *code, const char *message)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, SQ_MSG_RESPONSE);
	msgpack_pack_uint32(pk, msgid);
	sq_pack_error(pk, code, message);
	msgpack_pack_nil(pk);
}

void sq_pack_request_head(msgpack_packer *pk, uint32_t msgid, const char *method)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, SQ_MSG_REQUEST);
	msgpack_pack_uint32(pk, msgid);
	sq_pack_cstr(pk, method);
}

void sq_pack_notify_head(msgpack_packer *pk, const char *method)
{
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint8(pk, SQ_MSG_NOTIFY);
	sq_pack_cstr(pk, method);
}

void sq_pack_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
	sq_pack_cstr(pk, key);
	if (val)
		sq_pack_cstr(pk, val);
	else
		msgpack_pack_nil(pk);
}

void sq_pack_kv_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
	sq_pack_cstr(pk, key);
	msgpack_pack_uint64(pk, v);
}

void sq_pack_kv_i64(msgpack_packer *pk, const char *key, int64_t v)
{
	sq_pack_cstr(pk, key);
	msgpack_pack_int64(pk, v);
}

void sq_pack_kv_bool(msgpack_packer *pk, const char *key, bool v)
{
	sq_pack_cstr(pk, key);
	if (v)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

void sq_pack_kv_double(msgpack_packer *pk, const char *key, double v)
{
	sq_pack_cstr(pk, key);
	msgpack_pack_double(pk, v);
}

/* msgpack-c gives an empty str a NULL pointer: never hand it to memcmp */
void sq_mapbuf_init(struct sq_mapbuf *m)
{
	sq_buf_init(&m->buf);
	sq_packer_init(&m->pk, &m->buf);
	m->n = 0;
}

msgpack_packer *sq_mapbuf_key(struct sq_mapbuf *m, const char *key)
{
	sq_pack_cstr(&m->pk, key);
	m->n++;
	return &m->pk;
}

void sq_mapbuf_finish(struct sq_mapbuf *m, msgpack_packer *out)
{
	msgpack_pack_map(out, m->n);
	if (m->buf.len)
		out->callback(out->data, m->buf.data, m->buf.len);
	sq_buf_free(&m->buf);
}

/* Bytes of a str, bin or ext body, copied into z. */
static int clone_bytes(msgpack_zone *z, const char **ptr, uint32_t size)
{
	if (size == 0)
		return 0;
	char *p = msgpack_zone_malloc(z, size);
	if (!p)
		return -ENOMEM;
	memcpy(p, *ptr, size);
	*ptr = p;
	return 0;
}

int sq_obj_clone(msgpack_zone *z, const msgpack_object *src, msgpack_object *dst)
{
	*dst = *src;
	switch (src->type) {
	case MSGPACK_OBJECT_STR:
		return clone_bytes(z, &dst->via.str.ptr, src->via.str.size);
	case MSGPACK_OBJECT_BIN:
		return clone_bytes(z, &dst->via.bin.ptr, src->via.bin.size);
	case MSGPACK_OBJECT_EXT:
		return clone_bytes(z, &dst->via.ext.ptr, src->via.ext.size);
	case MSGPACK_OBJECT_ARRAY: {
		uint32_t n = src->via.array.size;
		if (n == 0)
			return 0;
		msgpack_object *a = msgpack_zone_malloc(z, n * sizeof(*a));
		if (!a)
			return -ENOMEM;
		dst->via.array.ptr = a;
		for (uint32_t i = 0; i < n; i++)
			if (sq_obj_clone(z, &src->via.array.ptr[i], &a[i]) < 0)
				return -ENOMEM;
		return 0;
	}
	case MSGPACK_OBJECT_MAP: {
		uint32_t n = src->via.map.size;
		if (n == 0)
			return 0;
		msgpack_object_kv *kv = msgpack_zone_malloc(z, n * sizeof(*kv));
		if (!kv)
			return -ENOMEM;
		dst->via.map.ptr = kv;
		for (uint32_t i = 0; i < n; i++)
			if (sq_obj_clone(z, &src->via.map.ptr[i].key, &kv[i].key) < 0 ||
			    sq_obj_clone(z, &src->via.map.ptr[i].val, &kv[i].val) < 0)
				return -ENOMEM;
		return 0;
	}
	default:
		return 0;
	}
}

bool sq_obj_streq(const msgpack_object *obj, const char *s)
{
	if (!obj) /* what sq_map_get gives for a missing key */
		return false;
	size_t n = strlen(s);
	if (obj->type == MSGPACK_OBJECT_STR)
		return obj->via.str.size == n && (n == 0 || memcmp(obj->via.str.ptr, s, n) == 0);
	if (obj->type == MSGPACK_OBJECT_BIN)
		return obj->via.bin.size == n && (n == 0 || memcmp(obj->via.bin.ptr, s, n) == 0);
	return false;
}

const msgpack_object *sq_map_get(const msgpack_object *obj, const char *key)
{
	if (!obj || obj->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < obj->via.map.size; i++)
		if (sq_obj_streq(&obj->via.map.ptr[i].key, key))
			return &obj->via.map.ptr[i].val;
	return NULL;
}
