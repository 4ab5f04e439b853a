/* SPDX-License-Identifier: ISC */
/*
 * sq_self.h - the daemon's view of its own resource use, for sys.stats:
 * threads, open descriptors and resident memory.
 */
#ifndef SQ_SELF_H
#define SQ_SELF_H

#include <stdint.h>

struct sq_self {
	int64_t threads;    /* -1 when unknown */
	int64_t open_fds;
	uint64_t rss_bytes;
};

/* 0, or a negative errno; fields it could not read are -1 / 0. */
int sq_self_read(struct sq_self *s);

#endif
