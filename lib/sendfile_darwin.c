/* SPDX-License-Identifier: ISC */
/*
 * sendfile_darwin.c - sq_sendfile on macOS: sendfile(fd, s, offset, &len,
 * NULL, 0).  len is in/out; on EAGAIN or EINTR it still says how much went
 * out, and that partial count is what we report.  len == 0 would mean "to
 * the end of the file" to the kernel, so it never reaches it.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "sq_sendfile.h"

ssize_t sq_sendfile(int sock, int fd, off_t off, size_t len)
{
	if (len == 0)
		return 0;
	if (len > SQ_SENDFILE_MAX)
		len = SQ_SENDFILE_MAX;
	off_t n = (off_t)len;
	if (sendfile(fd, sock, off, &n, NULL, 0) == 0)
		return (ssize_t)n; /* 0: off was at or past the end of the file */
	int err = errno;
	if (n > 0 && (err == EAGAIN || err == EINTR))
		return (ssize_t)n;
	return -err;
}
