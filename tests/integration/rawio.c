/* SPDX-License-Identifier: ISC */
/*
 * rawio.c - the rude peer of rawio.h: raw bytes out, frames in with a
 * deadline, plus the polling helpers the limit tests wait with.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "rawio.h"

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

void raw_open(struct raw *r, const struct sqd *d)
{
	r->fd = sqd_raw_connect(d);
	sq_buf_init(&r->in);
}

void raw_close(struct raw *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	sq_buf_free(&r->in);
}

bool raw_send(struct raw *r, const void *p, size_t n)
{
	const char *s = p;
	while (n) {
		ssize_t k = send(r->fd, s, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		s += k;
		n -= (size_t)k;
	}
	return true;
}

static void copy_field(char *dst, size_t size, const msgpack_object *o)
{
	dst[0] = '\0';
	if (!o || (o->type != MSGPACK_OBJECT_STR && o->type != MSGPACK_OBJECT_BIN))
		return;
	size_t n = o->via.str.size < size - 1 ? o->via.str.size : size - 1;
	if (n)
		memcpy(dst, o->via.str.ptr, n);
	dst[n] = '\0';
}

/* One complete frame at the front of r->in, decoded into m. */
static int take_frame(struct raw *r, size_t flen, struct raw_msg *m)
{
	struct sq_msg msg;
	const char *why;
	char *copy;

	msgpack_zone_init(&m->zone, 2048);
	copy = msgpack_zone_malloc(&m->zone, flen ? flen : 1); /* objects point here */
	cr_assert_not_null(copy);
	memcpy(copy, r->in.data, flen);
	sq_buf_consume(&r->in, flen);
	if (sq_msg_parse(copy, flen, &m->zone, &msg, &why) < 0 || msg.type == SQ_MSG_REQUEST) {
		msgpack_zone_destroy(&m->zone);
		return RAW_GARBAGE;
	}
	m->type = msg.type;
	m->msgid = msg.msgid;
	if (msg.type == SQ_MSG_NOTIFY) {
		size_t n = msg.method_len < sizeof(m->method) - 1 ? msg.method_len
		                                                 : sizeof(m->method) - 1;
		if (n)
			memcpy(m->method, msg.method, n);
		m->method[n] = '\0';
		m->result = msg.params;
		if (msg.params.via.array.size == 1) {
			const msgpack_object *e = &msg.params.via.array.ptr[0];
			copy_field(m->code, sizeof(m->code), sq_map_get(e, "code"));
			copy_field(m->message, sizeof(m->message), sq_map_get(e, "message"));
		}
		return RAW_MSG;
	}
	m->result = msg.result;
	if (msg.error.type != MSGPACK_OBJECT_NIL) {
		m->is_error = true;
		copy_field(m->code, sizeof(m->code), sq_map_get(&msg.error, "code"));
		copy_field(m->message, sizeof(m->message), sq_map_get(&msg.error, "message"));
	}
	return RAW_MSG;
}

int raw_next(struct raw *r, struct raw_msg *m, int timeout_ms)
{
	static const struct sq_limits lim = {
		.max_msg = 64u << 20, .max_depth = SQ_MAX_DEPTH_LIMIT,
		.max_elems = 1u << 20, .max_total = 1u << 24,
	};
	long long deadline = now_ms() + timeout_ms;

	memset(m, 0, sizeof(*m));
	for (;;) {
		size_t flen;
		int rc = sq_frame_scan(r->in.data, r->in.len, &lim, &flen);
		if (rc == 0)
			return take_frame(r, flen, m);
		if (rc != -EAGAIN)
			return RAW_GARBAGE;
		long long left = deadline - now_ms();
		if (left <= 0)
			return RAW_TIMEOUT;
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0)
			return RAW_TIMEOUT;
		cr_assert_geq(sq_buf_reserve(&r->in, 65536), 0);
		ssize_t n = recv(r->fd, r->in.data + r->in.len, r->in.cap - r->in.len, 0);
		if (n == 0)
			return RAW_EOF;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == ECONNRESET || errno == EPIPE ? RAW_RESET : -errno - 100;
		}
		r->in.len += (size_t)n;
	}
}

void raw_msg_free(struct raw_msg *m)
{
	if (m->type)
		msgpack_zone_destroy(&m->zone);
	memset(m, 0, sizeof(*m));
}

bool raw_wait_closed(struct raw *r, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		struct raw_msg m;
		long long left = deadline - now_ms();
		if (left <= 0)
			return false;
		int rc = raw_next(r, &m, (int)left);
		raw_msg_free(&m);
		if (rc == RAW_EOF || rc == RAW_RESET)
			return true;
		if (rc == RAW_TIMEOUT)
			return false;
		if (rc == RAW_GARBAGE)
			cr_assert_fail("the daemon sent bytes that are not a message");
	}
}

