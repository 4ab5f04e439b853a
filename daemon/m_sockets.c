/* SPDX-License-Identifier: ISC */
/*
 * m_sockets.c - net.sockets: the kernel's socket table streamed in
 * batches (PROTOCOL.md, "net.sockets"): a response announcing the batch
 * size, net.sockets.batch notifications, then net.sockets.end.
 *
 * The scan runs on the engine as the caller (the method table says
 * SQ_AS_CALLER): a job opens it (and, for owners, reads the /proc/PID/fd
 * the caller may read), then one job per batch reads the next sockets from
 * the kernel into a buffer the stream keeps.  The loop queues the batch
 * and starts the next job at once while less than PENDING_MAX waits for
 * the client; past that it first waits until the connection has written
 * everything before (server.c's output lending, borrowed and given back at
 * once): a client that reads slowly slows the scan, and the daemon holds a
 * few batches per stream whatever the number of sockets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine.h"
#include "handlers.h"
#include "request.h"
#include "server.h"
#include "sq_errno.h"
#include "sq_ident.h"
#include "sq_sockets.h"

#define BATCH_SOCKETS 512          /* sockets per net.sockets.batch, at most */
#define BATCH_BYTES (128u << 10)   /* ... and about this many bytes */
#define OWNERS_LISTED 64           /* holders listed per socket, at most */
#define PENDING_MAX (2 * BATCH_BYTES) /* queued to the client before the next job waits */

struct stream {
	struct sq_out_waiter waiter;   /* first: a waiter is its stream */
	struct sq_job job;
	struct sq_server *srv;
	struct sq_conn *conn;          /* held (request_begin) once started */
	const struct sq_cred *as;      /* the engine's identity for the jobs */
	uid_t uid;
	uint32_t msgid;
	struct sq_sock_filter f;
	bool owners;                   /* list each socket's holders */
	pid_t pid;                     /* > 0: only sockets this process holds */
	bool self_ok;                  /* the caller may see sysqd's own descriptors */
	bool started;
	struct sq_sockscan *scan;
	struct sq_sock_owners *own;
	struct sq_buf batch;           /* the next net.sockets.batch, framed */
	size_t n;                      /* sockets in it */
	uint64_t count;                /* sockets sent */
	bool eof;
	int err;                       /* the scan failed: message in msg */
	char msg[256];
};

/* ---- packing one socket ---------------------------------------------------- */

/* A key, a string literal of at most 31 bytes: its fixstr head and its
 * bytes straight into the batch (its packer writes to an sq_buf, reserved
 * ahead), without strlen or the packer's two calls per string. */
#define KEY(pk, lit) key_fix((pk), "" lit, sizeof(lit) - 1 + \
                             0 * sizeof(char[sizeof(lit) <= 32 ? 1 : -1]))

static void key_fix(msgpack_packer *pk, const char *s, size_t n)
{
	struct sq_buf *b = pk->data;
	if (b->cap - b->len <= n) {
		msgpack_pack_str_with_body(pk, s, n);
		return;
	}
	b->data[b->len] = (char)(0xa0u | n);
	memcpy(b->data + b->len + 1, s, n);
	b->len += n + 1;
}

static const char *type_name(int type)
{
	switch (type) {
	case SOCK_STREAM: return "stream";
	case SOCK_DGRAM: return "dgram";
	case SOCK_SEQPACKET: return "seqpacket";
	default: return "other";
	}
}

static void pack_addr(msgpack_packer *pk, const struct sq_sock *s, const uint8_t *a)
{
	char text[INET6_ADDRSTRLEN];
	size_t n = 0;
	if (s->family == SQ_SF_INET) { /* inet_ntop's sprintf was a tenth of a scan */
		for (int i = 0; i < 4; i++) {
			unsigned v = a[i];
			if (v >= 100)
				text[n++] = (char)('0' + v / 100);
			if (v >= 10)
				text[n++] = (char)('0' + v / 10 % 10);
			text[n++] = (char)('0' + v % 10);
			text[n++] = '.';
		}
		n--;
	} else if (inet_ntop(AF_INET6, a, text, sizeof(text))) {
		n = strlen(text);
	} else {
		text[n++] = '?';
	}
	msgpack_pack_str_with_body(pk, text, n);
}

