/* SPDX-License-Identifier: ISC */
/*
 * cred.c - portable helpers over struct sq_cred (the OS-specific part,
 * reading it off a socket, lives in peer_<os>.c).
 */
#include <stdlib.h>

#include "sq_peer.h"

void sq_cred_free(struct sq_cred *c)
{
	free(c->groups);
	c->groups = NULL;
	c->ngroups = 0;
}

int sq_cred_in_group(const struct sq_cred *c, gid_t gid)
{
	if (c->gid == gid)
		return 1;
	for (int i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return 1;
	return 0;
}
