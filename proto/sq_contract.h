/* SPDX-License-Identifier: ISC */
/*
 * sq_contract.h - a method's contract as data: its params (names, types,
 * ranges, defaults, allowed values), the shape of its result and the error
 * codes it answers.  daemon/methods.c holds one contract per method; this
 * is the vocabulary, the params check every request goes through before
 * its handler runs, and the packing of a contract for sys.methods.
 */
#ifndef SQ_CONTRACT_H
#define SQ_CONTRACT_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

#include "sq_proto.h"

/* Value types, as bits: a value may have one of several (str|bin). */
enum {
	SQ_T_NIL = 1u << 0,
	SQ_T_BOOL = 1u << 1,
	SQ_T_INT = 1u << 2,   /* signed or unsigned msgpack integer */
	SQ_T_FLOAT = 1u << 3,
	SQ_T_STR = 1u << 4,
	SQ_T_BIN = 1u << 5,
	SQ_T_ARRAY = 1u << 6, /* elements: .items */
	SQ_T_MAP = 1u << 7,   /* keys: .keys when they are known */
	SQ_T_ANY = 1u << 8,   /* anything (described in PROTOCOL.md) */
	SQ_T_NTYPES = 9,
};

/*
 * One param, one element type, or one key of a result map.  Constraints
 * hold for the types they concern (min/max for ints, values for strs) and
 * are ignored for the others.  Lists of fields end with a { NULL } entry.
 */
struct sq_field {
	const char *name;              /* NULL: an element type or a whole result */
	unsigned types;                /* SQ_T_* bits */
	bool required;                 /* params: must be given; result keys: always there */
	bool ranged;                   /* ints: min..max, inclusive */
	int64_t min, max;
	bool has_default;              /* an optional int or bool param's value when absent */
	int64_t def;                   /* (bool: 0 or 1) */
	const char *const *values;     /* strs: the only values allowed (NULL-terminated) */
	bool no_nul;                   /* str/bin: no NUL byte (paths, names) */
	uint32_t max_items;            /* arrays: most elements (0: no limit of its own) */
	const struct sq_field *items;  /* arrays: the element type */
	const struct sq_field *keys;   /* maps: the keys, NULL-terminated */
	const char *note;              /* params: added to a range error's message */
};

/*
 * Checks p (already opened) against params: an unknown name, a missing
 * required one, a value of a wrong type, out of range, not among the values,
 * with a NUL where none may be, or an array with too many elements or an
 * element that does not fit.  0, -EINVAL or -E2BIG (too many elements) with
 * p->err naming the param.  A nil value of an optional param counts as absent.
 */
int sq_params_check(struct sq_params *p, const struct sq_field *params);

/* The field called name in a NULL-terminated list, or NULL. */
const struct sq_field *sq_field_find(const struct sq_field *list, const char *name);

/* Whether a param was given (a nil one was not). */
bool sq_params_has(const struct sq_params *p, const char *name);
/* A checked int or bool param's value: the one given, else the default
 * (0 / false without one). */
int64_t sq_params_int(const struct sq_params *p, const struct sq_field *params,
                      const char *name);
bool sq_params_bool(const struct sq_params *p, const struct sq_field *params,
                    const char *name);

/* The name of one SQ_T_* bit: "str", "int", ... */
const char *sq_type_name(unsigned bit);

/* Pack a field (a param, a result) as a map: name, types, required, min,
 * max, default, values, no_nul, max_items, items, keys (only what applies). */
void sq_field_pack(msgpack_packer *pk, const struct sq_field *f);
/* Pack a NULL-terminated list of fields as an array of those maps. */
void sq_fields_pack(msgpack_packer *pk, const struct sq_field *list);

/* One line for people, e.g. "{path: str|bin, timeout_ms?: int 1..10000 = 1000}":
 * '?' marks an optional param, "= v" its default.  Truncated to fit size. */
void sq_params_synopsis(const struct sq_field *params, char *buf, size_t size);

#endif
