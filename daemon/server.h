/* SPDX-License-Identifier: ISC */
/*
 * server.h - the loop side of sysqd: the listening socket, connections with
 * their bounded input and output buffers, dispatch, and the counters that
 * sys.stats reports.  Everything here runs on the loop thread only.
 */
#ifndef SQ_SERVER_H
#define SQ_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "fdshare.h"
#include "sq_peer.h"
#include "sq_proto.h"

struct sq_req;

struct sq_stats {
	uint64_t start_ns;           /* uv_hrtime at start */
	uint64_t conns_now;
	uint64_t conns_total;
	uint64_t conns_rejected;     /* over max_conns */
	uint64_t conns_rejected_uid; /* over max_per_uid */
	uint64_t requests;
	uint64_t errors;             /* error responses sent */
	uint64_t inflight;           /* requests being worked on, all connections */
	uint64_t proto_errors;       /* EPROTO frames */
	uint64_t oversize;           /* E2BIG frames */
	uint64_t slow_disconnects;   /* output cap exceeded */
	uint64_t read_pauses;        /* in-flight limit reached */
	uint64_t output_pauses;      /* queued output over the pause mark */
	uint64_t bytes_in;
	uint64_t bytes_out;
};

/* A client connection: private to server.c, which alone decides when the
 * loop reads or writes it; the rest of the daemon asks through these. */
struct sq_conn;

struct sq_server *sq_conn_server(const struct sq_conn *c);
const struct sq_cred *sq_conn_cred(const struct sq_conn *c);
/* The peer has root's shares (uid 0, or named by `allow large-shares`). */
bool sq_conn_large(const struct sq_conn *c);
uint64_t sq_conn_id(const struct sq_conn *c);
/* The connection is closing: replies to it are dropped. */
bool sq_conn_closing(const struct sq_conn *c);
/* Set once nobody will read c's replies (it closed, or its peer hung up
 * both ways): the engine does not start c's queued jobs (sq_job.abandoned). */
const atomic_bool *sq_conn_abandoned(const struct sq_conn *c);
/* The socket (for a transfer's own duplicate), or -1. */
int sq_conn_fd(const struct sq_conn *c);
/* The output buffer, for the loop fast path that packs a reply in place
 * (request.c) and then calls sq_conn_queued_in_place. */
struct sq_buf *sq_conn_out(struct sq_conn *c);
/* The watcher's subscriptions of this connection (daemon/watcher.c). */
void *sq_conn_watch(const struct sq_conn *c);
void sq_conn_set_watch(struct sq_conn *c, void *subs);


/* SIGTERM: what is in flight gets this long to be answered; then sysqd
 * exits, leaving calls stuck in the kernel (hung mounts) unanswered. */
#define SQ_STOP_GRACE_MS 5000

struct sq_server {
	uv_loop_t *loop;
	struct sq_config cfg;
	uv_pipe_t listener;
	bool listening;
	bool owns_socket_file;       /* we bound it, so we unlink it */
	bool stopping;
	uv_prepare_t flusher;        /* writes queued output once per iteration */
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t stop_timer;
	uv_check_t accept_check;     /* a deferred accept at the connection limit */
	uv_idle_t accept_idle;
	bool accept_deferred;
	int accept_ticks;
	uint64_t conns_closing;      /* counted in conns_now, close under way */
	uv_timer_t stall_timer;      /* runs while a connection is backlogged */
	uint32_t backlogged;         /* connections with uv_write under way */
	struct sq_conn *conns;
	struct sq_conn *flush_list;
	uint64_t next_conn_id;
	struct sq_stats stats;
	msgpack_zone loop_zone;      /* arena of the loop fast path */
	struct sq_engine *engine;    /* the one worker engine (engine.h) */
	struct sq_prober *prober;    /* the mount watchdog (prober.h) */
	struct sq_watcher *watcher;  /* watch.subscribe's subscriptions (watcher.h) */
	struct sq_xfers *xfers;      /* file.read's transfers (transfer.h) */
	struct sq_fdshare fds;       /* descriptors per uid (fdshare.h) */
	char rbuf[65536];            /* shared read buffer of the loop thread */
};

/* Loop-side state without a listener (used by sq_server_init, and by the
 * request-path fuzzer, which feeds connections through sq_server_adopt). */
void sq_server_setup(struct sq_server *s, uv_loop_t *loop, const struct sq_config *cfg);
/* Serve an already-connected socket as if accepted from a peer with cred. */
int sq_server_adopt(struct sq_server *s, int fd, const struct sq_cred *cred);
/* Set up listening on cfg->socket_path (or an inherited fd >= 0). */
int sq_server_init(struct sq_server *s, uv_loop_t *loop,
                   const struct sq_config *cfg, int inherited_fd);
/* Begin an orderly stop: no new connections, finish what is in flight. */
void sq_server_stop(struct sq_server *s);
/* After the loop: true when engine threads were left stuck in the kernel
 * (they still use what they hold, the engine and the prober, which are then
 * not freed: the process must end without teardown). */
bool sq_server_free(struct sq_server *s);

/* Queue bytes to a connection (dropped if it is closing).  Enforces the
 * output cap: over it, the connection is closed and -ENOBUFS returned. */
int sq_conn_send(struct sq_conn *c, const char *data, size_t len);
/* What was packed straight into sq_conn_out(c) is queued: the same output
 * cap check as sq_conn_send, then the write is scheduled. */
int sq_conn_queued_in_place(struct sq_conn *c);
/* Bytes queued to c and not yet accepted by the kernel. */
size_t sq_conn_pending(const struct sq_conn *c);
/* A request on c has started / finished (its reply is queued or dropped). */
void sq_conn_request_begin(struct sq_conn *c);
void sq_conn_request_done(struct sq_conn *c);
/* Stop reading, send what is queued, then close (after a fatal frame). */
void sq_conn_shutdown(struct sq_conn *c, const char *why);
/* Send a notification [2, "sys.error", [{code, message}]] (no msgid to answer). */
void sq_conn_notify_error(struct sq_conn *c, const char *code, const char *message);

/* Output lending, for bulk transfers (daemon/transfer.c): a worker thread
 * writes one chunk straight into the socket (sendfile) while the loop holds
 * back the replies it queues meanwhile; they are written between chunks. */
struct sq_out_waiter {
	struct sq_out_waiter *next;
	/* Runs on the loop.  status 0: the output is lent to you: everything
	 * queued before has been written, and the loop writes nothing to the
	 * socket until sq_conn_output_return.  -ECANCELED: the connection is
	 * closing; it never will be lent.  Must not call back into the server
	 * synchronously except sq_conn_output_return and sq_conn_send. */
	void (*granted)(struct sq_out_waiter *w, int status);
};
/* Borrow c's output once everything queued so far is written (FIFO). */
void sq_conn_output_wait(struct sq_conn *c, struct sq_out_waiter *w);
/* Give it back: held replies are written, then the next waiter's turn. */
void sq_conn_output_return(struct sq_conn *c);
/* Close c at once, dropping queued output (a transfer broke the stream). */
void sq_conn_abort(struct sq_conn *c, const char *why);

#endif
