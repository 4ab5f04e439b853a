/* SPDX-License-Identifier: ISC */
/*
 * splice_linux.c - sq_splice on Linux: socket -> pipe with splice(2), then
 * pipe -> output with splice(2) until the pipe is empty again, so every
 * call leaves nothing behind in the pipe.  An output that refuses splice
 * (EINVAL: O_APPEND, a file system without splice_write) gets the bytes
 * already in the pipe by read/write instead; a socket that cannot be
 * spliced from (EINVAL before anything was taken) is reported as is.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "sq_splice.h"

#define WANT_PIPE ((size_t)1 << 20)

int sq_splice_init(struct sq_splice *s)
{
	s->refused = false;
	if (pipe2(s->pipe, O_CLOEXEC) < 0) {
		s->pipe[0] = s->pipe[1] = -1;
		return -errno;
	}
	(void)fcntl(s->pipe[1], F_SETPIPE_SZ, (int)WANT_PIPE); /* a smaller one works too */
	int cap = fcntl(s->pipe[1], F_GETPIPE_SZ);
	s->cap = cap > 0 ? (size_t)cap : 65536;
	return 0;
}

void sq_splice_free(struct sq_splice *s)
{
	if (s->pipe[0] >= 0)
		close(s->pipe[0]);
	if (s->pipe[1] >= 0)
		close(s->pipe[1]);
	s->pipe[0] = s->pipe[1] = -1;
}

/* left bytes are in the pipe and `to` refused splice: read/write them. */
static int copy_out(struct sq_splice *s, int to, size_t left)
{
	char buf[16384];
	while (left) {
		ssize_t n = read(s->pipe[0], buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		for (ssize_t off = 0; off < n;) {
			ssize_t k = write(to, buf + off, (size_t)(n - off));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return -errno;
			off += k;
		}
		left -= (size_t)n;
	}
	return 0;
}

ssize_t sq_splice_move(struct sq_splice *s, int from, int to, size_t len)
{
	s->out_failed = false;
	if (len > s->cap)
		len = s->cap;
	ssize_t in;
	do
		in = splice(from, NULL, s->pipe[1], NULL, len, SPLICE_F_MOVE);
	while (in < 0 && errno == EINTR);
	if (in < 0 && errno == EINVAL)
		s->refused = true; /* this socket cannot be spliced: nothing was taken */
	if (in <= 0)
		return in < 0 ? -errno : 0;
	size_t left = (size_t)in;
	while (left) {
		ssize_t out = s->refused ? -1 : splice(s->pipe[0], NULL, to, NULL, left, SPLICE_F_MOVE);
		if (out < 0 && !s->refused && errno == EINTR)
			continue;
		if (out <= 0) {
			s->out_failed = true;
			if (!s->refused && (out == 0 || errno != EINVAL))
				return out < 0 ? -errno : -EIO;
			s->refused = true;
			int rc = copy_out(s, to, left);
			return rc < 0 ? rc : in;
		}
		left -= (size_t)out;
	}
	return in;
}
