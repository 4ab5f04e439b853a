/* SPDX-License-Identifier: ISC */
/*
 * sq_watch.h - change events from the kernel, as descriptors a loop can poll:
 * the mount table, network interfaces and process exits (Linux: mountinfo
 * POLLPRI, rtnetlink, pidfd; macOS: kqueue EVFILT_FS / EVFILT_PROC, PF_ROUTE),
 * plus the portable bookkeeping that turns raw notices into "what changed".
 */
#ifndef SQ_WATCH_H
#define SQ_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "sq_fs.h"
#include "sq_net.h"

/* What to poll a watch descriptor for. */
enum { SQ_WATCH_READABLE = 1, SQ_WATCH_PRIORITY = 2 };

/* ---- mounts ---------------------------------------------------------------- */

/* A descriptor that polls ready (*how) when the mount table changes.  Read
 * the table (sq_fs_mounts) after opening it, so no change is missed. */
int sq_watch_mounts_open(int *fd, int *how);
/* Consume the readiness (macOS: the queued kevents; Linux: nothing, the
 * next poll re-arms by itself).  Never blocks. */
void sq_watch_mounts_ack(int fd);

enum sq_mount_change { SQ_MOUNT_ADDED, SQ_MOUNT_REMOVED, SQ_MOUNT_CHANGED };
/* m: the mount now (for REMOVED: as it was); old: as it was, for CHANGED. */
typedef void (*sq_mount_emit_fn)(void *arg, enum sq_mount_change what,
                                 const struct sq_mount *m, const struct sq_mount *old);
/* Report how table b differs from table a: removed mounts (in a's order),
 * added ones (in b's order), then changed ones (same mount, other options
 * or read-only state).  Mounts are matched by mount_id when the OS has one,
 * else by mount point, source and type.  0 or -ENOMEM. */
int sq_mount_diff(const struct sq_mount_table *a, const struct sq_mount_table *b,
                  sq_mount_emit_fn emit, void *arg);

/* ---- network interfaces -------------------------------------------------- */

enum sq_net_change {
	SQ_NETEV_ADDED,         /* a new interface */
	SQ_NETEV_REMOVED,
	SQ_NETEV_CHANGED,       /* see changes */
	SQ_NETEV_ADDR_ADDED,    /* addr */
	SQ_NETEV_ADDR_REMOVED,
};
enum { /* sq_net_event.changes */
	SQ_NETCH_UP      = 1u << 0, /* the "up" flag (administrative state) */
	SQ_NETCH_RUNNING = 1u << 1, /* "running" (carrier / operational) */
	SQ_NETCH_MTU     = 1u << 2,
	SQ_NETCH_NAME    = 1u << 3,
	SQ_NETCH_FLAGS   = 1u << 4, /* any other SQ_NET_* flag */
};
struct sq_net_event {
	enum sq_net_change what;
	unsigned index;
	char name[IFNAMSIZ];
	char old_name[IFNAMSIZ];    /* SQ_NETCH_NAME */
	unsigned flags, old_flags;  /* SQ_NET_* */
	int mtu, old_mtu;
	unsigned changes;           /* SQ_NETCH_* for SQ_NETEV_CHANGED */
	struct sq_net_addr addr;    /* SQ_NETEV_ADDR_* */
};
typedef void (*sq_net_emit_fn)(void *arg, const struct sq_net_event *ev);

/* What the watcher believes the interfaces are; events are the differences
 * between this and what the kernel says, so repeated notices are silent. */
struct sq_netw_link {
	unsigned index;
	char name[IFNAMSIZ];
	unsigned flags;
	int mtu;
	size_t naddrs, cap;
	struct sq_net_addr *addrs;
};
struct sq_netw {
	int fd;                     /* the OS's notice socket, -1 when none */
	size_t n, cap;
	struct sq_netw_link *links;
	bool resync;                /* the kernel dropped notices: re-list */
};

/* Open the notice socket (non-blocking) into w->fd and empty w; then fill
 * the state with sq_netw_sync(w, list, NULL) from a fresh sq_net_list. */
int sq_watch_net_open(struct sq_netw *w, int *how);
/* Read every pending notice without blocking, updating w and calling emit
 * for each difference.  Sets w->resync when the kernel lost notices
 * (rtnetlink ENOBUFS): the caller then re-lists and syncs.  0 or -errno. */
int sq_watch_net_read(struct sq_netw *w, sq_net_emit_fn emit, void *arg);
/* Close the socket and free the state. */
void sq_netw_free(struct sq_netw *w);

/* Portable state updates (watch.c), used by the OS readers and tests.
 * emit may be NULL (silent).  0 or -ENOMEM. */
int sq_netw_sync(struct sq_netw *w, const struct sq_net_list *l,
                 sq_net_emit_fn emit, void *arg);
int sq_netw_link(struct sq_netw *w, unsigned index, const char *name,
                 unsigned flags, int mtu, sq_net_emit_fn emit, void *arg);
int sq_netw_link_gone(struct sq_netw *w, unsigned index, sq_net_emit_fn emit, void *arg);
int sq_netw_addr(struct sq_netw *w, unsigned index, bool add,
                 const struct sq_net_addr *a, sq_net_emit_fn emit, void *arg);
const struct sq_netw_link *sq_netw_find(const struct sq_netw *w, unsigned index);

/* ---- process exit ------------------------------------------------------- */

/* A descriptor that polls readable once pid has exited (Linux: a pidfd;
 * macOS: a kqueue with EVFILT_PROC NOTE_EXIT).  Opened with the calling
 * thread's identity; on Linux the pid must also be visible to it in /proc
 * (hidepid).  -ESRCH when there is no such process (for this caller). */
int sq_watch_pid_open(pid_t pid, int *fd, int *how);

struct sq_exit_status {
	bool known;                 /* the OS told us */
	bool signaled;
	int code;                   /* exit code, or the signal number */
	bool core;
};
/* After the descriptor polled ready: the exit status, when the OS tells a
 * process that is not our child.  Linux tells it (PIDFD_INFO_EXIT, kernel
 * 6.15+) only once the parent has reaped the process; then the pidfd also
 * polls "hang-up".  macOS tells it only to the parent.  Consumes the
 * readiness (macOS: the kevent).  0 or -errno. */
int sq_watch_pid_status(int fd, struct sq_exit_status *st);
/* True when waiting for the reap (poll hang-up) can still bring a status. */
bool sq_watch_pid_status_on_reap(void);

#endif
