/* SPDX-License-Identifier: ISC */
/*
 * prober.c - the mount watchdog (see prober.h): node_exporter's "stat each
 * mount with a timeout and remember the stuck ones", with bounded threads.
 *
 * A scan (one fs.list or fs.stat) has items.  A worker of the scan (a job
 * of kind probe on the worker engine: sysqd's for fs.list, the caller's,
 * as the caller, for fs.stat) reads the mount table (fs.list), then takes
 * the items in turn; for each it joins the probe already under way for that
 * mount, or starts one and runs it (the blocking call).  The loop adds a
 * helper when every worker of a scan has sat in one call for
 * SQ_PROBER_NUDGE_MS, so a hung mount delays the others by that much only.
 * At the deadline the loop answers with what it has: items still waiting
 * are "stale", and so are their probes, which later scans then report at
 * once, without a worker.  When a stuck call returns, its worker finishes
 * (the scan is gone) and its job ends.
 *
 * Workers: at most SQ_PROBER_MAX_THREADS at once (and what the engine's
 * per-uid share allows).  fs.stat lookups, which callers aim, get
 * SQ_PROBER_PATH_MAX workers at most, SQ_PROBER_PATH_PER_UID per uid.  At
 * the cap, a scan gets no worker: its mounts are "stale" (ETIMEDOUT)
 * without being probed.
 *
 * Lifetime: the server owns one prober (sq_prober_new at setup); every
 * scan, worker and probe belongs to it and holds it.  When the server
 * stops, the prober's uv_async_t closes once the last scan is answered;
 * from then on threads send nothing.  It is freed after the loop, unless
 * one of its jobs is still out (a thread stuck in the kernel): then it
 * stays to the process's end, as the engine does.
 *
 * Locking: one mutex (the prober's mu) guards every probe, worker, queue
 * and the scan fields shared with threads.  The loop reads a scan's items
 * without it only after setting `answered` under it; after that, threads
 * write nothing a reader sees.  Results reach the loop through a queue and
 * a uv_async_t, sent under mu.  The mount table (sq_fs_mounts, its own
 * lock) is never read under mu.
 */
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "prober.h"
#include "sq_ident.h"


enum kind { K_MOUNT, K_PATH };
enum { I_PENDING, I_WAITING, I_DONE };

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
	struct sq_job job;           /* on the engine */
	struct sq_prober *pr;
	struct worker *next;
	struct sq_scan *scan;        /* the scan it works for */
	struct probe *probe;         /* the call it is in, or NULL */
	uint64_t since_ns;
};

