/* SPDX-License-Identifier: ISC */
/*
 * xattr_linux.c - extended attributes on Linux through an O_PATH descriptor,
 * which f*xattr() and the *xattrat() calls with AT_EMPTY_PATH all refuse
 * (EBADF): the calls name it as entry N of /proc/self/fd, a magic link to
 * the very inode held open.  Linux >= 6.13: *xattrat() relative to that
 * directory, opened once; before, or when filtered: the path /proc/self/fd/N.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "sq_callerpath.h"
#include "sq_xattr.h"

const int sq_xattr_enoattr = ENODATA;

/*
 * O_PATH opens nothing: no read or write permission on the file is needed,
 * no device driver's open runs, a FIFO does not block; each call then checks
 * exactly what getxattr(2)/lgetxattr(2) on the path would, as the caller.
 * /proc/self/fd/N resolves to the descriptor's inode, not a path walked
 * again, so nothing renamed or swapped in meanwhile can redirect it.  On a
 * symlink opened with O_NOFOLLOW it is the link itself that is acted on
 * (Linux lets symlinks carry trusted.* and security.* attributes, never
 * user.*: EPERM to set, ENODATA to read).
 */

#define PROC_FD_DIR "/proc/self/fd"

/* Linux 6.13 added the *xattrat() calls, numbered alike on x86_64 and the
 * asm-generic architectures; C libraries of the time do not know them. */
#ifndef SYS_getxattrat
#if (defined(__x86_64__) && !defined(__ILP32__)) || defined(__aarch64__) || \
	defined(__riscv) || defined(__loongarch__)
#define SYS_setxattrat 463
#define SYS_getxattrat 464
#define SYS_listxattrat 465
#define SYS_removexattrat 466
#endif
#endif

#ifdef SYS_getxattrat
/* The kernel's struct xattr_args (include/uapi/linux/xattr.h), under a
 * name of ours: <linux/xattr.h> clashes with <sys/xattr.h>, and older ones
 * lack it. */
struct sq_xattr_args {
	uint64_t value;
	uint32_t size;
	uint32_t flags;
};
_Static_assert(sizeof(struct sq_xattr_args) == 16, "XATTR_ARGS_SIZE_VER0");

/* Whether the four calls answer, asked once per process with arguments the
 * kernel rejects first (EINVAL) before looking at anything else: ENOSYS
 * (older kernel) or EPERM (a seccomp filter that does not know them) means
 * paths.  The four came together; all or none are used. */
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static int have_at;

/* -1: /proc/self/fd is not open (yet, or again after a fork: it names the
 * process that opened it). */
static atomic_int proc_fd_dir = -1;
static atomic_int force_paths;

static int einval(long rc)
{
	return rc < 0 && errno == EINVAL;
}

static void after_fork_child(void)
{
	int fd = atomic_exchange(&proc_fd_dir, -1);
	if (fd >= 0)
		close(fd);
}

static void probe(void)
{
	int saved = errno;
	have_at = einval(syscall(SYS_getxattrat, -1, NULL, 0, NULL, NULL, (size_t)0)) &&
	          einval(syscall(SYS_setxattrat, -1, NULL, 0, NULL, NULL, (size_t)0)) &&
	          einval(syscall(SYS_listxattrat, -1, NULL, ~0u, NULL, (size_t)0)) &&
	          einval(syscall(SYS_removexattrat, -1, NULL, ~0u, NULL));
	errno = saved;
	if (have_at)
		pthread_atfork(NULL, NULL, after_fork_child);
}

/* The directory the *xattrat() calls start from, or -1 for paths.  Opened
 * on first use (as whoever the thread is: a process may always read its
 * own /proc/self/fd); if /proc is missing, paths, which fail with ENOSYS. */
