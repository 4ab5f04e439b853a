/* SPDX-License-Identifier: ISC */
/*
 * ident.c - the portable half of sq_ident.h: the strict enter/leave pair,
 * and sq_ident_become, which lets a thread keep its last caller's identity
 * while the next caller is the same.  Each thread records (thread-local)
 * which of the two it is using; mixing them aborts.  Whom an unprivileged
 * daemon may act for (sq_ident_can_act_as).  The switch: ident_<os>.c.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ident_os.h"
#include "sq_ident.h"

/* Callers with more groups than this are never taken for the kept one:
 * each of their requests switches (correct, only slower). */
#define KEEP_GROUPS 64

/* This thread's identity as this module left it. */
struct kept {
	bool entered;              /* between sq_ident_enter and sq_ident_leave */
	bool held;                 /* sq_ident_become left it as somebody else */
	bool exact;                /* the fields below describe that somebody */
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[KEEP_GROUPS];
};
static _Thread_local struct kept me;

static void misuse(const char *what)
{
	fprintf(stderr, "sysqd: %s\n", what);
	abort();
}

int sq_ident_can_act_as(uid_t uid)
{
	return sq_ident_can_switch() || uid == geteuid();
}

int sq_ident_enter(const struct sq_cred *c)
{
	if (me.held)
		misuse("sq_ident_enter on a thread that keeps a caller's identity");
	int rc = sq_ident_os_enter(c);
	me.entered = rc == 0;
	return rc;
}

void sq_ident_leave(void)
{
	if (me.held)
		misuse("sq_ident_leave on a thread that keeps a caller's identity");
	me.entered = false;
	sq_ident_os_leave();
}

static bool same(const struct sq_cred *c)
{
	return me.exact && me.uid == c->uid && me.gid == c->gid && me.ngroups == c->ngroups &&
	       (c->ngroups == 0 ||
	        memcmp(me.groups, c->groups, sizeof(gid_t) * (size_t)c->ngroups) == 0);
}

void sq_ident_drop(void)
{
	if (me.entered)
		misuse("sq_ident_drop between sq_ident_enter and sq_ident_leave");
	if (!me.held)
		return;
	/* forget first: if the way back fails, the process is gone anyway */
	me.held = me.exact = false;
	sq_ident_os_leave();
}

int sq_ident_become(const struct sq_cred *c)
{
	if (me.entered)
		misuse("sq_ident_become between sq_ident_enter and sq_ident_leave");
	if (me.held && same(c))
		return 0;
	/* somebody else, or nobody yet: the whole way back, then into c (macOS
	 * refuses to assume an identity over another one anyway) */
	sq_ident_drop();
	int rc = sq_ident_os_enter(c);
	if (rc < 0 || !sq_ident_can_switch())
		return rc; /* failed (the thread is the daemon), or c is sysqd's own uid */
	me.held = true;
	me.exact = c->ngroups >= 0 && c->ngroups <= KEEP_GROUPS;
	if (me.exact) {
		me.uid = c->uid;
		me.gid = c->gid;
		me.ngroups = c->ngroups;
		if (c->ngroups)
			memcpy(me.groups, c->groups, sizeof(gid_t) * (size_t)c->ngroups);
	}
	return 0;
}

int sq_ident_kept(void)
{
	return me.held;
}
