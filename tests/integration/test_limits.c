/* SPDX-License-Identifier: ISC */
/*
 * test_limits.c - sysqd's limits and robustness against hostile clients, on
 * real daemons started with small limits: oversize messages, 4 GiB length
 * prefixes, 100,000-deep nesting, bytes that are not msgpack, misshapen
 * requests, a frame cut in the middle, too many connections, the in-flight
 * limit, a client that never reads, a connect/disconnect storm, random bytes
 * and wrong-typed params.  After each: other clients were served, the
 * daemon still answers, and it exits 0 at SIGTERM (sqd_stop_clean).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"
#include "json.h"
#include "rawio.h"

static struct sqd d;

/* Small limits for everything but the connection count. */
static const char *const small[] = {
	"--max-inflight", "2", "--max-message", "4096", "--max-output", "65536",
	"--write-timeout", "1", NULL,
};

static void down(void)
{
	if (d.pid > 0)
		sqd_stop_clean(&d);
}

TestSuite(limits, .fini = down, .timeout = 60);

/* A polite client that must keep being served while others misbehave. */
static void bystander_ping(struct sysq *c)
{
	struct sysq_reply r;
	int rc = sysq_call0(c, "sys.ping", &r);
	cr_assert_eq(rc, 0, "a bystander was not served: rc %d %s %s", rc, r.code, r.message);
	cr_assert(sq_obj_streq(r.result, "pong"));
	sysq_reply_free(&r);
}

/* Close c, then expect only the stats connection itself to remain. */
static void end_with(struct sysq *c)
{
	bystander_ping(c);
	sysq_close(c);
	assert_alive(&d);
	cr_assert_eq(stat_wait_eq(&d, "connections", 1), 1, "connections left behind");
	cr_assert_eq(sqd_stat(&d, "inflight"), 1, "only the sys.stats asking should be in flight");
}

static void send_frame(struct raw *r, uint32_t msgid, const char *method, const char *json)
{
	struct sq_buf b;
	sq_buf_init(&b);
	frame_request(&b, msgid, method, json);
	cr_assert(raw_send(r, b.data, b.len));
	sq_buf_free(&b);
}

/* ---- message size ------------------------------------------------------------------ */

Test(limits, oversize_message_gets_e2big_with_its_msgid_then_close)
{
	sqd_start(&d, small);
	struct sysq *by = sqd_connect(&d);
	bystander_ping(by);

	/* one str of 5,000 bytes: refused from its header */
	enum { PAD = 8192 };
	char *pad = malloc(PAD);
	memcpy(pad, "{\"pad\": \"", 9);
	memset(pad + 9, 'x', 5000);
	memcpy(pad + 5009, "\"}", 3);
	struct sq_buf b;
	sq_buf_init(&b);
	frame_request(&b, 77, "sys.ping", pad);
	cr_assert_gt(b.len, 4096);
	struct raw r;
	raw_open(&r, &d);
	raw_send(&r, b.data, b.len); /* the daemon may close before it has it all */
	raw_expect_error(&r, 77, "E2BIG");
	cr_assert(raw_wait_closed(&r, RAW_TIMEOUT_MS), "the connection stayed open after E2BIG");
	raw_close(&r);
	sq_buf_free(&b);
	bystander_ping(by);

	/* 600 small strings: no header is too big, the sum is */
	size_t n = 0;
	n += (size_t)snprintf(pad, PAD, "{\"pad\": [");
	for (int i = 0; i < 600; i++)
		n += (size_t)snprintf(pad + n, PAD - n, "%s\"abcdefg\"", i ? "," : "");
	snprintf(pad + n, PAD - n, "]}");
	sq_buf_init(&b);
	frame_request(&b, 78, "sys.ping", pad);
	cr_assert_gt(b.len, 4096);
	raw_open(&r, &d);
	raw_send(&r, b.data, b.len);
	raw_expect_error(&r, 78, "E2BIG");
	cr_assert(raw_wait_closed(&r, RAW_TIMEOUT_MS));
	raw_close(&r);
	sq_buf_free(&b);

	/* just under the limit is read whole and answered (unknown param) */
	memcpy(pad, "{\"pad\": \"", 9);
	memset(pad + 9, 'x', 4000);
	memcpy(pad + 4009, "\"}", 3);
	sq_buf_init(&b);
	frame_request(&b, 79, "sys.ping", pad);
	cr_assert_leq(b.len, 4096);
	raw_open(&r, &d);
	cr_assert(raw_send(&r, b.data, b.len));
	raw_expect_error(&r, 79, "EINVAL");
	send_frame(&r, 80, "sys.ping", NULL);
	raw_expect_ok(&r, 80);
	raw_close(&r);
	sq_buf_free(&b);
	free(pad);

	cr_assert_geq(conn_stat(by, "oversize"), 2);
	end_with(by);
}

