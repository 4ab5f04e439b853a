/* SPDX-License-Identifier: ISC */
/*
 * ident_os.h - what lib/ident.c (portable: the enter/leave discipline and
 * the kept identity of sq_ident_become) needs from ident_<os>.c: the bare
 * switch into a peer's identity and back.  Private to lib/.
 */
#ifndef SQ_IDENT_OS_H
#define SQ_IDENT_OS_H

#include "sq_peer.h"

/* Switch this thread to c: 0, or a negative errno with the thread back as
 * the daemon.  Not root: 0 for the daemon's own uid (nothing changes). */
int sq_ident_os_enter(const struct sq_cred *c);
/* Back to the daemon's identity, or abort. */
void sq_ident_os_leave(void);

#endif
