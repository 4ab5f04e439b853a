/* SPDX-License-Identifier: ISC */
/*
 * harness.h - integration tests against a real sysqd: start one on a
 * private socket, connect with libsysq, call with JSON params, run a piece
 * of a test as another user, and stop the daemon checking it exits 0
 * (under ASan, a leak or error makes that exit status non-zero; a failure
 * in a suite's tear-down counts: tests/common/teardown.c).
 */
#ifndef SQ_HARNESS_H
#define SQ_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "kids.h"     /* die_with_parent, test children */
#include "libsysq.h"

struct sqd {
	pid_t pid;
	char dir[64];       /* private, world-traversable temp dir */
	char sock[108];
	char log[128];      /* the daemon's stderr */
};

/* Start build/<variant>/sysqd (env SQ_SYSQD) with extra args (NULL-ended). */
void sqd_start(struct sqd *d, const char *const *args);
/* ... with RLIMIT_NOFILE nofile (soft and hard). */
void sqd_start_nofile(struct sqd *d, const char *const *args, unsigned nofile);
/* ... with prepare(d, arg, why, size) run in the daemon's child before it
 * becomes sysqd (a namespace of its own, mounts, interfaces): when it
 * returns non-zero, having said why, the test is skipped with that reason
 * (SKIPPED: ...).  nofile 0 leaves RLIMIT_NOFILE alone. */
void sqd_start_prepared(struct sqd *d, const char *const *args, unsigned nofile,
                        int (*prepare)(const struct sqd *d, void *arg, char *why, size_t size),
                        void *arg);
/* SIGTERM and wait; returns the exit status (or 128+signal). */
int sqd_stop(struct sqd *d);
/* Stop, assert a clean exit, remove the temp dir. */
void sqd_stop_clean(struct sqd *d);
struct sysq *sqd_connect(const struct sqd *d);
/* A raw connected socket (for hostile-frame tests). */
int sqd_raw_connect(const struct sqd *d);
/* Call with params as JSON text (NULL for none). Returns libsysq's code. */
int sq_call(struct sysq *c, const char *method, const char *json, struct sysq_reply *r);

/* Run fn(arg) in a child process with uid/gid switched (setgroups, setgid,
 * setuid); returns the child's exit status (fn's return value). */
int run_as(uid_t uid, gid_t gid, int (*fn)(void *), void *arg);
/* In a child: become uid/gid with no supplementary groups, or _exit(120);
 * it still dies with its parent. */
void become_or_exit(uid_t uid, gid_t gid);
/* Send METHOD {"path": path} on c and do not wait for the answer: 0, or
 * libsysq's error. */
int send_path_call(struct sysq *c, const char *method, const char *path);
/* The daemon's value for a sys.stats field: a key, or a path of keys
 * through its maps ("watch/proc/read"); a bool is 0 or 1. */
long long sqd_stat(const struct sqd *d, const char *field);
/* The text of a file, NUL-terminated, malloc'd (empty string on error). */
char *slurp(const char *path);

/* Run `sh -c cmd`; its stdout (stderr stays the test's) into out, cut to
 * size - 1 bytes and NUL-terminated.  Returns its exit status, or 128 when a
 * signal ended it. */
int shell_out(const char *cmd, char *out, size_t size);
/* `sysq -s d's-socket ARGS` (env SQ_SYSQ), ARGS printf-formatted and given to
 * the shell as they are (so "... 2>&1" takes stderr too); as shell_out. */
int sqd_cli(const struct sqd *d, char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

bool have_root(void);
/* Whether something accepts connections on the socket path now. */
bool sqd_connectable(const char *sock);
/* A private mount namespace for this test process, and a 64 MiB tmpfs of
 * it mounted on a new directory /tmp/PREFIX.XXXXXX (its path in top): what a
 * test leaves there goes away with the namespace, even when the test is
 * killed on a timeout.  Skips the test (saying why) without root, a mount
 * namespace or tmpfs; top is "" then.  (Linux.) */
void ns_private_tmpfs(char *top, size_t size, const char *prefix);
/* A new network namespace for the calling process (lo in it down, unless
 * lo_up); -1 with the reason in why when it cannot be had.  Asserts
 * nothing: a forked child may call it.  (Linux.) */
int ns_net_enter(bool lo_up, char *why, size_t size);
/* A private network namespace for this test process, only lo in it (down
 * unless lo_up): skips the test (saying why) without root or the namespace,
 * or when lo cannot be brought up.  (Linux.) */
void ns_private_net(bool lo_up);
/* FUSE: skip the test (saying why) unless /dev/fuse, the kernel's fuse and
 * python3-fusepy are there. */
void fuse_need(void);
/* Mount tests/integration/fuse_hang.py on mp (created, 0755): its statfs,
 * lookups of "hang*" and reads of "file" wait until release exists.  Its
 * output goes to log.  Returns its pid once the mount is there (asserts);
 * it dies with the test.  (Linux, root.) */
pid_t fuse_hang_start(const char *mp, const char *release, const char *log);
/* SIGKILL and reap it (*pid 0 after): what it held in the kernel returns. */
void fuse_hang_kill(pid_t *pid);
#define NOBODY_UID 65534
#define NOBODY_GID 65534

/* Skip with the reason spelled out, as the test standards require. */
#define SKIP_UNLESS_ROOT() do { if (!have_root()) \
	cr_skip_test("SKIPPED: needs root (run make test as root)"); } while (0)

#endif
