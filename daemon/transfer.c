/*
 * transfer.c - the bulk transfer engine behind file.read (see transfer.h
 * and docs/protocol/file.md for the framing).
 *
 * The loop owns every transfer's state and its connection.  A pool of at
 * most SQ_XFER_MAX threads does the blocking part of one chunk at a time:
 * the msgpack header of one file.data notification, then sendfile(2) of its
 * payload straight from the descriptor into the socket (poll(POLLOUT) on
 * the non-blocking socket, SQ_XFER_STALL_MS without progress drops the
 * client).  Meanwhile the loop writes nothing to that socket (server.c's
 * output lending); between chunks it writes the replies it held back, so a
 * sys.ping on the same connection is answered between two chunks, and
 * transfers sharing a connection take turns.  Nothing is buffered in user
 * space: memory does not depend on the file size.
 *
 * The bin of a chunk is announced before its bytes are read.  If the file
 * shrinks under us, the rest of that bin is zero padding and file.end says
 * exactly how many bytes were real.  The pool has one thread per transfer
 * at most, so a stalled client or a hung file parks only its own thread,
 * never the libuv pool the other methods use.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "request.h"
#include "server.h"
#include "sq_errno.h"
#include "sq_sendfile.h"
#include "transfer.h"

#define SQ_XFER_COPY_BUF   (64u * 1024u)   /* pread/write fallback */
/* Kernel send buffer asked for a connection that streams (Linux doubles
 * it): with the ~200 KiB default, sender and reader wake each other every
 * few pages and AF_UNIX sendfile ran 1.5 to 3 times slower on Linux 6.18.
 * Kernel memory, bounded: SQ_XFER_MAX of these at most are ever full. */
#define SQ_XFER_SNDBUF     (1 << 20)
#define SQ_XFER_STACK      (512u * 1024u)  /* transfer thread stacks */

enum xfer_job { JOB_NONE, JOB_CHUNK, JOB_CLOSE };

struct sq_xfer {
	struct sq_out_waiter waiter;   /* first: a waiter is its transfer */
	struct sq_server *srv;
	struct sq_conn *conn;          /* held (request_begin) from start to the end */
	uint32_t msgid;
	bool started;                  /* sq_xfer_start ran: conn is held */
	bool failed;
	int fd;                        /* the file, opened as the peer */
	int sock;                      /* our dup of the connection's socket */
	uint64_t total;                /* bytes announced in the response */
	uint64_t off;                  /* next file offset */
	uint64_t left;                 /* announced bytes not yet sent */
	uint64_t sent;                 /* real file bytes delivered */
	bool copy;                     /* sendfile unsupported: pread + write */
	char *copy_buf;

	/* the current job: set on the loop, done on a pool thread, read back
	 * on the loop (the pool mutex orders the hand-overs) */
	enum xfer_job job;
	size_t n;                      /* payload bytes framed in this chunk */
	size_t real;                   /* of which came from the file */
	uint64_t wire;                 /* bytes written to the socket */
	uint64_t file_size;            /* fstat before the chunk */
	int sock_err;                  /* the socket failed: the stream is broken */
	int file_err;                  /* the file failed or shrank: padded */
	struct sq_xfer *next;          /* pool queues */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sq_xfer *todo, *todo_tail;   /* jobs for the threads */
	struct sq_xfer *done, *done_tail;   /* finished jobs for the loop */
	unsigned threads, idle, queued;
	/* loop thread only */
	bool ready;
	uv_async_t async;                   /* "jobs are done", to the loop */
	struct sq_xfer_stats st;
} pool = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
};

/* Never written: the source of padding when a file shrinks. */
static char zeros[65536];

