/* SPDX-License-Identifier: ISC */
/*
 * callerpath_darwin.c - a caller's path on macOS: resolved with realpath(3)
 * as the caller, refused if it lands in fdesc (/dev/fd/N and /dev/std*,
 * which hand out sysqd's own descriptors), then opened with O_NOFOLLOW_ANY
 * so that a link swapped in after the check is not followed either.  To act
 * on a final link itself (O_SYMLINK, O_NOFOLLOW) only its directory is
 * resolved, and the last name opened in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/param.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sq_callerpath.h"

#ifndef O_NOFOLLOW_ANY
#define O_NOFOLLOW_ANY 0x20000000 /* macOS 11 */
#endif
#ifndef AT_SYMLINK_NOFOLLOW_ANY
#define AT_SYMLINK_NOFOLLOW_ANY 0x0800 /* macOS 11 */
#endif
#ifdef O_SEARCH
#define DIR_FLAGS (O_SEARCH | O_NOFOLLOW_ANY | O_CLOEXEC)
#else
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW_ANY | O_CLOEXEC)
#endif

/* Refuse a resolved path in fdesc: by its name, and by the type of the
 * file system its directory is on (fdesc may be mounted elsewhere). */
static int check_fdesc(const char *real, bool real_is_dir)
{
	if (strcmp(real, "/dev/fd") == 0 || strncmp(real, "/dev/fd/", 8) == 0)
		return -EXDEV;
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", real);
	char *s = strrchr(dir, '/');
	if (!real_is_dir && s)
		s[s == dir ? 1 : 0] = '\0';
	struct statfs sf;
	if (statfs(dir, &sf) < 0)
		return -errno;
	return strcmp(sf.f_fstypename, "fdesc") == 0 ? -EXDEV : 0;
}

/* For a final link itself: the resolved directory of path, opened, and its
 * last name in *last.  Returns the directory's descriptor or -errno. */
static int open_parent(const char *path, const char **last)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash[1] == '\0')
		return -EINVAL; /* callers pass absolute paths naming an entry */
	char dir[PATH_MAX], real[PATH_MAX];
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = '\0';
	*last = slash + 1;
	if (!realpath(dir, real))
		return -errno;
	int rc = check_fdesc(real, true);
	if (rc < 0)
		return rc;
	int dfd = open(real, DIR_FLAGS);
	return dfd < 0 ? -errno : dfd;
}

/* The whole of path resolved into real, and checked. */
static int resolve(const char *path, char *real)
{
	if (!realpath(path, real))
		return -errno;
	return check_fdesc(real, false);
}

void sq_callerpath_force_walk(int on)
{
	(void)on; /* the realpath check is the only way here */
}

int sq_callerpath_open(const char *path, int flags)
{
	if (flags & (O_NOFOLLOW | O_SYMLINK)) {
		const char *last;
		int dfd = open_parent(path, &last);
		if (dfd < 0)
			return dfd;
		int fd = openat(dfd, last, flags | O_CLOEXEC);
		int err = errno;
		close(dfd);
		return fd < 0 ? -err : fd;
	}
	char real[PATH_MAX];
	int rc = resolve(path, real);
	if (rc < 0)
		return rc;
	int fd = open(real, flags | O_NOFOLLOW_ANY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int sq_callerpath_stat(const char *path, bool nofollow, struct stat *st)
{
	if (nofollow) {
		const char *last;
		int dfd = open_parent(path, &last);
		if (dfd < 0)
			return dfd;
		int rc = fstatat(dfd, last, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
		close(dfd);
		return rc;
	}
	char real[PATH_MAX];
	int rc = resolve(path, real);
	if (rc < 0)
		return rc;
	return fstatat(AT_FDCWD, real, st, AT_SYMLINK_NOFOLLOW_ANY) < 0 ? -errno : 0;
}
