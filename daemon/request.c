/* SPDX-License-Identifier: ISC */
/*
 * request.c - from a frame to a reply: decode, look the method up, check
 * access, then run the handler where the table says (on the loop; as a job
 * of the worker engine, as the caller or as sysqd as the table says,
 * charged to the caller's uid; or an async handler of its own), and turn
 * its outcome into [1, msgid, error, result].
 *
 * Loop methods take a fast path: no allocation, the reply is packed straight
 * into the connection's output.  Everything else gets a heap request with
 * its own zone, into which its params (decoded once, on the loop) are
 * copied, so the read buffer can be reused.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "log.h"
#include "request.h"
#include "server.h"
#include "sq_errno.h"
#include "sq_ident.h"
#include "sq_utf8.h"

static void vfail(struct sq_req *r, const char *fmt, va_list ap)
{
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
}

int sq_req_fail(struct sq_req *r, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(r, fmt, ap);
	va_end(ap);
	return err;
}

int sq_req_fail_code(struct sq_req *r, int err, const char *code, const char *fmt, ...)
{
	va_list ap;
	snprintf(r->code, sizeof(r->code), "%s", code);
	va_start(ap, fmt);
	vfail(r, fmt, ap);
	va_end(ap);
	return err;
}

int sq_req_param_error(struct sq_req *r, int rc)
{
	return sq_req_fail(r, rc, "%s", r->params.err);
}

size_t sq_req_reply_max(const struct sq_req *r)
{
	size_t max = r->srv->cfg.max_output; /* at least 4096 (main.c) */
	return max > SQ_REPLY_SLACK ? max - SQ_REPLY_SLACK : 0;
}

bool sq_req_reply_over(const struct sq_req *r)
{
	return r->out->len - r->out_mark > sq_req_reply_max(r);
}

int sq_req_too_big(struct sq_req *r, const char *hint_fmt, ...)
{
	char hint[256];
	va_list ap;
	va_start(ap, hint_fmt);
	vsnprintf(hint, sizeof(hint), hint_fmt, ap);
	va_end(ap);
	return sq_req_fail(r, -E2BIG, "the result is over this connection's output limit of "
	                   "%zu bytes: %s", r->srv->cfg.max_output, hint);
}

/* One NOTICE line for the audit: who (uid, pid, connection), what (method,
 * params), the outcome.  what is "privileged" (access "root") or "refused". */
static void log_audit(const char *what, const struct sq_cred *cred, struct sq_conn *conn,
                      const char *method, const msgpack_object_map *map, const char *code,
                      const char *message)
{
	char params[192] = "{}";
	if (map) {
		msgpack_object o = { .type = MSGPACK_OBJECT_MAP };
		o.via.map = *map;
		/* cut short when long; sq_log keeps control bytes out of the line */
		if (msgpack_object_print_buffer(params, sizeof(params), o) <= 0)
			memcpy(params + sizeof(params) - 4, "...", 4);
	}
	sq_log(SQ_LOG_NOTICE, "%s: uid %u pid %d (conn #%llu) %s %s: %s%s%s", what,
	       (unsigned)cred->uid, (int)cred->pid, (unsigned long long)sq_conn_id(conn),
	       method, params, code, *message ? " " : "", message);
}

/* A privileged act (access "root") leaves one NOTICE line whatever its
 * outcome (sq_dispatch logs the calls the access check refuses). */
static void log_act(const struct sq_req *r, int rc)
{
	log_audit("privileged", r->cred, r->conn, r->m->name, r->params.map,
	          rc >= 0 ? "ok" : r->code[0] ? r->code : sq_errno_name(rc),
	          rc >= 0 ? "" : r->message);
}

/* Replace whatever the handler packed with the reply for outcome rc. */
static void seal_reply(struct sq_req *r, int rc)
{
	if (r->m && r->m->access == SQ_ACCESS_ROOT)
		log_act(r, rc);
	if (rc >= 0)
		return;
	r->out->len = r->out_mark;
	const char *code = r->code[0] ? r->code : sq_errno_name(rc);
	const char *msg = r->message[0] ? r->message : strerror(-rc);
	sq_pack_error_response(&r->pk, r->msgid, code, msg);
	r->srv->stats.errors++;
	if (sq_log_enabled(SQ_LOG_DEBUG))
		sq_log(SQ_LOG_DEBUG, "conn #%llu msgid %u %s: %s %s",
		       (unsigned long long)sq_conn_id(r->conn), r->msgid, r->m ? r->m->name : "?",
		       code, msg);
}