static void pack_tcp(msgpack_packer *pk, const struct sq_tcp_figures *t)
{
	msgpack_pack_map(pk, 10);
	KEY(pk, "rtt_us");
	msgpack_pack_uint64(pk, t->rtt_us);
	KEY(pk, "rttvar_us");
	msgpack_pack_uint64(pk, t->rttvar_us);
	KEY(pk, "cwnd");
	msgpack_pack_uint64(pk, t->cwnd);
	KEY(pk, "ssthresh");
	if (t->ssthresh >= 0xffff) /* TCP_INFINITE_SSTHRESH, as ss hides it */
		msgpack_pack_nil(pk);
	else
		msgpack_pack_uint32(pk, t->ssthresh);
	KEY(pk, "retransmits");
	msgpack_pack_uint64(pk, t->retransmits);
#define OPT(key, has, v) do { KEY(pk, key); \
	if (has) msgpack_pack_uint64(pk, v); else msgpack_pack_nil(pk); } while (0)
	OPT("lost", t->has_lost, t->lost);
	OPT("bytes_acked", t->has_bytes, t->bytes_acked);
	OPT("bytes_received", t->has_bytes, t->bytes_received);
	OPT("delivery_rate", t->has_rates, t->delivery_rate);
	OPT("pacing_rate", t->has_rates, t->pacing_rate);
#undef OPT
}

static void pack_owners(msgpack_packer *pk, const struct sq_sock_owner *o, size_t n)
{
	if (n > OWNERS_LISTED)
		n = OWNERS_LISTED;
	msgpack_pack_array(pk, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		msgpack_pack_map(pk, 2);
		KEY(pk, "pid");
		msgpack_pack_int64(pk, o[i].pid);
		KEY(pk, "comm");
		sq_pack_text(pk, o[i].comm, strlen(o[i].comm));
	}
}

static void pack_socket(msgpack_packer *pk, const struct stream *st, const struct sq_sock *s,
                        const struct sq_sock_owner *o, size_t no)
{
	bool unx = s->proto == SQ_SP_UNIX;
	bool tcp = s->has_tcp && st->f.info;
	uint32_t keys = 9 + (unx ? 2 : 4) + (tcp ? 1 : 0) + (st->owners ? 1 : 0);
	msgpack_pack_map(pk, keys);
	KEY(pk, "family");
	sq_pack_cstr(pk, s->family == SQ_SF_INET ? "inet" :
	                 s->family == SQ_SF_INET6 ? "inet6" : "unix");
	KEY(pk, "protocol");
	sq_pack_cstr(pk, s->proto == SQ_SP_TCP ? "tcp" :
	                 s->proto == SQ_SP_UDP ? "udp" : "unix");
	KEY(pk, "type");
	sq_pack_cstr(pk, type_name(s->type));
	KEY(pk, "state");
	sq_pack_cstr(pk, sq_sock_state_name(s->state));
	if (unx) {
		KEY(pk, "path");
		if (s->path_len == 0) {
			msgpack_pack_nil(pk);
		} else if (s->path[0] == '\0') { /* abstract: shown as ss does, "@name" */
			char p[SQ_SOCK_PATH_MAX + 1];
			p[0] = '@';
			memcpy(p + 1, s->path + 1, s->path_len - 1);
			sq_pack_text(pk, p, s->path_len);
		} else {
			sq_pack_text(pk, s->path, strnlen(s->path, s->path_len));
		}
		KEY(pk, "peer_inode");
		if (s->has_peer)
			msgpack_pack_uint64(pk, s->peer_inode);
		else
			msgpack_pack_nil(pk);
	} else {
		KEY(pk, "local_addr");
		pack_addr(pk, s, s->local);
		KEY(pk, "local_port");
		msgpack_pack_uint64(pk, s->lport);
		KEY(pk, "remote_addr");
		pack_addr(pk, s, s->remote);
		KEY(pk, "remote_port");
		msgpack_pack_uint64(pk, s->rport);
	}
	KEY(pk, "recv_q");
	if (s->has_queues)
		msgpack_pack_uint32(pk, s->recv_q);
	else
		msgpack_pack_nil(pk);
	KEY(pk, "send_q");
	if (s->has_queues)
		msgpack_pack_uint32(pk, s->send_q);
	else
		msgpack_pack_nil(pk);
	KEY(pk, "uid");
	if (s->has_uid)
		msgpack_pack_uint32(pk, (uint32_t)s->uid);
	else
		msgpack_pack_nil(pk);
	KEY(pk, "inode");
	if (s->inode)
		msgpack_pack_uint64(pk, s->inode);
	else
		msgpack_pack_nil(pk);
	KEY(pk, "listening");
	if (s->state == SQ_SS_LISTEN)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	if (tcp) {
		KEY(pk, "tcp");
		pack_tcp(pk, &s->tcp);
	}
	if (st->owners) {
		KEY(pk, "owners");
		pack_owners(pk, o, no);
	}
}

