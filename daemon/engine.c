/* SPDX-License-Identifier: ISC */
/*
 * engine.c - the one worker engine (see engine.h): per-(uid, kind) shares
 * served round-robin by threads started as work needs them.
 *
 * Locking: one mutex (mu) guards the shares, the ring of shares that may
 * run a job now, the done list and the thread counts.  The loop submits
 * and reaps under it; a thread takes a job under it, runs it without it.
 * Shares are created and freed on the loop only.  An idle thread above
 * SQ_ENGINE_THREADS ends by itself and is joined when its slot is next
 * needed; at the end the idle ones are joined, and one stuck in the kernel
 * is left to the process's exit.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "sq_ident.h"

struct sq_share {
	struct sq_share *next_all;   /* every share */
	struct sq_share *next_ring;  /* in the ring of shares that may run a job */
	bool in_ring;
	uid_t uid;
	enum sq_job_kind kind;
	unsigned limit, running, stuck, queued;
	size_t queued_bytes;
	struct sq_job *head, *tail;
};

struct sq_engine {
	uv_loop_t *loop;
	uv_mutex_t mu;
	uv_cond_t work_cv;           /* a job may be taken, or stop */
	uv_cond_t exit_cv;           /* a thread ended */
	uv_async_t async;            /* jobs are done */
	atomic_uint telling;         /* threads between finish and uv_async_send */
	uv_timer_t stuck_timer;
	bool stopping, closed, quit;
	struct sq_job *batch_head, *batch_tail; /* submitted, not yet queued (loop) */
	unsigned outstanding;        /* submitted, done not yet called (loop) */
	struct sq_share *shares;
	struct sq_share *ring_head, *ring_tail;
	struct sq_job *done_head, *done_tail;
	struct sq_job *running[SQ_ENGINE_MAX_THREADS]; /* by thread slot */
	enum { SLOT_FREE, SLOT_LIVE, SLOT_ENDED } slot[SQ_ENGINE_MAX_THREADS];
	pthread_t tid[SQ_ENGINE_MAX_THREADS];
	unsigned nthreads, idle, waking, busy, stuck;
	uint64_t jobs, refused, cancelled, queued, queued_bytes;
};

