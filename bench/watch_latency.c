/* SPDX-License-Identifier: ISC */
/*
 * watch_latency.c - how long from a change to its watch.event at the client:
 * a tmpfs mounted / unmounted, a child killed.  Runs sysqd in a private mount
 * namespace of its own; the raw floor (our own poll(2) on mountinfo waking)
 * is measured in the same run; a poller with a 1 s interval waits 500 ms on
 * average, the figure the ratios compare with.  Needs root.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libsysq.h"
#include "sq_proto.h"
#include "bench_stats.h"

#define POLLER_MEDIAN_US 500000.0 /* a 1 s poll interval: half of it, on average */
#define TARGET_US 1000.0

static void die(const char *what)
{
	fprintf(stderr, "watch_latency: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The next watch.event whose `key` equals val (str) or whose pid is pid. */
static void wait_event(struct sysq *c, const char *key, const char *val, long long pid)
{
	for (;;) {
		struct sysq_reply r;
		if (sysq_read(c, &r) != 0) {
			fprintf(stderr, "watch_latency: no event (deadline)\n");
			exit(1);
		}
		bool hit = false;
		if (r.type == 2 && r.result && r.result->type == MSGPACK_OBJECT_ARRAY &&
		    r.result->via.array.size == 1) {
			const msgpack_object *e = &r.result->via.array.ptr[0];
			if (val)
				hit = sq_obj_streq(sq_map_get(e, key), val);
			else {
				const msgpack_object *p = sq_map_get(e, "pid");
				hit = p && (long long)p->via.u64 == pid;
			}
		}
		sysq_reply_free(&r);
		if (hit)
			return;
	}
}

static unsigned long long subscribe(struct sysq *c, const char *topic, pid_t pid)
{
	msgpack_packer *pk = sysq_begin(c, "watch.subscribe", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, pid ? 2 : 1);
	sq_pack_cstr(pk, "topics");
	msgpack_pack_array(pk, 1);
	sq_pack_cstr(pk, topic);
	if (pid) {
		sq_pack_cstr(pk, "pids");
		msgpack_pack_array(pk, 1);
		msgpack_pack_int64(pk, pid);
	}
	struct sysq_reply r;
	if (sysq_call_end(c, &r) != 0) {
		fprintf(stderr, "watch_latency: subscribe: %s %s\n", r.code, r.message);
		exit(1);
	}
	unsigned long long id = sq_map_get(r.result, "subscription")->via.u64;
	sysq_reply_free(&r);
	return id;
}

static void unsubscribe(struct sysq *c, unsigned long long id)
{
	msgpack_packer *pk = sysq_begin(c, "watch.unsubscribe", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	sq_pack_cstr(pk, "subscription");
	msgpack_pack_uint64(pk, id);
	struct sysq_reply r;
	sysq_call_end(c, &r);
	sysq_reply_free(&r);
}

static void report(const char *name, double *v, int n)
{
	double m = bn_median(v, n);
	printf("  %s: %.0f us  ratio %.0f (target <%.0f us) %s\n", name, m,
	       POLLER_MEDIAN_US / m, TARGET_US, m < TARGET_US ? "OK" : "MISS");
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: watch_latency SYSQD ROUNDS\n");
		return 2;
	}
	int n = atoi(argv[2]);
	if (n < 1 || n > 100000)
		n = 200;
	if (geteuid() != 0) {
		printf("  watch: SKIPPED (needs root for a private mount namespace)\n");
		return 0;
	}
	if (unshare(CLONE_NEWNS) < 0)
		die("unshare(CLONE_NEWNS)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("making / private");
	char dir[] = "/tmp/sysq-bench-watch.XXXXXX";
	if (!mkdtemp(dir))
		die("mkdtemp");
	char sock[128], mp[128], log[128];
	snprintf(sock, sizeof(sock), "%s/sysqd.sock", dir);
	snprintf(mp, sizeof(mp), "%s/mnt", dir);
	snprintf(log, sizeof(log), "%s/sysqd.log", dir);
	mkdir(mp, 0755);
	pid_t d = fork();
	if (d == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0)
			dup2(fd, 2);
		execl(argv[1], argv[1], "-s", sock, (char *)NULL);
		_exit(127);
	}
	struct sysq *c = NULL;
	char err[200];
	for (int i = 0; i < 500 && !c; i++) {
		c = sysq_connect(sock, err, sizeof(err));
		if (!c)
			usleep(10000);
	}
	if (!c) {
		fprintf(stderr, "watch_latency: sysqd did not start: %s\n", err);
		kill(d, SIGKILL);
		return 1;
	}
	struct timeval tv = { 5, 0 };
	setsockopt(sysq_fd(c), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	double *mnt = calloc((size_t)n, sizeof(double)), *umnt = calloc((size_t)n, sizeof(double));
	double *raw = calloc((size_t)n, sizeof(double)), *ex = calloc((size_t)n, sizeof(double));

	/* raw floor: our own poll on mountinfo waking after mount(2) */
	int mfd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	for (int i = 0; i < n; i++) {
		struct pollfd p = { .fd = mfd, .events = POLLPRI };
		double t0 = bn_now_us();
		if (mount("sq-bench", mp, "tmpfs", 0, "size=64k") < 0)
			die("mount");
		poll(&p, 1, 5000);
		raw[i] = bn_now_us() - t0;
		umount(mp);
		poll(&p, 1, 5000);
	}
	close(mfd);

	unsigned long long sub = subscribe(c, "mounts", 0);
	for (int i = 0; i < n; i++) {
		double t0 = bn_now_us();
		if (mount("sq-bench", mp, "tmpfs", 0, "size=64k") < 0)
			die("mount");
		wait_event(c, "event", "mounted", 0);
		mnt[i] = bn_now_us() - t0;
		t0 = bn_now_us();
		umount(mp);
		wait_event(c, "event", "unmounted", 0);
		umnt[i] = bn_now_us() - t0;
	}
	unsubscribe(c, sub);

	for (int i = 0; i < n; i++) {
		pid_t k = fork();
		if (k == 0) {
			pause();
			_exit(0);
		}
		sub = subscribe(c, "proc.exit", k);
		int st;
		double t0 = bn_now_us();
		kill(k, SIGKILL);
		waitpid(k, &st, 0); /* a parent that reaps at once, as most do */
		wait_event(c, NULL, NULL, k);
		ex[i] = bn_now_us() - t0;
		unsubscribe(c, sub);
	}

	printf("  raw mountinfo POLLPRI wake (floor): %.0f us\n", bn_median(raw, n));
	report("watch mount -> event (median)", mnt, n);
	report("watch umount -> event (median)", umnt, n);
	report("watch kill -> proc.exit (median)", ex, n);
	printf("  (ratio: a 1 s poller's average wait, %.0f us, over ours; %d rounds)\n",
	       POLLER_MEDIAN_US, n);
	sysq_close(c);
	kill(d, SIGTERM);
	int st;
	waitpid(d, &st, 0);
	unlink(log);
	rmdir(mp);
	rmdir(dir);
	free(mnt);
	free(umnt);
	free(raw);
	free(ex);
	return 0;
}
