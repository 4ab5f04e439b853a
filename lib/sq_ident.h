/* SPDX-License-Identifier: ISC */
/*
 * sq_ident.h - run the current thread as a peer, so the kernel makes every
 * access decision for it (docs/identity.md).  Two ways:
 * a strict enter/leave pair around one piece of work (any thread), or
 * sq_ident_become on threads that run nothing but work for callers.
 */
#ifndef SQ_IDENT_H
#define SQ_IDENT_H

#include "sq_peer.h"

/*
 * Linux: raw setgroups/setresgid/setresuid syscalls, which change only the
 * calling thread (glibc's wrappers would change every thread).  macOS:
 * pthread_setugid_np.  When sysqd is not root it cannot switch: it then
 * serves only peers with its own uid (the calls fail with EPERM).
 */

/* Call once at start, before any thread exists: remembers the daemon's own ids. */
void sq_ident_init(void);
/* 1 when the daemon can assume other users' identities (it is root). */
int sq_ident_can_switch(void);
/* 1 when the daemon can act for a peer of this uid: it can switch, or uid
 * is its own.  Otherwise it serves that peer nothing that runs as the
 * caller: lending its own identity to another uid would make it a confused
 * deputy.  The refusal then says SQ_IDENT_REFUSAL("what was asked for"). */
int sq_ident_can_act_as(uid_t uid);
#define SQ_IDENT_REFUSAL(what) \
	"this sysqd is not root and serves " what " only to its own uid"

/* Switch this thread to c.  0, or a negative errno (nothing changed). */
int sq_ident_enter(const struct sq_cred *c);
/* Back to the daemon's identity.  Aborts if that is impossible: a worker
 * thread must never go on running as somebody else. */
void sq_ident_leave(void);

/*
 * Keeping an identity between pieces of work, for threads that never run
 * anything but whole jobs (daemon/engine.c).  sq_ident_become(c)
 * leaves the thread as c: when it already is exactly c (same uid, gid and
 * group list, in order, as remembered by the last sq_ident_become on this
 * thread) nothing is done; otherwise the thread goes back to the daemon's
 * identity first (sq_ident_leave: a root caller's extra capabilities go)
 * and then into c (sq_ident_enter).  0, or a negative errno: the thread is
 * then the daemon again.  sq_ident_drop() makes it the daemon again.
 *
 * The two ways never mix on one thread: sq_ident_enter or sq_ident_leave on
 * a thread that keeps an identity, or sq_ident_become between enter and
 * leave, aborts the process.  The record is per thread and describes what
 * this module set; nothing else may change a thread's credentials.
 */
int sq_ident_become(const struct sq_cred *c);
void sq_ident_drop(void);
/* 1 while this thread keeps an identity from sq_ident_become. */
int sq_ident_kept(void);

#endif