unsigned sq_engine_share(uid_t uid, enum sq_job_kind kind, bool large)
{
	if (uid == 0 && kind == SQ_JOB_PROBE)
		return SQ_ENGINE_PROBE_SHARE;
	return uid == 0 || large ? SQ_ENGINE_ROOT_SHARE : SQ_ENGINE_SHARE;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the ring of shares that may run a job (under mu) --------------------- */

static bool runnable(const struct sq_share *sh)
{
	return sh->queued > 0 && sh->running < sh->limit;
}

static void ring_add(struct sq_engine *e, struct sq_share *sh)
{
	if (sh->in_ring || !runnable(sh))
		return;
	sh->in_ring = true;
	sh->next_ring = NULL;
	if (e->ring_tail)
		e->ring_tail->next_ring = sh;
	else
		e->ring_head = sh;
	e->ring_tail = sh;
}

/* The next job, from the share at the head of the ring, which then goes to
 * the tail if it may run another: round-robin between uids and kinds. */
static struct sq_job *take(struct sq_engine *e)
{
	struct sq_share *sh = e->ring_head;
	if (!sh)
		return NULL;
	e->ring_head = sh->next_ring;
	if (!e->ring_head)
		e->ring_tail = NULL;
	sh->in_ring = false;
	struct sq_job *j = sh->head;
	sh->head = j->next;
	if (!sh->head)
		sh->tail = NULL;
	sh->queued--;
	sh->queued_bytes -= j->bytes;
	e->queued--;
	e->queued_bytes -= j->bytes;
	sh->running++;
	ring_add(e, sh);
	return j;
}

/* ---- worker threads ------------------------------------------------------- */

struct thread_arg {
	struct sq_engine *e;
	unsigned slot;
};

/* The job, as whom it is for; the thread keeps a caller's identity for the
 * caller's next job (sq_ident_become). */
static void run_job(struct sq_job *j)
{
	if (j->abandoned && atomic_load(j->abandoned)) {
		j->status = -ECANCELED;
		return;
	}
	if (j->as) {
		int rc = sq_ident_become(j->as);
		if (rc < 0) {
			j->status = rc;
			return;
		}
		assert(geteuid() == j->as->uid); /* what every lib/ call for it relies on */
	} else {
		sq_ident_drop();
	}
	j->run(j);
}

/* j is done: to the done list.  True when the loop is to be told (the
 * caller sends the async once it has let go of mu, so that the loop, woken,
 * does not find mu held and sleep again on it). */
static bool finish(struct sq_engine *e, unsigned slot, struct sq_job *j)
{
	struct sq_share *sh = j->share;
	e->running[slot] = NULL;
	e->busy--;
	sh->running--;
	if (j->stuck) {
		sh->stuck--;
		e->stuck--;
	}
	ring_add(e, sh);
	j->next = NULL;
	if (e->done_tail)
		e->done_tail->next = j;
	else
		e->done_head = j;
	bool tell = !e->closed && !e->done_head->next;
	e->done_tail = j;
	if (tell)
		atomic_fetch_add(&e->telling, 1);
	return tell;
}

/* After finish said so, mu let go: wake the loop. */
static void tell_loop(struct sq_engine *e)
{
	uv_async_send(&e->async);
	atomic_fetch_sub(&e->telling, 1);
}

/* Wait for work; false when this thread should end (stop, or idle too long
 * while more than SQ_ENGINE_THREADS exist).  Under mu. */
static bool wait_for_work(struct sq_engine *e)
{
	e->idle++;
	int rc = 0;
	if (e->nthreads > SQ_ENGINE_THREADS)
		rc = uv_cond_timedwait(&e->work_cv, &e->mu, SQ_ENGINE_IDLE_MS * 1000000ull);
	else
		uv_cond_wait(&e->work_cv, &e->mu);
	e->idle--;
	if (e->waking)
		e->waking--;
	if (e->quit)
		return false;
	return !(rc == UV_ETIMEDOUT && !e->ring_head && e->nthreads > SQ_ENGINE_THREADS);
}

static void *thread_main(void *arg)
{
	struct thread_arg a = *(struct thread_arg *)arg;
	struct sq_engine *e = a.e;
	free(arg);
	uv_mutex_lock(&e->mu);
	if (e->waking)
		e->waking--; /* started for work: here it is */
	for (;;) {
		struct sq_job *j = e->quit ? NULL : take(e);
		if (!j) {
			if (e->quit || !wait_for_work(e))
				break;
			continue;
		}
		e->running[a.slot] = j;
		e->busy++;
		e->jobs++;
		j->started_ms = now_ms();
		uv_mutex_unlock(&e->mu);
		run_job(j);
		uv_mutex_lock(&e->mu);
		if (j->status == -ECANCELED)
			e->cancelled++;
		if (finish(e, a.slot, j)) {
			uv_mutex_unlock(&e->mu);
			tell_loop(e);
			uv_mutex_lock(&e->mu);
		}
	}
	e->slot[a.slot] = SLOT_ENDED; /* to be joined */
	e->nthreads--;
	uv_cond_broadcast(&e->exit_cv);
	uv_mutex_unlock(&e->mu);
	sq_ident_drop();
	return NULL;
}

/* One more thread, with every signal blocked (signals are the loop's).
 * Under mu. */
/* Join the threads that ended (they returned already: no wait).  Under mu. */
static void join_ended(struct sq_engine *e)
{
	for (unsigned i = 0; i < SQ_ENGINE_MAX_THREADS; i++)
		if (e->slot[i] == SLOT_ENDED) {
			pthread_join(e->tid[i], NULL);
			e->slot[i] = SLOT_FREE;
		}
}

static bool start_thread(struct sq_engine *e)
{
	join_ended(e);
	unsigned slot = 0;
	while (slot < SQ_ENGINE_MAX_THREADS && e->slot[slot] != SLOT_FREE)
		slot++;
	if (slot == SQ_ENGINE_MAX_THREADS)
		return false;
	struct thread_arg *a = malloc(sizeof(*a));
	if (!a)
		return false;
	a->e = e;
	a->slot = slot;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&e->tid[slot], NULL, thread_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		free(a);
		sq_log(SQ_LOG_WARN, "engine: cannot start thread %u: %s", e->nthreads + 1,
		       strerror(rc));
		return false;
	}
	e->slot[slot] = SLOT_LIVE;
	e->nthreads++;
	return true;
}