/* ---- on a worker, as the caller ------------------------------------------------ */

static uint64_t owner_key(const struct sq_sock *s)
{
	return s->inode ? s->inode : s->handle;
}

/* The next batch: up to BATCH_SOCKETS sockets, framed in st->batch.  The
 * sockets are packed in place after the frame's head, whose array of them
 * is an array 32 (msgpack lets a count take more bytes than it needs) set
 * once they are counted: no second copy of the batch. */
static void fill_batch(struct stream *st)
{
	msgpack_packer pk;
	struct sq_sock s;
	struct sq_sock_owner o[OWNERS_LISTED];
	static const char array32[5] = { (char)0xdd, 0, 0, 0, 0 };

	st->batch.len = 0;
	st->n = 0;
	sq_packer_init(&pk, &st->batch);
	sq_pack_notify_head(&pk, "net.sockets.batch");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	sq_pack_kv_u64(&pk, "msgid", st->msgid);
	sq_pack_cstr(&pk, "sockets");
	size_t head = st->batch.len;
	if (sq_buf_reserve(&st->batch, BATCH_BYTES + (16u << 10)) < 0 ||
	    sq_buf_append(&st->batch, array32, sizeof(array32)) < 0) {
		st->batch.len = 0;
		st->err = -ENOMEM;
		snprintf(st->msg, sizeof(st->msg), "out of memory for a batch");
		return;
	}
	while (st->n < BATCH_SOCKETS && st->batch.len - head < BATCH_BYTES) {
		int rc = sq_sockscan_next(st->scan, &s, st->msg, sizeof(st->msg));
		if (rc == 0) {
			st->eof = true;
			break;
		}
		if (rc < 0) {
			st->err = rc;
			break;
		}
		size_t no = 0;
		if (st->own) {
			no = sq_sock_owners_of(st->own, owner_key(&s), o, OWNERS_LISTED);
			if (st->pid > 0 && no == 0)
				continue; /* not held by the process asked for */
		}
		pack_socket(&pk, st, &s, o, no);
		st->n++;
	}
	if (st->n == 0) {
		st->batch.len = 0;
		return;
	}
	uint32_t n = htonl((uint32_t)st->n);
	memcpy(st->batch.data + head + 1, &n, sizeof(n));
}

/* The request's own job: owners first (they are the caller's to see), then
 * the kernel's dump is opened. */
static void open_work(struct sq_req *r)
{
	struct stream *st = r->ctx;
	int rc;
	if (st->owners || st->pid > 0) {
		rc = sq_sock_owners_scan(&st->own, st->pid, st->self_ok);
		if (rc == -ESRCH) {
			st->err = sq_req_fail(r, rc, "no process %d", (int)st->pid);
			return;
		}
		if (rc == -EACCES) {
			st->err = sq_req_fail(r, rc, "the descriptors of process %d are not yours to "
			                      "see (ls -l /proc/%d/fd would be refused)", (int)st->pid,
			                      (int)st->pid);
			return;
		}
		if (rc < 0) {
			st->err = sq_req_fail(r, rc, "reading the processes' descriptors: %s",
			                      strerror(-rc));
			return;
		}
	}
	rc = sq_sockscan_open(&st->scan, &st->f);
	if (rc < 0)
		st->err = sq_req_fail(r, rc, "cannot open the kernel's socket table: %s",
		                      strerror(-rc));
}

/* ---- on the loop ------------------------------------------------------------ */

static void stream_free(struct stream *st)
{
	sq_sockscan_close(st->scan); /* a netlink socket: close never blocks */
	sq_sock_owners_free(st->own);
	sq_buf_free(&st->batch);
	free(st);
}