Test(limits, four_gib_length_prefixes_are_refused_at_once)
{
	sqd_start(&d, NULL); /* default limits: 1 MiB messages */
	struct sysq *by = sqd_connect(&d);
	long long rss0 = conn_stat(by, "rss_bytes");

	/* a request whose param claims a 4 GiB str: answered without the body */
	static const char req[] = "\x94\x00\x05\xa8sys.ping\x91\x81\xa1x\xdb\xff\xff\xff\xff";
	struct raw r;
	raw_open(&r, &d);
	cr_assert(raw_send(&r, req, sizeof(req) - 1));
	raw_expect_error(&r, 5, "E2BIG");
	cr_assert(raw_wait_closed(&r, RAW_TIMEOUT_MS));
	raw_close(&r);

	/* bare prefixes with no msgid: a sys.error notification, then close */
	static const struct { const char *b; size_t n; } bare[] = {
		{ "\xc6\xff\xff\xff\xff", 5 },         /* bin32 */
		{ "\xdb\xff\xff\xff\xfe", 5 },         /* str32 */
		{ "\xdd\xff\xff\xff\xff", 5 },         /* array32 */
		{ "\xdf\xff\xff\xff\xff", 5 },         /* map32 */
		{ "\xc9\xff\xff\xff\xff\x01", 6 },     /* ext32 */
		{ "\x94\x00\xce\x00\x00\x00\x01\xdb\x7f\xff\xff\xff", 12 }, /* method str */
	};
	for (size_t i = 0; i < sizeof(bare) / sizeof(bare[0]); i++) {
		raw_open(&r, &d);
		cr_assert(raw_send(&r, bare[i].b, bare[i].n));
		if (i == 5)
			raw_expect_error(&r, 1, "E2BIG");
		else
			raw_expect_notify(&r, "E2BIG");
		cr_assert(raw_wait_closed(&r, RAW_TIMEOUT_MS), "case %zu left open", i);
		raw_close(&r);
		bystander_ping(by);
	}
	cr_assert_geq(conn_stat(by, "oversize"), 7);
	long long rss1 = conn_stat(by, "rss_bytes");
	cr_assert_lt(rss1, rss0 + (64ll << 20), "rss grew from %lld to %lld", rss0, rss1);
	end_with(by);
}

Test(limits, deep_nesting_is_refused_at_once)
{
	sqd_start(&d, NULL);
	struct sysq *by = sqd_connect(&d);
	enum { DEEP = 100000 };
	char *deep = malloc(DEEP + 16);
	memcpy(deep, "\x94\x00\x0b\xa8sys.ping", 12);
	memset(deep + 12, 0x91, DEEP);

	/* as the params of a request: E2BIG to msgid 11 */
	struct raw r;
	raw_open(&r, &d);
	raw_send(&r, deep, DEEP + 12);
	raw_expect_error(&r, 11, "E2BIG");
	cr_assert(raw_wait_closed(&r, RAW_TIMEOUT_MS));
	raw_close(&r);
	bystander_ping(by);

	/* a bare tower of arrays, and of maps: a notification */
	memset(deep, 0x91, DEEP);
	raw_open(&r, &d);
	raw_send(&r, deep, DEEP);
	raw_expect_notify(&r, "E2BIG");
	cr_assert(raw_wait_closed(&r, RAW_TIMEOUT_MS));
	raw_close(&r);
	for (int i = 0; i < DEEP; i += 2) {
		deep[i] = (char)0x81;
		deep[i + 1] = 0x01;
	}
	raw_open(&r, &d);
	raw_send(&r, deep, DEEP);
	raw_expect_notify(&r, "E2BIG");
	cr_assert(raw_wait_closed(&r, RAW_TIMEOUT_MS));
	raw_close(&r);
	free(deep);

	/* 16 levels of params is within the default depth and gets an answer */
	char ok[64];
	memcpy(ok, "\x94\x00\x0c\xa8sys.ping", 12);
	memset(ok + 12, 0x91, 14);
	ok[26] = (char)0x90;
	raw_open(&r, &d);
	cr_assert(raw_send(&r, ok, 27));
	raw_expect_error(&r, 12, "EINVAL"); /* [[[...]]] is not [{...}] */
	raw_close(&r);

	cr_assert_geq(conn_stat(by, "oversize"), 3);
	end_with(by);
}

