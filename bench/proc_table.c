/* SPDX-License-Identifier: ISC */
/*
 * proc_table.c - the figures behind bench/b_proc.sh: with N extra sleeping
 * processes alive, time (alternating, ROUNDS each, medians)
 *   raw    a plain C scan of the /proc files proc.list reads for every field
 *          (status, stat, exe link, cmdline; open/read/close, no stdio), on
 *          as many threads as sysqd splits the scan over (and on one, too)
 *   list   proc.list with every field: request written to the last byte of
 *          the reply read (the daemon's latency); the client's msgpack
 *          decoding after that is timed apart
 *   sysqps `sysq ps` as a program, output to /dev/null
 *   ps     `ps -eo pid,ppid,user,stat,rss,time,args`, output to /dev/null
 *   psutil python3 psutil.process_iter with the same columns (when asked)
 * and print key=value lines.  Children die with us (PR_SET_PDEATHSIG) and
 * are killed and reaped on every exit path.
 * usage: proc_table SOCKET SYSQ_BIN N ROUNDS [PSUTIL_PYTHON]
 * Linux only (the baseline reads /proc); elsewhere it says so and exits 3.
 */
#ifndef __linux__
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "proc_table: needs Linux (its baseline reads /proc)\n");
	return 3;
}
#else
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>

#include "libsysq.h"
#include "sq_proc.h"
#include "sq_proto.h"
#include "bench_stats.h"

static pid_t *kids;
static volatile sig_atomic_t nkids;

static void kill_kids(void)
{
	for (sig_atomic_t i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	for (sig_atomic_t i = 0; i < nkids; i++)
		waitpid(kids[i], NULL, 0);
	nkids = 0;
}

static void on_signal(int sig)
{
	kill_kids();
	_exit(128 + sig);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
	fprintf(stderr, "proc_table: %s: %s\n", what, strerror(errno));
	kill_kids();
	exit(1);
}

/* ---- the raw baseline ----------------------------------------------------- */

static size_t sink;

static ssize_t read_once(int dfd, const char *path, char *buf, size_t size)
{
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size);
	close(fd);
	return n;
}

/* One process: the files proc.list reads for every field, the way it reads
 * them (kernel threads have no cmdline or exe, so neither reads those). */
static size_t raw_one(int dfd, pid_t pid, char *big, size_t bigsize)
{
	char path[64], buf[2048];
	size_t got = 0;
	snprintf(path, sizeof(path), "%d/status", (int)pid);
	ssize_t n = read_once(dfd, path, buf, sizeof(buf));
	if (n < 0)
		return 0;
	got += (size_t)n;
	snprintf(path, sizeof(path), "%d/stat", (int)pid);
	n = read_once(dfd, path, buf, sizeof(buf) - 1);
	int kthread = 0;
	if (n > 0) {
		buf[n] = '\0';
		char *q = memrchr(buf, ')', (size_t)n);
		unsigned long flags = 0;
		if (q && sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %lu", &flags) == 1)
			kthread = (flags & 0x00200000ul) != 0;
		got += (size_t)n;
	}
	if (kthread)
		return got;
	snprintf(path, sizeof(path), "%d/exe", (int)pid);
	n = readlinkat(dfd, path, buf, sizeof(buf));
	got += n > 0 ? (size_t)n : 0;
	snprintf(path, sizeof(path), "%d/cmdline", (int)pid);
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		size_t len = 0; /* a short read is the end, as sysqd knows too */
		while (len < bigsize && (n = read(fd, big + len, bigsize - len)) > 0) {
			len += (size_t)n;
			if ((size_t)n < bigsize - (len - (size_t)n))
				break;
		}
		close(fd);
		got += len;
	}
	return got;
}

/* Threads take chunks of 32 pids as they are free, as sysqd's scan does. */
struct slice {
	int dfd;
	const pid_t *pids;
	size_t n;
	atomic_size_t *next;
	size_t got;
	char big[256 * 1024];
};

static void *raw_slice(void *arg)
{
	struct slice *sl = arg;
	for (;;) {
		size_t lo = atomic_fetch_add(sl->next, 32);
		if (lo >= sl->n)
			return NULL;
		size_t hi = lo + 32 < sl->n ? lo + 32 : sl->n;
		for (size_t i = lo; i < hi; i++)
			sl->got += raw_one(sl->dfd, sl->pids[i], sl->big, sizeof(sl->big));
	}
}

/* readdir /proc, then read every process with `threads` threads (as sysqd
 * shares out a scan).  Returns the process count. */
