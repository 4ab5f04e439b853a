/*
 * params.c - typed access to a request's named params.
 *
 * params on the wire is [] or [{name: value, ...}].  Every getter either
 * yields a value of the right type and range or fails with -EINVAL and a
 * message naming the param, which the daemon sends back verbatim.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sq_proto.h"

#define SQ_MAX_PARAMS 64

static int bad(struct sq_params *p, const char *fmt, const char *name)
{
	snprintf(p->err, sizeof(p->err), fmt, name);
	return -EINVAL;
}

/* A client-chosen name, fit for a message: at most 64 bytes, anything but
 * printable ASCII shown as '?', so the error str stays valid UTF-8 text. */
static const char *shown(char dst[72], const msgpack_object *k)
{
	size_t n = k->via.str.size > 64 ? 64 : k->via.str.size;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k->via.str.ptr[i];
		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[n] = '\0';
	return dst;
}

/* An empty str from msgpack-c has a NULL pointer: n == 0 never reaches memcmp. */
static bool key_is(const msgpack_object *k, const char *name, size_t n)
{
	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
	       (n == 0 || memcmp(k->via.str.ptr, name, n) == 0);
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
		if (k->type != MSGPACK_OBJECT_STR)
			return bad(p, "%s", "param names must be strings");
		for (uint32_t j = 0; j < i; j++)
			if (key_is(&m->ptr[j].key, k->via.str.ptr, k->via.str.size)) {
				char name[72];
				return bad(p, "param '%s' given twice", shown(name, k));
			}
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
			return bad(p, "unknown param '%s'", shown(name, k));
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
