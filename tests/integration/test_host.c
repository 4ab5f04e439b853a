/* SPDX-License-Identifier: ISC */
/*
 * test_host.c - sys.host against a real sysqd: every figure checked against
 * the /proc file it comes from, read just before and just after the call
 * (so a counter must lie between the two readings, a constant must equal
 * them), figures the kernel lacks absent, the same answer for uid 65534,
 * and `sysq host`.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "sq_proto.h"

#ifndef __linux__
Test(host, against_a_real_sysqd)
{
	cr_skip_test("SKIPPED: these tests check sysqd against Linux's /proc");
}
#else

static struct sqd d;
static void up(void) { sqd_start(&d, NULL); }
static void down(void) { sqd_stop_clean(&d); }
TestSuite(host, .init = up, .fini = down, .timeout = 60);

/* --- /proc, read here ------------------------------------------------------ */

/* The numbers after "KEY" on the line that starts with it in a /proc file;
 * how many (at most max). */
static int proc_nums(const char *path, const char *key, unsigned long long *v, int max)
{
	char *text = slurp(path);
	int n = 0;
	size_t klen = strlen(key);
	for (char *line = text; line && *line && n == 0;) {
		char *next = strchr(line, '\n');
		if (strncmp(line, key, klen) == 0) {
			char *p = line + klen, *end;
			while (n < max) {
				v[n] = strtoull(p, &end, 10);
				if (end == p)
					break;
				n++;
				p = end;
			}
		}
		line = next ? next + 1 : NULL;
	}
	free(text);
	return n;
}

static unsigned long long proc_num(const char *path, const char *key)
{
	unsigned long long v = 0;
	cr_assert_eq(proc_nums(path, key, &v, 1), 1, "%s: no %s", path, key);
	return v;
}

static double hz(void)
{
	return (double)sysconf(_SC_CLK_TCK);
}

static double num(const msgpack_object *o)
{
	cr_assert(o, "a figure is missing");
	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return o->via.f64;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: return (double)o->via.u64;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return (double)o->via.i64;
	default: cr_assert_fail("not a number (type %d)", o->type);
	}
	return 0;
}

static const msgpack_object *path2(const msgpack_object *o, const char *a, const char *b)
{
	const msgpack_object *x = sq_map_get(o, a);
	return x && b ? sq_map_get(x, b) : x;
}

/* a reading of a monotonic figure lies between two of the file's */
static void between(double v, double lo, double hi, double slack, const char *what)
{
	cr_assert(v >= lo - slack && v <= hi + slack, "%s: %.6f not within %.6f..%.6f", what,
	          v, lo, hi);
}

/* --- tests ------------------------------------------------------------------ */

Test(host, memory_and_swap_equal_meminfo)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.host", NULL, &r), 0, "%s %s", r.code, r.message);
	static const struct { const char *key, *sect, *name; } k[] = {
		{ "MemTotal:", "memory", "total" }, { "SwapTotal:", "swap", "total" },
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		cr_assert_eq((unsigned long long)num(path2(r.result, k[i].sect, k[i].name)),
		             proc_num("/proc/meminfo", k[i].key) * 1024, "%s", k[i].key);
	/* the moving ones: present, in bytes (a multiple of 1 KiB), at most the total */
	static const char *const moving[] = { "available", "free", "buffers", "cached", "shared" };
	double total = num(path2(r.result, "memory", "total"));
	for (size_t i = 0; i < sizeof(moving) / sizeof(moving[0]); i++) {
		double v = num(path2(r.result, "memory", moving[i]));
		cr_assert(v <= total && (unsigned long long)v % 1024 == 0, "memory.%s %.0f",
		          moving[i], v);
	}
	cr_assert(num(path2(r.result, "swap", "free")) <= num(path2(r.result, "swap", "total")));
	sysq_reply_free(&r);
	sysq_close(c);
}