struct sq_scan {
	enum kind kind;
	int refs;                    /* loop, table work, posted, queued, workers, waiters */
	uv_timer_t timer;
	struct sq_job table_job;     /* the fallback's table read */
	uint64_t deadline_ns;
	bool all;
	bool table_ready;            /* items are known */
	bool table_reading;          /* a worker reads the table */
	bool answered;
	bool posted;
	struct sq_scan *next_done;
	int want;                    /* workers submitted, not yet started */
	struct sq_prober *pr;
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

struct sq_prober {
	uv_loop_t *loop;
	struct sq_engine *engine;
	pthread_mutex_t mu;
	struct probe *running;       /* calls under way */
	struct worker *workers;      /* submitted, not done */
	unsigned nthreads;           /* workers submitted and not done */
	unsigned tables;             /* fallback table reads submitted, not done */
	struct sq_scan *done_q;      /* finished, for the loop */
	uv_async_t async;            /* ... which this wakes */
	bool closed;                 /* the async is closed: threads send nothing */
	/* the loop's */
	unsigned scans;              /* with their timer open */
	bool stopping;
};

static uint64_t ns_since(uint64_t t0)
{
	uint64_t now = uv_hrtime();
	return now > t0 ? now - t0 : 0;
}

/* Under mu: wake the loop for the finished scans (none once closed). */
static void wake_loop(struct sq_prober *pr)
{
	if (!pr->closed)
		uv_async_send(&pr->async);
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
	struct sq_prober *pr = s->pr;
	pthread_mutex_lock(&pr->mu);
	scan_unref_locked(s);
	pthread_mutex_unlock(&pr->mu);
}

/* Under mu: queue a finished scan for the loop.  True when the loop must
 * be woken (uv_async_send, after unlocking). */
static bool maybe_post(struct sq_scan *s)
{
	if (s->answered || s->posted || !s->table_ready || s->ndone < s->n)
		return false;
	s->posted = true;
	s->refs++;
	s->next_done = s->pr->done_q;
	s->pr->done_q = s;
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

static struct probe *find_probe(struct sq_prober *pr, enum kind kind, int64_t id,
                                const char *key, size_t len)
{
	for (struct probe *p = pr->running; p; p = p->next)
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

/* Under mu: settle an item without a call if it can be: a mount out of
 * reach, or one whose probe is known to be stuck.  True if settled. */
static bool settle_early(struct item *it, bool *wake)
{
	struct sq_scan *s = it->scan;
	if (s->kind == K_MOUNT && it->pub.mount->hidden) {
		/* its mount point leads to the mount on top: no way to it */
		*wake |= settle(it, SQ_PROBE_ERROR, -ENOENT, NULL);
		return true;
	}
	int64_t id;
	const char *key;
	size_t len;
	item_key(it, &id, &key, &len);
	struct probe *p = find_probe(s->pr, s->kind, id, key, len);
	if (p && p->stale) {
		*wake |= settle(it, SQ_PROBE_STALE, -ETIMEDOUT, NULL);
		return true;
	}
	return false;
}

/* Under mu: may s (an fs.stat) start a path lookup now?  Path lookups are
 * named by callers, so one caller could otherwise fill every thread with
 * lookups stuck in a hung file system of its own (a FUSE mount it made):
 * at most SQ_PROBER_PATH_PER_UID per uid and SQ_PROBER_PATH_MAX in all
 * may be under way, the rest of the threads stay for fs.list. */
static bool path_room(struct sq_scan *s)
{
	unsigned mine = 0, all = 0;
	for (struct probe *p = s->pr->running; p; p = p->next) {
		if (p->kind != K_PATH)
			continue;
		all++;
		mine += p->id == (int64_t)s->cred.uid;
	}
	if (mine < SQ_PROBER_PATH_PER_UID && all < SQ_PROBER_PATH_MAX)
		return true;
	if (mine >= SQ_PROBER_PATH_PER_UID)
		snprintf(s->message, sizeof(s->message),
		         "%u earlier fs.stat calls of uid %u are still waiting for their "
		         "file systems", mine, (unsigned)s->cred.uid);
	else
		snprintf(s->message, sizeof(s->message),
		         "%u fs.stat calls are still waiting for their file systems", all);
	return false;
}

/* Under mu: the next item this worker must run a probe for, or NULL when
 * the scan has none left (or was answered).  Items whose mount is already
 * being probed join that probe. */
static struct item *pick(struct worker *w, bool *wake)
{
	struct sq_scan *s = w->scan;
	while (!s->answered && s->next < s->n) {
		struct item *it = &s->items[s->next++];
		if (it->status != I_PENDING || settle_early(it, wake))
			continue;
		int64_t id;
		const char *key;
		size_t len;
		item_key(it, &id, &key, &len);
		struct probe *p = find_probe(s->pr, s->kind, id, key, len);
		if (p && s->kind == K_MOUNT) {
			attach(it, p);
			continue;
		}
		if (s->kind == K_PATH && !path_room(s)) {
			s->next--; /* it waits: the tick tries again, the deadline ends it */
			return NULL;
		}
		if (s->kind == K_PATH)
			s->message[0] = '\0'; /* room after all */
		p = calloc(1, sizeof(*p));
		if (!p) {
			*wake |= settle(it, SQ_PROBE_ERROR, -ENOMEM, NULL);
			continue;
		}
		p->kind = s->kind;
		p->id = id;
		p->key = key;
		p->keylen = len;
		p->next = s->pr->running;
		s->pr->running = p;
		attach(it, p);
		w->probe = p;
		w->since_ns = uv_hrtime();
		return it;
	}
	return NULL;
}

/* Under mu: the probe returned; settle everything waiting for it. */
static bool complete(struct sq_prober *pr, struct probe *p, int rc,
                     const struct sq_fs_usage *u)
{
	bool wake = false;
	for (struct probe **pp = &pr->running; *pp; pp = &(*pp)->next) {
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

/* ---- the mount table ---------------------------------------------------- */

/* Without `all`, like df: no pseudo file systems, nothing out of reach. */
static bool listed(const struct sq_scan *s, const struct sq_mount *m)
{
	return s->all || (!m->pseudo && !m->hidden);
}

/* No lock: read the table and make the items (not yet visible). */
static int read_table(struct sq_scan *s, struct sq_mount_table **tab,
                      struct item **items, size_t *n)
{
	int rc = sq_fs_mounts(tab);
	if (rc < 0)
		return rc;
	size_t k = 0;
	for (size_t i = 0; i < (*tab)->n; i++)
		k += listed(s, &(*tab)->m[i]);
	*items = calloc(k ? k : 1, sizeof(**items));
	if (!*items) {
		sq_fs_mounts_release(*tab);
		*tab = NULL;
		return -ENOMEM;
	}
	*n = 0;
	for (size_t i = 0; i < (*tab)->n; i++) {
		if (!listed(s, &(*tab)->m[i]))
			continue;
		struct item *it = &(*items)[(*n)++];
		it->scan = s;
		it->pub.mount = &(*tab)->m[i];
	}
	return 0;
}

/* Under mu: make the table known to the scan (or drop it if too late). */
static bool table_done(struct sq_scan *s, int rc, struct sq_mount_table *tab,
                       struct item *items, size_t n)
{
	if (s->answered || s->table_ready) {
		sq_fs_mounts_release(tab);
		free(items);
		return false;
	}
	if (rc < 0) {
		s->error = rc;
		snprintf(s->message, sizeof(s->message), "cannot read the mount table: %s",
		         strerror(-rc));
	} else {
		s->tab = tab;
		s->items = items;
		s->n = n;
	}
	s->table_ready = true;
	return maybe_post(s); /* nothing to probe, or an error */
}

/* ---- workers ------------------------------------------------------------- */

/* The blocking part: no lock held.  For a path, also find its mount. */
static int run_probe(struct sq_scan *s, struct item *it, struct sq_fs_usage *u,
                     struct sq_mount_table **tab, const struct sq_mount **m)
{
	if (s->kind == K_MOUNT)
		return sq_fs_statfs(it->pub.mount->mountpoint, u);

	struct sq_fs_where where; /* the engine runs this worker as the caller */
	int rc = sq_fs_path_stat(s->path, u, &where);
	if (rc < 0)
		return rc;
	rc = sq_fs_mounts(tab);
	if (rc < 0)
		return rc;
	*m = sq_fs_mount_of(*tab, &where);
	return 0;
}

/* Under mu (dropped around blocking calls): work for w->scan until it has
 * nothing left for this worker. */
static bool work_on(struct worker *w)
{
	struct sq_prober *pr = w->pr;
	struct sq_scan *s = w->scan;
	bool wake = false;

	if (s->kind == K_MOUNT && !s->table_ready && !s->table_reading) {
		s->table_reading = true;
		pthread_mutex_unlock(&pr->mu);
		struct sq_mount_table *tab = NULL;
		struct item *items = NULL;
		size_t n = 0;
		int rc = read_table(s, &tab, &items, &n);
		pthread_mutex_lock(&pr->mu);
		wake |= table_done(s, rc, tab, items, n);
	}
	struct item *it;
	while ((it = pick(w, &wake)) != NULL) {
		struct probe *p = w->probe;
		if (wake)
			wake_loop(pr);
		wake = false;
		pthread_mutex_unlock(&pr->mu);

		struct sq_fs_usage u;
		struct sq_mount_table *tab = NULL;
		const struct sq_mount *m = NULL;
		memset(&u, 0, sizeof(u));
		int rc = run_probe(s, it, &u, &tab, &m);

		pthread_mutex_lock(&pr->mu);
		if (s->kind == K_PATH && !s->answered && !s->tab) {
			s->tab = tab;
			it->pub.mount = m;
			tab = NULL;
		}
		sq_fs_mounts_release(tab);
		w->probe = NULL;
		wake |= complete(pr, p, rc, &u);
	}
	return wake;
}

/* The worker's job, on an engine thread: work for its scan until there
 * is nothing left for it. */
static void worker_run(struct sq_job *j)
{
	struct worker *w = (struct worker *)j;
	struct sq_prober *pr = w->pr;
	pthread_mutex_lock(&pr->mu);
	struct sq_scan *s = w->scan;
	s->want--;
	bool wake = work_on(w);
	w->scan = NULL;
	s->nworkers--;
	scan_unref_locked(s);
	if (wake)
		wake_loop(pr);
	pthread_mutex_unlock(&pr->mu);
}

/* On the loop, the job is over (or never ran: the engine stops). */
static void worker_done(struct sq_job *j, int status)
{
	struct worker *w = (struct worker *)j;
	struct sq_prober *pr = w->pr;
	pthread_mutex_lock(&pr->mu);
	if (status < 0 && w->scan) { /* never ran: give its scan back */
		w->scan->want--;
		w->scan->nworkers--;
		scan_unref_locked(w->scan);
	}
	for (struct worker **pw = &pr->workers; *pw; pw = &(*pw)->next) {
		if (*pw == w) {
			*pw = w->next;
			break;
		}
	}
	pr->nthreads--;
	pthread_mutex_unlock(&pr->mu);
	free(w);
}

/* Under mu, on the loop: a worker for s, submitted to the engine (as the
 * caller for a path, as sysqd for mounts).  0, or -EAGAIN at the cap or
 * when the engine takes no more from this uid. */
static int dispatch(struct sq_scan *s)
{
	struct sq_prober *pr = s->pr;
	if (pr->nthreads >= SQ_PROBER_MAX_THREADS || !pr->engine)
		return -EAGAIN;
	struct worker *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->pr = pr;
	w->scan = s;
	w->job.run = worker_run;
	w->job.done = worker_done;
	w->job.kind = SQ_JOB_PROBE;
	w->job.uid = s->kind == K_PATH ? s->cred.uid : 0;
	w->job.as = s->kind == K_PATH && sq_ident_can_switch() ? &s->cred : NULL;
	s->nworkers++;
	s->refs++;
	s->want++;
	int rc = sq_engine_submit(pr->engine, &w->job);
	if (rc < 0) {
		s->want--;
		s->nworkers--;
		s->refs--; /* the caller holds one: never the last */
		free(w);
		return rc == -ECANCELED ? -EAGAIN : rc;
	}
	w->next = pr->workers;
	pr->workers = w;
	pr->nthreads++;
	return 0;
}

/* ---- the loop side ------------------------------------------------------ */

static void maybe_close(struct sq_prober *pr);

static void on_timer_closed(uv_handle_t *h)
{
	struct sq_scan *s = h->data;
	struct sq_prober *pr = s->pr;
	scan_unref(s); /* the loop's reference */
	pr->scans--;
	maybe_close(pr);
}

static void answer(struct sq_scan *s)
{
	struct sq_prober *pr = s->pr;
	pthread_mutex_lock(&pr->mu);
	s->answered = true;
	if (!s->table_ready) {
		s->error = -ETIMEDOUT;
		snprintf(s->message, sizeof(s->message), "the mount table was not read in time");
	}
	for (size_t i = 0; i < s->n; i++) {
		struct item *it = &s->items[i];
		if (it->status == I_DONE)
			continue;
		it->pub.state = SQ_PROBE_STALE;
		it->pub.err = -ETIMEDOUT;
		if (it->status == I_WAITING && it->probe)
			it->probe->stale = true;
	}
	pthread_mutex_unlock(&pr->mu);
	uv_timer_stop(&s->timer);
	s->fn(s, s->arg);
	uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}

static void on_async(uv_async_t *h)
{
	struct sq_prober *pr = h->data;
	pthread_mutex_lock(&pr->mu);
	struct sq_scan *q = pr->done_q;
	pr->done_q = NULL;
	pthread_mutex_unlock(&pr->mu);
	while (q) {
		struct sq_scan *s = q;
		q = s->next_done;
		if (!s->answered)
			answer(s);
		scan_unref(s); /* the queue's reference */
	}
}

static void on_tick(uv_timer_t *t);

static void rearm(struct sq_scan *s, bool nudge)
{
	uint64_t now = uv_hrtime();
	uint64_t left = s->deadline_ns > now ? s->deadline_ns - now : 0;
	uint64_t ms = (left + 999999) / 1000000;
	if (nudge && ms > SQ_PROBER_NUDGE_MS)
		ms = SQ_PROBER_NUDGE_MS;
	uv_timer_start(&s->timer, on_tick, ms ? ms : 1, 0);
}

/* While a scan waits: its deadline, and helpers for stuck workers. */
static void on_tick(uv_timer_t *t)
{
	struct sq_scan *s = t->data;
	struct sq_prober *pr = s->pr;
	if (uv_hrtime() >= s->deadline_ns) {
		answer(s);
		return;
	}
	bool pending = false, give_up = false;
	pthread_mutex_lock(&pr->mu);
	for (size_t i = s->next; i < s->n && !pending; i++)
		pending = s->items[i].status == I_PENDING;
	if (pending) {
		int healthy = s->want;
		for (struct worker *w = pr->workers; w; w = w->next)
			if (w->scan == s && (!w->probe ||
			    ns_since(w->since_ns) < SQ_PROBER_NUDGE_MS * 1000000ull))
				healthy++;
		if (healthy == 0 && s->kind == K_PATH && !path_room(s)) {
			/* wait without a thread; the deadline answers ETIMEDOUT */
		} else if (healthy == 0 && dispatch(s) < 0) {
			/* no thread to be had: if nothing can settle the rest, stop */
			bool waiting = false;
			for (size_t i = 0; i < s->n && !waiting; i++)
				waiting = s->items[i].status == I_WAITING;
			give_up = s->nworkers == 0 && !waiting;
			if (give_up)
				snprintf(s->message, sizeof(s->message),
				         "no prober thread free: all %u are busy with hung file systems",
				         pr->nthreads);
		}
	}
	/* keep looking while there is work no worker has reached yet (or the
	 * table, on a slow machine, is still being read) */
	bool nudge = pending || !s->table_ready;
	pthread_mutex_unlock(&pr->mu);
	if (give_up)
		answer(s);
	else
		rearm(s, nudge);
}

static struct sq_scan *scan_new(struct sq_prober *pr, enum kind kind, uint64_t timeout_ms,
                                sq_scan_fn fn, void *arg)
{
	struct sq_scan *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->pr = pr;
	s->kind = kind;
	s->refs = 1;
	s->fn = fn;
	s->arg = arg;
	s->deadline_ns = uv_hrtime() + timeout_ms * 1000000ull;
	return s;
}

/* The scan's timer, which holds the loop's reference (on_timer_closed). */
static void scan_timer_init(struct sq_scan *s)
{
	uv_timer_init(s->pr->loop, &s->timer);
	s->timer.data = s;
	s->pr->scans++;
}

/* Under mu: settle what needs no call; true if anything is left. */
static bool settle_known(struct sq_scan *s, bool *wake)
{
	bool left = false;
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i].status == I_PENDING && !settle_early(&s->items[i], wake))
			left = true;
	return left;
}

/* Fallback when no worker could start: the table, in a job of sysqd's own
 * (/proc and getfsstat(MNT_NOWAIT) wait for no file system), then the tick
 * decides. */
static void table_work(struct sq_job *j)
{
	struct sq_scan *s = (struct sq_scan *)((char *)j - offsetof(struct sq_scan, table_job));
	struct sq_prober *pr = s->pr;
	struct sq_mount_table *tab = NULL;
	struct item *items = NULL;
	size_t n = 0;
	int rc = read_table(s, &tab, &items, &n);
	pthread_mutex_lock(&pr->mu);
	bool wake = table_done(s, rc, tab, items, n);
	if (!wake && s->table_ready && !s->answered)
		settle_known(s, &wake);
	if (wake)
		wake_loop(pr);
	pthread_mutex_unlock(&pr->mu);
}

static void table_after(struct sq_job *j, int status)
{
	(void)status;
	struct sq_scan *s = (struct sq_scan *)((char *)j - offsetof(struct sq_scan, table_job));
	struct sq_prober *pr = s->pr;
	pthread_mutex_lock(&pr->mu);
	pr->tables--;
	scan_unref_locked(s);
	pthread_mutex_unlock(&pr->mu);
}

int sq_prober_list(struct sq_prober *pr, bool all, uint64_t timeout_ms,
                   sq_scan_fn fn, void *arg)
{
	if (!pr)
		return -ENOMEM;
	if (pr->stopping)
		return -ECANCELED;
	struct sq_scan *s = scan_new(pr, K_MOUNT, timeout_ms, fn, arg);
	if (!s)
		return -ENOMEM;
	s->all = all;
	pthread_mutex_lock(&pr->mu);
	int rc = dispatch(s);
	if (rc < 0) {
		s->refs++; /* the job's */
		rc = sq_engine_submit_own(pr->engine, &s->table_job, table_work, table_after);
		if (rc < 0)
			s->refs--;
		else
			pr->tables++;
	}
	pthread_mutex_unlock(&pr->mu);
	if (rc < 0) {
		scan_free(s);
		return -EAGAIN;
	}
	scan_timer_init(s);
	rearm(s, true);
	return 0;
}

int sq_prober_stat(struct sq_prober *pr, const struct sq_cred *cred, const char *path,
                   uint64_t timeout_ms, sq_scan_fn fn, void *arg)
{
	if (!pr)
		return -ENOMEM;
	if (pr->stopping)
		return -ECANCELED;
	struct sq_scan *s = scan_new(pr, K_PATH, timeout_ms, fn, arg);
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
	s->table_ready = true;
	scan_timer_init(s);

	bool wake = false;
	pthread_mutex_lock(&pr->mu);
	if (settle_known(s, &wake) && path_room(s))
		(void)dispatch(s); /* if none can start, the tick decides */
	if (wake)
		wake_loop(pr);
	pthread_mutex_unlock(&pr->mu);
	rearm(s, true);
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

void sq_prober_stats(struct sq_prober *pr, uint64_t *threads, uint64_t *stale_mounts)
{
	uint64_t stale = 0;
	*threads = 0;
	if (pr) {
		pthread_mutex_lock(&pr->mu);
		*threads = pr->nthreads;
		for (struct probe *p = pr->running; p; p = p->next)
			stale += p->kind == K_MOUNT && p->stale;
		pthread_mutex_unlock(&pr->mu);
	}
	*stale_mounts = stale;
}

/* ---- the prober ----------------------------------------------------------- */

struct sq_prober *sq_prober_new(uv_loop_t *loop, struct sq_engine *engine)
{
	struct sq_prober *pr = calloc(1, sizeof(*pr));
	if (!pr)
		return NULL;
	pr->loop = loop;
	pr->engine = engine;
	if (pthread_mutex_init(&pr->mu, NULL) != 0) {
		free(pr);
		return NULL;
	}
	if (uv_async_init(loop, &pr->async, on_async) < 0) {
		pthread_mutex_destroy(&pr->mu);
		free(pr);
		return NULL;
	}
	pr->async.data = pr;
	uv_unref((uv_handle_t *)&pr->async); /* never keeps the loop alive */
	return pr;
}

/* Scans queued for the loop and not taken: each is answered already (one
 * that is not has its timer open), so only their references go. */
static void drop_done_q(struct sq_prober *pr)
{
	pthread_mutex_lock(&pr->mu);
	struct sq_scan *q = pr->done_q;
	pr->done_q = NULL;
	while (q) {
		struct sq_scan *s = q;
		q = s->next_done;
		scan_unref_locked(s);
	}
	pthread_mutex_unlock(&pr->mu);
}

/* Stopping, and the last scan is answered: nothing needs the async now. */
static void maybe_close(struct sq_prober *pr)
{
	if (!pr->stopping || pr->scans || pr->closed)
		return;
	pthread_mutex_lock(&pr->mu);
	pr->closed = true; /* threads send nothing more */
	pthread_mutex_unlock(&pr->mu);
	drop_done_q(pr);
	uv_close((uv_handle_t *)&pr->async, NULL);
}

void sq_prober_stop(struct sq_prober *pr)
{
	if (!pr || pr->stopping)
		return;
	pr->stopping = true;
	maybe_close(pr);
}

bool sq_prober_free(struct sq_prober *pr)
{
	if (!pr)
		return false;
	if (pr->nthreads || pr->tables)
		return true; /* a job of ours is still out: its thread may lock mu */
	drop_done_q(pr);
	pthread_mutex_destroy(&pr->mu);
	free(pr);
	return false;
}
