/* SPDX-License-Identifier: ISC */
/*
 * server.c - sysqd's loop side: listening socket, accepting with kernel peer
 * credentials, reading into a shared buffer and cutting frames, bounded
 * per-connection output with batched writes, backpressure and orderly stop.
 *
 * Input: a read lands in the loop's one shared buffer; complete frames are
 * dispatched in place and only a trailing partial frame is copied into the
 * connection, so an idle connection holds no buffer at all.  Output: replies
 * are appended to the connection and written once per read batch or loop
 * iteration (uv_try_write first, uv_write for the rest), like Redis's
 * beforeSleep.  Backpressure: with max_output/2 bytes queued, a connection
 * is not read until they drain; over max_output it is dropped, and so is one
 * whose queued bytes have not moved for write_timeout.
 */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "policy.h"
#include "prober.h"
#include "request.h"
#include "server.h"
#include "transfer.h"
#include "watcher.h"

#define SQ_READ_CHUNK 65536u
#define SQ_IDLE_BUF_KEEP 4096u   /* buffers above this are freed when empty */
#define SQ_STALL_CHECK_MS 250u   /* how often backlogged connections are checked */

struct write_req {
	uv_write_t req;
	struct sq_conn *conn;
	char *data;
	size_t len;
};

struct sq_conn {
	uv_pipe_t pipe;              /* must stay first: handle->data is the conn */
	struct sq_server *srv;
	uint64_t id;
	struct sq_cred cred;
	struct sq_buf in;            /* a partial frame, kept between reads */
	struct sq_frame_scanner *scan; /* how far the partial frame was scanned */
	bool scan_valid;             /* scan describes the frame at in.data */
	struct sq_buf out;           /* replies not yet handed to the kernel */
	size_t out_writing;          /* bytes in uv_write requests under way */
	uint64_t stall_since;        /* uv_now of the last output progress */
	uint32_t inflight;           /* requests dispatched, not yet answered */
	bool reading;                /* uv_read_start is in effect */
	bool eof;                    /* peer closed its side; finish and close */
	bool closing;                /* uv_close called; replies are dropped */
	atomic_bool abandoned;       /* closing, or the peer hung up: see sq_conn_abandoned */
	bool closed;                 /* close callback ran */
	bool counted_closing;        /* counted in srv->conns_closing */
	bool flush_queued;
	bool resume_queued;          /* the flusher resumes reading it */
	bool processing;             /* inside the frame loop: no re-entry */
	/* output lending (bulk transfers, see sq_conn_output_wait) */
	bool out_lent;               /* a transfer thread writes to the socket */
	struct sq_out_waiter *lend_head, *lend_tail; /* waiting to borrow it */
	void *watch;                 /* its subscriptions (daemon/watcher.c) */
	bool large;                  /* root's shares: uid 0 or `allow large-shares` */
	bool fd_charged;             /* its descriptor is charged to its uid */
	struct sq_conn *flush_next;  /* list of connections with queued output */
	struct sq_conn *prev, *next; /* all connections */
};

struct sq_server *sq_conn_server(const struct sq_conn *c)
{
	return c->srv;
}

const struct sq_cred *sq_conn_cred(const struct sq_conn *c)
{
	return &c->cred;
}

bool sq_conn_large(const struct sq_conn *c)
{
	return c->large;
}

uint64_t sq_conn_id(const struct sq_conn *c)
{
	return c->id;
}

bool sq_conn_closing(const struct sq_conn *c)
{
	return c->closing;
}

const atomic_bool *sq_conn_abandoned(const struct sq_conn *c)
{
	return &c->abandoned;
}

int sq_conn_fd(const struct sq_conn *c)
{
	uv_os_fd_t fd;
	return uv_fileno((const uv_handle_t *)&c->pipe, &fd) == 0 ? fd : -1;
}

struct sq_buf *sq_conn_out(struct sq_conn *c)
{
	return &c->out;
}

void *sq_conn_watch(const struct sq_conn *c)
{
	return c->watch;
}

void sq_conn_set_watch(struct sq_conn *c, void *subs)
{
	c->watch = subs;
}

static void conn_close(struct sq_conn *c, const char *why);
static void conn_resume(struct sq_conn *c);
static void queue_resume(struct sq_conn *c);

/* ---- lifetime ---------------------------------------------------------- */

static void conn_maybe_free(struct sq_conn *c)
{
	if (!c->closed || c->inflight || c->out_writing || c->flush_queued)
		return;
	sq_cred_free(&c->cred);
	sq_buf_free(&c->in);
	sq_buf_free(&c->out);
	free(c->scan);
	free(c);
}

