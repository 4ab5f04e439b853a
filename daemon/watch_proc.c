/* SPDX-License-Identifier: ISC */
/*
 * watch_proc.c - process events for every subscriber from the kernel's
 * one source (lib/sq_procev.h): a single connector socket (macOS: kqueue)
 * whatever the number of subscriptions, opened by the first and closed
 * with the last.  Each event is read once; the snapshots of the processes
 * are read as sysqd on a worker, a batch of events at a time and one batch
 * at a time, so that the loop never waits on /proc (a process's args need
 * its memory map's lock, which a process stuck in a page fault can hold)
 * and events stay in order.  Then each subscription gets what its
 * subscriber may see of each (sq_procview: hidepid, the ptrace read rule;
 * PROTOCOL.md "Who may watch what"), through its filters, into its bounded
 * queue; the subscriptions are indexed by their ppid or comm filter, so an
 * event costs nothing to those whose filter names another parent or name.
 * While a batch waits on the worker the next one gathers, up to
 * PROC_BATCH events; then the socket is not read, and should the kernel
 * drop events meanwhile, that is a gap like any other.  A kernel overflow is a "gap" event to every
 * subscription, after which listed pids that exited unseen are told.
 * What was read of a process at its fork or exec is kept (struct known)
 * until its exit, for its events that come when it is gone already: a
 * short-lived process's exec and exit still have its ppid, uid and comm.
 * Listed pids (proc.exit's `pids`) cost no descriptor here: their exits
 * come from the same source; a ring of recent exits covers the time
 * between a subscriber's check of its pids and its subscription.
 * Loop thread only.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "engine.h"
#include "log.h"
#include "proc_known.h"
#include "server.h"
#include "sq_procev.h"
#include "sq_signame.h"
#include "watch_int.h"

#define PROC_RING 4096
#define PROC_BATCH 65536                 /* events gathered while a batch is read */
#define INDEX_BUCKETS 256                /* of the subscriptions' index, by ppid or comm */


/* An event and what the worker read of its process. */
struct pev {
	struct sq_procev ev;
	struct sq_procsnap snap;
};

struct batch {
	struct pev *v;
	size_t n, cap;
};

struct ring_ent {
	uint64_t seq;                    /* 0: unused */
	pid_t pid;
	struct sq_exit_status st;
};

struct psrc {
	uv_poll_t poll;
	uv_timer_t later;                /* tells the subscriptions' pending exits */
	int handles;                     /* open libuv handles */
	struct sq_procev_src *src;
	struct sq_watcher *wr;
	unsigned refs;
	bool closing;
	bool busy;                       /* the worker reads run's snapshots */
	bool paused;                     /* next is full: the socket waits */
	struct sq_job job;
	struct batch run, next;
	struct known_table known;        /* what was read of live processes */
	struct sq_procvis vis;           /* written by the worker, read between batches */
	uint64_t vis_at;                 /* CLOCK_MONOTONIC ms when read */
	uint64_t gaps;
	/* the subscriptions, indexed by their filter: an event looks only at
	 * those whose ppid or comm filter it may pass (and at the rest) */
	struct wsub *by_ppid[INDEX_BUCKETS];
	struct wsub *by_comm[INDEX_BUCKETS];
	struct wsub *rest;               /* no ppid or comm filter, or listed pids */
	struct ring_ent ring[PROC_RING];
};

/* A body's view: sq_procview's, and what a listed pid's subscriber gets
 * of a process it may not see any more (what the event itself says). */
enum { V_PID = SQ_VIEW_PID, V_NOARGS = SQ_VIEW_NOARGS, V_ALL = SQ_VIEW_ALL, V_EVENT, NVIEWS };