/* ---- on a pool thread ---------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until sock takes more bytes, or the stall deadline passes. */
static int wait_writable(int sock, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = sock, .events = POLLOUT };
		int rc = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (rc > 0)
			return (p.revents & POLLNVAL) ? -EBADF : 0;
		if (rc == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* The socket is full: wait for room.  ENOBUFS (macOS, AF_UNIX) can come
 * back while poll says writable, so it also backs off a millisecond. */
static int wait_room(int sock, int err, int64_t deadline)
{
	if (err == -ENOBUFS) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return wait_writable(sock, deadline);
}

/* Write all of buf to the socket; every byte of progress renews the
 * stall deadline.  0 or a negative errno (the socket failed). */
static int write_all(struct sq_xfer *x, const char *buf, size_t len, int64_t *deadline)
{
	while (len) {
		ssize_t k = write(x->sock, buf, len);
		if (k > 0) {
			buf += k;
			len -= (size_t)k;
			x->wire += (uint64_t)k;
			*deadline = now_ms() + SQ_XFER_STALL_MS;
			continue;
		}
		int err = k < 0 ? -errno : -EIO;
		if (err == -EINTR)
			continue;
		if (err == -EAGAIN || err == -EWOULDBLOCK || err == -ENOBUFS) {
			int rc = wait_room(x->sock, err, *deadline);
			if (rc < 0)
				return rc;
			continue;
		}
		return err;
	}
	return 0;
}

/* sendfile errors that are about this fd/socket pair not supporting it */
static bool sendfile_unsupported(ssize_t err)
{
	return err == -EINVAL || err == -ENOSYS || err == -ENOTSUP || err == -EOPNOTSUPP;
}

/* sendfile errors that come from the socket, not the file */
static bool socket_error(ssize_t err)
{
	return err == -EPIPE || err == -ECONNRESET || err == -ENOTCONN ||
	       err == -ENOTSOCK || err == -ECONNABORTED || err == -ETIMEDOUT ||
	       err == -EBADF;
}

/* Fallback for files sendfile cannot read: pread into a fixed buffer and
 * write it.  > 0 bytes moved, 0 at the end of the file, or a negative
 * errno with *sock_side telling whose. */
static ssize_t copy_some(struct sq_xfer *x, off_t at, size_t want, int64_t *deadline,
                         bool *sock_side)
{
	if (!x->copy_buf && !(x->copy_buf = malloc(SQ_XFER_COPY_BUF)))
		return -ENOMEM;
	if (want > SQ_XFER_COPY_BUF)
		want = SQ_XFER_COPY_BUF;
	ssize_t k;
	do
		k = pread(x->fd, x->copy_buf, want, at);
	while (k < 0 && errno == EINTR);
	if (k <= 0)
		return k < 0 ? -errno : 0;
	uint64_t before = x->wire;
	int rc = write_all(x, x->copy_buf, (size_t)k, deadline);
	x->wire = before; /* the caller counts payload bytes itself */
	if (rc < 0) {
		*sock_side = true;
		return rc;
	}
	return k;
}

/* The header of [2, "file.data", [{"msgid": id, "data": <bin n>}]]: the
 * bin's body is the last thing in the message, so it follows directly. */
struct fixbuf {
	char b[48];
	size_t len;
};

static int fixbuf_write(void *data, const char *buf, size_t len)
{
	struct fixbuf *f = data;
	if (len > sizeof(f->b) - f->len)
		return -1;
	memcpy(f->b + f->len, buf, len);
	f->len += len;
	return 0;
}

static void pack_data_head(struct fixbuf *f, uint32_t msgid, size_t n)
{
	msgpack_packer pk;
	f->len = 0;
	msgpack_packer_init(&pk, f, fixbuf_write);
	sq_pack_notify_head(&pk, "file.data");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	sq_pack_kv_u64(&pk, "msgid", msgid);
	sq_pack_cstr(&pk, "data");
	msgpack_pack_bin(&pk, n);
}

static void run_chunk(struct sq_xfer *x)
{
	int64_t deadline = now_ms() + SQ_XFER_STALL_MS;
	struct stat st;
	struct fixbuf head;

	x->real = 0;
	x->wire = 0;
	x->file_size = 0;
	x->sock_err = x->file_err = 0;

	/* Announce no more than the file still holds: padding is then only
	 * needed when it shrinks in the middle of this very chunk. */
	if (fstat(x->fd, &st) == 0) {
		x->file_size = (uint64_t)st.st_size;
		if (x->file_size <= x->off) {
			x->n = 0;
			x->file_err = -ENODATA;
			return;
		}
		if (x->file_size - x->off < x->n) {
			x->n = (size_t)(x->file_size - x->off);
			x->file_err = -ENODATA; /* after this chunk: fewer than announced */
		}
	}
	pack_data_head(&head, x->msgid, x->n);
	int rc = write_all(x, head.b, head.len, &deadline);
	if (rc < 0) {
		x->sock_err = rc;
		return;
	}

	int ferr = 0;
	while (x->real < x->n) {
		off_t at = (off_t)(x->off + x->real);
		size_t want = x->n - x->real;
		bool sock_side = false;
		ssize_t k = x->copy ? copy_some(x, at, want, &deadline, &sock_side)
		                    : sq_sendfile(x->sock, x->fd, at, want);
		if (k > 0) {
			x->real += (size_t)k;
			x->wire += (uint64_t)k;
			deadline = now_ms() + SQ_XFER_STALL_MS;
			continue;
		}
		if (k == 0) {
			ferr = -ENODATA; /* the file ends before what we announced */
			break;
		}
		if (k == -EINTR)
			continue;
		if (sock_side) {
			x->sock_err = (int)k;
			return;
		}
		if (!x->copy && (k == -EAGAIN || k == -EWOULDBLOCK || k == -ENOBUFS)) {
			rc = wait_room(x->sock, (int)k, deadline);
			if (rc < 0) {
				x->sock_err = rc;
				return;
			}
			continue;
		}
		if (!x->copy && sendfile_unsupported(k)) {
			x->copy = true;
			continue;
		}
		if (!x->copy && socket_error(k)) {
			x->sock_err = (int)k;
			return;
		}
		ferr = (int)k; /* EIO and friends: the file failed */
		break;
	}
	/* complete the announced bin so the stream stays parseable */
	size_t pad = x->n - x->real;
	while (pad) {
		size_t k = pad < sizeof(zeros) ? pad : sizeof(zeros);
		rc = write_all(x, zeros, k, &deadline);
		if (rc < 0) {
			x->sock_err = rc;
			return;
		}
		pad -= k;
	}
	if (ferr)
		x->file_err = ferr;
}

static void run_job(struct sq_xfer *x)
{
	if (x->job == JOB_CHUNK) {
		run_chunk(x);
		return;
	}
	if (x->fd >= 0)
		close(x->fd); /* may block (FUSE flush): never on the loop */
	if (x->sock >= 0)
		close(x->sock);
	x->fd = x->sock = -1;
	free(x->copy_buf);
	x->copy_buf = NULL;
}

static void *pool_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pool.mu);
	for (;;) {
		while (!pool.todo) {
			pool.idle++;
			pthread_cond_wait(&pool.cv, &pool.mu);
			pool.idle--;
		}
		struct sq_xfer *x = pool.todo;
		pool.todo = x->next;
		if (!pool.todo)
			pool.todo_tail = NULL;
		pool.queued--;
		pthread_mutex_unlock(&pool.mu);

		run_job(x);

		pthread_mutex_lock(&pool.mu);
		x->next = NULL;
		if (pool.done_tail)
			pool.done_tail->next = x;
		else
			pool.done = x;
		pool.done_tail = x;
		uv_async_send(&pool.async);
	}
	return NULL;
}

