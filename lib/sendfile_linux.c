/* SPDX-License-Identifier: ISC */
/*
 * sendfile_linux.c - sq_sendfile on Linux: sendfile(2) with an explicit
 * offset, so the descriptor's own file position is never touched and
 * several threads could send from one descriptor.
 */
#include <errno.h>
#include <sys/sendfile.h>

#include "sq_sendfile.h"

ssize_t sq_sendfile(int sock, int fd, off_t off, size_t len)
{
	if (len == 0)
		return 0;
	if (len > SQ_SENDFILE_MAX)
		len = SQ_SENDFILE_MAX;
	off_t pos = off;
	ssize_t n = sendfile(sock, fd, &pos, len);
	return n < 0 ? -errno : n;
}
