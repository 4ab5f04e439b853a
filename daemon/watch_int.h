/* SPDX-License-Identifier: ISC */
/*
 * watch_int.h - the watcher's insides shared by its two files: watcher.c
 * (subscriptions, delivery, mounts, interfaces, pid watchers) and
 * watch_proc.c (process events from the kernel's one source).  Loop
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
};
struct wpend {
	pid_t pid;
	struct sq_exit_status st;
};

struct qent {
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
	struct qent **q;                 /* ring of SQ_WATCH_QUEUE frames */
	size_t qhead, qn;
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
};

/* Deliver one event (body: nkeys packed pairs) to s, or hold or count it. */
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