static void finish(struct stream *st)
{
	if (st->started)
		sq_conn_request_done(st->conn);
	stream_free(st);
}

/* [2, "net.sockets.end", [{"msgid", "count", "owners_truncated", "error"}]] */
static void end(struct stream *st, int err, const char *message)
{
	if (!sq_conn_closing(st->conn)) {
		struct sq_buf b;
		msgpack_packer pk;
		sq_buf_init(&b);
		sq_packer_init(&pk, &b);
		sq_pack_notify_head(&pk, "net.sockets.end");
		msgpack_pack_array(&pk, 1);
		msgpack_pack_map(&pk, 4);
		sq_pack_kv_u64(&pk, "msgid", st->msgid);
		sq_pack_kv_u64(&pk, "count", st->count);
		sq_pack_kv_bool(&pk, "owners_truncated", st->own && sq_sock_owners_truncated(st->own));
		sq_pack_cstr(&pk, "error");
		sq_pack_error(&pk, err ? sq_errno_name(err) : NULL, message);
		sq_conn_send(st->conn, b.data, b.len);
		sq_buf_free(&b);
	}
	finish(st);
}

static void post(struct stream *st);

static void on_granted(struct sq_out_waiter *w, int status)
{
	struct stream *st = (struct stream *)w;
	if (status < 0) { /* the connection is closing */
		finish(st);
		return;
	}
	sq_conn_output_return(st->conn); /* only waited for the drain */
	if (st->srv->stopping) {
		end(st, -ECANCELED, "sysqd is stopping");
		return;
	}
	post(st);
}

static struct stream *of_job(struct sq_job *j)
{
	return (struct stream *)((char *)j - offsetof(struct stream, job));
}

static void job_run(struct sq_job *j)
{
	fill_batch(of_job(j));
}

static void job_done(struct sq_job *j, int status)
{
	struct stream *st = of_job(j);
	if (status < 0) {
		char why[160];
		end(st, status, sq_job_not_run_text(why, sizeof(why),
		                                    sq_conn_cred(st->conn)->uid, status));
		return;
	}
	if (sq_conn_closing(st->conn)) {
		finish(st);
		return;
	}
	if (st->n) {
		st->count += st->n;
		if (sq_conn_send(st->conn, st->batch.data, st->batch.len) < 0) {
			finish(st); /* over the output cap: the connection is closed */
			return;
		}
	}
	if (st->err) {
		end(st, st->err, st->msg);
		return;
	}
	if (st->eof) {
		end(st, 0, NULL);
		return;
	}
	/* the next batch is read while this one is written, as long as what
	 * waits for the client stays under PENDING_MAX; past it, the drain */
	if (sq_conn_pending(st->conn) > PENDING_MAX)
		sq_conn_output_wait(st->conn, &st->waiter);
	else
		post(st);
}

static void post(struct stream *st)
{
	st->job.run = job_run;
	st->job.done = job_done;
	st->job.as = st->as;
	st->job.uid = st->uid;
	st->job.large = sq_conn_large(st->conn);
	st->job.kind = SQ_JOB_CHUNK;
	st->job.bytes = 0;
	int rc = st->srv->engine ? sq_engine_submit(st->srv->engine, &st->job) : -ECANCELED;
	if (rc < 0)
		end(st, rc, rc == -EAGAIN ? "the caller's queue of work is full" : "sysqd is stopping");
}

static void opened(struct sq_req *r)
{
	struct stream *st = r->ctx;
	if (r->rc < 0 || st->err) {
		int rc = r->rc < 0 ? r->rc : st->err;
		stream_free(st);
		sq_req_done(r, rc);
		return;
	}
	msgpack_pack_map(&r->pk, 2);
	sq_pack_kv_u64(&r->pk, "batch", BATCH_SOCKETS);
	sq_pack_kv_bool(&r->pk, "owners", st->owners);
	st->conn = r->conn;
	st->started = true;
	sq_conn_request_begin(st->conn); /* the stream holds the connection... */
	sq_req_done(r, 0);               /* ...past the response announcing it */
	if (sq_conn_closing(st->conn)) {
		finish(st);
		return;
	}
	post(st);
}

