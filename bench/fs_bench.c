/* SPDX-License-Identifier: ISC */
/*
 * fs_bench.c - speed of fs.list and `sysq df` against raw baselines
 * measured in the same run (bench/b_fs.sh starts the daemon):
 *   1. fs.list {all: true} daemon-side latency, vs a raw pass doing what
 *      df does without a daemon: read /proc/self/mountinfo and statfs(2)
 *      the same mounts (those fs.list answered "ok").  Daemon-side = the
 *      fs.list round trip minus a sys.ping round trip sent just before it
 *      on the same connection (what the socket, the wake-ups and the loop
 *      cost any request); the round trip itself is printed too;
 *   2. `sysq df -a` wall time vs `df -a` (fork+exec+wait, output to
 *      /dev/null), and for information the CPU each used (the child's
 *      rusage; sysqd's from /proc/$SQ_BENCH_SYSQD_PID/stat when given).
 * Medians of many runs, interleaved so both sides see the same machine.
 * Usage: fs_bench SOCKET SYSQ_BINARY [ROUNDS [LABEL]]
 * (LABEL, e.g. "1000 mounts", goes after each figure's name.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libsysq.h"
#include "sq_proto.h"
#include "bench_stats.h"

#define MAX_MOUNTS 4096

static char *mounts[MAX_MOUNTS];
static int nmounts;

/* One fs.list call; on the first, remember the mounts answered "ok". */
static int fs_list(struct sysq *c, bool remember)
{
	msgpack_packer *pk = sysq_begin(c, "fs.list", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	sq_pack_kv_bool(pk, "all", true);
	struct sysq_reply r;
	int rc = sysq_call_end(c, &r);
	if (rc != 0) {
		fprintf(stderr, "fs_bench: fs.list: %d %s %s\n", rc, r.code, r.message);
		sysq_reply_free(&r);
		return -1;
	}
	const msgpack_object *ms = sq_map_get(r.result, "mounts");
	for (uint32_t i = 0; remember && ms && i < ms->via.array.size && nmounts < MAX_MOUNTS; i++) {
		const msgpack_object *m = &ms->via.array.ptr[i];
		const msgpack_object *mp = sq_map_get(m, "mountpoint");
		if (!sq_obj_streq(sq_map_get(m, "state"), "ok") || !mp)
			continue;
		char *s = malloc(mp->via.str.size + 1);
		if (!s)
			break;
		memcpy(s, mp->via.str.ptr, mp->via.str.size);
		s[mp->via.str.size] = '\0';
		mounts[nmounts++] = s;
	}
	sysq_reply_free(&r);
	return 0;
}

static int ping(struct sysq *c)
{
	msgpack_packer *pk = sysq_begin(c, "sys.ping", NULL);
	msgpack_pack_array(pk, 0);
	struct sysq_reply r;
	int rc = sysq_call_end(c, &r);
	if (rc != 0)
		fprintf(stderr, "fs_bench: sys.ping: %d %s %s\n", rc, r.code, r.message);
	sysq_reply_free(&r);
	return rc != 0 ? -1 : 0;
}

/* What df does without a daemon: read the table, statfs each mount. */
static long raw_pass(void)
{
	static char buf[1 << 20];
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	ssize_t n;
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	long lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	long sum = lines;
	for (int i = 0; i < nmounts; i++) {
		struct statfs s;
		if (statfs(mounts[i], &s) == 0)
			sum += (long)s.f_blocks;
	}
	return sum;
}

/* CPU microseconds (user + system) of the last run_wall_us child. */
static double last_cpu_us;

static double run_wall_us(char *const argv[])
{
	double t0 = bn_now_us();
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	int st = 0;
	struct rusage ru;
	wait4(pid, &st, 0, &ru);
	double t = bn_now_us() - t0;
	last_cpu_us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	              (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	if (!WIFEXITED(st) || (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 1)) {
		fprintf(stderr, "fs_bench: %s failed (status %d)\n", argv[0], st);
		exit(1);
	}
	return t;
}

static const char *label;

static void line(const char *name, double fig, const char *unit, double ratio, double target)
{
	printf("  %s%s%s: %.1f %s  ratio %.2f (target %.1f) %s\n", name, label ? ", " : "",
	       label ? label : "", fig, unit, ratio, target, ratio <= target ? "OK" : "MISS");
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fs_bench SOCKET SYSQ_BINARY [ROUNDS [LABEL]]\n");
		return 2;
	}
	int rounds = argc > 3 ? atoi(argv[3]) : 2000;
	if (rounds < 10)
		rounds = 10;
	label = argc > 4 ? argv[4] : NULL;
	char err[256];
	struct sysq *c = sysq_connect(argv[1], err, sizeof(err));
	if (!c) {
		fprintf(stderr, "fs_bench: %s\n", err);
		return 1;
	}
	if (fs_list(c, true) < 0)
		return 1;
	for (int i = 0; i < 50; i++) /* warm every path */
		if (ping(c) < 0 || fs_list(c, false) < 0 || raw_pass() < 0)
			return 1;

	double *d = malloc(sizeof(double) * (size_t)rounds);
	double *rt = malloc(sizeof(double) * (size_t)rounds);
	double *pg = malloc(sizeof(double) * (size_t)rounds);
	double *raw = malloc(sizeof(double) * (size_t)rounds);
	if (!d || !rt || !pg || !raw)
		return 1;
	volatile long sink = 0;
	for (int i = 0; i < rounds; i++) {
		double t0 = bn_now_us();
		if (ping(c) < 0)
			return 1;
		double t1 = bn_now_us();
		if (fs_list(c, false) < 0)
			return 1;
		double t2 = bn_now_us();
		sink += raw_pass();
		double t3 = bn_now_us();
		pg[i] = t1 - t0;
		rt[i] = t2 - t1;
		d[i] = rt[i] - pg[i];
		raw[i] = t3 - t2;
	}
	(void)sink;
	double md = bn_median(d, rounds), mr = bn_median(raw, rounds);
	double mrt = bn_median(rt, rounds), mpg = bn_median(pg, rounds);
	line("fs.list latency", md, "us", md / mr, 2.0);
	printf("  (medians of %d calls over %d mounts: daemon-side = fs.list {all: true} round "
	       "trip minus the sys.ping round trip just before it; raw baseline in-process, "
	       "read /proc/self/mountinfo + statfs each: %.1f us)\n", rounds, nmounts, mr);
	printf("  (round trips, medians: fs.list %.1f us = %.2fx the raw pass, sys.ping %.1f us)\n",
	       mrt, mrt / mr, mpg);

	/* the CLI against df */
	int runs = rounds / 10 < 50 ? 50 : rounds / 10 > 300 ? 300 : rounds / 10;
	char *sysq_argv[] = { argv[2], "-s", argv[1], "df", "-a", NULL };
	char *df_argv[] = { "df", "-a", NULL };
	double *ws = malloc(sizeof(double) * (size_t)runs);
	double *wd = malloc(sizeof(double) * (size_t)runs);
	if (!ws || !wd)
		return 1;
	for (int i = 0; i < 5; i++) {
		run_wall_us(sysq_argv);
		run_wall_us(df_argv);
	}
	pid_t dpid = getenv("SQ_BENCH_SYSQD_PID") ? (pid_t)atoi(getenv("SQ_BENCH_SYSQD_PID")) : 0;
	double cpu_sysq = 0, cpu_df = 0, cpu_daemon = 0;
	for (int i = 0; i < runs; i++) {
		double d0 = bn_cpu_s(dpid);
		ws[i] = run_wall_us(sysq_argv);
		double d1 = bn_cpu_s(dpid);
		cpu_sysq += last_cpu_us;
		cpu_daemon += d0 >= 0 && d1 >= 0 ? (d1 - d0) * 1e6 : 0;
		wd[i] = run_wall_us(df_argv);
		cpu_df += last_cpu_us;
	}
	double ms = bn_median(ws, runs), mdf = bn_median(wd, runs);
	line("sysq df wall", ms, "us", ms / mdf, 1.0);
	printf("  (medians of %d runs each, fork+exec+wait: `sysq df -a` against `df -a` "
	       "%.0f us)\n", runs, mdf);
	if (dpid > 0)
		printf("  (CPU per run, means, for information: sysq df %.0f us + sysqd %.0f us "
		       "(clock ticks) against df -a %.0f us)\n", cpu_sysq / runs,
		       cpu_daemon / runs, cpu_df / runs);
	else
		printf("  (CPU per run, means, for information: sysq df %.0f us against df -a "
		       "%.0f us)\n", cpu_sysq / runs, cpu_df / runs);

	for (int i = 0; i < nmounts; i++)
		free(mounts[i]);
	free(d);
	free(rt);
	free(pg);
	free(raw);
	free(ws);
	free(wd);
	sysq_close(c);
	return 0;
}
