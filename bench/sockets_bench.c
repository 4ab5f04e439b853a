/* SPDX-License-Identifier: ISC */
/*
 * sockets_bench.c - the sockets figures for `make bench` (run by
 * bench/b_sockets.sh): net.sockets through sysqd against ss(8) doing the
 * same listing, in the same run, with N established loopback TCP
 * connections made here (and closed on exit): `ss -tan` vs net.sockets
 * without TCP figures, `ss -tin` vs with them, `ss -tanp` vs with owners.
 * Each figure is the median of ITER runs of each side (9 by default),
 * interleaved and alternating which side goes first, so that one noisy
 * moment on a shared machine does not decide; the spread (fastest and
 * slowest run) is printed too.  A run of ss is its fork, exec and output
 * to /dev/null, a run of net.sockets the whole stream read and decoded.
 * A second line per figure gives the CPU time each side spent over all
 * its runs (ss: the children's user+system time; net.sockets: this
 * client's plus sysqd's, from /proc/SYSQD_PID/stat, when given): less
 * moved by the machine's load than wall time, and it says which side of
 * the socket sysq's time goes to.
 * Usage: sockets_bench SOCKET [N [ITER [SYSQD_PID]]]
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libsysq.h"
#include "sq_proto.h"
#include "bench_stats.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ss_ms; /* CPU time of the ss runs */

static double tv_ms(struct timeval tv)
{
	return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

/* This process's CPU time (user+system), ms. */
static double self_cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime);
}

/* ss ARGS > /dev/null: its wall time in ms, or -1. */
static double run_ss(const char *args)
{
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("ss", "ss", args, (char *)NULL);
		_exit(127);
	}
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	double t = now_ms() - t0;
	cpu_ss_ms += tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime);
	return t;
}

/* net.sockets {protocol: [tcp], info, owners} read to its end: ms, or -1;
 * *count the sockets. */
static double run_sq(struct sysq *c, bool info, bool owners, long *count)
{
	double t0 = now_ms();
	uint32_t id;
	msgpack_packer *pk = sysq_begin(c, "net.sockets", &id);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 3);
	sq_pack_kv_bool(pk, "info", info);
	sq_pack_kv_bool(pk, "owners", owners);
	sq_pack_cstr(pk, "protocol");
	msgpack_pack_array(pk, 1);
	sq_pack_cstr(pk, "tcp");
	if (sysq_flush(c) < 0)
		return -1;
	*count = -1;
	for (;;) {
		struct sysq_reply r;
		if (sysq_read(c, &r) < 0)
			return -1;
		if (r.type == 1 && r.msgid == id && r.is_error) {
			fprintf(stderr, "sockets_bench: net.sockets: %s %s\n", r.code, r.message);
			sysq_reply_free(&r);
			return -1;
		}
		bool end = r.type == 2 && strcmp(r.method, "net.sockets.end") == 0;
		if (end) {
			const msgpack_object *m = &r.result->via.array.ptr[0];
			const msgpack_object *n = sq_map_get(m, "count");
			*count = n && n->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (long)n->via.u64 : -1;
		}
		sysq_reply_free(&r);
		if (end)
			return now_ms() - t0;
	}
}

/* N established connections: this process holds the client ends, a child
 * the accepted ones (so each holds N descriptors).  The child's pid. */
