/* SPDX-License-Identifier: ISC */
/*
 * fdshare.c - the descriptor ledger (see fdshare.h): the limit, the
 * reserve, and what each uid holds, in a small hash of the uids holding any.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "fdshare.h"
#include "log.h"

struct fduse {
	struct fduse *next;
	uid_t uid;
	uint64_t held;
};

static struct fduse **bucket(struct sq_fdshare *f, uid_t uid)
{
	return &f->uids[(unsigned)uid % (sizeof(f->uids) / sizeof(f->uids[0]))];
}

static uint64_t raise_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > SQ_FD_WANT
	              ? SQ_FD_WANT : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		struct rlimit up = { want, rl.rlim_max };
		/* macOS refuses more than OPEN_MAX (kern.maxfilesperproc): keep
		 * what we have then */
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl.rlim_cur = want;
	}
	return rl.rlim_cur == RLIM_INFINITY ? SQ_FD_WANT : (uint64_t)rl.rlim_cur;
}

void sq_fds_init(struct sq_fdshare *f, uint32_t per_uid)
{
	*f = (struct sq_fdshare){ 0 };
	f->limit = raise_limit();
	/* a limit too small for the reserve: half of it, and say so */
	f->budget = f->limit >= 2 * SQ_FD_RESERVE ? f->limit - SQ_FD_RESERVE : f->limit / 2;
	uint64_t want = per_uid ? per_uid : SQ_DEFAULT_FDS_PER_UID;
	f->per_uid = want < f->budget / 4 ? want : f->budget / 4;
	if (f->per_uid == 0)
		f->per_uid = 1;
	sq_log(f->limit < 2 * SQ_FD_RESERVE ? SQ_LOG_WARN : SQ_LOG_INFO,
	       "descriptors: limit %llu, %llu for callers, %llu per user",
	       (unsigned long long)f->limit, (unsigned long long)f->budget,
	       (unsigned long long)f->per_uid);
}

static struct fduse *use_of(const struct sq_fdshare *f, uid_t uid)
{
	for (struct fduse *u = *bucket((struct sq_fdshare *)f, uid); u; u = u->next)
		if (u->uid == uid)
			return u;
	return NULL;
}

uint64_t sq_fds_of(const struct sq_fdshare *f, uid_t uid)
{
	const struct fduse *u = use_of(f, uid);
	return u ? u->held : 0;
}

int sq_fds_take(struct sq_fdshare *f, uid_t uid, bool large, uint64_t n)
{
	struct fduse *u = use_of(f, uid);
	uint64_t held = u ? u->held : 0;
	uint64_t cap = uid == 0 ? f->budget : large ? f->budget / 2 : f->per_uid;
	if (n > f->budget - f->used || held + n > cap ||
	    (uid != 0 && n > f->budget - f->budget / 4 - f->used_others)) {
		f->refused++;
		return -EMFILE;
	}
	if (n == 0)
		return 0;
	if (!u) {
		if (!(u = calloc(1, sizeof(*u))))
			return -ENOMEM;
		u->uid = uid;
		u->next = *bucket(f, uid);
		*bucket(f, uid) = u;
	}
	u->held += n;
	f->used += n;
	if (uid != 0)
		f->used_others += n;
	return 0;
}

void sq_fds_give(struct sq_fdshare *f, uid_t uid, uint64_t n)
{
	struct fduse **p = bucket(f, uid);
	while (*p && (*p)->uid != uid)
		p = &(*p)->next;
	struct fduse *u = *p;
	if (!u || n == 0)
		return;
	n = n < u->held ? n : u->held;
	u->held -= n;
	f->used -= n;
	if (uid != 0)
		f->used_others -= n;
	if (u->held == 0) {
		*p = u->next;
		free(u);
	}
}

size_t sq_fds_list(const struct sq_fdshare *f, uid_t *uids, uint64_t *held, size_t max)
{
	size_t n = 0;
	for (size_t b = 0; b < sizeof(f->uids) / sizeof(f->uids[0]); b++)
		for (const struct fduse *u = f->uids[b]; u && n < max; u = u->next) {
			uids[n] = u->uid;
			held[n++] = u->held;
		}
	return n;
}

void sq_fds_free(struct sq_fdshare *f)
{
	for (size_t b = 0; b < sizeof(f->uids) / sizeof(f->uids[0]); b++)
		while (f->uids[b]) {
			struct fduse *u = f->uids[b];
			f->uids[b] = u->next;
			free(u);
		}
}
