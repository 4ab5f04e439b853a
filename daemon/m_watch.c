/* SPDX-License-Identifier: ISC */
/*
 * m_watch.c - watch.subscribe and watch.unsubscribe.  Subscribing checks
 * the params on the loop, opens what it needs on a worker (the shared
 * sources as the daemon, each pid's watcher as the caller, so it only sees
 * the processes the caller may see), then hands them to daemon/watcher.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers.h"
#include "request.h"
#include "server.h"
#include "sq_ident.h"
#include "watcher.h"

static const struct { const char *name; unsigned bit; } topics[] = {
	{ "mounts", SQ_TOPIC_MOUNTS },
	{ "interfaces", SQ_TOPIC_NET },
	{ "proc.exit", SQ_TOPIC_PROC },
	{ "proc.fork", SQ_TOPIC_FORK },
	{ "proc.exec", SQ_TOPIC_EXEC },
};
#define TOPIC_NAMES "\"mounts\", \"interfaces\", \"proc.exit\", \"proc.fork\", \"proc.exec\""

static int parse_topics(struct sq_req *r, unsigned *out)
{
	const msgpack_object_array *a;
	int rc = sq_param_array(&r->params, "topics", true, &a);
	if (rc < 0)
		return sq_req_param_error(r, rc);
	if (a->size == 0)
		return sq_req_fail(r, -EINVAL, "'topics' is empty: name one or more of "
		                   TOPIC_NAMES);
	*out = 0;
	for (uint32_t i = 0; i < a->size; i++) {
		const msgpack_object *o = &a->ptr[i];
		unsigned bit = 0;
		for (size_t k = 0; k < sizeof(topics) / sizeof(topics[0]) && !bit; k++)
			if (o->type == MSGPACK_OBJECT_STR && sq_obj_streq(o, topics[k].name))
				bit = topics[k].bit;
		if (!bit)
			return sq_req_fail(r, -EINVAL, "'topics'[%u] is not one of " TOPIC_NAMES, i);
		*out |= bit;
	}
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

/* pids: ints 1..INT32_MAX, at most SQ_WATCH_MAX_PIDS (checked with the
 * params, methods.c), duplicates merged. */
static int parse_pids(struct sq_req *r, unsigned t, pid_t **out, size_t *n)
{
	const msgpack_object_array *a;
	int rc = sq_param_array(&r->params, "pids", false, &a);
	*out = NULL;
	*n = 0;
	if (rc < 0)
		return sq_req_param_error(r, rc);
	if (rc == 1 || a->size == 0)
		return 0; /* every process, for the proc.* topics */
	if (!(t & SQ_TOPICS_PROC))
		return sq_req_fail(r, -EINVAL, "'pids' is only for the topics \"proc.exit\", "
		                   "\"proc.fork\", \"proc.exec\"");
	pid_t *v = msgpack_zone_malloc(r->zone, a->size * sizeof(*v));
	if (!v)
		return sq_req_fail(r, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < a->size; i++)
		v[i] = (pid_t)a->ptr[i].via.u64;
	qsort(v, a->size, sizeof(*v), cmp_pid);
	size_t k = 0;
	for (uint32_t i = 0; i < a->size; i++)
		if (k == 0 || v[k - 1] != v[i])
			v[k++] = v[i];
	*out = v;
	*n = k;
	return 0;
}

/* uid, ppid, comm: only with a proc.* topic. */
static int parse_filter(struct sq_req *r, unsigned t, struct sq_watch_filter *f)
{
	static const char *const names[] = { "uid", "ppid", "comm" };
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < 3; i++)
		if (sq_params_has(&r->params, names[i]) && !(t & SQ_TOPICS_PROC))
			return sq_req_fail(r, -EINVAL, "'%s' is only for the topics \"proc.exit\", "
			                   "\"proc.fork\", \"proc.exec\"", names[i]);
	if ((f->has_uid = sq_params_has(&r->params, "uid")))
		f->uid = (uid_t)sq_params_int(&r->params, r->m->params, "uid");
	if ((f->has_ppid = sq_params_has(&r->params, "ppid")))
		f->ppid = (pid_t)sq_params_int(&r->params, r->m->params, "ppid");
	const char *ptr;
	size_t len;
	int rc = sq_param_bytes(&r->params, "comm", false, &ptr, &len);
	if (rc < 0)
		return sq_req_param_error(r, rc);
	if (rc == 0) {
		if (len == 0 || len >= sizeof(f->comm))
			return sq_req_fail(r, -EINVAL, "'comm' must be 1 to %zu bytes",
			                   sizeof(f->comm) - 1);
		memcpy(f->comm, ptr, len);
		f->comm_len = len;
	}
	return 0;
}

