/* SPDX-License-Identifier: ISC */
/*
 * xattr_darwin.c - extended attributes on macOS through an open descriptor
 * and fgetxattr/fsetxattr/fremovexattr/flistxattr (position 0, no options).
 * The kernel checks each call against the thread's credential.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "sq_callerpath.h"
#include "sq_xattr.h"

const int sq_xattr_enoattr = ENOATTR;

enum sq_xattr_via sq_xattr_via(void)
{
	return SQ_XATTR_VIA_FD;
}

void sq_xattr_force_paths(int on)
{
	(void)on; /* the descriptor is all there is */
}

/* macOS has no O_PATH: the file is opened read-only (O_NONBLOCK so a FIFO
 * cannot block, O_NOCTTY); with nofollow, O_SYMLINK opens a final symlink
 * itself rather than its target.  To set or remove, a file the caller may
 * write but not read is opened write-only (a directory: O_SEARCH). */
int sq_xattr_open(struct sq_xattr_file *f, const char *path, int flags)
{
	int base = O_NONBLOCK | O_NOCTTY | ((flags & SQ_XATTR_NOFOLLOW) ? O_SYMLINK : 0);
	f->via[0] = '\0';
	f->fd = sq_callerpath_open(path, O_RDONLY | base);
	if (f->fd >= 0)
		return 0;
	int err = f->fd;
	if (err != -EACCES || !(flags & SQ_XATTR_WRITE))
		return err;
	f->fd = sq_callerpath_open(path, O_WRONLY | base);
#ifdef O_SEARCH
	if (f->fd == -EISDIR)
		f->fd = sq_callerpath_open(path, O_SEARCH | base);
#endif
	return f->fd < 0 ? err : 0;
}

void sq_xattr_close(struct sq_xattr_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

ssize_t sq_xattr_fget(const struct sq_xattr_file *f, const char *name,
                      void *buf, size_t size)
{
	ssize_t n = fgetxattr(f->fd, name, buf, size, 0, 0);
	return n < 0 ? -errno : n;
}

ssize_t sq_xattr_flist(const struct sq_xattr_file *f, char *buf, size_t size)
{
	ssize_t n = flistxattr(f->fd, buf, size, 0);
	return n < 0 ? -errno : n;
}

int sq_xattr_fset(const struct sq_xattr_file *f, const char *name,
                  const void *value, size_t len, enum sq_xattr_mode mode)
{
	int fl = mode == SQ_XATTR_CREATE ? XATTR_CREATE
	       : mode == SQ_XATTR_REPLACE ? XATTR_REPLACE : 0;
	return fsetxattr(f->fd, name, value, len, 0, fl) < 0 ? -errno : 0;
}

int sq_xattr_fremove(const struct sq_xattr_file *f, const char *name)
{
	return fremovexattr(f->fd, name, 0) < 0 ? -errno : 0;
}
