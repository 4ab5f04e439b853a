/* SPDX-License-Identifier: ISC */
/*
 * watch_util.c - the watch and process-event suites' shared helpers (see
 * watch_util.h).
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "sq_proto.h"
#include "watch_util.h"

struct sysq *watch_connect(const struct sqd *d)
{
	struct sysq *c = sqd_connect(d);
	struct timeval tv = { 5, 0 };
	setsockopt(sysq_fd(c), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return c;
}

uint64_t watch_subscribe(struct sysq *c, const char *json)
{
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "watch.subscribe", json, &r), 0, "%s: %s %s", json, r.code,
	             r.message);
	const msgpack_object *id = sq_map_get(r.result, "subscription");
	cr_assert(id && id->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
	uint64_t v = id->via.u64;
	sysq_reply_free(&r);
	return v;
}

const msgpack_object *watch_next_event(const struct sqd *d, struct sysq *c, struct sysq_reply *r,
                                       uint64_t sub, bool only_sub)
{
	for (;;) {
		int rc = sysq_read(c, r);
		if (rc) {
			char *log = slurp(d->log);
			size_t n = strlen(log);
			cr_assert_fail("no event within the deadline (%s); sysqd's log ends:\n%s",
			               strerror(-rc), log + (n > 1500 ? n - 1500 : 0));
		}
		if (r->type == 2 && strcmp(r->method, "watch.event") == 0) {
			bool one = r->result->type == MSGPACK_OBJECT_ARRAY &&
			           r->result->via.array.size == 1;
			cr_assert(one || !only_sub, "a watch.event's params are one map");
			const msgpack_object *e = one ? &r->result->via.array.ptr[0] : NULL;
			const msgpack_object *s = e ? sq_map_get(e, "subscription") : NULL;
			bool ours = s && s->type == MSGPACK_OBJECT_POSITIVE_INTEGER && s->via.u64 == sub;
			cr_assert(ours || !only_sub, "the event names its subscription");
			if (ours)
				return e;
		}
		sysq_reply_free(r);
	}
}

bool ev_is(const msgpack_object *e, const char *key, const char *val)
{
	return sq_obj_streq(sq_map_get(e, key), val);
}

long long ev_num(const msgpack_object *e, const char *key)
{
	const msgpack_object *o = sq_map_get(e, key);
	cr_assert(o, "no '%s'", key);
	return o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? o->via.i64 : (long long)o->via.u64;
}
