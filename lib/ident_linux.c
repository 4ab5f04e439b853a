/*
 * ident_linux.c - per-thread identity switching on Linux.
 *
 * The kernel keeps credentials per task (thread); glibc's setresuid() and
 * friends broadcast a change to every thread, so the raw syscalls are used.
 * The saved set-user-ID stays 0 while switched, which is what allows the
 * way back; effective capabilities are dropped by the kernel while euid is
 * not 0 and restored when it is 0 again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

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

int sq_ident_enter(const struct sq_cred *c)
{
	if (!sq_ident_can_switch())
		return c->uid == self_uid ? 0 : -EPERM;
	if (syscall(SYS_setgroups, (long)c->ngroups, c->groups) < 0)
		return -errno;
	if (sys3(SYS_setresgid, (long)c->gid, (long)c->gid, -1) < 0) {
		int err = errno;
		sq_ident_leave();
		return -err;
	}
	if (sys3(SYS_setresuid, (long)c->uid, (long)c->uid, -1) < 0) {
		int err = errno;
		sq_ident_leave();
		return -err;
	}
	return 0;
}

void sq_ident_leave(void)
{
	if (!sq_ident_can_switch())
		return;
	if (sys3(SYS_setresuid, (long)self_uid, (long)self_uid, -1) < 0 ||
	    sys3(SYS_setresgid, (long)self_gid, (long)self_gid, -1) < 0 ||
	    syscall(SYS_setgroups, (long)self_ngroups, self_groups) < 0) {
		perror("sysqd: cannot restore the daemon's identity");
		abort();
	}
}
