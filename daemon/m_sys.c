/* SPDX-License-Identifier: ISC */
/*
 * m_sys.c - the sys.* methods: hello, ping, uname, methods, stats.
 * Everything about the daemon itself and the caller as the kernel sees it.
 * Their params were checked against the method table before they run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "handlers.h"
#include "prober.h"
#include "request.h"
#include "server.h"
#include "sq_os.h"
#include "sq_self.h"
#include "sq_utf8.h"
#include "transfer.h"
#include "watcher.h"

#ifndef SQ_VERSION
#define SQ_VERSION "0.0.0-dev"
#endif

static void pack_peer(msgpack_packer *pk, const struct sq_cred *c)
{
	msgpack_pack_map(pk, 4);
	sq_pack_kv_u64(pk, "uid", c->uid);
	sq_pack_kv_u64(pk, "gid", c->gid);
	sq_pack_cstr(pk, "groups");
	msgpack_pack_array(pk, (size_t)c->ngroups);
	for (int i = 0; i < c->ngroups; i++)
		msgpack_pack_uint64(pk, c->groups[i]);
	sq_pack_kv_i64(pk, "pid", c->pid);
}

int m_sys_hello(struct sq_req *r)
{
	const char *why;
	msgpack_packer *pk = &r->pk;
	msgpack_pack_map(pk, 6);
	sq_pack_kv_str(pk, "server", "sysqd");
	sq_pack_kv_str(pk, "version", SQ_VERSION);
	sq_pack_kv_u64(pk, "protocol", SQ_PROTOCOL_VERSION);
	sq_pack_kv_str(pk, "os", sq_os_name());
	sq_pack_cstr(pk, "peer");
	pack_peer(pk, r->cred);
	size_t n = 0;
	for (size_t i = 0; i < sq_nmethods; i++)
		n += sq_method_allowed(&sq_methods[i], r->cred, &why) == 0;
	sq_pack_cstr(pk, "methods");
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < sq_nmethods; i++)
		if (sq_method_allowed(&sq_methods[i], r->cred, &why) == 0)
			sq_pack_cstr(pk, sq_methods[i].name);
	return 0;
}

int m_sys_ping(struct sq_req *r)
{
	msgpack_pack_str_with_body(&r->pk, "pong", 4);
	return 0;
}

int m_sys_uname(struct sq_req *r)
{
	struct utsname u;
	if (uname(&u) < 0)
		return -errno;
	msgpack_pack_map(&r->pk, 5);
	sq_pack_kv_str(&r->pk, "sysname", u.sysname);
	sq_pack_kv_str(&r->pk, "nodename", u.nodename);
	sq_pack_kv_str(&r->pk, "release", u.release);
	sq_pack_kv_str(&r->pk, "version", u.version);
	sq_pack_kv_str(&r->pk, "machine", u.machine);
	return 0;
}

static const char *run_name(enum sq_run run)
{
	return run == SQ_RUN_LOOP ? "loop" : run == SQ_RUN_POOL ? "pool" : "async";
}

static const char *access_name(enum sq_access a)
{
	return a == SQ_ACCESS_ANY ? "any" : a == SQ_ACCESS_AS_CALLER ? "as-caller" : "root";
}

static void pack_method(msgpack_packer *pk, const struct sq_method *m,
                        const struct sq_cred *cred)
{
	const char *why;
	char synopsis[512];
	size_t nerr = 0;
	while (m->errors[nerr])
		nerr++;
	sq_params_synopsis(m->params, synopsis, sizeof(synopsis));
	msgpack_pack_map(pk, 9);
	sq_pack_kv_str(pk, "name", m->name);
	sq_pack_kv_str(pk, "summary", m->summary);
	sq_pack_kv_str(pk, "params", synopsis);
	sq_pack_cstr(pk, "typed_params");
	sq_fields_pack(pk, m->params);
	sq_pack_cstr(pk, "result");
	sq_field_pack(pk, m->result);
	sq_pack_cstr(pk, "errors");
	msgpack_pack_array(pk, nerr);
	for (size_t i = 0; i < nerr; i++)
		sq_pack_cstr(pk, m->errors[i]);
	sq_pack_kv_str(pk, "access", access_name(m->access));
	sq_pack_kv_str(pk, "runs_on", run_name(m->run));
	sq_pack_kv_bool(pk, "allowed", sq_method_allowed(m, cred, &why) == 0);
}

/* Every method, or the one {"name": M} names (ENOENT when there is none);
 * the same shape either way. */
