/* SPDX-License-Identifier: ISC */
/*
 * kids.c - child processes for tests (kids.h): a registry of pids, and a
 * ready pipe per spawned child whose write end the child closes (by exec,
 * exit, or kid_ready) once the parent may look at it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "kids.h"

#define KIDS_MAX 2048
#define KID_READY_MS 60000 /* a spawned child's time to get ready */

static pid_t kids[KIDS_MAX];
static int nkids;
static int ready_fd = -1; /* in a spawned child: its ready pipe's write end */

void die_with_parent(void)
{
#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
}

/* In a new child: die when the test process does, or now if it is already
 * gone; start with no children of its own. */
/* In a new child: every signal at its default action and none blocked.
 * The test process may ignore some (a shell starts a background job with
 * SIGINT and SIGQUIT ignored, and exec keeps that), and a test that sends
 * one to its child must see it act. */
static void default_signals(void)
{
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL); /* fails harmlessly for the numbers none has */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void die_with(pid_t parent)
{
	die_with_parent();
	if (getppid() != parent)
		_exit(1);
	nkids = 0; /* the parent's children are not this one's */
	default_signals();
}

static void remember(pid_t pid)
{
	cr_assert_lt(nkids, KIDS_MAX, "more than %d test children", KIDS_MAX);
	kids[nkids++] = pid;
}

pid_t kid_spawn(void (*fn)(void *), void *arg)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(fcntl(fds[0], F_SETFD, FD_CLOEXEC), 0);
	cr_assert_eq(fcntl(fds[1], F_SETFD, FD_CLOEXEC), 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		die_with(parent);
		close(fds[0]);
		ready_fd = fds[1];
		fn(arg);
		_exit(0);
	}
	remember(pid);
	close(fds[1]);
	/* a child that never gets ready fails the test here, rather than
	 * leaving it to a suite timeout that may not fire in a blocked read */
	struct pollfd p = { .fd = fds[0], .events = POLLIN };
	int rc;
	while ((rc = poll(&p, 1, KID_READY_MS)) < 0 && errno == EINTR)
		;
	close(fds[0]);
	cr_assert_gt(rc, 0, "child %d was not ready within %d ms", (int)pid, KID_READY_MS);
	return pid;
}

void kid_ready(void)
{
	if (ready_fd >= 0)
		close(ready_fd);
	ready_fd = -1;
}

pid_t kid_sleeper(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		die_with(parent);
		for (;;)
			pause();
	}
	remember(pid);
	return pid;
}

struct exec_args {
	const char *const *argv;
	const char *in, *out, *err;
};

/* In the child: open path as fd target (a new descriptor, so none of the
 * test's is touched before the exec), or _exit(126). */
static void redirect(const char *path, int flags, int target)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0 || dup2(fd, target) < 0) /* dup2 clears close-on-exec */
		_exit(126);
	close(fd);
}

static void exec_kid(void *arg)
{
	const struct exec_args *a = arg;
	if (a->in)
		redirect(a->in, O_RDONLY, 0);
	if (a->out)
		redirect(a->out, O_WRONLY | O_CREAT | O_TRUNC, 1);
	if (a->err && a->out && strcmp(a->err, a->out) == 0) {
		if (dup2(1, 2) < 0)
			_exit(126);
	} else if (a->err) {
		redirect(a->err, O_WRONLY | O_CREAT | O_TRUNC, 2);
	}
	execv(a->argv[0], (char *const *)a->argv);
	_exit(127);
}

pid_t kid_exec(const char *const *argv, const char *in, const char *out, const char *err)
{
	struct exec_args a = { argv, in, out, err };
	return kid_spawn(exec_kid, &a);
}

int kid_wait(pid_t pid)
{
	int st = 0;
	pid_t r;
	while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	cr_assert_eq(r, pid, "waitpid(%d): %s", (int)pid, strerror(errno));
	kid_forget(pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The first bytes of a small /proc file, or 0. */
static size_t peek(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, size);
	close(fd);
	return n > 0 ? (size_t)n : 0;
}

void kid_wait_exec(pid_t pid, const char *comm)
{
	size_t want = strlen(comm);
	for (int i = 0; i < 5000; i++) {
		char c[64], a[8];
		size_t n = peek(pid, "comm", c, sizeof(c));
		if (n == want + 1 && memcmp(c, comm, want) == 0 && c[want] == '\n' &&
		    peek(pid, "cmdline", a, sizeof(a)) > 0)
			return;
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
	cr_assert_fail("child %d did not exec %s within 10 s", (int)pid, comm);
}

void kid_forget(pid_t pid)
{
	for (int i = 0; i < nkids; i++)
		if (kids[i] == pid)
			kids[i] = 0;
}

void kid_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	kid_forget(pid);
}

void kid_reap_all(void)
{
	for (int i = 0; i < nkids; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
	for (int i = 0; i < nkids; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
	nkids = 0;
}