static void unlink_conn(struct sq_conn *c)
{
	struct sq_server *s = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else if (s->conns == c)
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void maybe_finish_stop(struct sq_server *s);

static void on_conn_closed(uv_handle_t *h)
{
	struct sq_conn *c = h->data;
	struct sq_server *s = c->srv;
	c->closed = true;
	s->stats.conns_now--;
	if (c->fd_charged)
		sq_fds_give(&s->fds, c->cred.uid, 1);
	if (c->counted_closing)
		s->conns_closing--;
	unlink_conn(c);
	conn_maybe_free(c);
	maybe_finish_stop(s);
}

static void cancel_lenders(struct sq_conn *c);

static void conn_close(struct sq_conn *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = true;
	atomic_store(&c->abandoned, true);
	c->counted_closing = true;
	c->srv->conns_closing++;
	sq_log(SQ_LOG_DEBUG, "connection #%llu closed: %s", (unsigned long long)c->id, why);
	sq_buf_free(&c->out);
	sq_buf_free(&c->in);
	cancel_lenders(c);
	if (c->watch)
		sq_watch_conn_closed(c);
	uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

/* Close once nothing is in flight or queued, after EOF or a fatal frame. */
static void conn_close_if_drained(struct sq_conn *c)
{
	if (c->eof && !c->closing && c->inflight == 0 && c->out.len == 0 &&
	    c->out_writing == 0)
		conn_close(c, "finished");
}

/* ---- output ------------------------------------------------------------ */

static void conn_flush(struct sq_conn *c);

/* Bytes queued to c above which it is not read (backpressure). */
static size_t pause_mark(const struct sq_server *s)
{
	return s->cfg.max_output / 2;
}

/* The one test of whether the loop may write to c's socket now: not while
 * libuv still owns queued bytes of ours (they go first), nor while a
 * transfer thread holds the socket (its chunk is being written). */
static bool may_write(const struct sq_conn *c)
{
	return !c->closing && !c->out_writing && !c->out_lent;
}

/* The one test of whether the loop may take more requests from c: not
 * after EOF, not with max_inflight requests in flight, not while its
 * queued replies pass half of max_output (they must drain first). */
static bool may_read(const struct sq_conn *c)
{
	const struct sq_server *s = c->srv;
	return !c->closing && !c->eof && c->inflight < s->cfg.max_inflight &&
	       sq_conn_pending(c) < pause_mark(s);
}

/* A client whose queued replies have not moved for write_timeout is gone
 * or not reading: disconnect it (its reading is already paused). */
static void on_stall_check(uv_timer_t *t)
{
	struct sq_server *s = t->data;
	uint64_t now = uv_now(s->loop);
	for (struct sq_conn *c = s->conns; c; c = c->next) {
		if (c->closing || !c->out_writing || c->out_lent ||
		    now - c->stall_since < s->cfg.write_timeout_ms)
			continue;
		s->stats.slow_disconnects++;
		sq_log(SQ_LOG_WARN, "connection #%llu (uid %u pid %d): no reply bytes taken for "
		       "%u ms, disconnecting a client that does not read its replies",
		       (unsigned long long)c->id, (unsigned)c->cred.uid, (int)c->cred.pid,
		       s->cfg.write_timeout_ms);
		conn_close(c, "write stall");
	}
}

static void on_write(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct sq_conn *c = w->conn;

	struct sq_server *s = c->srv;
	c->out_writing -= w->len;
	if (c->out_writing == 0 && --s->backlogged == 0)
		uv_timer_stop(&s->stall_timer);
	if (status == 0) {
		s->stats.bytes_out += w->len;
		c->stall_since = uv_now(s->loop);
	}
	free(w->data);
	free(w);
	if (status < 0) {
		conn_close(c, uv_strerror(status));
	} else {
		conn_flush(c);
		conn_resume(c); /* reading may have paused on queued output */
	}
	conn_maybe_free(c);
}

static bool lend_output(struct sq_conn *c);

/* Everything queued is written: a transfer waiting for the socket gets
 * it; else held watch events move on, or a finished connection closes. */
static void output_drained(struct sq_conn *c)
{
	if (lend_output(c))
		return;
	if (c->watch)
		sq_watch_output_drained(c);
	conn_close_if_drained(c);
}

static void conn_flush(struct sq_conn *c)
{
	if (!may_write(c))
		return;
	if (c->out.len == 0) {
		output_drained(c);
		return;
	}
	uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
	int n = uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
	if (n < 0 && n != UV_EAGAIN) {
		conn_close(c, uv_strerror(n));
		return;
	}
	if (n > 0) {
		c->srv->stats.bytes_out += (uint64_t)n;
		sq_buf_consume(&c->out, (size_t)n);
	}
	if (c->out.len == 0) {
		if (c->out.cap > SQ_IDLE_BUF_KEEP)
			sq_buf_free(&c->out);
		output_drained(c);
		if (!c->reading)
			queue_resume(c); /* it may have paused on queued output */
		return;
	}
	/* the kernel is full: hand the rest to libuv, which owns it until on_write */
	struct write_req *w = malloc(sizeof(*w));
	if (!w) {
		conn_close(c, "out of memory");
		return;
	}
	w->conn = c;
	w->data = c->out.data;
	w->len = c->out.len;
	sq_buf_init(&c->out);
	if (c->out_writing == 0) {
		/* backlogged: the write-stall clock runs until libuv makes progress */
		c->stall_since = uv_now(c->srv->loop);
		if (c->srv->backlogged++ == 0)
			uv_timer_start(&c->srv->stall_timer, on_stall_check,
			               SQ_STALL_CHECK_MS, SQ_STALL_CHECK_MS);
	}
	c->out_writing += w->len;
	b = uv_buf_init(w->data, (unsigned)w->len);
	int rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_write);
	if (rc < 0) {
		c->out_writing -= w->len;
		if (c->out_writing == 0 && --c->srv->backlogged == 0)
			uv_timer_stop(&c->srv->stall_timer);
		free(w->data);
		free(w);
		conn_close(c, uv_strerror(rc));
	}
}

static void queue_flush(struct sq_conn *c)
{
	if (c->flush_queued)
		return;
	c->flush_queued = true;
	c->flush_next = c->srv->flush_list;
	c->srv->flush_list = c;
}

/* Resume a paused connection from the flusher, outside any read callback. */
static void queue_resume(struct sq_conn *c)
{
	if (c->closing || c->eof || c->processing)
		return;
	c->resume_queued = true;
	queue_flush(c);
}

static void on_prepare(uv_prepare_t *h)
{
	struct sq_server *s = h->data;
	sq_engine_flush(s->engine); /* jobs queued in a batch never wait for a wake-up */
	/* until empty: resuming a connection can queue it again, and what is
	 * queued now must not wait for an event to wake the loop.  Each pass
	 * over one connection ends when the kernel stops taking its bytes. */
	while (s->flush_list) {
		struct sq_conn *c = s->flush_list;
		s->flush_list = NULL;
		while (c) {
			struct sq_conn *next = c->flush_next;
			c->flush_queued = false;
			c->flush_next = NULL;
			if (c->resume_queued) {
				c->resume_queued = false;
				conn_resume(c);
			}
			conn_flush(c);
			conn_maybe_free(c);
			c = next;
		}
	}
}

size_t sq_conn_pending(const struct sq_conn *c)
{
	return c->out.len + c->out_writing;
}

/* Drop a connection whose queued output is over the cap.  Replies made in
 * one batch have had no chance to be written yet: what the kernel accepts
 * now is not queued, so offer it first (errors are left to the flush). */
static int check_output_cap(struct sq_conn *c)
{
	if (sq_conn_pending(c) <= c->srv->cfg.max_output)
		return 0;
	if (may_write(c)) {
		uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
		int n = uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
		if (n > 0) {
			c->srv->stats.bytes_out += (uint64_t)n;
			sq_buf_consume(&c->out, (size_t)n);
		}
		if (sq_conn_pending(c) <= c->srv->cfg.max_output)
			return 0;
	}
	c->srv->stats.slow_disconnects++;
	sq_log(SQ_LOG_WARN, "connection #%llu (uid %u pid %d): over %zu queued output bytes, "
	       "disconnecting a client that does not read its replies",
	       (unsigned long long)c->id, (unsigned)c->cred.uid, (int)c->cred.pid,
	       c->srv->cfg.max_output);
	conn_close(c, "output cap");
	return -ENOBUFS;
}

int sq_conn_queued_in_place(struct sq_conn *c)
{
	if (c->closing)
		return -EPIPE;
	int rc = check_output_cap(c);
	if (rc == 0 && !c->processing)
		queue_flush(c);
	return rc;
}

int sq_conn_send(struct sq_conn *c, const char *data, size_t len)
{
	if (c->closing)
		return -EPIPE;
	if (sq_buf_append(&c->out, data, len) < 0) {
		conn_close(c, "out of memory");
		return -ENOMEM;
	}
	return sq_conn_queued_in_place(c);
}

/* [2, "sys.error", [{code, message}]]: for errors that have no msgid. */
static void pack_error_notify(struct sq_buf *b, const char *code, const char *message)
{
	msgpack_packer pk;
	sq_packer_init(&pk, b);
	sq_pack_notify_head(&pk, "sys.error");
	msgpack_pack_array(&pk, 1);
	sq_pack_error(&pk, code, message);
}

void sq_conn_notify_error(struct sq_conn *c, const char *code, const char *message)
{
	struct sq_buf b;
	sq_buf_init(&b);
	pack_error_notify(&b, code, message);
	sq_conn_send(c, b.data, b.len);
	sq_buf_free(&b);
}

/* ---- output lending (bulk transfers) -------------------------------------- */

/* The output is idle: lend it to the first waiter.  True when lent. */
static bool lend_output(struct sq_conn *c)
{
	struct sq_out_waiter *w = c->lend_head;
	if (!w)
		return false;
	c->lend_head = w->next;
	if (!c->lend_head)
		c->lend_tail = NULL;
	w->next = NULL;
	c->out_lent = true;
	w->granted(w, 0);
	return true;
}

/* On close: a thread writing to the socket fails at its next write (the
 * transfer holds its own dup of the descriptor, so shutdown is what reaches
 * it), and waiters learn they will never get the output. */
static void cancel_lenders(struct sq_conn *c)
{
	uv_os_fd_t fd;
	if (c->out_lent && uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0)
		shutdown(fd, SHUT_RDWR);
	while (c->lend_head) {
		struct sq_out_waiter *w = c->lend_head;
		c->lend_head = w->next;
		w->next = NULL;
		w->granted(w, -ECANCELED);
	}
	c->lend_tail = NULL;
}

void sq_conn_output_wait(struct sq_conn *c, struct sq_out_waiter *w)
{
	if (c->closing) {
		w->granted(w, -ECANCELED);
		return;
	}
	w->next = NULL;
	if (c->lend_tail)
		c->lend_tail->next = w;
	else
		c->lend_head = w;
	c->lend_tail = w;
	queue_flush(c); /* granted from the flusher once the output is idle */
}

void sq_conn_output_return(struct sq_conn *c)
{
	c->out_lent = false;
	if (!c->closing)
		queue_flush(c);
}

void sq_conn_abort(struct sq_conn *c, const char *why)
{
	conn_close(c, why);
}

/* ---- input ------------------------------------------------------------- */

void sq_conn_shutdown(struct sq_conn *c, const char *why)
{
	sq_log(SQ_LOG_INFO, "connection #%llu (uid %u pid %d): %s",
	       (unsigned long long)c->id, (unsigned)c->cred.uid, (int)c->cred.pid, why);
	c->eof = true;
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = false;
	}
	queue_flush(c);
}

