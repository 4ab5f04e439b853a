/* SPDX-License-Identifier: ISC */
/*
 * test_ident.c - lib/sq_ident.h on real threads: what a thread is (res ids,
 * groups, capabilities, read back from the kernel) after sq_ident_become
 * with one caller, the same again, callers differing only in groups or gid,
 * root, and back to the daemon; mixing the two ways of switching aborts.
 * Needs root (it hardens like sysqd).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/capability.h>
#include <sys/syscall.h>
#endif

#include "sq_harden.h"
#include "sq_ident.h"

#define NOBODY 65534
#define SKIP_UNLESS_ROOT() do { if (geteuid() != 0) \
	cr_skip_test("SKIPPED: needs root (run make test as root)"); } while (0)

static gid_t g_nobody[] = { NOBODY };
static gid_t g_two[] = { NOBODY, 100 };
static gid_t g_root[] = { 0 };
static struct sq_cred nobody = { NOBODY, NOBODY, 1, 1, g_nobody };
static struct sq_cred nobody_copy = { NOBODY, NOBODY, 2, 1, (gid_t[]){ NOBODY } };
static struct sq_cred more_groups = { NOBODY, NOBODY, 1, 2, g_two };
static struct sq_cred other_gid = { NOBODY, 100, 1, 2, g_two };
static struct sq_cred root = { 0, 0, 1, 1, g_root };

#ifdef __linux__

/* What the calling thread is, as the kernel says. */
struct snap {
	int rc;                      /* of the step */
	int kept;                    /* sq_ident_kept() after it */
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int ngroups;
	gid_t groups[16];
	uint32_t eff[2], perm[2];
};

static void take(struct snap *s)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	getresuid(&s->ru, &s->eu, &s->su);
	getresgid(&s->rg, &s->eg, &s->sg);
	s->ngroups = getgroups(16, s->groups);
	memset(data, 0, sizeof(data));
	syscall(SYS_capget, &hdr, data);
	s->eff[0] = data[0].effective, s->eff[1] = data[1].effective;
	s->perm[0] = data[0].permitted, s->perm[1] = data[1].permitted;
	s->kept = sq_ident_kept();
}

static int has_cap(const uint32_t *set, int cap)
{
	return (set[cap / 32] >> (cap % 32)) & 1;
}

/* NULL: sq_ident_drop */
static const struct sq_cred *const steps[] = {
	&nobody, &nobody_copy, &more_groups, &other_gid, &root, &nobody, &root, NULL, NULL,
};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

struct run {
	struct snap start, after[NSTEPS];
};

static void *walk(void *arg)
{
	struct run *x = arg;
	take(&x->start);
	for (size_t i = 0; i < NSTEPS; i++) {
		int rc = 0;
		if (steps[i])
			rc = sq_ident_become(steps[i]);
		else
			sq_ident_drop();
		take(&x->after[i]);
		x->after[i].rc = rc;
	}
	return NULL;
}

static void expect_ids(const struct snap *s, size_t step, uid_t uid, gid_t gid,
                       const struct snap *daemon, const gid_t *groups, int ngroups)
{
	cr_assert_eq(s->rc, 0, "step %zu: %s", step, strerror(-s->rc));
	/* only the effective uid is the caller's: the real one stays sysqd's,
	 * or the caller could signal the thread (lib/ident_linux.c) */
	cr_assert(s->ru == daemon->ru && s->eu == uid && s->su == daemon->su,
	          "step %zu: res uid %u %u %u, want %u %u %u", step, (unsigned)s->ru,
	          (unsigned)s->eu, (unsigned)s->su, (unsigned)daemon->ru, (unsigned)uid,
	          (unsigned)daemon->su);
	cr_assert(s->rg == gid && s->eg == gid && s->sg == daemon->sg,
	          "step %zu: res gid %u %u %u, want %u %u %u", step, (unsigned)s->rg,
	          (unsigned)s->eg, (unsigned)s->sg, (unsigned)gid, (unsigned)gid,
	          (unsigned)daemon->sg);
	cr_assert_eq(s->ngroups, ngroups, "step %zu: %d groups, want %d", step, s->ngroups,
	             ngroups);
	/* as sets: the kernel keeps groups sorted */
	for (int i = 0; i < ngroups; i++) {
		bool found = false;
		for (int k = 0; k < ngroups; k++)
			found |= s->groups[k] == groups[i];
		cr_assert(found, "step %zu: not in group %u", step, (unsigned)groups[i]);
	}
	/* what may come back never changes; only what is in effect does */
	cr_assert(s->perm[0] == daemon->perm[0] && s->perm[1] == daemon->perm[1],
	          "step %zu: permitted capabilities changed", step);
}

static void expect_daemon(const struct snap *s, size_t step, const struct snap *daemon)
{
	expect_ids(s, step, daemon->eu, daemon->eg, daemon, daemon->groups, daemon->ngroups);
	cr_assert(s->eff[0] == daemon->eff[0] && s->eff[1] == daemon->eff[1],
	          "step %zu: effective capabilities %08x %08x, the daemon's are %08x %08x", step,
	          s->eff[1], s->eff[0], daemon->eff[1], daemon->eff[0]);
	cr_assert_eq(s->kept, 0, "step %zu: still keeps an identity", step);
}

