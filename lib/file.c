/* SPDX-License-Identifier: ISC */
/*
 * file.c - sq_file_open_read: open a regular file for streaming, refusing
 * everything else by its type before and after the open (see sq_file.h).
 * Portable: the path goes through sq_callerpath (never through sysqd's
 * own process), the rest is the same POSIX calls on Linux and macOS.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sq_callerpath.h"
#include "sq_file.h"

const char *sq_file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFSOCK: return "a socket";
	case S_IFLNK: return "a symbolic link";
	default: return "not a regular file";
	}
}

static int check_kind(mode_t mode)
{
	if (S_ISREG(mode))
		return 0;
	if (S_ISDIR(mode))
		return -EISDIR;
	if (S_ISLNK(mode))
		return -ELOOP; /* only lstat (nofollow) reports a link */
	return -ENOTSUP;
}

int sq_file_open_read(const char *path, bool nofollow, struct sq_file_info *info)
{
	struct stat st;
	int rc;

	info->size = 0;
	info->size_known = false;
	info->mode = 0;
	if ((rc = sq_callerpath_stat(path, nofollow, &st)) < 0)
		return rc;
	info->mode = st.st_mode;
	if ((rc = check_kind(st.st_mode)) < 0)
		return rc;

	int flags = O_RDONLY | O_NOCTTY | O_NONBLOCK;
	if (nofollow)
		flags |= O_NOFOLLOW;
	int fd = sq_callerpath_open(path, flags);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	info->mode = st.st_mode;
	if ((rc = check_kind(st.st_mode)) < 0 || st.st_size < 0) {
		close(fd);
		return rc < 0 ? rc : -EOVERFLOW;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	info->size = (uint64_t)st.st_size;
	info->size_known = sq_file_size_known(fd, &st);
	return fd;
}
