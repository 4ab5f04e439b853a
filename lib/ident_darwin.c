/* SPDX-License-Identifier: ISC */
/*
 * ident_darwin.c - per-thread identity switching on macOS (the bare switch;
 * lib/ident.c keeps the rules of when).
 *
 * pthread_setugid_np() gives the calling thread its own credential (uid,
 * gid, and group membership resolved for that uid); KAUTH_UID_NONE returns
 * it to the process credential.  File-system checks follow the thread
 * credential; kill(2) does not, so the process layer checks signals itself.
 * Apple marks pthread_setugid_np deprecated (it is still how per-thread
 * credentials work; libdispatch and launchd's own helpers use it).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/kauth.h>
#include <unistd.h>

#include "ident_os.h"
#include "sq_ident.h"

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"

static uid_t self_uid;

void sq_ident_init(void)
{
	self_uid = geteuid();
}

int sq_ident_can_switch(void)
{
	return self_uid == 0;
}

int sq_ident_os_enter(const struct sq_cred *c)
{
	if (!sq_ident_can_switch())
		return c->uid == self_uid ? 0 : -EPERM;
	if (pthread_setugid_np(c->uid, c->gid) != 0)
		return -errno;
	return 0;
}

void sq_ident_os_leave(void)
{
	if (!sq_ident_can_switch())
		return;
	if (pthread_setugid_np(KAUTH_UID_NONE, KAUTH_GID_NONE) != 0) {
		perror("sysqd: cannot restore the daemon's identity");
		abort();
	}
}

#pragma clang diagnostic pop
