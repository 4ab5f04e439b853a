/* SPDX-License-Identifier: ISC */
/*
 * host_bench.c - the sys.host figure for `make bench` (run by
 * bench/b_host.sh): one sys.host round trip through sysqd against raw reads
 * of the same /proc files in the same run (uptime, loadavg, stat, meminfo,
 * pressure/{cpu,memory,io}, and the listing of /proc that counts the
 * processes), in alternating blocks, median of each.  For diagnosis, the
 * same reading done in-process (sq_host_read: read and parse, no socket, no
 * worker hop) in the same blocks.
 * Usage: host_bench SOCKET [ITERATIONS]
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libsysq.h"
#include "sq_host.h"
#include "sq_proto.h"
#include "bench_stats.h"

static char buf[65536];

static void read_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* no PSI: sysqd skips it too */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

/* What sys.host reads, read and nothing more: no parsing, no packing. */
static unsigned raw_reads(void)
{
	static const char *const files[] = {
		"/proc/uptime", "/proc/loadavg", "/proc/stat", "/proc/meminfo",
		"/proc/pressure/cpu", "/proc/pressure/memory", "/proc/pressure/io",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		read_file(files[i]);
	unsigned n = 0;
	DIR *d = opendir("/proc");
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] >= '1' && e->d_name[0] <= '9';
	if (d)
		closedir(d);
	return n;
}

static void host_call(struct sysq *c)
{
	struct sysq_reply r;
	msgpack_packer *pk = sysq_begin(c, "sys.host", NULL);
	msgpack_pack_array(pk, 0);
	if (sysq_call_end(c, &r) != 0) {
		fprintf(stderr, "host_bench: sys.host: %s %s\n", r.code, r.message);
		exit(1);
	}
	sysq_reply_free(&r);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: host_bench SOCKET [ITERATIONS]\n");
		return 2;
	}
	int n = argc > 2 ? atoi(argv[2]) : 2000, block = 50;
	if (n < block)
		n = block;
	char err[256];
	struct sysq *c = sysq_connect(argv[1], err, sizeof(err));
	if (!c) {
		fprintf(stderr, "host_bench: %s\n", err);
		return 1;
	}
	double *sq = calloc((size_t)n, sizeof(double)), *raw = calloc((size_t)n, sizeof(double));
	double *lib = calloc((size_t)n, sizeof(double));
	for (int i = 0; i < 100; i++) { /* warm both */
		host_call(c);
		raw_reads();
	}
	for (int i = 0, k = 0; i < n; i += block) {
		for (k = i; k < i + block && k < n; k++) {
			double t0 = bn_now_us();
			host_call(c);
			sq[k] = bn_now_us() - t0;
		}
		for (k = i; k < i + block && k < n; k++) {
			double t0 = bn_now_us();
			raw_reads();
			raw[k] = bn_now_us() - t0;
		}
		for (k = i; k < i + block && k < n; k++) {
			struct sq_host h;
			double t0 = bn_now_us();
			if (sq_host_read(&h) == 0)
				sq_host_free(&h);
			lib[k] = bn_now_us() - t0;
		}
	}
	double ms = bn_median(sq, n), mr = bn_median(raw, n), ml = bn_median(lib, n), ratio = ms / mr;
	printf("    raw reads of the same /proc files (and the /proc listing): median %.1f us\n", mr);
	printf("    in-process sq_host_read (read and parse, no socket, no worker): median %.1f us,"
	       " %.2fx raw (diagnosis, not the figure)\n", ml, ml / mr);
	printf("    sys.host round trip (read, parse, pack, socket): median %.1f us\n", ms);
	printf("  sys.host: %.1f us  ratio %.2f (target <= 1.2x raw reads) %s\n", ms, ratio,
	       ratio <= 1.2 ? "OK" : "MISS");
	free(sq);
	free(raw);
	free(lib);
	sysq_close(c);
	return 0;
}
