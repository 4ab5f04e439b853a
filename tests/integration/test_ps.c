/* SPDX-License-Identifier: ISC */
/*
 * test_ps.c - `sysq ps` side by side with procps' ps(1) on processes the
 * test makes: -o with ps's field names, -p, -C and -u selecting (in the
 * daemon: proc.list's pid, comm and euid params), the header alone when
 * nothing matches, and lines cut to the terminal's width on a pty (whole
 * with -w or when piped).  Linux: the processes are read from /proc.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#endif

#include "harness.h"
#include "sq_proto.h"

#ifndef __linux__

Test(ps, against_procps)
{
	cr_skip_test("SKIPPED: these tests compare sysq ps with procps' ps on Linux");
}

#else /* __linux__ */

#define NO_SUCH_PID (1 << 30)

static struct sqd d;

static void up(void) { sqd_start(&d, NULL); }
static void down(void)
{
	kid_reap_all();
	sqd_stop_clean(&d);
}

TestSuite(ps, .init = up, .fini = down, .timeout = 60);

/* A child named arg (prctl), as uid 65534 when the name starts with "nb". */
static void named_sleeper(void *arg)
{
	const char *name = arg;
	if (strncmp(name, "nb", 2) == 0 &&
	    (setgroups(0, NULL) < 0 || setgid(NOBODY_GID) < 0 || setuid(NOBODY_UID) < 0))
		_exit(3);
	prctl(PR_SET_NAME, name);
	kid_ready();
	for (;;)
		pause();
}

/* A child holding (touched) *arg bytes: a %MEM above 0.0. */
static char *volatile held;

static void memory_holder(void *arg)
{
	size_t n = *(const size_t *)arg;
	held = malloc(n);
	if (!held)
		_exit(3);
	for (size_t i = 0; i < n; i += 4096)
		held[i] = 1;
	kid_ready();
	for (;;)
		pause();
}

/* Half a percent of MemTotal (at least 16 MiB, at most 512 MiB). */
static size_t half_a_percent(void)
{
	char *mi = slurp("/proc/meminfo");
	const char *t = mi ? strstr(mi, "MemTotal:") : NULL;
	unsigned long long kib = t ? strtoull(t + 9, NULL, 10) : 0;
	free(mi);
	size_t n = (size_t)(kib * 1024 / 200);
	return n < (16u << 20) ? 16u << 20 : n > (512u << 20) ? 512u << 20 : n;
}

static void exec_argv(void *arg)
{
	char **argv = arg;
	execv(argv[0], argv);
	_exit(127);
}

/* stdout of `sh -c cmd` (stderr to ours), malloc'd; its exit status in *st. */
static char *sh(const char *cmd, int *st)
{
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	cr_assert_not_null(buf);
	size_t k;
	while ((k = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (cap - n < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
	}
	buf[n] = '\0';
	int s = pclose(f);
	if (st)
		*st = WIFEXITED(s) ? WEXITSTATUS(s) : 128;
	return buf;
}

/* `sysq -s SOCK args` (stdout), asserting exit status want. */
static char *sysq_exits(const char *args, int want)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "'%s' -s '%s' %s", getenv("SQ_SYSQ"), d.sock, args);
	int st;
	char *out = sh(cmd, &st);
	cr_assert_eq(st, want, "sysq %s: exit %d: %s", args, st, out);
	return out;
}

static char *sysq(const char *args)
{
	return sysq_exits(args, 0);
}

/* `ps args` (stdout); its exit status in *st when st is not NULL. */
static char *procps_st(const char *args, int *st)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "LC_ALL=C ps %s", args);
	return sh(cmd, st);
}

static char *procps(const char *args)
{
	return procps_st(args, NULL);
}

/* Every run of blanks as one space, none at line ends (in place). */
static char *squeeze(char *s)
{
	char *o = s, *p = s;
	for (; *s; s++) {
		if (*s == ' ') {
			if (p > o && p[-1] != ' ' && p[-1] != '\n' && s[1] && s[1] != '\n' && s[1] != ' ')
				*p++ = ' ';
			continue;
		}
		*p++ = *s;
	}
	*p = '\0';
	return o;
}

/* sysq ps ARGS and ps ARGS print the same table, column widths aside. */
static void same_as_ps(const char *args)
{
	char a[512];
	snprintf(a, sizeof(a), "ps %s", args);
	char *got = squeeze(sysq(a)), *want = squeeze(procps(args));
	cr_assert_str_eq(got, want, "sysq ps %s:\n%s\nps %s:\n%s", args, got, args, want);
	free(got);
	free(want);
}