/* Peek the msgid of a request whose frame cannot be decoded whole. */
static bool peek_msgid(const unsigned char *p, size_t len, uint32_t *id)
{
	if (len < 3 || p[0] != 0x94 || p[1] != 0x00)
		return false;
	if (p[2] < 0x80) {
		*id = p[2];
		return true;
	}
	unsigned w = p[2] == 0xcc ? 1 : p[2] == 0xcd ? 2 : p[2] == 0xce ? 4 : 0;
	if (!w || len < 3 + w)
		return false;
	uint32_t v = 0;
	for (unsigned i = 0; i < w; i++)
		v = (v << 8) | p[3 + i];
	*id = v;
	return true;
}

/* A frame we cannot delimit: answer what we can, then drop the connection,
 * because the stream cannot be resynchronised after it. */
static void frame_error(struct sq_conn *c, const char *data, size_t len, int rc)
{
	struct sq_server *s = c->srv;
	char msg[160];
	uint32_t id;

	if (rc == -E2BIG) {
		s->stats.oversize++;
		snprintf(msg, sizeof(msg), "message over the limits (max %zu bytes, depth %u, "
		         "%u elements per container)", s->cfg.limits.max_msg,
		         s->cfg.limits.max_depth, s->cfg.limits.max_elems);
	} else {
		s->stats.proto_errors++;
		snprintf(msg, sizeof(msg), "bytes that are not msgpack");
	}
	const char *code = rc == -E2BIG ? "E2BIG" : "EPROTO";
	if (peek_msgid((const unsigned char *)data, len, &id)) {
		struct sq_buf b;
		msgpack_packer pk;
		sq_buf_init(&b);
		sq_packer_init(&pk, &b);
		sq_pack_error_response(&pk, id, code, msg);
		s->stats.errors++;
		sq_conn_send(c, b.data, b.len);
		sq_buf_free(&b);
	} else {
		sq_conn_notify_error(c, code, msg);
	}
	sq_conn_shutdown(c, msg);
}