static const char *what(int rc)
{
	switch (rc) {
	case RAW_EOF: return "the connection was closed";
	case RAW_RESET: return "the connection was reset";
	case RAW_TIMEOUT: return "nothing came within the timeout";
	case RAW_GARBAGE: return "the daemon sent garbage";
	default: return "a read error";
	}
}

void raw_expect_error(struct raw *r, uint32_t msgid, const char *code)
{
	struct raw_msg m;
	int rc = raw_next(r, &m, RAW_TIMEOUT_MS);
	cr_assert_eq(rc, RAW_MSG, "waiting for %s to msgid %u: %s", code, msgid, what(rc));
	cr_assert_eq(m.type, SQ_MSG_RESPONSE, "got a notification %s %s: %s", m.method,
	             m.code, m.message);
	cr_assert_eq(m.msgid, msgid);
	cr_assert(m.is_error, "msgid %u succeeded, wanted %s", msgid, code);
	cr_assert_str_eq(m.code, code, "msgid %u: %s: %s", msgid, m.code, m.message);
	cr_assert(m.message[0], "an error without a message");
	cr_assert(sq_utf8_valid(m.message, strlen(m.message)));
	raw_msg_free(&m);
}

void raw_expect_notify(struct raw *r, const char *code)
{
	struct raw_msg m;
	int rc = raw_next(r, &m, RAW_TIMEOUT_MS);
	cr_assert_eq(rc, RAW_MSG, "waiting for a sys.error %s: %s", code, what(rc));
	cr_assert_eq(m.type, SQ_MSG_NOTIFY, "got a response to %u (%s) instead", m.msgid, m.code);
	cr_assert_str_eq(m.method, "sys.error");
	cr_assert_str_eq(m.code, code, "%s: %s", m.code, m.message);
	cr_assert(m.message[0], "a sys.error without a message");
	raw_msg_free(&m);
}

void raw_expect_ok(struct raw *r, uint32_t msgid)
{
	struct raw_msg m;
	int rc = raw_next(r, &m, RAW_TIMEOUT_MS);
	cr_assert_eq(rc, RAW_MSG, "waiting for the reply to %u: %s", msgid, what(rc));
	cr_assert_eq(m.type, SQ_MSG_RESPONSE, "got a notification %s %s: %s", m.method,
	             m.code, m.message);
	cr_assert_eq(m.msgid, msgid);
	cr_assert_not(m.is_error, "msgid %u: %s: %s", msgid, m.code, m.message);
	raw_msg_free(&m);
}

void frame_request(struct sq_buf *b, uint32_t msgid, const char *method, const char *json)
{
	msgpack_packer pk;
	char err[200];
	sq_packer_init(&pk, b);
	sq_pack_request_head(&pk, msgid, method);
	if (!json) {
		msgpack_pack_array(&pk, 0);
		return;
	}
	msgpack_pack_array(&pk, 1);
	cr_assert_eq(sq_json_pack(&pk, json, err, sizeof(err)), 0, "%s", err);
}

void assert_alive(const struct sqd *d)
{
	struct sysq *c = sqd_connect(d);
	struct sysq_reply r;
	int rc = sysq_call0(c, "sys.ping", &r);
	cr_assert_eq(rc, 0, "sys.ping after the ordeal: rc %d %s %s", rc, r.code, r.message);
	cr_assert(sq_obj_streq(r.result, "pong"));
	sysq_reply_free(&r);
	sysq_close(c);
}

long long conn_stat(struct sysq *c, const char *field)
{
	struct sysq_reply r;
	int rc = sysq_call0(c, "sys.stats", &r);
	cr_assert_eq(rc, 0, "sys.stats: rc %d %s", rc, r.message);
	const msgpack_object *o = sq_map_get(r.result, field);
	cr_assert(o, "sys.stats has no field %s", field);
	long long v = o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? o->via.i64
	                                                          : (long long)o->via.u64;
	sysq_reply_free(&r);
	return v;
}

static long long stat_wait(const struct sqd *d, const char *field, long long want, bool eq)
{
	long long deadline = now_ms() + RAW_TIMEOUT_MS, v;
	for (;;) {
		v = sqd_stat(d, field);
		if (eq ? v == want : v >= want)
			return v;
		if (now_ms() > deadline)
			return v;
		sleep_ms(10);
	}
}

long long stat_wait_geq(const struct sqd *d, const char *field, long long min)
{
	return stat_wait(d, field, min, false);
}

long long stat_wait_eq(const struct sqd *d, const char *field, long long want)
{
	return stat_wait(d, field, want, true);
}

uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}