/* Bits of an array param of strs (checked against the table's values). */
static int str_bits(struct sq_req *r, const char *name, const char *const *names,
                    const unsigned *bits, unsigned *out)
{
	const msgpack_object_array *a;
	*out = 0;
	int rc = sq_param_array(&r->params, name, false, &a);
	if (rc < 0)
		return sq_req_param_error(r, rc);
	if (rc > 0)
		return 0;
	for (uint32_t i = 0; i < a->size; i++) {
		const msgpack_object *o = &a->ptr[i];
		for (size_t k = 0; names[k]; k++)
			if (strlen(names[k]) == o->via.str.size &&
			    memcmp(names[k], o->via.str.ptr, o->via.str.size) == 0)
				*out |= bits ? bits[k] : 1u << (unsigned)sq_sock_state_parse(names[k],
				                                                            strlen(names[k]));
	}
	return 0;
}

int m_net_sockets(struct sq_req *r)
{
	static const char *const fams[] = { "inet", "inet6", "unix", NULL };
	static const unsigned fam_bits[] = { SQ_SF_INET, SQ_SF_INET6, SQ_SF_UNIX };
	static const char *const protos[] = { "tcp", "udp", "unix", NULL };
	static const unsigned proto_bits[] = { SQ_SP_TCP, SQ_SP_UDP, SQ_SP_UNIX };
	const char *states[SQ_SS_NSTATES + 1];
	struct sq_params *p = &r->params;
	int rc;

	for (unsigned i = 1; i < SQ_SS_NSTATES; i++)
		states[i - 1] = sq_sock_state_name(i);
	states[SQ_SS_NSTATES - 1] = NULL;

	struct stream *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	sq_buf_init(&st->batch);
	st->srv = r->srv;
	st->msgid = r->msgid;
	st->uid = r->cred->uid;
	st->waiter.granted = on_granted;
	st->f.port = sq_params_has(p, "port") ? (int)sq_params_int(p, r->m->params, "port") : -1;
	st->f.lport = sq_params_has(p, "local_port")
	              ? (int)sq_params_int(p, r->m->params, "local_port") : -1;
	st->f.rport = sq_params_has(p, "remote_port")
	              ? (int)sq_params_int(p, r->m->params, "remote_port") : -1;
	st->f.uid = sq_params_has(p, "uid") ? sq_params_int(p, r->m->params, "uid") : -1;
	st->f.info = sq_params_bool(p, r->m->params, "info");
	st->owners = sq_params_bool(p, r->m->params, "owners");
	st->pid = sq_params_has(p, "pid") ? (pid_t)sq_params_int(p, r->m->params, "pid") : 0;
	if ((rc = str_bits(r, "family", fams, fam_bits, &st->f.families)) < 0 ||
	    (rc = str_bits(r, "protocol", protos, proto_bits, &st->f.protos)) < 0 ||
	    (rc = str_bits(r, "state", states, NULL, &st->f.states)) < 0) {
		stream_free(st);
		return rc;
	}
	if (sq_params_bool(p, r->m->params, "listening")) {
		/* as ss -l: listening TCP and UNIX stream sockets, and the
		 * unconnected ones (UDP, UNIX datagram) that take what comes */
		unsigned l = (1u << SQ_SS_LISTEN) | (1u << SQ_SS_CLOSE);
		st->f.states = st->f.states ? st->f.states & l : l;
		if (!st->f.states) {
			/* state and listening exclude each other: nothing to list */
			st->f.states = 1u << SQ_SS_UNKNOWN;
		}
	}
	/* Owners are what the caller could read in /proc/PID/fd itself: only
	 * a sysqd that can become the caller (root) knows that for another uid. */
	bool switching = sq_ident_can_switch();
	if ((st->owners || st->pid > 0) && !sq_ident_can_act_as(r->cred->uid)) {
		stream_free(st);
		return sq_req_fail(r, -EPERM, "%s",
		                   SQ_IDENT_REFUSAL("socket owners (owners, pid)"));
	}
	st->as = switching ? r->cred : NULL;
	st->self_ok = r->cred->uid == 0 || r->cred->uid == geteuid();
	r->ctx = st;
	rc = sq_req_offload(r, open_work, opened);
	if (rc < 0) {
		stream_free(st);
		return rc;
	}
	return SQ_ASYNC;
}
