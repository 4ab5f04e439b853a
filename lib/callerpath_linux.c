/*
 * callerpath_linux.c - a caller's path opened with openat2(2) and
 * RESOLVE_NO_MAGICLINKS, so no process's descriptor, cwd, root or exe link
 * is followed, and a result inside sysqd's own /proc/PID (which the kernel
 * opens for any thread of sysqd, whoever it acts for) is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "sq_callerpath.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#endif
#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

struct sq_open_how { /* linux/openat2.h's struct open_how */
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

static int openat2_path(const char *path, int flags, uint64_t resolve)
{
	struct sq_open_how how = { .flags = (uint64_t)(unsigned)(flags | O_CLOEXEC),
	                           .resolve = resolve };
	return (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
}

/* Whether name (a path component) is sysqd's pid or one of its threads':
 * tgkill with signal 0 finds any thread of our own group and no other (a
 * thread group may always signal itself). */
static bool ours(const char *name, size_t len)
{
	if (len == 0 || len > 9 || name[0] == '0')
		return false;
	long n = 0;
	for (size_t i = 0; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		n = n * 10 + (name[i] - '0');
	}
	return syscall(SYS_tgkill, (long)getpid(), n, 0L) == 0;
}

/* Whether fd, on procfs, is inside sysqd's own /proc/PID or /proc/TID: its
 * path as the kernel keeps it has one of our pids as a component (a false
 * match, such as /proc/irq/N, only refuses). */
static bool in_own_proc(int fd)
{
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0)
		return true; /* cannot tell: refuse */
	if ((unsigned long)sf.f_type != PROC_SUPER_MAGIC)
		return false;
	char link[32], where[4096];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, where, sizeof(where) - 1);
	if (n <= 0)
		return true;
	where[n] = '\0';
	for (const char *c = where; *c;) {
		c += strspn(c, "/");
		size_t len = strcspn(c, "/");
		if (ours(c, len))
			return true;
		c += len;
	}
	return false;
}

/* openat2 said ELOOP: a magic link on the way (refused: -EXDEV), or what
 * open(2) would say ELOOP for too (a loop of links; O_NOFOLLOW on a final
 * link).  Asked again without the rule, for an O_PATH descriptor that is
 * closed unused: ELOOP again is a real loop; anything else (success, or an
 * error met past the magic link, such as ENOTDIR) means the rule stopped
 * the walk. */
static int why_loop(const char *path, int flags)
{
	int fd = openat2_path(path, O_PATH | (flags & O_NOFOLLOW), 0);
	if (fd < 0)
		return errno == ELOOP ? -ELOOP : -EXDEV;
	struct stat st;
	bool link = fstat(fd, &st) == 0 && S_ISLNK(st.st_mode);
	close(fd);
	return link && (flags & O_NOFOLLOW) && !(flags & O_PATH) ? -ELOOP : -EXDEV;
}

int sq_callerpath_open(const char *path, int flags)
{
	int fd = openat2_path(path, flags, RESOLVE_NO_MAGICLINKS);
	if (fd < 0) {
		int err = errno;
		if (err == ELOOP)
			return why_loop(path, flags);
		return -err; /* ENOSYS: a kernel before 5.6, which sysqd cannot use safely */
	}
	if (in_own_proc(fd)) {
		close(fd);
		return -EXDEV;
	}
	return fd;
}

int sq_callerpath_stat(const char *path, bool nofollow, struct stat *st)
{
	int fd = sq_callerpath_open(path, O_PATH | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return fd;
	int rc = fstat(fd, st) < 0 ? -errno : 0;
	close(fd);
	return rc;
}
