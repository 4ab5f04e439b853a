/* SPDX-License-Identifier: ISC */
/*
 * test_proc.c - lib/sq_proc.h and lib/sq_signame.h in isolation, against
 * real processes this test forks: a hostile comm (spaces, newline, ')')
 * parsed byte-exact from /proc/PID/stat, exact args, zombies, a
 * controlling pty, pid lists, the uid filter, kill(2) outcomes, plus the
 * portable helpers (field names, UTF-8 and message text, signal names).
 * Every child dies with its parent (PR_SET_PDEATHSIG), whatever fails.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <time.h>
#include <unistd.h>

#include "kids.h"
#include "sq_proc.h"
#include "sq_utf8.h"
#include "sq_signame.h"

#define NO_SUCH_PID ((pid_t)(1 << 30)) /* above Linux's PID_MAX_LIMIT */

static const char hostile[] = "a) b\n(c)) d";   /* 11 bytes < TASK_COMM_LEN */

#ifdef __linux__
/* kids.h remembers every child, so .fini can kill and reap them when an
 * assertion ends a test early. */
TestSuite(proc, .fini = kid_reap_all, .timeout = 30);
#else
TestSuite(proc, .timeout = 30);
#endif

Test(proc, field_names_round_trip)
{
	for (unsigned f = 0; f < SQ_PROC_NFIELDS; f++) {
		const char *n = sq_proc_field_name(f);
		cr_assert(n, "field %u has a name", f);
		cr_assert_eq(sq_proc_field_find(n, strlen(n)), (int)f);
	}
	cr_assert_null(sq_proc_field_name(SQ_PROC_NFIELDS));
	cr_assert_eq(sq_proc_field_find("rss", 3), -1);
	cr_assert_eq(sq_proc_field_find("rss_bytesX", 10), -1);
	cr_assert_eq(sq_proc_field_find("rss_bytesX", 9), SQ_PROC_RSS);
	cr_assert_eq(__builtin_popcount(SQ_PROC_ALL), SQ_PROC_NFIELDS);
}

