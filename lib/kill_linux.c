/* SPDX-License-Identifier: ISC */
/*
 * kill_linux.c - sq_proc_kill on Linux: a signal sent as the caller by a
 * short-lived helper child that becomes the caller whole, which may never
 * be aimed at sysqd, one of its threads or one of its children (the helper
 * itself, or a sibling), and is waited for with a deadline: a helper that
 * is stopped, traced or slow is killed, never waited for forever.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sq_proc.h"

/* The helper makes a few system calls; far more than that is a helper that
 * was stopped or traced, and it is killed. */
#define HELPER_DEADLINE_NS (5 * 1000000000LL)

/* "/proc/PID/status" into buf (32 bytes), with no stdio: async-signal-safe. */
static void status_path(char *buf, pid_t pid)
{
	char digits[16];
	int n = 0;
	for (unsigned long v = (unsigned long)pid; v || n == 0; v /= 10)
		digits[n++] = (char)('0' + v % 10);
	memcpy(buf, "/proc/", 6);
	size_t at = 6;
	while (n)
		buf[at++] = digits[--n];
	memcpy(buf + at, "/status", 8);
}

/* The number after "\nKEY:\t" in a /proc status text, or -1. */
static long status_field(const char *text, size_t len, const char *key)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i + klen + 1 < len; i++) {
		if (text[i] != '\n' || memcmp(text + i + 1, key, klen) != 0)
			continue;
		long v = -1;
		for (size_t j = i + 1 + klen; j < len; j++) {
			if (text[j] >= '0' && text[j] <= '9')
				v = (v < 0 ? 0 : v * 10) + (text[j] - '0');
			else if (v >= 0 || (text[j] != '\t' && text[j] != ' '))
				break;
		}
		return v;
	}
	return -1;
}

/*
 * Whether pid belongs to sysqd: sysqd itself, one of its threads (a tid
 * signals the whole process) or one of its children (helpers like the one
 * that may be running this).  Read from /proc/PID/status (Tgid, PPid) with
 * raw system calls only, so it may run in the child forked from sysqd's
 * threads.  1 ours; 0 not ours, or not visible to the caller (gone, or
 * hidden by hidepid: then not of the caller's uid, so not a helper working
 * for it, and the kernel refuses the rest); a negative errno when it cannot
 * tell (refused then).  A pid found not ours could only become a helper of
 * sysqd before the kill if the pid space wrapped around in between.
 */
static bool invisible(int err)
{
	return err == ENOENT || err == ESRCH || err == EACCES || err == EPERM;
}

static int pid_is_sysqds(pid_t pid, pid_t sysqd)
{
	char path[32], text[1024];
	if (pid == sysqd)
		return 1;
	status_path(path, pid);
	long fd = syscall(SYS_openat, (long)AT_FDCWD, path, (long)(O_RDONLY | O_CLOEXEC));
	if (fd < 0)
		return invisible(errno) ? 0 : -errno;
	long n = syscall(SYS_read, fd, text, (long)sizeof(text));
	int err = errno;
	syscall(SYS_close, fd);
	if (n < 0)
		return invisible(err) ? 0 : -err; /* e.g. exited between open and read */
	long tgid = status_field(text, (size_t)n, "Tgid:");
	long ppid = status_field(text, (size_t)n, "PPid:");
	if (tgid < 0 || ppid < 0)
		return -EIO;
	return tgid == sysqd || ppid == sysqd;
}

/* In the forked child: raw system calls only (forked from a threaded
 * process; it still has the forking thread's credentials, the caller's
 * effective uid).  Exits with 0 or the errno; EACCES (which neither kill(2)
 * nor setresuid(2) returns, and pid_is_sysqds never) means sysqd's own. */
static void helper(pid_t pid, int sig, uid_t uid, pid_t sysqd)
{
	long self = syscall(SYS_getpid);
	int ours = pid == (pid_t)self ? 1 : pid_is_sysqds(pid, sysqd);
	if (ours != 0)
		_exit(ours > 0 ? EACCES : -ours < 256 ? -ours : EIO);
	long rc = syscall(SYS_setresuid, (long)uid, (long)uid, (long)uid);
	if (rc == 0)
		rc = syscall(SYS_kill, (long)pid, (long)sig);
	_exit(rc == 0 ? 0 : errno > 0 && errno < 256 ? errno : EIO);
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* SIGKILL a helper that will not report, reap it, and return rc. */
static int kill_helper(pid_t child, int rc)
{
	kill(child, SIGKILL);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	return rc;
}

/* The helper's report: its exit status as a negative errno; -EINTR when it
 * was stopped or killed before it reported, -ETIMEDOUT past the deadline
 * (both: SIGKILLed and reaped; the signal may or may not have been sent).
 * Polls with WNOHANG | WUNTRACED, from 20 us up to 10 ms between looks. */
static int wait_helper(pid_t child)
{
	long long deadline = now_ns() + HELPER_DEADLINE_NS;
	struct timespec nap = { 0, 20000 };
	for (;;) {
		int st;
		pid_t w = waitpid(child, &st, WNOHANG | WUNTRACED);
		if (w == child) {
			if (WIFEXITED(st))
				return -WEXITSTATUS(st);
			return WIFSTOPPED(st) ? kill_helper(child, -EINTR) : -EINTR;
		}
		if (w < 0 && errno != EINTR)
			return -errno; /* not our child (any more): never kill that pid */
		if (now_ns() >= deadline)
			return kill_helper(child, -ETIMEDOUT);
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < 10000000)
			nap.tv_nsec *= 2;
	}
}

/*
 * kill(2) decides by the sender's real and effective uids.  A thread acting
 * for a caller has only the caller's effective uid (its real uid stays
 * sysqd's, so the caller cannot signal it: lib/ident_linux.c), and a real
 * uid 0 would let any caller signal root's processes.  So the signal goes
 * from a child that becomes the caller whole (real, effective and saved
 * uid; the permitted capabilities go with the last uid that was 0), and the
 * kernel decides exactly as for the caller's own kill(2).  When the thread
 * is already whole (sysqd itself, a root caller) it signals itself.  Either
 * way sysqd, its threads and its children are refused first (-EACCES): the
 * helper would be its own target if a caller named the next pid to be
 * handed out (public in /proc/sys/kernel/ns_last_pid).
 */
int sq_proc_kill(pid_t pid, int sig, const struct sq_cred *caller)
{
	(void)caller; /* the thread already runs as the caller: the kernel decides */
	if (pid <= 0)
		return -EINVAL;
	uid_t ru, eu, su;
	if (getresuid(&ru, &eu, &su) < 0)
		return -errno;
	pid_t sysqd = getpid();
	if (ru == eu) {
		int ours = pid_is_sysqds(pid, sysqd);
		if (ours != 0)
			return ours > 0 ? -EACCES : ours;
		return kill(pid, sig) < 0 ? -errno : 0;
	}
	pid_t child = fork();
	if (child < 0)
		return -errno;
	if (child == 0)
		helper(pid, sig, eu, sysqd);
	return wait_helper(child);
}
