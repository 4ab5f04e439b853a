/* SPDX-License-Identifier: ISC */
/*
 * watcher.c - subscriptions and event delivery (see watcher.h).  Sources are
 * libuv polls on the descriptors lib/sq_watch.h opens; a mount table change
 * is re-read and diffed in a job of sysqd's own on the worker engine,
 * interface notices are read without blocking on the loop.  The shared
 * sources exist while someone subscribes; a watched pid is one pidfd
 * daemon-wide, however many subscriptions name it (each caller's own pidfd
 * is opened only to show the kernel lets it see that process, and closed
 * when the pid is watched already).
 * All of it is one struct sq_watcher, owned by the server (made at setup,
 * freed after the loop); subscriptions, sources and pid watchers hold it,
 * connections reach it through their server.  Its handles close as they
 * do without it: a connection's subscriptions go when it closes, and a
 * source or pid watcher closes once nothing references it; so when the
 * server has stopped and every connection is closed, nothing of it is
 * open, and freeing it frees only itself.
 * How an event reaches each subscription (shared frames, queues) is
 * watch_deliver.c.
 * Loop thread only, except the sq_watch_prep_* halves that run on workers
 * (they touch the prep alone, never the watcher).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "engine.h"
#include "log.h"
#include "server.h"
#include "sq_procev.h"
#include "sq_signame.h"
#include "watch_int.h"
#include "watcher.h"

/* A subscription's place in a watched pid. */
struct wref {
	struct wsub *sub;
	size_t slot;                     /* in sub->pids */
};

/* One watched pid, shared by every subscription that names it. */
struct wpid {
	uv_poll_t poll;
	uv_timer_t timer;
	struct sq_watcher *wr;
	struct wpid *hnext;              /* in the watcher's pids */
	pid_t pid;
	int fd;
	struct wref *refs;
	size_t nrefs, cap;
	int handles;                     /* open libuv handles */
	bool exited, done;
	struct sq_fdshare *fds;          /* its descriptor is charged to uid there */
	uid_t uid;
};

struct msrc {
	uv_poll_t poll;
	uv_idle_t idle;                  /* these two: the settling re-read */
	uv_check_t check;
	int settle;                      /* checks left before it */
	int fd;
	unsigned refs;
	bool busy, dirty, closing;
	int handles;                     /* open libuv handles */
	struct sq_watcher *wr;
	struct sq_job job;               /* the re-read, on the engine */
	struct sq_mount_table *table, *fresh;
	int rc;
};

struct nsrc {
	uv_poll_t poll;
	struct sq_netw w;
	unsigned refs;
	bool busy, closing, handle_open;
	struct sq_watcher *wr;
	struct sq_job job;               /* the re-list, on the engine */
	struct sq_net_list fresh;
	int rc;
};

static int uv_events(int how)
{
	return (how & SQ_WATCH_PRIORITY ? UV_PRIORITIZED : 0) |
	       (how & SQ_WATCH_READABLE ? UV_READABLE : 0);
}

static void sub_free(struct wsub *s);

void sq_watcher_walk_begin(struct sq_watcher *wr)
{
	wr->walking++;
}

void sq_watcher_walk_end(struct sq_watcher *wr)
{
	if (--wr->walking > 0 || !wr->reap)
		return;
	wr->reap = false;
	for (struct wsub *s = wr->subs, *next; s; s = next) {
		next = s->next;
		if (s->dead)
			sub_free(s);
	}
}

/* One frame for every subscription to topic_bit. */
static void broadcast(struct sq_watcher *wr, unsigned topic_bit, const char *topic,
                      const struct sq_buf *body, uint32_t nkeys)
{
	struct wframe *f = NULL;
	sq_watcher_walk_begin(wr);
	for (struct wsub *s = wr->subs; s; s = s->next) {
		if (!(s->topics & topic_bit))
			continue;
		if (!f && !(f = sq_wframe_new(wr, topic, body, nkeys)))
			sq_wsub_lost(s, false);
		else
			sq_wsub_send(s, f);
	}
	sq_wframe_put(wr, f);
	sq_watcher_walk_end(wr);
}

/* ---- mount source ------------------------------------------------------------ */