/* Reply to a request that never reached a handler. */
static void reply_error(struct sq_conn *c, uint32_t msgid, const char *code,
                        const char *message)
{
	struct sq_buf *out = sq_conn_out(c);
	msgpack_packer pk;
	if (sq_conn_closing(c))
		return;
	sq_packer_init(&pk, out);
	sq_pack_error_response(&pk, msgid, code, message);
	sq_conn_server(c)->stats.errors++;
	sq_conn_queued_in_place(c);
}

static void free_heap_req(struct sq_req *r)
{
	msgpack_zone_destroy(&r->own_zone);
	sq_buf_free(&r->own_out);
	free(r);
}

void sq_req_done(struct sq_req *r, int rc)
{
	struct sq_conn *c = r->conn;
	seal_reply(r, rc);
	if (!sq_conn_closing(c))
		sq_conn_send(c, r->own_out.data, r->own_out.len);
	free_heap_req(r);
	sq_conn_request_done(c);
}

/* ---- off the loop: jobs on the engine ----------------------------------- */

/* The job's outcome when it did not run its work: the engine stopped, or
 * could not take the caller's identity. */
static int not_run(struct sq_req *r, int status)
{
	char why[160];
	return sq_req_fail(r, status, "%s",
	                   sq_job_not_run_text(why, sizeof(why), r->cred->uid, status));
}

static void pool_run(struct sq_job *j)
{
	struct sq_req *r = (struct sq_req *)((char *)j - offsetof(struct sq_req, job));
	r->rc = r->m->fn(r);
}

static void pool_done(struct sq_job *j, int status)
{
	struct sq_req *r = (struct sq_req *)((char *)j - offsetof(struct sq_req, job));
	sq_req_done(r, status < 0 ? not_run(r, status) : r->rc);
}

static void offload_run(struct sq_job *j)
{
	struct sq_req *r = (struct sq_req *)((char *)j - offsetof(struct sq_req, job));
	r->work_fn(r);
}

static void offload_done(struct sq_job *j, int status)
{
	struct sq_req *r = (struct sq_req *)((char *)j - offsetof(struct sq_req, job));
	if (status < 0)
		r->rc = not_run(r, status); /* after_fn frees what it set up */
	r->after_fn(r);
}

/* Queue r's work on the engine, as whom the method table says (the caller
 * only where sysqd can switch: a non-root sysqd is who it is), charged to
 * the caller's uid with the bytes of its frame. */
static int submit(struct sq_req *r, void (*run)(struct sq_job *),
                  void (*done)(struct sq_job *, int))
{
	r->job.run = run;
	r->job.done = done;
	r->job.as = r->m->as == SQ_AS_CALLER && sq_ident_can_switch() ? r->cred : NULL;
	r->job.abandoned = sq_conn_abandoned(r->conn);
	r->job.uid = r->cred->uid;
	r->job.large = sq_conn_large(r->conn);
	r->job.kind = SQ_JOB_REQUEST;
	r->job.bytes = sizeof(*r) + r->frame_len;
	/* woken in one go at the end of the read's batch (sq_dispatch_flush) */
	int rc = r->srv->engine ? sq_engine_submit_batch(r->srv->engine, &r->job) : -ENOMEM;
	if (rc < 0)
		return not_run(r, rc);
	return SQ_ASYNC;
}

int sq_req_offload(struct sq_req *r, void (*work_fn)(struct sq_req *),
                   void (*after_fn)(struct sq_req *))
{
	r->work_fn = work_fn;
	r->after_fn = after_fn;
	return submit(r, offload_run, offload_done);
}

/* The loop fast path: handler runs now, reply goes straight to c->out. */
static void run_on_loop(struct sq_conn *c, const struct sq_method *m,
                        const struct sq_msg *msg)
{
	struct sq_req r;
	memset(&r, 0, offsetof(struct sq_req, own_zone));
	r.srv = sq_conn_server(c);
	r.conn = c;
	r.m = m;
	r.cred = sq_conn_cred(c);
	r.msgid = msg->msgid;
	r.zone = &sq_conn_server(c)->loop_zone;
	r.out = sq_conn_out(c);
	r.out_mark = r.out->len;
	sq_packer_init(&r.pk, r.out);
	sq_pack_response_head(&r.pk, r.msgid);
	int rc = sq_params_open(&r.params, &msg->params);
	if (rc == 0)
		rc = sq_params_check(&r.params, m->params);
	rc = rc < 0 ? sq_req_param_error(&r, rc) : m->fn(&r);
	seal_reply(&r, rc < 0 ? rc : 0);
	sq_conn_queued_in_place(c);
}