Test(proc, utf8_check)
{
	cr_assert(sq_utf8_valid("", 0));
	cr_assert(sq_utf8_valid(hostile, strlen(hostile)));
	cr_assert(sq_utf8_valid("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
	cr_assert(sq_utf8_valid("\x00\x01\x7f", 3), "control bytes are valid UTF-8");
	cr_assert_not(sq_utf8_valid("\xff", 1));
	cr_assert_not(sq_utf8_valid("\xc0\xaf", 2), "overlong");
	cr_assert_not(sq_utf8_valid("\xe0\x80\xaf", 3), "overlong");
	cr_assert_not(sq_utf8_valid("\xed\xa0\x80", 3), "surrogate");
	cr_assert_not(sq_utf8_valid("\xf4\x90\x80\x80", 4), "above U+10FFFF");
	cr_assert_not(sq_utf8_valid("\xe2\x82", 2), "cut short");
	cr_assert_not(sq_utf8_valid("a\x80", 2), "lone continuation");
}

Test(proc, text_show_is_printable_bounded_and_marks_the_cut)
{
	char b[12];
	cr_assert_str_eq(sq_text_show(b, sizeof(b), "ab\x01\xc3\xa9'", 6, 0), "ab?\?\?'");
	cr_assert_str_eq(sq_text_show(b, sizeof(b), "ab\x01\xc3\xa9'", 6, SQ_SHOW_UTF8),
	                 "ab?\xc3\xa9'");
	cr_assert_str_eq(sq_text_show(b, sizeof(b), "a\xff'\\", 4, SQ_SHOW_HEX),
	                 "a\\xff...");
	cr_assert_str_eq(sq_text_show(b, sizeof(b), "0123456789a", 11, 0), "0123456789a");
	cr_assert_str_eq(sq_text_show(b, sizeof(b), "0123456789ab", 12, 0), "01234567...");
	cr_assert_str_eq(sq_text_show(b, sizeof(b), "/dir/0123456789", 15, SQ_SHOW_TAIL),
	                 "...23456789");
	cr_assert_str_eq(sq_text_show(b, sizeof(b), "/d/\x01\x02" "bc", 7, SQ_SHOW_HEX | SQ_SHOW_TAIL),
	                 "...\\x02bc");
	/* a character is never split at the cut */
	cr_assert_str_eq(sq_text_show(b, sizeof(b), "1234567\xe2\x82\xac" "abc", 13, SQ_SHOW_UTF8),
	                 "1234567...");
	cr_assert_str_eq(sq_text_show(b, sizeof(b), "", 0, 0), "");
}

Test(proc, pid_lists_are_sorted_and_deduplicated)
{
	pid_t v[] = { 9, 3, 9, 1, 3, 7 };
	size_t n = sq_proc_sort_pids(v, 6);
	cr_assert_eq(n, 4);
	cr_assert(v[0] == 1 && v[1] == 3 && v[2] == 7 && v[3] == 9);
	cr_assert_eq(sq_proc_sort_pids(v, 0), 0);
}

Test(proc, signal_names)
{
	cr_assert_eq(sq_signal_parse("TERM", 4), SIGTERM);
	cr_assert_eq(sq_signal_parse("SIGTERM", 7), SIGTERM);
	cr_assert_eq(sq_signal_parse("sigterm", 7), SIGTERM);
	cr_assert_eq(sq_signal_parse("KILL", 4), SIGKILL);
	cr_assert_eq(sq_signal_parse("USR1", 4), SIGUSR1);
	cr_assert_eq(sq_signal_parse("15", 2), 15);
	cr_assert_eq(sq_signal_parse("0", 1), 0);
	cr_assert_eq(sq_signal_parse("TERMX", 4), SIGTERM, "only len bytes count");
	cr_assert_eq(sq_signal_parse("FOO", 3), -EINVAL);
	cr_assert_eq(sq_signal_parse("SIG", 3), -EINVAL);
	cr_assert_eq(sq_signal_parse("SIGSIGTERM", 10), -EINVAL);
	cr_assert_eq(sq_signal_parse("", 0), -EINVAL);
	cr_assert_eq(sq_signal_parse("-1", 2), -EINVAL);
	cr_assert_eq(sq_signal_parse("99999", 5), -EINVAL);
	cr_assert_eq(sq_signal_parse("TERM ", 5), -EINVAL);
	cr_assert_eq(sq_signal_check(-1), -EINVAL);
	cr_assert_eq(sq_signal_check(sq_signal_max() + 1), -EINVAL);
	cr_assert_eq(sq_signal_check(sq_signal_max()), sq_signal_max());
	char buf[32];
	for (int s = 1; s < 32; s++) {
		const char *n = sq_signal_name(s, buf, sizeof(buf));
		if (n)
			cr_assert_eq(sq_signal_parse(n, strlen(n)), s, "%s round trip", n);
	}
	cr_assert_str_eq(sq_signal_name(SIGTERM, buf, sizeof(buf)), "TERM");
	cr_assert_str_eq(sq_signal_name(SIGABRT, buf, sizeof(buf)), "ABRT", "not IOT");
#ifdef SIGRTMIN
	cr_assert_eq(sq_signal_parse("RTMIN+2", 7), SIGRTMIN + 2);
	cr_assert_eq(sq_signal_parse("SIGRTMAX-1", 10), SIGRTMAX - 1);
	cr_assert_eq(sq_signal_parse("RTMIN+99", 8), -EINVAL);
	cr_assert_str_eq(sq_signal_name(SIGRTMIN + 3, buf, sizeof(buf)), "RTMIN+3");
#endif
}

#ifndef __linux__

Test(proc, the_process_table_itself)
{
	cr_skip_test("SKIPPED: these tests check lib/proc against Linux's /proc (macOS: "
	             "make check-darwin compiles proc_darwin.c)");
}

#else /* Linux: the tests below read /proc and use prctl() */


static void nap(void)
{
	struct timespec ts = { 0, 2000000 };
	nanosleep(&ts, NULL);
}

/* Wait until pid sleeps (it has reached pause()). */
static void wait_sleeping(pid_t pid)
{
	struct sq_proc p = { 0 };
	for (int i = 0; i < 500; i++) {
		if (sq_proc_get(pid, SQ_PROC_BIT(SQ_PROC_STATE), &p) == 0 && p.state == 'S')
			break;
		nap();
	}
	sq_proc_release(&p);
}

static void named_sleeper(void *arg)
{
	prctl(PR_SET_NAME, (const char *)arg);
	kid_ready();
	for (;;)
		pause();
}

static void exec_sleep(void *arg)
{
	char **argv = arg;
	execv("/bin/sleep", argv); /* CLOEXEC closes the pipe: ready */
	_exit(127);
}

/* sh blocked in its builtin `read` on a pipe it holds both ends of: no
 * grandchild to outlive us. */
static void exec_sh(void *arg)
{
	char **argv = arg;
	int p[2];
	if (pipe(p) < 0 || dup2(p[0], 0) < 0)
		_exit(126);
	execv("/bin/sh", argv);
	_exit(127);
}

static void exits_now(void *arg)
{
	(void)arg;
	_exit(0);
}

/* Wait until pid has exec'd (comm becomes "sleep"). */
static char *slurp_small(const char *path, size_t *len)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	cr_assert_geq(n, 0);
	*len = (size_t)n;
	return buf;
}

Test(proc, self_matches_what_the_kernel_says)
{
	struct sq_proc p = { 0 };
	cr_assert_eq(sq_proc_get(getpid(), SQ_PROC_ALL, &p), 0);
	cr_assert_eq(p.pid, getpid());
	cr_assert_eq(p.ppid, getppid());
	cr_assert_eq(p.pgid, getpgrp());
	cr_assert_eq(p.sid, getsid(0));
	cr_assert_eq(p.uid, getuid());
	cr_assert_eq(p.euid, geteuid());
	cr_assert_eq(p.gid, getgid());
	cr_assert(p.state == 'R', "we are running: got '%c'", p.state);
	cr_assert_geq(p.threads, 1);
	cr_assert_gt(p.rss_bytes, 0);
	cr_assert_geq(p.vsize_bytes, p.rss_bytes);

	size_t n;
	char *comm = slurp_small("/proc/self/comm", &n);
	cr_assert_eq(p.comm_len, n - 1);
	cr_assert(memcmp(p.comm, comm, p.comm_len) == 0);
	char *cmd = slurp_small("/proc/self/cmdline", &n);
	cr_assert(p.have & SQ_PROC_BIT(SQ_PROC_ARGS));
	cr_assert_eq(p.args_len, n);
	cr_assert(memcmp(p.args, cmd, n) == 0);

	char exe[PATH_MAX];
	ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe));
	cr_assert_gt(el, 0);
	cr_assert(p.have & SQ_PROC_BIT(SQ_PROC_EXE));
	cr_assert_eq(p.exe_len, (size_t)el);
	cr_assert(memcmp(p.exe, exe, (size_t)el) == 0);

	double now = (double)time(NULL);
	cr_assert(p.start_time <= now + 1 && p.start_time > now - 3600,
	          "start_time %.3f vs now %.0f", p.start_time, now);
	cr_assert(p.have == SQ_PROC_ALL, "as owner every field is visible: %#x", p.have);
	sq_proc_release(&p);
}