int m_sys_methods(struct sq_req *r)
{
	const msgpack_object *name = sq_param(&r->params, "name");
	const struct sq_method *one = NULL;
	if (name && name->type == MSGPACK_OBJECT_STR) {
		one = sq_method_find(name->via.str.ptr, name->via.str.size);
		if (!one) {
			char text[72];
			sq_text_show(text, sizeof(text), name->via.str.ptr, name->via.str.size, 0);
			return sq_req_fail(r, -ENOENT, "no method '%s' (sys.methods without "
			                   "params lists them)", text);
		}
	}
	msgpack_packer *pk = &r->pk;
	msgpack_pack_map(pk, 1);
	sq_pack_cstr(pk, "methods");
	msgpack_pack_array(pk, one ? 1 : sq_nmethods);
	for (size_t i = 0; i < sq_nmethods; i++)
		if (!one || one == &sq_methods[i])
			pack_method(pk, &sq_methods[i], r->cred);
	return 0;
}

/* sys.stats: counters are copied on the loop (they are the loop's), then
 * /proc/self (or proc_pidinfo) is read on a worker. */
struct stats_ctx {
	struct sq_stats st;
	struct sq_config cfg;
	double uptime_s;
	struct sq_self self;
	int self_rc;
	struct sq_xfer_stats xfer;
	struct sq_watch_stats watch;
};

static void stats_work(struct sq_req *r)
{
	struct stats_ctx *x = r->ctx;
	x->self_rc = sq_self_read(&x->self);
}

static const char *job_kind_name(enum sq_job_kind k)
{
	return k == SQ_JOB_REQUEST ? "request" : k == SQ_JOB_CHUNK ? "transfer" : "probe";
}

/* The worker engine: totals, its limits, and what each uid uses now (root
 * sees every uid, others their own). */
static void pack_engine(msgpack_packer *pk, const struct sq_req *r)
{
	struct sq_engine_stats es = { 0 };
	struct sq_engine_uid uids[64];
	size_t n = 0;
	if (r->srv->engine) {
		sq_engine_get_stats(r->srv->engine, &es);
		n = sq_engine_get_uids(r->srv->engine, uids, 64);
		n = n < 64 ? n : 64;
	}
	size_t visible = 0;
	for (size_t i = 0; i < n; i++)
		if (r->cred->uid == 0 || uids[i].uid == r->cred->uid)
			uids[visible++] = uids[i];
	msgpack_pack_map(pk, 15);
	sq_pack_kv_u64(pk, "threads", es.threads);
	sq_pack_kv_u64(pk, "busy", es.busy);
	sq_pack_kv_u64(pk, "stuck", es.stuck);
	sq_pack_kv_u64(pk, "queued", es.queued);
	sq_pack_kv_u64(pk, "queued_bytes", es.queued_bytes);
	sq_pack_kv_u64(pk, "jobs", es.jobs);
	sq_pack_kv_u64(pk, "refused", es.refused);
	sq_pack_kv_u64(pk, "cancelled", es.cancelled);
	sq_pack_kv_u64(pk, "max_threads", SQ_ENGINE_MAX_THREADS);
	sq_pack_kv_u64(pk, "share", SQ_ENGINE_SHARE);
	sq_pack_kv_u64(pk, "root_share", SQ_ENGINE_ROOT_SHARE);
	sq_pack_kv_u64(pk, "max_queued", SQ_ENGINE_QUEUED);
	sq_pack_kv_u64(pk, "max_queued_bytes", SQ_ENGINE_QUEUED_BYTES);
	sq_pack_kv_u64(pk, "stuck_after_ms", SQ_ENGINE_STUCK_MS);
	sq_pack_cstr(pk, "uids");
	msgpack_pack_array(pk, visible);
	for (size_t i = 0; i < visible; i++) {
		msgpack_pack_map(pk, 6);
		sq_pack_kv_u64(pk, "uid", uids[i].uid);
		sq_pack_kv_str(pk, "kind", job_kind_name(uids[i].kind));
		sq_pack_kv_u64(pk, "running", uids[i].running);
		sq_pack_kv_u64(pk, "stuck", uids[i].stuck);
		sq_pack_kv_u64(pk, "queued", uids[i].queued);
		sq_pack_kv_u64(pk, "queued_bytes", uids[i].queued_bytes);
	}
}

