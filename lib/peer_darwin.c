/* SPDX-License-Identifier: ISC */
/*
 * peer_darwin.c - peer credentials on macOS: LOCAL_PEERCRED returns a
 * struct xucred (uid and up to NGROUPS groups, cr_groups[0] being the
 * effective gid), LOCAL_PEERPID the pid, both at SOL_LOCAL.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/ucred.h>
#include <sys/un.h>

#include "sq_peer.h"

int sq_peer_cred(int fd, struct sq_cred *c)
{
	struct xucred xc;
	socklen_t len = sizeof(xc);

	memset(c, 0, sizeof(*c));
	if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERCRED, &xc, &len) < 0)
		return -errno;
	if (xc.cr_version != XUCRED_VERSION || xc.cr_ngroups < 1)
		return -EPROTO;
	c->uid = xc.cr_uid;
	c->gid = xc.cr_groups[0];

	pid_t pid;
	len = sizeof(pid);
	c->pid = getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &pid, &len) == 0 ? pid : -1;

	c->groups = malloc(sizeof(gid_t) * (size_t)xc.cr_ngroups);
	if (!c->groups)
		return -ENOMEM;
	memcpy(c->groups, xc.cr_groups, sizeof(gid_t) * (size_t)xc.cr_ngroups);
	c->ngroups = xc.cr_ngroups;
	return 0;
}