static void mount_emit(void *arg, enum sq_mount_change what, const struct sq_mount *m,
                       const struct sq_mount *old)
{
	static const char *const words[] = { "mounted", "unmounted", "changed" };
	struct sq_buf body;
	msgpack_packer pk;
	uint32_t n = 6;
	sq_buf_init(&body);
	sq_packer_init(&pk, &body);
	sq_pack_kv_str(&pk, "event", words[what]);
	sq_pack_cstr(&pk, "mountpoint");
	sq_pack_text(&pk, m->mountpoint, m->mountpoint_len);
	sq_pack_cstr(&pk, "source");
	sq_pack_text(&pk, m->source, m->source_len);
	sq_pack_cstr(&pk, "fstype");
	sq_pack_text(&pk, m->fstype, strlen(m->fstype));
	sq_pack_kv_bool(&pk, "readonly", m->readonly);
	sq_pack_cstr(&pk, "options");
	msgpack_pack_array(&pk, m->noptions);
	for (size_t i = 0; i < m->noptions; i++)
		sq_pack_text(&pk, m->options[i], strlen(m->options[i]));
	if (m->mount_id >= 0) {
		sq_pack_kv_i64(&pk, "mount_id", m->mount_id);
		n++;
	}
	if (old) {
		sq_pack_kv_bool(&pk, "old_readonly", old->readonly);
		sq_pack_cstr(&pk, "old_options");
		msgpack_pack_array(&pk, old->noptions);
		for (size_t i = 0; i < old->noptions; i++)
			sq_pack_text(&pk, old->options[i], strlen(old->options[i]));
		n += 2;
	}
	broadcast(arg, SQ_TOPIC_MOUNTS, "mounts", &body, n); /* arg: the watcher */
	sq_buf_free(&body);
}

static void msrc_maybe_free(struct msrc *m)
{
	if (!m->closing || m->busy || m->handles)
		return;
	sq_fs_mounts_release(m->table);
	free(m);
}

static void on_msrc_closed(uv_handle_t *h)
{
	struct msrc *m = h->data;
	if (h == (uv_handle_t *)&m->poll)
		close(m->fd);
	m->handles--;
	msrc_maybe_free(m);
}

static void mounts_reread(struct sq_job *j)
{
	struct msrc *m = (struct msrc *)((char *)j - offsetof(struct msrc, job));
	m->fresh = NULL;
	m->rc = sq_fs_mounts(&m->fresh);
}

static void mounts_queue(struct msrc *m);

static void mounts_reread_done(struct sq_job *j, int status)
{
	struct msrc *m = (struct msrc *)((char *)j - offsetof(struct msrc, job));
	m->busy = false;
	if (m->closing) {
		sq_fs_mounts_release(m->fresh);
		msrc_maybe_free(m);
		return;
	}
	if (status == 0 && m->rc == 0 && m->fresh) {
		if (sq_mount_diff(m->table, m->fresh, mount_emit, m->wr) == 0) {
			sq_fs_mounts_release(m->table);
			m->table = m->fresh;
		} else {
			sq_fs_mounts_release(m->fresh);
		}
	} else {
		sq_log(SQ_LOG_WARN, "watch: cannot re-read the mount table: %s",
		       strerror(m->rc < 0 ? -m->rc : ECANCELED));
		sq_fs_mounts_release(m->fresh);
	}
	m->fresh = NULL;
	if (m->dirty)
		mounts_queue(m);
}

static void mounts_queue(struct msrc *m)
{
	if (m->busy) {
		m->dirty = true;
		return;
	}
	m->dirty = false;
	m->busy = true;
	if (sq_engine_submit_own(m->wr->engine, &m->job, mounts_reread, mounts_reread_done) < 0)
		m->busy = false;
}

static void on_mounts_poll(uv_poll_t *h, int status, int events)
{
	struct msrc *m = h->data;
	(void)events;
	if (status < 0) {
		sq_log(SQ_LOG_WARN, "watch: polling the mount table: %s", uv_strerror(status));
		return;
	}
	sq_watch_mounts_ack(m->fd);
	mounts_queue(m);
}

static void mounts_unref(struct sq_watcher *wr)
{
	struct msrc *m = wr->mounts;
	if (!m || (m->refs && --m->refs))
		return;
	wr->mounts = NULL;
	m->closing = true;
	uv_close((uv_handle_t *)&m->poll, on_msrc_closed);
	uv_close((uv_handle_t *)&m->idle, on_msrc_closed);
	uv_close((uv_handle_t *)&m->check, on_msrc_closed);
}