static int at_dir(void)
{
	if (atomic_load_explicit(&force_paths, memory_order_relaxed))
		return -1;
	pthread_once(&probe_once, probe);
	if (!have_at)
		return -1;
	int fd = atomic_load_explicit(&proc_fd_dir, memory_order_acquire);
	if (fd >= 0)
		return fd;
	int saved = errno;
	int nfd = open(PROC_FD_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
	errno = saved;
	if (nfd < 0)
		return -1;
	int expected = -1;
	if (atomic_compare_exchange_strong(&proc_fd_dir, &expected, nfd))
		return nfd;
	close(nfd); /* another thread was first */
	return expected;
}

static const char *entry(const struct sq_xattr_file *f)
{
	return f->via + sizeof(PROC_FD_DIR); /* "N" of "/proc/self/fd/N" */
}

static uint32_t u32_size(size_t n)
{
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n; /* the kernel caps at 64 KiB */
}

enum sq_xattr_via sq_xattr_via(void)
{
	return at_dir() >= 0 ? SQ_XATTR_VIA_PROC_AT : SQ_XATTR_VIA_PROC_PATH;
}
#else
enum sq_xattr_via sq_xattr_via(void)
{
	return SQ_XATTR_VIA_PROC_PATH;
}
#endif

void sq_xattr_force_paths(int on)
{
#ifdef SYS_getxattrat
	atomic_store(&force_paths, on);
#else
	(void)on;
#endif
}

int sq_xattr_open(struct sq_xattr_file *f, const char *path, int flags)
{
	int o = O_PATH | ((flags & SQ_XATTR_NOFOLLOW) ? O_NOFOLLOW : 0);
	f->fd = sq_callerpath_open(path, o);
	if (f->fd < 0)
		return f->fd;
	snprintf(f->via, sizeof(f->via), PROC_FD_DIR "/%d", f->fd);
	return 0;
}

void sq_xattr_close(struct sq_xattr_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* The inode behind an open descriptor cannot be missing, so ENOENT from the
 * /proc path means /proc is not mounted where sysqd runs. */
static int os_err(void)
{
	int err = errno;
	if (err == ENOENT && access(PROC_FD_DIR, F_OK) < 0)
		return -ENOSYS;
	return -err;
}

ssize_t sq_xattr_fget(const struct sq_xattr_file *f, const char *name,
                      void *buf, size_t size)
{
	ssize_t n;
#ifdef SYS_getxattrat
	int dir = at_dir();
	if (dir >= 0) {
		struct sq_xattr_args a = { (uintptr_t)buf, u32_size(size), 0 };
		n = syscall(SYS_getxattrat, dir, entry(f), 0, name, &a, sizeof(a));
		return n < 0 ? os_err() : n;
	}
#endif
	n = getxattr(f->via, name, buf, size);
	return n < 0 ? os_err() : n;
}

ssize_t sq_xattr_flist(const struct sq_xattr_file *f, char *buf, size_t size)
{
	ssize_t n;
#ifdef SYS_getxattrat
	int dir = at_dir();
	if (dir >= 0) {
		n = syscall(SYS_listxattrat, dir, entry(f), 0, buf, size);
		return n < 0 ? os_err() : n;
	}
#endif
	n = listxattr(f->via, buf, size);
	return n < 0 ? os_err() : n;
}

int sq_xattr_fset(const struct sq_xattr_file *f, const char *name,
                  const void *value, size_t len, enum sq_xattr_mode mode)
{
	int fl = mode == SQ_XATTR_CREATE ? XATTR_CREATE
	       : mode == SQ_XATTR_REPLACE ? XATTR_REPLACE : 0;
#ifdef SYS_getxattrat
	int dir = at_dir();
	if (dir >= 0) {
		struct sq_xattr_args a = { (uintptr_t)value, u32_size(len), (uint32_t)fl };
		return syscall(SYS_setxattrat, dir, entry(f), 0, name, &a, sizeof(a)) < 0
		       ? os_err() : 0;
	}
#endif
	return setxattr(f->via, name, value, len, fl) < 0 ? os_err() : 0;
}

int sq_xattr_fremove(const struct sq_xattr_file *f, const char *name)
{
#ifdef SYS_getxattrat
	int dir = at_dir();
	if (dir >= 0)
		return syscall(SYS_removexattrat, dir, entry(f), 0, name) < 0 ? os_err() : 0;
#endif
	return removexattr(f->via, name) < 0 ? os_err() : 0;
}
