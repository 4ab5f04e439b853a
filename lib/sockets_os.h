/* SPDX-License-Identifier: ISC */
/*
 * sockets_os.h - what sockets_<os>.c and the portable lib/sockets.c share:
 * the owner map's building calls and the filter's defaults.  Private to lib/.
 */
#ifndef SQ_SOCKETS_OS_H
#define SQ_SOCKETS_OS_H

#include <stdint.h>
#include <sys/types.h>

#include "sq_sockets.h"

struct sq_sock_owners *sq_sock_owners_new(void);
/* One (socket, process) pair; comm is the process's name.  0 or -ENOMEM
 * (past SQ_SOCK_OWNERS_MAX pairs the map only notes it is truncated). */
int sq_sock_owners_add(struct sq_sock_owners *o, uint64_t key, pid_t pid, const char *comm);
/* Done adding: sorts for sq_sock_owners_of. */
void sq_sock_owners_seal(struct sq_sock_owners *o);

/* The families and protocols f asks for, its zero masks ("all") spelled
 * out, for the OS's scan to pick its tables. */
void sq_sock_filter_asked(const struct sq_sock_filter *f, unsigned *families,
                          unsigned *protos);

/* The OS's walk (sockets_<os>.c): every visible process's sockets into o. */
int sq_sock_owners_walk(struct sq_sock_owners *o, pid_t pid, bool self_ok);

#endif
