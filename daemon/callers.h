/*
 * callers.h - the as-caller worker pool: a few threads that run nothing but
 * SQ_RUN_POOL + SQ_ACCESS_AS_CALLER requests, each keeping its last caller's
 * identity while the next request comes from the same (sq_ident_become),
 * idle or not: only the effective ids are the caller's, so the caller
 * cannot signal such a thread (lib/ident_linux.c).  The loop queues
 * requests in one FIFO; results come back in batches.
 */
#ifndef SQ_CALLERS_H
#define SQ_CALLERS_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

struct sq_req;

/* Threads, started on the first request.  As many as libuv's default pool:
 * a call stuck in the kernel (a dead NFS or FUSE server) holds one. */
#define SQ_CALLER_THREADS 4
/* Submitted requests are handed over at the latest when this many wait. */
#define SQ_CALLER_BATCH 16

struct sq_callers {
	uv_loop_t *loop;
	uv_async_t done_async;       /* a thread has finished requests */
	uv_mutex_t mu;
	uv_cond_t cv;                /* work queued, or stop */
	/* under mu */
	struct sq_req *head, *tail;  /* waiting to run */
	struct sq_req *done_head, *done_tail; /* finished, for the loop */
	unsigned idle;               /* threads waiting on cv */
	bool stop;                   /* threads exit */
	bool async_closed;           /* no thread may touch done_async */
	/* loop thread only */
	struct sq_req *batch_head, *batch_tail; /* submitted, not yet handed over */
	unsigned batch_n;
	bool ready;                  /* mu, cv and done_async exist */
	bool closing;                /* close done_async once nothing is out */
	uint64_t outstanding;        /* queued or running or finished, not yet done */
	unsigned nthreads;
	uv_thread_t threads[SQ_CALLER_THREADS];
};

/* On the loop thread, when the server is set up (starts no thread). */
int sq_callers_init(struct sq_callers *p, uv_loop_t *loop);
/* Queue r (an as-caller pool request) from the loop: 0, or a negative errno
 * (no thread could be started).  Its reply goes out with sq_req_done.  The
 * threads see it at the next sq_callers_flush (or once a batch is full). */
int sq_callers_submit(struct sq_callers *p, struct sq_req *r);
/* Hand what was submitted to the threads: one lock, one wakeup per idle
 * thread needed (the read path calls it after each batch of frames). */
void sq_callers_flush(struct sq_callers *p);
/* The server is stopping: let the loop end once nothing is outstanding. */
void sq_callers_close(struct sq_callers *p);
/* After the loop has ended: stop and join the threads. */
void sq_callers_free(struct sq_callers *p);

#endif
