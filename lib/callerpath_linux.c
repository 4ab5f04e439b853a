/* SPDX-License-Identifier: ISC */
/*
 * callerpath_linux.c - a caller's path opened with openat2(2) and
 * RESOLVE_NO_MAGICLINKS, so no process's descriptor, cwd, root or exe link
 * is followed, and a result inside sysqd's own /proc/PID (which the kernel
 * opens for any thread of sysqd, whoever it acts for) is refused.  Where
 * there is no openat2 (Linux before 5.6, valgrind), the path is walked one
 * component at a time instead: ordinary symlinks followed here, any link on
 * procfs refused (each is a magic link or /proc/self, thread-self).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
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
#include "sq_fs.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
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
 * our pid, or an entry of our own /proc/self/task (which lists exactly our
 * threads, whoever this thread acts for). */
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
	if (n == (long)getpid())
		return true;
	char task[48];
	snprintf(task, sizeof(task), "/proc/self/task/%ld", n);
	return access(task, F_OK) == 0;
}

/* Whether fd is on a procfs.  Asked of the device number (statx without
 * syncing: nothing reaches the file system, which may be a hung FUSE or NFS
 * mount) and the mount table sysqd keeps: procfs is an anonymous device
 * (major 0), and a mount of type "proc" with that minor. */
static bool on_procfs(int fd)
{
	struct statx x;
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &x) < 0)
		return true; /* cannot tell: refuse */
	if (x.stx_dev_major != 0)
		return false;
	struct sq_mount_table *t = NULL;
	if (sq_fs_mounts(&t) < 0) { /* no /proc/self/mountinfo: ask the file system */
		struct statfs sf;
		return fstatfs(fd, &sf) < 0 || (unsigned long)sf.f_type == PROC_SUPER_MAGIC;
	}
	bool proc = false;
	for (size_t i = 0; i < t->n && !proc; i++)
		proc = t->m[i].dev_major == 0 && t->m[i].dev_minor == x.stx_dev_minor &&
		       strcmp(t->m[i].fstype, "proc") == 0;
	sq_fs_mounts_release(t);
	return proc;
}

/* Whether fd, on procfs, is inside sysqd's own /proc/PID or /proc/TID: its
 * path as the kernel keeps it has one of our pids as a component (a false
 * match, such as /proc/irq/N, only refuses). */
static bool in_own_proc(int fd)
{
	if (!on_procfs(fd))
		return false;
	char link[32], where[4096];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	/* readlinkat: valgrind 3.19 asserts on readlink(2) of /proc/self/fd/N
	 * from a thread with another euid */
	ssize_t n = readlinkat(AT_FDCWD, link, where, sizeof(where) - 1);
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

/* ---- without openat2: the walk ------------------------------------------ */

static atomic_int no_openat2;   /* the kernel said ENOSYS once */
static atomic_int force_walk;   /* tests */

void sq_callerpath_force_walk(int on)
{
	atomic_store(&force_walk, on);
}

/* The next component of *rest (slashes skipped) into name; *rest moves past
 * it.  Whether it is the last one (only slashes follow), and whether a
 * slash follows it (then it must be a directory). */
static int next_name(const char **rest, char *name, bool *last, bool *slash)
{
	const char *p = *rest + strspn(*rest, "/");
	size_t len = strcspn(p, "/");
	if (len >= NAME_MAX + 1)
		return -ENAMETOOLONG;
	memcpy(name, p, len);
	name[len] = '\0';
	*rest = p + len;
	*slash = **rest == '/';
	*last = (*rest)[strspn(*rest, "/")] == '\0';
	return 0;
}

/* A symlink met on the way: its target, then what was left of the path,
 * becomes the rest (in buf).  Absolute targets start again at the root. */
static int splice_link(int link, const char *rest, char *buf, size_t size, int *cur)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(link, "", target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	char tmp[2 * PATH_MAX];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s%s", target, rest) >= size) /* rest: "" or "/..." */
		return -ENAMETOOLONG;
	memcpy(buf, tmp, strlen(tmp) + 1);
	if (target[0] == '/') {
		int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root < 0)
			return -errno;
		close(*cur);
		*cur = root;
	}
	return 0;
}

/* Resolve path one component at a time, each opened O_PATH | O_NOFOLLOW
 * relative to the last (so what was checked is what is used), as the
 * calling thread.  Returns an O_PATH descriptor of what path names (a
 * final link itself with nofollow), or a negative errno. */
static int walk(const char *path, bool nofollow)
{
	char buf[2 * PATH_MAX], name[NAME_MAX + 1];
	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, strlen(path) + 1);
	int cur = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return -errno;
	const char *rest = buf;
	int hops = 0, rc = 0;
	while (rest[strspn(rest, "/")] != '\0') {
		bool last, slash;
		if ((rc = next_name(&rest, name, &last, &slash)) < 0)
			break;
		if (strcmp(name, ".") == 0)
			continue;
		int next = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (next < 0 || fstat(next, &st) < 0) {
			rc = -errno;
			if (next >= 0)
				close(next);
			break;
		}
		if (S_ISLNK(st.st_mode) && !(last && nofollow && !slash)) {
			/* on procfs every link is a magic one or leads into our own
			 * /proc/PID (self, thread-self): never followed */
			if (on_procfs(next))
				rc = -EXDEV;
			else if (++hops > 40)
				rc = -ELOOP;
			else
				rc = splice_link(next, rest, buf, sizeof(buf), &cur);
			close(next);
			if (rc < 0)
				break;
			rest = buf;
			continue;
		}
		close(cur);
		cur = next;
		if (slash && last && !S_ISDIR(st.st_mode)) {
			rc = -ENOTDIR;
			break;
		}
	}
	if (rc < 0) {
		close(cur);
		return rc;
	}
	return cur;
}

/* The walk's result opened as flags ask: kept as it is for O_PATH, else
 * opened anew through our own descriptor of it (the kernel checks the
 * thread's permission for the new mode, as open(2) would). */
static int walk_open(const char *path, int flags)
{
	int fd = walk(path, flags & O_NOFOLLOW);
	if (fd < 0 || (flags & O_PATH))
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0 || S_ISLNK(st.st_mode)) {
		int err = S_ISLNK(st.st_mode) ? ELOOP : errno;
		close(fd);
		return -err;
	}
	char self[40];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	int nfd = open(self, (flags & ~O_NOFOLLOW) | O_CLOEXEC);
	int err = errno;
	close(fd);
	return nfd < 0 ? -err : nfd;
}

int sq_callerpath_open(const char *path, int flags)
{
	int fd = -1;
	if (!atomic_load(&no_openat2) && !atomic_load(&force_walk)) {
		fd = openat2_path(path, flags, RESOLVE_NO_MAGICLINKS);
		if (fd < 0 && errno == ENOSYS)
			atomic_store(&no_openat2, 1);
		else if (fd < 0)
			return errno == ELOOP ? why_loop(path, flags) : -errno;
	}
	if (fd < 0 && (fd = walk_open(path, flags)) < 0)
		return fd;
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