Test(host, cpu_times_lie_between_two_readings_of_proc_stat)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	static const char *const modes[] = {
		"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
	};
	unsigned long long before[8], after[8], up0, up1;
	cr_assert_eq(proc_nums("/proc/stat", "cpu ", before, 8), 8);
	char *u = slurp("/proc/uptime");
	up0 = (unsigned long long)strtod(u, NULL);
	free(u);
	cr_assert_eq(sq_call(c, "sys.host", NULL, &r), 0, "%s %s", r.code, r.message);
	cr_assert_eq(proc_nums("/proc/stat", "cpu ", after, 8), 8);
	u = slurp("/proc/uptime");
	up1 = (unsigned long long)strtod(u, NULL);
	free(u);
	const msgpack_object *cpu = sq_map_get(r.result, "cpu");
	for (int m = 0; m < 8; m++) {
		/* iowait is the one figure Linux may step back (per-CPU iowait is
		 * an estimate): allow it one tick per CPU */
		double slack = strcmp(modes[m], "iowait") == 0 ? 64.0 / hz() : 1e-9;
		between(num(sq_map_get(cpu, modes[m])), (double)before[m] / hz(),
		        (double)after[m] / hz(), slack, modes[m]);
	}
	between(num(sq_map_get(r.result, "uptime_s")), (double)up0, (double)up1 + 1, 0, "uptime");
	cr_assert_eq((unsigned long long)num(sq_map_get(r.result, "boot_time")),
	             proc_num("/proc/stat", "btime "));
	/* one entry per cpuN line, by id, each with its modes */
	char *stat = slurp("/proc/stat");
	unsigned ncpu = 0;
	for (char *p = stat; (p = strstr(p, "\ncpu")); p++)
		ncpu++;
	free(stat);
	const msgpack_object *cpus = sq_map_get(r.result, "cpus");
	cr_assert(cpus && cpus->type == MSGPACK_OBJECT_ARRAY);
	cr_assert_eq(cpus->via.array.size, ncpu);
	for (uint32_t i = 0; i < ncpu; i++) {
		const msgpack_object *one = &cpus->via.array.ptr[i];
		char key[32];
		snprintf(key, sizeof(key), "cpu%d ", (int)num(sq_map_get(one, "cpu")));
		unsigned long long b[8];
		cr_assert_eq(proc_nums("/proc/stat", key, b, 8), 8, "no %s line", key);
		cr_assert(num(sq_map_get(one, "idle")) <= (double)b[3] / hz() + 1e-9);
	}
	sysq_reply_free(&r);
	sysq_close(c);
}

Test(host, load_counts_and_pressure)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	char *la0 = slurp("/proc/loadavg");
	unsigned long long forks0 = proc_num("/proc/stat", "processes ");
	static const char *const res[] = { "cpu", "memory", "io" };
	char *psi0[3];
	for (int i = 0; i < 3; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/pressure/%s", res[i]);
		psi0[i] = slurp(path);
	}
	cr_assert_eq(sq_call(c, "sys.host", NULL, &r), 0, "%s %s", r.code, r.message);
	char *la1 = slurp("/proc/loadavg");
	unsigned long long forks1 = proc_num("/proc/stat", "processes ");
	const msgpack_object *load = sq_map_get(r.result, "load");
	cr_assert(load && load->type == MSGPACK_OBJECT_ARRAY && load->via.array.size == 3);
	/* the kernel's load is the same in both readings or it moved once between */
	char *p0 = la0, *p1 = la1;
	for (int i = 0; i < 3; i++) {
		double a = strtod(p0, &p0), b = strtod(p1, &p1);
		double v = num(&load->via.array.ptr[i]);
		cr_assert(v == a || v == b, "load[%d] %.2f is neither %.2f nor %.2f", i, v, a, b);
	}
	free(la0);
	free(la1);
	between(num(sq_map_get(r.result, "forks")), (double)forks0, (double)forks1, 0, "forks");
	double procs = num(sq_map_get(r.result, "procs"));
	double threads = num(sq_map_get(r.result, "threads"));
	cr_assert(procs >= 1 && threads >= procs, "procs %.0f threads %.0f", procs, threads);
	num(sq_map_get(r.result, "procs_running"));
	num(sq_map_get(r.result, "procs_blocked"));
	num(sq_map_get(r.result, "context_switches"));

	for (int i = 0; i < 3; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/pressure/%s", res[i]);
		char *text = psi0[i];
		const msgpack_object *ps = path2(r.result, "pressure", res[i]);
		if (!strstr(text, "some ")) { /* no PSI in this kernel: absent, never 0 */
			cr_assert_null(ps, "pressure.%s without %s", res[i], path);
		} else {
			cr_assert(ps, "pressure.%s missing", res[i]);
			unsigned long long t = strtoull(strstr(text, "total=") + 6, NULL, 10);
			double v = num(path2(ps, "some", "total_us"));
			char *after = slurp(path);
			between(v, (double)t, (double)strtoull(strstr(after, "total=") + 6, NULL, 10),
			        0, path);
			free(after);
			double a10 = num(path2(ps, "some", "avg10"));
			cr_assert(a10 >= 0 && a10 <= 100);
			cr_assert_eq(!!strstr(text, "full "), !!sq_map_get(ps, "full"));
		}
		free(text);
	}
	sysq_reply_free(&r);
	sysq_close(c);
}

