/* SPDX-License-Identifier: ISC */
/*
 * test_proc_usage.c - proc.get/proc.list's usage fields against a real
 * sysqd: cpu_percent over the process's life, the number of open
 * descriptors, the cgroup path and the I/O byte counters, each equal to what
 * /proc says of a child that burnt some CPU, read and wrote a file, opened
 * descriptors and then stopped (so its figures hold still); for uid 65534,
 * present for its own process and absent for root's where the kernel hides
 * them (/proc/PID/fd, /proc/PID/io); proc.list gives them when asked.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "kids.h"
#include "sq_proto.h"

#ifndef __linux__
Test(proc_usage, against_a_real_sysqd)
{
	cr_skip_test("SKIPPED: these tests check sysqd against Linux's /proc");
}
#else

static struct sqd d;
static void up(void) { sqd_start(&d, NULL); }
static void down(void) { kid_reap_all(); sqd_stop_clean(&d); }
TestSuite(proc_usage, .init = up, .fini = down, .timeout = 60);

/* In the child: CPU, a written and read file, 5 extra descriptors, stop. */
static void busy_then_stop(void *arg)
{
	(void)arg;
	volatile unsigned long x = 0;
	for (unsigned long i = 0; i < 30000000ul; i++)
		x += i;
	char path[] = "/tmp/sysq-usage.XXXXXX";
	int fd = mkstemp(path);
	char buf[8192] = { 1 };
	for (int i = 0; i < 16; i++)
		if (write(fd, buf, sizeof(buf)) < 0)
			_exit(3);
	lseek(fd, 0, SEEK_SET);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	unlink(path);
	for (int i = 0; i < 4; i++)
		if (open("/dev/null", O_RDONLY) < 0)
			_exit(4);
	kid_ready();
	raise(SIGSTOP);
	pause();
}

/* A stopped child: its CPU time, descriptors and counters hold still. */
static pid_t stopped_kid(void)
{
	pid_t pid = kid_spawn(busy_then_stop, NULL);
	for (;;) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		char *st = slurp(path);
		char *close = strrchr(st, ')');
		int stopped = close && close[2] == 'T';
		free(st);
		if (stopped)
			return pid;
		usleep(1000); /* a bound on failure is the suite's timeout */
	}
}

static unsigned long long io_field(pid_t pid, const char *key)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	char *t = slurp(path);
	char *at = strstr(t, key);
	cr_assert(at, "%s has no %s", path, key);
	unsigned long long v = strtoull(at + strlen(key), NULL, 10);
	free(t);
	return v;
}

static unsigned count_fds(pid_t pid)
{
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "ls -A /proc/%d/fd | wc -l", (int)pid);
	FILE *f = popen(cmd, "r");
	unsigned n = 0;
	cr_assert(f && fscanf(f, "%u", &n) == 1);
	pclose(f);
	return n;
}

static double num(const msgpack_object *o)
{
	cr_assert(o, "a field is missing");
	return o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32
	       ? o->via.f64 : (double)o->via.u64;
}

