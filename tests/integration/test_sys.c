/* SPDX-License-Identifier: ISC */
/*
 * test_sys.c - the foundation against a real sysqd: sys.* methods, the
 * caller's identity as the kernel reports it (root and a non-root peer),
 * errors for unknown methods and bad params, and pipelining.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "sq_proto.h"

static struct sqd d;
static void up(void) { sqd_start(&d, NULL); }
static void down(void) { sqd_stop_clean(&d); }

TestSuite(sys, .init = up, .fini = down, .timeout = 60);

Test(sys, hello_reports_the_kernel_view_of_the_caller)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.hello", NULL, &r), 0, "%s", r.message);
	const msgpack_object *peer = sq_map_get(r.result, "peer");
	cr_assert(peer);
	cr_assert_eq(sq_map_get(peer, "uid")->via.u64, (uint64_t)getuid());
	cr_assert_eq(sq_map_get(peer, "gid")->via.u64, (uint64_t)getgid());
	cr_assert_eq(sq_map_get(peer, "pid")->via.i64, (int64_t)getpid());
	cr_assert(sq_obj_streq(sq_map_get(r.result, "server"), "sysqd"));
	cr_assert(sq_obj_streq(sq_map_get(r.result, "os"), "linux"));
	cr_assert_eq(sq_map_get(r.result, "protocol")->via.u64, SQ_PROTOCOL_VERSION);
	const msgpack_object *m = sq_map_get(r.result, "methods");
	cr_assert(m && m->type == MSGPACK_OBJECT_ARRAY && m->via.array.size >= 5);
	sysq_reply_free(&r);
	sysq_close(c);
}

static int hello_as_nobody(void *arg)
{
	const struct sqd *dd = arg;
	char err[256];
	struct sysq *c = sysq_connect(dd->sock, err, sizeof(err));
	if (!c)
		return 10;
	struct sysq_reply r;
	if (sysq_call0(c, "sys.hello", &r) != 0)
		return 11;
	const msgpack_object *peer = sq_map_get(r.result, "peer");
	if (!peer || sq_map_get(peer, "uid")->via.u64 != NOBODY_UID)
		return 12;
	if (sq_map_get(peer, "gid")->via.u64 != NOBODY_GID)
		return 13;
	if (sq_map_get(peer, "pid")->via.i64 != (int64_t)getpid())
		return 14;
	sysq_reply_free(&r);
	sysq_close(c);
	return 0;
}

Test(sys, a_non_root_peer_sees_its_own_uid)
{
	SKIP_UNLESS_ROOT();
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, hello_as_nobody, &d), 0);
}

Test(sys, ping_uname_methods)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.ping", NULL, &r), 0);
	cr_assert(sq_obj_streq(r.result, "pong"));
	sysq_reply_free(&r);

	cr_assert_eq(sq_call(c, "sys.uname", NULL, &r), 0);
	cr_assert(sq_obj_streq(sq_map_get(r.result, "sysname"), "Linux"));
	cr_assert(sq_map_get(r.result, "release"));
	cr_assert(sq_map_get(r.result, "machine"));
	sysq_reply_free(&r);

	cr_assert_eq(sq_call(c, "sys.methods", NULL, &r), 0);
	const msgpack_object *ms = sq_map_get(r.result, "methods");
	cr_assert(ms && ms->type == MSGPACK_OBJECT_ARRAY);
	bool saw_ping = false;
	for (uint32_t i = 0; i < ms->via.array.size; i++) {
		const msgpack_object *m = &ms->via.array.ptr[i];
		cr_assert(sq_map_get(m, "summary") && sq_map_get(m, "params"));
		/* the contract as data: typed params, the result's shape, errors */
		const msgpack_object *tp = sq_map_get(m, "typed_params");
		cr_assert(tp && tp->type == MSGPACK_OBJECT_ARRAY);
		cr_assert(sq_map_get(m, "result") && sq_map_get(m, "errors"));
		saw_ping |= sq_obj_streq(sq_map_get(m, "name"), "sys.ping");
	}
	cr_assert(saw_ping);
	sysq_reply_free(&r);
	sysq_close(c);
}

Test(sys, stats_counts_requests_and_connections)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	for (int i = 0; i < 10; i++) {
		cr_assert_eq(sq_call(c, "sys.ping", NULL, &r), 0);
		sysq_reply_free(&r);
	}
	cr_assert_eq(sq_call(c, "sys.stats", NULL, &r), 0);
	cr_assert_geq(sq_map_get(r.result, "requests")->via.u64, 11);
	cr_assert_eq(sq_map_get(r.result, "connections")->via.u64, 1);
	cr_assert_gt(sq_map_get(r.result, "threads")->via.i64, 0);
	cr_assert_gt(sq_map_get(r.result, "open_fds")->via.i64, 2);
	cr_assert_gt(sq_map_get(r.result, "rss_bytes")->via.u64, 0);
	cr_assert(sq_map_get(r.result, "limits"));
	sysq_reply_free(&r);
	sysq_close(c);
}

Test(sys, unknown_method_and_bad_params_are_named_errors)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "no.such", NULL, &r), SYSQ_REMOTE_ERROR);
	cr_assert_str_eq(r.code, "ENOSYS");
	cr_assert(strstr(r.message, "no.such"));
	sysq_reply_free(&r);

	cr_assert_eq(sq_call(c, "sys.ping", "{\"bogus\": 1}", &r), SYSQ_REMOTE_ERROR);
	cr_assert_str_eq(r.code, "EINVAL");
	cr_assert(strstr(r.message, "bogus"), "message names the param: %s", r.message);
	sysq_reply_free(&r);

	/* the connection keeps working */
	cr_assert_eq(sq_call(c, "sys.ping", NULL, &r), 0);
	sysq_reply_free(&r);
	sysq_close(c);
}

Test(sys, pipelined_requests_each_get_their_msgid)
{
	struct sysq *c = sqd_connect(&d);
	enum { N = 1000 };
	static bool seen[N + 1];
	uint32_t first = 0;
	for (int i = 0; i < N; i++) {
		uint32_t id;
		msgpack_packer *pk = sysq_begin(c, i % 10 == 0 ? "sys.stats" : "sys.ping", &id);
		msgpack_pack_array(pk, 0);
		if (i == 0)
			first = id;
	}
	cr_assert_eq(sysq_flush(c), 0);
	for (int i = 0; i < N; i++) {
		struct sysq_reply r;
		cr_assert_eq(sysq_read(c, &r), 0);
		cr_assert_eq(r.type, SQ_MSG_RESPONSE);
		cr_assert(!r.is_error, "%s %s", r.code, r.message);
		uint32_t k = r.msgid - first;
		cr_assert_lt(k, N);
		cr_assert(!seen[k], "msgid %u answered twice", r.msgid);
		seen[k] = true;
		sysq_reply_free(&r);
	}
	sysq_close(c);
}
