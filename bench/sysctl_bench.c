/* SPDX-License-Identifier: ISC */
/*
 * sysctl_bench.c - the sys.sysctl.get figure for `make bench` (run by
 * bench/b_sysctl.sh): reading the same kernel parameters with one process
 * each, `sysctl K1 ... KN` (procps) against `sysq sysctl K1 ... KN` (one
 * connect and one sys.sysctl.get), run alternately, output to /dev/null,
 * median wall time of each: the figure, as a user compares them.  For
 * diagnosis, in-process: one sys.sysctl.get round trip against raw reads of
 * the same /proc/sys files.
 * Usage: sysctl_bench SOCKET SYSQ SYSCTL ROUNDS KEY...
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libsysq.h"
#include "sq_proto.h"
#include "bench_stats.h"

/* argv run to completion, stdout and stderr to /dev/null: wall time, us */
static double run(char **argv)
{
	double t0 = bn_now_us();
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "sysctl_bench: %s exited %d\n", argv[0], st);
		exit(1);
	}
	return bn_now_us() - t0;
}

static char buf[65536];

static void raw_reads(char **keys, int n)
{
	for (int i = 0; i < n; i++) {
		char path[512];
		int len = snprintf(path, sizeof(path), "/proc/sys/%s", keys[i]);
		for (int k = 10; k < len; k++)
			if (path[k] == '.')
				path[k] = '/';
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
	}
}

static void get_call(struct sysq *c, char **keys, int n)
{
	struct sysq_reply r;
	msgpack_packer *pk = sysq_begin(c, "sys.sysctl.get", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	sq_pack_cstr(pk, "names");
	msgpack_pack_array(pk, (uint32_t)n);
	for (int i = 0; i < n; i++)
		sq_pack_cstr(pk, keys[i]);
	if (sysq_call_end(c, &r) != 0) {
		fprintf(stderr, "sysctl_bench: sys.sysctl.get: %s %s\n", r.code, r.message);
		exit(1);
	}
	sysq_reply_free(&r);
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: sysctl_bench SOCKET SYSQ SYSCTL ROUNDS KEY...\n");
		return 2;
	}
	const char *sock = argv[1];
	int rounds = atoi(argv[4]), nkeys = argc - 5;
	char **keys = argv + 5;
	if (rounds < 1)
		rounds = 1;
	/* sysctl K...  and  sysq -s SOCK sysctl K... */
	char **sc = calloc((size_t)nkeys + 2, sizeof(char *));
	char **sq = calloc((size_t)nkeys + 5, sizeof(char *));
	sc[0] = argv[3];
	sq[0] = argv[2];
	sq[1] = "-s";
	sq[2] = (char *)sock;
	sq[3] = "sysctl";
	for (int i = 0; i < nkeys; i++)
		sc[1 + i] = sq[4 + i] = keys[i];
	double *tsc = calloc((size_t)rounds, sizeof(double)), *tsq = calloc((size_t)rounds, sizeof(double));
	run(sc);
	run(sq); /* warm both */
	for (int i = 0; i < rounds; i++) {
		tsc[i] = run(sc);
		tsq[i] = run(sq);
	}
	double msc = bn_median(tsc, rounds), msq = bn_median(tsq, rounds);

	char err[256];
	struct sysq *c = sysq_connect(sock, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "sysctl_bench: %s\n", err);
		return 1;
	}
	int n = 20 * rounds;
	double *traw = calloc((size_t)n, sizeof(double)), *tget = calloc((size_t)n, sizeof(double));
	for (int i = 0; i < 20; i++) {
		get_call(c, keys, nkeys);
		raw_reads(keys, nkeys);
	}
	for (int i = 0; i < n; i++) {
		double t0 = bn_now_us();
		raw_reads(keys, nkeys);
		traw[i] = bn_now_us() - t0;
		t0 = bn_now_us();
		get_call(c, keys, nkeys);
		tget[i] = bn_now_us() - t0;
	}
	double mraw = bn_median(traw, n), mget = bn_median(tget, n);
	sysq_close(c);
	printf("    in-process: raw reads of the %d /proc/sys files median %.1f us, one "
	       "sys.sysctl.get round trip median %.1f us, %.2fx (diagnosis, not the figure)\n",
	       nkeys, mraw, mget, mget / mraw);
	printf("    sysctl(8) %d keys, one process: median %.2f ms\n", nkeys, msc / 1000);
	printf("    sysq sysctl %d keys, one process (connect, one sys.sysctl.get, print): "
	       "median %.2f ms\n", nkeys, msq / 1000);
	printf("  sys.sysctl.get: %.2f ms  ratio %.2f (target <= 1.0x sysctl(8) of the same %d "
	       "keys, one process each) %s\n", msq / 1000, msq / msc, nkeys,
	       msq / msc <= 1.0 ? "OK" : "MISS");
	free(sc);
	free(sq);
	free(tsc);
	free(tsq);
	free(traw);
	free(tget);
	return 0;
}
