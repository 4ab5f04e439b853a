/* SPDX-License-Identifier: ISC */
/*
 * transfer.c - the bulk transfer engine behind file.read (see transfer.h
 * and PROTOCOL.md section 11, "The stream", for the framing).
 *
 * The loop owns every transfer's state and its connection.  Jobs on the
 * worker engine (kind SQ_JOB_CHUNK, charged to the caller's uid) do the
 * blocking part of one chunk at a time:
 * the msgpack header of one file.data notification, then sendfile(2) of its
 * payload straight from the descriptor into the socket (poll(POLLOUT) on
 * the non-blocking socket, the write timeout without progress drops the
 * client).  Meanwhile the loop writes nothing to that socket (server.c's
 * output lending); between chunks it writes the replies it held back, so a
 * sys.ping on the same connection is answered between two chunks, and
 * transfers sharing a connection take turns.  Nothing is buffered in user
 * space: memory does not depend on the file size.
 *
 * The bin of a chunk is announced before its bytes are read.  If the file
 * shrinks under us, the rest of that bin is zero padding and file.end says
 * exactly how many bytes were real.  A uid runs SQ_XFER_PER_UID transfers
 * at most (root SQ_XFER_PER_ROOT), the daemon SQ_XFER_MAX.  A chunk that
 * makes no progress for the write timeout plus a second (a client that
 * stopped reading, or a file whose read() hangs, where the thread's own
 * poll never runs) is given up by the loop: the connection is closed, the
 * slot freed, and the thread left to the kernel, counted as stuck.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
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

enum xfer_job { JOB_NONE, JOB_CHUNK, JOB_CLOSE };

struct sq_xfer {
	struct sq_out_waiter waiter;   /* first: a waiter is its transfer */
	struct sq_job ejob;            /* its chunk or close on the engine */
	struct sq_server *srv;
	struct sq_conn *conn;          /* held (request_begin) from start to the end */
	uid_t uid;                     /* the caller's, charged a slot */
	bool large;                    /* root's shares */
	int64_t stall_ms;              /* the write timeout */
	_Atomic int64_t progress_ms;   /* last byte moved (the thread writes it) */
	bool running;                  /* a job is out on the engine */
	bool abandoned;                /* given up while its job hung: only free it */
	struct sq_xfer *next_active;   /* the loop's list of transfers */
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
	bool stream;                   /* length unknown: read(2) to the end */
	bool positioned;               /* stream: the offset is set */
	bool eof;                      /* stream: read(2) said the end */
	char *copy_buf;

	/* the current job: set on the loop, done on an engine thread, read
	 * back on the loop (the engine's lock orders the hand-overs) */
	enum xfer_job job;
	size_t n;                      /* payload bytes framed in this chunk */
	size_t real;                   /* of which came from the file */
	uint64_t wire;                 /* bytes written to the socket */
	uint64_t file_size;            /* fstat before the chunk */
	int sock_err;                  /* the socket failed: the stream is broken */
	int file_err;                  /* the file failed or shrank: padded */
};

/* Slots in use per uid (a short list: uids with a transfer running). */
struct uid_slots {
	struct uid_slots *next;
	uid_t uid;
	unsigned n;
};

/* The server's transfers (loop thread only). */
struct sq_xfers {
	uv_timer_t watchdog;                /* runs while transfers are active */
	bool closed;                        /* the watchdog is closed: stopping */
	struct sq_xfer *active;             /* holding a slot */
	struct uid_slots *uids;
	struct sq_xfer_stats st;
};

/* Never written: the source of padding when a file shrinks. */
static char zeros[65536];

/* ---- on an engine thread ------------------------------------------------- */

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
			*deadline = now_ms() + x->stall_ms;
			atomic_store(&x->progress_ms, now_ms());
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
	int64_t deadline = now_ms() + x->stall_ms;
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
			deadline = now_ms() + x->stall_ms;
			atomic_store(&x->progress_ms, now_ms());
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

/* A file whose length the kernel does not tell (sq_file_size_known):
 * read(2) first, up to a buffer, then frame exactly what came; nothing is
 * ever padded.  A read of 0 bytes is the end. */
