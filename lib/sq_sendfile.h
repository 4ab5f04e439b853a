/* SPDX-License-Identifier: ISC */
/*
 * sq_sendfile.h - one call that moves file bytes straight into a socket
 * (sendfile(2)), with the Linux and macOS signatures hidden behind it.
 *
 * Linux: sendfile(out, in, &off, count).  macOS: sendfile(in, out, off, &len,
 * NULL, 0), which may report bytes sent together with EAGAIN/EINTR.
 */
#ifndef SQ_SENDFILE_H
#define SQ_SENDFILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Send up to len bytes of fd, starting at off, into the stream socket sock.
 * The file position of fd is not used or changed.
 * Returns the bytes sent (> 0; possibly fewer than len), 0 when off is at or
 * past the end of the file (or len is 0), or a negative errno: -EAGAIN when a
 * non-blocking sock is full and nothing was sent, -EINTR, -EPIPE...
 * -EINVAL/-ENOSYS/-ENOTSUP/-EOPNOTSUPP mean this fd/socket pair cannot be
 * sent with sendfile: copy with pread/write instead.
 */
ssize_t sq_sendfile(int sock, int fd, off_t off, size_t len);

/* The largest len one call passes to the kernel (larger requests are cut). */
#define SQ_SENDFILE_MAX ((size_t)1 << 30)

#endif
