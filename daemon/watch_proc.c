/*
 * watch_proc.c - process events for every subscriber from the kernel's
 * one source (lib/sq_procev.h): a single connector socket (macOS: kqueue)
 * whatever the number of subscriptions, opened by the first and closed
 * with the last.  Each event is read once: the process's snapshot is taken
 * as sysqd when the event is handled, then each subscription gets what
 * its subscriber may see of it (sq_procview: hidepid, the ptrace read
 * rule; PROTOCOL.md "Who may watch what"), through its filters, into its
 * bounded queue.  A kernel overflow is a "gap" event to every
 * subscription, after which listed pids that exited unseen are told.
 * Listed pids (proc.exit's `pids`) cost no descriptor here: their exits
 * come from the same source; a ring of recent exits covers the time
 * between a subscriber's check of its pids and its subscription.
 * Loop thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "log.h"
#include "server.h"
#include "sq_procev.h"
#include "sq_signame.h"
#include "watch_int.h"

#define PROC_RING 4096

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
	struct sq_procvis vis;
	uint64_t vis_at;                 /* uv_now when read */
	uint64_t gaps;
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
	pid_t ppid = ev->ppid >= 0 ? ev->ppid : snap->known && v != V_EVENT ? snap->ppid : -1;
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
		           : fields && snap->known ? snap->ppid : -1;
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

/* ---- events ------------------------------------------------------------------ */

static void refresh_vis(struct psrc *ps)
{
	uint64_t now = uv_now(ps->wr->loop);
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
	sq_log(SQ_LOG_INFO, "watch: the kernel dropped process events (gap %llu)",
	       (unsigned long long)ps->gaps);
	sq_buf_init(&body);
	sq_packer_init(&pk, &body);
	sq_pack_kv_str(&pk, "source", "proc");
	sq_pack_kv_u64(&pk, "time_ns", ev->time_ns);
	for (struct wsub *s = wr->subs; s; s = s->next) {
		if (s->dead || !s->proc.on)
			continue;
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
	sq_buf_free(&body);
}

static void on_event(void *arg, const struct sq_procev *ev)
{
	struct psrc *ps = arg;
	struct sq_watcher *wr = ps->wr;
	sq_watcher_walk_begin(wr);
	if (ev->what == SQ_PROCEV_GAP) {
		tell_gap(ps, ev);
		sq_watcher_walk_end(wr);
		return;
	}
	if (ev->what == SQ_PROCEV_EXIT) {
		struct ring_ent *e = &ps->ring[wr->proc_exits % PROC_RING];
		e->seq = ++wr->proc_exits;
		e->pid = ev->pid;
		e->st = ev->status;
	}
	refresh_vis(ps);
	struct sq_procsnap snap;
	bool have_snap = false;
	struct sq_buf body[NVIEWS];
	uint32_t nkeys[NVIEWS];
	bool packed[NVIEWS] = { false };
	for (struct wsub *s = wr->subs; s; s = s->next) {
		struct wproc *w = &s->proc;
		if (s->dead || !w->on || !(s->topics & kind_bit[ev->what]))
			continue;
		pid_t *listed = NULL;
		if (w->listed) {
			/* the listed processes' own events: a fork is its parent's */
			listed = find_pid(w, ev->what == SQ_PROCEV_FORK ? ev->ppid : ev->pid);
			if (!listed)
				continue;
		}
		if (!have_snap) {
			sq_procsnap_read(ev->pid, ev->what == SQ_PROCEV_EXEC, &snap);
			have_snap = true;
		}
		int v = (int)sq_procview(&ps->vis, &w->cred, &snap);
		if (listed && v < V_NOARGS)
			v = V_EVENT; /* it was seen at the subscription */
		if (v == SQ_VIEW_NONE || !passes(&w->f, ev, &snap, v))
			continue;
		if (!packed[v]) {
			nkeys[v] = pack_event(&body[v], ev, &snap, v);
			packed[v] = true;
		}
		sq_wsub_deliver(s, kind_topic[ev->what], &body[v], nkeys[v]);
		if (listed && ev->what == SQ_PROCEV_EXIT)
			drop_pid(w, listed);
	}
	for (int v = 0; v < NVIEWS; v++)
		if (packed[v])
			sq_buf_free(&body[v]);
	if (have_snap)
		sq_procsnap_free(&snap);
	sq_watcher_walk_end(wr);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct psrc *ps = h->data;
	(void)events;
	int rc = sq_procev_read(ps->src, on_event, ps);
	if (rc < 0)
		sq_log(SQ_LOG_WARN, "watch: reading the process events: %s", strerror(-rc));
	/* libuv tells POLLERR as UV_EBADF and stops polling; the connector's
	 * POLLERR is its overflow, which the read above took as a gap */
	if (status < 0 && rc == 0)
		uv_poll_start(&ps->poll, UV_READABLE, on_poll);
	else if (status < 0)
		sq_log(SQ_LOG_WARN, "watch: polling the process events: %s", uv_strerror(status));
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
	if (--ps->handles)
		return;
	sq_procev_close(ps->src);
	free(ps);
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
	if (!p->npids)
		return 0;
	w->listed = true;
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
	struct sq_watcher *wr = s->wr;
	struct psrc *ps = wr->proc;
	if (!ps || --ps->refs)
		return;
	wr->proc = NULL;
	uv_close((uv_handle_t *)&ps->poll, on_psrc_closed);
	uv_close((uv_handle_t *)&ps->later, on_psrc_closed);
}