static void run_stream_chunk(struct sq_xfer *x)
{
	int64_t deadline = now_ms() + x->stall_ms;
	size_t want = x->n < SQ_XFER_COPY_BUF ? x->n : SQ_XFER_COPY_BUF, got = 0;
	struct fixbuf head;

	x->n = x->real = 0;
	x->wire = 0;
	x->sock_err = x->file_err = 0;
	if (!x->copy_buf && !(x->copy_buf = malloc(SQ_XFER_COPY_BUF))) {
		x->file_err = -ENOMEM;
		return;
	}
	if (!x->positioned) {
		if (x->off && lseek(x->fd, (off_t)x->off, SEEK_SET) < 0) {
			x->file_err = -errno;
			return;
		}
		x->positioned = true;
	}
	while (got < want) {
		ssize_t k = read(x->fd, x->copy_buf + got, want - got);
		if (k > 0) {
			got += (size_t)k;
			atomic_store(&x->progress_ms, now_ms());
		} else if (k == 0) {
			x->eof = true;
			break;
		} else if (errno != EINTR) {
			x->file_err = -errno;
			break;
		}
	}
	if (got == 0)
		return;
	pack_data_head(&head, x->msgid, got);
	int rc = write_all(x, head.b, head.len, &deadline);
	if (rc == 0)
		rc = write_all(x, x->copy_buf, got, &deadline);
	if (rc < 0) {
		x->sock_err = rc;
		return;
	}
	x->n = x->real = got;
}

