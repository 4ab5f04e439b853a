/* SPDX-License-Identifier: ISC */
/*
 * contract.c - method contracts as data (sq_contract.h): checking a
 * request's params against one, reading checked values and defaults, and
 * packing a contract (typed params, result shape) or a one-line synopsis.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sq_contract.h"

#define SQ_CONTRACT_MAX_PARAMS 16

static const char *const type_names[SQ_T_NTYPES] = {
	"nil", "bool", "int", "float", "str", "bin", "array", "map", "any",
};

const char *sq_type_name(unsigned bit)
{
	for (unsigned i = 0; i < SQ_T_NTYPES; i++)
		if (bit == 1u << i)
			return type_names[i];
	return "?";
}

const struct sq_field *sq_field_find(const struct sq_field *list, const char *name)
{
	for (; list && list->name; list++)
		if (strcmp(list->name, name) == 0)
			return list;
	return NULL;
}

static int fail(struct sq_params *p, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct sq_params *p, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	return err;
}

static unsigned type_of(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: return SQ_T_NIL;
	case MSGPACK_OBJECT_BOOLEAN: return SQ_T_BOOL;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return SQ_T_INT;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return SQ_T_FLOAT;
	case MSGPACK_OBJECT_STR: return SQ_T_STR;
	case MSGPACK_OBJECT_BIN: return SQ_T_BIN;
	case MSGPACK_OBJECT_ARRAY: return SQ_T_ARRAY;
	case MSGPACK_OBJECT_MAP: return SQ_T_MAP;
	default: return 0;
	}
}

/* "an integer", "a string or bin", ... for messages. */
static const char *kind_text(unsigned types)
{
	static const struct { unsigned t; const char *text; } k[] = {
		{ SQ_T_BOOL, "a boolean" },
		{ SQ_T_INT, "an integer" },
		{ SQ_T_STR, "a string" },
		{ SQ_T_STR | SQ_T_BIN, "a string or bin" },
		{ SQ_T_BIN, "a bin" },
		{ SQ_T_STR | SQ_T_INT, "a string or an integer" },
		{ SQ_T_ARRAY, "an array" },
		{ SQ_T_MAP, "a map" },
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (k[i].t == (types & ~SQ_T_NIL))
			return k[i].text;
	return "of another type";
}

/* The allowed values for a message: "\"create\", \"replace\"". */
static void values_text(const char *const *v, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; v[i] && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s\"%s\"", i == 0 ? "" : ", ", v[i]);
}

static bool in_values(const char *const *v, const msgpack_object *o)
{
	for (; *v; v++)
		if (sq_obj_streq(o, *v))
			return true;
	return false;
}

/* One value against its field; what names it in messages: "param 'x'" or
 * "param 'x'[3]". */
