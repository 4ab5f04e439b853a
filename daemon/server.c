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
 * beforeSleep.  Over max_output queued bytes, the connection is dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "request.h"
#include "server.h"

#define SQ_READ_CHUNK 65536u
#define SQ_IDLE_BUF_KEEP 4096u   /* buffers above this are freed when empty */

struct write_req {
	uv_write_t req;
	struct sq_conn *conn;
	char *data;
	size_t len;
};

static void conn_close(struct sq_conn *c, const char *why);
static void conn_resume(struct sq_conn *c);

/* ---- lifetime ---------------------------------------------------------- */

static void conn_maybe_free(struct sq_conn *c)
{
	if (!c->closed || c->inflight || c->out_writing || c->flush_queued)
		return;
	sq_cred_free(&c->cred);
	sq_buf_free(&c->in);
	sq_buf_free(&c->out);
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
	unlink_conn(c);
	conn_maybe_free(c);
	maybe_finish_stop(s);
}

static void conn_close(struct sq_conn *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = true;
	sq_log(SQ_LOG_DEBUG, "connection #%llu closed: %s", (unsigned long long)c->id, why);
	sq_buf_free(&c->out);
	sq_buf_free(&c->in);
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

static void on_write(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct sq_conn *c = w->conn;

	c->out_writing -= w->len;
	if (status == 0)
		c->srv->stats.bytes_out += w->len;
	free(w->data);
	free(w);
	if (status < 0)
		conn_close(c, uv_strerror(status));
	else
		conn_flush(c);
	conn_maybe_free(c);
}

static void conn_flush(struct sq_conn *c)
{
	if (c->closing || c->out_writing)
		return;
	if (c->out.len == 0) {
		conn_close_if_drained(c);
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
		conn_close_if_drained(c);
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
	c->out_writing += w->len;
	b = uv_buf_init(w->data, (unsigned)w->len);
	int rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_write);
	if (rc < 0) {
		c->out_writing -= w->len;
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

static void on_prepare(uv_prepare_t *h)
{
	struct sq_server *s = h->data;
	struct sq_conn *c = s->flush_list;
	s->flush_list = NULL;
	while (c) {
		struct sq_conn *next = c->flush_next;
		c->flush_queued = false;
		c->flush_next = NULL;
		conn_flush(c);
		conn_maybe_free(c);
		c = next;
	}
}

size_t sq_conn_pending(const struct sq_conn *c)
{
	return c->out.len + c->out_writing;
}

/* Drop a connection whose queued output is over the cap. */
static int check_output_cap(struct sq_conn *c)
{
	if (sq_conn_pending(c) <= c->srv->cfg.max_output)
		return 0;
	c->srv->stats.slow_disconnects++;
	sq_log(SQ_LOG_WARN, "connection #%llu (uid %u pid %d): over %zu queued output bytes, "
	       "disconnecting a client that does not read its replies",
	       (unsigned long long)c->id, (unsigned)c->cred.uid, (int)c->cred.pid,
	       c->srv->cfg.max_output);
	conn_close(c, "output cap");
	return -ENOBUFS;
}

int sq_conn_send(struct sq_conn *c, const char *data, size_t len)
{
	if (c->closing)
		return -EPIPE;
	if (sq_buf_append(&c->out, data, len) < 0) {
		conn_close(c, "out of memory");
		return -ENOMEM;
	}
	int rc = check_output_cap(c);
	if (rc == 0 && !c->processing)
		queue_flush(c);
	return rc;
}

/* [2, "sys.error", [{code, message}]]: for errors that have no msgid. */
static void pack_error_notify(struct sq_buf *b, const char *code, const char *message)
{
	msgpack_packer pk;
	sq_packer_init(&pk, b);
	sq_pack_notify_head(&pk, "sys.error");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	sq_pack_kv_str(&pk, "code", code);
	sq_pack_kv_str(&pk, "message", message);
}

void sq_conn_notify_error(struct sq_conn *c, const char *code, const char *message)
{
	struct sq_buf b;
	sq_buf_init(&b);
	pack_error_notify(&b, code, message);
	sq_conn_send(c, b.data, b.len);
	sq_buf_free(&b);
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

	c->processing = true;
	while (off < len && !c->closing && !c->eof &&
	       c->inflight < s->cfg.max_inflight) {
		size_t flen;
		int rc = sq_frame_scan(data + off, len - off, &s->cfg.limits, &flen);
		if (rc == -EAGAIN)
			break;
		if (rc < 0) {
			frame_error(c, data + off, len - off, rc);
			off = len;
			break;
		}
		sq_dispatch(c, data + off, flen);
		off += flen;
	}
	c->processing = false;
	if (!c->closing && c->inflight >= s->cfg.max_inflight && c->reading) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = false;
		s->stats.read_pauses++;
	}
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

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct sq_conn *c = st->data;
	struct sq_server *s = c->srv;

	if (nread == 0)
		return;
	if (nread < 0) {
		if (nread == UV_EOF) {
			/* answer what was asked, then close */
			c->eof = true;
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
	struct sq_server *s = c->srv;
	if (c->closing || c->eof || c->reading || c->processing ||
	    c->inflight >= s->cfg.max_inflight)
		return;
	if (c->in.len) {
		size_t used = process_frames(c, c->in.data, c->in.len);
		if (c->closing)
			return;
		sq_buf_consume(&c->in, used);
		queue_flush(c);
	}
	if (c->inflight < s->cfg.max_inflight && !c->eof && !c->closing &&
	    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) == 0)
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

static void reject(struct sq_server *s, struct sq_conn *c)
{
	/* one best-effort notification to say why, then close */
	struct sq_buf b;
	sq_buf_init(&b);
	pack_error_notify(&b, "EAGAIN", "too many connections to sysqd");
	uv_buf_t ub = uv_buf_init(b.data, (unsigned)b.len);
	uv_try_write((uv_stream_t *)&c->pipe, &ub, 1);
	sq_buf_free(&b);
	s->stats.conns_rejected++;
	c->closing = true;
	s->stats.conns_now++; /* balanced by on_conn_closed */
	uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct sq_server *s = server->data;
	if (status < 0) {
		sq_log(SQ_LOG_WARN, "accept: %s", uv_strerror(status));
		return;
	}
	struct sq_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = s;
	c->id = ++s->next_conn_id;
	uv_pipe_init(s->loop, &c->pipe, 0);
	c->pipe.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
		c->closing = true;
		s->stats.conns_now++;
		uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
		return;
	}
	if (s->stats.conns_now >= s->cfg.max_conns || s->stopping) {
		sq_log(SQ_LOG_WARN, "refusing a connection: %llu open (max %u)",
		       (unsigned long long)s->stats.conns_now, s->cfg.max_conns);
		reject(s, c);
		return;
	}
	uv_os_fd_t fd;
	int rc = uv_fileno((uv_handle_t *)&c->pipe, &fd);
	if (rc == 0)
		rc = sq_peer_cred(fd, &c->cred);
	s->stats.conns_now++;
	s->stats.conns_total++;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	if (rc < 0) {
		sq_log(SQ_LOG_WARN, "connection #%llu: no peer credentials: %s",
		       (unsigned long long)c->id, strerror(-rc));
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

int sq_server_init(struct sq_server *s, uv_loop_t *loop,
                   const struct sq_config *cfg, int inherited_fd)
{
	int rc;

	s->loop = loop;
	s->cfg = *cfg;
	s->stats.start_ns = uv_hrtime();
	msgpack_zone_init(&s->loop_zone, 2048);
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
	uv_prepare_init(loop, &s->flusher);
	s->flusher.data = s;
	uv_prepare_start(&s->flusher, on_prepare);
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
	close_if_open((uv_handle_t *)&s->stop_timer);
	close_if_open((uv_handle_t *)&s->sig_term);
	close_if_open((uv_handle_t *)&s->sig_int);
	close_if_open((uv_handle_t *)&s->sig_hup);
}

static void on_stop_timeout(uv_timer_t *t)
{
	struct sq_server *s = t->data;
	sq_log(SQ_LOG_WARN, "stop: closing %s connections still busy after the grace period",
	       s->conns ? "the" : "no");
	for (struct sq_conn *c = s->conns; c; c = c->next)
		conn_close(c, "daemon stopping");
	maybe_finish_stop(s);
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
	uv_timer_start(&s->stop_timer, on_stop_timeout, 5000, 0);
	uv_unref((uv_handle_t *)&s->stop_timer);
	maybe_finish_stop(s);
}

void sq_server_free(struct sq_server *s)
{
	msgpack_zone_destroy(&s->loop_zone);
}
