/* SPDX-License-Identifier: ISC */
/*
 * ident_linux.c - per-thread identity switching on Linux (the bare switch;
 * lib/ident.c keeps the rules of when).
 *
 * The kernel keeps credentials per task (thread); glibc's setresuid() and
 * friends broadcast a change to every thread, so the raw syscalls are used.
 * Only the effective uid (and with it the file-system uid every path, open,
 * xattr and /proc check uses) becomes the caller's: the real and saved uids
 * stay sysqd's.  The saved one is what allows the way back; the real one
 * keeps the caller from signalling the thread: kill(2) lets a sender reach
 * any thread whose real or saved uid is its own, and a SIGKILL or SIGSTOP
 * to one thread acts on the whole daemon.  (Signals the daemon sends for a
 * caller go from a child that is the caller whole: sq_proc_kill.)  Gids are
 * the caller's, real and effective (no kernel check compares a real gid to
 * a signal's sender).  Effective capabilities are dropped by the kernel when
 * euid leaves 0.  A root caller gets root's capabilities for the call, and
 * the way back lowers them to sysqd's base set again (lib/harden_linux.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ident_os.h"
#include "sq_harden.h"
#include "sq_ident.h"

static uid_t self_uid;
static gid_t self_gid;
static gid_t self_groups[64];
static int self_ngroups;

void sq_ident_init(void)
{
	self_uid = geteuid();
	self_gid = getegid();
	int n = getgroups(64, self_groups);
	self_ngroups = n < 0 ? 0 : n;
}

int sq_ident_can_switch(void)
{
	return self_uid == 0;
}

static long sys3(long nr, long a, long b, long c)
{
	return syscall(nr, a, b, c);
}

int sq_ident_os_enter(const struct sq_cred *c)
{
	if (!sq_ident_can_switch())
		return c->uid == self_uid ? 0 : -EPERM;
	if (syscall(SYS_setgroups, (long)c->ngroups, c->groups) < 0)
		return -errno;
	if (sys3(SYS_setresgid, (long)c->gid, (long)c->gid, -1) < 0) {
		int err = errno;
		sq_ident_os_leave();
		return -err;
	}
	if (sys3(SYS_setresuid, -1, (long)c->uid, -1) < 0) {
		int err = errno;
		sq_ident_os_leave();
		return -err;
	}
	/* a root caller keeps euid 0: give it what root would have itself;
	 * for anyone else the kernel has just cleared the effective set */
	if (c->uid == 0) {
		int rc = sq_harden_caps_for_caller(1);
		if (rc < 0) {
			sq_ident_os_leave();
			return rc;
		}
	}
	return 0;
}

void sq_ident_os_leave(void)
{
	if (!sq_ident_can_switch())
		return;
	/* back at euid 0 the kernel makes every permitted capability effective:
	 * sq_harden_caps_for_caller(0) lowers them to sysqd's own base set */
	if (sys3(SYS_setresuid, (long)self_uid, (long)self_uid, -1) < 0 ||
	    sys3(SYS_setresgid, (long)self_gid, (long)self_gid, -1) < 0 ||
	    syscall(SYS_setgroups, (long)self_ngroups, self_groups) < 0 ||
	    sq_harden_caps_for_caller(0) < 0) {
		perror("sysqd: cannot restore the daemon's identity");
		abort();
	}
}
