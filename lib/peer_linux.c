/* SPDX-License-Identifier: ISC */
/*
 * peer_linux.c - peer credentials on Linux: SO_PEERCRED gives uid, gid and
 * pid as they were at connect(2); SO_PEERGROUPS (Linux 4.13+) the
 * supplementary groups.  Older kernels fall back to the primary gid alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sq_peer.h"

static int peer_groups(int fd, struct sq_cred *c)
{
	socklen_t len = 16 * sizeof(gid_t);
	for (int tries = 0; tries < 4; tries++) {
		gid_t *g = malloc(len ? len : sizeof(gid_t));
		if (!g)
			return -ENOMEM;
		socklen_t got = len;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &got) == 0) {
			c->groups = g;
			c->ngroups = (int)(got / sizeof(gid_t));
			return 0;
		}
		int err = errno;
		free(g);
		if (err != ERANGE)
			return -err;
		len = got; /* the kernel told us the size it needs */
	}
	return -ERANGE;
}

int sq_peer_cred(int fd, struct sq_cred *c)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	memset(c, 0, sizeof(*c));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	c->uid = uc.uid;
	c->gid = uc.gid;
	c->pid = uc.pid > 0 ? uc.pid : -1;
	int rc = peer_groups(fd, c);
	if (rc == -ENOPROTOOPT) {
		c->groups = malloc(sizeof(gid_t));
		if (!c->groups)
			return -ENOMEM;
		c->groups[0] = c->gid;
		c->ngroups = 1;
		rc = 0;
	}
	return rc;
}
