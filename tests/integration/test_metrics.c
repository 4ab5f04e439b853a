/* SPDX-License-Identifier: ISC */
/*
 * test_metrics.c - `sysq metrics` against a real sysqd and real Prometheus
 * tools: promtool checks the exposition (tmpfs of known size on a mount
 * point with a space, a double quote, a backslash, a newline, and one with
 * invalid UTF-8, in a private mount namespace); a Prometheus server scrapes
 * `--listen` on loopback; --textfile is read while rewritten; 404/405/503
 * and the scrape deadline; --listen against clients that trickle their
 * headers from many 127.0.0.x addresses (all traffic stays on 127/8).
 * Every child dies with the test (PDEATHSIG) and is killed in .fini; temp
 * files live in the namespace's own tmpfs.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "kids.h"

#define TMPFS_BYTES 16777216ull             /* size=16m */
#define MP_NAME     "a b\"c\\d\ne"          /* space, quote, backslash, newline */
#define MP_LABEL    "a b\\\"c\\\\d\\ne"     /* ... as the label value is written */
#define MP_JSON     "a b\\\"c\\\\d\\ne"     /* ... and as JSON writes it: the same */
#define BIN_NAME    "x\xff\xfey"            /* not UTF-8 */
#define BIN_LABEL   "x\\\\xff\\\\xfey"      /* each bad byte as \xNN, escaped */

static struct sqd d;
static char top[48];          /* the namespace's private tmpfs (or a plain dir) */
static bool top_mounted;
static char tmpfs_mp[160], bin_mp[160];
static pid_t kids[4];         /* sysq --listen, prometheus, ... killed in .fini */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void kill_kids(void)
{
	kid_reap_all();
	memset(kids, 0, sizeof(kids));
}

/* What the tests below put in a harness (non-namespace) dir. */
static void rm_extras(const char *dir)
{
	static const char *const names[] = { "m.out", "m.err", "listen.err", "s.sock",
	                                     "textfile/sysq.prom", "textfile" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char p[200];
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		if (unlink(p) < 0 && errno == EISDIR)
			rmdir(p);
	}
}

static void trickle_end(void);

static void teardown(void)
{
	trickle_end();
	kill_kids();
	if (d.dir[0] && !top[0]) {
		rm_extras(d.dir);
		if (d.pid > 0) {
			sqd_stop_clean(&d);
		} else {
			unlink(d.log);
			rmdir(d.dir);
		}
	} else if (d.pid > 0) {
		sqd_stop_clean(&d);
	}
	if (bin_mp[0]) {
		umount2(bin_mp, MNT_DETACH);
		rmdir(bin_mp);
	}
	if (tmpfs_mp[0]) {
		umount2(tmpfs_mp, MNT_DETACH);
		rmdir(tmpfs_mp);
	}
	if (top_mounted)
		umount2(top, MNT_DETACH);
	if (top[0])
		rmdir(top);
}

/* Private mount namespace; top is a tmpfs of it (anything left there goes
 * with the namespace), with the two test tmpfs mounts below it. */
static void ns_up(void)
{
	ns_private_tmpfs(top, sizeof(top), "sysq-metrics-test");
	top_mounted = true;
	snprintf(tmpfs_mp, sizeof(tmpfs_mp), "%s/%s", top, MP_NAME);
	cr_assert_eq(mkdir(tmpfs_mp, 0755), 0);
	cr_assert_eq(mount("sysq-tmpfs", tmpfs_mp, "tmpfs", 0, "size=16m,mode=0755"), 0,
	             "mount tmpfs: %s", strerror(errno));
	snprintf(bin_mp, sizeof(bin_mp), "%s/%s", top, BIN_NAME);
	cr_assert_eq(mkdir(bin_mp, 0755), 0);
	cr_assert_eq(mount("sysq-bin", bin_mp, "tmpfs", 0, "size=8m,mode=0755"), 0,
	             "mount tmpfs: %s", strerror(errno));
}