static void expect_nobody(const struct snap *s, size_t step, const struct snap *daemon,
                          gid_t gid, const gid_t *groups, int ngroups)
{
	expect_ids(s, step, NOBODY, gid, daemon, groups, ngroups);
	cr_assert(s->eff[0] == 0 && s->eff[1] == 0, "step %zu: capabilities in effect as "
	          "nobody: %08x %08x", step, s->eff[1], s->eff[0]);
	cr_assert_eq(s->kept, 1, "step %zu", step);
}

Test(ident, become_keeps_exactly_one_caller_and_goes_back_whole)
{
	SKIP_UNLESS_ROOT();
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct had[2];
	cr_assert_eq(syscall(SYS_capget, &hdr, had), 0);
	uint32_t had_perm[2] = { had[0].permitted, had[1].permitted };
	sq_ident_init();
	char why[256];
	cr_assert_eq(sq_harden_process(why, sizeof(why)), 0, "%s", why);

	/* a new thread: capability sets are per thread, inherited from this one */
	struct run x;
	memset(&x, 0, sizeof(x));
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, walk, &x), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);

	const struct snap *d = &x.start, *a = x.after;
	cr_assert(d->ru == 0 && d->eu == 0 && d->su == 0);
	cr_assert_eq(d->kept, 0);
	cr_assert(!has_cap(d->eff, CAP_DAC_OVERRIDE), "the daemon itself has dac_override");
	expect_nobody(&a[0], 0, d, NOBODY, g_nobody, 1);
	expect_nobody(&a[1], 1, d, NOBODY, g_nobody, 1);             /* the same: kept */
	expect_nobody(&a[2], 2, d, NOBODY, g_two, 2);                /* groups differ */
	expect_nobody(&a[3], 3, d, 100, g_two, 2);                   /* gid differs */
	/* root: what root has itself, the daemon's own and the root-caller set */
	expect_ids(&a[4], 4, 0, 0, d, g_root, 1);
	cr_assert_eq(a[4].kept, 1);
	for (int cap = 0; cap < 64; cap++)
		cr_assert(!has_cap(d->eff, cap) || has_cap(a[4].eff, cap), "root lost cap %d", cap);
	if (has_cap(had_perm, CAP_DAC_OVERRIDE))
		cr_assert(has_cap(a[4].eff, CAP_DAC_OVERRIDE), "root caller without dac_override");
	if (has_cap(had_perm, CAP_SYS_ADMIN))
		cr_assert(has_cap(a[4].eff, CAP_SYS_ADMIN), "root caller without sys_admin");
	/* root, then nobody: nothing of root's carried over */
	expect_nobody(&a[5], 5, d, NOBODY, g_nobody, 1);
	expect_ids(&a[6], 6, 0, 0, d, g_root, 1);
	/* back to the daemon straight from root: its extra capabilities go */
	expect_daemon(&a[7], 7, d);
	expect_daemon(&a[8], 8, d);
}

#endif /* __linux__ */

/* ---- the two ways never mix on one thread ---------------------------------- */

Test(ident, enter_on_a_thread_that_keeps_an_identity_aborts, .signal = SIGABRT)
{
	SKIP_UNLESS_ROOT();
	sq_ident_init();
	cr_assert_eq(sq_ident_become(&nobody), 0);
	cr_assert_eq(sq_ident_kept(), 1);
	sq_ident_enter(&root);
	cr_assert_fail("sq_ident_enter returned on a thread keeping an identity");
}

Test(ident, leave_on_a_thread_that_keeps_an_identity_aborts, .signal = SIGABRT)
{
	SKIP_UNLESS_ROOT();
	sq_ident_init();
	cr_assert_eq(sq_ident_become(&nobody), 0);
	sq_ident_leave();
	cr_assert_fail("sq_ident_leave returned on a thread keeping an identity");
}

Test(ident, become_between_enter_and_leave_aborts, .signal = SIGABRT)
{
	sq_ident_init();
	/* as root: nobody; otherwise the daemon's own uid, which also counts */
	struct sq_cred me = { geteuid(), getegid(), 1, 0, NULL };
	cr_assert_eq(sq_ident_enter(geteuid() == 0 ? &nobody : &me), 0);
	sq_ident_become(&nobody);
	cr_assert_fail("sq_ident_become returned between enter and leave");
}

/* A daemon that is not root keeps nothing: its own uid is served as is,
 * everyone else refused. */
Test(ident, a_daemon_that_is_not_root_keeps_nothing)
{
	SKIP_UNLESS_ROOT();
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		if (setgroups(1, g_nobody) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(10);
		sq_ident_init();
		if (sq_ident_can_switch())
			_exit(11);
		if (sq_ident_become(&nobody) != 0 || sq_ident_kept())
			_exit(12);
		if (sq_ident_become(&root) != -EPERM || sq_ident_kept())
			_exit(13);
		sq_ident_drop();
		_exit(geteuid() == NOBODY ? 0 : 14);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "child died: %d", st);
	cr_assert_eq(WEXITSTATUS(st), 0, "failed at check %d", WEXITSTATUS(st));
}
