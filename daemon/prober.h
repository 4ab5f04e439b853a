/* SPDX-License-Identifier: ISC */
/*
 * prober.h - the mount watchdog: statfs and path lookups, which a hung NFS
 * server or FUSE daemon can block forever, run as jobs of the worker engine
 * (never on the loop), with a deadline per request.
 *
 * At most one probe per mount is under way at a time, whoever asks; a probe
 * that outlived a deadline marks its mount "stale", and later requests get
 * that answer at once instead of a new worker.  Workers are capped
 * (SQ_PROBER_MAX_THREADS); a stuck one ends when its call returns.
 *
 * The server owns the one prober (struct sq_server's prober): made at
 * setup, stopped with the engine, freed after the loop.  All calls but
 * the workers' own are made on the loop thread.
 */
#ifndef SQ_PROBER_H
#define SQ_PROBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "sq_fs.h"
#include "sq_peer.h"

#define SQ_PROBER_MAX_THREADS 32   /* workers at once */
#define SQ_PROBER_NUDGE_MS    10   /* a worker this long in one call gets a helper */
#define SQ_PROBER_PATH_MAX    16   /* fs.stat lookups under way, all callers */
#define SQ_PROBER_PATH_PER_UID 4   /* ... and per caller uid */

enum sq_probe_state { SQ_PROBE_OK, SQ_PROBE_STALE, SQ_PROBE_ERROR };

/* One file system in an answer. */
struct sq_probe_item {
	const struct sq_mount *mount;  /* in the answer's table (NULL: not found) */
	enum sq_probe_state state;
	int err;                       /* negative errno unless SQ_PROBE_OK */
	struct sq_fs_usage usage;      /* valid when SQ_PROBE_OK */
};

struct sq_prober;
struct sq_scan;
struct sq_engine;

/* The prober of loop, whose workers are jobs of engine; NULL when out of
 * memory. */
struct sq_prober *sq_prober_new(uv_loop_t *loop, struct sq_engine *engine);
/* The server stops: no new scans (they fail with -ECANCELED); scans under
 * way are answered as usual, and after the last one the prober's handle
 * closes. */
void sq_prober_stop(struct sq_prober *pr);
/* After the loop ended and sq_engine_free: frees pr, or, while a job of
 * its own is still out (a thread stuck in the kernel may still lock it),
 * leaves it to the process's end and returns true, as sq_engine_free. */
bool sq_prober_free(struct sq_prober *pr);

/* Called once, on the loop, when every probe answered or the deadline
 * passed.  The scan is freed after it returns: keep no pointers into it. */
typedef void (*sq_scan_fn)(struct sq_scan *s, void *arg);

/* Every mount (pseudo file systems only when all), each statfs'd.
 * 0: fn will be called; or a negative errno (fn will not be). */
int sq_prober_list(struct sq_prober *pr, bool all, uint64_t timeout_ms,
                   sq_scan_fn fn, void *arg);
/* The file system holding path, looked up with cred's identity (one item).
 * cred and path are copied. */
int sq_prober_stat(struct sq_prober *pr, const struct sq_cred *cred, const char *path,
                   uint64_t timeout_ms, sq_scan_fn fn, void *arg);

/* In fn: a failure of the whole request (0 if none) with a message. */
int sq_scan_error(const struct sq_scan *s, const char **message);
size_t sq_scan_count(const struct sq_scan *s);
const struct sq_probe_item *sq_scan_item(const struct sq_scan *s, size_t i);

/* For sys.stats, on the loop: prober workers at work (probing, waiting for
 * an engine thread, or stuck in a call), and mounts whose probe outlived a
 * deadline and has not returned yet. */
void sq_prober_stats(struct sq_prober *pr, uint64_t *threads, uint64_t *stale_mounts);

#endif