/* ---- bytes that are not msgpack, and misshapen messages ------------------------------- */

Test(limits, reserved_byte_gets_a_notification_then_close)
{
	sqd_start(&d, small);
	struct sysq *by = sqd_connect(&d);
	struct raw r;
	raw_open(&r, &d);
	cr_assert(raw_send(&r, "\xc1", 1));
	raw_expect_notify(&r, "EPROTO");
	cr_assert(raw_wait_closed(&r, RAW_TIMEOUT_MS));
	raw_close(&r);

	/* after a good request on the same connection: that one is answered first */
	raw_open(&r, &d);
	send_frame(&r, 3, "sys.ping", NULL);
	cr_assert(raw_send(&r, "\x92\xc1", 2));
	raw_expect_ok(&r, 3);
	raw_expect_notify(&r, "EPROTO");
	cr_assert(raw_wait_closed(&r, RAW_TIMEOUT_MS));
	raw_close(&r);

	/* inside a request whose msgid was already read: an EPROTO reply */
	raw_open(&r, &d);
	cr_assert(raw_send(&r, "\x94\x00\x05\xc1", 4));
	raw_expect_error(&r, 5, "EPROTO");
	cr_assert(raw_wait_closed(&r, RAW_TIMEOUT_MS));
	raw_close(&r);

	cr_assert_geq(conn_stat(by, "proto_errors"), 3);
	end_with(by);
}