/* How many jobs could start now, each share within its share. */
static unsigned could_start(const struct sq_engine *e)
{
	unsigned n = 0;
	for (const struct sq_share *sh = e->ring_head; sh; sh = sh->next_ring) {
		unsigned room = sh->limit - sh->running;
		n += sh->queued < room ? sh->queued : room;
	}
	return n;
}

/* Jobs may run now: idle threads take them, or new ones, as many as could
 * start and are not already on their way (woken or starting).  Under mu;
 * returns how many idle threads the caller is to signal once it has let go
 * of mu (signal_idle): a thread woken under it would find mu held, and
 * sleep again until it is let go. */
static unsigned wake(struct sq_engine *e)
{
	unsigned want = could_start(e), signals = 0;
	while (want > e->waking) {
		if (e->idle > e->waking) {
			e->waking++;
			signals++;
		} else if (e->nthreads < SQ_ENGINE_MAX_THREADS && start_thread(e)) {
			e->waking++;
		} else {
			break;
		}
	}
	return signals;
}

/* After wake, mu let go (the loop alone calls both: the condition variable
 * lives as long as the loop). */
static void signal_idle(struct sq_engine *e, unsigned n)
{
	while (n--)
		uv_cond_signal(&e->work_cv);
}

/* ---- the loop's side ------------------------------------------------------- */

static struct sq_share *share_of(struct sq_engine *e, uid_t uid, enum sq_job_kind kind,
                                 bool large)
{
	for (struct sq_share *sh = e->shares; sh; sh = sh->next_all)
		if (sh->uid == uid && sh->kind == kind) {
			/* one connection of a uid the policy names with large-shares
			 * raises the share it runs under */
			unsigned limit = sq_engine_share(uid, kind, large);
			if (sh->limit < limit)
				sh->limit = limit;
			return sh;
		}
	struct sq_share *sh = calloc(1, sizeof(*sh));
	if (!sh)
		return NULL;
	sh->uid = uid;
	sh->kind = kind;
	sh->limit = sq_engine_share(uid, kind, large);
	sh->next_all = e->shares;
	e->shares = sh;
	return sh;
}

/* Shares with nothing running or queued go (under mu, on the loop). */
static void prune_shares(struct sq_engine *e)
{
	struct sq_share **p = &e->shares;
	while (*p) {
		struct sq_share *sh = *p;
		if (sh->running == 0 && sh->queued == 0 && !sh->in_ring) {
			*p = sh->next_all;
			free(sh);
		} else {
			p = &sh->next_all;
		}
	}
}

static void close_handles(struct sq_engine *e)
{
	if (e->closed || e->outstanding)
		return;
	uv_mutex_lock(&e->mu);
	e->closed = true; /* threads send nothing more */
	uv_mutex_unlock(&e->mu);
	while (atomic_load(&e->telling)) /* one is in uv_async_send: a few instructions */
		sched_yield();
	uv_close((uv_handle_t *)&e->async, NULL);
	uv_close((uv_handle_t *)&e->stuck_timer, NULL);
}

/* Nothing out any more: the loop need not wait for the engine; once it
 * stops, its handles close. */
static void settle_if_idle(struct sq_engine *e)
{
	if (e->outstanding)
		return;
	uv_unref((uv_handle_t *)&e->async);
	uv_timer_stop(&e->stuck_timer);
	if (e->stopping)
		close_handles(e);
}

static void on_done(uv_async_t *h)
{
	struct sq_engine *e = h->data;
	uv_mutex_lock(&e->mu);
	struct sq_job *j = e->done_head;
	e->done_head = e->done_tail = NULL;
	prune_shares(e);
	uv_mutex_unlock(&e->mu);
	while (j) {
		struct sq_job *next = j->next;
		e->outstanding--;
		j->done(j, j->status);
		j = next;
	}
	settle_if_idle(e);
}

/* Jobs running for SQ_ENGINE_STUCK_MS are stuck: counted, and logged once. */
static void on_stuck_check(uv_timer_t *t)
{
	struct sq_engine *e = t->data;
	uint64_t now = now_ms();
	uv_mutex_lock(&e->mu);
	for (unsigned i = 0; i < SQ_ENGINE_MAX_THREADS; i++) {
		struct sq_job *j = e->running[i];
		if (!j || j->stuck || now - j->started_ms < SQ_ENGINE_STUCK_MS)
			continue;
		j->stuck = true;
		j->share->stuck++;
		e->stuck++;
		sq_log(SQ_LOG_INFO, "engine: a job of uid %u has run %llu ms: counted as stuck "
		       "(%u of its share of %u)", (unsigned)j->uid,
		       (unsigned long long)(now - j->started_ms), j->share->stuck, j->share->limit);
	}
	uv_mutex_unlock(&e->mu);
}

