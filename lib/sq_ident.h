/*
 * sq_ident.h - run the current thread as a peer, so the kernel makes every
 * access decision for it (design.md, "Identity and access").
 *
 * Linux: raw setgroups/setresgid/setresuid syscalls, which change only the
 * calling thread (glibc's wrappers would change every thread).  macOS:
 * pthread_setugid_np.  When sysqd is not root it cannot switch: it then
 * serves only peers with its own uid (sq_ident_enter fails with EPERM).
 */
#ifndef SQ_IDENT_H
#define SQ_IDENT_H

#include "sq_peer.h"

/* Call once at start, before any thread exists: remembers the daemon's own ids. */
void sq_ident_init(void);
/* 1 when the daemon can assume other users' identities (it is root). */
int sq_ident_can_switch(void);
/* Switch this thread to c.  0, or a negative errno (nothing changed). */
int sq_ident_enter(const struct sq_cred *c);
/* Back to the daemon's identity.  Aborts if that is impossible: a worker
 * thread must never go on running as somebody else. */
void sq_ident_leave(void);

#endif