/*
 * mountinfo's poll is consumed by being polled: the kernel reports a change
 * to the first ->poll call after it.  epoll polls a descriptor once when it
 * is added and again when it collects events, so a change between our read
 * of the table and libuv's (lazy, next iteration) epoll_ctl is swallowed.
 * Hence one more read once the descriptor is surely registered: after the
 * check phase of the iteration following uv_poll_start (the idle handle
 * keeps that iteration's poll from blocking).
 */
static void on_settle_idle(uv_idle_t *h)
{
	(void)h;
}

static void on_settle_check(uv_check_t *h)
{
	struct msrc *m = h->data;
	if (--m->settle > 0)
		return;
	uv_idle_stop(&m->idle);
	uv_check_stop(&m->check);
	mounts_queue(m);
}

/* ---- interface source -------------------------------------------------------- */

static const char *family_word(int family)
{
	return family == AF_INET ? "inet" : family == AF_INET6 ? "inet6" : "other";
}

static void net_emit(void *arg, const struct sq_net_event *ev)
{
	static const char *const words[] = {
		"added", "removed", "changed", "addr_added", "addr_removed",
	};
	struct sq_buf body;
	msgpack_packer pk;
	uint32_t n = 7;
	sq_buf_init(&body);
	sq_packer_init(&pk, &body);
	sq_pack_kv_str(&pk, "event", words[ev->what]);
	sq_pack_cstr(&pk, "name");
	sq_pack_text(&pk, ev->name, strlen(ev->name));
	sq_pack_kv_u64(&pk, "index", ev->index);
	sq_pack_kv_bool(&pk, "up", (ev->flags & SQ_NET_UP) != 0);
	sq_pack_kv_bool(&pk, "running", (ev->flags & SQ_NET_RUNNING) != 0);
	sq_pack_kv_i64(&pk, "mtu", ev->mtu);
	unsigned nf = 0;
	for (unsigned i = 0; i < SQ_NET_NFLAGS; i++)
		nf += (ev->flags >> i) & 1;
	sq_pack_cstr(&pk, "flags");
	msgpack_pack_array(&pk, nf);
	for (unsigned i = 0; i < SQ_NET_NFLAGS; i++)
		if (ev->flags & (1u << i))
			sq_pack_cstr(&pk, sq_net_flag_name(1u << i));
	if (ev->what == SQ_NETEV_CHANGED) {
		static const char *const ch[] = { "up", "running", "mtu", "name", "flags" };
		unsigned nc = 0;
		for (unsigned i = 0; i < 5; i++)
			nc += (ev->changes >> i) & 1;
		sq_pack_cstr(&pk, "changes");
		msgpack_pack_array(&pk, nc);
		for (unsigned i = 0; i < 5; i++)
			if (ev->changes & (1u << i))
				sq_pack_cstr(&pk, ch[i]);
		n++;
		if (ev->changes & SQ_NETCH_MTU) {
			sq_pack_kv_i64(&pk, "old_mtu", ev->old_mtu);
			n++;
		}
		if (ev->changes & SQ_NETCH_NAME) {
			sq_pack_cstr(&pk, "old_name");
			sq_pack_text(&pk, ev->old_name, strlen(ev->old_name));
			n++;
		}
	}
	if (ev->what == SQ_NETEV_ADDR_ADDED || ev->what == SQ_NETEV_ADDR_REMOVED) {
		sq_pack_cstr(&pk, "addr");
		msgpack_pack_map(&pk, 3);
		sq_pack_kv_str(&pk, "family", family_word(ev->addr.family));
		sq_pack_kv_str(&pk, "addr", ev->addr.addr);
		sq_pack_kv_u64(&pk, "prefixlen", ev->addr.prefixlen);
		n++;
	}
	broadcast(arg, SQ_TOPIC_NET, "interfaces", &body, n); /* arg: the watcher */
	sq_buf_free(&body);
}

static void nsrc_maybe_free(struct nsrc *s)
{
	if (!s->closing || s->busy || s->handle_open)
		return;
	sq_netw_free(&s->w);
	free(s);
}

static void on_nsrc_closed(uv_handle_t *h)
{
	struct nsrc *s = h->data;
	s->handle_open = false;
	nsrc_maybe_free(s);
}

static void net_relist(struct sq_job *j)
{
	struct nsrc *s = (struct nsrc *)((char *)j - offsetof(struct nsrc, job));
	memset(&s->fresh, 0, sizeof(s->fresh));
	s->rc = sq_net_list(&s->fresh);
}