/* Dispatch complete frames from data; returns the bytes consumed. */
static size_t process_frames(struct sq_conn *c, const char *data, size_t len)
{
	struct sq_server *s = c->srv;
	size_t off = 0;
	struct sq_frame_scanner local;
	/* a frame left partial by the last read resumes where its scan stopped */
	bool resume = c->scan_valid && data == c->in.data;

	c->scan_valid = false;
	c->processing = true;
	while (off < len && may_read(c)) {
		size_t flen;
		struct sq_frame_scanner *st = resume ? c->scan : &local;
		if (!resume)
			sq_frame_scanner_init(&local);
		resume = false;
		int rc = sq_frame_scan_resume(st, data + off, len - off, &s->cfg.limits, &flen);
		if (rc == -EAGAIN) {
			/* these bytes stay in c->in from offset 0: keep the scan's place */
			if (!c->scan)
				c->scan = malloc(sizeof(*c->scan));
			if (c->scan) {
				if (st != c->scan)
					*c->scan = *st;
				c->scan_valid = true;
			}
			break;
		}
		if (rc < 0) {
			frame_error(c, data + off, len - off, rc);
			off = len;
			break;
		}
		sq_dispatch(c, data + off, flen);
		off += flen;
	}
	sq_dispatch_flush(s);
	c->processing = false;
	if (c->closing || c->eof || !c->reading || may_read(c))
		return off;
	uv_read_stop((uv_stream_t *)&c->pipe);
	c->reading = false;
	if (c->inflight >= s->cfg.max_inflight)
		s->stats.read_pauses++;
	else
		s->stats.output_pauses++; /* its replies pile up: read once they drain */
	return off;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct sq_conn *c = h->data;
	(void)suggested;
	if (c->in.len == 0) {
		*buf = uv_buf_init(c->srv->rbuf, sizeof(c->srv->rbuf));
		return;
	}
	if (sq_buf_reserve(&c->in, SQ_READ_CHUNK) < 0) {
		*buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
		return;
	}
	*buf = uv_buf_init(c->in.data + c->in.len, (unsigned)(c->in.cap - c->in.len));
}


