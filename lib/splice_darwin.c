/* SPDX-License-Identifier: ISC */
/*
 * splice_darwin.c - macOS has no splice(2): sq_splice_init says -ENOSYS and
 * callers copy with recv/write.
 */
#include <errno.h>

#include "sq_splice.h"

int sq_splice_init(struct sq_splice *s)
{
	s->pipe[0] = s->pipe[1] = -1;
	s->cap = 0;
	s->refused = true;
	return -ENOSYS;
}

void sq_splice_free(struct sq_splice *s)
{
	(void)s;
}

ssize_t sq_splice_move(struct sq_splice *s, int from, int to, size_t len)
{
	(void)s;
	(void)from;
	(void)to;
	(void)len;
	return -ENOSYS;
}