/* ---- on the loop ------------------------------------------------------------ */

/* Start a thread with every signal blocked (signals are the loop's). */
static int spawn_thread(void)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, SQ_XFER_STACK);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&t, &attr, pool_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return -rc;
}

/* Hand x's job to the pool.  Every queued job gets a thread of its own
 * when no idle one is left (jobs <= transfers <= SQ_XFER_MAX), so a job
 * never waits behind a stalled one. */
static void post(struct sq_xfer *x, enum xfer_job job)
{
	x->job = job;
	x->next = NULL;
	pthread_mutex_lock(&pool.mu);
	if (pool.todo_tail)
		pool.todo_tail->next = x;
	else
		pool.todo = x;
	pool.todo_tail = x;
	pool.queued++;
	if (pool.idle < pool.queued && pool.threads < SQ_XFER_MAX) {
		int rc = spawn_thread();
		if (rc == 0) {
			pool.threads++;
			pool.st.threads++;
		} else {
			sq_log(SQ_LOG_WARN, "file transfer: cannot start a thread: %s (%u running)",
			       strerror(-rc), pool.threads);
		}
	}
	bool stuck = pool.threads == 0;
	if (stuck) { /* no thread at all: fail the job here, by hand */
		pool.todo = pool.todo_tail = NULL;
		pool.queued = 0;
	}
	pthread_cond_signal(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
	if (stuck) {
		if (job == JOB_CHUNK) {
			x->n = x->real = 0;
			x->wire = 0;
			x->sock_err = -EAGAIN;
		} else {
			run_job(x);
		}
		pthread_mutex_lock(&pool.mu);
		x->next = pool.done;
		pool.done = x;
		if (!pool.done_tail)
			pool.done_tail = x;
		pthread_mutex_unlock(&pool.mu);
		uv_async_send(&pool.async);
	}
}

static void slot_release(void)
{
	if (--pool.st.active == 0)
		uv_unref((uv_handle_t *)&pool.async);
}

static void finish(struct sq_xfer *x)
{
	if (x->failed)
		pool.st.failed++;
	if (x->started)
		sq_conn_request_done(x->conn);
	slot_release();
	free(x);
}

/* [2, "file.end", [{"msgid": id, "bytes": sent, "error": nil | {code, message}}]] */
static void send_end(struct sq_xfer *x, int err, const char *message)
{
	struct sq_buf b;
	msgpack_packer pk;
	sq_buf_init(&b);
	sq_packer_init(&pk, &b);
	sq_pack_notify_head(&pk, "file.end");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 3);
	sq_pack_kv_u64(&pk, "msgid", x->msgid);
	sq_pack_kv_u64(&pk, "bytes", x->sent);
	sq_pack_cstr(&pk, "error");
	if (err) {
		msgpack_pack_map(&pk, 2);
		sq_pack_kv_str(&pk, "code", sq_errno_name(err));
		sq_pack_kv_str(&pk, "message", message);
	} else {
		msgpack_pack_nil(&pk);
	}
	sq_conn_send(x->conn, b.data, b.len);
	sq_buf_free(&b);
}