/* Fork and exec argv with stdin from /dev/null, stdout/stderr to files
 * (NULL: /dev/null); the child dies with this process (kids.h). */
static pid_t spawn(const char *const *argv, const char *out, const char *err)
{
	return kid_exec(argv, "/dev/null", out ? out : "/dev/null", err ? err : "/dev/null");
}

static const char *sysq_bin(void)
{
	const char *bin = getenv("SQ_SYSQ");
	cr_assert(bin, "SQ_SYSQ must name the sysq binary (tests/run-all.sh sets it)");
	return bin;
}

/* sysqd inside the namespace (its socket dir under top). */
static void start_sysqd_ns(void)
{
	const char *bin = getenv("SQ_SYSQD");
	cr_assert(bin, "SQ_SYSQD must name the sysqd binary (tests/run-all.sh sets it)");
	snprintf(d.dir, sizeof(d.dir), "%s/d", top);
	cr_assert_eq(mkdir(d.dir, 0755), 0);
	snprintf(d.sock, sizeof(d.sock), "%s/sysqd.sock", d.dir);
	snprintf(d.log, sizeof(d.log), "%s/sysqd.log", d.dir);
	const char *argv[] = { bin, "-s", d.sock, "-vv", NULL };
	d.pid = spawn(argv, NULL, d.log);
	kid_forget(d.pid); /* sqd_stop_clean stops and reaps it */
	for (int i = 0; i < 1000; i++) {
		if (sqd_connectable(d.sock))
			return;
		if (waitpid(d.pid, NULL, WNOHANG) == d.pid) {
			d.pid = 0;
			cr_assert_fail("sysqd exited at start: %s", slurp(d.log));
		}
		sleep_ms(10);
	}
	cr_assert_fail("sysqd did not listen on %s within 10 s", d.sock);
}

/* `sysq -s SOCK metrics ...` into dir/m.out, dir/m.err; the exit status. */
static int run_metrics(const char *sock, const char *dir, const char *a1, const char *a2,
                       const char *a3)
{
	char out[200], err[200];
	snprintf(out, sizeof(out), "%s/m.out", dir);
	snprintf(err, sizeof(err), "%s/m.err", dir);
	const char *argv[] = { sysq_bin(), "-s", sock, "metrics", a1, a2, a3, NULL };
	return kid_wait(spawn(argv, out, err));
}

static char *dir_file(const char *dir, const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return slurp(p);
}

static bool have_prog(const char *path, const char *pkg)
{
	if (access(path, X_OK) == 0)
		return true;
	cr_skip_test("SKIPPED: %s missing (apt-get install %s; mk/deps.sh test does it)", path,
	             pkg);
	return false;
}

/* ---- HTTP on loopback, just enough for a test --------------------------- */

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* A TCP connection from 127.0.0.<src> to 127.0.0.1:port (any address of
 * 127/8 is the loopback's: each one is a distinct client address to the
 * server); -1 if it cannot connect. */
static int connect_from(int src, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	struct sockaddr_in me = { .sin_family = AF_INET,
	                          .sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)src) };
	cr_assert_eq(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0, "bind 127.0.0.%d: %s", src,
	             strerror(errno));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Request from 127.0.0.<src> to 127.0.0.1:port; returns the status (-1: no
 * connection or no answer), the whole response (headers and body) malloc'd
 * in *resp. */