static void net_relist_done(struct sq_job *j, int status)
{
	struct nsrc *s = (struct nsrc *)((char *)j - offsetof(struct nsrc, job));
	s->busy = false;
	if (!s->closing && status == 0 && s->rc == 0)
		sq_netw_sync(&s->w, &s->fresh, net_emit, s->wr);
	if (s->rc == 0)
		sq_net_list_free(&s->fresh);
	if (s->closing) {
		nsrc_maybe_free(s);
		return;
	}
	if (s->w.resync) { /* lost notices again meanwhile */
		s->w.resync = false;
		s->busy = true;
		if (sq_engine_submit_own(s->wr->engine, &s->job, net_relist, net_relist_done) < 0)
			s->busy = false;
	}
}

static void on_net_poll(uv_poll_t *h, int status, int events)
{
	struct nsrc *s = h->data;
	(void)events;
	int rc = sq_watch_net_read(&s->w, net_emit, s->wr);
	if (rc < 0)
		sq_log(SQ_LOG_WARN, "watch: reading interface notices: %s", strerror(-rc));
	if (status < 0 && rc == 0) {
		/* libuv tells POLLERR as UV_EBADF and stops polling; rtnetlink's
		 * POLLERR is its overflow (ENOBUFS), which the read above took as
		 * a resync: poll on */
		uv_poll_start(&s->poll, UV_READABLE, on_net_poll);
	} else if (status < 0) {
		sq_log(SQ_LOG_WARN, "watch: polling the interface notices: %s", uv_strerror(status));
		return;
	}
	if (s->w.resync && !s->busy) {
		sq_log(SQ_LOG_INFO, "watch: the kernel dropped interface notices; listing again");
		s->w.resync = false;
		s->busy = true;
		if (sq_engine_submit_own(s->wr->engine, &s->job, net_relist, net_relist_done) < 0)
			s->busy = false;
	}
}

static void net_unref(struct sq_watcher *wr)
{
	struct nsrc *s = wr->net;
	if (!s || (s->refs && --s->refs))
		return;
	wr->net = NULL;
	s->closing = true;
	uv_close((uv_handle_t *)&s->poll, on_nsrc_closed);
}

/* ---- pid watchers ------------------------------------------------------------- */

static void on_wpid_closed(uv_handle_t *h)
{
	struct wpid *p = h->data;
	if (--p->handles == 0) {
		free(p->refs);
		free(p);
	}
}

static struct wpid **pid_bucket(struct sq_watcher *wr, pid_t pid)
{
	return &wr->pids[(unsigned)pid % PID_BUCKETS];
}

static struct wpid *wpid_find(struct sq_watcher *wr, pid_t pid)
{
	for (struct wpid *p = *pid_bucket(wr, pid); p; p = p->hnext)
		if (p->pid == pid && !p->done)
			return p;
	return NULL;
}

/* Stop watching: every subscription still naming it forgets it. */
static void wpid_close(struct wpid *p)
{
	if (p->done)
		return;
	p->done = true;
	for (size_t i = 0; i < p->nrefs; i++)
		p->refs[i].sub->pids[p->refs[i].slot] = NULL;
	p->nrefs = 0;
	struct wpid **b = pid_bucket(p->wr, p->pid);
	while (*b != p)
		b = &(*b)->hnext;
	*b = p->hnext;
	p->wr->npids--;
	sq_fds_give(p->fds, p->uid, 1);
	uv_close((uv_handle_t *)&p->poll, on_wpid_closed);
	uv_close((uv_handle_t *)&p->timer, on_wpid_closed);
	close(p->fd);
}

/* Subscription s (at slot) no longer names p; the last one closes it. */
static void wpid_unref(struct wpid *p, const struct wsub *s, size_t slot)
{
	for (size_t i = 0; i < p->nrefs; i++)
		if (p->refs[i].sub == s && p->refs[i].slot == slot) {
			p->refs[i] = p->refs[--p->nrefs];
			break;
		}
	if (p->nrefs == 0)
		wpid_close(p);
}

