/* SPDX-License-Identifier: ISC */
/*
 * fdshare.h - the descriptor ledger: sysqd's RLIMIT_NOFILE shared out per
 * uid, as the engine shares out threads.
 *
 * sysqd raises its soft limit to the hard one at start.  A fixed reserve
 * (SQ_FD_RESERVE) is never handed out: it covers what sysqd itself holds
 * (listener, log, loop, watch sources, the /proc files sys.host keeps open
 * and /proc/sys: lib/host_linux.c, lib/sysctl_linux.c) and what is bounded
 * elsewhere (the
 * files engine threads open for a moment, one per transfer), so accept and
 * every uid's next call always find a descriptor.  The rest, the budget, is
 * charged for what a caller makes sysqd hold for as long as it likes: its
 * connections and the pidfds of the processes it watches.  A uid may hold
 * at most its share of the budget (whom the policy names with `allow
 * large-shares`, half of it); all uids but root together, three quarters
 * of it, so root always finds a quarter; past that, EMFILE.  Loop thread.
 */
#ifndef SQ_FDSHARE_H
#define SQ_FDSHARE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SQ_FD_RESERVE 256u               /* never charged to a caller */
#define SQ_DEFAULT_FDS_PER_UID 4096u     /* a uid's share, at most a quarter of the budget */
#define SQ_FD_WANT (1u << 20)            /* the soft limit sysqd asks for */

struct fduse;

struct sq_fdshare {
	uint64_t limit;      /* RLIMIT_NOFILE after raising it */
	uint64_t budget;     /* limit - reserve: what callers may hold */
	uint64_t per_uid;    /* a uid's share of it */
	uint64_t used;       /* charged now */
	uint64_t used_others; /* of which to uids other than root */
	uint64_t refused;    /* EMFILE: a uid's share or the budget was full */
	struct fduse *uids[64];
};

/* Raise RLIMIT_NOFILE (soft to hard, up to SQ_FD_WANT) and size the
 * budget; per_uid 0 means SQ_DEFAULT_FDS_PER_UID.  Logs what it got. */
void sq_fds_init(struct sq_fdshare *f, uint32_t per_uid);
/* Charge n descriptors to uid (large: half the budget): 0, or -EMFILE. */
int sq_fds_take(struct sq_fdshare *f, uid_t uid, bool large, uint64_t n);
/* Give back n descriptors charged to uid. */
void sq_fds_give(struct sq_fdshare *f, uid_t uid, uint64_t n);
/* What uid holds now. */
uint64_t sq_fds_of(const struct sq_fdshare *f, uid_t uid);
/* Every uid holding any (up to max), for sys.stats; returns how many. */
size_t sq_fds_list(const struct sq_fdshare *f, uid_t *uids, uint64_t *held, size_t max);
void sq_fds_free(struct sq_fdshare *f);

#endif
