/*
 * prober.c - the mount watchdog (see prober.h): node_exporter's "stat each
 * mount with a timeout and remember the stuck ones", with bounded threads.
 *
 * A scan (one fs.list or fs.stat) has items.  A worker thread of the scan
 * takes its items in turn; for each it joins the probe already under way
 * for that mount, or starts one and runs it (the blocking call).  The loop
 * starts a helper when every worker of a scan has sat in one call for
 * SQ_PROBER_NUDGE_MS, so one hung mount delays the others by that much.
 * At the deadline the loop answers with what it has: items still waiting
 * are "stale", and so are their probes, which later scans then report at
 * once.  A probe that finally returns ends its thread (the scan is gone).
 *
 * Locking: one mutex (mu) guards every probe, worker and scan field shared
 * with threads (counts, item states, reference counts).  The loop reads
 * items without it only after it set `answered`, after which threads write
 * nothing into the scan's items.  Results reach the loop through a queue and
 * a uv_async_t.  Lock order: mu, then sq_fs's table lock.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prober.h"
#include "sq_ident.h"

enum kind { K_MOUNT, K_PATH };
enum { I_PENDING, I_WAITING, I_DONE };

struct sq_scan;
struct probe;

struct item {
	struct sq_probe_item pub;
	int status;                  /* I_* */
	struct sq_scan *scan;
	struct probe *probe;         /* while I_WAITING */
	struct item *next_waiter;
};

/* One blocking call under way, shared by every item waiting for it. */
struct probe {
	struct probe *next;          /* the running list */
	enum kind kind;
	int64_t id;                  /* K_MOUNT: mount id; K_PATH: the caller's uid */
	const char *key;             /* mount point / path (owned by the runner's scan) */
	size_t keylen;
	bool stale;                  /* a scan gave up waiting for it */
	struct item *waiters;
};

struct worker {
	struct worker *next;
	struct sq_scan *scan;
	struct probe *probe;         /* the call it is in, or NULL */
	uint64_t since_ns;
};

