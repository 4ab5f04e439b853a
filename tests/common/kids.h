/* SPDX-License-Identifier: ISC */
/*
 * kids.h - child processes for tests, shared by the unit and integration
 * suites: each dies with the test process (Linux: PR_SET_PDEATHSIG) and is
 * remembered until reaped, so a suite's .fini can kill and reap whatever an
 * assertion that ended a test early left behind.
 */
#ifndef SQ_TEST_KIDS_H
#define SQ_TEST_KIDS_H

#include <sys/types.h>

/* In a forked child: get SIGKILL when the test process dies (Linux), so a
 * test that crashes or times out leaves nothing behind. */
void die_with_parent(void);
/* Fork a child that runs fn(arg) then exits 0; returns its pid once it is
 * ready: it called kid_ready(), or exec'd, or exited. */
pid_t kid_spawn(void (*fn)(void *), void *arg);
/* In a child of kid_spawn: tell the parent it may go on. */
void kid_ready(void);
/* Fork a child that only sleeps (pause() forever); returns at once. */
pid_t kid_sleeper(void);
/* Wait (10 s at most) until child pid has exec'd as far as /proc shows:
 * its comm is comm and its argument list is in place.  (exec closes
 * close-on-exec descriptors and sets comm before the new program's stack
 * and arguments are laid out, so a ready pipe and the new comm are not
 * enough for a test that reads /proc/PID/cmdline.)  Linux. */
void kid_wait_exec(pid_t pid, const char *comm);
/* Fork a child that execs argv[0] with argv (dying with the test process),
 * stdin from in, stdout and stderr to out and err (created or truncated,
 * 0644; the same path for both: one file); NULL leaves one as it is.
 * Returns its pid once it has exec'd (or exited: 126 when a file would not
 * open, 127 when the exec failed). */
pid_t kid_exec(const char *const *argv, const char *in, const char *out, const char *err);
/* Wait for child pid to exit, then forget it: its exit status, or 128 +
 * the signal that killed it. */
int kid_wait(pid_t pid);
/* SIGKILL, reap and forget one child. */
void kid_reap(pid_t pid);
/* Forget a child reaped some other way. */
void kid_forget(pid_t pid);
/* SIGKILL and reap every child still remembered (a suite's .fini). */
void kid_reap_all(void);

#endif
