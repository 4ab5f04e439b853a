/*
 * sys_rtt.c - sys.ping round trip against sysqd vs a raw AF_UNIX ping-pong.
 *
 *   sys_rtt SOCKET [ROUND_TRIPS [SYSQD_PID [pin]]]
 *
 * The baseline is a forked process doing blocking read/write echo of exactly
 * the bytes of a sys.ping request and its reply over a socketpair; sysqd gets
 * the same pre-encoded bytes over a raw blocking socket, so the client side is
 * identical.  Both run in 100 alternating blocks in this one process run (the
 * machine is shared: alternation spreads any noise over both).  Nothing is
 * pinned, but after each block the program notes whether the server last ran
 * on the client's CPU (Linux: /proc/PID/stat), because on a small VM a
 * wakeup across CPUs costs more than everything else in a round trip.
 * Prints key=value lines: medians and p99 in microseconds, the ratio of the
 * medians, and the share of blocks each server spent on the client's CPU.
 * "pin" (diagnosis only, Linux) confines the client, the raw server and
 * sysqd to one CPU for the run, then gives sysqd its old mask back.
 */
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#include "sys_common.h"

#define ROUNDS 100
#define WARMUP 5000

static struct bn_ping ping;

static void raw_server(int fd)
{
	char req[64];
	for (;;) {
		if (bn_read_full(fd, req, ping.req_len) < 0)
			_exit(0);
		if (bn_write_full(fd, ping.rep, ping.rep_len) < 0)
			_exit(1);
	}
}

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

/* Diagnosis mode: confine this process (and so the raw server it forks) and
 * sysqd to the CPU this process is on, remembering sysqd's own mask in *old
 * for unpin_sysqd.  0, or -1 when not possible (not Linux, no permission). */
static int pin_here(pid_t sq, void *old, size_t oldsize)
{
#ifdef __linux__
	cpu_set_t one;
	int cpu = my_cpu();
	if (cpu < 0 || oldsize < sizeof(cpu_set_t) ||
	    sched_getaffinity(sq, sizeof(cpu_set_t), old) < 0)
		return -1;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0)
		return -1;
	if (sched_setaffinity(sq, sizeof(one), &one) < 0)
		return -1;
	return 0;
#else
	(void)sq, (void)old, (void)oldsize;
	return -1;
#endif
}

static void unpin_sysqd(pid_t sq, const void *old)
{
#ifdef __linux__
	sched_setaffinity(sq, sizeof(cpu_set_t), old);
#else
	(void)sq, (void)old;
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

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 5) {
		fprintf(stderr, "usage: sys_rtt SOCKET [ROUND_TRIPS [SYSQD_PID [pin]]]\n");
		return 2;
	}
	size_t n = argc >= 3 ? strtoul(argv[2], NULL, 10) : 50000;
	pid_t sq_pid = argc >= 4 ? (pid_t)strtol(argv[3], NULL, 10) : 0;
	if (n < ROUNDS * 10) {
		fprintf(stderr, "sys_rtt: at least %d round trips\n", ROUNDS * 10);
		return 2;
	}
	n -= n % ROUNDS;
	signal(SIGPIPE, SIG_IGN);
	bn_ping_init(&ping, "sys.ping", 1);

	/* cpu_set_t only exists on Linux: keep its bytes in a plain buffer */
	static unsigned long sq_mask[128 / sizeof(unsigned long)];
	bool pinned = false;
	if (argc == 5) {
		if (strcmp(argv[4], "pin") != 0 || sq_pid <= 0) {
			fprintf(stderr, "sys_rtt: the 4th argument can only be 'pin'\n");
			return 2;
		}
		if (pin_here(sq_pid, sq_mask, sizeof(sq_mask)) < 0)
			bn_die("pinning to one CPU");
		pinned = true;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		bn_die("socketpair");
	pid_t pid = fork();
	if (pid < 0)
		bn_die("fork");
	if (pid == 0) {
		close(sv[0]);
		raw_server(sv[1]);
	}
	close(sv[1]);
	int raw = sv[0];

	int sq = bn_connect(argv[1]);
	if (sq < 0)
		bn_die(argv[1]);

	uint64_t *lraw = calloc(n, sizeof(*lraw));
	uint64_t *lsq = calloc(n, sizeof(*lsq));
	if (!lraw || !lsq)
		bn_die("calloc");

	run(raw, NULL, WARMUP, "raw");
	run(sq, NULL, WARMUP, "sysqd");
	size_t per = n / ROUNDS;
	int raw_local = 0, sq_local = 0;
	uint64_t t0 = bn_now_ns();
	for (size_t r = 0; r < ROUNDS; r++) {
		for (int k = 0; k < 2; k++) {
			if ((k == 0) == ((r & 1) == 0)) {
				run(raw, lraw + r * per, per, "raw");
				raw_local += last_cpu(pid) == my_cpu();
			} else {
				run(sq, lsq + r * per, per, "sysqd");
				sq_local += sq_pid > 0 && last_cpu(sq_pid) == my_cpu();
			}
		}
	}
	double secs = (double)(bn_now_ns() - t0) / 1e9;
	close(raw);
	close(sq);
	waitpid(pid, NULL, 0);
	if (pinned)
		unpin_sysqd(sq_pid, sq_mask);

	double raw_p99 = bn_quantile_us(lraw, n, 0.99);
	double raw_med = bn_quantile_us(lraw, n, 0.50);
	double sq_p99 = bn_quantile_us(lsq, n, 0.99);
	double sq_med = bn_quantile_us(lsq, n, 0.50);
	printf("round_trips=%zu\n", n);
	printf("request_bytes=%zu\nreply_bytes=%zu\n", ping.req_len, ping.rep_len);
	printf("raw_median_us=%.2f\nraw_p99_us=%.2f\n", raw_med, raw_p99);
	printf("sysqd_median_us=%.2f\nsysqd_p99_us=%.2f\n", sq_med, sq_p99);
	printf("ratio=%.3f\n", sq_med / raw_med);
	if (my_cpu() >= 0) {
		printf("raw_same_cpu_pct=%d\n", raw_local * 100 / ROUNDS);
		if (sq_pid > 0)
			printf("sysqd_same_cpu_pct=%d\n", sq_local * 100 / ROUNDS);
	}
	printf("seconds=%.2f\n", secs);
	free(lraw);
	free(lsq);
	return 0;
}