/* Whether c's peer has hung up both ways (POLLHUP: it closed its end, or
 * shut down both directions), as against a shutdown(SHUT_WR) of a peer
 * that still reads the answers. */
static bool peer_hung_up(const struct sq_conn *c)
{
	struct pollfd p = { .fd = sq_conn_fd(c), .events = POLLOUT };
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct sq_conn *c = st->data;
	struct sq_server *s = c->srv;

	if (nread == 0)
		return;
	if (nread < 0) {
		if (nread == UV_EOF) {
			/* answer what was asked, then close; unless the peer hung
			 * up both ways (closed, not shutdown(SHUT_WR)): then no
			 * answer can reach it, and what is not started is not run */
			c->eof = true;
			if (peer_hung_up(c))
				atomic_store(&c->abandoned, true);
			uv_read_stop(st);
			c->reading = false;
			conn_flush(c);
		} else {
			conn_close(c, uv_strerror((int)nread));
		}
		return;
	}
	s->stats.bytes_in += (uint64_t)nread;
	if (buf->base == s->rbuf) {
		size_t used = process_frames(c, s->rbuf, (size_t)nread);
		if (!c->closing && used < (size_t)nread &&
		    sq_buf_append(&c->in, s->rbuf + used, (size_t)nread - used) < 0)
			conn_close(c, "out of memory");
	} else {
		c->in.len += (size_t)nread;
		size_t used = process_frames(c, c->in.data, c->in.len);
		if (!c->closing) {
			sq_buf_consume(&c->in, used);
			if (c->in.len == 0 && c->in.cap > SQ_IDLE_BUF_KEEP)
				sq_buf_free(&c->in);
		}
	}
	conn_flush(c);
}

/* Frames buffered while paused, then the socket again. */
static void conn_resume(struct sq_conn *c)
{
	if (c->reading || c->processing || !may_read(c))
		return;
	if (c->in.len) {
		size_t used = process_frames(c, c->in.data, c->in.len);
		if (c->closing)
			return;
		sq_buf_consume(&c->in, used);
		queue_flush(c);
	}
	if (may_read(c) && uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) == 0)
		c->reading = true;
}

void sq_conn_request_begin(struct sq_conn *c)
{
	c->inflight++;
	c->srv->stats.inflight++;
}

void sq_conn_request_done(struct sq_conn *c)
{
	c->inflight--;
	c->srv->stats.inflight--;
	if (c->closing) {
		conn_maybe_free(c);
		return;
	}
	conn_resume(c);
	if (c->eof)
		queue_flush(c);
}

/* ---- accepting ------------------------------------------------------------ */