static int check_value(struct sq_params *p, const struct sq_field *f,
                       const msgpack_object *o, const char *what)
{
	unsigned t = type_of(o);
	char list[160];
	if (!(t & f->types) && !(f->types & SQ_T_ANY))
		return fail(p, -EINVAL, "%s must be %s", what, kind_text(f->types));
	if (t == SQ_T_INT && f->ranged) {
		bool ok = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
		          ? f->max >= 0 && o->via.u64 <= (uint64_t)f->max &&
		            (f->min <= 0 || o->via.u64 >= (uint64_t)f->min)
		          : o->via.i64 >= f->min && o->via.i64 <= f->max;
		if (!ok)
			return fail(p, -EINVAL, "%s out of range (%" PRId64 "..%" PRId64 ")%s%s",
			            what, f->min, f->max, f->note ? ": " : "",
			            f->note ? f->note : "");
	}
	if (t == SQ_T_STR && f->values && !in_values(f->values, o)) {
		values_text(f->values, list, sizeof(list));
		return fail(p, -EINVAL, "%s must be one of %s", what, list);
	}
	if ((t == SQ_T_STR || t == SQ_T_BIN) && f->no_nul && o->via.str.size &&
	    memchr(o->via.str.ptr, '\0', o->via.str.size))
		return fail(p, -EINVAL, "%s must not contain NUL bytes", what);
	if (t == SQ_T_ARRAY) {
		const msgpack_object_array *a = &o->via.array;
		if (f->max_items && a->size > f->max_items)
			return fail(p, -E2BIG, "%s has %" PRIu32 " elements (max %" PRIu32 ")",
			            what, a->size, f->max_items);
		for (uint32_t i = 0; f->items && i < a->size; i++) {
			char el[96];
			snprintf(el, sizeof(el), "%s[%" PRIu32 "]", what, i);
			int rc = check_value(p, f->items, &a->ptr[i], el);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int sq_params_check(struct sq_params *p, const struct sq_field *params)
{
	const char *names[SQ_CONTRACT_MAX_PARAMS + 1];
	size_t n = 0;
	for (const struct sq_field *f = params; f && f->name; f++)
		if (n < SQ_CONTRACT_MAX_PARAMS)
			names[n++] = f->name;
	names[n] = NULL;
	int rc = sq_params_only(p, names);
	if (rc < 0)
		return rc;
	for (const struct sq_field *f = params; f && f->name; f++) {
		const msgpack_object *o = sq_param(p, f->name);
		if (o && o->type == MSGPACK_OBJECT_NIL && !(f->types & SQ_T_NIL))
			o = NULL; /* nil: absent */
		if (!o) {
			if (f->required)
				return fail(p, -EINVAL, "missing required param '%s'", f->name);
			continue;
		}
		char what[80];
		snprintf(what, sizeof(what), "param '%s'", f->name);
		if ((rc = check_value(p, f, o, what)) < 0)
			return rc;
	}
	return 0;
}

static const msgpack_object *given(const struct sq_params *p, const char *name)
{
	const msgpack_object *o = sq_param(p, name);
	return o && o->type != MSGPACK_OBJECT_NIL ? o : NULL;
}

bool sq_params_has(const struct sq_params *p, const char *name)
{
	return given(p, name) != NULL;
}

int64_t sq_params_int(const struct sq_params *p, const struct sq_field *params,
                      const char *name)
{
	const msgpack_object *o = given(p, name);
	if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return o->via.u64 > INT64_MAX ? INT64_MAX : (int64_t)o->via.u64;
	if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return o->via.i64;
	const struct sq_field *f = sq_field_find(params, name);
	return f && f->has_default ? f->def : 0;
}

bool sq_params_bool(const struct sq_params *p, const struct sq_field *params,
                    const char *name)
{
	const msgpack_object *o = given(p, name);
	if (o && o->type == MSGPACK_OBJECT_BOOLEAN)
		return o->via.boolean;
	const struct sq_field *f = sq_field_find(params, name);
	return f && f->has_default && f->def;
}

/* ---- packing ------------------------------------------------------------ */

static unsigned count_types(unsigned types)
{
	unsigned n = 0;
	for (unsigned i = 0; i < SQ_T_NTYPES; i++)
		n += (types >> i) & 1u;
	return n;
}

void sq_fields_pack(msgpack_packer *pk, const struct sq_field *list)
{
	size_t n = 0;
	for (const struct sq_field *f = list; f && f->name; f++)
		n++;
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++)
		sq_field_pack(pk, &list[i]);
}

void sq_field_pack(msgpack_packer *pk, const struct sq_field *f)
{
	bool ints = f->types & SQ_T_INT, strs = f->types & SQ_T_STR;
	bool range = ints && f->ranged, values = strs && f->values;
	bool nonul = (f->types & (SQ_T_STR | SQ_T_BIN)) && f->no_nul;
	bool array = f->types & SQ_T_ARRAY;
	bool items = array && f->items, maxn = array && f->max_items;
	bool keys = (f->types & SQ_T_MAP) && f->keys;
	size_t n = 1u + 2u * (f->name != NULL) + 2u * range + f->has_default + values + nonul +
	           maxn + items + keys;
	msgpack_pack_map(pk, n);
	if (f->name)
		sq_pack_kv_str(pk, "name", f->name);
	sq_pack_cstr(pk, "types");
	msgpack_pack_array(pk, count_types(f->types));
	for (unsigned i = 0; i < SQ_T_NTYPES; i++)
		if (f->types & (1u << i))
			sq_pack_cstr(pk, type_names[i]);
	if (f->name) /* an element or a whole result is there when its container is */
		sq_pack_kv_bool(pk, "required", f->required);
	if (range) {
		sq_pack_kv_i64(pk, "min", f->min);
		sq_pack_kv_i64(pk, "max", f->max);
	}
	if (f->has_default) {
		sq_pack_cstr(pk, "default");
		if (f->types & SQ_T_BOOL) {
			if (f->def)
				msgpack_pack_true(pk);
			else
				msgpack_pack_false(pk);
		} else {
			msgpack_pack_int64(pk, f->def);
		}
	}
	if (values) {
		size_t nv = 0;
		while (f->values[nv])
			nv++;
		sq_pack_cstr(pk, "values");
		msgpack_pack_array(pk, nv);
		for (size_t i = 0; i < nv; i++)
			sq_pack_cstr(pk, f->values[i]);
	}
	if (nonul)
		sq_pack_kv_bool(pk, "no_nul", true);
	if (maxn)
		sq_pack_kv_u64(pk, "max_items", f->max_items);
	if (items) {
		sq_pack_cstr(pk, "items");
		sq_field_pack(pk, f->items);
	}
	if (keys) {
		sq_pack_cstr(pk, "keys");
		sq_fields_pack(pk, f->keys);
	}
}

/* ---- the synopsis ------------------------------------------------------- */

struct text {
	char *buf;
	size_t size, len;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	if (t->len + 1 >= t->size)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len = t->len + (size_t)n < t->size ? t->len + (size_t)n : t->size - 1;
}

static void put_type(struct text *t, const struct sq_field *f)
{
	bool first = true;
	if ((f->types & SQ_T_STR) && f->values) {
		for (size_t i = 0; f->values[i]; i++)
			put(t, "%s\"%s\"", i ? "|" : "", f->values[i]);
		first = false;
	}
	for (unsigned i = 0; i < SQ_T_NTYPES; i++) {
		unsigned bit = 1u << i;
		if (!(f->types & bit) || (bit == SQ_T_STR && f->values))
			continue;
		if (!first)
			put(t, "|");
		first = false;
		if (bit == SQ_T_ARRAY && f->items) {
			put(t, "[");
			put_type(t, f->items);
			if (f->max_items)
				put(t, "; max %" PRIu32, f->max_items);
			put(t, "]");
		} else {
			put(t, "%s", type_names[i]);
		}
	}
	if ((f->types & SQ_T_INT) && f->ranged)
		put(t, " %" PRId64 "..%" PRId64, f->min, f->max);
}

void sq_params_synopsis(const struct sq_field *params, char *buf, size_t size)
{
	struct text t = { buf, size, 0 };
	buf[0] = '\0';
	put(&t, "{");
	for (const struct sq_field *f = params; f && f->name; f++) {
		put(&t, "%s%s%s: ", f == params ? "" : ", ", f->name, f->required ? "" : "?");
		put_type(&t, f);
		if (f->has_default && (f->types & SQ_T_BOOL))
			put(&t, " = %s", f->def ? "true" : "false");
		else if (f->has_default)
			put(&t, " = %" PRId64, f->def);
	}
	put(&t, "}");
}
