/* SPDX-License-Identifier: ISC */
/*
 * dents_linux.c - counting a directory's entries with raw getdents64
 * (dents_linux.h): one open (or the caller's descriptor), a few syscalls
 * into the caller's buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dents_linux.h"

int sq_dents_count(int dirfd, const char *path, char *buf, size_t size,
                   bool (*keep)(const char *name), uint64_t *out)
{
	int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = sq_dents_count_fd(fd, buf, size, keep, out);
	close(fd);
	return rc;
}

int sq_dents_count_fd(int fd, char *buf, size_t size, bool (*keep)(const char *name),
                      uint64_t *out)
{
	uint64_t n = 0;
	for (;;) {
		long got = syscall(SYS_getdents64, fd, buf, size);
		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		for (long off = 0; off < got;) {
			/* struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name */
			unsigned short reclen;
			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			n += keep(buf + off + 19);
			off += reclen;
		}
	}
	*out = n;
	return 0;
}