uint64_t sq_wproc_seq(const struct sq_watcher *wr)
{
	return wr->proc_exits;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

static pid_t *find_pid(const struct wproc *w, pid_t pid)
{
	return w->npids ? bsearch(&pid, w->pids, w->npids, sizeof(pid_t), cmp_pid) : NULL;
}

static void drop_pid(struct wproc *w, pid_t *at)
{
	size_t i = (size_t)(at - w->pids);
	memmove(at, at + 1, (w->npids - i - 1) * sizeof(pid_t));
	w->npids--;
}

/* ---- packing --------------------------------------------------------------- */

static const char *const kind_topic[] = { "proc.fork", "proc.exec", "proc.exit" };
static const char *const kind_event[] = { "fork", "exec", "exited" };
static const unsigned kind_bit[] = { SQ_TOPIC_FORK, SQ_TOPIC_EXEC, SQ_TOPIC_PROC };

static uint32_t pack_status(msgpack_packer *pk, const struct sq_exit_status *st)
{
	if (!st->known)
		return 0;
	if (!st->signaled) {
		sq_pack_kv_i64(pk, "exit_code", st->code);
		return 1;
	}
	uint32_t n = 2;
	char buf[32];
	const char *name = sq_signal_name(st->code, buf, sizeof(buf));
	if (name) {
		sq_pack_kv_str(pk, "signal", name);
		n++;
	}
	sq_pack_kv_i64(pk, "signum", st->code);
	sq_pack_kv_bool(pk, "core", st->core);
	return n;
}

/* The pairs of ev for view v; their count. */
static uint32_t pack_event(struct sq_buf *b, const struct sq_procev *ev,
                           const struct sq_procsnap *snap, int v)
{
	msgpack_packer pk;
	sq_buf_init(b);
	sq_packer_init(&pk, b);
	uint32_t n = 3;
	sq_pack_kv_str(&pk, "event", kind_event[ev->what]);
	sq_pack_kv_i64(&pk, "pid", ev->pid);
	sq_pack_kv_u64(&pk, "time_ns", ev->time_ns);
	if (v == V_PID)
		return n;
	pid_t ppid = ev->ppid >= 0 ? ev->ppid : v != V_EVENT ? snap->ppid : -1;
	if (ppid >= 0) {
		sq_pack_kv_i64(&pk, "ppid", ppid);
		n++;
	}
	if (ev->what == SQ_PROCEV_EXIT)
		n += pack_status(&pk, &ev->status);
	if (v == V_EVENT || !snap->known)
		return n;
	sq_pack_kv_u64(&pk, "uid", snap->uid[0]);
	sq_pack_kv_u64(&pk, "euid", snap->uid[1]);
	sq_pack_cstr(&pk, "comm");
	sq_pack_text(&pk, snap->comm, snap->comm_len);
	n += 3;
	if (v == V_ALL && ev->what == SQ_PROCEV_EXEC && snap->args) {
		uint32_t na = 1;
		for (size_t i = 0; i < snap->args_len; i++)
			na += snap->args[i] == '\0';
		sq_pack_cstr(&pk, "args");
		msgpack_pack_array(&pk, na);
		for (size_t i = 0, start = 0; i <= snap->args_len; i++)
			if (i == snap->args_len || snap->args[i] == '\0') {
				sq_pack_text(&pk, snap->args + start, i - start);
				start = i + 1;
			}
		n++;
	}
	return n;
}

/* Whether s's filters let ev through as s sees it (a filter on a field s
 * may not see lets nothing through). */
static bool passes(const struct sq_watch_filter *f, const struct sq_procev *ev,
                   const struct sq_procsnap *snap, int v)
{
	bool fields = v == V_NOARGS || v == V_ALL;
	if (f->has_ppid) {
		pid_t ppid = ev->ppid >= 0 && v != V_PID ? ev->ppid
		           : fields ? snap->ppid : -1;
		if (ppid != f->ppid)
			return false;
	}
	if (f->has_uid && !(fields && snap->known && snap->uid[0] == f->uid))
		return false;
	if (f->comm_len && !(fields && snap->known && snap->comm_len == f->comm_len &&
	                     memcmp(snap->comm, f->comm, f->comm_len) == 0))
		return false;
	return true;
}

/* ---- the subscriptions' index ------------------------------------------------- */

static unsigned comm_bucket(const char *comm, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)comm[i]) * 16777619u;
	return h % INDEX_BUCKETS;
}

/* The list s belongs in: by its ppid filter, else its comm filter, else
 * the rest (a subscription with listed pids goes there too). */
static struct wsub **index_list(struct psrc *ps, const struct wsub *s)
{
	const struct wproc *w = &s->proc;
	if (w->listed)
		return &ps->rest;
	if (w->f.has_ppid)
		return &ps->by_ppid[(unsigned)w->f.ppid % INDEX_BUCKETS];
	if (w->f.comm_len)
		return &ps->by_comm[comm_bucket(w->f.comm, w->f.comm_len)];
	return &ps->rest;
}