static void run_job(struct sq_xfer *x)
{
	if (x->job == JOB_CHUNK) {
		if (x->stream)
			run_stream_chunk(x);
		else
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

/* ---- on the loop ------------------------------------------------------------ */

static void chunk_done(struct sq_xfer *x);
static void finish(struct sq_xfer *x);

static struct sq_xfer *of_job(struct sq_job *j)
{
	return (struct sq_xfer *)((char *)j - offsetof(struct sq_xfer, ejob));
}

static void job_run(struct sq_job *j)
{
	run_job(of_job(j));
}

/* A job that never ran (the engine stops): a chunk fails as if its socket
 * had; a close is done here. */
static void not_run(struct sq_xfer *x)
{
	if (x->job == JOB_CHUNK) {
		x->n = x->real = 0;
		x->wire = 0;
		x->sock_err = -ECANCELED;
		chunk_done(x);
	} else {
		run_job(x);
		finish(x);
	}
}

static void post(struct sq_xfer *x, enum xfer_job job);

static void job_done(struct sq_job *j, int status)
{
	struct sq_xfer *x = of_job(j);
	x->running = false;
	if (x->abandoned) { /* its slot and connection went at the stall */
		if (x->job == JOB_CHUNK)
			post(x, JOB_CLOSE);
		else
			free(x);
		return;
	}
	if (status < 0)
		not_run(x);
	else if (x->job == JOB_CHUNK)
		chunk_done(x);
	else
		finish(x);
}

/* Hand x's job to the engine. */
static void post(struct sq_xfer *x, enum xfer_job job)
{
	x->job = job;
	x->ejob.run = job_run;
	x->ejob.done = job_done;
	x->ejob.as = NULL;     /* the file is open already; sysqd writes its own socket */
	x->ejob.uid = x->uid;
	x->ejob.large = x->large;
	x->ejob.kind = SQ_JOB_CHUNK;
	x->ejob.bytes = 0;
	atomic_store(&x->progress_ms, now_ms());
	if (x->srv->engine && sq_engine_submit(x->srv->engine, &x->ejob) == 0) {
		x->running = true;
		return;
	}
	if (x->abandoned) {
		run_job(x);
		free(x);
		return;
	}
	not_run(x);
}

static struct uid_slots *slots_of(struct sq_xfers *xs, uid_t uid, bool make)
{
	for (struct uid_slots *u = xs->uids; u; u = u->next)
		if (u->uid == uid)
			return u;
	if (!make)
		return NULL;
	struct uid_slots *u = calloc(1, sizeof(*u));
	if (u) {
		u->uid = uid;
		u->next = xs->uids;
		xs->uids = u;
	}
	return u;
}

static unsigned per_uid(bool large)
{
	return large ? SQ_XFER_PER_ROOT : SQ_XFER_PER_UID;
}

/* Give x's slot back (the daemon's and its uid's). */
static void slot_release(struct sq_xfer *x)
{
	struct sq_xfers *xs = x->srv->xfers;
	struct sq_xfer **p = &xs->active;
	while (*p && *p != x)
		p = &(*p)->next_active;
	if (*p)
		*p = x->next_active;
	struct uid_slots *u = slots_of(xs, x->uid, false);
	if (u && --u->n == 0) {
		struct uid_slots **q = &xs->uids;
		while (*q != u)
			q = &(*q)->next;
		*q = u->next;
		free(u);
	}
	if (--xs->st.active == 0 && !xs->closed)
		uv_timer_stop(&xs->watchdog);
}

static void finish(struct sq_xfer *x)
{
	if (x->failed)
		x->srv->xfers->st.failed++;
	if (x->started)
		sq_conn_request_done(x->conn);
	slot_release(x);
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
	sq_pack_error(&pk, err ? sq_errno_name(err) : NULL, message);
	sq_conn_send(x->conn, b.data, b.len);
	sq_buf_free(&b);
}

/* The end of a transfer whose stream is intact: file.end, then close. */
static void end(struct sq_xfer *x, int err, const char *message)
{
	if (err)
		x->failed = true;
	if (!sq_conn_closing(x->conn))
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
	x->srv->xfers->st.bytes += x->real;
	x->off += x->n;
	x->left -= x->n;

	if (x->sock_err) {
		if (!sq_conn_closing(c)) {
			snprintf(msg, sizeof(msg), "file.read msgid %u: %s after %" PRIu64 " bytes%s",
			         x->msgid, strerror(-x->sock_err), x->sent,
			         x->sock_err == -ETIMEDOUT ? " (the client stopped reading)" : "");
			sq_log(x->sock_err == -ETIMEDOUT ? SQ_LOG_WARN : SQ_LOG_INFO,
			       "connection #%llu (uid %u pid %d): %s", (unsigned long long)sq_conn_id(c),
			       (unsigned)sq_conn_cred(c)->uid, (int)sq_conn_cred(c)->pid, msg);
			/* a bin is cut short: the stream cannot be resynchronised */
			sq_conn_abort(c, msg);
		}
		sq_conn_output_return(c);
		drop(x);
		return;
	}
	sq_conn_output_return(c);
	if (sq_conn_closing(c)) {
		drop(x);
		return;
	}
	if (x->stream && x->file_err) {
		snprintf(msg, sizeof(msg), "read error after %" PRIu64 " bytes: %s", x->sent,
		         strerror(-x->file_err));
		end(x, x->file_err, msg);
		return;
	}
	if (x->stream && x->eof) {
		end(x, 0, NULL);
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

/* A chunk whose job made no progress for the write timeout and a second
 * more: its thread sits where its own deadline cannot fire (a read() of a
 * hung file) or is about to.  The client gets no more of this stream: the
 * connection is closed (the thread's next write fails), the slot freed, and
 * the job, when it returns, only closes the files. */
static void abandon(struct sq_xfer *x, int64_t idle_ms)
{
	struct sq_conn *c = x->conn;
	char msg[200];
	snprintf(msg, sizeof(msg), "file.read msgid %u: no progress for %lld ms after %" PRIu64
	         " bytes (the client stopped reading, or the file's read hangs): transfer "
	         "dropped", x->msgid, (long long)idle_ms, x->sent);
	sq_log(SQ_LOG_WARN, "connection #%llu (uid %u pid %d): %s", (unsigned long long)sq_conn_id(c),
	       (unsigned)sq_conn_cred(c)->uid, (int)sq_conn_cred(c)->pid, msg);
	x->srv->xfers->st.stalled++;
	x->srv->xfers->st.failed++;
	x->abandoned = true;
	sq_conn_abort(c, msg);
	sq_conn_output_return(c);
	sq_conn_request_done(c); /* x->started: a chunk runs only after start */
	x->conn = NULL;
	slot_release(x);
}

static void on_watchdog(uv_timer_t *t)
{
	struct sq_xfers *xs = t->data;
	int64_t now = now_ms();
	struct sq_xfer *x = xs->active;
	while (x) {
		struct sq_xfer *next = x->next_active;
		int64_t idle = now - atomic_load(&x->progress_ms);
		if (x->running && x->job == JOB_CHUNK && idle > x->stall_ms + 1000)
			abandon(x, idle);
		x = next;
	}
}

int sq_xfer_new(struct sq_req *r, struct sq_xfer **out)
{
	struct sq_conn *c = r->conn;
	uv_os_fd_t fd;

	struct sq_xfers *xs = r->srv->xfers;
	if (!xs || xs->closed)
		return sq_req_fail(r, -ECANCELED, "sysqd is stopping");
	uid_t uid = r->cred->uid;
	struct uid_slots *u = slots_of(xs, uid, false);
	if (u && u->n >= per_uid(sq_conn_large(c))) {
		xs->st.rejected++;
		return sq_req_fail(r, -EAGAIN, "uid %u has %u file transfers running, the most "
		                   "one user may; try again when one ends", (unsigned)uid, u->n);
	}
	if (xs->st.active >= SQ_XFER_MAX) {
		xs->st.rejected++;
		return sq_req_fail(r, -EAGAIN, "%u file transfers are running, the most sysqd "
		                   "serves at once; try again later", SQ_XFER_MAX);
	}
	if (!(u = slots_of(xs, uid, true)))
		return -ENOMEM;
	if ((fd = sq_conn_fd(c)) < 0)
		return sq_req_fail(r, -EBADF, "the connection has no socket");
	struct sq_xfer *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	/* The engine thread writes through its own descriptor: the loop may close the
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
	x->uid = uid;
	x->large = sq_conn_large(c);
	x->stall_ms = r->srv->cfg.write_timeout_ms;
	x->waiter.granted = on_granted;
	u->n++;
	x->next_active = xs->active;
	xs->active = x;
	if (xs->st.active++ == 0)
		uv_timer_start(&xs->watchdog, on_watchdog, 1000, 1000);
	*out = x;
	return 0;
}

void sq_xfer_discard(struct sq_xfer *x)
{
	close(x->sock); /* a socket with another descriptor open: never blocks */
	slot_release(x);
	free(x);
}

void sq_xfer_start(struct sq_xfer *x, struct sq_req *r, int fd, uint64_t off,
                   uint64_t len, bool stream)
{
	struct sq_conn *c = r->conn;
	x->conn = c;
	x->msgid = r->msgid;
	x->fd = fd;
	x->stream = stream;
	x->off = off;
	x->total = x->left = len;
	x->started = true;
	x->srv->xfers->st.total++;
	sq_conn_request_begin(c); /* the transfer holds the connection... */
	sq_req_done(r, 0);        /* ...past the response announcing it */
	if (sq_conn_closing(c)) {
		drop(x);
		return;
	}
	if (len == 0) {
		end(x, 0, NULL);
		return;
	}
	sq_conn_output_wait(c, &x->waiter);
}

void sq_xfer_get_stats(const struct sq_xfers *xs, struct sq_xfer_stats *st)
{
	*st = xs ? xs->st : (struct sq_xfer_stats){ 0 };
}

struct sq_xfers *sq_xfers_new(uv_loop_t *loop)
{
	struct sq_xfers *xs = calloc(1, sizeof(*xs));
	if (!xs)
		return NULL;
	uv_timer_init(loop, &xs->watchdog);
	uv_unref((uv_handle_t *)&xs->watchdog); /* never keeps the loop alive */
	xs->watchdog.data = xs;
	return xs;
}

void sq_xfers_stop(struct sq_xfers *xs)
{
	/* no connection is left, so no transfer holds a slot: an abandoned
	 * one's job only closes its files, without the watchdog */
	if (xs && !xs->closed) {
		xs->closed = true;
		uv_close((uv_handle_t *)&xs->watchdog, NULL);
	}
}

void sq_xfers_free(struct sq_xfers *xs)
{
	if (!xs)
		return;
	while (xs->uids) {
		struct uid_slots *u = xs->uids;
		xs->uids = u->next;
		free(u);
	}
	free(xs);
}