static int wpid_ref(struct wpid *p, struct wsub *s, size_t slot)
{
	if (p->nrefs == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 4;
		struct wref *r = realloc(p->refs, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		p->refs = r;
		p->cap = cap;
	}
	p->refs[p->nrefs++] = (struct wref){ s, slot };
	s->pids[slot] = p;
	return 0;
}

static void on_wpid_poll(uv_poll_t *h, int status, int events);

/* A pid watcher for fd (taken), or NULL. */
static struct wpid *wpid_new(struct sq_watcher *wr, pid_t pid, int fd, int how)
{
	struct wpid *w = calloc(1, sizeof(*w));
	if (!w) {
		close(fd);
		return NULL;
	}
	w->wr = wr;
	w->pid = pid;
	w->fd = fd;
	uv_poll_init(wr->loop, &w->poll, w->fd);
	uv_timer_init(wr->loop, &w->timer);
	w->poll.data = w->timer.data = w;
	w->handles = 2;
	uv_poll_start(&w->poll, uv_events(how), on_wpid_poll);
	w->hnext = *pid_bucket(wr, pid);
	*pid_bucket(wr, pid) = w;
	wr->npids++;
	return w;
}

static void wpid_report(struct wpid *p)
{
	struct sq_exit_status st;
	if (sq_watch_pid_status(p->fd, &st) < 0)
		st.known = false;
	if (p->nrefs) {
		struct sq_buf body;
		msgpack_packer pk;
		uint32_t n = 2;
		sq_buf_init(&body);
		sq_packer_init(&pk, &body);
		sq_pack_kv_str(&pk, "event", "exited");
		sq_pack_kv_i64(&pk, "pid", p->pid);
		if (st.known && !st.signaled) {
			sq_pack_kv_i64(&pk, "exit_code", st.code);
			n++;
		} else if (st.known) {
			char buf[32];
			const char *name = sq_signal_name(st.code, buf, sizeof(buf));
			if (name) {
				sq_pack_kv_str(&pk, "signal", name);
				n++;
			}
			sq_pack_kv_i64(&pk, "signum", st.code);
			sq_pack_kv_bool(&pk, "core", st.core);
			n += 2;
		}
		struct wframe *f = sq_wframe_new(p->wr, "proc.exit", &body, n);
		sq_watcher_walk_begin(p->wr);
		for (size_t i = 0; i < p->nrefs; i++) {
			if (f)
				sq_wsub_send(p->refs[i].sub, f);
			else
				sq_wsub_lost(p->refs[i].sub, true);
		}
		sq_wframe_put(p->wr, f);
		sq_watcher_walk_end(p->wr);
		sq_buf_free(&body);
	}
	wpid_close(p);
}

static void on_wpid_timer(uv_timer_t *t)
{
	wpid_report(t->data); /* not reaped in time: no status */
}

static void on_wpid_poll(uv_poll_t *h, int status, int events)
{
	struct wpid *p = h->data;
	if (status < 0 || p->exited || (events & UV_DISCONNECT)) {
		wpid_report(p);
		return;
	}
	p->exited = true;
	struct sq_exit_status st;
	if (!sq_watch_pid_status_on_reap() ||
	    (sq_watch_pid_status(p->fd, &st) == 0 && st.known)) {
		wpid_report(p);
		return;
	}
	/* exited but not reaped yet: the status comes with the reap, which
	 * the pidfd tells as a hang-up; wait for it only briefly */
	uv_poll_start(&p->poll, UV_DISCONNECT, on_wpid_poll);
	uv_timer_start(&p->timer, on_wpid_timer, SQ_WATCH_REAP_GRACE_MS, 0);
}

/* ---- subscriptions ------------------------------------------------------------- */

struct sq_watch_prep *sq_watch_prep_new(struct sq_watcher *wr, unsigned topics,
                                        const pid_t *pids, size_t npids,
                                        const struct sq_watch_filter *f,
                                        const struct sq_cred *caller)
{
	struct sq_watch_prep *p = wr ? calloc(1, sizeof(*p)) : NULL;
	if (!p)
		return NULL;
	p->topics = topics;
	p->mounts_fd = -1;
	p->net.fd = -1;
	p->proc_fd = -1;
	p->open_mounts = (topics & SQ_TOPIC_MOUNTS) && !wr->mounts;
	p->open_net = (topics & SQ_TOPIC_NET) && !wr->net;
	if (topics & SQ_TOPICS_PROC) {
		p->pidfds = wr->proc_off;
		p->open_proc = !wr->proc_off && !wr->proc;
		p->proc_seq = sq_wproc_seq(wr);
		p->proc_rcvbuf = wr->proc_rcvbuf;
	}
	if (p->open_proc) {
		/* here, as sysqd (it needs CAP_NET_ADMIN), not on the worker that
		 * runs as the caller; a socket, a bind and a send: it never blocks */
		int rc = sq_procev_open(&p->proc_src, p->proc_rcvbuf, &p->proc_fd, &p->proc_how);
		if (rc < 0) {
			sq_log(SQ_LOG_INFO, "watch: no process-events source (%s); listed pids are "
			       "watched by pidfd", strerror(-rc));
			p->pidfds = true;
		}
	}
	if (f)
		p->filter = *f;
	if (caller) {
		p->cred = *caller;
		p->cred.groups = NULL;
		p->cred.ngroups = 0;
		if (caller->ngroups > 0) {
			p->cred.groups = malloc((size_t)caller->ngroups * sizeof(gid_t));
			if (!p->cred.groups) {
				sq_watch_prep_free(p);
				return NULL;
			}
			memcpy(p->cred.groups, caller->groups, (size_t)caller->ngroups * sizeof(gid_t));
			p->cred.ngroups = caller->ngroups;
		}
	}
	if (npids) {
		p->pids = malloc(npids * sizeof(*p->pids));
		p->pid_fds = malloc(npids * sizeof(*p->pid_fds));
		p->zombie = calloc(npids, sizeof(*p->zombie));
		if (!p->pids || !p->pid_fds || !p->zombie) {
			sq_watch_prep_free(p);
			return NULL;
		}
		memcpy(p->pids, pids, npids * sizeof(*pids));
		for (size_t i = 0; i < npids; i++)
			p->pid_fds[i] = -1;
		p->npids = npids;
	}
	return p;
}

bool sq_watch_prep_may_need_pidfds(const struct sq_watch_prep *p)
{
	return p->npids && p->pidfds; /* the source, if wanted, was opened with p */
}

int sq_watch_prep_charge(struct sq_watch_prep *p, struct sq_fdshare *fds, uid_t uid,
                         bool large)
{
	int rc = sq_fds_take(fds, uid, large, p->npids);
	if (rc == 0) {
		p->fds = fds;
		p->uid = uid;
		p->charged = p->npids;
	}
	return rc;
}

static void prep_fail(struct sq_watch_prep *p, int rc, const char *what)
{
	if (p->rc)
		return;
	p->rc = rc;
	snprintf(p->msg, sizeof(p->msg), "%s: %s", what, strerror(-rc));
}

void sq_watch_prep_sources(struct sq_watch_prep *p)
{
	int rc;
	if (p->open_mounts) {
		/* the descriptor first: a change during the read is then told */
		if ((rc = sq_watch_mounts_open(&p->mounts_fd, &p->mounts_how)) < 0)
			return prep_fail(p, rc, "cannot watch the mount table");
		if ((rc = sq_fs_mounts(&p->table)) < 0)
			return prep_fail(p, rc, "cannot read the mount table");
	}
	if (p->open_net) {
		if ((rc = sq_watch_net_open(&p->net, &p->net_how)) < 0)
			return prep_fail(p, rc, "cannot watch the network interfaces");
		struct sq_net_list l;
		memset(&l, 0, sizeof(l));
		if ((rc = sq_net_list(&l)) < 0)
			return prep_fail(p, rc, "cannot list the network interfaces");
		rc = sq_netw_sync(&p->net, &l, NULL, NULL);
		sq_net_list_free(&l);
		if (rc < 0)
			return prep_fail(p, rc, "cannot list the network interfaces");
	}
	/* every process needs the source; listed pids' exits do not */
	if (p->pidfds && (p->topics & (SQ_TOPIC_FORK | SQ_TOPIC_EXEC) ||
	                  ((p->topics & SQ_TOPIC_PROC) && !p->npids)))
		prep_fail(p, -EPERM, p->open_proc
		          ? "process events: this sysqd cannot open the kernel's process-events "
		            "source (it needs CAP_NET_ADMIN); only the exits of listed pids"
		          : "process events: this sysqd runs without them (--no-proc-events); "
		            "only the exits of listed pids");
}

void sq_watch_prep_pids(struct sq_watch_prep *p)
{
	for (size_t i = 0; i < p->npids && !p->rc; i++) {
		/* with the source, which tells the exit, no descriptor: only
		 * whether the caller may see the process, and if it has exited */
		int rc = p->pidfds ? sq_watch_pid_open(p->pids[i], &p->pid_fds[i], &p->pid_how)
		                   : sq_proc_seen(p->pids[i], &p->zombie[i]);
		if (rc < 0) {
			p->rc = rc;
			snprintf(p->msg, sizeof(p->msg), rc == -ESRCH
			         ? "pid %d: no such process (that you may see)"
			         : "pid %d: cannot watch it: %s", (int)p->pids[i], strerror(-rc));
		}
	}
}

void sq_watch_prep_free(struct sq_watch_prep *p)
{
	if (!p)
		return;
	if (p->mounts_fd >= 0)
		close(p->mounts_fd);
	sq_fs_mounts_release(p->table);
	sq_netw_free(&p->net);
	sq_procev_close(p->proc_src);
	free(p->cred.groups);
	free(p->zombie);
	for (size_t i = 0; i < p->npids; i++)
		if (p->pid_fds[i] >= 0)
			close(p->pid_fds[i]);
	if (p->fds)
		sq_fds_give(p->fds, p->uid, p->charged);
	free(p->pids);
	free(p->pid_fds);
	free(p);
}

unsigned sq_watch_count(const struct sq_conn *c)
{
	unsigned n = 0;
	for (const struct wsub *s = sq_conn_watch(c); s; s = s->cnext)
		n++;
	return n;
}

/* Adopt p's freshly opened shared sources unless others were opened
 * meanwhile; take a reference on each the subscription uses. */
static int take_sources(struct sq_watcher *wr, struct sq_watch_prep *p)
{
	if ((p->topics & SQ_TOPIC_MOUNTS) && !wr->mounts) {
		if (p->mounts_fd < 0)
			return -EAGAIN; /* closed while this one was being prepared */
		struct msrc *m = calloc(1, sizeof(*m));
		if (!m)
			return -ENOMEM;
		m->wr = wr;
		m->fd = p->mounts_fd;
		m->table = p->table;
		uv_poll_init(wr->loop, &m->poll, m->fd);
		uv_idle_init(wr->loop, &m->idle);
		uv_check_init(wr->loop, &m->check);
		m->poll.data = m->idle.data = m->check.data = m;
		m->handles = 3;
		uv_poll_start(&m->poll, uv_events(p->mounts_how), on_mounts_poll);
		m->settle = 2;
		uv_idle_start(&m->idle, on_settle_idle);
		uv_check_start(&m->check, on_settle_check);
		p->mounts_fd = -1;
		p->table = NULL;
		wr->mounts = m;
	}
	if ((p->topics & SQ_TOPIC_NET) && !wr->net) {
		if (p->net.fd < 0)
			return -EAGAIN;
		struct nsrc *s = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
		s->wr = wr;
		s->w = p->net;
		memset(&p->net, 0, sizeof(p->net));
		p->net.fd = -1;
		uv_poll_init(wr->loop, &s->poll, s->w.fd);
		s->poll.data = s;
		s->handle_open = true;
		uv_poll_start(&s->poll, uv_events(p->net_how), on_net_poll);
		wr->net = s;
	}
	if ((p->topics & SQ_TOPICS_PROC) && !p->pidfds) {
		int rc = sq_wproc_take(wr, p);
		if (rc < 0)
			return rc;
	}
	if (p->topics & SQ_TOPIC_MOUNTS)
		wr->mounts->refs++;
	if (p->topics & SQ_TOPIC_NET)
		wr->net->refs++;
	return 0;
}

int sq_watch_subscribe(struct sq_conn *c, struct sq_watch_prep *p, uint64_t *id)
{
	struct sq_watcher *wr = sq_conn_server(c)->watcher;
	if (sq_watch_count(c) >= SQ_WATCH_MAX_SUBS) {
		sq_watch_prep_free(p);
		return -EMFILE;
	}
	struct wsub *s = calloc(1, sizeof(*s));
	if (!s || (p->npids && !(s->pids = calloc(p->npids, sizeof(*s->pids))))) {
		free(s);
		sq_watch_prep_free(p);
		return -ENOMEM;
	}
	int rc = take_sources(wr, p);
	if (rc < 0) {
		/* a source made here and used by nobody closes again */
		if (wr->mounts && !wr->mounts->refs)
			mounts_unref(wr);
		if (wr->net && !wr->net->refs)
			net_unref(wr);
		free(s->pids);
		free(s);
		sq_watch_prep_free(p);
		return rc;
	}
	s->wr = wr;
	s->conn = c;
	s->id = ++wr->next_id;
	s->topics = p->topics;
	if ((p->topics & SQ_TOPICS_PROC) && !p->pidfds) {
		/* the one source serves it: no pid watcher */
		if (sq_wproc_start(s, p) < 0) {
			sub_free(s); /* not linked yet: drops its references */
			sq_watch_prep_free(p);
			return -ENOMEM;
		}
		p->npids = 0;
	}
	for (size_t i = 0; i < p->npids; i++) {
		/* the caller's own pidfd showed the kernel lets it see the pid; one
		 * already watched keeps its descriptor and this one closes */
		struct wpid *w = wpid_find(wr, p->pids[i]);
		if (w) {
			close(p->pid_fds[i]);
		} else if ((w = wpid_new(wr, p->pids[i], p->pid_fds[i], p->pid_how)) && p->fds) {
			w->fds = p->fds; /* the charge moves to the watcher */
			w->uid = p->uid;
			p->charged--;
		}
		p->pid_fds[i] = -1;
		if (!w || wpid_ref(w, s, s->npids) < 0) {
			if (w && !w->nrefs)
				wpid_close(w);
			break; /* out of memory: fewer pids watched; never a crash */
		}
		s->npids++;
	}
	sq_watch_prep_free(p);
	s->next = wr->subs;
	if (wr->subs)
		wr->subs->prev = s;
	wr->subs = s;
	s->cnext = sq_conn_watch(c);
	sq_conn_set_watch(c, s);
	*id = s->id;
	return 0;
}

static void sub_free(struct wsub *s)
{
	struct sq_watcher *wr = s->wr;
	if (s->prev)
		s->prev->next = s->next;
	else if (wr->subs == s)
		wr->subs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->topics & SQ_TOPIC_MOUNTS)
		mounts_unref(wr);
	if (s->topics & SQ_TOPIC_NET)
		net_unref(wr);
	sq_wproc_stop(s);
	for (size_t i = 0; i < s->npids; i++)
		if (s->pids[i])
			wpid_unref(s->pids[i], s, i);
	free(s->pids);
	sq_wsub_queue_free(s);
	free(s);
}

