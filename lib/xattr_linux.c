/*
 * xattr_linux.c - extended attributes on Linux through an O_PATH descriptor,
 * which Linux's f*xattr() refuse (EBADF): the calls name it as
 * /proc/self/fd/N instead, a magic link to the very inode held open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/xattr.h>
#include <unistd.h>

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

int sq_xattr_open(struct sq_xattr_file *f, const char *path, int flags)
{
	int o = O_PATH | O_CLOEXEC | ((flags & SQ_XATTR_NOFOLLOW) ? O_NOFOLLOW : 0);
	f->fd = open(path, o);
	if (f->fd < 0)
		return -errno;
	snprintf(f->via, sizeof(f->via), "/proc/self/fd/%d", f->fd);
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
	if (err == ENOENT && access("/proc/self/fd", F_OK) < 0)
		return -ENOSYS;
	return -err;
}

ssize_t sq_xattr_fget(const struct sq_xattr_file *f, const char *name,
                      void *buf, size_t size)
{
	ssize_t n = getxattr(f->via, name, buf, size);
	return n < 0 ? os_err() : n;
}

ssize_t sq_xattr_flist(const struct sq_xattr_file *f, char *buf, size_t size)
{
	ssize_t n = listxattr(f->via, buf, size);
	return n < 0 ? os_err() : n;
}

int sq_xattr_fset(const struct sq_xattr_file *f, const char *name,
                  const void *value, size_t len, enum sq_xattr_mode mode)
{
	int fl = mode == SQ_XATTR_CREATE ? XATTR_CREATE
	       : mode == SQ_XATTR_REPLACE ? XATTR_REPLACE : 0;
	return setxattr(f->via, name, value, len, fl) < 0 ? os_err() : 0;
}

int sq_xattr_fremove(const struct sq_xattr_file *f, const char *name)
{
	return removexattr(f->via, name) < 0 ? os_err() : 0;
}
