/* SPDX-License-Identifier: ISC */
/*
 * test_proto.c - what clients nobody here wrote send, on a real sysqd:
 * method names and param names as msgpack bin (taken as the str they
 * spell when valid UTF-8, EINVAL when not), and notifications the daemon
 * does not know, whatever their method or params (ignored and logged at
 * debug; the connection goes on).  The third-party libraries themselves
 * are tests/interop/test_thirdparty.py.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "rawio.h"

static struct sqd d;
static void up(void) { sqd_start(&d, NULL); }
static void down(void) { sqd_stop_clean(&d); }

TestSuite(proto, .init = up, .fini = down, .timeout = 60);

#define B(s) s, sizeof(s) - 1

static void send_bytes(struct raw *r, const char *p, size_t n)
{
	cr_assert(raw_send(r, p, n), "the daemon closed the connection");
}

/* The next message: a successful response to msgid whose result has key =
 * value (an int), or is the str "pong" when key is NULL. */
static void expect_result(struct raw *r, uint32_t msgid, const char *key, long long value)
{
	struct raw_msg m;
	int rc = raw_next(r, &m, RAW_TIMEOUT_MS);
	cr_assert_eq(rc, RAW_MSG, "waiting for the reply to %u: rc %d", msgid, rc);
	cr_assert_eq(m.type, SQ_MSG_RESPONSE, "got a notification %s %s: %s", m.method,
	             m.code, m.message);
	cr_assert_eq(m.msgid, msgid);
	cr_assert_not(m.is_error, "msgid %u: %s: %s", msgid, m.code, m.message);
	if (!key) {
		cr_assert(sq_obj_streq(&m.result, "pong"), "msgid %u: not pong", msgid);
	} else {
		const msgpack_object *v = sq_map_get(&m.result, key);
		cr_assert(v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER, "msgid %u: no %s",
		          msgid, key);
		cr_assert_eq((long long)v->via.u64, value, "msgid %u: %s", msgid, key);
	}
	raw_msg_free(&m);
}

/* The next message is an error response to msgid with code, and its message
 * holds want. */
static void expect_error_saying(struct raw *r, uint32_t msgid, const char *code,
                                const char *want)
{
	struct raw_msg m;
	int rc = raw_next(r, &m, RAW_TIMEOUT_MS);
	cr_assert_eq(rc, RAW_MSG, "waiting for %s to %u: rc %d", code, msgid, rc);
	cr_assert_eq(m.type, SQ_MSG_RESPONSE, "got a notification %s %s: %s", m.method,
	             m.code, m.message);
	cr_assert_eq(m.msgid, msgid);
	cr_assert(m.is_error, "msgid %u succeeded, wanted %s", msgid, code);
	cr_assert_str_eq(m.code, code, "msgid %u: %s: %s", msgid, m.code, m.message);
	cr_assert(strstr(m.message, want), "msgid %u: '%s' does not say '%s'", msgid,
	          m.message, want);
	raw_msg_free(&m);
}

/* [0, msgid, bin "proc.get", [{KEY: pid}]] with KEY packed as bin or str. */
static void frame_proc_get(struct sq_buf *b, uint32_t msgid, bool bin_method, bool bin_key)
{
	msgpack_packer pk;
	sq_packer_init(&pk, b);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, SQ_MSG_REQUEST);
	msgpack_pack_uint32(&pk, msgid);
	if (bin_method)
		msgpack_pack_bin_with_body(&pk, "proc.get", 8);
	else
		sq_pack_cstr(&pk, "proc.get");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 1);
	if (bin_key)
		msgpack_pack_bin_with_body(&pk, "pid", 3);
	else
		sq_pack_cstr(&pk, "pid");
	msgpack_pack_int(&pk, getpid());
}

Test(proto, a_utf8_bin_method_name_calls_that_method)
{
	struct raw r;
	raw_open(&r, &d);
	send_bytes(&r, B("\x94\x00\x01\xc4\x08sys.ping\x90"));
	expect_result(&r, 1, NULL, 0);
	send_bytes(&r, B("\x94\x00\x02\xc5\x00\x08sys.ping\x91\xc0"));
	expect_result(&r, 2, NULL, 0);
	send_bytes(&r, B("\x94\x00\x03\xc6\x00\x00\x00\x08sys.ping\x91\x80"));
	expect_result(&r, 3, NULL, 0);
	/* a method the loop does not run: off to a worker with its params */
	struct sq_buf b;
	sq_buf_init(&b);
	frame_proc_get(&b, 4, true, false);
	send_bytes(&r, b.data, b.len);
	expect_result(&r, 4, "pid", getpid());
	sq_buf_free(&b);
	/* still a name to look up: an unknown one is ENOSYS, named */
	send_bytes(&r, B("\x94\x00\x05\xc4\x07no.such\x90"));
	expect_error_saying(&r, 5, "ENOSYS", "'no.such'");
	raw_close(&r);
}