static int raw_scan(int threads)
{
	static pid_t pids[1 << 20];
	static struct slice sl[4];
	atomic_size_t next;
	size_t n = 0;
	int dfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		die("open /proc");
	DIR *d = fdopendir(dup(dfd));
	if (!d)
		die("opendir /proc");
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < sizeof(pids) / sizeof(pids[0]))
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
			pids[n++] = (pid_t)atoi(e->d_name);
	closedir(d);
	atomic_init(&next, 0);
	pthread_t th[4];
	for (int j = 0; j < threads; j++) {
		sl[j].dfd = dfd;
		sl[j].pids = pids;
		sl[j].n = n;
		sl[j].next = &next;
		sl[j].got = 0;
		if (j > 0 && pthread_create(&th[j], NULL, raw_slice, &sl[j]) != 0)
			die("pthread_create");
	}
	raw_slice(&sl[0]);
	for (int j = 1; j < threads; j++)
		pthread_join(th[j], NULL);
	for (int j = 0; j < threads; j++)
		sink += sl[j].got;
	close(dfd);
	return (int)n;
}

/* The thread count sysqd's lib/proc_linux.c uses for n processes. */
static int split_count(int n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int k = cpus > 0 ? (int)cpus : 1;
	if (k > (int)SQ_PROC_SPLIT_MAX)
		k = (int)SQ_PROC_SPLIT_MAX;
	if (k > n / (int)SQ_PROC_SPLIT_MIN)
		k = n / (int)SQ_PROC_SPLIT_MIN;
	return k > 0 ? k : 1;
}

/* ---- the daemon ----------------------------------------------------------- */

/*
 * One proc.list (every field) on the raw socket: *wire_ms is request sent to
 * the last byte of the reply received (what the daemon costs), *decode_ms
 * the client's msgpack decoding after that.  Returns the process count.
 */
static int list_once(int fd, double *wire_ms, double *decode_ms)
{
	static uint32_t msgid;
	static struct sq_buf in;
	struct sq_buf out;
	msgpack_packer pk;
	sq_buf_init(&out);
	sq_packer_init(&pk, &out);
	sq_pack_request_head(&pk, ++msgid, "proc.list");
	msgpack_pack_array(&pk, 0);
	struct sq_limits lim = sq_default_limits;
	lim.max_msg = 256u << 20;
	lim.max_elems = 1u << 24;
	lim.max_total = 1u << 26;

	double t0 = now_ms();
	for (size_t off = 0; off < out.len;) {
		ssize_t w = write(fd, out.data + off, out.len - off);
		if (w < 0 && errno != EINTR)
			die("write");
		off += w > 0 ? (size_t)w : 0;
	}
	size_t flen = 0;
	in.len = 0;
	for (;;) {
		int rc = sq_frame_scan(in.data, in.len, &lim, &flen);
		if (rc == 0)
			break;
		if (rc != -EAGAIN || sq_buf_reserve(&in, 65536) < 0)
			die("reply");
		ssize_t n = read(fd, in.data + in.len, in.cap - in.len);
		if (n == 0)
			die("sysqd closed the connection");
		if (n < 0 && errno != EINTR)
			die("read");
		in.len += n > 0 ? (size_t)n : 0;
	}
	*wire_ms = now_ms() - t0;

	t0 = now_ms();
	msgpack_zone *z = msgpack_zone_new(65536);
	struct sq_msg m;
	const char *why;
	if (!z || sq_msg_parse(in.data, flen, z, &m, &why) < 0 || m.error.type != MSGPACK_OBJECT_NIL) {
		fprintf(stderr, "proc_table: a bad proc.list reply\n");
		kill_kids();
		exit(1);
	}
	const msgpack_object *ps = sq_map_get(&m.result, "procs");
	int n = ps && ps->type == MSGPACK_OBJECT_ARRAY ? (int)ps->via.array.size : -1;
	*decode_ms = now_ms() - t0;
	msgpack_zone_free(z);
	sq_buf_free(&out);
	return n;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* ---- programs ------------------------------------------------------------- */

static double run_prog(char *const argv[])
{
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			close(fd);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	double t = now_ms() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "proc_table: %s failed (status %d)\n", argv[0], st);
		kill_kids();
		exit(1);
	}
	return t;
}