int sq_engine_init(struct sq_engine **out, uv_loop_t *loop)
{
	struct sq_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->loop = loop;
	if (uv_mutex_init(&e->mu) < 0)
		goto fail_mu;
	if (uv_cond_init(&e->work_cv) < 0)
		goto fail_work;
	if (uv_cond_init(&e->exit_cv) < 0)
		goto fail_exit;
	if (uv_async_init(loop, &e->async, on_done) < 0)
		goto fail_async;
	e->async.data = e;
	uv_unref((uv_handle_t *)&e->async); /* referenced while jobs are out */
	uv_timer_init(loop, &e->stuck_timer);
	e->stuck_timer.data = e;
	uv_unref((uv_handle_t *)&e->stuck_timer);
	*out = e;
	return 0;
fail_async:
	uv_cond_destroy(&e->exit_cv);
fail_exit:
	uv_cond_destroy(&e->work_cv);
fail_work:
	uv_mutex_destroy(&e->mu);
fail_mu:
	free(e);
	return -ENOMEM;
}

/* Under mu: j into its share's queue, unless the queue is full. */
static int place(struct sq_engine *e, struct sq_job *j)
{
	struct sq_share *sh = share_of(e, j->uid, j->kind, j->large);
	if (!sh || sh->queued >= SQ_ENGINE_QUEUED ||
	    sh->queued_bytes + j->bytes > SQ_ENGINE_QUEUED_BYTES) {
		e->refused++;
		return sh ? -EAGAIN : -ENOMEM;
	}
	j->share = sh;
	j->next = NULL;
	j->stuck = false;
	j->status = 0;
	if (sh->tail)
		sh->tail->next = j;
	else
		sh->head = j;
	sh->tail = j;
	sh->queued++;
	sh->queued_bytes += j->bytes;
	e->queued++;
	e->queued_bytes += j->bytes;
	ring_add(e, sh);
	return 0;
}

/* One more job out: the async handle keeps the loop alive meanwhile. */
static void out_one(struct sq_engine *e)
{
	if (e->outstanding++ == 0) {
		uv_ref((uv_handle_t *)&e->async);
		uv_timer_start(&e->stuck_timer, on_stuck_check, SQ_ENGINE_STUCK_MS / 4,
		               SQ_ENGINE_STUCK_MS / 4);
	}
}

int sq_engine_submit_own(struct sq_engine *e, struct sq_job *j, void (*run)(struct sq_job *),
                         void (*done)(struct sq_job *, int))
{
	j->run = run;
	j->done = done;
	j->as = NULL;
	j->uid = 0;
	j->kind = SQ_JOB_REQUEST;
	j->bytes = 0;
	return e ? sq_engine_submit(e, j) : -ENOMEM;
}

int sq_engine_submit(struct sq_engine *e, struct sq_job *j)
{
	if (e->stopping)
		return -ECANCELED;
	uv_mutex_lock(&e->mu);
	int rc = place(e, j);
	unsigned signals = rc == 0 ? wake(e) : 0;
	uv_mutex_unlock(&e->mu);
	signal_idle(e, signals);
	if (rc == 0)
		out_one(e);
	return rc;
}

int sq_engine_submit_batch(struct sq_engine *e, struct sq_job *j)
{
	if (e->stopping)
		return -ECANCELED;
	j->next = NULL; /* the loop's own list: no lock until the flush */
	if (e->batch_tail)
		e->batch_tail->next = j;
	else
		e->batch_head = j;
	e->batch_tail = j;
	out_one(e);
	return 0;
}

/* Jobs that could not be queued end here, on the loop. */
static void refuse(struct sq_engine *e, struct sq_job *j, int rc)
{
	while (j) {
		struct sq_job *next = j->next;
		e->outstanding--;
		j->done(j, rc);
		j = next;
	}
}