static void subscribe_work(struct sq_req *r)
{
	struct sq_watch_prep *p = r->ctx;
	sq_watch_prep_sources(p);
	if (p->rc || !p->npids)
		return;
	/* as the caller (the method table says so): the kernel decides which
	 * processes it may see */
	sq_watch_prep_pids(p);
}

static void subscribe_after(struct sq_req *r)
{
	struct sq_watch_prep *p = r->ctx;
	uint64_t id;
	r->ctx = NULL;
	if (r->rc < 0) { /* the work never ran: the daemon stops */
		sq_watch_prep_free(p);
		sq_req_done(r, r->rc);
		return;
	}
	if (p->rc) {
		int rc = sq_req_fail(r, p->rc, "%s", p->msg);
		sq_watch_prep_free(p);
		sq_req_done(r, rc);
		return;
	}
	if (sq_conn_closing(r->conn)) {
		sq_watch_prep_free(p);
		sq_req_done(r, -ECANCELED);
		return;
	}
	int rc = sq_watch_subscribe(r->conn, p, &id);
	if (rc == -EMFILE)
		rc = sq_req_fail(r, rc, "this connection has %d subscriptions already (the most)",
		                 SQ_WATCH_MAX_SUBS);
	else if (rc == -EAGAIN)
		rc = sq_req_fail(r, rc, "a watcher closed while this subscription was being "
		                 "set up; subscribe again");
	if (rc == 0) {
		msgpack_pack_map(&r->pk, 1);
		sq_pack_kv_u64(&r->pk, "subscription", id);
	}
	sq_req_done(r, rc);
}

int m_watch_subscribe(struct sq_req *r)
{
	unsigned t = 0;
	pid_t *pids = NULL;
	size_t npids = 0;
	struct sq_watch_filter f;
	int rc;
	if ((rc = parse_topics(r, &t)) < 0 || (rc = parse_pids(r, t, &pids, &npids)) < 0 ||
	    (rc = parse_filter(r, t, &f)) < 0)
		return rc;
	if (sq_watch_count(r->conn) >= SQ_WATCH_MAX_SUBS)
		return sq_req_fail(r, -EMFILE, "this connection has %d subscriptions already "
		                   "(the most)", SQ_WATCH_MAX_SUBS);
	/* as for the other process methods: a daemon that cannot become the
	 * caller serves only its own uid */
	if ((t & SQ_TOPICS_PROC) && !sq_ident_can_act_as(r->cred->uid))
		return sq_req_fail(r, -EPERM, "%s", SQ_IDENT_REFUSAL("process watches"));
	struct sq_watch_prep *p = sq_watch_prep_new(r->srv->watcher, t, pids, npids, &f, r->cred);
	if (!p)
		return sq_req_fail(r, -ENOMEM, "out of memory");
	/* without the process-events source, a pidfd per pid not watched yet:
	 * charged up front, as at most npids */
	struct sq_fdshare *fds = &r->srv->fds;
	if (sq_watch_prep_may_need_pidfds(p) &&
	    sq_watch_prep_charge(p, fds, r->cred->uid, sq_conn_large(r->conn)) < 0) {
		sq_watch_prep_free(p);
		return sq_req_fail(r, -EMFILE, "uid %u holds %llu of sysqd's descriptors, and "
		                   "watching %zu more processes would pass its share (%llu); "
		                   "unsubscribe or close connections first", (unsigned)r->cred->uid,
		                   (unsigned long long)sq_fds_of(fds, r->cred->uid), npids,
		                   (unsigned long long)fds->per_uid);
	}
	r->ctx = p;
	rc = sq_req_offload(r, subscribe_work, subscribe_after);
	if (rc < 0) {
		r->ctx = NULL;
		sq_watch_prep_free(p);
	}
	return rc;
}

int m_watch_unsubscribe(struct sq_req *r)
{
	int64_t id = sq_params_int(&r->params, r->m->params, "subscription");
	if (sq_watch_unsubscribe(r->conn, (uint64_t)id) < 0)
		return sq_req_fail(r, -ENOENT, "no subscription %lld on this connection",
		                   (long long)id);
	msgpack_pack_map(&r->pk, 1);
	sq_pack_kv_u64(&r->pk, "subscription", (uint64_t)id);
	return 0;
}
