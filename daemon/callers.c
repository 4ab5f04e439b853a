/*
 * callers.c - the as-caller worker pool (callers.h).  Kept apart from
 * libuv's shared pool so that a thread keeping a caller's identity can only
 * ever run another caller's request: submit refuses anything else, and a
 * different caller means the whole way back to sysqd and into the new one.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callers.h"
#include "log.h"
#include "request.h"
#include "sq_ident.h"

static bool as_caller_pool(const struct sq_req *r)
{
	return r->m->run == SQ_RUN_POOL && r->m->access == SQ_ACCESS_AS_CALLER;
}

/* On a pool thread: the handler, as the caller. */
static void run_one(struct sq_req *r)
{
	if (!as_caller_pool(r))
		abort(); /* unreachable: submit checked it */
	int rc = sq_ident_become(r->cred);
	if (rc < 0) {
		r->rc = sq_req_fail(r, rc, "cannot act as uid %u: %s", (unsigned)r->cred->uid,
		                    strerror(-rc));
		return;
	}
	r->rc = r->m->fn(r);
}

static void worker(void *arg)
{
	struct sq_callers *p = arg;
	uv_mutex_lock(&p->mu);
	for (;;) {
		struct sq_req *r = p->head;
		if (!r) {
			if (p->stop)
				break;
			p->idle++;
			uv_cond_wait(&p->cv, &p->mu);
			p->idle--;
			continue;
		}
		p->head = r->pool_next;
		if (!p->head)
			p->tail = NULL;
		uv_mutex_unlock(&p->mu);

		run_one(r);

		uv_mutex_lock(&p->mu);
		r->pool_next = NULL;
		if (p->done_tail)
			p->done_tail->pool_next = r;
		else
			p->done_head = r;
		p->done_tail = r;
		/* under mu, so the loop cannot have closed it (libuv coalesces:
		 * only the first send before the loop drains writes anything) */
		if (!p->async_closed)
			uv_async_send(&p->done_async);
	}
	uv_mutex_unlock(&p->mu);
	sq_ident_drop();
}

static void close_if_done(struct sq_callers *p)
{
	if (!p->closing || p->outstanding || !p->ready)
		return;
	uv_mutex_lock(&p->mu);
	bool closed = p->async_closed;
	p->async_closed = true;
	uv_mutex_unlock(&p->mu);
	if (!closed)
		uv_close((uv_handle_t *)&p->done_async, NULL);
}

/* On the loop: reply to everything the threads have finished. */
static void on_done(uv_async_t *h)
{
	struct sq_callers *p = h->data;
	uv_mutex_lock(&p->mu);
	struct sq_req *r = p->done_head;
	p->done_head = p->done_tail = NULL;
	uv_mutex_unlock(&p->mu);
	while (r) {
		struct sq_req *next = r->pool_next;
		p->outstanding--;
		sq_req_done(r, r->rc);
		r = next;
	}
	if (p->outstanding == 0) {
		uv_unref((uv_handle_t *)&p->done_async); /* nothing to wait for */
		close_if_done(p);
	}
}

int sq_callers_init(struct sq_callers *p, uv_loop_t *loop)
{
	memset(p, 0, sizeof(*p));
	p->loop = loop;
	if (uv_mutex_init(&p->mu) < 0)
		return -ENOMEM;
	if (uv_cond_init(&p->cv) < 0) {
		uv_mutex_destroy(&p->mu);
		return -ENOMEM;
	}
	int rc = uv_async_init(loop, &p->done_async, on_done);
	if (rc < 0) {
		uv_cond_destroy(&p->cv);
		uv_mutex_destroy(&p->mu);
		return rc;
	}
	p->done_async.data = p;
	uv_unref((uv_handle_t *)&p->done_async); /* referenced while work is out */
	p->ready = true;
	return 0;
}

/* Threads get every signal blocked: signals are the loop thread's. */
static void start_threads(struct sq_callers *p)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (p->nthreads < SQ_CALLER_THREADS) {
		int rc = uv_thread_create(&p->threads[p->nthreads], worker, p);
		if (rc < 0) {
			sq_log(SQ_LOG_WARN, "as-caller pool: thread %u of %u: %s", p->nthreads + 1,
			       SQ_CALLER_THREADS, uv_strerror(rc));
			break;
		}
		p->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int sq_callers_submit(struct sq_callers *p, struct sq_req *r)
{
	if (!as_caller_pool(r))
		abort(); /* only callers' requests may meet a kept identity */
	if (!p->ready || p->closing)
		return -EAGAIN;
	if (p->nthreads == 0)
		start_threads(p); /* the first time (again while none would start) */
	if (p->nthreads == 0)
		return -EAGAIN;
	if (p->outstanding++ == 0)
		uv_ref((uv_handle_t *)&p->done_async);
	r->pool_next = NULL;
	if (p->batch_tail)
		p->batch_tail->pool_next = r;
	else
		p->batch_head = r;
	p->batch_tail = r;
	if (++p->batch_n >= SQ_CALLER_BATCH)
		sq_callers_flush(p);
	return 0;
}

void sq_callers_flush(struct sq_callers *p)
{
	if (!p->batch_head)
		return;
	uv_mutex_lock(&p->mu);
	if (p->tail)
		p->tail->pool_next = p->batch_head;
	else
		p->head = p->batch_head;
	p->tail = p->batch_tail;
	/* a woken thread takes one request after another until none is left */
	unsigned wake = p->batch_n < p->idle ? p->batch_n : p->idle;
	if (wake && wake == p->idle)
		uv_cond_broadcast(&p->cv);
	else
		while (wake--)
			uv_cond_signal(&p->cv);
	uv_mutex_unlock(&p->mu);
	p->batch_head = p->batch_tail = NULL;
	p->batch_n = 0;
}

void sq_callers_close(struct sq_callers *p)
{
	p->closing = true;
	close_if_done(p);
}

void sq_callers_free(struct sq_callers *p)
{
	if (!p->ready)
		return;
	uv_mutex_lock(&p->mu);
	p->stop = true;
	uv_cond_broadcast(&p->cv);
	uv_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		uv_thread_join(&p->threads[i]);
	p->nthreads = 0;
	p->closing = true;
	p->outstanding = 0; /* the loop has ended: nothing is out any more */
	close_if_done(p);
	uv_cond_destroy(&p->cv);
	uv_mutex_destroy(&p->mu);
	p->ready = false;
}