static int http_from(int src, int port, const char *method, const char *path, char **resp)
{
	*resp = NULL;
	int fd = connect_from(src, port);
	if (fd < 0)
		return -1;
	struct timeval tv = { 20, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char req[2048];
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", method, path);
	cr_assert_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	size_t len = 0, cap = 65536;
	char *b = malloc(cap);
	for (;;) {
		if (cap - len < 4096)
			b = realloc(b, cap *= 2);
		ssize_t r = recv(fd, b + len, cap - len - 1, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	b[len] = '\0';
	*resp = b;
	int status = -1;
	sscanf(b, "HTTP/1.%*d %d", &status);
	return status;
}

static int http(int port, const char *method, const char *path, char **resp)
{
	return http_from(1, port, method, path, resp);
}

/* Start `sysq metrics --listen 127.0.0.1:0 ...` (argv) as kids[0], its
 * stderr to err; its port. */
static int start_listen_argv(const char *const *argv, const char *err)
{
	kids[0] = spawn(argv, NULL, err);
	for (int i = 0; i < 1000; i++) {
		char *e = slurp(err);
		int port = 0;
		const char *p = strstr(e, "http://127.0.0.1:");
		if (p)
			port = atoi(p + strlen("http://127.0.0.1:"));
		free(e);
		if (port > 0)
			return port;
		if (waitpid(kids[0], NULL, WNOHANG) == kids[0]) {
			kid_forget(kids[0]);
			kids[0] = 0;
			cr_assert_fail("sysq metrics --listen exited: %s", slurp(err));
		}
		sleep_ms(10);
	}
	cr_assert_fail("sysq metrics --listen did not start within 10 s");
	return -1;
}

static int start_listen(const char *sock, const char *dir, const char *extra1,
                        const char *extra2)
{
	char err[200];
	snprintf(err, sizeof(err), "%s/listen.err", dir);
	const char *argv[] = { sysq_bin(), "-s", sock, "metrics", "--listen", "127.0.0.1:0",
	                       extra1, extra2, NULL };
	return start_listen_argv(argv, err);
}

TestSuite(metrics, .fini = teardown, .timeout = 120);

/* ---- promtool on the exposition, tricky mount points included ----------- */

Test(metrics, promtool_accepts_escaped_mountpoints)
{
	have_prog("/usr/bin/promtool", "prometheus");
	ns_up();
	start_sysqd_ns();
	cr_assert_eq(run_metrics(d.sock, top, "--per-uid", NULL, NULL), 0, "sysq metrics: %s",
	             dir_file(top, "m.err"));
	char *text = dir_file(top, "m.out");

	/* the tmpfs: one series per family, labels escaped, exact size */
	char want[512];
	snprintf(want, sizeof(want),
	         "\nsysq_filesystem_size_bytes{mountpoint=\"%s/" MP_LABEL
	         "\",fstype=\"tmpfs\",source=\"sysq-tmpfs\"} %llu\n",
	         top, TMPFS_BYTES);
	cr_assert(strstr(text, want), "no line %s in:\n%s", want, text);
	snprintf(want, sizeof(want),
	         "\nsysq_filesystem_stale{mountpoint=\"%s/" MP_LABEL
	         "\",fstype=\"tmpfs\",source=\"sysq-tmpfs\"} 0\n", top);
	cr_assert(strstr(text, want), "no line %s", want);
	/* the non-UTF-8 mount point: bad bytes as \xNN */
	snprintf(want, sizeof(want),
	         "\nsysq_filesystem_size_bytes{mountpoint=\"%s/" BIN_LABEL
	         "\",fstype=\"tmpfs\",source=\"sysq-bin\"} %llu\n", top, 8ull << 20);
	cr_assert(strstr(text, want), "no line %s", want);
	cr_assert(strstr(text, "\nsysq_network_up{interface=\"lo\"} "));
	cr_assert(strstr(text, "\nsysq_processes_state{state=\"R\"} "));
	cr_assert(strstr(text, "\nsysq_user_processes{uid=\"0\"} "));
	cr_assert(strstr(text, "\nsysq_scrape_collector_success{collector=\"fs\"} 1\n"));
	cr_assert(strstr(text, "# TYPE sysq_requests_total counter\n"));
	free(text);

	/* promtool: exit 0 and not a word (lint warnings are printed) */
	char in[200], out[200];
	snprintf(in, sizeof(in), "%s/m.out", top);
	snprintf(out, sizeof(out), "%s/promtool.out", top);
	const char *argv[] = { "/usr/bin/promtool", "check", "metrics", NULL };
	pid_t pid = kid_exec(argv, in, out, out);
	int st = kid_wait(pid);
	char *said = slurp(out);
	cr_assert_eq(st, 0, "promtool check metrics failed (%d): %s", st, said);
	cr_assert_str_empty(said, "promtool warned: %s", said);
	free(said);
}

/* ---- a real Prometheus server scrapes --listen --------------------------- */

Test(metrics, prometheus_scrapes_listen_endpoint)
{
	have_prog("/usr/bin/prometheus", "prometheus");
	ns_up();
	start_sysqd_ns();
	int mport = start_listen(d.sock, top, NULL, NULL);
	int pport = free_port();

	char cfg[200], tsdb[200], log[200], listen[64];
	snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", top);
	snprintf(tsdb, sizeof(tsdb), "%s/tsdb", top);
	snprintf(log, sizeof(log), "%s/prometheus.log", top);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", pport);
	FILE *f = fopen(cfg, "w");
	cr_assert(f);
	fprintf(f, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
	           "scrape_configs:\n  - job_name: sysq\n    static_configs:\n"
	           "      - targets: ['127.0.0.1:%d']\n", mport);
	fclose(f);
	char a_cfg[240], a_tsdb[240], a_web[100];
	snprintf(a_cfg, sizeof(a_cfg), "--config.file=%s", cfg);
	snprintf(a_tsdb, sizeof(a_tsdb), "--storage.tsdb.path=%s", tsdb);
	snprintf(a_web, sizeof(a_web), "--web.listen-address=%s", listen);
	const char *argv[] = { "/usr/bin/prometheus", a_cfg, a_tsdb, a_web, NULL };
	kids[1] = spawn(argv, log, log);

	/* ask until it has scraped (a few seconds), the query URL-encoded:
	 * sysq_filesystem_size_bytes{source="sysq-tmpfs"} */
	const char *q = "/api/v1/query?query=sysq_filesystem_size_bytes%7Bsource%3D%22sysq-tmpfs%22%7D";
	char *resp = NULL;
	for (int i = 0; i < 300; i++) {
		free(resp);
		int st = http(pport, "GET", q, &resp);
		if (st == 200 && strstr(resp, "\"value\""))
			break;
		if (waitpid(kids[1], NULL, WNOHANG) == kids[1]) {
			kid_forget(kids[1]);
			kids[1] = 0;
			cr_assert_fail("prometheus exited: %s", slurp(log));
		}
		sleep_ms(100);
	}
	cr_assert(resp && strstr(resp, "\"value\""), "no sample after 30 s: %s\nlog: %s",
	          resp ? resp : "(no answer)", slurp(log));
	char want[300];
	snprintf(want, sizeof(want), "\"mountpoint\":\"%s/" MP_JSON "\"", top);
	cr_assert(strstr(resp, want), "no %s in %s", want, resp);
	snprintf(want, sizeof(want), "\"%llu\"]", TMPFS_BYTES);
	cr_assert(strstr(resp, want), "no value %s in %s", want, resp);
	cr_assert(strstr(resp, "\"fstype\":\"tmpfs\""));
	/* exactly one series */
	const char *p = strstr(resp, "\"metric\"");
	cr_assert(p && !strstr(p + 1, "\"metric\""), "more than one series: %s", resp);
	free(resp);
	kill_kids();
}

/* ---- --listen: 404, 405, 503, and the deadline ---------------------------- */

Test(metrics, listen_paths_methods_and_unreachable_daemon)
{
	sqd_start(&d, NULL);
	int port = start_listen(d.sock, d.dir, "--timeout", "3s");
	char *r;
	cr_assert_eq(http(port, "GET", "/metrics", &r), 200, "%s", r);
	cr_assert(strstr(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), "%s", r);
	cr_assert(strstr(r, "\nsysq_connections "), "%s", r);
	free(r);
	cr_assert_eq(http(port, "GET", "/", &r), 404, "%s", r);
	free(r);
	cr_assert_eq(http(port, "GET", "/metrics/x", &r), 404, "%s", r);
	free(r);
	cr_assert_eq(http(port, "POST", "/metrics", &r), 405, "%s", r);
	cr_assert(strstr(r, "Allow: GET, HEAD\r\n"), "%s", r);
	free(r);
	cr_assert_eq(http(port, "DELETE", "/metrics", &r), 405, "%s", r);
	free(r);
	cr_assert_eq(http(port, "HEAD", "/metrics", &r), 200, "%s", r);
	free(r);
	/* sysqd gone: 503, and the endpoint itself lives on */
	cr_assert_eq(sqd_stop(&d), 0);
	d.pid = 0;
	cr_assert_eq(http(port, "GET", "/metrics", &r), 503, "%s", r);
	free(r);
	cr_assert_eq(waitpid(kids[0], NULL, WNOHANG), 0, "the endpoint died");
	/* SIGTERM stops it cleanly */
	kill(kids[0], SIGTERM);
	cr_assert_eq(kid_wait(kids[0]), 0);
	kids[0] = 0;
}

/* GET /metrics?collect[]=NAME chooses among the collectors, as
 * node_exporter's endpoint does; --collect bounds what a request may ask. */
Test(metrics, listen_collect_params_choose_collectors)
{
	sqd_start(&d, NULL);
	int port = start_listen(d.sock, d.dir, "--collect", "host,net,stats");
	char *r;
	cr_assert_eq(http(port, "GET", "/metrics?collect[]=host&collect%5B%5D=net", &r), 200,
	             "%s", r);
	cr_assert(strstr(r, "collector=\"host\"} 1") && strstr(r, "collector=\"net\"} 1"), "%s", r);
	cr_assert_null(strstr(r, "collector=\"stats\""), "%s", r);
	cr_assert_null(strstr(r, "\nsysq_connections "), "%s", r);
	free(r);
	/* without collect[]: what --collect allows, and nothing else */
	cr_assert_eq(http(port, "GET", "/metrics", &r), 200, "%s", r);
	cr_assert(strstr(r, "collector=\"stats\"} 1"), "%s", r);
	cr_assert_null(strstr(r, "collector=\"fs\""), "%s", r);
	free(r);
	cr_assert_eq(http(port, "GET", "/metrics?collect[]=fs", &r), 400, "%s", r);
	free(r);
	cr_assert_eq(http(port, "GET", "/metrics?collect[]=nope", &r), 400, "%s", r);
	cr_assert(strstr(r, "unknown collector 'nope'"), "%s", r);
	free(r);
	kill(kids[0], SIGTERM);
	cr_assert_eq(kid_wait(kids[0]), 0);
	kids[0] = 0;
}

/* The endpoint keeps one sysqd connection between scrapes, and a sysqd
 * restarted under it costs no failed scrape (the kept connection is found
 * closed before anything was answered, and the scrape runs on a new one). */
Test(metrics, listen_keeps_its_connection_and_survives_a_restart)
{
	sqd_start(&d, NULL);
	int port = start_listen(d.sock, d.dir, NULL, NULL);
	char *r;
	cr_assert_eq(http(port, "GET", "/metrics", &r), 200, "%s", r);
	free(r);
	long long before = sqd_stat(&d, "connections_total");
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(http(port, "GET", "/metrics", &r), 200, "%s", r);
		free(r);
	}
	/* three scrapes on the kept connection: only this sqd_stat's is new */
	cr_assert_eq(sqd_stat(&d, "connections_total"), before + 1);

	cr_assert_eq(sqd_stop(&d), 0);
	const char *argv[] = { getenv("SQ_SYSQD"), "-s", d.sock, "-vv", NULL };
	d.pid = spawn(argv, NULL, d.log);
	kid_forget(d.pid); /* sqd_stop_clean stops and reaps it */
	for (int i = 0; i < 1000 && !sqd_connectable(d.sock); i++)
		sleep_ms(10);
	cr_assert(sqd_connectable(d.sock), "sysqd did not come back: %s", slurp(d.log));
	cr_assert_eq(http(port, "GET", "/metrics", &r), 200, "%s", r);
	cr_assert(strstr(r, "sysq_scrape_collector_success{collector=\"proc\"} 1\n"), "%s", r);
	cr_assert(strstr(r, "sysq_scrape_collector_success{collector=\"stats\"} 1\n"), "%s", r);
	free(r);
	cr_assert_eq(waitpid(kids[0], NULL, WNOHANG), 0, "the endpoint died");
}

/* A "daemon" that accepts and never answers: the scrape still ends by its
 * deadline, with every collector marked failed. */
Test(metrics, scrape_deadline_with_silent_daemon)
{
	snprintf(d.dir, sizeof(d.dir), "/tmp/sysq-metrics-silent.XXXXXX");
	cr_assert(mkdtemp(d.dir));
	const char *dir = d.dir;
	char sock[100];
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(lfd, 8), 0); /* connects succeed; nobody reads */

	int st = run_metrics(sock, dir, "--timeout", "300ms", NULL);
	char *out = dir_file(dir, "m.out"), *err = dir_file(dir, "m.err");
	cr_expect_eq(st, 1, "exit %d: %s", st, err);
	cr_expect(strstr(out, "sysq_scrape_collector_success{collector=\"stats\"} 0\n"), "%s", out);
	cr_expect(strstr(out, "sysq_scrape_collector_success{collector=\"fs\"} 0\n"), "%s", out);
	cr_expect(strstr(err, "no answer within 300 ms"), "%s", err);
	cr_expect(!strstr(out, "sysq_filesystem_size_bytes"));
	free(out);
	free(err);

	int port = start_listen(sock, dir, "--timeout", "300ms");
	char *r;
	cr_expect_eq(http(port, "GET", "/metrics", &r), 200, "%s", r);
	cr_expect(strstr(r, "sysq_scrape_collector_success{collector=\"net\"} 0\n"), "%s", r);
	free(r);
	close(lfd);
}

/* ---- --listen against slow and greedy clients ------------------------------ */

/* Whether the server has closed fd (end of file or a reset), without
 * waiting. */
static bool peer_closed(int fd)
{
	char c;
	ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
	return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Clients that send a request header one byte at a time, from their own
 * thread, and never finish it. */
#define TRICKLERS 100
static const char slow_header[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

struct trickle {
	int fd[TRICKLERS];
	int n;
	long period_ms;     /* between two bytes of one connection */
	volatile int stop;
	volatile int sent;  /* rounds in which every open connection sent a byte */
	bool running;
	pthread_t th;
};

/* File-scope: a failed assertion leaves the test function, not the thread,
 * which teardown stops. */
static struct trickle tr;

static void *trickle_main(void *arg)
{
	struct trickle *t = arg;
	for (size_t at = 0; !t->stop; at++) {
		char c = at < sizeof(slow_header) - 1 ? slow_header[at] : 'a';
		for (int i = 0; i < t->n; i++)
			if (!peer_closed(t->fd[i]))
				send(t->fd[i], &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		t->sent++;
		for (long waited = 0; waited < t->period_ms && !t->stop; waited += 50)
			sleep_ms(50);
	}
	return NULL;
}

/* n connections from 127.0.0.<first>, 127.0.0.<first+step>, ... each
 * trickling a byte every period_ms; returns once each has sent two. */
static void trickle_start(struct trickle *t, int port, int n, int first, int step,
                          long period_ms)
{
	memset(t, 0, sizeof(*t));
	t->period_ms = period_ms;
	for (int i = 0; i < n; i++) {
		t->fd[i] = connect_from(first + i * step, port);
		cr_assert_geq(t->fd[i], 0, "connect from 127.0.0.%d: %s", first + i * step,
		              strerror(errno));
		t->n++;
	}
	cr_assert_eq(pthread_create(&t->th, NULL, trickle_main, t), 0);
	t->running = true;
	while (t->sent < 2)
		sleep_ms(10);
}

static int trickle_open(const struct trickle *t)
{
	int open_ = 0;
	for (int i = 0; i < t->n; i++)
		open_ += !peer_closed(t->fd[i]);
	return open_;
}

static void trickle_stop(struct trickle *t)
{
	t->stop = 1;
	if (t->running)
		pthread_join(t->th, NULL);
	t->running = false;
	for (int i = 0; i < t->n; i++)
		close(t->fd[i]);
	t->n = 0;
}

static void trickle_end(void)
{
	trickle_stop(&tr);
}

/* `sysq metrics --listen 127.0.0.1:0 A B C D` on a fresh sysqd: its port. */
static int start_listen4(const char *a, const char *b, const char *c, const char *e)
{
	sqd_start(&d, NULL);
	char err[200];
	snprintf(err, sizeof(err), "%s/listen.err", d.dir);
	const char *argv[] = { sysq_bin(), "-s", d.sock, "metrics", "--listen", "127.0.0.1:0",
	                       a, b, c, e, NULL };
	return start_listen_argv(argv, err);
}

/* 100 connections, each from its own address, trickle their headers (one
 * byte a second, well inside the header deadline): a scrape from another
 * address is still served, and none of the 100 was dropped to make room. */
Test(metrics, listen_serves_a_scrape_while_100_connections_trickle)
{
	int port = start_listen4("--header-timeout", "300s", NULL, NULL);
	struct trickle *t = &tr;
	trickle_start(t, port, TRICKLERS, 2, 1, 1000); /* 127.0.0.2 .. 127.0.0.101 */
	char *r;
	int st = http_from(1, port, "GET", "/metrics", &r);
	cr_assert_eq(st, 200, "scrape with %d trickling connections open: status %d: '%s'",
	             trickle_open(t), st, r);
	cr_assert(strstr(r, "\nsysq_connections "), "%s", r);
	free(r);
	cr_assert_eq(trickle_open(t), TRICKLERS, "the endpoint dropped %d trickling connections",
	             TRICKLERS - trickle_open(t));
	trickle_stop(t);
	cr_assert_eq(waitpid(kids[0], NULL, WNOHANG), 0, "the endpoint died");
}

/* The header deadline is for the whole header: a connection that sends a
 * byte every 250 ms (each byte would restart an inactivity timeout) is
 * closed once its header has taken longer than --header-timeout; the
 * endpoint serves on. */
Test(metrics, listen_closes_a_header_trickled_past_its_deadline)
{
	int port = start_listen4("--header-timeout", "2s", NULL, NULL);
	struct trickle *t = &tr;
	trickle_start(t, port, 1, 2, 1, 250);
	int i;
	for (i = 0; i < 600 && trickle_open(t) > 0; i++) /* 60 s, 30 past the old timeout */
		sleep_ms(100);
	cr_assert_eq(trickle_open(t), 0, "a header trickled for %d s (%d bytes) is still open",
	             i / 10, t->sent);
	cr_assert_gt(t->sent, 2, "closed before it trickled (%d bytes)", t->sent);
	trickle_stop(t);
	char *r;
	cr_assert_eq(http_from(2, port, "GET", "/metrics", &r), 200, "%s", r);
	free(r);
}

/* --max-per-address N: of N+1 connections from one address, all trickling
 * (no inactivity timeout ends any of them), the last is closed and the N
 * others stay; another address is served, and so is this one when its N
 * have gone. */
Test(metrics, listen_caps_connections_per_address)
{
	int port = start_listen4("--max-per-address", "4", "--header-timeout", "300s");
	struct trickle *t = &tr;
	trickle_start(t, port, 5, 2, 0, 1000); /* five from 127.0.0.2 */
	int i;
	for (i = 0; i < 600 && trickle_open(t) > 4; i++)
		sleep_ms(100);
	cr_assert(peer_closed(t->fd[4]), "a 5th connection from 127.0.0.2 is open after %d s",
	          i / 10);
	cr_assert_eq(trickle_open(t), 4, "the cap closed %d of the first four",
	             4 - trickle_open(t));
	char *r;
	cr_assert_eq(http_from(3, port, "GET", "/metrics", &r), 200, "%s", r);
	free(r);
	trickle_stop(t); /* closes the four: 127.0.0.2 has room again */
	int st = http_from(2, port, "GET", "/metrics", &r);
	for (i = 0; i < 300 && st != 200; i++) { /* until the endpoint has seen them go */
		free(r);
		sleep_ms(100);
		st = http_from(2, port, "GET", "/metrics", &r);
	}
	cr_assert_eq(st, 200, "127.0.0.2 not served after its connections closed: %s", r);
	free(r);
}

/* ---- --textfile: atomic replacement -------------------------------------- */

struct poller {
	char path[240];
	volatile int stop;
	long reads, partial, missing;
	char bad[256];
};

static void *poll_file(void *arg)
{
	struct poller *p = arg;
	static const char last[] = "sysq_scrape_collector_duration_seconds{collector=\"sockets\"} ";
	while (!p->stop) {
		char *t = slurp(p->path);
		size_t n = strlen(t);
		if (n == 0) {
			p->missing++;
		} else {
			p->reads++;
			/* whole: starts with the first family, ends with the last line */
			const char *l = strstr(t, last);
			if (strncmp(t, "# HELP sysq_", 12) != 0 || !l || t[n - 1] != '\n' ||
			    strchr(l, '\n') != t + n - 1) {
				if (!p->partial++)
					snprintf(p->bad, sizeof(p->bad), "%zu bytes, ends '%s'", n,
					         n > 60 ? t + n - 60 : t);
			}
		}
		free(t);
	}
	return NULL;
}

Test(metrics, textfile_is_replaced_atomically)
{
	sqd_start(&d, NULL);
	char tdir[200];
	snprintf(tdir, sizeof(tdir), "%s/textfile", d.dir);
	cr_assert_eq(mkdir(tdir, 0755), 0);
	cr_assert_eq(run_metrics(d.sock, d.dir, "--textfile", tdir, NULL), 0, "%s",
	             dir_file(d.dir, "m.err"));

	struct poller p = { 0 };
	snprintf(p.path, sizeof(p.path), "%s/sysq.prom", tdir);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, poll_file, &p), 0);
	int fails = 0;
	for (int i = 0; i < 40; i++)
		fails += run_metrics(d.sock, d.dir, "--textfile", tdir, NULL) != 0;
	p.stop = 1;
	pthread_join(th, NULL);
	cr_assert_eq(fails, 0, "%s", dir_file(d.dir, "m.err"));
	cr_assert_gt(p.reads, 0);
	cr_assert_eq(p.missing, 0, "the file was missing %ld times", p.missing);
	cr_assert_eq(p.partial, 0, "%ld of %ld reads saw a partial file: %s", p.partial, p.reads,
	             p.bad);

	/* nothing but sysq.prom in DIR: temporary files are renamed or removed */
	DIR *dh = opendir(tdir);
	struct dirent *e;
	int others = 0;
	while ((e = readdir(dh)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "sysq.prom"))
			others++;
	closedir(dh);
	cr_assert_eq(others, 0);
	struct stat sb;
	cr_assert_eq(stat(p.path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0644);

	/* an unwritable DIR: exit 1, nothing written */
	char nodir[240];
	snprintf(nodir, sizeof(nodir), "%s/nonexistent", tdir);
	cr_assert_eq(run_metrics(d.sock, d.dir, "--textfile", nodir, NULL), 1);
	char *msg = dir_file(d.dir, "m.err");
	cr_assert(strstr(msg, "nonexistent/sysq.prom"), "%s", msg);
	free(msg);

	/* a failed query leaves the previous file and exits non-zero */
	char *before = slurp(p.path);
	cr_assert_eq(sqd_stop(&d), 0);
	d.pid = 0;
	int st = run_metrics(d.sock, d.dir, "--textfile", tdir, NULL);
	cr_assert_eq(st, 3, "exit %d (want 3: cannot connect)", st);
	char *after = slurp(p.path);
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
}