static void reject(struct sq_server *s, struct sq_conn *c, const char *why)
{
	/* one best-effort notification to say why, then close */
	struct sq_buf b;
	sq_buf_init(&b);
	pack_error_notify(&b, "EAGAIN", why);
	uv_buf_t ub = uv_buf_init(b.data, (unsigned)b.len);
	uv_try_write((uv_stream_t *)&c->pipe, &ub, 1);
	sq_buf_free(&b);
	c->closing = true;
	s->stats.conns_now++; /* balanced by on_conn_closed */
	uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

/* Open connections of one uid: a walk, bounded by max_conns, at accept only. */
static uint32_t conns_of_uid(const struct sq_server *s, uid_t uid)
{
	uint32_t n = 0;
	for (const struct sq_conn *c = s->conns; c; c = c->next)
		n += !c->closing && c->cred.uid == uid;
	return n;
}

static struct sq_conn *conn_new(struct sq_server *s)
{
	struct sq_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->srv = s;
	c->id = ++s->next_conn_id;
	uv_pipe_init(s->loop, &c->pipe, 0);
	c->pipe.data = c;
	return c;
}

/* Count c as open, link it, and start reading (cred_rc: peer credentials). */
static void conn_start(struct sq_server *s, struct sq_conn *c, int cred_rc)
{
	s->stats.conns_now++;
	s->stats.conns_total++;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	if (cred_rc < 0) {
		sq_log(SQ_LOG_WARN, "connection #%llu: no peer credentials: %s",
		       (unsigned long long)c->id, strerror(-cred_rc));
		conn_close(c, "no peer credentials");
		return;
	}
	sq_log(SQ_LOG_INFO, "connection #%llu from uid %u gid %u pid %d",
	       (unsigned long long)c->id, (unsigned)c->cred.uid, (unsigned)c->cred.gid,
	       (int)c->cred.pid);
	if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) == 0)
		c->reading = true;
	else
		conn_close(c, "read_start failed");
}

/* Connections that count against max_conns: open and not yet closing. */
static uint64_t conns_live(const struct sq_server *s)
{
	return s->stats.conns_now - s->conns_closing;
}

static void accept_one(struct sq_server *s)
{
	struct sq_conn *c = conn_new(s);
	if (!c)
		return;
	if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&c->pipe) < 0) {
		c->closing = true;
		s->stats.conns_now++;
		uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
		return;
	}
	if (conns_live(s) >= s->cfg.max_conns || s->stopping) {
		sq_log(SQ_LOG_WARN, "refusing a connection: %llu open (max %u)",
		       (unsigned long long)conns_live(s), s->cfg.max_conns);
		s->stats.conns_rejected++;
		reject(s, c, "too many connections to sysqd");
		return;
	}
	uv_os_fd_t fd;
	int rc = uv_fileno((uv_handle_t *)&c->pipe, &fd);
	if (rc == 0)
		rc = sq_peer_cred(fd, &c->cred);
	if (rc == 0 && c->cred.uid != 0 && conns_of_uid(s, c->cred.uid) >= s->cfg.max_per_uid) {
		sq_log(SQ_LOG_WARN, "refusing a connection from uid %u pid %d: it has %u open "
		       "(max per user %u)", (unsigned)c->cred.uid, (int)c->cred.pid,
		       s->cfg.max_per_uid, s->cfg.max_per_uid);
		s->stats.conns_rejected_uid++;
		reject(s, c, "too many connections from this user to sysqd");
		return;
	}
	if (rc == 0) {
		c->large = c->cred.uid == 0 || sq_policy_large_shares(sq_policy_current(), &c->cred);
		if (sq_fds_take(&s->fds, c->cred.uid, c->large, 1) < 0) {
			sq_log(SQ_LOG_WARN, "refusing a connection from uid %u pid %d: it holds "
			       "%llu of sysqd's descriptors, its share", (unsigned)c->cred.uid,
			       (int)c->cred.pid, (unsigned long long)sq_fds_of(&s->fds, c->cred.uid));
			s->stats.conns_rejected_uid++;
			reject(s, c, "this user holds its share of sysqd's descriptors "
			       "(connections and watched processes)");
			return;
		}
		c->fd_charged = true;
	}
	conn_start(s, c, rc);
}

/*
 * At the connection limit the decision waits one loop iteration: libuv
 * accepts a whole backlog in one go, before any of those peers' EOFs have
 * been read, so in a connect/close storm the limit would otherwise be full
 * of peers that already left, and a live client would be refused.  Not
 * calling uv_accept pauses the listener; the check handle decides after the
 * next poll (the idle handle keeps that poll from blocking).
 */
static void on_accept_idle(uv_idle_t *h)
{
	(void)h;
}