Test(limits, misshapen_request_with_a_msgid_gets_eproto_and_the_connection_lives)
{
	sqd_start(&d, small);
	struct raw r;
	raw_open(&r, &d);
	static const struct { const char *b; size_t n; uint32_t id; } bad[] = {
		{ "\x94\x00\x05\x7b\x90", 5, 5 },              /* method is an int */
		{ "\x93\x00\x06\xa8sys.ping", 12, 6 },          /* no params */
		{ "\x94\x00\x07\xa8sys.ping\x80", 13, 7 },      /* params a map */
		{ "\x94\x00\x08\xa8sys.ping\xa1x", 14, 8 },     /* params a str */
		{ "\x95\x00\x09\xa8sys.ping\x90\xc0", 14, 9 },  /* five elements */
		{ "\x94\x00\x0a\x91\xa1x\x90", 7, 10 },         /* method an array */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert(raw_send(&r, bad[i].b, bad[i].n));
		raw_expect_error(&r, bad[i].id, "EPROTO");
	}
	/* responses and notifications from a client are ignored, not fatal */
	cr_assert(raw_send(&r, "\x94\x01\x03\xc0\xc0", 5));
	cr_assert(raw_send(&r, "\x93\x02\xa1x\x90", 5));
	send_frame(&r, 11, "sys.ping", NULL);
	raw_expect_ok(&r, 11);
	/* the same, all pipelined in one write */
	struct sq_buf b;
	sq_buf_init(&b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		sq_buf_append(&b, bad[i].b, bad[i].n);
	frame_request(&b, 12, "sys.uname", NULL);
	cr_assert(raw_send(&r, b.data, b.len));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		raw_expect_error(&r, bad[i].id, "EPROTO");
	raw_expect_ok(&r, 12);
	sq_buf_free(&b);
	raw_close(&r);

	struct sysq *by = sqd_connect(&d);
	cr_assert_geq(conn_stat(by, "proto_errors"), 12);
	end_with(by);
}

Test(limits, frames_without_a_usable_msgid_close_the_connection)
{
	sqd_start(&d, small);
	struct sysq *by = sqd_connect(&d);
	static const struct { const char *b; size_t n; } bad[] = {
		{ "\xa5hello", 6 },                      /* not an array */
		{ "\x94\x00\xa1x\xa8sys.ping\x90", 14 }, /* msgid a str */
		{ "\x94\x00\xff\xa8sys.ping\x90", 13 },  /* msgid negative */
		{ "\x94\x07\x01\xa8sys.ping\x90", 13 },  /* type 7 */
		{ "\x92\x00\x01", 3 },                   /* too short */
		{ "\x90", 1 },
		{ "\xc0", 1 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct raw r;
		raw_open(&r, &d);
		cr_assert(raw_send(&r, bad[i].b, bad[i].n));
		raw_expect_notify(&r, "EPROTO");
		cr_assert(raw_wait_closed(&r, RAW_TIMEOUT_MS), "case %zu left open", i);
		raw_close(&r);
		bystander_ping(by);
	}
	end_with(by);
}

Test(limits, a_frame_cut_in_the_middle_holds_nobody_up)
{
	sqd_start(&d, small);
	struct sysq *by = sqd_connect(&d);
	struct sq_buf b;
	sq_buf_init(&b);
	frame_request(&b, 42, "sys.uname", NULL);

	/* half a request, then silence */
	struct raw cut;
	raw_open(&cut, &d);
	cr_assert(raw_send(&cut, b.data, b.len / 2));
	/* a partial big str, then silence */
	struct raw cut2;
	raw_open(&cut2, &d);
	static const char partial[] = "\x94\x00\x01\xa8sys.ping\x91\x81\xa1x\xda\x0f\x00" "abc";
	cr_assert(raw_send(&cut2, partial, sizeof(partial) - 1));

	for (int i = 0; i < 50; i++)
		bystander_ping(by);
	cr_assert_geq(conn_stat(by, "connections"), 3);
	cr_assert_eq(conn_stat(by, "inflight"), 1);

	/* the rest of the first one arrives late: it is answered */
	cr_assert(raw_send(&cut, b.data + b.len / 2, b.len - b.len / 2));
	raw_expect_ok(&cut, 42);
	raw_close(&cut);
	/* the second one hangs up mid-frame: simply gone */
	raw_close(&cut2);
	sq_buf_free(&b);
	end_with(by);
}

/* ---- connection count ------------------------------------------------------------------ */

Test(limits, connections_over_the_maximum_get_eagain_and_are_closed)
{
	static const char *const args[] = { "--max-connections", "3", NULL };
	sqd_start(&d, args);
	struct sysq *c[3];
	c[0] = sqd_connect(&d);
	/* the harness's start-up probe may not be gone yet: wait until it is */
	long long n = 0;
	for (int i = 0; i < 1000 && (n = conn_stat(c[0], "connections")) != 1; i++)
		usleep(10000);
	cr_assert_eq(n, 1);
	for (int i = 1; i < 3; i++) {
		c[i] = sqd_connect(&d);
		bystander_ping(c[i]);
	}
	long long total = conn_stat(c[0], "connections_total");
	for (int k = 0; k < 3; k++) {
		struct raw r;
		raw_open(&r, &d);
		raw_expect_notify(&r, "EAGAIN");
		cr_assert(raw_wait_closed(&r, RAW_TIMEOUT_MS));
		raw_close(&r);
	}
	for (int i = 0; i < 3; i++)
		bystander_ping(c[i]);
	cr_assert_eq(conn_stat(c[0], "connections"), 3);
	cr_assert_geq(conn_stat(c[0], "connections_rejected"), 3);
	cr_assert_eq(conn_stat(c[0], "connections_total"), total, "rejected ones are not counted");

	/* a freed slot can be used again */
	sysq_close(c[2]);
	for (int i = 0; i < 1000 && (n = conn_stat(c[0], "connections")) != 2; i++)
		usleep(10000);
	cr_assert_eq(n, 2);
	c[2] = sqd_connect(&d);
	bystander_ping(c[2]);
	sysq_close(c[1]);
	sysq_close(c[2]);
	end_with(c[0]);
}

/* ---- in-flight limit and output cap --------------------------------------------------- */

Test(limits, inflight_limit_pauses_reading_and_answers_everything)
{
	sqd_start(&d, small);
	struct sysq *c = sqd_connect(&d);
	enum { N = 600 };
	static bool seen[N];
	uint32_t first = 0;
	for (int i = 0; i < N; i++) {
		uint32_t id;
		/* sys.stats runs off the loop, so it counts against --max-inflight 2 */
		msgpack_packer *pk = sysq_begin(c, i % 3 ? "sys.stats" : "sys.ping", &id);
		msgpack_pack_array(pk, 0);
		if (i == 0)
			first = id;
	}
	cr_assert_eq(sysq_flush(c), 0);
	for (int i = 0; i < N; i++) {
		struct sysq_reply r;
		cr_assert_eq(sysq_read(c, &r), 0, "reply %d of %d", i, N);
		cr_assert_eq(r.type, SQ_MSG_RESPONSE);
		cr_assert_not(r.is_error, "%s: %s", r.code, r.message);
		uint32_t k = r.msgid - first;
		cr_assert_lt(k, N);
		cr_assert_not(seen[k], "msgid %u answered twice", r.msgid);
		seen[k] = true;
		if (k % 3) {
			const msgpack_object *inf = sq_map_get(r.result, "inflight");
			cr_assert(inf);
			cr_assert_leq(inf->via.u64, 2, "more in flight than the limit");
		}
		sysq_reply_free(&r);
	}
	cr_assert_gt(conn_stat(c, "read_pauses"), 0);
	end_with(c);
}

Test(limits, a_client_that_never_reads_is_disconnected)
{
	sqd_start(&d, small);
	struct sysq *by = sqd_connect(&d);
	long long rss0 = conn_stat(by, "rss_bytes");

	struct raw r;
	raw_open(&r, &d);
	struct timeval tv = { 10, 0 }; /* a safety net: send never blocks for good */
	setsockopt(r.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct sq_buf b;
	sq_buf_init(&b);
	for (uint32_t i = 1; i <= 100; i++)
		frame_request(&b, i, "sys.methods", NULL); /* ~12 KiB replies */
	bool open = true;
	long batches = 0;
	while (open && batches < 20000) { /* up to 2,000,000 requests: ~24 GiB of replies */
		open = raw_send(&r, b.data, b.len);
		batches++;
	}
	sq_buf_free(&b);
	cr_assert_not(open, "still accepting requests after %ld of them", batches * 100);
	cr_assert_geq(stat_wait_geq(&d, "slow_disconnects", 1), 1);
	cr_assert(raw_wait_closed(&r, RAW_TIMEOUT_MS));
	raw_close(&r);

	bystander_ping(by);
	long long rss1 = conn_stat(by, "rss_bytes");
	cr_assert_lt(rss1, rss0 + (32ll << 20), "rss grew from %lld to %lld", rss0, rss1);
	end_with(by);
}

Test(limits, a_burst_of_replies_is_not_a_slow_client)
{
	/* 250 pipelined sys.methods for one method (~640 bytes each: ~160 KiB of
	 * replies, over --max-output 65536) in one write: the daemon makes them
	 * in one go, before this client had any chance to read.  What the kernel
	 * takes is not queued. */
	sqd_start(&d, small);
	struct sysq *c = sqd_connect(&d);
	enum { N = 250 };
	uint32_t first = 0;
	for (int i = 0; i < N; i++) {
		uint32_t id;
		msgpack_packer *pk = sysq_begin(c, "sys.methods", &id);
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 1);
		sq_pack_kv_str(pk, "name", "net.list");
		if (i == 0)
			first = id;
	}
	cr_assert_eq(sysq_flush(c), 0);
	size_t bytes = 0;
	for (int i = 0; i < N; i++) {
		struct sysq_reply r;
		int rc = sysq_read(c, &r);
		cr_assert_eq(rc, 0, "reply %d of %d: %s (the daemon took a burst for a slow "
		             "client)", i, N, strerror(-rc));
		cr_assert_not(r.is_error, "%s: %s", r.code, r.message);
		cr_assert_eq(r.msgid, first + (uint32_t)i, "loop replies come in order");
		bytes += r.frame_len;
		sysq_reply_free(&r);
	}
	cr_assert_gt(bytes, 2 * 65536, "only %zu bytes of replies: not a test of the cap", bytes);
	cr_assert_eq(conn_stat(c, "slow_disconnects"), 0);
	end_with(c);
}

/* ---- many connections ---------------------------------------------------------------- */

Test(limits, a_connect_disconnect_storm_leaves_nothing_behind)
{
	sqd_start(&d, small);
	struct sysq *by = sqd_connect(&d);
	long long rss0 = conn_stat(by, "rss_bytes");
	struct sq_buf ping, stats;
	sq_buf_init(&ping);
	sq_buf_init(&stats);
	frame_request(&ping, 1, "sys.ping", NULL);
	frame_request(&stats, 2, "sys.stats", NULL);
	enum { N = 2000 };
	for (int i = 0; i < N; i++) {
		struct raw r;
		raw_open(&r, &d);
		switch (i % 4) {
		case 0: break;                                        /* hang up at once */
		case 1: raw_send(&r, ping.data, ping.len); break;     /* ask, don't listen */
		case 2: raw_send(&r, stats.data, stats.len); break;   /* async, in flight */
		case 3: raw_send(&r, stats.data, stats.len / 2); break; /* half a frame */
		}
		raw_close(&r);
		if (i % 500 == 0)
			bystander_ping(by);
	}
	sq_buf_free(&ping);
	sq_buf_free(&stats);
	bystander_ping(by);
	/* every connection was either served or refused (EAGAIN: a burst of
	 * hung-up peers can hold the slots until their EOF is read) */
	long long total = 0, rejected = 0;
	for (int i = 0; i < 1000; i++) {
		total = conn_stat(by, "connections_total");
		rejected = conn_stat(by, "connections_rejected");
		if (total + rejected >= N + 1 && conn_stat(by, "connections") == 1)
			break;
		usleep(10000);
	}
	cr_assert_geq(total + rejected, N + 1, "%lld accepted + %lld refused", total, rejected);
	cr_assert_eq(conn_stat(by, "connections"), 1, "connections left behind");
	long long rss1 = conn_stat(by, "rss_bytes");
	cr_assert_lt(rss1, rss0 + (32ll << 20), "rss grew from %lld to %lld", rss0, rss1);
	end_with(by);
}

Test(limits, random_bytes_from_several_clients)
{
	sqd_start(&d, small);
	struct sysq *by = sqd_connect(&d);
	enum { K = 8, CHUNKS = 16, CHUNK = 256 };
	struct raw r[K];
	bool open[K];
	uint64_t seed = 0x73797371726e6421ull;
	unsigned char buf[CHUNK];
	for (int k = 0; k < K; k++) {
		raw_open(&r[k], &d);
		open[k] = true;
		if (k % 2) { /* start as a request, so the random part lands in params */
			static const char head[] = "\x94\x00\x01\xa8sys.ping";
			open[k] = raw_send(&r[k], head, sizeof(head) - 1);
		}
	}
	for (int c = 0; c < CHUNKS; c++) {
		for (int k = 0; k < K; k++) {
			for (int i = 0; i < CHUNK; i++)
				buf[i] = (unsigned char)rnd_next(&seed);
			if (k == 2) /* mostly plausible headers: small fixarrays and maps */
				for (int i = 0; i < CHUNK; i += 2)
					buf[i] = (unsigned char)(0x80 | (buf[i] & 0x1f));
			if (open[k])
				open[k] = raw_send(&r[k], buf, sizeof(buf));
		}
		bystander_ping(by);
	}
	/* hang up our side; the daemon must answer what it can and close */
	for (int k = 0; k < K; k++) {
		shutdown(r[k].fd, SHUT_WR);
		cr_assert(raw_wait_closed(&r[k], RAW_TIMEOUT_MS), "client %d left open", k);
		raw_close(&r[k]);
	}
	end_with(by);
}

/* ---- params of the wrong type ------------------------------------------------------------- */

/* raw params arrays, each of which every sys.* method must refuse */
static const struct { const char *what; const char *b; size_t n; } bad_params[] = {
	{ "[5]", "\x91\x05", 2 },
	{ "[\"x\"]", "\x91\xa1x", 3 },
	{ "[[]]", "\x91\x90", 2 },
	{ "[true]", "\x91\xc3", 2 },
	{ "[{}, {}]", "\x92\x80\x80", 3 },
	{ "[{1: 2}]", "\x91\x81\x01\x02", 4 },
	{ "[{bin a: 1}]", "\x91\x81\xc4\x01" "a\x01", 6 },
	{ "[{\"bogus\": 1}]", "\x91\x81\xa5" "bogus\x01", 9 },
	{ "[{\"bogus\": nil}]", "\x91\x81\xa5" "bogus\xc0", 9 },
	{ "[{\"\": 1, \"\": 2}]", "\x91\x82\xa0\x01\xa0\x02", 6 },
	{ "[{\"\\xff\": 1}]", "\x91\x81\xa1\xff\x01", 5 },
	{ "[{\"a\": 1, \"a\": 1}]", "\x91\x82\xa1" "a\x01\xa1" "a\x01", 8 },
};

Test(limits, every_sys_method_refuses_wrong_params_with_einval)
{
	sqd_start(&d, small);
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply ms;
	cr_assert_eq(sysq_call0(c, "sys.methods", &ms), 0);
	const msgpack_object *list = sq_map_get(ms.result, "methods");
	cr_assert(list && list->type == MSGPACK_OBJECT_ARRAY);
	struct raw r;
	raw_open(&r, &d);
	uint32_t id = 100;
	int tried = 0;
	for (uint32_t i = 0; i < list->via.array.size; i++) {
		const msgpack_object *name = sq_map_get(&list->via.array.ptr[i], "name");
		cr_assert(name && name->type == MSGPACK_OBJECT_STR);
		char method[64];
		snprintf(method, sizeof(method), "%.*s", (int)name->via.str.size, name->via.str.ptr);
		if (strncmp(method, "sys.", 4) != 0)
			continue;
		for (size_t k = 0; k < sizeof(bad_params) / sizeof(bad_params[0]); k++) {
			struct sq_buf b;
			msgpack_packer pk;
			sq_buf_init(&b);
			sq_packer_init(&pk, &b);
			sq_pack_request_head(&pk, ++id, method);
			sq_buf_append(&b, bad_params[k].b, bad_params[k].n);
			cr_assert(raw_send(&r, b.data, b.len));
			sq_buf_free(&b);
			struct raw_msg m;
			int rc = raw_next(&r, &m, RAW_TIMEOUT_MS);
			cr_assert_eq(rc, RAW_MSG, "%s %s: no reply (%d)", method, bad_params[k].what, rc);
			cr_assert_eq(m.msgid, id);
			cr_assert(m.is_error, "%s accepted params %s", method, bad_params[k].what);
			cr_assert_str_eq(m.code, "EINVAL", "%s %s: %s %s", method, bad_params[k].what,
			                 m.code, m.message);
			cr_assert(sq_utf8_valid(m.message, strlen(m.message)), "%s: message not UTF-8",
			          method);
			if (strstr(bad_params[k].what, "bogus"))
				cr_assert(strstr(m.message, "bogus"), "%s: message does not name the "
				          "param: %s", method, m.message);
			raw_msg_free(&m);
			tried++;
		}
		/* and the good forms still work: [], [nil], [{}] (for the methods
		 * that need no param: none required, and not sys.sysctl.get, which
		 * wants one of 'names' and 'prefix') */
		static const char *const good[] = { "\x90", "\x91\xc0", "\x91\x80" };
		const msgpack_object *tp = sq_map_get(&list->via.array.ptr[i], "typed_params");
		bool needs = strcmp(method, "sys.sysctl.get") == 0;
		for (uint32_t k = 0; tp && k < tp->via.array.size; k++) {
			const msgpack_object *req = sq_map_get(&tp->via.array.ptr[k], "required");
			needs |= req && req->type == MSGPACK_OBJECT_BOOLEAN && req->via.boolean;
		}
		for (size_t k = 0; k < 3 && !needs; k++) {
			struct sq_buf b;
			msgpack_packer pk;
			sq_buf_init(&b);
			sq_packer_init(&pk, &b);
			sq_pack_request_head(&pk, ++id, method);
			sq_buf_append(&b, good[k], strlen(good[k]));
			cr_assert(raw_send(&r, b.data, b.len));
			sq_buf_free(&b);
			raw_expect_ok(&r, id);
		}
	}
	cr_assert_geq(tried, 5 * (int)(sizeof(bad_params) / sizeof(bad_params[0])),
	              "only %d cases tried: are the sys.* methods listed?", tried);
	raw_close(&r);
	sysq_reply_free(&ms);
	end_with(c);
}
