/* SPDX-License-Identifier: ISC */
/*
 * sq_proc.h - the process table: scan it, read one process, signal one.
 *
 * Plain C in, plain C structs out (proc_linux.c reads /proc, proc_darwin.c
 * uses sysctl kinfo_proc, KERN_PROCARGS2 and proc_pidinfo); portable helpers
 * (field names, pid lists, the buffer) live in proc.c.  Everything runs with
 * the calling thread's credentials, so what is visible is what the OS shows
 * it.
 */
#ifndef SQ_PROC_H
#define SQ_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sq_peer.h"

/* Field bits, in the order results list them.  pid is always filled. */
enum sq_proc_field {
	SQ_PROC_PID,
	SQ_PROC_PPID,
	SQ_PROC_PGID,
	SQ_PROC_SID,
	SQ_PROC_UID,
	SQ_PROC_EUID,
	SQ_PROC_GID,
	SQ_PROC_STATE,
	SQ_PROC_COMM,
	SQ_PROC_ARGS,
	SQ_PROC_EXE,
	SQ_PROC_START_TIME,
	SQ_PROC_CPU_USER,
	SQ_PROC_CPU_SYSTEM,
	SQ_PROC_RSS,
	SQ_PROC_VSIZE,
	SQ_PROC_THREADS,
	SQ_PROC_NICE,
	SQ_PROC_TTY,
	SQ_PROC_CPU_PERCENT,    /* CPU time over the process's life, percent of one CPU */
	SQ_PROC_FDS,            /* open descriptors (where the caller may list them) */
	SQ_PROC_CGROUP,         /* Linux: the cgroup v2 path */
	SQ_PROC_IO,             /* I/O byte counters (where the caller may read them) */
	SQ_PROC_NFIELDS
};
#define SQ_PROC_BIT(f) (1u << (f))
#define SQ_PROC_ALL ((1u << SQ_PROC_NFIELDS) - 1u)
/* What proc.list gives without `fields`: all but those that cost a further
 * file or directory read per process. */
#define SQ_PROC_LIST_DEFAULT (SQ_PROC_ALL & ~(SQ_PROC_BIT(SQ_PROC_FDS) | \
                              SQ_PROC_BIT(SQ_PROC_CGROUP) | SQ_PROC_BIT(SQ_PROC_IO)))

/* Bytes kept of one process's arguments; longer ones are cut (args_cut). */
#define SQ_PROC_ARGS_MAX (256u * 1024u)

struct sq_proc {
	unsigned have;          /* SQ_PROC_BIT()s actually filled: a field the
	                         * OS hides from this caller is left out */
	int32_t pid, ppid, pgid, sid;
	uint32_t uid, euid, gid;  /* real uid, effective uid, real gid */
	char state;             /* one letter, as ps shows it */
	char comm[128];         /* arbitrary bytes, not NUL-terminated */
	size_t comm_len;
	const char *args;       /* each argument NUL-terminated, back to back */
	size_t args_len;        /* bytes in args (0: no arguments, e.g. kthreads) */
	int args_cut;           /* 1 when cut at SQ_PROC_ARGS_MAX */
	const char *exe;        /* arbitrary bytes, args_len-style length below */
	size_t exe_len;
	double start_time;      /* Unix seconds */
	uint64_t cpu_user_ns, cpu_system_ns;
	uint64_t rss_bytes, vsize_bytes;
	int32_t threads;
	int32_t nice;
	char tty[32];           /* "pts/3", "tty1", ...; "" when none */
	double cpu_percent;     /* (user + system) / time since start * 100 */
	uint32_t fds;
	const char *cgroup;     /* bytes, cgroup_len long (in buf, after exe) */
	size_t cgroup_len;
	/* bytes through read(2)/write(2) and the like; bytes from and to storage */
	uint64_t io_rchar, io_wchar, io_read_bytes, io_write_bytes;

	/* storage behind args and exe, owned (sq_proc_release frees it) */
	char *buf;
	size_t cap;
};

/* Called once per process; a non-zero return stops the scan and is returned. */
typedef int (*sq_proc_cb)(const struct sq_proc *p, void *arg);