/* The watcher: subscriptions by topic, what their queues hold, and the
 * process events' counters (PROTOCOL.md section 12, "Counters"). */
static void pack_watch(msgpack_packer *pk, const struct sq_watch_stats *w)
{
	static const char *const topics[] = {
		"mounts", "interfaces", "proc.exit", "proc.fork", "proc.exec",
	};
	msgpack_pack_map(pk, 6);
	sq_pack_kv_u64(pk, "subscriptions", w->subscriptions);
	sq_pack_cstr(pk, "topics");
	msgpack_pack_map(pk, 5);
	for (unsigned i = 0; i < 5; i++)
		sq_pack_kv_u64(pk, topics[i], w->topics[i]);
	sq_pack_kv_u64(pk, "held_events", w->held_events);
	sq_pack_kv_u64(pk, "held_frames", w->held_frames);
	sq_pack_kv_u64(pk, "held_bytes", w->held_bytes);
	sq_pack_cstr(pk, "proc");
	msgpack_pack_map(pk, 6);
	sq_pack_kv_bool(pk, "source", w->proc_source);
	sq_pack_kv_u64(pk, "read", w->proc.read);
	sq_pack_kv_u64(pk, "gaps", w->proc.gaps);
	sq_pack_kv_u64(pk, "delivered", w->proc.delivered);
	sq_pack_cstr(pk, "dropped");
	msgpack_pack_map(pk, 2);
	sq_pack_kv_u64(pk, "queue_full", w->proc.dropped_full);
	sq_pack_kv_u64(pk, "no_memory", w->proc.dropped_memory);
	sq_pack_kv_u64(pk, "discarded", w->proc.discarded);
}

/* The descriptor ledger: its sizes, and what each uid holds (root sees
 * every uid, others their own). */
static void pack_descriptors(msgpack_packer *pk, const struct sq_req *r)
{
	const struct sq_fdshare *f = &r->srv->fds;
	uid_t uids[64];
	uint64_t held[64];
	size_t n = sq_fds_list(f, uids, held, 64), visible = 0;
	for (size_t i = 0; i < n; i++)
		if (r->cred->uid == 0 || uids[i] == r->cred->uid) {
			uids[visible] = uids[i];
			held[visible++] = held[i];
		}
	msgpack_pack_map(pk, 7);
	sq_pack_kv_u64(pk, "limit", f->limit);
	sq_pack_kv_u64(pk, "reserve", f->limit - f->budget);
	sq_pack_kv_u64(pk, "budget", f->budget);
	sq_pack_kv_u64(pk, "per_uid", f->per_uid);
	sq_pack_kv_u64(pk, "used", f->used);
	sq_pack_kv_u64(pk, "refused", f->refused);
	sq_pack_cstr(pk, "uids");
	msgpack_pack_array(pk, (uint32_t)visible);
	for (size_t i = 0; i < visible; i++) {
		msgpack_pack_map(pk, 2);
		sq_pack_kv_u64(pk, "uid", uids[i]);
		sq_pack_kv_u64(pk, "held", held[i]);
	}
}