Test(proc, hostile_comm_is_byte_exact_and_stat_still_parses)
{
	pid_t kid = kid_spawn(named_sleeper, (void *)hostile);
	wait_sleeping(kid);
	struct sq_proc p = { 0 };
	cr_assert_eq(sq_proc_get(kid, SQ_PROC_ALL, &p), 0);
	cr_assert_eq(p.comm_len, strlen(hostile));
	cr_assert(memcmp(p.comm, hostile, p.comm_len) == 0, "comm '%.*s'", (int)p.comm_len,
	          p.comm);
	/* the fields after comm are read from after the LAST ')' */
	cr_assert_eq(p.ppid, getpid());
	cr_assert_eq(p.pgid, getpgrp());
	cr_assert_eq(p.state, 'S');
	cr_assert_eq(p.threads, 1);
	cr_assert_eq(p.nice, 0);
	cr_assert_gt(p.rss_bytes, 0);
	sq_proc_release(&p);
	kid_reap(kid);
}

Test(proc, invalid_utf8_comm_comes_through)
{
	static const char bad[] = "\xff\xfe) (\x80";
	pid_t kid = kid_spawn(named_sleeper, (void *)bad);
	struct sq_proc p = { 0 };
	cr_assert_eq(sq_proc_get(kid, SQ_PROC_BIT(SQ_PROC_COMM) | SQ_PROC_BIT(SQ_PROC_PPID), &p), 0);
	cr_assert_eq(p.comm_len, sizeof(bad) - 1);
	cr_assert(memcmp(p.comm, bad, p.comm_len) == 0);
	cr_assert_not(sq_utf8_valid(p.comm, p.comm_len));
	cr_assert_eq(p.ppid, getpid());
	sq_proc_release(&p);
	kid_reap(kid);
}