static pid_t connect_n(int n, int **fds)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)n + 64) {
		fprintf(stderr, "sockets_bench: RLIMIT_NOFILE %llu is below %d connections\n",
		        (unsigned long long)rl.rlim_cur, n);
		exit(1);
	}
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	socklen_t len = sizeof(sa);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 4096) < 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &len) < 0) {
		perror("sockets_bench: listener");
		exit(1);
	}
	int pfd[2];
	if (pipe(pfd) < 0)
		exit(1);
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < n; i++)
			if (accept(l, NULL, NULL) < 0)
				_exit(1);
		close(l);
		ssize_t w = write(pfd[1], "k", 1);
		(void)w;
		pause();
		_exit(0);
	}
	*fds = malloc((size_t)n * sizeof(int));
	for (int i = 0; i < n; i++) {
		(*fds)[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if ((*fds)[i] < 0 || connect((*fds)[i], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			perror("sockets_bench: connect");
			kill(pid, SIGKILL);
			exit(1);
		}
	}
	close(pfd[1]);
	char ch;
	if (read(pfd[0], &ch, 1) != 1) {
		fprintf(stderr, "sockets_bench: the accepting child failed\n");
		exit(1);
	}
	close(pfd[0]);
	close(l);
	return pid;
}

static void figure(const char *name, int n, double ours, double theirs, double target)
{
	double ratio = ours / theirs;
	printf("  sockets.%s_%d: %.1f ms  ratio %.2f (target %.1f) %s\n", name, n, ours, ratio,
	       target, ratio <= target ? "OK" : "MISS");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: sockets_bench SOCKET [N [ITER]]\n");
		return 2;
	}
	int n = argc > 2 ? atoi(argv[2]) : 10000;
	int iter = argc > 3 ? atoi(argv[3]) : 9;
	pid_t sysqd = argc > 4 ? (pid_t)atoi(argv[4]) : 0;
	if (n < 1 || n > 50000 || iter < 1 || iter > 50) {
		fprintf(stderr, "sockets_bench: N 1..50000, ITER 1..50\n");
		return 2;
	}
	char err[256];
	struct sysq *c = sysq_connect(argv[1], err, sizeof(err));
	if (!c) {
		fprintf(stderr, "sockets_bench: %s\n", err);
		return 1;
	}
	int *fds;
	double t0 = now_ms();
	pid_t kid = connect_n(n, &fds);
	printf("  (%d established loopback connections made in %.0f ms)\n", n, now_ms() - t0);

	static const struct { const char *name, *ss; bool info, owners; double target; } runs[] = {
		{ "tan", "-tan", false, false, 1.0 },
		{ "tin", "-tin", true, false, 1.0 },
		{ "tanp", "-tanp", false, true, 0.5 },
	};
	int rc = 0;
	double *a = calloc((size_t)iter, sizeof(double)), *b = calloc((size_t)iter, sizeof(double));
	for (size_t k = 0; k < sizeof(runs) / sizeof(runs[0]) && rc == 0; k++) {
		long count = 0;
		double cli_ms = 0, d0 = sysqd > 0 ? bn_cpu_s(sysqd) * 1e3 : -1;
		cpu_ss_ms = 0;
		for (int i = 0; i < iter && rc == 0; i++) { /* interleaved: same load for both */
			double c0;
			if (i % 2) {
				b[i] = run_ss(runs[k].ss);
				c0 = self_cpu_ms();
				a[i] = run_sq(c, runs[k].info, runs[k].owners, &count);
				cli_ms += self_cpu_ms() - c0;
			} else {
				c0 = self_cpu_ms();
				a[i] = run_sq(c, runs[k].info, runs[k].owners, &count);
				cli_ms += self_cpu_ms() - c0;
				b[i] = run_ss(runs[k].ss);
			}
			if (a[i] < 0 || b[i] < 0 || count < 2L * n)
				rc = 1;
		}
		if (rc) {
			fprintf(stderr, "sockets_bench: %s failed (net.sockets listed %ld sockets)\n",
			        runs[k].name, count);
			break;
		}
		double ours = bn_median(a, iter), theirs = bn_median(b, iter); /* sorts a and b */
		figure(runs[k].name, n, ours, theirs, runs[k].target);
		printf("  (net.sockets %s: %ld sockets, %.1f-%.1f ms; ss %s median %.1f ms, "
		       "%.1f-%.1f ms; %d runs each)\n", runs[k].name, count, a[0], a[iter - 1],
		       runs[k].ss, theirs, b[0], b[iter - 1], iter);
		double d1 = d0 >= 0 ? bn_cpu_s(sysqd) * 1e3 : -1;
		if (d1 >= 0)
			printf("  (CPU over the runs: net.sockets %.0f ms = sysqd %.0f + client %.0f; "
			       "ss %s %.0f ms; ratio %.2f)\n", d1 - d0 + cli_ms, d1 - d0, cli_ms,
			       runs[k].ss, cpu_ss_ms, (d1 - d0 + cli_ms) / cpu_ss_ms);
	}
	free(a);
	free(b);
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	sysq_close(c);
	return rc;
}
