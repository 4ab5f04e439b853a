/* SPDX-License-Identifier: ISC */
/*
 * rawio.h - a raw msgpack-rpc peer for hostile-client tests: send exactly
 * the bytes a test wants (broken frames included), read whatever the
 * daemon answers with a deadline, and tell a closed connection from a
 * silent one.  libsysq is the polite client; this is the rude one.
 */
#ifndef SQ_RAWIO_H
#define SQ_RAWIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "harness.h"
#include "sq_proto.h"

#define RAW_TIMEOUT_MS 10000   /* generous: a wait for a condition, not a timing */

struct raw {
	int fd;
	struct sq_buf in;
};

/* What raw_next found. */
enum { RAW_MSG = 1, RAW_EOF = 0, RAW_RESET = -1, RAW_TIMEOUT = -2, RAW_GARBAGE = -3 };

struct raw_msg {
	int type;               /* SQ_MSG_RESPONSE or SQ_MSG_NOTIFY */
	uint32_t msgid;
	char method[64];        /* notifications */
	bool is_error;
	char code[32];
	char message[256];
	msgpack_object result;  /* response result, or notification params */
	msgpack_zone zone;
};

/* Connect (asserts), or wrap an fd. */
void raw_open(struct raw *r, const struct sqd *d);
void raw_close(struct raw *r);
/* Send all of it; false when the daemon has closed the connection. */
bool raw_send(struct raw *r, const void *p, size_t n);
/* The next message within timeout_ms.  RAW_MSG fills m (free with
 * raw_msg_free); the others leave it empty. */
int raw_next(struct raw *r, struct raw_msg *m, int timeout_ms);
void raw_msg_free(struct raw_msg *m);
/* Read and drop everything until the daemon closes (true) or timeout. */
bool raw_wait_closed(struct raw *r, int timeout_ms);

/* The next message must be an error response to msgid with this code. */
void raw_expect_error(struct raw *r, uint32_t msgid, const char *code);
/* The next message must be a sys.error notification with this code. */
void raw_expect_notify(struct raw *r, const char *code);
/* The next message must be a successful response to msgid. */
void raw_expect_ok(struct raw *r, uint32_t msgid);

/* Pack [0, msgid, method, params-from-JSON ([] when NULL)] into b. */
void frame_request(struct sq_buf *b, uint32_t msgid, const char *method, const char *json);

/* The daemon answers sys.ping on a fresh connection (asserts). */
void assert_alive(const struct sqd *d);
/* A sys.stats field read on an existing connection. */
long long conn_stat(struct sysq *c, const char *field);
/* Poll sys.stats (fresh connections) until field >= min; returns the value. */
long long stat_wait_geq(const struct sqd *d, const char *field, long long min);
/* Poll until field == want (e.g. connections back to 1); returns the value. */
long long stat_wait_eq(const struct sqd *d, const char *field, long long want);

/* Deterministic pseudo-random numbers (xorshift64). */
uint64_t rnd_next(uint64_t *state);

#endif
