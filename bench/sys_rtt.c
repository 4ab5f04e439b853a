/* SPDX-License-Identifier: ISC */
/*
 * sys_rtt.c - sys.ping round trip against sysqd vs raw AF_UNIX ping-pongs.
 *
 *   sys_rtt ROUND_TRIPS SYSQD_SOCK SYSQD_PID EPOLL_SOCK EPOLL_PID
 *           BLOCK_SOCK BLOCK_PID [pin]
 *
 * Three servers, each a process of its own started by the caller and
 * listening on a path: sysqd, and the two raw servers of bench/sys_raw.c
 * ("epoll", the event-loop floor the ratio divides by, and "block", a
 * blocking read/write server, for information).  The client is one function
 * for all three: connect(2) to the path, then a blocking write of the
 * pre-encoded 13-byte sys.ping request and a blocking read of the 9-byte
 * reply, checked byte for byte; so the difference is the server.
 * They run in 100 blocks each in this one process run, the order of the
 * three rotating through all six permutations (the machine is shared: that
 * spreads noise over all of them).  Nothing is pinned, but after each block
 * the program notes whether the server last ran on the client's CPU (Linux:
 * /proc/PID/stat), because on a small VM a wakeup across CPUs costs more than
 * everything else in a round trip.  Prints key=value lines: medians and p99s
 * in microseconds, the ratios of the medians (sysqd / epoll, the figure, and
 * sysqd / block), and the share of blocks each server spent on the client's
 * CPU.  "pin" (diagnosis only, Linux) confines the client and the three
 * servers to one CPU for the run, then gives each server its old mask back.
 */
#include <sched.h>
#include <signal.h>

#include "sys_common.h"

#define ROUNDS 100
#define WARMUP 5000

static struct bn_ping ping;

enum { S_SYSQD, S_EPOLL, S_BLOCK, NSERV };
static const char *const names[NSERV] = { "sysqd", "epoll", "block" };

/* The CPU pid last ran on, or -1 (not Linux, or it cannot be read). */
static int last_cpu(pid_t pid)
{
#ifdef __linux__
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p)
		return -1;
	/* after ")": field 3 (state) ... field 39 (processor) */
	for (int field = 2; field < 39 && p; field++)
		p = strchr(p + 1, ' ');
	return p ? atoi(p + 1) : -1;
#else
	(void)pid;
	return -1;
#endif
}

static int my_cpu(void)
{
#ifdef __linux__
	return sched_getcpu();
#else
	return -1;
#endif
}

/* cpu_set_t only exists on Linux: the masks are kept as plain bytes */
typedef unsigned long bn_mask[128 / sizeof(unsigned long)];

/* Diagnosis mode: confine this process and the servers pid[0..NSERV) to the
 * CPU this process is on, remembering each server's own mask in old[] for
 * unpin.  0, or -1 when not possible (not Linux, no permission). */
static int pin_here(const pid_t *pid, bn_mask *old)
{
#ifdef __linux__
	cpu_set_t one;
	int cpu = my_cpu();
	if (cpu < 0 || sizeof(old[0]) < sizeof(cpu_set_t))
		return -1;
	for (int s = 0; s < NSERV; s++)
		if (sched_getaffinity(pid[s], sizeof(cpu_set_t), (cpu_set_t *)old[s]) < 0)
			return -1;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0)
		return -1;
	for (int s = 0; s < NSERV; s++)
		if (sched_setaffinity(pid[s], sizeof(one), &one) < 0)
			return -1;
	return 0;
#else
	(void)pid, (void)old;
	return -1;
#endif
}

static void unpin(const pid_t *pid, bn_mask *old)
{
#ifdef __linux__
	for (int s = 0; s < NSERV; s++)
		sched_setaffinity(pid[s], sizeof(cpu_set_t), (cpu_set_t *)old[s]);
#else
	(void)pid, (void)old;
#endif
}

/* n round trips on fd; latencies (ns) go to lat[0..n) when lat is set. */
static void run(int fd, uint64_t *lat, size_t n, const char *who)
{
	char rep[64];
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = bn_now_ns();
		if (bn_write_full(fd, ping.req, ping.req_len) < 0 ||
		    bn_read_full(fd, rep, ping.rep_len) < 0)
			bn_die(who);
		uint64_t t1 = bn_now_ns();
		if (lat)
			lat[i] = t1 - t0;
	}
	if (memcmp(rep, ping.rep, ping.rep_len) != 0) {
		fprintf(stderr, "bench: %s: unexpected reply bytes\n", who);
		exit(1);
	}
}

/* The block order of round r: the six orders of the three servers in turn. */
static const int orders[6][NSERV] = {
	{ 0, 1, 2 }, { 2, 1, 0 }, { 1, 2, 0 }, { 0, 2, 1 }, { 2, 0, 1 }, { 1, 0, 2 },
};

/*
 * sysqd against the epoll server over the blocks in which both were placed
 * alike: the blocks each ended on the client's CPU, or those each ended
 * away from it, whichever class holds more blocks of both (at least
 * ALIKE_MIN each).  The class is chosen by placement alone, never by the
 * times.  Prints alike_* lines, or alike_blocks=0 when no class has enough.
 */
#define ALIKE_MIN 20

