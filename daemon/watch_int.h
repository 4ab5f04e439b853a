/* SPDX-License-Identifier: ISC */
/*
 * watch_int.h - the watcher's insides shared by its two files: watcher.c
 * (subscriptions, mounts, interfaces, pid watchers), watch_deliver.c
 * (shared event frames, each subscription's bounded queue, the counters)
 * and watch_proc.c (process events from the kernel's one source).  Loop
 * thread only.
 */
#ifndef SQ_WATCH_INT_H
#define SQ_WATCH_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "sq_proto.h"
#include "sq_peer.h"
#include "watcher.h"

#define PID_BUCKETS 1024

struct wpid;
struct msrc;
struct nsrc;
struct psrc;

/* A subscription's process events served by the connector source. */
struct wproc {
	bool on;                         /* holds a reference on the source */
	struct sq_cred cred;             /* the subscriber (groups copied) */
	bool listed;                     /* pids were named: only those */
	pid_t *pids;                     /* sorted, those not exited yet */
	size_t npids;
	struct sq_watch_filter f;
	struct wpend *pend;              /* exits to tell once subscribed */
	size_t npend;
	struct wsub *inext, **iprev;     /* in the source's index (watch_proc.c) */
};
struct wpend {
	pid_t pid;
	struct sq_exit_status st;
};

/* An event's notification but for its subscription id: `"topic": T` and
 * the body's pairs, packed once however many subscriptions it goes to,
 * and held by reference in each queue it waits in.  What a subscription
 * writes is its own small head (watch_deliver.c, write_frame) then these
 * bytes: the same notification as if packed for it alone. */
struct wframe {
	uint32_t refs;
	uint32_t nkeys;                  /* pairs in data */
	uint32_t slot;                   /* in the watcher's frames: what queues hold */
	bool proc;                       /* a proc.* event (counted as such) */
	size_t len;
	char data[];
};

struct wsub {
	struct sq_watcher *wr;
	struct wsub *prev, *next;        /* every subscription */
	struct wsub *cnext;              /* the connection's */
	struct sq_conn *conn;
	uint64_t id;
	unsigned topics;
	bool dead;                       /* its connection closed during a walk */
	struct wpid **pids;
	size_t npids;
	uint32_t *q;                     /* ring of held frames' slots, up to SQ_WATCH_QUEUE */
	size_t qcap, qhead, qn;
	uint64_t dropped;
	struct wproc proc;               /* its process events (watch_proc.c) */
};

struct sq_watcher {
	uv_loop_t *loop;
	struct sq_engine *engine;
	struct wsub *subs;
	uint64_t next_id;
	struct msrc *mounts;
	struct nsrc *net;
	int walking;                     /* > 0 while the list is walked */
	bool reap;                       /* dead subscriptions to free */
	struct wpid *pids[PID_BUCKETS];  /* watched pids, by pid */
	uint64_t npids;
	struct psrc *proc;               /* the process events (watch_proc.c) */
	uint64_t proc_exits;             /* exits it told, over every source */
	bool proc_off;                   /* --no-proc-events */
	int proc_rcvbuf;                 /* --proc-events-buffer */
	/* what is held in queues now (watch_deliver.c) */
	uint64_t held_events, held_frames, held_bytes;
	struct wframe **frames;          /* live frames by slot (a queue entry is 4 bytes) */
	uint32_t nframes, free_slot;     /* slots made; first free one (a chain), or nframes */
	struct sq_watch_proc_stats pst;  /* since start, for sys.stats */
};

/* A frame for topic with body's nkeys pairs, one reference held by the
 * caller; NULL when out of memory. */
struct wframe *sq_wframe_new(struct sq_watcher *wr, const char *topic,
                             const struct sq_buf *body, uint32_t nkeys);
void sq_wframe_put(struct sq_watcher *wr, struct wframe *f);
/* Deliver frame f to s: written to its connection, held in its queue (a
 * reference taken), or counted as dropped. */
void sq_wsub_send(struct wsub *s, struct wframe *f);
/* An event for s was lost (out of memory): counted as dropped. */
void sq_wsub_lost(struct wsub *s, bool proc);
/* s goes: its held frames are let go (counted as discarded). */
void sq_wsub_queue_free(struct wsub *s);

/* Deliver one event (body: nkeys packed pairs) to s alone, or hold or
 * count it (a frame of its own: for events one subscription gets). */
void sq_wsub_deliver(struct wsub *s, const char *topic, const struct sq_buf *body,
                     uint32_t nkeys);
/* Bracket a walk of the subscriptions: one freed meanwhile waits for the end. */
void sq_watcher_walk_begin(struct sq_watcher *wr);
void sq_watcher_walk_end(struct sq_watcher *wr);

/* watch_proc.c: the exits the source has told so far (0 without one). */
uint64_t sq_wproc_seq(const struct sq_watcher *wr);
/* watch_proc.c: open the source from p (or take a reference on the one
 * open); 0, or -EAGAIN when it closed meanwhile, -ENOMEM. */
int sq_wproc_take(struct sq_watcher *wr, struct sq_watch_prep *p);
/* Start s's process events from p (after sq_wproc_take); events of its
 * listed pids that came before are told now.  0 or -ENOMEM. */
int sq_wproc_start(struct wsub *s, struct sq_watch_prep *p);
/* s goes: drop its reference and what it holds. */
void sq_wproc_stop(struct wsub *s);

#endif