Test(proc, args_are_exact_bytes)
{
	/* sh -c 'CMD' $0: an empty last argument */
	static char a0[] = "x y\n\xff)";
	static char a1[] = "-c";
	static char a2[] = "read x";
	static char a3[] = "";
	static char *argv[] = { a0, a1, a2, a3, NULL };
	pid_t kid = kid_spawn(exec_sh, argv);
	kid_wait_exec(kid, "sh");
	struct sq_proc p = { 0 };
	cr_assert_eq(sq_proc_get(kid, SQ_PROC_BIT(SQ_PROC_ARGS) | SQ_PROC_BIT(SQ_PROC_EXE), &p), 0);
	static const char want[] = "x y\n\xff)\0-c\0read x\0";
	cr_assert_eq(p.args_len, sizeof(want));
	cr_assert(memcmp(p.args, want, sizeof(want)) == 0);
	cr_assert_eq(p.args_cut, 0);
	cr_assert(p.have & SQ_PROC_BIT(SQ_PROC_EXE));
	cr_assert(p.exe_len >= 3 && p.exe[0] == '/' && memchr(p.exe, '\0', p.exe_len) == NULL,
	          "exe '%.*s'", (int)p.exe_len, p.exe);
	sq_proc_release(&p);
	kid_reap(kid);
}

Test(proc, huge_args_are_cut_and_flagged)
{
	enum { ONE = 100 * 1024 }; /* under MAX_ARG_STRLEN (128 KiB) each */
	static char big[3][ONE + 1];
	static char s0[] = "sleep", s4[] = "1000";
	static char *argv[6];
	/* "000...01": a valid 1-second operand for sleep(1), 100 KiB long */
	for (int i = 0; i < 3; i++) {
		memset(big[i], '0', ONE);
		big[i][ONE - 1] = '1';
		big[i][ONE] = '\0';
	}
	argv[0] = s0;
	argv[1] = big[0];
	argv[2] = big[1];
	argv[3] = big[2];
	argv[4] = s4;
	argv[5] = NULL;
	pid_t kid = kid_spawn(exec_sleep, argv);
	kid_wait_exec(kid, "sleep");
	struct sq_proc p = { 0 };
	cr_assert_eq(sq_proc_get(kid, SQ_PROC_BIT(SQ_PROC_ARGS), &p), 0);
	cr_assert_eq(p.args_len, SQ_PROC_ARGS_MAX);
	cr_assert_eq(p.args_cut, 1);
	cr_assert(memcmp(p.args, "sleep\0" "000", 9) == 0);
	sq_proc_release(&p);

	/* just under the cap is not flagged */
	big[2][ONE - 60 * 1024] = '\0';
	argv[3] = big[2] + ONE - 60 * 1024 - 1; /* "1" */
	argv[3][0] = '1';
	pid_t kid2 = kid_spawn(exec_sleep, argv);
	kid_wait_exec(kid2, "sleep");
	memset(&p, 0, sizeof(p));
	cr_assert_eq(sq_proc_get(kid2, SQ_PROC_BIT(SQ_PROC_ARGS), &p), 0);
	cr_assert_eq(p.args_cut, 0);
	cr_assert_eq(p.args_len, 6 + 2 * (ONE + 1) + 2 + 5);
	sq_proc_release(&p);
	kid_reap(kid);
	kid_reap(kid2);
}

Test(proc, a_zombie_has_no_args_or_exe)
{
	pid_t kid = kid_spawn(exits_now, NULL);
	struct sq_proc p = { 0 };
	for (int i = 0; i < 500; i++) { /* until it has exited (not reaped) */
		cr_assert_eq(sq_proc_get(kid, SQ_PROC_ALL, &p), 0);
		if (p.state == 'Z')
			break;
		nap();
	}
	cr_assert_eq(p.state, 'Z');
	cr_assert(p.have & SQ_PROC_BIT(SQ_PROC_ARGS));
	cr_assert_eq(p.args_len, 0);
	cr_assert_not(p.have & SQ_PROC_BIT(SQ_PROC_EXE));
	sq_proc_release(&p);
	waitpid(kid, NULL, 0);
	kid_forget(kid);
	cr_assert_eq(sq_proc_get(kid, SQ_PROC_ALL, &p), -ESRCH, "reaped: gone");
	sq_proc_release(&p);
}