/* The value of column col (0-based, blank-separated) on the line of pid. */
static double column_of(const char *table, pid_t pid, int col)
{
	char key[32];
	for (const char *l = table; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		int p;
		if (sscanf(l, "%d", &p) != 1 || p != pid)
			continue;
		const char *c = l + strspn(l, " ");
		for (int i = 0; i < col; i++) {
			c += strcspn(c, " ");
			c += strspn(c, " ");
		}
		double v;
		cr_assert_eq(sscanf(c, "%lf", &v), 1, "column %d of: %.80s", col, l);
		return v;
	}
	snprintf(key, sizeof(key), "%d", (int)pid);
	cr_assert_fail("no line for pid %s in:\n%s", key, table);
	return 0;
}

/* Stop a child and wait until it has: its memory and CPU time stay put
 * (a child still on its way into pause() may fault in another page). */
static void stop(pid_t pid)
{
	int st;
	cr_assert_eq(kill(pid, SIGSTOP), 0);
	cr_assert_eq(waitpid(pid, &st, WUNTRACED), pid);
	cr_assert(WIFSTOPPED(st));
}

/* -o with ps's names prints what ps prints for two processes the test
 * made and stopped (one uid 65534's), RSS and %MEM too (ps reads VmRSS
 * from status, not stat's approximate count); %CPU (which falls while a
 * process sleeps) lies between ps's before and after; STARTED within the
 * second ps rounds to. */
Test(ps, o_fields_print_what_ps_prints)
{
	SKIP_UNLESS_ROOT();
	pid_t a = kid_spawn(named_sleeper, "nbsqps-a"), b = kid_spawn(named_sleeper, "sqps-b");
	stop(a);
	stop(b);
	char sel[64], args[512];
	snprintf(sel, sizeof(sel), "-p %d,%d", (int)a, (int)b);
	snprintf(args, sizeof(args), "-o pid,ppid,pgid,sid,user,uid,ruser,ruid,tty,s,ni,nlwp,"
	         "vsz,time,comm,args %s", sel);
	same_as_ps(args);
	snprintf(args, sizeof(args), "-o pid,sess,pgrp,euser,euid,tname,tt,state,nice,thcount,"
	         "vsize,cputime,ucomm,command %s", sel);
	same_as_ps(args);
	snprintf(args, sizeof(args), "-o pid,rss,rsz,rssize,%%mem,pmem %s", sel);
	same_as_ps(args);
	/* and one with some memory */
	size_t hold = half_a_percent();
	pid_t m = kid_spawn(memory_holder, &hold);
	stop(m);
	snprintf(args, sizeof(args), "-o pid,rss,%%mem,pmem,vsz -p %d", (int)m);
	char *mine = procps(args);
	bool some = !strstr(mine, " 0.0 ");
	free(mine);
	cr_assert(some, "ps shows no %%MEM for %zu bytes", hold);
	same_as_ps(args);

	snprintf(args, sizeof(args), "-o pid,%%cpu,pcpu %s", sel);
	char *before = procps(args), *ours, *after;
	char sargs[600];
	snprintf(sargs, sizeof(sargs), "ps %s", args);
	ours = sysq(sargs);
	after = procps(args);
	for (int k = 0; k < 2; k++) {
		pid_t p = k ? b : a;
		for (int col = 1; col <= 2; col++) {
			double x = column_of(before, p, col), y = column_of(ours, p, col),
			       z = column_of(after, p, col);
			cr_assert(x >= y && y >= z, "%%CPU of %d: ps %.1f, then sysq %.1f, then ps %.1f",
			          (int)p, x, y, z);
		}
	}
	cr_assert(strstr(ours, "%CPU %CPU"), "%s", ours);
	free(before);
	free(ours);
	free(after);

	snprintf(args, sizeof(args), "ps -o pid,start,start_time,etime,lstart -p %d", (int)a);
	int st;
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "'%s' -s '%s' %s 2>&1", getenv("SQ_SYSQ"), d.sock, args);
	char *out = sh(cmd, &st);
	cr_assert_eq(st, 2, "lstart is not one of sysq's fields: %d %s", st, out);
	cr_assert(strstr(out, "lstart"), "%s", out);
	free(out);
	snprintf(args, sizeof(args), "-o pid,start -p %d", (int)a);
	char *w = procps(args), *g;
	snprintf(sargs, sizeof(sargs), "ps %s", args);
	g = sysq(sargs);
	int h1, m1, s1, h2, m2, s2;
	const char *wl = strchr(w, '\n'), *gl = strchr(g, '\n');
	cr_assert(wl && gl && strstr(g, "STARTED"), "%s", g);
	cr_assert_eq(sscanf(wl, "%*d %d:%d:%d", &h1, &m1, &s1), 3, "%s", w);
	cr_assert_eq(sscanf(gl, "%*d %d:%d:%d", &h2, &m2, &s2), 3, "%s", g);
	int dt = ((h1 * 60 + m1) * 60 + s1) - ((h2 * 60 + m2) * 60 + s2);
	cr_assert(dt >= -1 && dt <= 1, "STARTED: ps %s, sysq %s", w, g);
	free(w);
	free(g);
}

