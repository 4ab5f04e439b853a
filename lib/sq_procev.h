/* SPDX-License-Identifier: ISC */
/*
 * sq_procev.h - process events of the whole system from one kernel source
 * (Linux: the process-events connector, NETLINK_CONNECTOR / CN_IDX_PROC;
 * macOS: one kqueue with EVFILT_PROC on every process), a snapshot of a
 * process read as the daemon when its event arrives, and the rule that
 * says how much of it a caller may see.
 */
#ifndef SQ_PROCEV_H
#define SQ_PROCEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sq_peer.h"
#include "sq_watch.h"

enum sq_procev_kind {
	SQ_PROCEV_FORK, SQ_PROCEV_EXEC, SQ_PROCEV_EXIT,
	SQ_PROCEV_GAP,              /* the kernel dropped events here (pid 0) */
};

struct sq_procev {
	enum sq_procev_kind what;
	pid_t pid;                  /* FORK: the child */
	pid_t ppid;                 /* -1 when the source does not say */
	uint64_t time_ns;           /* CLOCK_REALTIME */
	struct sq_exit_status status; /* EXIT */
};

typedef void (*sq_procev_emit_fn)(void *arg, const struct sq_procev *ev);

struct sq_procev_src;

/* Open the source as the daemon (Linux: needs CAP_NET_ADMIN); rcvbuf > 0
 * sets the kernel's buffer for it (rounded up to the kernel's minimum).
 * *fd polls ready (*how) when events wait.  0 or -errno. */
int sq_procev_open(struct sq_procev_src **out, int rcvbuf, int *fd, int *how);
/* Read every pending event without blocking, calling emit for each, and
 * with SQ_PROCEV_GAP where the kernel dropped events (Linux: ENOBUFS).
 * 0 or -errno. */
int sq_procev_read(struct sq_procev_src *s, sq_procev_emit_fn emit, void *arg);
/* Whether pid has exited (gone, or a zombie) as the daemon sees it. */
bool sq_proc_exited(pid_t pid);
/* As the calling thread's identity: 0 when it may see pid (Linux: its
 * /proc/PID, under hidepid), with *exited when it is a zombie already;
 * -ESRCH when there is no such process for it, or -errno. */
int sq_proc_seen(pid_t pid, bool *exited);
void sq_procev_close(struct sq_procev_src *s);

/* A process as the daemon reads it at its event. */
struct sq_procsnap {
	bool known;                 /* read; false: already gone */
	pid_t ppid;
	uid_t uid[3];               /* real, effective, saved */
	gid_t gid[3];
	uid_t owner;                /* Linux: /proc/PID's owner (root when not dumpable) */
	bool caps;                  /* holds permitted capabilities */
	char comm[64];
	size_t comm_len;
	char *args;                 /* NUL-separated, malloc'd; NULL when not read */
	size_t args_len;
};
/* Read pid's snapshot (args too when with_args).  s->known says whether
 * the process was there; free with sq_procsnap_free. */
void sq_procsnap_read(pid_t pid, bool with_args, struct sq_procsnap *s);
void sq_procsnap_free(struct sq_procsnap *s);

/* How much of a process a caller may see. */
enum sq_procview {
	SQ_VIEW_NONE,               /* not at all */
	SQ_VIEW_PID,                /* its pid only */
	SQ_VIEW_NOARGS,             /* all but its args */
	SQ_VIEW_ALL,
};
/* The system's rules (Linux: /proc's hidepid and gid= mount options). */
struct sq_procvis {
	int hidepid;                /* 0 off, 1 noaccess, 2 invisible, 4 ptraceable */
	bool has_gid;
	gid_t gid;
};
/* Read the rules now in force for the daemon's /proc.  0 or -errno. */
int sq_procvis_read(struct sq_procvis *v);
/* The view of caller on a process whose snapshot is s (see PROTOCOL.md,
 * "Who may watch what"). */
enum sq_procview sq_procview(const struct sq_procvis *v, const struct sq_cred *caller,
                             const struct sq_procsnap *s);

#endif