static void on_accept_check(uv_check_t *h)
{
	struct sq_server *s = h->data;
	sq_log(SQ_LOG_DEBUG, "deferred accept: tick %d, %llu open, %llu closing",
	       s->accept_ticks, (unsigned long long)s->stats.conns_now,
	       (unsigned long long)s->conns_closing);
	if (--s->accept_ticks > 0)
		return;
	uv_check_stop(&s->accept_check);
	uv_idle_stop(&s->accept_idle);
	s->accept_deferred = false;
	accept_one(s);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct sq_server *s = server->data;
	if (status < 0) {
		sq_log(SQ_LOG_WARN, "accept: %s", uv_strerror(status));
		return;
	}
	if (conns_live(s) >= s->cfg.max_conns && !s->stopping) {
		if (!s->accept_deferred) {
			s->accept_deferred = true;
			s->accept_ticks = 2; /* this iteration's check, then the next */
			uv_check_start(&s->accept_check, on_accept_check);
			uv_idle_start(&s->accept_idle, on_accept_idle);
		}
		return;
	}
	accept_one(s);
}

int sq_server_adopt(struct sq_server *s, int fd, const struct sq_cred *cred)
{
	struct sq_conn *c = conn_new(s);
	if (!c)
		return -ENOMEM;
	int rc = uv_pipe_open(&c->pipe, fd);
	c->cred = *cred;
	c->cred.groups = malloc(sizeof(gid_t) * (size_t)(cred->ngroups + 1));
	if (rc == 0 && !c->cred.groups)
		rc = -ENOMEM;
	if (c->cred.groups && cred->ngroups)
		memcpy(c->cred.groups, cred->groups, sizeof(gid_t) * (size_t)cred->ngroups);
	conn_start(s, c, rc);
	return rc;
}

/* ---- the listening socket ------------------------------------------------ */

