/* SPDX-License-Identifier: ISC */
/*
 * sq_peer.h - who is on the other end of a UNIX socket, as the kernel says.
 *
 * Linux: SO_PEERCRED + SO_PEERGROUPS.  macOS: LOCAL_PEERCRED (xucred) +
 * LOCAL_PEERPID.  Nothing a client sends can change these.
 */
#ifndef SQ_PEER_H
#define SQ_PEER_H

#include <sys/types.h>

struct sq_cred {
	uid_t uid;
	gid_t gid;
	pid_t pid;          /* -1 when the OS cannot tell */
	int ngroups;
	gid_t *groups;      /* supplementary groups, malloc'd */
};

/* 0, or a negative errno. On success c->groups must be freed with sq_cred_free. */
int sq_peer_cred(int fd, struct sq_cred *c);
void sq_cred_free(struct sq_cred *c);
/* True when gid is c's primary or a supplementary group. */
int sq_cred_in_group(const struct sq_cred *c, gid_t gid);

#endif