void sq_engine_flush(struct sq_engine *e)
{
	if (!e || !e->batch_head)
		return;
	struct sq_job *j = e->batch_head, *refused = NULL, **tail = &refused;
	e->batch_head = e->batch_tail = NULL;
	uv_mutex_lock(&e->mu);
	while (j) {
		struct sq_job *next = j->next;
		if (place(e, j) < 0) {
			j->next = NULL;
			*tail = j;
			tail = &j->next;
		}
		j = next;
	}
	unsigned signals = wake(e);
	uv_mutex_unlock(&e->mu);
	signal_idle(e, signals);
	refuse(e, refused, -EAGAIN);
	settle_if_idle(e);
}

const char *sq_job_not_run_text(char *buf, size_t size, uid_t uid, int status)
{
	if (status == -ECANCELED)
		snprintf(buf, size, "the daemon is stopping");
	else if (status == -EAGAIN)
		snprintf(buf, size, "uid %u has %u requests or %u MiB of them waiting for a "
		         "worker: try again when some are answered", (unsigned)uid,
		         SQ_ENGINE_QUEUED, SQ_ENGINE_QUEUED_BYTES >> 20);
	else
		snprintf(buf, size, "cannot act as uid %u: %s", (unsigned)uid, strerror(-status));
	return buf;
}

void sq_engine_stop(struct sq_engine *e)
{
	if (!e || e->stopping)
		return;
	e->stopping = true;
	struct sq_job *cancelled = NULL;
	uv_mutex_lock(&e->mu);
	for (struct sq_share *sh = e->shares; sh; sh = sh->next_all) {
		while (sh->head) {
			struct sq_job *j = sh->head;
			sh->head = j->next;
			j->next = cancelled;
			cancelled = j;
		}
		sh->tail = NULL;
		sh->queued = 0;
		sh->queued_bytes = 0;
		sh->in_ring = false;
	}
	e->ring_head = e->ring_tail = NULL;
	e->queued = e->queued_bytes = 0;
	uv_mutex_unlock(&e->mu);
	refuse(e, e->batch_head, -ECANCELED);
	e->batch_head = e->batch_tail = NULL;
	while (cancelled) {
		struct sq_job *next = cancelled->next;
		e->outstanding--;
		cancelled->done(cancelled, -ECANCELED);
		cancelled = next;
	}
	settle_if_idle(e);
}

bool sq_engine_free(struct sq_engine *e)
{
	if (!e)
		return false;
	uv_mutex_lock(&e->mu);
	e->quit = true;
	e->closed = true;
	uv_cond_broadcast(&e->work_cv);
	/* the idle ones end now; a busy one is stuck in a job (the loop has
	 * ended: nothing else is out) and stays with it until exit */
	while (e->nthreads > e->busy)
		uv_cond_wait(&e->exit_cv, &e->mu);
	join_ended(e); /* nothing of theirs runs when the process exits */
	bool busy = e->busy > 0;
	uv_mutex_unlock(&e->mu);
	if (busy) {
		sq_log(SQ_LOG_WARN, "engine: %u thread(s) still in a job at exit (stuck in the "
		       "kernel): left to the process's end", e->busy);
		return true; /* they still use e */
	}
	uv_cond_destroy(&e->exit_cv);
	uv_cond_destroy(&e->work_cv);
	uv_mutex_destroy(&e->mu);
	struct sq_share *sh = e->shares;
	while (sh) {
		struct sq_share *next = sh->next_all;
		free(sh);
		sh = next;
	}
	free(e);
	return false;
}

void sq_engine_get_stats(struct sq_engine *e, struct sq_engine_stats *st)
{
	uv_mutex_lock(&e->mu);
	st->threads = e->nthreads;
	st->busy = e->busy;
	st->stuck = e->stuck;
	st->queued = e->queued;
	st->queued_bytes = e->queued_bytes;
	st->jobs = e->jobs;
	st->refused = e->refused;
	st->cancelled = e->cancelled;
	uv_mutex_unlock(&e->mu);
}

size_t sq_engine_get_uids(struct sq_engine *e, struct sq_engine_uid *out, size_t max)
{
	size_t n = 0;
	uv_mutex_lock(&e->mu);
	for (struct sq_share *sh = e->shares; sh; sh = sh->next_all) {
		if (sh->running == 0 && sh->queued == 0)
			continue;
		if (n < max)
			out[n] = (struct sq_engine_uid){ sh->uid, sh->kind, sh->running, sh->stuck,
			                                 sh->queued, sh->queued_bytes };
		n++;
	}
	uv_mutex_unlock(&e->mu);
	return n;
}