static void pty_session(void *arg)
{
	const char *name = arg;
	setsid();
	int fd = open(name, O_RDWR | O_CLOEXEC); /* first tty opened: controlling */
	if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0)
		_exit(2);
	kid_ready();
	for (;;)
		pause();
}

static void detached(void *arg)
{
	(void)arg;
	setsid();
	kid_ready();
	for (;;)
		pause();
}

Test(proc, controlling_tty_is_named_like_ps)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		cr_skip_test("SKIPPED: no pseudo-terminals here (posix_openpt: %s)", strerror(errno));
	cr_assert_eq(grantpt(m), 0);
	cr_assert_eq(unlockpt(m), 0);
	char *name = ptsname(m);
	cr_assert(name && strncmp(name, "/dev/", 5) == 0);
	pid_t kid = kid_spawn(pty_session, name);
	struct sq_proc p = { 0 };
	cr_assert_eq(sq_proc_get(kid, SQ_PROC_BIT(SQ_PROC_TTY) | SQ_PROC_BIT(SQ_PROC_SID), &p), 0);
	cr_assert_str_eq(p.tty, name + 5);
	cr_assert_eq(p.sid, kid, "session leader");
	sq_proc_release(&p);
	kid_reap(kid);
	close(m);

	/* a new session without a terminal has none: "" (nil on the wire) */
	pid_t loner = kid_spawn(detached, NULL);
	memset(&p, 0, sizeof(p));
	cr_assert_eq(sq_proc_get(loner, SQ_PROC_BIT(SQ_PROC_TTY), &p), 0);
	cr_assert_str_eq(p.tty, "");
	cr_assert(p.have & SQ_PROC_BIT(SQ_PROC_TTY));
	sq_proc_release(&p);
	kid_reap(loner);
}

struct seen {
	pid_t pids[8192];
	size_t n;
	unsigned have_or, have_and;
	int stop_after;
};

static int collect(const struct sq_proc *p, void *arg)
{
	struct seen *s = arg;
	if (s->n < 8192)
		s->pids[s->n] = p->pid;
	s->n++;
	s->have_or |= p->have;
	s->have_and &= p->have;
	return s->stop_after && (int)s->n >= s->stop_after ? 7 : 0;
}

static int scan(unsigned fields, const pid_t *pids, size_t n, int64_t uid,
                sq_proc_cb cb, void *arg)
{
	struct sq_proc_query q = { .fields = fields, .pids = pids, .npids = n,
	                           .by_uid = uid >= 0, .uid = uid >= 0 ? (uint32_t)uid : 0 };
	return sq_proc_scan(&q, cb, arg);
}

static int contains(const struct seen *s, pid_t pid)
{
	for (size_t i = 0; i < s->n && i < 8192; i++)
		if (s->pids[i] == pid)
			return 1;
	return 0;
}

Test(proc, scan_sees_everything_in_ascending_order)
{
	static struct seen s = { .have_and = ~0u };
	pid_t kid = kid_spawn(named_sleeper, (void *)"scanme");
	cr_assert_eq(scan(SQ_PROC_ALL, NULL, 0, -1, collect, &s), 0);
	cr_assert_gt(s.n, 2);
	cr_assert(contains(&s, getpid()));
	cr_assert(contains(&s, kid));
	cr_assert(contains(&s, 1));
	for (size_t i = 1; i < s.n && i < 8192; i++)
		cr_assert_lt(s.pids[i - 1], s.pids[i]);
	cr_assert(s.have_and & SQ_PROC_BIT(SQ_PROC_PID));
	kid_reap(kid);
}

