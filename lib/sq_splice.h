/* SPDX-License-Identifier: ISC */
/*
 * sq_splice.h - move bytes from a stream socket to a file or device without
 * copying them through user space: on Linux splice(2) through a pipe of our
 * own (socket -> pipe -> output); elsewhere sq_splice_init says -ENOSYS and
 * the caller copies with recv/write.
 */
#ifndef SQ_SPLICE_H
#define SQ_SPLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct sq_splice {
	int pipe[2];
	size_t cap;     /* the most one move asks of the socket: the pipe's size */
	bool refused;   /* the output refused splice once: copy from now on */
	bool out_failed; /* the last error was the output's, not the socket's */
};

/* The pipe, as large as the system lets us (up to 1 MiB); 0 or -errno
 * (-ENOSYS: this OS has no splice). */
int sq_splice_init(struct sq_splice *s);
void sq_splice_free(struct sq_splice *s);

/*
 * Move at most len bytes (never more) from the stream socket `from` to
 * `to`, at to's file position.  Returns the bytes moved (> 0), 0 when the
 * peer closed the socket, or -errno.  When `to` refuses splice (-EINVAL),
 * what was already taken from the socket is read back from the pipe and
 * written with write(2), the count is returned as usual, and s->refused is
 * set so that the caller copies from then on.  -EINVAL with s->refused
 * set: nothing was taken from the socket, which cannot be spliced from.
 */
ssize_t sq_splice_move(struct sq_splice *s, int from, int to, size_t len);

#endif
