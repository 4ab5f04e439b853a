/* SPDX-License-Identifier: ISC */
/*
 * watch_deliver.c - how a watch event reaches its subscriptions: packed
 * once as a shared frame (struct wframe: all of the notification but the
 * subscription id), written to each connection after that subscription's
 * own head, or held by reference in its bounded queue while the connection's
 * output is backed up, or counted as dropped when the queue is full.  So
 * an event that a thousand slow subscriptions hold costs one frame and 4
 * bytes each: a queue holds the frame's slot in the watcher's table of
 * live frames, not a pointer.  Also the counters sys.stats reports (sq_watcher_get_stats).
 * Loop thread only.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"
#include "watch_int.h"
#include "watcher.h"

#define QUEUE_FIRST 16                   /* a queue's first ring; doubles to SQ_WATCH_QUEUE */
#define HEAD_MAX 48                      /* [2, "watch.event", [{..., "subscription": id */

/* ---- frames ---------------------------------------------------------------- */

/* A slot for f in wr->frames: 0, or -ENOMEM.  Free slots chain through
 * the table itself (a free slot's entry holds the next free index). */
static int take_slot(struct sq_watcher *wr, struct wframe *f)
{
	if (wr->free_slot == wr->nframes) {
		if (wr->nframes >= UINT32_MAX / 2)
			return -ENOMEM;
		uint32_t n = wr->nframes ? 2 * wr->nframes : 64;
		struct wframe **t = realloc(wr->frames, n * sizeof(*t));
		if (!t)
			return -ENOMEM;
		for (uint32_t i = wr->nframes; i < n; i++)
			t[i] = (struct wframe *)(uintptr_t)(i + 1);
		wr->frames = t;
		wr->nframes = n;
	}
	f->slot = wr->free_slot;
	wr->free_slot = (uint32_t)(uintptr_t)wr->frames[f->slot];
	wr->frames[f->slot] = f;
	return 0;
}

struct wframe *sq_wframe_new(struct sq_watcher *wr, const char *topic,
                             const struct sq_buf *body, uint32_t nkeys)
{
	struct sq_buf b;
	msgpack_packer pk;
	sq_buf_init(&b);
	sq_packer_init(&pk, &b);
	sq_pack_kv_str(&pk, "topic", topic);
	size_t blen = body ? body->len : 0;
	struct wframe *f = b.data ? malloc(sizeof(*f) + b.len + blen) : NULL;
	if (f && take_slot(wr, f) < 0) {
		free(f);
		f = NULL;
	}
	if (f) {
		f->refs = 1;
		f->nkeys = nkeys + 1;
		f->proc = strncmp(topic, "proc.", 5) == 0;
		f->len = b.len + blen;
		memcpy(f->data, b.data, b.len);
		if (blen)
			memcpy(f->data + b.len, body->data, blen);
		wr->held_frames++;
		wr->held_bytes += sizeof(*f) + f->len;
	}
	sq_buf_free(&b);
	return f;
}

void sq_wframe_put(struct sq_watcher *wr, struct wframe *f)
{
	if (!f || --f->refs)
		return;
	wr->held_frames--;
	wr->held_bytes -= sizeof(*f) + f->len;
	wr->frames[f->slot] = (struct wframe *)(uintptr_t)wr->free_slot;
	wr->free_slot = f->slot;
	free(f);
}

/* ---- writing ----------------------------------------------------------------- */

/* Queued output above which events wait in the subscription's queue. */
static size_t hold_mark(const struct sq_conn *c)
{
	size_t m = sq_conn_server(c)->cfg.max_output / 4;
	return m > (256u << 10) ? (256u << 10) : m;
}

/* Held events wait for the connection's output to drain: the server calls
 * sq_watch_output_drained when it has written everything.  A flush is
 * asked for, so that an output empty already says so too. */
static void drain_later(struct wsub *s)
{
	sq_conn_queued_in_place(s->conn);
}

/* s's head, then f: [2, "watch.event", [{"subscription": id, <f>}]],
 * packed straight into the connection's output.  0, or -ENOMEM with
 * nothing written. */
static int write_frame(struct wsub *s, const struct wframe *f)
{
	struct sq_buf *out = sq_conn_out(s->conn);
	if (sq_buf_reserve(out, HEAD_MAX + f->len) < 0)
		return -ENOMEM;
	msgpack_packer pk;
	sq_packer_init(&pk, out); /* within the reserve: cannot fail */
	sq_pack_notify_head(&pk, "watch.event");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, f->nkeys + 1);
	sq_pack_kv_u64(&pk, "subscription", s->id);
	memcpy(out->data + out->len, f->data, f->len);
	out->len += f->len;
	if (f->proc)
		s->wr->pst.delivered++;
	sq_conn_queued_in_place(s->conn);
	return 0;
}

static void count_dropped(struct wsub *s, const struct wframe *f, bool full)
{
	s->dropped++;
	if (f && f->proc) {
		if (full)
			s->wr->pst.dropped_full++;
		else
			s->wr->pst.dropped_memory++;
	}
}

