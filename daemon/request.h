/* SPDX-License-Identifier: ISC */
/*
 * request.h - one request's life: what a handler sees and the calls it
 * makes to answer.  A request that leaves the loop owns a msgpack zone (its
 * arena) holding its params, decoded once, freed when the reply is queued.
 */
#ifndef SQ_REQUEST_H
#define SQ_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>
#include <uv.h>

#include "engine.h"
#include "methods.h"
#include "sq_peer.h"
#include "sq_proto.h"

struct sq_conn;
struct sq_server;

struct sq_req {
	struct sq_server *srv;
	struct sq_conn *conn;        /* stays valid until sq_req_done */
	const struct sq_method *m;
	const struct sq_cred *cred;  /* the peer, from the kernel */
	uint32_t msgid;
	struct sq_params params;     /* the named params, already opened */
	msgpack_zone *zone;          /* per-request arena */
	msgpack_packer pk;           /* pack the result here */
	struct sq_buf *out;          /* where pk writes */
	size_t out_mark;             /* out->len before the response head */

	int rc;                      /* outcome for sq_req_done */
	char code[24];               /* wire error code override ("ENOATTR") */
	char message[256];           /* error message */

	void *ctx;                   /* handler-private state for async work */
	struct sq_job job;           /* its off-loop work on the engine */
	void (*work_fn)(struct sq_req *r);
	void (*after_fn)(struct sq_req *r);

	bool heap;                   /* allocated (not the loop fast path) */
	msgpack_zone own_zone;
	struct sq_buf own_out;
	size_t frame_len;            /* the request's size, charged while it waits */
};

/* Record an error to return: `return sq_req_fail(r, -EINVAL, "bad %s", x);` */
int sq_req_fail(struct sq_req *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same with an explicit wire code instead of errno's name. */
int sq_req_fail_code(struct sq_req *r, int err, const char *code,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Fail with the message a params getter left in r->params.err. */
int sq_req_param_error(struct sq_req *r, int rc);

/* The one rule for a result too big to send: a reply may take the
 * connection's output limit (--max-output) less SQ_REPLY_SLACK, room for
 * the response envelope.  A handler that would pass it answers E2BIG
 * (sq_req_too_big) and the connection stays usable, rather than queue it
 * and have the server close the connection (PROTOCOL.md, Limits). */
#define SQ_REPLY_SLACK 1024u
size_t sq_req_reply_max(const struct sq_req *r);
/* Whether the reply packed so far passes sq_req_reply_max. */
bool sq_req_reply_over(const struct sq_req *r);
/* E2BIG: "the result is over this connection's output limit of N bytes: "
 * and the hint (how to ask for less). */
int sq_req_too_big(struct sq_req *r, const char *hint_fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Run work_fn on the engine (as the method table says: the caller or
 * sysqd), charged to the caller's uid, then after_fn on the loop.  For
 * SQ_RUN_ASYNC handlers; after_fn must end with sq_req_done.  after_fn is
 * called whatever happened: r->rc < 0 (with its message) when work_fn
 * never ran (the daemon stops); it then frees what the handler set up and
 * ends with sq_req_done(r, r->rc). */
int sq_req_offload(struct sq_req *r, void (*work_fn)(struct sq_req *),
                   void (*after_fn)(struct sq_req *));
/* Finish an async request with outcome rc (0: r->pk holds the result). */
void sq_req_done(struct sq_req *r, int rc);

/* Decode one frame from c and run it (called by the server's read path). */
void sq_dispatch(struct sq_conn *c, const char *frame, size_t len);
/* After a batch of sq_dispatch calls: hand the as-caller requests among
 * them to their threads. */
void sq_dispatch_flush(struct sq_server *s);

#endif
