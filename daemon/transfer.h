/* SPDX-License-Identifier: ISC */
/*
 * transfer.h - bulk transfers: a file descriptor streamed into a client's
 * socket in msgpack framing, chunk by chunk, by sendfile(2) in jobs of the
 * worker engine, never on the loop (PROTOCOL.md, "file.read").
 *
 * Life of a transfer (all calls on the loop thread):
 *   sq_xfer_new      reserve one of SQ_XFER_MAX slots, dup the socket
 *   (the caller opens the file as the peer, on a worker)
 *   sq_xfer_start    answer the request, then stream [offset, offset+len)
 *   or sq_xfer_discard  when the open failed
 */
#ifndef SQ_TRANSFER_H
#define SQ_TRANSFER_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#define SQ_XFER_CHUNK   (1u << 20)   /* payload bytes per file.data message */
#define SQ_XFER_MAX     64u          /* transfers at once, daemon-wide */
#define SQ_XFER_PER_UID 4u           /* ... of one uid */
#define SQ_XFER_PER_ROOT 16u         /* ... of root */
/* A transfer that moves no byte for --write-timeout is dropped. */

struct sq_conn;
struct sq_req;
struct sq_xfer;
struct sq_xfers;

/* A slot for a transfer on r's connection: 0, -EAGAIN when the caller's
 * uid or the daemon has all its transfers running, or -ENOMEM / -EMFILE ... */
int sq_xfer_new(struct sq_req *r, struct sq_xfer **out);
/* Give the slot back before sq_xfer_start (the open failed). */
void sq_xfer_discard(struct sq_xfer *x);
/* Finish r with the result already packed in r->pk (the announcement), then
 * stream len bytes of fd from off as file.data notifications and end with
 * file.end.  Takes fd, which is closed on a transfer thread at the end. */
/* Stream len bytes of fd from off (the response is packed in r).  stream:
 * the length is not known (sq_file_size_known): read(2) until it ends or
 * len bytes came, and frame each chunk after reading it. */
void sq_xfer_start(struct sq_xfer *x, struct sq_req *r, int fd, uint64_t off,
                   uint64_t len, bool stream);

/* Counters for sys.stats (loop thread). */
struct sq_xfer_stats {
	uint64_t active;      /* slots in use now */
	uint64_t total;       /* transfers started */
	uint64_t rejected;    /* refused with EAGAIN: all slots in use */
	uint64_t failed;      /* ended with an error or a dropped connection */
	uint64_t bytes;       /* file bytes delivered */
	uint64_t stalled;     /* dropped for no progress (a client or a read that hangs) */
};
void sq_xfer_get_stats(const struct sq_xfers *xs, struct sq_xfer_stats *st);

/* The server's transfers: slots, the stall watchdog, counters.  Made at
 * setup; stopped (its timer closed) when the server stops, after the last
 * connection; freed after the loop. */
struct sq_xfers *sq_xfers_new(uv_loop_t *loop);
void sq_xfers_stop(struct sq_xfers *xs);
void sq_xfers_free(struct sq_xfers *xs);

#endif