/* Room in s's ring for one more frame: 0, or -ENOMEM. */
static int queue_room(struct wsub *s)
{
	if (s->qn < s->qcap)
		return 0;
	size_t cap = s->qcap ? 2 * s->qcap : QUEUE_FIRST;
	if (cap > SQ_WATCH_QUEUE)
		cap = SQ_WATCH_QUEUE;
	uint32_t *q = malloc(cap * sizeof(*q));
	if (!q)
		return -ENOMEM;
	for (size_t i = 0; i < s->qn; i++)
		q[i] = s->q[(s->qhead + i) % s->qcap];
	free(s->q);
	s->wr->held_bytes += (cap - s->qcap) * sizeof(*q);
	s->q = q;
	s->qcap = cap;
	s->qhead = 0;
	return 0;
}

void sq_wsub_send(struct wsub *s, struct wframe *f)
{
	if (s->dead || sq_conn_closing(s->conn))
		return;
	if (!s->qn && sq_conn_pending(s->conn) < hold_mark(s->conn)) {
		if (write_frame(s, f) < 0) {
			count_dropped(s, f, false);
			drain_later(s);
		}
		return;
	}
	if (s->qn == SQ_WATCH_QUEUE) {
		count_dropped(s, f, true);
		return;
	}
	if (queue_room(s) < 0) {
		count_dropped(s, f, false);
		drain_later(s);
		return;
	}
	f->refs++;
	s->q[(s->qhead + s->qn++) % s->qcap] = f->slot;
	s->wr->held_events++;
	drain_later(s);
}

void sq_wsub_lost(struct wsub *s, bool proc)
{
	if (s->dead || sq_conn_closing(s->conn))
		return;
	s->dropped++;
	if (proc)
		s->wr->pst.dropped_memory++;
	drain_later(s);
}

void sq_wsub_deliver(struct wsub *s, const char *topic, const struct sq_buf *body,
                     uint32_t nkeys)
{
	struct sq_watcher *wr = s->wr; /* s may go during the send: it is a walk's */
	if (s->dead || sq_conn_closing(s->conn))
		return;
	struct wframe *f = sq_wframe_new(wr, topic, body, nkeys);
	if (!f) {
		sq_wsub_lost(s, strncmp(topic, "proc.", 5) == 0);
		return;
	}
	sq_wsub_send(s, f);
	sq_wframe_put(wr, f);
}

void sq_wsub_queue_free(struct wsub *s)
{
	struct sq_watcher *wr = s->wr;
	for (size_t i = 0; i < s->qn; i++) {
		struct wframe *f = wr->frames[s->q[(s->qhead + i) % s->qcap]];
		if (f->proc)
			wr->pst.discarded++;
		sq_wframe_put(wr, f);
	}
	wr->held_events -= s->qn;
	wr->held_bytes -= s->qcap * sizeof(*s->q);
	free(s->q);
	s->q = NULL;
	s->qn = s->qcap = s->qhead = 0;
}

/* Move s's held events out while its connection's output stays under the
 * hold mark; then say how many did not fit. */
static void drain_sub(struct wsub *s)
{
	struct sq_conn *c = s->conn;
	struct sq_watcher *wr = s->wr;
	if (s->dead || (!s->qn && !s->dropped))
		return;
	while (s->qn && !sq_conn_closing(c) && sq_conn_pending(c) < hold_mark(c)) {
		struct wframe *f = wr->frames[s->q[s->qhead]];
		if (write_frame(s, f) < 0)
			break; /* out of memory: it stays held; the next drain tries again */
		s->qhead = (s->qhead + 1) % s->qcap;
		s->qn--;
		wr->held_events--;
		sq_wframe_put(wr, f);
	}
	if (!s->qn && s->q) {
		wr->held_bytes -= s->qcap * sizeof(*s->q); /* an idle queue holds no ring */
		free(s->q);
		s->q = NULL;
		s->qcap = s->qhead = 0;
	}
	if (s->qn || !s->dropped || sq_conn_closing(c) || sq_conn_pending(c) >= hold_mark(c))
		return;
	struct sq_buf body;
	msgpack_packer pk;
	sq_buf_init(&body);
	sq_packer_init(&pk, &body);
	sq_pack_kv_u64(&pk, "count", s->dropped);
	struct wframe *f = sq_wframe_new(wr, "dropped", &body, 1);
	if (f && write_frame(s, f) == 0) {
		sq_log(SQ_LOG_INFO, "connection #%llu: subscription %llu dropped %llu "
		       "events (the client reads too slowly)",
		       (unsigned long long)sq_conn_id(c), (unsigned long long)s->id,
		       (unsigned long long)s->dropped);
		s->dropped = 0;
	}
	sq_wframe_put(wr, f);
	sq_buf_free(&body);
}

void sq_watch_output_drained(struct sq_conn *c)
{
	struct sq_watcher *wr = sq_conn_server(c)->watcher;
	sq_watcher_walk_begin(wr);
	for (struct wsub *s = sq_conn_watch(c); s; s = s->cnext)
		drain_sub(s);
	sq_watcher_walk_end(wr);
}

/* ---- counters ---------------------------------------------------------------- */

void sq_watcher_get_stats(const struct sq_watcher *wr, struct sq_watch_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!wr)
		return;
	for (const struct wsub *s = wr->subs; s; s = s->next) {
		if (s->dead)
			continue;
		st->subscriptions++;
		for (unsigned i = 0; i < 5; i++)
			st->topics[i] += (s->topics >> i) & 1;
	}
	st->held_events = wr->held_events;
	st->held_frames = wr->held_frames;
	st->held_bytes = wr->held_bytes;
	st->proc_source = wr->proc != NULL;
	st->proc = wr->pst;
}