static void index_add(struct psrc *ps, struct wsub *s)
{
	struct wsub **head = index_list(ps, s);
	s->proc.inext = *head;
	if (*head)
		(*head)->proc.iprev = &s->proc.inext;
	s->proc.iprev = head;
	*head = s;
}

static void index_del(struct wsub *s)
{
	if (!s->proc.iprev)
		return;
	*s->proc.iprev = s->proc.inext;
	if (s->proc.inext)
		s->proc.inext->proc.iprev = s->proc.iprev;
	s->proc.inext = NULL;
	s->proc.iprev = NULL;
}

/* ---- events ------------------------------------------------------------------ */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Worker (or the loop, before the source polls): /proc's options now. */
static void refresh_vis(struct psrc *ps)
{
	uint64_t now = mono_ms();
	if (ps->vis_at && now - ps->vis_at < SQ_WATCH_VIS_MS)
		return;
	struct sq_procvis v;
	if (sq_procvis_read(&v) == 0)
		ps->vis = v;
	ps->vis_at = now ? now : 1;
}

static void send_exit(struct wsub *s, pid_t pid, const struct sq_exit_status *st)
{
	struct sq_procev ev = { .what = SQ_PROCEV_EXIT, .pid = pid, .ppid = -1 };
	struct sq_procsnap none = { .known = false };
	struct sq_buf b;
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
		ev.time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (st)
		ev.status = *st;
	uint32_t n = pack_event(&b, &ev, &none, V_EVENT);
	sq_wsub_deliver(s, "proc.exit", &b, n);
	sq_buf_free(&b);
}

/* After a gap: listed pids that exited unseen are told, without status. */
static void tell_gap(struct psrc *ps, const struct sq_procev *ev)
{
	struct sq_watcher *wr = ps->wr;
	struct sq_buf body;
	msgpack_packer pk;
	ps->gaps++;
	wr->pst.gaps++;
	/* exits may be lost: what is known of live processes may be stale */
	known_clear(&ps->known);
	sq_log(SQ_LOG_INFO, "watch: the kernel dropped process events (gap %llu)",
	       (unsigned long long)ps->gaps);
	sq_buf_init(&body);
	sq_packer_init(&pk, &body);
	sq_pack_kv_str(&pk, "source", "proc");
	sq_pack_kv_u64(&pk, "time_ns", ev->time_ns);
	struct wframe *f = sq_wframe_new(wr, "gap", &body, 2);
	for (struct wsub *s = wr->subs; s; s = s->next) {
		if (s->dead || !s->proc.on)
			continue;
		if (f)
			sq_wsub_send(s, f);
		else
			sq_wsub_deliver(s, "gap", &body, 2);
		for (size_t i = 0; i < s->proc.npids;) {
			if (sq_proc_exited(s->proc.pids[i])) {
				if (s->topics & SQ_TOPIC_PROC)
					send_exit(s, s->proc.pids[i], NULL);
				drop_pid(&s->proc, &s->proc.pids[i]);
			} else {
				i++;
			}
		}
	}
	sq_wframe_put(wr, f);
	sq_buf_free(&body);
}

/* Loop: snap made whole from what is known of a process gone before it was
 * read (into *tmp), and what is known updated with this event. */
static const struct sq_procsnap *known_event(struct psrc *ps, const struct sq_procev *ev,
                                             const struct sq_procsnap *snap,
                                             struct sq_procsnap *tmp)
{
	struct known *k;
	const struct sq_procsnap *out = snap;
	if (!snap->known && (k = known_find(&ps->known, ev->pid))) {
		memset(tmp, 0, sizeof(*tmp));
		/* an exec may have changed its name and (setuid) its uids: of a
		 * process gone before its exec was read, only the ppid holds */
		tmp->known = k->creds && ev->what != SQ_PROCEV_EXEC;
		tmp->ppid = k->ppid;
		tmp->caps = k->caps;
		tmp->owner = k->owner;
		memcpy(tmp->uid, k->uid, sizeof(tmp->uid));
		memcpy(tmp->gid, k->gid, sizeof(tmp->gid));
		tmp->comm_len = k->comm_len;
		memcpy(tmp->comm, k->comm, k->comm_len);
		out = tmp;
	} else if (snap->known && snap->ppid < 0 && (k = known_find(&ps->known, ev->pid)) && k->ppid >= 0) {
		*tmp = *snap; /* shares args: freed with snap, not tmp */
		tmp->ppid = k->ppid;
		out = tmp;
	}
	if (ev->what == SQ_PROCEV_EXIT) {
		known_drop(&ps->known, ev->pid);
	} else if (ev->what == SQ_PROCEV_EXEC && !snap->known && (k = known_find(&ps->known, ev->pid))) {
		k->creds = false; /* what the exec made of it was not read */
	} else if ((ev->what == SQ_PROCEV_FORK || snap->known) && (k = known_put(&ps->known, ev->pid))) {
		if (ev->what == SQ_PROCEV_FORK) { /* a new process: nothing of an old one */
			memset(k, 0, sizeof(*k));
			k->pid = ev->pid;
			k->ppid = ev->ppid;
		}
		if (snap->known)
			known_set(k, snap);
	}
	return out;
}

