/* SPDX-License-Identifier: ISC */
/*
 * fuzz_decode.c - libFuzzer harness for everything that reads untrusted
 * bytes before a handler runs: the bounded frame scanner, msgpack-rpc
 * message parsing, and the typed params getters.  Invariants checked:
 * a frame the scanner accepts is exactly one msgpack object to msgpack-c
 * too, and nothing reads outside the input (ASan).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sq_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void poke_params(const msgpack_object *params, msgpack_zone *zone)
{
	struct sq_params p;
	if (sq_params_open(&p, params) < 0)
		return;
	static const char *const names[] = { "path", "name", "pid", "signal", "fields",
	                                     "value", "nofollow", "timeout_ms", NULL };
	(void)sq_params_only(&p, names);
	int64_t i;
	bool b;
	const char *s;
	size_t n;
	const msgpack_object_array *a;
	for (const char *const *k = names; *k; k++) {
		(void)sq_param_int(&p, *k, false, -5, 1 << 30, &i);
		(void)sq_param_bool(&p, *k, false, &b);
		(void)sq_param_cstr(&p, *k, false, zone, &s);
		(void)sq_param_bytes(&p, *k, false, &s, &n);
		(void)sq_param_array(&p, *k, false, &a);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t off = 0;
	msgpack_zone zone;
	msgpack_zone_init(&zone, 1024);

	while (off < size) {
		size_t flen;
		int rc = sq_frame_scan(buf + off, size - off, &sq_default_limits, &flen);
		if (rc < 0)
			break;
		/* the scanner's frame must be one whole object for msgpack-c too */
		msgpack_object obj;
		size_t used = 0;
		msgpack_unpack_return ur = msgpack_unpack(buf + off, flen, &used, &zone, &obj);
		if (ur != MSGPACK_UNPACK_SUCCESS || used != flen)
			abort();
		struct sq_msg m;
		const char *why;
		if (sq_msg_parse(buf + off, flen, &zone, &m, &why) == 0 &&
		    m.type != SQ_MSG_RESPONSE)
			poke_params(&m.params, &zone);
		msgpack_zone_clear(&zone);
		off += flen;
	}
	msgpack_zone_destroy(&zone);
	return 0;
}