/* -p, -C and -u select as ps does, each a list; several select any
 * process one of them selects (ps's "or"). */
Test(ps, p_C_and_u_select_as_ps_does)
{
	SKIP_UNLESS_ROOT();
	pid_t a = kid_spawn(named_sleeper, "nbsqps-c"), b = kid_spawn(named_sleeper, "sqps-d"),
	      c = kid_spawn(named_sleeper, "sqps-e");
	char args[256];
	snprintf(args, sizeof(args), "-o pid,user,comm -p %d,%d -p %d", (int)a, (int)c, (int)b);
	same_as_ps(args);
	same_as_ps("-o pid,user,comm,args -C sqps-d,nbsqps-c");
	same_as_ps("-o pid,comm -C sqps-d -C sqps-e");
	snprintf(args, sizeof(args), "-o pid,comm -C sqps-d -p %d", (int)c);
	same_as_ps(args);

	/* -u: effective users, by name or number; ours are among them */
	char *out = sysq("ps -o pid,user -u nobody,0");
	for (int k = 0; k < 3; k++) {
		pid_t p = k == 0 ? a : k == 1 ? b : c;
		int seen = 0;
		for (const char *l = out; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
			int q;
			char user[64];
			if (sscanf(l, "%d %63s", &q, user) == 2 && q == p) {
				cr_assert_str_eq(user, k == 0 ? "nobody" : "root", "pid %d", (int)p);
				seen = 1;
			}
		}
		cr_assert(seen, "-u nobody,0 lacks %d:\n%s", (int)p, out);
	}
	free(out);
	out = sysq("ps -o user -u 65534");
	cr_assert(strncmp(out, "USER\n", 5) == 0, "%.100s", out);
	for (char *l = strchr(out, '\n') + 1; *l; l = strchr(l, '\n') + 1)
		cr_assert(strncmp(l, "nobody\n", 7) == 0, "-u 65534 lists: %.40s", l);
	free(out);
	/* an unknown user is a usage error */
	char cmd[512];
	int st;
	snprintf(cmd, sizeof(cmd), "'%s' -s '%s' ps -u nobody,no-such-user-here 2>&1",
	         getenv("SQ_SYSQ"), d.sock);
	out = sh(cmd, &st);
	cr_assert_eq(st, 2, "%s", out);
	cr_assert(strstr(out, "no-such-user-here"), "%s", out);
	free(out);
}

/* Nothing selected: the header alone, aligned as ps aligns it (the same
 * bytes), for chosen fields and for the default ones; exit status 1, as
 * ps's (-p, -C and -u alike). */
Test(ps, nothing_selected_prints_the_header_as_ps_does)
{
	char args[256], sargs[300];
	int st;
	snprintf(args, sizeof(args), "-o pid,ppid,user,uid,tty,s,ni,vsz,rss,%%cpu,%%mem,time,"
	         "start,comm,args -p %d", NO_SUCH_PID);
	snprintf(sargs, sizeof(sargs), "ps %s", args);
	char *want = procps_st(args, &st);
	cr_assert_eq(st, 1, "ps %s exits %d", args, st);
	char *got = sysq_exits(sargs, 1);
	cr_assert_str_eq(got, want, "sysq:\n%s\nps:\n%s", got, want);
	free(got);
	free(want);
	const char *others[] = { "-o pid -C no-such-comm-sq", "-o pid -u 4000000", NULL };
	for (int i = 0; others[i]; i++) {
		snprintf(sargs, sizeof(sargs), "ps %s", others[i]);
		want = procps_st(others[i], &st);
		cr_assert_eq(st, 1, "ps %s exits %d", others[i], st);
		got = sysq_exits(sargs, 1);
		cr_assert_str_eq(got, want);
		free(got);
		free(want);
	}
	snprintf(args, sizeof(args), "-o pid,ppid,user,%%cpu,%%mem,vsz,rss,tty,s,start_time,time,"
	         "args -p %d", NO_SUCH_PID);
	snprintf(sargs, sizeof(sargs), "ps -p %d", NO_SUCH_PID);
	got = sysq_exits(sargs, 1);
	want = procps(args);
	cr_assert_str_eq(got, want, "sysq ps's default columns:\n%s\nps:\n%s", got, want);
	free(got);
	free(want);
}

/* Run argv with stdout and stderr on a pty COLS wide (no COLUMNS in the
 * environment); what it printed, \r\n as \n (malloc'd). */