Test(proc_usage, figures_equal_what_proc_says_of_a_stopped_child)
{
	pid_t pid = stopped_kid();
	char path[64], json[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	char *st = slurp(path);
	char *p = strrchr(st, ')') + 4; /* past ") S " */
	unsigned long long f[19];
	for (int i = 0; i < 19; i++) /* ppid (field 4) .. starttime (22) */
		f[i] = strtoull(p, &p, 10);
	free(st);
	double hz = (double)sysconf(_SC_CLK_TCK);
	double cpu = (double)(f[10] + f[11]) / hz, start = (double)f[18] / hz;
	char *u0 = slurp("/proc/uptime");
	double up0 = strtod(u0, NULL);
	free(u0);

	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	snprintf(json, sizeof(json), "{\"pid\": %d}", (int)pid);
	cr_assert_eq(sq_call(c, "proc.get", json, &r), 0, "%s", r.message);
	char *u1 = slurp("/proc/uptime");
	double up1 = strtod(u1, NULL) + 0.01;
	free(u1);
	cr_assert_gt(cpu, 0, "the child burnt CPU");
	double pct = num(sq_map_get(r.result, "cpu_percent"));
	cr_assert(pct >= cpu / (up1 - start) * 100 * 0.999 && pct <= cpu / (up0 - start) * 100 * 1.001,
	          "cpu_percent %.4f not within %.4f..%.4f", pct, cpu / (up1 - start) * 100,
	          cpu / (up0 - start) * 100);

	cr_assert_eq(num(sq_map_get(r.result, "fds")), count_fds(pid));
	cr_assert_geq(num(sq_map_get(r.result, "fds")), 7, "stdio and the 4 opened");

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	char *cg = slurp(path), *line = strstr(cg, "0::");
	if (line) {
		line += 3;
		*strchrnul(line, '\n') = '\0';
		cr_assert(sq_obj_streq(sq_map_get(r.result, "cgroup"), line), "cgroup is not %s", line);
	} else {
		cr_assert_null(sq_map_get(r.result, "cgroup"), "no cgroup v2: absent");
	}
	free(cg);

	const msgpack_object *io = sq_map_get(r.result, "io");
	cr_assert(io, "io missing");
	static const char *const keys[][2] = {
		{ "rchar", "rchar: " }, { "wchar", "wchar: " },
		{ "read_bytes", "read_bytes: " }, { "write_bytes", "\nwrite_bytes: " },
	};
	for (int i = 0; i < 4; i++)
		cr_assert_eq((unsigned long long)num(sq_map_get(io, keys[i][0])),
		             io_field(pid, keys[i][1]), "io.%s", keys[i][0]);
	cr_assert_geq(num(sq_map_get(io, "wchar")), 16 * 8192);
	sysq_reply_free(&r);

	/* proc.list: only when asked for (a further read per process) */
	snprintf(json, sizeof(json), "{\"pid\": [%d]}", (int)pid);
	cr_assert_eq(sq_call(c, "proc.list", json, &r), 0, "%s", r.message);
	const msgpack_object *one = &sq_map_get(r.result, "procs")->via.array.ptr[0];
	cr_assert(sq_map_get(one, "cpu_percent"));
	cr_assert_null(sq_map_get(one, "fds"));
	cr_assert_null(sq_map_get(one, "io"));
	sysq_reply_free(&r);
	snprintf(json, sizeof(json), "{\"pid\": [%d], \"fields\": [\"fds\", \"io\", \"cgroup\"]}",
	         (int)pid);
	cr_assert_eq(sq_call(c, "proc.list", json, &r), 0, "%s", r.message);
	one = &sq_map_get(r.result, "procs")->via.array.ptr[0];
	cr_assert_eq(num(sq_map_get(one, "fds")), count_fds(pid));
	cr_assert(sq_map_get(one, "io"));
	cr_assert_null(sq_map_get(one, "comm"), "only what was asked for");
	sysq_reply_free(&r);
	sysq_close(c);
	kid_reap(pid);
}

/* --- cpu_interval_ms: CPU use over an interval, two samples in sysqd --- */

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void spin_forever(void *arg)
{
	(void)arg;
	kid_ready();
	for (volatile unsigned long x = 0;; x++)
		;
}

/* Busy for 0.3 s of CPU (its life's figure is high), then asleep for good. */
static void busy_then_sleep(void *arg)
{
	(void)arg;
	for (volatile unsigned long x = 0; thread_cpu_s() < 0.3; x++)
		;
	kid_ready();
	for (;;)
		pause();
}

/* utime + stime of pid, seconds */
static double proc_cpu_s(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	char *st = slurp(path);
	char *p = strrchr(st, ')') + 4;
	unsigned long long f[12];
	for (int i = 0; i < 12; i++) /* ppid (field 4) .. stime (15) */
		f[i] = strtoull(p, &p, 10);
	free(st);
	return (double)(f[10] + f[11]) / (double)sysconf(_SC_CLK_TCK);
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* percent, from a reply holding one process map */
static double pct_of(const msgpack_object *one)
{
	return num(sq_map_get(one, "cpu_percent"));
}

/* The busy child's figure against the kernel's, read around the call: it
 * cannot have used more CPU inside the interval than around the call (two
 * ticks of slack), and it did use some. */
static void check_busy(double pct, double cpu0, double cpu1, double t0, double t1,
                       double interval_s)
{
	double tick = 1.0 / (double)sysconf(_SC_CLK_TCK);
	double most = (cpu1 - cpu0 + 2 * tick) / interval_s * 100;
	double around = (cpu1 - cpu0) / (t1 - t0) * 100;
	cr_assert(pct > 0 && pct <= most, "busy child: %.1f%% not within 0..%.1f%%", pct, most);
	cr_assert(pct >= around / 2 - 2 * tick / interval_s * 100,
	          "busy child: %.1f%% over the interval, %.1f%% around the call", pct, around);
}

Test(proc_usage, cpu_percent_over_an_interval_when_asked)
{
	pid_t busy = kid_spawn(spin_forever, NULL), idle = kid_spawn(busy_then_sleep, NULL);
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	char json[160];

	/* without the param: the life's figure, well above 0 for the sleeper */
	snprintf(json, sizeof(json), "{\"pid\": %d, \"fields\": [\"cpu_percent\"]}", (int)idle);
	cr_assert_eq(sq_call(c, "proc.get", json, &r), 0, "%s", r.message);
	cr_assert_gt(pct_of(r.result), 1.0, "the sleeper burnt 0.3 s first");
	sysq_reply_free(&r);

	/* proc.list over 200 ms: the busy one busy, the sleeper at exactly 0 */
	snprintf(json, sizeof(json), "{\"pid\": [%d, %d], \"fields\": [\"cpu_percent\"], "
	         "\"cpu_interval_ms\": 200}", (int)busy, (int)idle);
	double cpu0 = proc_cpu_s(busy), t0 = mono_s();
	cr_assert_eq(sq_call(c, "proc.list", json, &r), 0, "%s %s", r.code, r.message);
	double cpu1 = proc_cpu_s(busy), t1 = mono_s();
	const msgpack_object *procs = sq_map_get(r.result, "procs");
	cr_assert(procs && procs->via.array.size == 2);
	for (uint32_t i = 0; i < 2; i++) {
		const msgpack_object *one = &procs->via.array.ptr[i];
		pid_t pid = (pid_t)num(sq_map_get(one, "pid"));
		if (pid == idle)
			cr_assert_eq(pct_of(one), 0.0, "the sleeper: %.2f%%", pct_of(one));
		else
			check_busy(pct_of(one), cpu0, cpu1, t0, t1, 0.2);
	}
	sysq_reply_free(&r);

	/* proc.get the same */
	snprintf(json, sizeof(json), "{\"pid\": %d, \"cpu_interval_ms\": 200}", (int)busy);
	cpu0 = proc_cpu_s(busy);
	t0 = mono_s();
	cr_assert_eq(sq_call(c, "proc.get", json, &r), 0, "%s %s", r.code, r.message);
	cpu1 = proc_cpu_s(busy);
	t1 = mono_s();
	check_busy(pct_of(r.result), cpu0, cpu1, t0, t1, 0.2);
	cr_assert(sq_map_get(r.result, "comm"), "the other fields as without it");
	sysq_reply_free(&r);
	snprintf(json, sizeof(json), "{\"pid\": %d, \"cpu_interval_ms\": 200}", (int)idle);
	cr_assert_eq(sq_call(c, "proc.get", json, &r), 0, "%s %s", r.code, r.message);
	cr_assert_eq(pct_of(r.result), 0.0);
	sysq_reply_free(&r);

	/* bounded: 1..500 ms */
	static const char *const bad[] = { "0", "501", "-1", "\"100\"", "1.5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(json, sizeof(json), "{\"pid\": [%d], \"cpu_interval_ms\": %s}", (int)busy,
		         bad[i]);
		cr_assert_eq(sq_call(c, "proc.list", json, &r), SYSQ_REMOTE_ERROR, "%s", bad[i]);
		cr_assert_str_eq(r.code, "EINVAL");
		sysq_reply_free(&r);
	}
	sysq_close(c);
	kid_reap(busy);
	kid_reap(idle);
}

struct pair { const struct sqd *d; pid_t roots; };

/* As uid 65534: its own child's fds and io are there, root's are not. */
static int as_nobody(void *arg)
{
	struct pair *a = arg;
	char err[200], json[64];
	/* the uid change made this process undumpable, and /proc/PID/fd and io
	 * of an undumpable process are root's: as an ordinary one would be */
	prctl(PR_SET_DUMPABLE, 1);
	pid_t mine = fork();
	if (mine == 0) {
		pause();
		_exit(0);
	}
	struct sysq *c = sysq_connect(a->d->sock, err, sizeof(err));
	if (!c)
		return 10;
	struct sysq_reply r;
	int rc = 0;
	snprintf(json, sizeof(json), "{\"pid\": %d}", (int)mine);
	if (sq_call(c, "proc.get", json, &r) != 0)
		rc = 11;
	else if (!sq_map_get(r.result, "fds") || !sq_map_get(r.result, "io"))
		rc = 12;
	sysq_reply_free(&r);
	snprintf(json, sizeof(json), "{\"pid\": %d}", (int)a->roots);
	if (!rc && sq_call(c, "proc.get", json, &r) != 0)
		rc = 13;
	else if (!rc && (sq_map_get(r.result, "fds") || sq_map_get(r.result, "io")))
		rc = 14; /* the kernel would not show them: absent */
	else if (!rc && !sq_map_get(r.result, "cpu_percent"))
		rc = 15;
	if (!rc)
		sysq_reply_free(&r);
	kill(mine, SIGKILL);
	waitpid(mine, NULL, 0);
	sysq_close(c);
	return rc;
}

Test(proc_usage, what_the_kernel_hides_from_the_caller_is_absent)
{
	SKIP_UNLESS_ROOT();
	pid_t pid = stopped_kid();
	struct pair a = { &d, pid };
	int rc = run_as(NOBODY_UID, NOBODY_GID, as_nobody, &a);
	cr_assert_eq(rc, 0, "as uid 65534: step %d failed", rc);
	kid_reap(pid);
}

#endif /* __linux__ */