/* 0 when path is free to bind (a stale socket was removed), else -errno. */
static int claim_socket_path(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		sq_log(SQ_LOG_ERR, "%s exists and is not a socket; not touching it", path);
		return -EEXIST;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM, 0); /* start-up: no thread can fork */
	if (fd < 0)
		return -errno;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int err = errno;
	close(fd);
	if (rc == 0) {
		sq_log(SQ_LOG_ERR, "another sysqd is already listening on %s; "
		       "stop it first or choose another socket with -s", path);
		return -EADDRINUSE;
	}
	if (err != ECONNREFUSED) {
		sq_log(SQ_LOG_ERR, "cannot check the existing socket %s: %s", path,
		       strerror(err));
		return -err;
	}
	sq_log(SQ_LOG_INFO, "removing stale socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

void sq_server_setup(struct sq_server *s, uv_loop_t *loop, const struct sq_config *cfg)
{
	s->loop = loop;
	s->cfg = *cfg;
	s->stats.start_ns = uv_hrtime();
	msgpack_zone_init(&s->loop_zone, 2048);
	uv_prepare_init(loop, &s->flusher);
	s->flusher.data = s;
	uv_prepare_start(&s->flusher, on_prepare);
	uv_check_init(loop, &s->accept_check);
	s->accept_check.data = s;
	uv_idle_init(loop, &s->accept_idle);
	s->accept_idle.data = s;
	uv_timer_init(loop, &s->stall_timer);
	s->stall_timer.data = s;
	sq_fds_init(&s->fds, cfg->max_fds_per_uid);
	if (sq_engine_init(&s->engine, loop) < 0)
		sq_log(SQ_LOG_ERR, "cannot set up the worker engine: methods that run off "
		       "the loop will fail");
	s->prober = sq_prober_new(loop, s->engine);
	if (!s->prober)
		sq_log(SQ_LOG_ERR, "cannot set up the mount prober: fs.list and fs.stat will fail");
	s->watcher = sq_watcher_new(loop, s->engine);
	if (s->watcher)
		sq_watcher_proc_config(s->watcher, s->cfg.no_proc_events,
		                       (int)s->cfg.proc_events_buffer);
	s->xfers = sq_xfers_new(loop);
	if (!s->watcher)
		sq_log(SQ_LOG_ERR, "cannot set up the watcher: watch.subscribe will fail");
}

int sq_server_init(struct sq_server *s, uv_loop_t *loop,
                   const struct sq_config *cfg, int inherited_fd)
{
	int rc;

	sq_server_setup(s, loop, cfg);
	uv_pipe_init(loop, &s->listener, 0);
	s->listener.data = s;

	if (inherited_fd >= 0) {
		rc = uv_pipe_open(&s->listener, inherited_fd);
		if (rc < 0) {
			sq_log(SQ_LOG_ERR, "cannot use the inherited socket: %s", uv_strerror(rc));
			return rc;
		}
	} else {
		if (strlen(cfg->socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return -ENAMETOOLONG;
		if ((rc = claim_socket_path(cfg->socket_path)) < 0)
			return rc;
		rc = uv_pipe_bind(&s->listener, cfg->socket_path);
		if (rc < 0) {
			sq_log(SQ_LOG_ERR, "cannot bind %s: %s", cfg->socket_path, uv_strerror(rc));
			return rc;
		}
		s->owns_socket_file = true;
		/* every local user may connect: access is decided per peer, not by mode */
		if (chmod(cfg->socket_path, 0666) < 0) {
			rc = -errno;
			sq_log(SQ_LOG_ERR, "chmod %s: %s", cfg->socket_path, strerror(errno));
			return rc;
		}
	}
	rc = uv_listen((uv_stream_t *)&s->listener, 1024, on_connection);
	if (rc < 0) {
		sq_log(SQ_LOG_ERR, "listen: %s", uv_strerror(rc));
		return rc;
	}
	s->listening = true;
	return 0;
}

/* ---- stopping ------------------------------------------------------------ */

static void close_if_open(uv_handle_t *h)
{
	if (h->loop && !uv_is_closing(h))
		uv_close(h, NULL);
}

static void maybe_finish_stop(struct sq_server *s)
{
	if (!s->stopping || s->conns)
		return;
	/* nothing left to serve: let the loop run dry */
	close_if_open((uv_handle_t *)&s->flusher);
	close_if_open((uv_handle_t *)&s->accept_check);
	close_if_open((uv_handle_t *)&s->accept_idle);
	close_if_open((uv_handle_t *)&s->stall_timer);
	close_if_open((uv_handle_t *)&s->stop_timer);
	close_if_open((uv_handle_t *)&s->sig_term);
	close_if_open((uv_handle_t *)&s->sig_int);
	close_if_open((uv_handle_t *)&s->sig_hup);
	sq_engine_stop(s->engine); /* queued jobs are cancelled; running ones end */
	sq_prober_stop(s->prober); /* its handle closes after the last scan's answer */
	sq_xfers_stop(s->xfers);
}

/* The grace period is over: close what is still open.  A job still running
 * now is stuck in the kernel (a hung mount); it is not waited for: the
 * loop ends, and its thread is left to the process's exit. */
static void on_stop_timeout(uv_timer_t *t)
{
	struct sq_server *s = t->data;
	sq_log(SQ_LOG_WARN, "stop: closing %s connections still busy after the grace period",
	       s->conns ? "the" : "no");
	for (struct sq_conn *c = s->conns; c; c = c->next)
		conn_close(c, "daemon stopping");
	maybe_finish_stop(s);
	struct sq_engine_stats es = { 0 };
	if (s->engine) {
		sq_engine_stop(s->engine);
		sq_engine_get_stats(s->engine, &es);
	}
	if (es.busy) {
		sq_log(SQ_LOG_WARN, "stop: %llu call(s) still stuck in the kernel after the %u s "
		       "grace period (a hung mount?) are left unanswered: exiting without them",
		       (unsigned long long)es.busy, SQ_STOP_GRACE_MS / 1000);
		uv_stop(s->loop);
	}
}

void sq_server_stop(struct sq_server *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	if (s->listening) {
		uv_close((uv_handle_t *)&s->listener, NULL);
		s->listening = false;
	}
	if (s->owns_socket_file) {
		unlink(s->cfg.socket_path);
		s->owns_socket_file = false;
	}
	/* in-flight requests finish and are answered; then each connection closes */
	for (struct sq_conn *c = s->conns; c; c = c->next)
		if (!c->closing)
			sq_conn_shutdown(c, "daemon stopping");
	uv_timer_init(s->loop, &s->stop_timer);
	s->stop_timer.data = s;
	uv_timer_start(&s->stop_timer, on_stop_timeout, SQ_STOP_GRACE_MS, 0);
	uv_unref((uv_handle_t *)&s->stop_timer);
	maybe_finish_stop(s);
}

bool sq_server_free(struct sq_server *s)
{
	bool stuck = sq_engine_free(s->engine);
	s->engine = NULL;
	/* a thread stuck in a probe still locks the prober: then it stays too */
	stuck |= sq_prober_free(s->prober);
	s->prober = NULL;
	/* every connection closed and dropped its subscriptions: nothing of
	 * the watcher is open, and no thread uses it */
	sq_watcher_free(s->watcher);
	sq_xfers_free(s->xfers);
	s->xfers = NULL;
	s->watcher = NULL;
	sq_fds_free(&s->fds);
	msgpack_zone_destroy(&s->loop_zone);
	return stuck;
}
