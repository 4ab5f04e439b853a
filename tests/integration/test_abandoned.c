/* SPDX-License-Identifier: ISC */
/*
 * test_abandoned.c - calls nobody waits for are not run: a caller that
 * queues slow calls (proc.list with cpu_interval_ms, half a second of a
 * worker each) and hangs up leaves behind only the ones a worker had
 * started, not minutes of its own share's time (daemon/engine.c,
 * sq_job.abandoned; sys.stats engine.cancelled).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "harness.h"
#include "sq_proto.h"

#define CALLS 48 /* of one uid: its share runs 4 at once, the rest wait */

static struct sqd d;

static void down(void)
{
	if (d.pid)
		sqd_stop_clean(&d);
}

TestSuite(abandoned, .fini = down, .timeout = 120);

/* As uid 65534: CALLS slow calls on one connection, then gone, having read
 * nothing; how (close, or shutdown of both directions) in *arg. */
static int queue_and_hang_up(void *arg)
{
	const int how = *(const int *)arg;
	char err[256];
	struct sysq *c = sysq_connect(d.sock, err, sizeof(err));
	if (!c)
		return 10;
	for (int i = 0; i < CALLS; i++) {
		msgpack_packer *pk = sysq_begin(c, "proc.list", NULL);
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 2);
		sq_pack_cstr(pk, "pid");
		msgpack_pack_array(pk, 1);
		msgpack_pack_uint32(pk, 1);
		sq_pack_kv_u64(pk, "cpu_interval_ms", 500);
		if (sysq_flush(c) < 0)
			return 11;
	}
	if (how == SHUT_RDWR && shutdown(sysq_fd(c), SHUT_RDWR) < 0)
		return 12;
	sysq_close(c);
	return 0;
}

/* The engine's figures in sys.stats, once sysqd has read the caller's
 * `calls` calls and nothing is queued or running (waited for: 60 s at most, under
 * valgrind too). */
static void engine_when_idle(unsigned calls, unsigned long long *jobs,
                             unsigned long long *cancelled)
{
	struct sysq *c = sqd_connect(&d);
	for (int i = 0; i < 600; i++) {
		struct sysq_reply r;
		cr_assert_eq(sq_call(c, "sys.stats", NULL, &r), 0, "%s", r.message);
		const msgpack_object *e = sq_map_get(r.result, "engine");
		cr_assert(e && sq_map_get(e, "queued") && sq_map_get(e, "busy"));
		/* every call of the caller read (requests counts these sys.stats
		 * too), none queued, none running but this sys.stats's own job */
		bool all_read = sq_map_get(r.result, "requests")->via.u64 >= calls + (unsigned)i + 1;
		bool idle = all_read && sq_map_get(e, "queued")->via.u64 == 0 &&
		            sq_map_get(e, "busy")->via.u64 <= 1;
		if (idle) {
			const msgpack_object *k = sq_map_get(e, "cancelled");
			cr_assert(k, "sys.stats engine has no cancelled count");
			*jobs = sq_map_get(e, "jobs")->via.u64;
			*cancelled = k->via.u64;
			sysq_reply_free(&r);
			sysq_close(c);
			return;
		}
		sysq_reply_free(&r);
		nanosleep(&(struct timespec){ 0, 100 * 1000000L }, NULL);
	}
	cr_assert_fail("the engine was still busy after 60 s");
}

static void gone_calls_are_not_run(int how)
{
	SKIP_UNLESS_ROOT();
	sqd_start(&d, NULL);
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, queue_and_hang_up, &how), 0);
	unsigned long long jobs, cancelled;
	engine_when_idle(CALLS, &jobs, &cancelled);
	/* at most a share's worth (4) had started, and one more may have
	 * been taken as the hang-up was seen */
	cr_assert_geq(cancelled, CALLS - 2 * 4, "%llu of %d calls nobody waited for were "
	              "cancelled (%llu jobs taken)", cancelled, CALLS, jobs);
	/* the uid is served at once again */
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.ping", NULL, &r), 0);
	sysq_reply_free(&r);
	sysq_close(c);
}

Test(abandoned, calls_of_a_closed_connection_are_not_run)
{
	gone_calls_are_not_run(0);
}

Test(abandoned, calls_of_a_connection_shut_down_both_ways_are_not_run)
{
	gone_calls_are_not_run(SHUT_RDWR);
}

/* A peer that shuts down only its writing side still reads: every call it
 * sent is run and answered (the poll for POLLHUP tells the two apart). */
Test(abandoned, a_half_closed_connection_is_still_answered)
{
	SKIP_UNLESS_ROOT();
	sqd_start(&d, NULL);
	struct sysq *c = sqd_connect(&d);
	enum { HALF = 12 };
	for (int i = 0; i < HALF; i++) {
		msgpack_packer *pk = sysq_begin(c, "proc.list", NULL);
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 2);
		sq_pack_cstr(pk, "pid");
		msgpack_pack_array(pk, 1);
		msgpack_pack_uint32(pk, 1);
		sq_pack_kv_u64(pk, "cpu_interval_ms", 50);
		cr_assert_geq(sysq_flush(c), 0);
	}
	cr_assert_eq(shutdown(sysq_fd(c), SHUT_WR), 0);
	for (int i = 0; i < HALF; i++) {
		struct sysq_reply r;
		cr_assert_eq(sysq_read(c, &r), 0, "answer %d of %d", i + 1, HALF);
		cr_assert_eq(r.type, 1);
		cr_assert_not(r.is_error, "answer %d: %s: %s", i + 1, r.code, r.message);
		sysq_reply_free(&r);
	}
	sysq_close(c);
	unsigned long long jobs, cancelled;
	engine_when_idle(HALF, &jobs, &cancelled);
	cr_assert_eq(cancelled, 0);
}