/* Unlink s from its connection's list. */
static void conn_unlink(struct wsub *s)
{
	struct wsub *prev = NULL;
	for (struct wsub *x = sq_conn_watch(s->conn); x && x != s; x = x->cnext)
		prev = x;
	if (prev)
		prev->cnext = s->cnext;
	else
		sq_conn_set_watch(s->conn, s->cnext);
	s->cnext = NULL;
}

int sq_watch_unsubscribe(struct sq_conn *c, uint64_t id)
{
	struct sq_watcher *wr = sq_conn_server(c)->watcher;
	for (struct wsub *s = sq_conn_watch(c); s; s = s->cnext) {
		if (s->id != id)
			continue;
		conn_unlink(s);
		if (wr->walking) {
			s->dead = true;
			wr->reap = true;
		} else {
			sub_free(s);
		}
		return 0;
	}
	return -ENOENT;
}

void sq_watch_conn_closed(struct sq_conn *c)
{
	struct sq_watcher *wr = sq_conn_server(c)->watcher;
	struct wsub *s = sq_conn_watch(c);
	sq_conn_set_watch(c, NULL);
	while (s) {
		struct wsub *next = s->cnext;
		s->cnext = NULL;
		if (wr->walking) {
			s->dead = true; /* freed when the walk ends */
			wr->reap = true;
		} else {
			sub_free(s);
		}
		s = next;
	}
}

/* ---- the watcher ---------------------------------------------------------------- */

struct sq_watcher *sq_watcher_new(uv_loop_t *loop, struct sq_engine *engine)
{
	struct sq_watcher *wr = calloc(1, sizeof(*wr));
	if (!wr)
		return NULL;
	wr->loop = loop;
	wr->engine = engine;
	return wr;
}

void sq_watcher_proc_config(struct sq_watcher *wr, bool off, int rcvbuf)
{
	wr->proc_off = off;
	wr->proc_rcvbuf = rcvbuf;
}

void sq_watcher_free(struct sq_watcher *wr)
{
	if (wr)
		free(wr->frames);
	free(wr);
}