Test(proto, a_utf8_bin_param_name_is_that_param)
{
	struct raw r;
	raw_open(&r, &d);
	struct sq_buf b;
	sq_buf_init(&b);
	/* one at a time: replies to pipelined requests may come in any order */
	frame_proc_get(&b, 1, false, true);
	send_bytes(&r, b.data, b.len);
	expect_result(&r, 1, "pid", getpid());
	b.len = 0;
	frame_proc_get(&b, 2, true, true);
	send_bytes(&r, b.data, b.len);
	expect_result(&r, 2, "pid", getpid());
	sq_buf_free(&b);
	/* checked like a str name: unknown, and given twice as str and bin */
	send_bytes(&r, B("\x94\x00\x03\xa8sys.ping\x91\x81\xc4\x08nonsense\xc3"));
	expect_error_saying(&r, 3, "EINVAL", "unknown param 'nonsense'");
	send_bytes(&r, B("\x94\x00\x04\xa8proc.get\x91\x82\xa3pid\x01\xc4\x03pid\x01"));
	expect_error_saying(&r, 4, "EINVAL", "'pid' given twice");
	raw_close(&r);
}

Test(proto, a_bin_name_that_is_not_utf8_is_einval_and_the_connection_lives)
{
	struct raw r;
	raw_open(&r, &d);
	send_bytes(&r, B("\x94\x00\x01\xc4\x04sy\xff.\x90"));
	expect_error_saying(&r, 1, "EINVAL", "UTF-8");
	send_bytes(&r, B("\x94\x00\x02\xa8sys.ping\x91\x81\xc4\x02\xc3\x28\x01"));
	expect_error_saying(&r, 2, "EINVAL", "UTF-8");
	send_bytes(&r, B("\x94\x00\x03\xa8sys.ping\x90"));
	expect_result(&r, 3, NULL, 0);
	raw_close(&r);
}

Test(proto, notifications_from_a_client_are_ignored_whatever_they_hold)
{
	static const struct { const char *b; size_t n; } notes[] = {
		{ B("\x93\x02\xafsession.unknown\x90") },           /* str method */
		{ B("\x93\x02\xc4\x0envim_subscribe\x91\xa1x") },   /* bin method */
		{ B("\x93\x02\xc4\x02\xc3\x28\x90") },              /* bin, not UTF-8 */
		{ B("\x93\x02\xa4ping\x81\xa1x\x01") },             /* params a map */
		{ B("\x93\x02\xa4ping\xc0") },                      /* params nil */
		{ B("\x93\x02\x07\x90") },                          /* method an int */
		{ B("\x93\x02\xa8sys.ping\x90") },                  /* a method's name */
	};
	struct raw r;
	raw_open(&r, &d);
	for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]); i++) {
		send_bytes(&r, notes[i].b, notes[i].n);
		/* the next message is the reply: no sys.error, no close, nothing
		 * for the notification (not even for one named like a method) */
		send_bytes(&r, B("\x94\x00\x01\xa8sys.ping\x90"));
		expect_result(&r, 1, NULL, 0);
	}
	/* all at once, in one write, with a request behind them */
	struct sq_buf b;
	sq_buf_init(&b);
	for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]); i++)
		sq_buf_append(&b, notes[i].b, notes[i].n);
	sq_buf_append(&b, B("\x94\x00\x02\xa8sys.ping\x90"));
	send_bytes(&r, b.data, b.len);
	expect_result(&r, 2, NULL, 0);
	sq_buf_free(&b);
	raw_close(&r);

	char *log = slurp(d.log);
	cr_assert(strstr(log, "ignoring a notification"), "no debug line for them:\n%s", log);
	cr_assert(strstr(log, "session.unknown"), "the debug line does not name it:\n%s", log);
	free(log);
	cr_assert_eq(sqd_stat(&d, "proto_errors"), 0, "a notification counted as an error");
}