/* The end of a transfer whose stream is intact: file.end, then close. */
static void end(struct sq_xfer *x, int err, const char *message)
{
	if (err)
		x->failed = true;
	if (!x->conn->closing)
		send_end(x, err, message);
	post(x, JOB_CLOSE);
}

/* The end of a transfer that cannot say anything more. */
static void drop(struct sq_xfer *x)
{
	x->failed = true;
	post(x, JOB_CLOSE);
}

static void stopping_end(struct sq_xfer *x)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "sysqd is stopping: transfer cut after %" PRIu64
	         " bytes", x->sent);
	end(x, -ECANCELED, msg);
}

static void on_granted(struct sq_out_waiter *w, int status)
{
	struct sq_xfer *x = (struct sq_xfer *)w;
	if (status < 0) {
		drop(x);
		return;
	}
	if (x->srv->stopping) {
		sq_conn_output_return(x->conn);
		stopping_end(x);
		return;
	}
	x->n = x->left < SQ_XFER_CHUNK ? (size_t)x->left : SQ_XFER_CHUNK;
	post(x, JOB_CHUNK);
}

static void chunk_done(struct sq_xfer *x)
{
	struct sq_conn *c = x->conn;
	char msg[200];

	x->srv->stats.bytes_out += x->wire;
	x->sent += x->real;
	pool.st.bytes += x->real;
	x->off += x->n;
	x->left -= x->n;

	if (x->sock_err) {
		if (!c->closing) {
			snprintf(msg, sizeof(msg), "file.read msgid %u: %s after %" PRIu64 " bytes%s",
			         x->msgid, strerror(-x->sock_err), x->sent,
			         x->sock_err == -ETIMEDOUT ? " (the client stopped reading)" : "");
			sq_log(x->sock_err == -ETIMEDOUT ? SQ_LOG_WARN : SQ_LOG_INFO,
			       "connection #%llu (uid %u pid %d): %s", (unsigned long long)c->id,
			       (unsigned)c->cred.uid, (int)c->cred.pid, msg);
			/* a bin is cut short: the stream cannot be resynchronised */
			sq_conn_abort(c, msg);
		}
		sq_conn_output_return(c);
		drop(x);
		return;
	}
	sq_conn_output_return(c);
	if (c->closing) {
		drop(x);
		return;
	}
	if (x->file_err == -ENODATA) {
		snprintf(msg, sizeof(msg), "file shrank during the transfer: %" PRIu64 " of %"
		         PRIu64 " announced bytes are real (its size is now %" PRIu64 ")",
		         x->sent, x->total, x->file_size);
		end(x, x->file_err, msg);
		return;
	}
	if (x->file_err) {
		snprintf(msg, sizeof(msg), "read error at offset %" PRIu64 ": %s; the %zu bytes "
		         "after it in the last chunk are zero padding", x->off - (x->n - x->real),
		         strerror(-x->file_err), x->n - x->real);
		end(x, x->file_err, msg);
		return;
	}
	if (x->left == 0) {
		end(x, 0, NULL);
		return;
	}
	if (x->srv->stopping) {
		stopping_end(x);
		return;
	}
	sq_conn_output_wait(c, &x->waiter);
}