/* Loop: ev to s, if it passes s's pids, filters and view; the frame of
 * each view is packed for the first subscription that gets it. */
static void deliver_one(struct psrc *ps, struct wsub *s, const struct sq_procev *ev,
                        const struct sq_procsnap *snap, struct wframe **frame, bool *packed)
{
	struct wproc *w = &s->proc;
	if (s->dead || !w->on || !(s->topics & kind_bit[ev->what]))
		return;
	pid_t *listed = NULL;
	if (w->listed) {
		/* the listed processes' own events: a fork is its parent's */
		listed = find_pid(w, ev->what == SQ_PROCEV_FORK ? ev->ppid : ev->pid);
		if (!listed)
			return;
	}
	/* a filter that fails with every field seen fails with fewer: the
	 * subscriptions it excludes cost no view */
	if (!passes(&w->f, ev, snap, V_ALL))
		return;
	int v = (int)sq_procview(&ps->vis, &w->cred, snap);
	if (listed && v < V_NOARGS)
		v = V_EVENT; /* it was seen at the subscription */
	if (v == SQ_VIEW_NONE || (v != V_ALL && !passes(&w->f, ev, snap, v)))
		return;
	if (!packed[v]) {
		struct sq_buf body;
		uint32_t nkeys = pack_event(&body, ev, snap, v);
		frame[v] = sq_wframe_new(ps->wr, kind_topic[ev->what], &body, nkeys);
		sq_buf_free(&body);
		packed[v] = true;
	}
	if (frame[v])
		sq_wsub_send(s, frame[v]);
	else
		sq_wsub_lost(s, true);
	if (listed && ev->what == SQ_PROCEV_EXIT)
		drop_pid(w, listed);
}

/* Loop: one event, its snapshot read, to every subscription it may pass. */
static void dispatch(struct psrc *ps, const struct sq_procev *ev, const struct sq_procsnap *snap)
{
	struct sq_watcher *wr = ps->wr;
	sq_watcher_walk_begin(wr);
	if (ev->what == SQ_PROCEV_GAP) {
		tell_gap(ps, ev);
		sq_watcher_walk_end(wr);
		return;
	}
	struct sq_procsnap whole;
	snap = known_event(ps, ev, snap, &whole);
	if (ev->what == SQ_PROCEV_EXIT) {
		struct ring_ent *e = &ps->ring[wr->proc_exits % PROC_RING];
		e->seq = ++wr->proc_exits;
		e->pid = ev->pid;
		e->st = ev->status;
	}
	struct wframe *frame[NVIEWS] = { NULL };
	bool packed[NVIEWS] = { false };
	/* the subscriptions this event may pass: those without a ppid or comm
	 * filter, those filtering on its parent, those on its name (the
	 * parent and name as passes() takes them with every field seen) */
	pid_t ppid = ev->ppid >= 0 ? ev->ppid : snap->ppid;
	struct wsub *lists[3] = {
		ps->rest,
		ppid >= 0 ? ps->by_ppid[(unsigned)ppid % INDEX_BUCKETS] : NULL,
		snap->known ? ps->by_comm[comm_bucket(snap->comm, snap->comm_len)] : NULL,
	};
	for (int l = 0; l < 3; l++)
		for (struct wsub *s = lists[l]; s; s = s->proc.inext)
			deliver_one(ps, s, ev, snap, frame, packed);
	for (int v = 0; v < NVIEWS; v++)
		sq_wframe_put(wr, frame[v]);
	sq_watcher_walk_end(wr);
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		sq_procsnap_free(&b->v[i].snap);
	free(b->v);
	memset(b, 0, sizeof(*b));
}