/* What to scan.  Zero-initialised: every process, no field but pid. */
struct sq_proc_query {
	unsigned fields;        /* SQ_PROC_BIT mask of what to read */
	const pid_t *pids;      /* only these (any order, duplicates once, <= 0 */
	size_t npids;           /* ignored); npids 0: every process */
	int by_uid;             /* 1: only processes whose real uid is uid */
	uint32_t uid;
	size_t max_held;        /* sq_proc_scan split over threads holds what it
	                         * read until it is handed over: past this many
	                         * bytes it stops with -E2BIG (0: no limit) */
};

/*
 * Walk the process table, reading only what q->fields needs, and call cb for
 * each process in ascending pid order (from the calling thread).  Processes
 * that vanish mid-scan are skipped.  0, the callback's non-zero return, or a
 * negative errno (-E2BIG: over max_held).
 */
int sq_proc_scan(const struct sq_proc_query *q, sq_proc_cb cb, void *arg);

/*
 * The same scan without the wait for order: the pids are cut into chunks of
 * SQ_PROC_CHUNK (ascending: chunk 0 has the lowest), and when `parallel` is
 * set several threads of the scan take chunks at once and call proc from
 * themselves.  All calls for one chunk come from one thread, in pid order,
 * so output kept per chunk and joined in chunk order is in pid order.  begin
 * (optional) is called first, from the calling thread, with the number of
 * chunks.  A non-zero return from either stops the scan and is returned.
 * (macOS: one chunk, read by the calling thread.)
 */
#define SQ_PROC_CHUNK 32u
/* Threads per scan (Linux): one per online CPU, at most SQ_PROC_SPLIT_MAX,
 * and never fewer than SQ_PROC_SPLIT_MIN processes each. */
#define SQ_PROC_SPLIT_MIN SQ_PROC_CHUNK
#define SQ_PROC_SPLIT_MAX 4u
struct sq_proc_sink {
	int (*begin)(size_t nchunks, void *arg);
	int (*proc)(const struct sq_proc *p, size_t chunk, void *arg);
	void *arg;
	int parallel;           /* proc may be called from several threads at once */
};
int sq_proc_scan_chunked(const struct sq_proc_query *q, const struct sq_proc_sink *sink);

/* One process into *p (zero it first, or reuse one already filled);
 * -ESRCH when there is none, -EINVAL for pid <= 0.  Call sq_proc_release. */
int sq_proc_get(pid_t pid, unsigned fields, struct sq_proc *p);
void sq_proc_release(struct sq_proc *p);

/*
 * kill(pid, sig) decided as `caller` would be: on Linux the calling thread
 * already has the caller's credentials and the kernel decides; on macOS,
 * where kill(2) ignores per-thread credentials, the rule is applied here
 * first (caller uid 0, or equal to the target's real or saved uid).
 * pid <= 0 (groups, broadcast) is -EINVAL.  sysqd's own process, one of its
 * threads or one of its children (the helper that sends on Linux) is
 * -EACCES, whoever the caller (kill(2) itself never says EACCES).  Linux:
 * -EINTR or -ETIMEDOUT when the helper was stopped, killed or not done
 * within its deadline (it is killed and reaped).  0 or a negative errno.
 */
int sq_proc_kill(pid_t pid, int sig, const struct sq_cred *caller);

/* --- portable helpers (proc.c) ------------------------------------------ */

/* Wire name of a field ("rss_bytes"), or NULL. */
const char *sq_proc_field_name(unsigned field);
/* Field number for a name of len bytes, or -1. */
int sq_proc_field_find(const char *name, size_t len);
/* Sort pids ascending and drop duplicates in place; returns the new count. */
size_t sq_proc_sort_pids(pid_t *pids, size_t n);
/* Make room for n bytes in p->buf (keeping what is there): 0 or -ENOMEM. */
int sq_proc_reserve(struct sq_proc *p, size_t n);
/* Lay out p's owned buffer once the arguments are in it: exe and then the
 * cgroup path (each only when p->have says so) copied behind them, and
 * p->args, p->exe and p->cgroup pointed at their places (last, since
 * reserving may move the buffer).  0 or -ENOMEM. */
int sq_proc_own_strings(struct sq_proc *p, const char *exe, size_t exe_len,
                        const char *cgroup, size_t cgroup_len);

#endif