static void stats_after(struct sq_req *r)
{
	if (r->rc < 0) { /* never ran: the daemon stops */
		sq_req_done(r, r->rc);
		return;
	}
	struct stats_ctx *x = r->ctx;
	const struct sq_stats *st = &x->st;
	struct sq_mapbuf m;
	msgpack_packer *pk;
	uint64_t prober_threads, stale_mounts;
	sq_prober_stats(r->srv->prober, &prober_threads, &stale_mounts);

	sq_mapbuf_init(&m);
	msgpack_pack_double(sq_mapbuf_key(&m, "uptime_s"), x->uptime_s);
#define U64(key, v) msgpack_pack_uint64(sq_mapbuf_key(&m, key), (v))
#define I64(key, v) msgpack_pack_int64(sq_mapbuf_key(&m, key), (v))
	U64("connections", st->conns_now);
	U64("connections_total", st->conns_total);
	U64("connections_rejected", st->conns_rejected);
	U64("connections_rejected_per_user", st->conns_rejected_uid);
	U64("requests", st->requests);
	U64("errors", st->errors);
	U64("inflight", st->inflight);
	U64("proto_errors", st->proto_errors);
	U64("oversize", st->oversize);
	U64("slow_disconnects", st->slow_disconnects);
	U64("read_pauses", st->read_pauses);
	U64("output_pauses", st->output_pauses);
	U64("bytes_in", st->bytes_in);
	U64("bytes_out", st->bytes_out);
	I64("threads", x->self.threads);
	I64("open_fds", x->self.open_fds);
	U64("rss_bytes", x->self.rss_bytes);
	U64("prober_threads", prober_threads);
	U64("stale_mounts", stale_mounts);
#undef U64
#undef I64
	pk = sq_mapbuf_key(&m, "limits");
	msgpack_pack_map(pk, 9);
	sq_pack_kv_u64(pk, "max_message_bytes", x->cfg.limits.max_msg);
	sq_pack_kv_u64(pk, "max_depth", x->cfg.limits.max_depth);
	sq_pack_kv_u64(pk, "max_elements", x->cfg.limits.max_elems);
	sq_pack_kv_u64(pk, "max_objects", x->cfg.limits.max_total);
	sq_pack_kv_u64(pk, "max_connections", x->cfg.max_conns);
	sq_pack_kv_u64(pk, "max_connections_per_user", x->cfg.max_per_uid);
	sq_pack_kv_u64(pk, "max_inflight", x->cfg.max_inflight);
	sq_pack_kv_u64(pk, "max_output_bytes", x->cfg.max_output);
	sq_pack_kv_u64(pk, "write_timeout_ms", x->cfg.write_timeout_ms);
	pk = sq_mapbuf_key(&m, "transfers"); /* file.read (transfer.c) */
	msgpack_pack_map(pk, 8);
	sq_pack_kv_u64(pk, "active", x->xfer.active);
	sq_pack_kv_u64(pk, "max", SQ_XFER_MAX);
	sq_pack_kv_u64(pk, "total", x->xfer.total);
	sq_pack_kv_u64(pk, "rejected", x->xfer.rejected);
	sq_pack_kv_u64(pk, "failed", x->xfer.failed);
	sq_pack_kv_u64(pk, "bytes", x->xfer.bytes);
	sq_pack_kv_u64(pk, "stalled", x->xfer.stalled);
	sq_pack_kv_u64(pk, "max_per_uid", SQ_XFER_PER_UID);
	pack_engine(sq_mapbuf_key(&m, "engine"), r);
	pack_descriptors(sq_mapbuf_key(&m, "descriptors"), r);
	pack_watch(sq_mapbuf_key(&m, "watch"), &x->watch);
	sq_mapbuf_finish(&m, &r->pk);
	sq_req_done(r, 0);
}

int m_sys_stats(struct sq_req *r)
{
	struct stats_ctx *x = msgpack_zone_malloc(r->zone, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->st = r->srv->stats;
	x->cfg = r->srv->cfg;
	sq_xfer_get_stats(r->srv->xfers, &x->xfer);
	sq_watcher_get_stats(r->srv->watcher, &x->watch);
	x->uptime_s = (double)(uv_hrtime() - x->st.start_ns) / 1e9;
	r->ctx = x;
	return sq_req_offload(r, stats_work, stats_after);
}