static void psrc_maybe_free(struct psrc *ps)
{
	if (!ps->closing || ps->busy || ps->handles)
		return;
	batch_free(&ps->run);
	batch_free(&ps->next);
	known_clear(&ps->known);
	sq_procev_close(ps->src);
	free(ps);
}

/* Worker, as sysqd: the snapshots of a batch's processes. */
static void snap_run(struct sq_job *j)
{
	struct psrc *ps = (struct psrc *)((char *)j - offsetof(struct psrc, job));
	refresh_vis(ps);
	for (size_t i = 0; i < ps->run.n; i++) {
		struct pev *e = &ps->run.v[i];
		if (e->ev.what != SQ_PROCEV_GAP)
			sq_procsnap_read(e->ev.pid, e->ev.what == SQ_PROCEV_EXEC, &e->snap);
	}
}

static void on_poll(uv_poll_t *h, int status, int events);
static void kick(struct psrc *ps);

static void snap_done(struct sq_job *j, int status)
{
	struct psrc *ps = (struct psrc *)((char *)j - offsetof(struct psrc, job));
	(void)status; /* not run (stopping): the events go without snapshots */
	ps->busy = false;
	if (ps->closing) {
		psrc_maybe_free(ps);
		return;
	}
	for (size_t i = 0; i < ps->run.n; i++) {
		dispatch(ps, &ps->run.v[i].ev, &ps->run.v[i].snap);
		sq_procsnap_free(&ps->run.v[i].snap);
	}
	ps->run.n = 0;
	if (ps->paused) {
		ps->paused = false;
		uv_poll_start(&ps->poll, UV_READABLE, on_poll);
	}
	kick(ps);
}

/* Loop: hand the gathered events to the worker unless it has a batch. */
static void kick(struct psrc *ps)
{
	if (ps->busy || !ps->next.n || ps->closing)
		return;
	struct batch t = ps->run;
	ps->run = ps->next;
	ps->next = t;
	ps->next.n = 0;
	ps->busy = true;
	if (sq_engine_submit_own(ps->wr->engine, &ps->job, snap_run, snap_done) < 0)
		snap_done(&ps->job, -ECANCELED); /* no worker: without snapshots */
}

/* Loop: one event from the source, gathered. */
static void on_event(void *arg, const struct sq_procev *ev)
{
	struct psrc *ps = arg;
	struct batch *b = &ps->next;
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		struct pev *v = realloc(b->v, cap * sizeof(*v));
		if (!v) {
			/* out of memory: told as a gap, which it is */
			if (b->n) {
				b->v[b->n - 1].ev.what = SQ_PROCEV_GAP;
				b->v[b->n - 1].ev.pid = 0;
			}
			return;
		}
		b->v = v;
		b->cap = cap;
	}
	if (ev->what != SQ_PROCEV_GAP)
		ps->wr->pst.read++;
	struct pev *e = &b->v[b->n++];
	memset(e, 0, sizeof(*e));
	e->ev = *ev;
	e->snap.ppid = -1;
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct psrc *ps = h->data;
	(void)events;
	int rc = sq_procev_read(ps->src, on_event, ps);
	if (rc < 0)
		sq_log(SQ_LOG_WARN, "watch: reading the process events: %s", strerror(-rc));
	if (ps->next.n >= PROC_BATCH) {
		ps->paused = true; /* the kernel holds the rest, or drops it: a gap */
		uv_poll_stop(&ps->poll);
	} else if (status < 0 && rc == 0) {
		/* libuv tells POLLERR as UV_EBADF and stops polling; the
		 * connector's POLLERR is its overflow, which the read above took
		 * as a gap */
		uv_poll_start(&ps->poll, UV_READABLE, on_poll);
	} else if (status < 0) {
		sq_log(SQ_LOG_WARN, "watch: polling the process events: %s", uv_strerror(status));
	}
	kick(ps);
}