static double class_median(uint64_t *const *lat, bool (*loc)[ROUNDS], int s, bool where,
                           size_t per)
{
	uint64_t *v = malloc(ROUNDS * per * sizeof(*v));
	if (!v)
		bn_die("malloc");
	size_t m = 0;
	for (size_t r = 0; r < ROUNDS; r++)
		if (loc[s][r] == where) {
			memcpy(v + m, lat[s] + r * per, per * sizeof(*v));
			m += per;
		}
	double q = bn_quantile_us(v, m, 0.50);
	free(v);
	return q;
}

static void alike(uint64_t *const *lat, bool (*loc)[ROUNDS], size_t per)
{
	int count[2][2] = { { 0, 0 }, { 0, 0 } }; /* [where][0 sysqd, 1 epoll] */
	for (size_t r = 0; r < ROUNDS; r++) {
		count[loc[S_SYSQD][r]][0]++;
		count[loc[S_EPOLL][r]][1]++;
	}
	int best = -1, most = 0;
	for (int w = 1; w >= 0; w--) {
		int both = count[w][0] < count[w][1] ? count[w][0] : count[w][1];
		if (both > most) {
			most = both;
			best = w;
		}
	}
	if (best < 0 || most < ALIKE_MIN || my_cpu() < 0) {
		printf("alike_blocks=0\n");
		return;
	}
	double q = class_median(lat, loc, S_SYSQD, best, per);
	double e = class_median(lat, loc, S_EPOLL, best, per);
	printf("alike_where=%s\n", best ? "on" : "away from");
	printf("alike_blocks=%d\nalike_sysqd_blocks=%d\nalike_epoll_blocks=%d\n", most,
	       count[best][0], count[best][1]);
	printf("alike_sysqd_median_us=%.2f\nalike_epoll_median_us=%.2f\n", q, e);
	printf("alike_ratio=%.3f\n", q / e);
}

int main(int argc, char **argv)
{
	if (argc < 8 || argc > 9 || (argc == 9 && strcmp(argv[8], "pin") != 0)) {
		fprintf(stderr, "usage: sys_rtt ROUND_TRIPS SYSQD_SOCK SYSQD_PID"
			" EPOLL_SOCK EPOLL_PID BLOCK_SOCK BLOCK_PID [pin]\n");
		return 2;
	}
	size_t n = strtoul(argv[1], NULL, 10);
	if (n < ROUNDS * 10) {
		fprintf(stderr, "sys_rtt: at least %d round trips\n", ROUNDS * 10);
		return 2;
	}
	n -= n % ROUNDS;
	const char *path[NSERV];
	pid_t pid[NSERV];
	for (int s = 0; s < NSERV; s++) {
		path[s] = argv[2 + 2 * s];
		pid[s] = (pid_t)strtol(argv[3 + 2 * s], NULL, 10);
		if (pid[s] <= 0) {
			fprintf(stderr, "sys_rtt: %s: not a pid\n", argv[3 + 2 * s]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	bn_ping_init(&ping, "sys.ping", 1);

	static bn_mask old[NSERV];
	bool pinned = argc == 9;
	if (pinned && pin_here(pid, old) < 0) {
		int e = errno;
		unpin(pid, old); /* the servers pinned before the failure */
		errno = e;
		bn_die("pinning to one CPU");
	}

	int fd[NSERV];
	uint64_t *lat[NSERV];
	int local[NSERV] = { 0 };
	static bool loc[NSERV][ROUNDS]; /* block r of server s ended on our CPU */
	for (int s = 0; s < NSERV; s++) {
		fd[s] = bn_connect(path[s]);
		if (fd[s] < 0)
			bn_die(path[s]);
		lat[s] = calloc(n, sizeof(*lat[s]));
		if (!lat[s])
			bn_die("calloc");
	}

	for (int s = 0; s < NSERV; s++)
		run(fd[s], NULL, WARMUP, names[s]);
	size_t per = n / ROUNDS;
	uint64_t t0 = bn_now_ns();
	for (size_t r = 0; r < ROUNDS; r++) {
		for (int k = 0; k < NSERV; k++) {
			int s = orders[r % 6][k];
			run(fd[s], lat[s] + r * per, per, names[s]);
			loc[s][r] = last_cpu(pid[s]) == my_cpu();
			local[s] += loc[s][r];
		}
	}
	double secs = (double)(bn_now_ns() - t0) / 1e9;
	for (int s = 0; s < NSERV; s++)
		close(fd[s]);
	if (pinned)
		unpin(pid, old);

	alike(lat, loc, per);
	double med[NSERV];
	printf("round_trips=%zu\n", n);
	printf("request_bytes=%zu\nreply_bytes=%zu\n", ping.req_len, ping.rep_len);
	for (int s = 0; s < NSERV; s++) {
		/* bn_quantile_us sorts, so both quantiles come from one sort */
		printf("%s_p99_us=%.2f\n", names[s], bn_quantile_us(lat[s], n, 0.99));
		med[s] = bn_quantile_us(lat[s], n, 0.50);
		printf("%s_median_us=%.2f\n", names[s], med[s]);
		free(lat[s]);
	}
	printf("ratio=%.3f\n", med[S_SYSQD] / med[S_EPOLL]);
	printf("block_ratio=%.3f\n", med[S_SYSQD] / med[S_BLOCK]);
	if (my_cpu() >= 0)
		for (int s = 0; s < NSERV; s++)
			printf("%s_same_cpu_pct=%d\n", names[s], local[s] * 100 / ROUNDS);
	printf("seconds=%.2f\n", secs);
	return 0;
}
