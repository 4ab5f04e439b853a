/* SPDX-License-Identifier: ISC */
/*
 * watcher.h - the subscription engine behind watch.subscribe: event sources
 * on the loop (shared mount and interface watchers, the one process-events
 * source, and one watcher per watched pid where that source is missing),
 * subscriptions owned by their connection, and delivery with a bounded
 * queue per subscription for clients that read slowly.
 *
 * The server owns the one watcher (struct sq_server's watcher), made at
 * setup; the calls on a connection reach it through sq_conn_server(c).
 */
#ifndef SQ_WATCH_ENGINE_H
#define SQ_WATCH_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "fdshare.h"
#include "sq_peer.h"
#include "sq_watch.h"

struct sq_procev_src;

struct sq_conn;
struct sq_engine;
struct sq_watcher;

enum {
	SQ_TOPIC_MOUNTS = 1u << 0,
	SQ_TOPIC_NET    = 1u << 1,
	SQ_TOPIC_PROC   = 1u << 2,   /* proc.exit */
	SQ_TOPIC_FORK   = 1u << 3,   /* proc.fork */
	SQ_TOPIC_EXEC   = 1u << 4,   /* proc.exec */
};
#define SQ_TOPICS_PROC (SQ_TOPIC_PROC | SQ_TOPIC_FORK | SQ_TOPIC_EXEC)
#define SQ_WATCH_MAX_PIDS 1024   /* pids per subscription */
#define SQ_WATCH_MAX_SUBS 64     /* subscriptions per connection */
#define SQ_WATCH_QUEUE 1024      /* events held per subscription */
#define SQ_WATCH_REAP_GRACE_MS 50 /* wait this long for a reap to learn the status */
#define SQ_WATCH_VIS_MS 1000     /* /proc's hidepid= is re-read at most this often */

/* The process events' filters (watch.subscribe's uid, ppid, comm). */
struct sq_watch_filter {
	bool has_uid, has_ppid;
	uid_t uid;
	pid_t ppid;
	size_t comm_len;                 /* 0: no comm filter */
	char comm[64];
};

/* What a subscription needs opened, prepared on a worker thread: the
 * shared sources when none is open yet, and one descriptor per pid. */
struct sq_watch_prep {
	unsigned topics;
	bool open_mounts, open_net;      /* decided on the loop */
	bool open_proc;                  /* the process-events source, as the daemon */
	uint64_t proc_seq;               /* its exits told by then */
	int proc_rcvbuf;
	struct sq_procev_src *proc_src;
	int proc_fd, proc_how;
	bool pidfds;                     /* listed pids by pidfd (no such source) */
	bool *zombie;                    /* per pid: exited already, at the check */
	struct sq_watch_filter filter;
	struct sq_cred cred;             /* the caller (groups copied) */
	int mounts_fd, mounts_how;
	struct sq_mount_table *table;
	struct sq_netw net;
	int net_how;
	size_t npids;
	pid_t *pids;
	int *pid_fds;
	int pid_how;
	struct sq_fdshare *fds;          /* npids descriptors charged to uid there, */
	uid_t uid;                       /* until each moves to its watcher */
	uint64_t charged;
	int rc;                          /* the first failure */
	char msg[200];
};

/* The process events' counters since start (sys.stats watch.proc). */
struct sq_watch_proc_stats {
	uint64_t read;                   /* events read from the kernel's source */
	uint64_t gaps;                   /* the kernel dropped events (a gap told) */
	uint64_t delivered;              /* proc.* events written to a subscriber */
	uint64_t dropped_full;           /* counted, not kept: the queue was full */
	uint64_t dropped_memory;         /* counted, not kept: out of memory */
	uint64_t discarded;              /* held when their subscription ended */
};
/* The watcher now, for sys.stats. */
struct sq_watch_stats {
	uint64_t subscriptions;
	uint64_t topics[5];              /* by topic bit: mounts, interfaces,
	                                    proc.exit, proc.fork, proc.exec */
	uint64_t held_events;            /* waiting in the queues, all of them */
	uint64_t held_frames;            /* distinct frames they share */
	uint64_t held_bytes;             /* those frames and the queues' rings */
	bool proc_source;                /* the kernel's source is open */
	struct sq_watch_proc_stats proc;
};
/* Loop: wr's counters into *st (zeros without a watcher). */
void sq_watcher_get_stats(const struct sq_watcher *wr, struct sq_watch_stats *st);

/* Loop: the watcher of loop, whose re-reads are jobs of engine; NULL when
 * out of memory. */
struct sq_watcher *sq_watcher_new(uv_loop_t *loop, struct sq_engine *engine);
/* Process events: off (only pidfds, --no-proc-events), and the kernel
 * buffer of their source in bytes (0: the default). */
void sq_watcher_proc_config(struct sq_watcher *wr, bool off, int rcvbuf);
/* After the loop ended (every connection closed, so the watcher holds no
 * subscription, source or pid watcher any more). */
void sq_watcher_free(struct sq_watcher *wr);

/* Loop: a prep for topics (and pids, copied; the filter and the caller's
 * credentials too) on wr, with open_* filled in and, when proc.* events
 * need the process-events source and none is open, that source opened (as
 * sysqd); NULL when out of memory (or without a watcher). */
struct sq_watch_prep *sq_watch_prep_new(struct sq_watcher *wr, unsigned topics,
                                        const pid_t *pids, size_t npids,
                                        const struct sq_watch_filter *f,
                                        const struct sq_cred *caller);
/* Whether listed pids of this prep need a pidfd each (no process-events
 * source: --no-proc-events, or sysqd could not open it). */
bool sq_watch_prep_may_need_pidfds(const struct sq_watch_prep *p);
/* Worker, as the daemon: open the shared sources and read their state. */
/* Charge the descriptors its pids may need to uid (fdshare.h): 0 or -EMFILE.
 * Those the subscription does not keep go back when it is made or freed. */
int sq_watch_prep_charge(struct sq_watch_prep *p, struct sq_fdshare *fds, uid_t uid,
                         bool large);
void sq_watch_prep_sources(struct sq_watch_prep *p);
/* Worker, as the caller: check every pid may be seen; open a watcher for
 * each when there is no process-events source. */
void sq_watch_prep_pids(struct sq_watch_prep *p);
/* Close and free whatever p still holds. */
void sq_watch_prep_free(struct sq_watch_prep *p);

/* Loop: subscriptions on c now. */
unsigned sq_watch_count(const struct sq_conn *c);
/* Loop: turn p (consumed) into a subscription of c.  0 with *id, or
 * -EMFILE when c has SQ_WATCH_MAX_SUBS already. */
int sq_watch_subscribe(struct sq_conn *c, struct sq_watch_prep *p, uint64_t *id);
/* Loop: 0, or -ENOENT when c has no subscription id. */
int sq_watch_unsubscribe(struct sq_conn *c, uint64_t id);
/* Loop, from the server when c closes: drop its subscriptions. */
void sq_watch_conn_closed(struct sq_conn *c);
/* The server wrote all of c's output: held events of its subscriptions
 * move on (server.c calls it; loop thread). */
void sq_watch_output_drained(struct sq_conn *c);

#endif
