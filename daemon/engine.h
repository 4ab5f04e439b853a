/* SPDX-License-Identifier: ISC */
/*
 * engine.h - the one worker engine: every piece of work that may block
 * (a request's handler, a transfer's chunk, a probe) is a job on it.  The
 * engine owns the threads, the job queues, the per-uid accounting and the
 * completion back to the loop, as libuv owns its one threadpool; unlike
 * that pool, no uid can take it from the others.
 *
 * Each job is charged to a uid and is of a kind.  A (uid, kind) pair runs
 * at most its share of jobs at once (SQ_ENGINE_SHARE, more for root); its
 * further jobs wait in its own queue, up to SQ_ENGINE_QUEUED jobs and
 * SQ_ENGINE_QUEUED_BYTES bytes of what they hold, then submit says EAGAIN.
 * Queues are served round-robin, so one uid's backlog never delays another
 * uid's next job.  Threads are started as work needs them, one more
 * whenever a job could run under its share and no thread is idle, up to
 * SQ_ENGINE_MAX_THREADS; a job running longer than SQ_ENGINE_STUCK_MS is
 * counted as stuck (a hung mount): its thread stays with it, its uid's
 * share stays charged, and nobody else waits for it.
 *
 * Identity is the engine's job: a job with `as` set runs with that
 * caller's identity (the thread keeps it for the caller's next job), one
 * without runs as sysqd.  Threads start with every signal blocked.
 * All calls but the job's run function are made on the loop thread.
 */
#ifndef SQ_ENGINE_H
#define SQ_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "sq_peer.h"

#define SQ_ENGINE_THREADS      4      /* kept when idle */
#define SQ_ENGINE_MAX_THREADS  64     /* with every stuck one */
#define SQ_ENGINE_SHARE        4      /* jobs of one uid and kind at once */
#define SQ_ENGINE_ROOT_SHARE   8      /* ... for uid 0 */
#define SQ_ENGINE_PROBE_SHARE  32     /* sysqd's own mount probes: one per hung mount
                                       * (prober.h caps them the same) */
#define SQ_ENGINE_QUEUED       1024   /* jobs of one uid and kind waiting */
#define SQ_ENGINE_QUEUED_BYTES (16u << 20) /* what they hold (request frames) */
#define SQ_ENGINE_STUCK_MS     1000   /* one run this long: stuck */
#define SQ_ENGINE_IDLE_MS      5000   /* an idle thread above SQ_ENGINE_THREADS ends */

enum sq_job_kind {
	SQ_JOB_REQUEST,  /* a request's handler, or its blocking part */
	SQ_JOB_CHUNK,    /* one chunk of a file transfer */
	SQ_JOB_PROBE,    /* a mount or path probe */
	SQ_JOB_KINDS
};

struct sq_job;
struct sq_share;

struct sq_job {
	void (*run)(struct sq_job *j);             /* on a worker thread */
	void (*done)(struct sq_job *j, int status); /* on the loop: 0, -ECANCELED
	                                             * (never ran: stopping), or the
	                                             * error of taking `as` */
	const struct sq_cred *as;   /* run as this caller; NULL: as sysqd */
	/* set (by the loop) once nobody waits for the result (the caller hung
	 * up): a job not started by then is not run, and done gets -ECANCELED;
	 * NULL: always run */
	const atomic_bool *abandoned;
	uid_t uid;                  /* charged to */
	bool large;                 /* root's share (the policy's large-shares) */
	enum sq_job_kind kind;
	size_t bytes;               /* held while queued */
	/* the engine's */
	struct sq_job *next;
	struct sq_share *share;
	uint64_t started_ms;
	int status;
	bool stuck;
};

struct sq_engine_stats {
	uint64_t threads;        /* started and not ended */
	uint64_t busy;           /* running a job */
	uint64_t stuck;          /* of which stuck */
	uint64_t queued;         /* jobs waiting */
	uint64_t queued_bytes;
	uint64_t jobs;           /* run since start */
	uint64_t refused;        /* EAGAIN: a uid's queue was full */
	uint64_t cancelled;      /* taken but not run: abandoned (of jobs) */
};

/* One uid's use, for sys.stats. */
struct sq_engine_uid {
	uid_t uid;
	enum sq_job_kind kind;
	unsigned running, stuck, queued;
	size_t queued_bytes;
};

struct sq_engine;

int sq_engine_init(struct sq_engine **out, uv_loop_t *loop);
/* Queue j.  0, or -EAGAIN when j's uid has its queue full, -ECANCELED
 * once the engine stops (j is then not taken: its done is not called). */
int sq_engine_submit(struct sq_engine *e, struct sq_job *j);
/* The same in a batch: j is kept on the loop, without a lock, until
 * sq_engine_flush queues the batch and wakes as many threads as can take
 * its jobs, in one go; a job its uid's queue has no room for then ends
 * with done(j, -EAGAIN). */
int sq_engine_submit_batch(struct sq_engine *e, struct sq_job *j);
void sq_engine_flush(struct sq_engine *e);
/* Queue a job of sysqd's own (as sysqd, charged to uid 0): 0 or as
 * sq_engine_submit. */
int sq_engine_submit_own(struct sq_engine *e, struct sq_job *j, void (*run)(struct sq_job *),
                         void (*done)(struct sq_job *, int));
/* Why a job of uid's did not run (its done's status < 0), for a message:
 * the daemon stops (-ECANCELED), uid's queue is full (-EAGAIN), or the
 * engine could not take the caller's identity.  Returns buf. */
const char *sq_job_not_run_text(char *buf, size_t size, uid_t uid, int status);
/* Stop taking jobs; those still queued end with -ECANCELED.  Running
 * ones finish as they do. */
void sq_engine_stop(struct sq_engine *e);
/* After the loop ended: ends the idle threads.  A thread still in a job
 * (stuck in the kernel) is left to the process's exit: then the engine is
 * not freed (the thread uses it) and this returns true. */
bool sq_engine_free(struct sq_engine *e);
void sq_engine_get_stats(struct sq_engine *e, struct sq_engine_stats *st);
/* Up to max uids with work running or queued; how many there are. */
size_t sq_engine_get_uids(struct sq_engine *e, struct sq_engine_uid *out, size_t max);
/* The share of a uid for a kind of job (root gets more). */
unsigned sq_engine_share(uid_t uid, enum sq_job_kind kind, bool large);

#endif