Test(proc, a_split_scan_reports_everyone_once_in_order)
{
	/* enough processes for the scan to be cut over threads */
	enum { N = 300 };
	static pid_t many[N];
	for (int i = 0; i < N; i++)
		many[i] = kid_sleeper();
	static struct seen s = { .have_and = ~0u };
	int rc = scan(SQ_PROC_ALL, NULL, 0, -1, collect, &s);
	static struct seen t = { .have_and = ~0u, .stop_after = 200 };
	int rc2 = scan(SQ_PROC_BIT(SQ_PROC_COMM), NULL, 0, -1, collect, &t);
	static struct seen u = { .have_and = ~0u };
	int rc3 = scan(SQ_PROC_BIT(SQ_PROC_PPID), many, N, -1, collect, &u);
	static struct seen v = { .have_and = ~0u };
	struct sq_proc_query q = { .fields = SQ_PROC_ALL, .max_held = 8192 };
	int rc4 = sq_proc_scan(&q, collect, &v);
	kid_reap_all();
	cr_assert_eq(rc, 0);
	cr_assert_gt(s.n, N);
	for (size_t i = 1; i < s.n && i < 8192; i++)
		cr_assert_lt(s.pids[i - 1], s.pids[i], "ascending, no duplicates");
	for (int i = 0; i < N; i++)
		cr_assert(contains(&s, many[i]), "child %d listed", many[i]);
	cr_assert(contains(&s, getpid()));
	cr_assert_eq(rc2, 7, "the callback stops a split scan too");
	cr_assert_eq(t.n, 200);
	cr_assert_eq(rc3, 0);
	cr_assert_eq(u.n, N, "a long pid list is split as well");
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1) { /* one CPU: scans are not split */
		cr_assert_eq(rc4, -E2BIG, "what a split scan holds is bounded");
		cr_assert_eq(v.n, 0, "nothing handed over");
	} else {
		cr_assert_eq(rc4, 0);
	}
}

/* sq_proc_scan_chunked: chunks in ascending pid ranges, each chunk from one
 * thread in order, several threads at once allowed. */
struct chunks {
	size_t n;
	pid_t pids[64][SQ_PROC_CHUNK];
	size_t len[64];
	pthread_t who[64];
	int mixed;            /* a chunk was fed by two threads */
};

static int chunks_begin(size_t n, void *arg)
{
	struct chunks *c = arg;
	c->n = n;
	return n <= 64 ? 0 : -ENOSPC;
}

static int chunks_proc(const struct sq_proc *p, size_t chunk, void *arg)
{
	struct chunks *c = arg;
	if (chunk >= c->n || c->len[chunk] >= SQ_PROC_CHUNK)
		return -ERANGE;
	if (c->len[chunk] == 0)
		c->who[chunk] = pthread_self();
	else if (!pthread_equal(c->who[chunk], pthread_self()))
		c->mixed = 1;
	c->pids[chunk][c->len[chunk]++] = p->pid;
	return 0;
}

Test(proc, a_chunked_scan_keeps_order_within_and_across_chunks)
{
	enum { N = 300 };
	for (int i = 0; i < N; i++)
		kid_sleeper();
	static struct chunks c;
	struct sq_proc_query q = { .fields = SQ_PROC_BIT(SQ_PROC_PPID) };
	struct sq_proc_sink sink = { chunks_begin, chunks_proc, &c, 1 };
	int rc = sq_proc_scan_chunked(&q, &sink);
	kid_reap_all();
	cr_assert_eq(rc, 0);
	cr_assert_geq(c.n, (size_t)(N / SQ_PROC_CHUNK));
	cr_assert_not(c.mixed, "one thread per chunk");
	pid_t last = 0;
	size_t total = 0;
	for (size_t k = 0; k < c.n; k++)
		for (size_t i = 0; i < c.len[k]; i++) {
			cr_assert_gt(c.pids[k][i], last, "ascending within and across chunks");
			last = c.pids[k][i];
			total++;
		}
	cr_assert_gt(total, N);
}

Test(proc, fields_limit_what_is_read)
{
	static struct seen s = { .have_and = ~0u };
	cr_assert_eq(scan(0, NULL, 0, -1, collect, &s), 0);
	cr_assert_gt(s.n, 2);
	cr_assert_eq(s.have_or, SQ_PROC_BIT(SQ_PROC_PID), "only pid: %#x", s.have_or);

	static struct seen t = { .have_and = ~0u };
	unsigned f = SQ_PROC_BIT(SQ_PROC_UID) | SQ_PROC_BIT(SQ_PROC_COMM);
	cr_assert_eq(scan(f, NULL, 0, -1, collect, &t), 0);
	/* comm comes with the rest of stat; uid with euid and gid (status) */
	cr_assert_eq(t.have_or & (SQ_PROC_BIT(SQ_PROC_ARGS) | SQ_PROC_BIT(SQ_PROC_EXE)), 0);
	cr_assert_eq(t.have_and & f, f);
}