/* sysqd keeps the files it reads open (lib/host_linux.c): every call
 * must still give the figures of its moment, not those of the first. */
Test(host, each_call_reads_the_figures_anew)
{
	struct sysq *c = sqd_connect(&d);
	for (int round = 0; round < 3; round++) {
		/* a fork and a wait between the calls move the kernel's counters */
		pid_t kid = fork();
		cr_assert(kid >= 0);
		if (kid == 0)
			_exit(0);
		waitpid(kid, NULL, 0);
		unsigned long long forks0 = proc_num("/proc/stat", "processes ");
		unsigned long long ctxt0 = proc_num("/proc/stat", "ctxt ");
		char *u = slurp("/proc/uptime");
		double up0 = strtod(u, NULL);
		free(u);
		struct sysq_reply r;
		cr_assert_eq(sq_call(c, "sys.host", NULL, &r), 0, "%s %s", r.code, r.message);
		unsigned long long forks1 = proc_num("/proc/stat", "processes ");
		unsigned long long ctxt1 = proc_num("/proc/stat", "ctxt ");
		u = slurp("/proc/uptime");
		double up1 = strtod(u, NULL);
		free(u);
		between(num(sq_map_get(r.result, "forks")), (double)forks0, (double)forks1, 0,
		        "forks");
		between(num(sq_map_get(r.result, "context_switches")), (double)ctxt0,
		        (double)ctxt1, 0, "context_switches");
		between(num(sq_map_get(r.result, "uptime_s")), up0, up1, 0, "uptime_s");
		sysq_reply_free(&r);
	}
	sysq_close(c);
}

static int host_as_nobody(void *arg)
{
	const struct sqd *dd = arg;
	char err[256];
	struct sysq *c = sysq_connect(dd->sock, err, sizeof(err));
	if (!c)
		return 10;
	struct sysq_reply r;
	if (sysq_call0(c, "sys.host", &r) != 0)
		return 11;
	const msgpack_object *t = path2(r.result, "memory", "total");
	if (!t || t->via.u64 != proc_num("/proc/meminfo", "MemTotal:") * 1024)
		return 12;
	if (!sq_map_get(r.result, "cpu") || !sq_map_get(r.result, "procs"))
		return 13;
	sysq_reply_free(&r);
	sysq_close(c);
	return 0;
}

Test(host, any_user_may_ask)
{
	SKIP_UNLESS_ROOT();
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, host_as_nobody, &d), 0);
}

Test(host, sysq_host_is_one_screen_like_the_top_of_top)
{
	char out[8192], want[64];
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "host"), 0);
	cr_assert(strstr(out, "load average:"), "%s", out);
	cr_assert(strstr(out, "Tasks:") && strstr(out, "threads"), "%s", out);
	cr_assert(strstr(out, "%Cpu(s):") && strstr(out, " us,") && strstr(out, " id,"), "%s", out);
	cr_assert(strstr(out, "MiB Mem :") && strstr(out, "MiB Swap:"), "%s", out);
	/* the memory total as free(1) -m would round it */
	snprintf(want, sizeof(want), "%.1f total",
	         (double)proc_num("/proc/meminfo", "MemTotal:") / 1024.0);
	cr_assert(strstr(out, want), "lacks '%s':\n%s", want, out);
	char *psi = slurp("/proc/pressure/cpu");
	if (strstr(psi, "some"))
		cr_assert(strstr(out, "Pressure:"), "%s", out);
	free(psi);
	int lines = 0;
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	cr_assert(lines >= 5 && lines <= 10, "one screen's top: %d lines", lines);
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "--json host"), 0);
	cr_assert(strstr(out, "\"memory\"") && strstr(out, "\"cpus\""), "%s", out);
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "host extra"), 2, "usage: exit 2");
}

#endif /* __linux__ */