/* Exits found while subscribing, told once the reply has gone out. */
static void on_later(uv_timer_t *t)
{
	struct psrc *ps = t->data;
	struct sq_watcher *wr = ps->wr;
	sq_watcher_walk_begin(wr);
	for (struct wsub *s = wr->subs; s; s = s->next) {
		struct wproc *w = &s->proc;
		for (size_t i = 0; !s->dead && i < w->npend; i++)
			send_exit(s, w->pend[i].pid, &w->pend[i].st);
		free(w->pend);
		w->pend = NULL;
		w->npend = 0;
	}
	sq_watcher_walk_end(wr);
}

/* ---- the source and subscriptions -------------------------------------------- */

static void on_psrc_closed(uv_handle_t *h)
{
	struct psrc *ps = h->data;
	ps->handles--;
	psrc_maybe_free(ps);
}

int sq_wproc_take(struct sq_watcher *wr, struct sq_watch_prep *p)
{
	if (!wr->proc) {
		if (!p->proc_src)
			return -EAGAIN; /* closed while this one was being prepared */
		struct psrc *ps = calloc(1, sizeof(*ps));
		if (!ps)
			return -ENOMEM;
		ps->wr = wr;
		ps->src = p->proc_src;
		p->proc_src = NULL;
		uv_poll_init(wr->loop, &ps->poll, p->proc_fd);
		uv_timer_init(wr->loop, &ps->later);
		ps->poll.data = ps->later.data = ps;
		ps->handles = 2;
		p->proc_fd = -1;
		uv_poll_start(&ps->poll, (p->proc_how & SQ_WATCH_PRIORITY ? UV_PRIORITIZED : 0) |
		              UV_READABLE, on_poll);
		refresh_vis(ps);
		wr->proc = ps;
	}
	wr->proc->refs++;
	return 0;
}

int sq_wproc_start(struct wsub *s, struct sq_watch_prep *p)
{
	struct sq_watcher *wr = s->wr;
	struct wproc *w = &s->proc;
	w->on = true; /* sq_wproc_take took its reference */
	w->cred = p->cred;
	p->cred.groups = NULL;
	p->cred.ngroups = 0;
	w->f = p->filter;
	w->listed = p->npids > 0;
	index_add(wr->proc, s);
	if (!p->npids)
		return 0;
	w->pids = malloc(p->npids * sizeof(*w->pids));
	w->pend = malloc(p->npids * sizeof(*w->pend));
	if (!w->pids || !w->pend)
		return -ENOMEM;
	memcpy(w->pids, p->pids, p->npids * sizeof(*w->pids));
	w->npids = p->npids;
	qsort(w->pids, w->npids, sizeof(*w->pids), cmp_pid);
	/* exits the source told since the prep was made */
	struct psrc *ps = wr->proc;
	for (size_t i = 0; i < PROC_RING; i++) {
		const struct ring_ent *e = &ps->ring[i];
		pid_t *at;
		if (e->seq > p->proc_seq && (at = find_pid(w, e->pid))) {
			w->pend[w->npend++] = (struct wpend){ e->pid, e->st };
			drop_pid(w, at);
		}
	}
	/* exited at the check, or unseen because the ring went round */
	bool wrapped = wr->proc_exits - p->proc_seq > PROC_RING;
	for (size_t i = 0; i < p->npids; i++) {
		pid_t *at = find_pid(w, p->pids[i]);
		if (at && (p->zombie[i] || (wrapped && sq_proc_exited(p->pids[i])))) {
			w->pend[w->npend++] = (struct wpend){ p->pids[i], { .known = false } };
			drop_pid(w, at);
		}
	}
	if (w->npend && (s->topics & SQ_TOPIC_PROC))
		uv_timer_start(&ps->later, on_later, 0, 0);
	else
		w->npend = 0;
	return 0;
}

void sq_wproc_stop(struct wsub *s)
{
	struct wproc *w = &s->proc;
	free(w->pids);
	free(w->pend);
	free(w->cred.groups);
	w->pids = NULL;
	w->pend = NULL;
	w->cred.groups = NULL;
	w->npids = w->npend = 0;
	if (!w->on)
		return;
	w->on = false;
	index_del(s);
	struct sq_watcher *wr = s->wr;
	struct psrc *ps = wr->proc;
	if (!ps || --ps->refs)
		return;
	wr->proc = NULL;
	ps->closing = true;
	uv_close((uv_handle_t *)&ps->poll, on_psrc_closed);
	uv_close((uv_handle_t *)&ps->later, on_psrc_closed);
}