static const char psutil_src[] =
	"import psutil\n"
	"for p in psutil.process_iter(['pid', 'ppid', 'username', 'status', "
	"'memory_info', 'cpu_times', 'cmdline']):\n"
	"    i = p.info\n"
	"    m = i['memory_info']; c = i['cpu_times']\n"
	"    print(i['pid'], i['ppid'], i['username'], i['status'], m.rss if m else '-',\n"
	"          (c.user + c.system) if c else '-', ' '.join(i['cmdline'] or []))\n";

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: proc_table SOCKET SYSQ_BIN N ROUNDS [PSUTIL_PYTHON]\n");
		return 2;
	}
	const char *sock = argv[1];
	int n = atoi(argv[3]), rounds = atoi(argv[4]);
	const char *py = argc > 5 ? argv[5] : NULL;
	if (n < 0 || n > 100000 || rounds < 1 || rounds > 1000) {
		fprintf(stderr, "proc_table: bad N or ROUNDS\n");
		return 2;
	}

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	kids = calloc((size_t)n + 1, sizeof(*kids));
	if (!kids)
		die("calloc");
	pid_t self = getpid();
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != self)
				_exit(0);
			for (;;)
				pause();
		}
		kids[nkids] = pid;
		nkids = nkids + 1;
	}

	int c = connect_to(sock);
	if (c < 0)
		die(sock);
	double wire, dec;
	char *sysq_ps[] = { argv[2], (char *)"-s", (char *)sock, (char *)"ps", NULL };
	char *ps[] = { (char *)"ps", (char *)"-eo", (char *)"pid,ppid,user,stat,rss,time,args",
	               NULL };
	char *psutil[] = { (char *)py, (char *)"-c", (char *)psutil_src, NULL };

	/* warm the caches once (dentries, libraries) */
	int threads = split_count(raw_scan(1));
	list_once(c, &wire, &dec);
	run_prog(sysq_ps);
	run_prog(ps);

	double *raw = calloc((size_t)rounds, sizeof(double));
	double *lst = calloc((size_t)rounds, sizeof(double));
	double *sps = calloc((size_t)rounds, sizeof(double));
	double *pps = calloc((size_t)rounds, sizeof(double));
	double *put = calloc((size_t)rounds, sizeof(double));
	double *raw1 = calloc((size_t)rounds, sizeof(double));
	double *decs = calloc((size_t)rounds, sizeof(double));
	if (!raw || !lst || !sps || !pps || !put || !raw1 || !decs)
		die("calloc");
	int procs = 0, listed = 0;
	for (int r = 0; r < rounds; r++) {
		double t0 = now_ms();
		procs = raw_scan(threads);
		raw[r] = now_ms() - t0;
		t0 = now_ms();
		raw_scan(1);
		raw1[r] = now_ms() - t0;
		listed = list_once(c, &lst[r], &decs[r]);
		sps[r] = run_prog(sysq_ps);
		pps[r] = run_prog(ps);
		if (py)
			put[r] = run_prog(psutil);
	}
	close(c);
	kill_kids();

	/* ratios are taken round by round (each pair ran back to back, so a
	 * burst of load elsewhere hits both), then the median of those */
	double *q1 = calloc((size_t)rounds, sizeof(double));
	double *q2 = calloc((size_t)rounds, sizeof(double));
	double *q3 = calloc((size_t)rounds, sizeof(double));
	double *q4 = calloc((size_t)rounds, sizeof(double));
	if (!q1 || !q2 || !q3 || !q4)
		die("calloc");
	for (int r = 0; r < rounds; r++) {
		q1[r] = lst[r] / raw[r];
		q2[r] = lst[r] / raw1[r];
		q3[r] = sps[r] / pps[r];
		q4[r] = py ? sps[r] / put[r] : 0;
	}
	printf("children=%d\nprocs=%d\nlisted=%d\nrounds=%d\nthreads=%d\n", n, procs, listed,
	       rounds, threads);
	printf("raw_ms=%.2f\nraw1_ms=%.2f\nlist_ms=%.2f\n", bn_median(raw, rounds),
	       bn_median(raw1, rounds), bn_median(lst, rounds));
	printf("list_ratio=%.2f\nlist_ratio1=%.2f\n", bn_median(q1, rounds), bn_median(q2, rounds));
	printf("decode_ms=%.2f\n", bn_median(decs, rounds));
	printf("sysq_ps_ms=%.2f\nps_ms=%.2f\nps_ratio=%.2f\n", bn_median(sps, rounds),
	       bn_median(pps, rounds), bn_median(q3, rounds));
	if (py)
		printf("psutil_ms=%.2f\npsutil_ratio=%.2f\n", bn_median(put, rounds), bn_median(q4, rounds));
	fprintf(stderr, "(%zu bytes read)\n", sink);
	return 0;
}
#endif