static void on_done(uv_async_t *h)
{
	(void)h;
	pthread_mutex_lock(&pool.mu);
	struct sq_xfer *x = pool.done;
	pool.done = pool.done_tail = NULL;
	pthread_mutex_unlock(&pool.mu);
	while (x) {
		struct sq_xfer *next = x->next;
		if (x->job == JOB_CHUNK)
			chunk_done(x);
		else
			finish(x);
		x = next;
	}
}

int sq_xfer_new(struct sq_req *r, struct sq_xfer **out)
{
	struct sq_conn *c = r->conn;
	uv_os_fd_t fd;

	if (!pool.ready) {
		int rc = uv_async_init(r->srv->loop, &pool.async, on_done);
		if (rc < 0)
			return sq_req_fail(r, -EAGAIN, "cannot start file transfers: %s",
			                   uv_strerror(rc));
		uv_unref((uv_handle_t *)&pool.async);
		pool.ready = true;
	}
	if (pool.st.active >= SQ_XFER_MAX) {
		pool.st.rejected++;
		return sq_req_fail(r, -EAGAIN, "%u file transfers are running, the most sysqd "
		                   "serves at once; try again later", SQ_XFER_MAX);
	}
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) < 0)
		return sq_req_fail(r, -EBADF, "the connection has no socket");
	struct sq_xfer *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	/* The pool writes through its own descriptor: the loop may close the
	 * connection's at any time, and a number reused by then must never
	 * receive file bytes. */
	x->sock = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (x->sock < 0) {
		int err = -errno;
		free(x);
		return sq_req_fail(r, err, "cannot duplicate the connection's socket: %s",
		                   strerror(-err));
	}
	int cur = 0, want = SQ_XFER_SNDBUF;
	socklen_t cl = sizeof(cur);
	if (getsockopt(x->sock, SOL_SOCKET, SO_SNDBUF, &cur, &cl) == 0 && cur < want)
		setsockopt(x->sock, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want)); /* best effort */
	x->fd = -1;
	x->srv = r->srv;
	x->waiter.granted = on_granted;
	if (pool.st.active++ == 0)
		uv_ref((uv_handle_t *)&pool.async); /* the loop runs until transfers end */
	*out = x;
	return 0;
}

void sq_xfer_discard(struct sq_xfer *x)
{
	close(x->sock); /* a socket with another descriptor open: never blocks */
	slot_release();
	free(x);
}

void sq_xfer_start(struct sq_xfer *x, struct sq_req *r, int fd, uint64_t off,
                   uint64_t len)
{
	struct sq_conn *c = r->conn;
	x->conn = c;
	x->msgid = r->msgid;
	x->fd = fd;
	x->off = off;
	x->total = x->left = len;
	x->started = true;
	pool.st.total++;
	sq_conn_request_begin(c); /* the transfer holds the connection... */
	sq_req_done(r, 0);        /* ...past the response announcing it */
	if (c->closing) {
		drop(x);
		return;
	}
	if (len == 0) {
		end(x, 0, NULL);
		return;
	}
	sq_conn_output_wait(c, &x->waiter);
}

void sq_xfer_get_stats(struct sq_xfer_stats *st)
{
	*st = pool.st;
}