static void run_elsewhere(struct sq_conn *c, const struct sq_method *m,
                          const struct sq_msg *msg, size_t len)
{
	struct sq_req *r = calloc(1, sizeof(*r));
	if (!r) {
		reply_error(c, msg->msgid, "ENOMEM", "out of memory");
		return;
	}
	r->frame_len = len;
	r->heap = true;
	r->srv = sq_conn_server(c);
	r->conn = c;
	r->m = m;
	r->cred = sq_conn_cred(c);
	msgpack_zone_init(&r->own_zone, len < 1024 ? 1024 : len + 256);
	r->zone = &r->own_zone;
	sq_buf_init(&r->own_out);
	r->out = &r->own_out;
	sq_packer_init(&r->pk, r->out);
	sq_conn_request_begin(c);

	/* the params as decoded on the loop, copied out of the read buffer */
	r->msgid = msg->msgid;
	sq_pack_response_head(&r->pk, r->msgid);
	msgpack_object params;
	int rc = sq_obj_clone(r->zone, &msg->params, &params);
	if (rc < 0) {
		sq_req_done(r, sq_req_fail(r, rc, "out of memory"));
		return;
	}
	rc = sq_params_open(&r->params, &params);
	if (rc == 0)
		rc = sq_params_check(&r->params, m->params);
	if (rc < 0) {
		sq_req_done(r, sq_req_param_error(r, rc));
		return;
	}
	rc = m->run == SQ_RUN_POOL ? submit(r, pool_run, pool_done) : m->fn(r);
	if (rc != SQ_ASYNC)
		sq_req_done(r, rc < 0 ? rc : 0);
}

void sq_dispatch(struct sq_conn *c, const char *frame, size_t len)
{
	struct sq_server *s = sq_conn_server(c);
	struct sq_msg msg;
	const char *why;
	char name[72], text[160];

	msgpack_zone_clear(&s->loop_zone);
	int rc = sq_msg_parse(frame, len, &s->loop_zone, &msg, &why);
	/* a client's notification asks for nothing: whatever its method and
	 * params, it is no reason to answer or to close (clients' libraries
	 * open sessions with ones we do not know) */
	if (msg.type == SQ_MSG_NOTIFY) {
		if (sq_log_enabled(SQ_LOG_DEBUG)) {
			sq_text_show(name, sizeof(name), rc == 0 ? msg.method : "",
			             rc == 0 ? msg.method_len : 0, 0);
			sq_log(SQ_LOG_DEBUG, "conn #%llu: ignoring a notification '%s'%s%s",
			       (unsigned long long)sq_conn_id(c), name, rc == 0 ? "" : ": ",
			       rc == 0 ? "" : why);
		}
		return;
	}
	if (rc < 0) {
		s->stats.proto_errors++;
		if (msg.has_msgid && msg.type == SQ_MSG_REQUEST) {
			reply_error(c, msg.msgid, sq_errno_name(rc), why);
			return;
		}
		sq_conn_notify_error(c, "EPROTO", why);
		sq_conn_shutdown(c, why);
		return;
	}
	if (msg.type != SQ_MSG_REQUEST) {
		sq_log(SQ_LOG_DEBUG, "conn #%llu: ignoring a message of type %d",
		       (unsigned long long)sq_conn_id(c), msg.type);
		return;
	}
	s->stats.requests++;
	const struct sq_method *m = sq_method_find(msg.method, msg.method_len);
	if (!m) {
		sq_text_show(name, sizeof(name), msg.method, msg.method_len, 0);
		snprintf(text, sizeof(text), "unknown method '%s' (sys.methods lists them)", name);
		reply_error(c, msg.msgid, "ENOSYS", text);
		return;
	}
	if (sq_method_allowed(m, sq_conn_cred(c), &why) < 0) {
		const msgpack_object *p = msg.params.type == MSGPACK_OBJECT_ARRAY &&
		                          msg.params.via.array.size > 0
		                              ? &msg.params.via.array.ptr[0] : NULL;
		log_audit(m->access == SQ_ACCESS_ROOT ? "privileged" : "refused",
		          sq_conn_cred(c), c, m->name,
		          p && p->type == MSGPACK_OBJECT_MAP ? &p->via.map : NULL, "EPERM", why);
		snprintf(text, sizeof(text), "%s: %s", m->name, why);
		reply_error(c, msg.msgid, "EPERM", text);
		return;
	}
	if (m->run == SQ_RUN_LOOP)
		run_on_loop(c, m, &msg);
	else
		run_elsewhere(c, m, &msg, len);
}

void sq_dispatch_flush(struct sq_server *s)
{
	sq_engine_flush(s->engine);
}