struct sq_scan {
	enum kind kind;
	int refs;                    /* loop, table work, posted, each worker and waiter */
	uv_loop_t *loop;
	uv_timer_t timer;
	uv_work_t work;
	uint64_t deadline_ns;
	bool all;
	bool answered;
	bool posted;
	struct sq_scan *next_done;
	int error;                   /* the whole request failed */
	char message[160];
	struct sq_mount_table *tab;
	size_t n, next, ndone;
	struct item *items;
	int nworkers;
	sq_scan_fn fn;
	void *arg;
	/* K_PATH */
	struct sq_cred cred;
	char *path;
	size_t pathlen;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct probe *running;
static struct worker *workers;
static unsigned nthreads;
static struct sq_scan *done_q;
static uv_async_t async;
static bool async_ready;

static uint64_t ns_since(uint64_t t0)
{
	uint64_t now = uv_hrtime();
	return now > t0 ? now - t0 : 0;
}

/* ---- scans: lifetime --------------------------------------------------- */

static void scan_free(struct sq_scan *s)
{
	sq_fs_mounts_release(s->tab);
	free(s->items);
	free(s->cred.groups);
	free(s->path);
	free(s);
}

/* Under mu. */
static void scan_unref_locked(struct sq_scan *s)
{
	if (--s->refs == 0)
		scan_free(s);
}

static void scan_unref(struct sq_scan *s)
{
	pthread_mutex_lock(&mu);
	scan_unref_locked(s);
	pthread_mutex_unlock(&mu);
}

/* Under mu: queue a finished scan for the loop.  True when the loop must
 * be woken (uv_async_send, after unlocking). */
static bool maybe_post(struct sq_scan *s)
{
	if (s->answered || s->posted || s->ndone < s->n)
		return false;
	s->posted = true;
	s->refs++;
	s->next_done = done_q;
	done_q = s;
	return true;
}

/* ---- probes ------------------------------------------------------------- */

static void item_key(const struct item *it, int64_t *id, const char **key, size_t *len)
{
	const struct sq_scan *s = it->scan;
	if (s->kind == K_MOUNT) {
		*id = it->pub.mount->mount_id;
		*key = it->pub.mount->mountpoint;
		*len = it->pub.mount->mountpoint_len;
	} else {
		*id = (int64_t)s->cred.uid;
		*key = s->path;
		*len = s->pathlen;
	}
}

static struct probe *find_probe(enum kind kind, int64_t id, const char *key, size_t len)
{
	for (struct probe *p = running; p; p = p->next)
		if (p->kind == kind && p->id == id && p->keylen == len &&
		    memcmp(p->key, key, len) == 0)
			return p;
	return NULL;
}

static void attach(struct item *it, struct probe *p)
{
	it->status = I_WAITING;
	it->probe = p;
	it->next_waiter = p->waiters;
	p->waiters = it;
	it->scan->refs++;
}

/* Under mu: an item is settled. */
static bool settle(struct item *it, enum sq_probe_state st, int err,
                   const struct sq_fs_usage *u)
{
	struct sq_scan *s = it->scan;
	if (!s->answered) {
		it->pub.state = st;
		it->pub.err = err;
		if (u)
			it->pub.usage = *u;
	}
	it->status = I_DONE;
	it->probe = NULL;
	s->ndone++;
	return maybe_post(s);
}

/* Under mu: the next item this worker must run a probe for, or NULL when
 * the scan has none left (or was answered).  Items whose mount is already
 * being probed join that probe; a stale one settles at once. */
static struct item *pick(struct worker *w, bool *wake)
{
	struct sq_scan *s = w->scan;
	while (!s->answered && s->next < s->n) {
		struct item *it = &s->items[s->next++];
		if (it->status != I_PENDING)
			continue;
		int64_t id;
		const char *key;
		size_t len;
		item_key(it, &id, &key, &len);
		struct probe *p = find_probe(s->kind, id, key, len);
		if (p && p->stale) {
			*wake |= settle(it, SQ_PROBE_STALE, -ETIMEDOUT, NULL);
			continue;
		}
		if (p && s->kind == K_MOUNT) {
			attach(it, p);
			continue;
		}
		p = calloc(1, sizeof(*p));
		if (!p) {
			*wake |= settle(it, SQ_PROBE_ERROR, -ENOMEM, NULL);
			continue;
		}
		p->kind = s->kind;
		p->id = id;
		p->key = key;
		p->keylen = len;
		p->next = running;
		running = p;
		attach(it, p);
		w->probe = p;
		w->since_ns = uv_hrtime();
		return it;
	}
	return NULL;
}

/* Under mu: the probe returned; settle everything waiting for it. */
static bool complete(struct probe *p, int rc, const struct sq_fs_usage *u)
{
	bool wake = false;
	for (struct probe **pp = &running; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	struct item *it = p->waiters;
	while (it) {
		struct item *next = it->next_waiter;
		struct sq_scan *s = it->scan;
		wake |= settle(it, rc < 0 ? SQ_PROBE_ERROR : SQ_PROBE_OK, rc, rc < 0 ? NULL : u);
		scan_unref_locked(s); /* the waiter's reference */
		it = next;
	}
	free(p);
	return wake;
}

/* The blocking part: no lock held.  For a path, also find its mount. */
static int run_probe(struct sq_scan *s, struct item *it, struct sq_fs_usage *u,
                     struct sq_mount_table **tab, const struct sq_mount **m)
{
	if (s->kind == K_MOUNT)
		return sq_fs_statfs(it->pub.mount->mountpoint, u);

	struct sq_fs_where where;
	int rc = sq_ident_enter(&s->cred);
	if (rc < 0)
		return rc;
	rc = sq_fs_path_stat(s->path, u, &where);
	sq_ident_leave();
	if (rc < 0)
		return rc;
	rc = sq_fs_mounts(tab);
	if (rc < 0)
		return rc;
	*m = sq_fs_mount_of(*tab, &where);
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct sq_scan *s = w->scan;
	bool wake = false;

	pthread_mutex_lock(&mu);
	struct item *it;
	while ((it = pick(w, &wake)) != NULL) {
		struct probe *p = w->probe;
		pthread_mutex_unlock(&mu);
		if (wake)
			uv_async_send(&async);
		wake = false;

		struct sq_fs_usage u;
		struct sq_mount_table *tab = NULL;
		const struct sq_mount *m = NULL;
		memset(&u, 0, sizeof(u));
		int rc = run_probe(s, it, &u, &tab, &m);

		pthread_mutex_lock(&mu);
		if (s->kind == K_PATH && !s->answered && !s->tab) {
			s->tab = tab;
			it->pub.mount = m;
			tab = NULL;
		}
		sq_fs_mounts_release(tab);
		w->probe = NULL;
		wake |= complete(p, rc, &u);
	}
	for (struct worker **pw = &workers; *pw; pw = &(*pw)->next) {
		if (*pw == w) {
			*pw = w->next;
			break;
		}
	}
	nthreads--;
	s->nworkers--;
	scan_unref_locked(s);
	pthread_mutex_unlock(&mu);
	if (wake)
		uv_async_send(&async);
	free(w);
	return NULL;
}

/* Under mu: start a worker thread for s.  0, -EAGAIN at the cap, or an
 * error of pthread_create. */
static int spawn(struct sq_scan *s)
{
	if (nthreads >= SQ_PROBER_MAX_THREADS)
		return -EAGAIN;
	struct worker *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->scan = s;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	/* signals are the loop's business: the thread inherits a full mask */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	int rc = pthread_create(&t, &attr, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		free(w);
		return -rc;
	}
	w->next = workers;
	workers = w;
	nthreads++;
	s->nworkers++;
	s->refs++;
	return 0;
}

/* ---- the loop side ------------------------------------------------------ */

static void on_timer_closed(uv_handle_t *h)
{
	scan_unref(h->data); /* the loop's reference */
}

static void answer(struct sq_scan *s)
{
	pthread_mutex_lock(&mu);
	s->answered = true;
	for (size_t i = 0; i < s->n; i++) {
		struct item *it = &s->items[i];
		if (it->status == I_DONE)
			continue;
		it->pub.state = SQ_PROBE_STALE;
		it->pub.err = -ETIMEDOUT;
		if (it->status == I_WAITING && it->probe)
			it->probe->stale = true;
	}
	pthread_mutex_unlock(&mu);
	uv_timer_stop(&s->timer);
	s->fn(s, s->arg);
	uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}

static void on_async(uv_async_t *h)
{
	(void)h;
	pthread_mutex_lock(&mu);
	struct sq_scan *q = done_q;
	done_q = NULL;
	pthread_mutex_unlock(&mu);
	while (q) {
		struct sq_scan *s = q;
		q = s->next_done;
		if (!s->answered)
			answer(s);
		scan_unref(s); /* the queue's reference */
	}
}

static void arm(struct sq_scan *s, bool nudge);

/* Periodic while a scan waits: the deadline, and helpers for stuck workers. */
static void on_tick(uv_timer_t *t)
{
	struct sq_scan *s = t->data;
	uint64_t now = uv_hrtime();
	if (now >= s->deadline_ns) {
		answer(s);
		return;
	}
	bool pending = false, give_up = false;
	pthread_mutex_lock(&mu);
	for (size_t i = s->next; i < s->n && !pending; i++)
		pending = s->items[i].status == I_PENDING;
	if (pending) {
		int healthy = 0;
		for (struct worker *w = workers; w; w = w->next)
			if (w->scan == s && (!w->probe ||
			    ns_since(w->since_ns) < SQ_PROBER_NUDGE_MS * 1000000ull))
				healthy++;
		if (healthy == 0 && spawn(s) < 0) {
			/* no thread to be had: if nothing can settle the rest, stop */
			bool waiting = false;
			for (size_t i = 0; i < s->n && !waiting; i++)
				waiting = s->items[i].status == I_WAITING;
			give_up = s->nworkers == 0 && !waiting;
			if (give_up)
				snprintf(s->message, sizeof(s->message),
				         "no prober thread free: all %u are stuck on hung file systems",
				         nthreads);
		}
	}
	pthread_mutex_unlock(&mu);
	if (give_up) {
		answer(s);
		return;
	}
	arm(s, pending);
}

static void arm(struct sq_scan *s, bool nudge)
{
	uint64_t now = uv_hrtime();
	uint64_t left = s->deadline_ns > now ? s->deadline_ns - now : 0;
	uint64_t ms = (left + 999999) / 1000000;
	if (nudge && ms > SQ_PROBER_NUDGE_MS)
		ms = SQ_PROBER_NUDGE_MS;
	uv_timer_start(&s->timer, on_tick, ms ? ms : 1, 0);
}

static void ensure_async(uv_loop_t *loop)
{
	if (async_ready)
		return;
	uv_async_init(loop, &async, on_async);
	uv_unref((uv_handle_t *)&async); /* never keeps the loop alive */
	async_ready = true;
}

static struct sq_scan *scan_new(uv_loop_t *loop, enum kind kind, uint64_t timeout_ms,
                             sq_scan_fn fn, void *arg)
{
	struct sq_scan *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->kind = kind;
	s->refs = 1;
	s->loop = loop;
	s->fn = fn;
	s->arg = arg;
	s->deadline_ns = uv_hrtime() + timeout_ms * 1000000ull;
	return s;
}

/* The loop's part of starting: timer armed, first worker started. */
static void scan_start(struct sq_scan *s)
{
	bool wake = false;
	pthread_mutex_lock(&mu);
	/* mounts known to be stuck settle now, without a thread */
	bool pending = false;
	for (size_t i = 0; i < s->n; i++) {
		struct item *it = &s->items[i];
		int64_t id;
		const char *key;
		size_t len;
		if (s->kind == K_MOUNT && it->pub.mount->hidden) {
			/* its mount point leads to the mount on top: no way to it */
			wake |= settle(it, SQ_PROBE_ERROR, -ENOENT, NULL);
			continue;
		}
		item_key(it, &id, &key, &len);
		struct probe *p = find_probe(s->kind, id, key, len);
		if (p && p->stale)
			wake |= settle(it, SQ_PROBE_STALE, -ETIMEDOUT, NULL);
		else
			pending = true;
	}
	if (pending)
		(void)spawn(s); /* if none can start, the tick decides */
	if (s->n == 0 || s->ndone == s->n)
		wake |= maybe_post(s);
	pthread_mutex_unlock(&mu);
	if (wake)
		uv_async_send(&async);
	arm(s, true);
}

/* Without `all`, like df: no pseudo file systems, nothing out of reach. */
static bool listed(const struct sq_scan *s, const struct sq_mount *m)
{
	return s->all || (!m->pseudo && !m->hidden);
}

static void table_work(uv_work_t *w)
{
	struct sq_scan *s = w->data;
	s->error = sq_fs_mounts(&s->tab);
}

static void table_after(uv_work_t *w, int status)
{
	struct sq_scan *s = w->data;
	if (status < 0 && !s->error)
		s->error = -ECANCELED;
	if (s->answered) { /* the deadline came first */
		scan_unref(s);
		return;
	}
	if (s->error < 0) {
		snprintf(s->message, sizeof(s->message), "cannot read the mount table: %s",
		         strerror(-s->error));
	} else {
		size_t n = 0;
		for (size_t i = 0; i < s->tab->n; i++)
			n += listed(s, &s->tab->m[i]);
		s->items = calloc(n ? n : 1, sizeof(*s->items));
		if (!s->items) {
			s->error = -ENOMEM;
			snprintf(s->message, sizeof(s->message), "out of memory");
		}
		for (size_t i = 0; s->items && i < s->tab->n; i++) {
			if (!listed(s, &s->tab->m[i]))
				continue;
			struct item *it = &s->items[s->n++];
			it->scan = s;
			it->pub.mount = &s->tab->m[i];
		}
	}
	if (s->error < 0) {
		answer(s);
		scan_unref(s);
		return;
	}
	scan_start(s);
	scan_unref(s); /* the work's reference */
}

int sq_prober_list(uv_loop_t *loop, bool all, uint64_t timeout_ms,
                   sq_scan_fn fn, void *arg)
{
	ensure_async(loop);
	struct sq_scan *s = scan_new(loop, K_MOUNT, timeout_ms, fn, arg);
	if (!s)
		return -ENOMEM;
	s->all = all;
	s->work.data = s;
	s->refs++;
	/* the mount table is read on the libuv pool: /proc and getfsstat
	 * (MNT_NOWAIT) do not wait for any file system */
	int rc = uv_queue_work(loop, &s->work, table_work, table_after);
	if (rc < 0) {
		scan_free(s);
		return -EAGAIN;
	}
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	arm(s, false);
	return 0;
}

int sq_prober_stat(uv_loop_t *loop, const struct sq_cred *cred, const char *path,
                   uint64_t timeout_ms, sq_scan_fn fn, void *arg)
{
	ensure_async(loop);
	struct sq_scan *s = scan_new(loop, K_PATH, timeout_ms, fn, arg);
	if (!s)
		return -ENOMEM;
	s->cred = *cred;
	s->cred.groups = NULL;
	s->pathlen = strlen(path);
	s->path = malloc(s->pathlen + 1);
	s->items = calloc(1, sizeof(*s->items));
	if (cred->ngroups > 0)
		s->cred.groups = malloc(sizeof(gid_t) * (size_t)cred->ngroups);
	if (!s->path || !s->items || (cred->ngroups > 0 && !s->cred.groups)) {
		scan_free(s);
		return -ENOMEM;
	}
	memcpy(s->path, path, s->pathlen + 1);
	if (cred->ngroups > 0)
		memcpy(s->cred.groups, cred->groups, sizeof(gid_t) * (size_t)cred->ngroups);
	s->n = 1;
	s->items[0].scan = s;
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	scan_start(s);
	return 0;
}

int sq_scan_error(const struct sq_scan *s, const char **message)
{
	*message = s->message;
	return s->error;
}

size_t sq_scan_count(const struct sq_scan *s)
{
	return s->n;
}

const struct sq_probe_item *sq_scan_item(const struct sq_scan *s, size_t i)
{
	return &s->items[i].pub;
}

void sq_prober_stats(uint64_t *threads, uint64_t *stale_mounts)
{
	uint64_t stale = 0;
	pthread_mutex_lock(&mu);
	*threads = nthreads;
	for (struct probe *p = running; p; p = p->next)
		stale += p->kind == K_MOUNT && p->stale;
	pthread_mutex_unlock(&mu);
	*stale_mounts = stale;
}