static char *on_a_pty(const char *const *argv, unsigned short cols)
{
	struct winsize ws = { .ws_row = 24, .ws_col = cols };
	int master;
	pid_t pid = forkpty(&master, NULL, NULL, &ws);
	cr_assert_geq(pid, 0, "forkpty: %s", strerror(errno));
	if (pid == 0) {
		unsetenv("COLUMNS");
		setenv("LC_ALL", "C", 1);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	cr_assert_not_null(buf);
	for (;;) {
		ssize_t k = read(master, buf + n, cap - n - 1);
		if (k <= 0)
			break; /* EIO once the child has gone and the pty is drained */
		n += (size_t)k;
		cr_assert_lt(n, cap - 1);
	}
	close(master);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status %d", argv[0], st);
	buf[n] = '\0';
	char *o = buf;
	for (char *p = buf; *p; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			*o++ = *p;
	*o = '\0';
	return buf;
}

/* On a terminal each line is cut to its width, as ps cuts it; whole with
 * -w, and whole when piped. */
Test(ps, lines_are_cut_to_the_terminal_width)
{
	static char *argv[] = { "/bin/sleep", "1000",
		"000000000000000000000000000000000000000000000000", NULL };
	pid_t sl = kid_spawn(exec_argv, argv);
	kid_wait_exec(sl, "sleep");
	char p[32];
	snprintf(p, sizeof(p), "%d", (int)sl);
	const char *bin = getenv("SQ_SYSQ");
	const char *ours[] = { bin, "-s", d.sock, "ps", "-o", "pid,user,args", "-p", p, NULL };
	const char *theirs[] = { "ps", "-o", "pid,user,args", "-p", p, NULL };
	char *got = on_a_pty(ours, 40), *want = on_a_pty(theirs, 40);
	cr_assert_str_eq(got, want, "40 columns: sysq:\n%s\nps:\n%s", got, want);
	cr_assert(strstr(got, "1000 0000") && !strstr(got, argv[2]), "%s", got);
	free(got);
	free(want);
	const char *wide[] = { bin, "-s", d.sock, "ps", "-w", "-o", "pid,user,args", "-p", p, NULL };
	got = on_a_pty(wide, 40);
	cr_assert(strstr(got, argv[2]), "-w: %s", got);
	free(got);
	char args[128];
	snprintf(args, sizeof(args), "ps -o pid,user,args -p %s", p);
	got = sysq(args);
	cr_assert(strstr(got, argv[2]), "piped: %s", got);
	free(got);
}

/* proc.list's euid and comm params select in the daemon; [] selects
 * nothing; an euid out of range is EINVAL. */
Test(ps, proc_list_selects_by_euid_and_comm)
{
	SKIP_UNLESS_ROOT();
	pid_t a = kid_spawn(named_sleeper, "nbsqps-g"), b = kid_spawn(named_sleeper, "sqps-h");
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	char js[256];
	snprintf(js, sizeof(js), "{\"pid\": [%d, %d], \"euid\": [65534], \"fields\": [\"euid\"]}",
	         (int)a, (int)b);
	cr_assert_eq(sq_call(c, "proc.list", js, &r), 0);
	cr_assert(!r.is_error, "%s", r.message);
	const msgpack_object *procs = sq_map_get(r.result, "procs");
	cr_assert(procs && procs->via.array.size == 1, "one process");
	cr_assert_eq(sq_map_get(&procs->via.array.ptr[0], "pid")->via.u64, (uint64_t)a);
	sysq_reply_free(&r);
	cr_assert_eq(sq_call(c, "proc.list", "{\"comm\": [\"sqps-h\", \"nbsqps-g\"], "
	                     "\"fields\": [\"comm\"]}", &r), 0);
	cr_assert(!r.is_error, "%s", r.message);
	procs = sq_map_get(r.result, "procs");
	cr_assert(procs && procs->via.array.size == 2, "two processes");
	cr_assert_eq(sq_map_get(&procs->via.array.ptr[0], "pid")->via.u64, (uint64_t)a);
	cr_assert_eq(sq_map_get(&procs->via.array.ptr[1], "pid")->via.u64, (uint64_t)b);
	sysq_reply_free(&r);
	cr_assert_eq(sq_call(c, "proc.list", "{\"comm\": []}", &r), 0);
	cr_assert(!r.is_error && sq_map_get(r.result, "procs")->via.array.size == 0);
	sysq_reply_free(&r);
	cr_assert_neq(sq_call(c, "proc.list", "{\"euid\": [4294967295]}", &r), 0);
	cr_assert(r.is_error && strcmp(r.code, "EINVAL") == 0, "%s", r.code);
	sysq_reply_free(&r);
	sysq_close(c);
}

#endif /* __linux__ */