Test(proc, pid_lists_skip_the_missing)
{
	static struct seen s = { .have_and = ~0u };
	pid_t kid = kid_spawn(named_sleeper, (void *)"listed");
	pid_t list[] = { NO_SUCH_PID, kid, getpid(), kid, 0, -5 };
	cr_assert_eq(scan(0, list, 6, -1, collect, &s), 0);
	cr_assert_eq(s.n, 2);
	pid_t lo = kid < getpid() ? kid : getpid(), hi = kid < getpid() ? getpid() : kid;
	cr_assert_eq(s.pids[0], lo);
	cr_assert_eq(s.pids[1], hi);
	kid_reap(kid);
}

Test(proc, uid_filter_matches_the_real_uid)
{
	static struct seen s = { .have_and = ~0u }, none = { .have_and = ~0u };
	cr_assert_eq(scan(SQ_PROC_BIT(SQ_PROC_UID), NULL, 0, getuid(), collect, &s), 0);
	cr_assert(contains(&s, getpid()));
	cr_assert_eq(scan(0, NULL, 0, 4294967000LL, collect, &none), 0);
	cr_assert_eq(none.n, 0);
}

Test(proc, callback_stops_the_scan)
{
	static struct seen s = { .have_and = ~0u, .stop_after = 2 };
	cr_assert_eq(scan(0, NULL, 0, -1, collect, &s), 7);
	cr_assert_eq(s.n, 2);
}

/* A kid that forks the victim, tells its pid, and exits with the number of
 * the signal that killed it. */
static void parent_of_victim(void *arg)
{
	int fd = *(int *)arg;
	kid_ready(); /* first: the victim would inherit the ready pipe */
	pid_t victim = fork();
	if (victim == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	if (victim < 0 || write(fd, &victim, sizeof(victim)) != (ssize_t)sizeof(victim))
		_exit(100);
	int st;
	if (waitpid(victim, &st, 0) != victim)
		_exit(101);
	_exit(WIFSIGNALED(st) ? WTERMSIG(st) : 102);
}

Test(proc, kill_outcomes)
{
	cr_assert_eq(sq_proc_kill(0, SIGTERM, NULL), -EINVAL);
	cr_assert_eq(sq_proc_kill(-1, SIGTERM, NULL), -EINVAL);
	cr_assert_eq(sq_proc_kill(-getpgrp(), SIGTERM, NULL), -EINVAL);
	cr_assert_eq(sq_proc_kill(NO_SUCH_PID, SIGTERM, NULL), -ESRCH);
	/* the calling process (sysqd) and its children (sysqd's helpers) never */
	cr_assert_eq(sq_proc_kill(getpid(), 0, NULL), -EACCES);
	struct sq_proc p = { 0 };
	cr_assert_eq(sq_proc_get(0, 0, &p), -EINVAL);
	cr_assert_eq(sq_proc_get(NO_SUCH_PID, SQ_PROC_ALL, &p), -ESRCH);
	cr_assert_eq(sq_proc_get(NO_SUCH_PID, 0, &p), -ESRCH, "even with no file to read");
	sq_proc_release(&p);

	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t kid = kid_spawn(parent_of_victim, &fds[1]);
	close(fds[1]);
	pid_t victim = 0;
	cr_assert_eq(read(fds[0], &victim, sizeof(victim)), (ssize_t)sizeof(victim));
	close(fds[0]);
	cr_assert_eq(sq_proc_kill(kid, 0, NULL), -EACCES, "a child of the caller");
	cr_assert_eq(sq_proc_kill(victim, SIGTERM, NULL), 0, "a grandchild is not");
	int st;
	cr_assert_eq(waitpid(kid, &st, 0), kid);
	kid_forget(kid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == SIGTERM, "status %#x", st);
}

#endif /* __linux__ */
