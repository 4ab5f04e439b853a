/* SPDX-License-Identifier: ISC */
/*
 * params.c - typed access to a request's named params.
 *
 * params on the wire is [] or [{name: value, ...}].  Every getter either
 * yields a value of the right type and range or fails with -EINVAL and a
 * message naming the param, which the daemon sends back verbatim.  A name
 * may be a str or a bin that is valid UTF-8 (taken as the str it spells).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sq_proto.h"
#include "sq_utf8.h"

#define SQ_MAX_PARAMS 64

static int bad(struct sq_params *p, const char *fmt, const char *name)
{
	snprintf(p->err, sizeof(p->err), fmt, name);
	return -EINVAL;
}

/* The bytes of a param name: a str, or a bin (some clients' libraries send
 * every string as bin); sq_params_open lets a bin through only when it is
 * valid UTF-8, so that it is the str it spells. */
static bool key_bytes(const msgpack_object *k, const char **p, uint32_t *n)
{
	if (k->type == MSGPACK_OBJECT_STR) {
		*p = k->via.str.ptr;
		*n = k->via.str.size;
		return true;
	}
	if (k->type == MSGPACK_OBJECT_BIN) {
		*p = k->via.bin.ptr;
		*n = k->via.bin.size;
		return true;
	}
	return false;
}

/* A client-chosen param name as message text (sq_text_show), so the error
 * str stays valid UTF-8. */
static const char *key_text(char dst[72], const msgpack_object *k)
{
	const char *p = NULL;
	uint32_t len = 0;
	key_bytes(k, &p, &len);
	return sq_text_show(dst, 72, p, len, 0);
}

/* An empty str from msgpack-c has a NULL pointer: n == 0 never reaches memcmp. */
static bool key_is(const msgpack_object *k, const char *name, size_t n)
{
	const char *p;
	uint32_t len;
	return key_bytes(k, &p, &len) && len == n && (n == 0 || memcmp(p, name, n) == 0);
}

int sq_params_open(struct sq_params *p, const msgpack_object *params)
{
	p->map = NULL;
	p->err[0] = '\0';
	if (!params || params->type != MSGPACK_OBJECT_ARRAY)
		return bad(p, "%s", "params must be an array");
	if (params->via.array.size == 0)
		return 0;
	const msgpack_object *o = &params->via.array.ptr[0];
	if (params->via.array.size > 1 ||
	    (o->type != MSGPACK_OBJECT_MAP && o->type != MSGPACK_OBJECT_NIL))
		return bad(p, "%s", "params must be [] or [{name: value, ...}]");
	if (o->type == MSGPACK_OBJECT_NIL)
		return 0;
	const msgpack_object_map *m = &o->via.map;
	if (m->size > SQ_MAX_PARAMS)
		return bad(p, "%s", "too many params");
	for (uint32_t i = 0; i < m->size; i++) {
		const msgpack_object *k = &m->ptr[i].key;
		const char *key;
		uint32_t len;
		char name[72];
		if (!key_bytes(k, &key, &len))
			return bad(p, "%s", "param names must be strings");
		if (k->type == MSGPACK_OBJECT_BIN && !sq_utf8_valid(key, len))
			return bad(p, "param name '%s' is a bin that is not valid UTF-8",
			           key_text(name, k));
		for (uint32_t j = 0; j < i; j++)
			if (key_is(&m->ptr[j].key, key, len))
				return bad(p, "param '%s' given twice", key_text(name, k));
	}
	p->map = m;
	return 0;
}

int sq_params_only(struct sq_params *p, const char *const *allowed)
{
	if (!p->map)
		return 0;
	for (uint32_t i = 0; i < p->map->size; i++) {
		const msgpack_object *k = &p->map->ptr[i].key;
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = key_is(k, *a, strlen(*a));
		if (!ok) {
			char name[72];
			return bad(p, "unknown param '%s'", key_text(name, k));
		}
	}
	return 0;
}

const msgpack_object *sq_param(const struct sq_params *p, const char *name)
{
	if (!p->map)
		return NULL;
	size_t n = strlen(name);
	for (uint32_t i = 0; i < p->map->size; i++)
		if (key_is(&p->map->ptr[i].key, name, n))
			return &p->map->ptr[i].val;
	return NULL;
}

/* Common prologue: 1 absent-optional, 0 present, -EINVAL missing. */
static int lookup(struct sq_params *p, const char *name, bool required,
                  const msgpack_object **o)
{
	*o = sq_param(p, name);
	if (*o && (*o)->type == MSGPACK_OBJECT_NIL && !required)
		*o = NULL;
	if (*o)
		return 0;
	return required ? bad(p, "missing required param '%s'", name) : 1;
}

int sq_param_int(struct sq_params *p, const char *name, bool required,
                 int64_t min, int64_t max, int64_t *out)
{
	const msgpack_object *o;
	int rc = lookup(p, name, required, &o);
	if (rc)
		return rc;
	int64_t v;
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (o->via.u64 > INT64_MAX)
			goto range;
		v = (int64_t)o->via.u64;
	} else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		v = o->via.i64;
	} else {
		return bad(p, "param '%s' must be an integer", name);
	}
	if (v < min || v > max)
		goto range;
	*out = v;
	return 0;
range:
	snprintf(p->err, sizeof(p->err), "param '%s' out of range (%" PRId64
	         "..%" PRId64 ")", name, min, max);
	return -EINVAL;
}

int sq_param_bool(struct sq_params *p, const char *name, bool required, bool *out)
{
	const msgpack_object *o;
	int rc = lookup(p, name, required, &o);
	if (rc)
		return rc;
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return bad(p, "param '%s' must be a boolean", name);
	*out = o->via.boolean;
	return 0;
}

int sq_param_bytes(struct sq_params *p, const char *name, bool required,
                   const char **ptr, size_t *len)
{
	const msgpack_object *o;
	int rc = lookup(p, name, required, &o);
	if (rc)
		return rc;
	if (o->type == MSGPACK_OBJECT_STR) {
		*ptr = o->via.str.ptr;
		*len = o->via.str.size;
	} else if (o->type == MSGPACK_OBJECT_BIN) {
		*ptr = o->via.bin.ptr;
		*len = o->via.bin.size;
	} else {
		return bad(p, "param '%s' must be a string or bin", name);
	}
	return 0;
}

int sq_param_cstr(struct sq_params *p, const char *name, bool required,
                  msgpack_zone *zone, const char **out)
{
	const char *ptr;
	size_t len;
	int rc = sq_param_bytes(p, name, required, &ptr, &len);
	if (rc)
		return rc;
	if (len && memchr(ptr, '\0', len))
		return bad(p, "param '%s' must not contain NUL bytes", name);
	char *s = msgpack_zone_malloc_no_align(zone, len + 1);
	if (!s)
		return -ENOMEM;
	if (len) /* ptr is NULL for an empty str */
		memcpy(s, ptr, len);
	s[len] = '\0';
	*out = s;
	return 0;
}

int sq_param_array(struct sq_params *p, const char *name, bool required,
                   const msgpack_object_array **out)
{
	const msgpack_object *o;
	int rc = lookup(p, name, required, &o);
	if (rc)
		return rc;
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return bad(p, "param '%s' must be an array", name);
	*out = &o->via.array;
	return 0;
}
