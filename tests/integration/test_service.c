/* SPDX-License-Identifier: ISC */
/*
 * test_service.c - sysqd under a service manager: sockets passed as
 * LISTEN_FDS (by a launcher written here and by systemd-socket-activate),
 * readiness on a test NOTIFY_SOCKET (READY=1, RELOADING=1, STOPPING=1; path
 * and abstract names), SIGHUP keeping connections, where logs go (syslog,
 * journal priority prefixes) and privileged-act log lines.  make install:
 * test_install.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "kids.h"
#include "sq_proto.h"

/* ---- per-test state, torn down in every path (fini runs after a failure) */

static struct {
	char dir[64];
	int notify_fd;
} t = { .notify_fd = -1 };

static void setup(void)
{
	snprintf(t.dir, sizeof(t.dir), "/tmp/sysq-svc.XXXXXX");
	cr_assert(mkdtemp(t.dir), "mkdtemp: %s", strerror(errno));
	chmod(t.dir, 0755);
}

static void teardown(void)
{
	kid_reap_all();
	if (t.notify_fd >= 0)
		close(t.notify_fd);
	t.notify_fd = -1;
	if (t.dir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t.dir);
		cr_expect_eq(system(cmd), 0);
		t.dir[0] = '\0';
	}
}

/* The same timeout as every other integration suite: Criterion 2.4.1's
 * BoxFort (bxfi_push_timeout) drops the tail of its deadline list when a new
 * deadline sorts before a pending one, which LSan reports as a 48-byte leak
 * in the runner whenever suites with different timeouts run in parallel. */
TestSuite(service, .init = setup, .fini = teardown, .timeout = 60);

/* cr_skip_test ends the test without running .fini: clean up first */
#define SKIP(...) do { teardown(); cr_skip_test(__VA_ARGS__); } while (0)

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", t.dir, name);
}

/* Wait for pid (up to 30 s, then SIGKILL); its exit status or 128+signal. */
static int reap(pid_t pid)
{
	int st = 0;
	for (int i = 0; i < 3000; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			goto done;
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
done:
	kid_forget(pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int stop(pid_t pid)
{
	kill(pid, SIGTERM);
	return reap(pid);
}

static int bind_unix(const char *path, int type, bool do_listen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind %s: %s", path,
	             strerror(errno));
	if (do_listen)
		cr_assert_eq(listen(fd, 16), 0);
	return fd;
}

static bool is_socket_file(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* How a daemon is started: what the launcher puts in its environment. */
struct launch {
	const char *const *args;  /* after the binary, NULL-ended */
	const int *fds;           /* become 3, 4, ...; LISTEN_FDS set when nfds > 0 */
	int nfds;
	const char *fdnames;      /* LISTEN_FDNAMES, or NULL */
	bool pid_of_parent;       /* LISTEN_PID names the launcher, not the daemon */
	const char *notify;       /* NOTIFY_SOCKET, or NULL */
	bool journal;             /* JOURNAL_STREAM = the log file's dev:ino */
	const char *journal_raw;  /* or this JOURNAL_STREAM value */
	const char *log;          /* stderr goes here */
};

struct launch_kid {
	const struct launch *l;
	const char *const *argv;
};

/* In the child of launch: stderr, descriptors and environment, then exec. */
static void exec_launch(void *arg)
{
	const struct launch *l = ((const struct launch_kid *)arg)->l;
	const char *const *argv = ((const struct launch_kid *)arg)->argv;
	int logfd = open(l->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (logfd < 0 || dup2(logfd, 2) < 0)
		_exit(120);
	/* move the sockets out of the way first: 3.. may be taken */
	int high[8];
	for (int i = 0; i < l->nfds; i++)
		if ((high[i] = fcntl(l->fds[i], F_DUPFD_CLOEXEC, 100)) < 0)
			_exit(121);
	for (int i = 0; i < l->nfds; i++)
		if (dup2(high[i], 3 + i) < 0) /* dup2 clears close-on-exec */
			_exit(122);
	char num[32];
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	unsetenv("NOTIFY_SOCKET");
	unsetenv("JOURNAL_STREAM");
	if (l->nfds > 0) {
		snprintf(num, sizeof(num), "%d", l->nfds);
		setenv("LISTEN_FDS", num, 1);
		snprintf(num, sizeof(num), "%ld",
		         (long)(l->pid_of_parent ? getppid() : getpid()));
		setenv("LISTEN_PID", num, 1);
	}
	if (l->fdnames)
		setenv("LISTEN_FDNAMES", l->fdnames, 1);
	if (l->notify)
		setenv("NOTIFY_SOCKET", l->notify, 1);
	if (l->journal) {
		struct stat st;
		if (fstat(2, &st) < 0)
			_exit(123);
		snprintf(num, sizeof(num), "%llu:%llu", (unsigned long long)st.st_dev,
		         (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", num, 1);
	} else if (l->journal_raw) {
		setenv("JOURNAL_STREAM", l->journal_raw, 1);
	}
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

/* fork, set the environment in the child (LISTEN_PID must be the child's
 * own pid, which only the child knows before exec), exec sysqd (kids.h: it
 * dies with the test, and is killed in .fini). */
static pid_t launch(const struct launch *l)
{
	const char *bin = getenv("SQ_SYSQD");
	cr_assert(bin, "SQ_SYSQD must name the sysqd binary (tests/run-all.sh sets it)");
	const char *argv[24];
	int n = 0;
	argv[n++] = bin;
	for (int i = 0; l->args && l->args[i] && n < 23; i++)
		argv[n++] = l->args[i];
	argv[n] = NULL;

	struct launch_kid k = { l, argv };
	return kid_spawn(exec_launch, &k);
}

/* A datagram socket that plays the service manager's NOTIFY_SOCKET. */
static int notify_listen(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	size_t n = strlen(name);
	cr_assert_lt(n, sizeof(sa.sun_path));
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@') {
		sa.sun_path[0] = '\0';
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, len), 0, "bind %s: %s", name,
	             strerror(errno));
	t.notify_fd = fd;
	return fd;
}

/* Read notifications until one holds the line `want`; fails after 30 s.
 * Everything seen is appended to seen (for the failure message). */
static void expect_notify(int fd, const char *want, char *seen, size_t seen_size)
{
	char msg[512];
	for (int waited = 0; waited < 30000;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int rc = poll(&p, 1, 100);
		if (rc <= 0) {
			waited += 100;
			continue;
		}
		ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);
		cr_assert(n >= 0, "recv: %s", strerror(errno));
		msg[n] = '\0';
		size_t used = strlen(seen);
		snprintf(seen + used, seen_size - used, "[%s] ", msg);
		/* the message is newline-separated assignments: match a whole line */
		for (char *line = strtok(msg, "\n"); line; line = strtok(NULL, "\n"))
			if (strcmp(line, want) == 0)
				return;
	}
	cr_assert_fail("no %s on NOTIFY_SOCKET within 30 s; received: %s", want, seen);
}

static int try_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void wait_listening(const char *path, pid_t pid, const char *log)
{
	for (int i = 0; i < 2000; i++) {
		int fd = try_connect(path);
		if (fd >= 0) {
			close(fd);
			return;
		}
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			kid_forget(pid);
			char *text = slurp(log);
			cr_assert_fail("sysqd exited at start (status %d): %s", st, text);
		}
		sleep_ms(10);
	}
	cr_assert_fail("nothing listening on %s within 20 s", path);
}

static struct sysq *connect_to(const char *path)
{
	char err[256];
	struct sysq *c = sysq_connect(path, err, sizeof(err));
	cr_assert(c, "connect: %s", err);
	return c;
}

static void expect_ping(struct sysq *c)
{
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.ping", NULL, &r), 0, "sys.ping: %s", r.message);
	cr_assert(sq_obj_streq(r.result, "pong"));
	sysq_reply_free(&r);
}

static void expect_log_has(const char *log, const char *needle)
{
	char *text = slurp(log);
	cr_expect(strstr(text, needle), "the log should contain '%s':\n%s", needle, text);
	free(text);
}

#ifdef __linux__
#define SKIP_UNLESS_LINUX() do { } while (0)
#else
#define SKIP_UNLESS_LINUX() \
	SKIP("SKIPPED: LISTEN_FDS and NOTIFY_SOCKET are systemd's (Linux only)")
#endif

/* ---- socket activation ------------------------------------------------- */

Test(service, a_passed_socket_is_served_and_its_file_left_at_exit)
{
	SKIP_UNLESS_LINUX();
	char sock[108], own[108], log[108], note[108], seen[2048] = "";
	in_dir(sock, sizeof(sock), "passed.sock");
	in_dir(own, sizeof(own), "own.sock");
	in_dir(log, sizeof(log), "sysqd.log");
	in_dir(note, sizeof(note), "notify");
	int lfd = bind_unix(sock, SOCK_STREAM, true);
	int nfd = notify_listen(note);
	const char *args[] = { "-vv", "-s", own, NULL };
	pid_t pid = launch(&(struct launch){ .args = args, .fds = &lfd, .nfds = 1,
	                                     .fdnames = "sysqd", .notify = note, .log = log });
	close(lfd); /* from now on only the daemon holds the listening socket */
	expect_notify(nfd, "READY=1", seen, sizeof(seen));

	struct sysq *c = connect_to(sock);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.hello", NULL, &r), 0, "%s", r.message);
	const msgpack_object *peer = sq_map_get(r.result, "peer");
	cr_assert(peer);
	cr_assert_eq(sq_map_get(peer, "pid")->via.i64, (int64_t)getpid());
	sysq_reply_free(&r);
	sysq_close(c);

	cr_assert(!exists(own), "with a passed socket, sysqd must not bind -s %s", own);
	cr_assert_eq(stop(pid), 0, "exit status");
	cr_assert(is_socket_file(sock),
	          "the socket file belongs to the service manager and must stay");
	expect_log_has(log, "passed by systemd");
	expect_log_has(log, "is not used");          /* says -s is not used */
	expect_log_has(log, "connection #1 from uid");
}

Test(service, systemd_socket_activate_starts_sysqd_at_the_first_connection)
{
	SKIP_UNLESS_LINUX();
	const char *tool = "/usr/bin/systemd-socket-activate";
	if (access(tool, X_OK) != 0)
		SKIP("SKIPPED: %s not installed (Debian package systemd)", tool);
	char sock[108], log[108], note[108], notify_env[160], seen[2048] = "";
	in_dir(sock, sizeof(sock), "sa.sock");
	in_dir(log, sizeof(log), "sysqd.log");
	in_dir(note, sizeof(note), "notify");
	int nfd = notify_listen(note);
	snprintf(notify_env, sizeof(notify_env), "NOTIFY_SOCKET=%s", note);

	/* systemd-socket-activate binds, waits for a connection, then execs the
	 * daemon in its own process (so LISTEN_PID is its pid) with a fresh
	 * environment: pass the sanitizer settings along */
	const char *argv[24];
	int n = 0;
	argv[n++] = tool;
	argv[n++] = "-l";
	argv[n++] = sock;
	argv[n++] = "--fdname=sysqd";
	argv[n++] = "-E";
	argv[n++] = notify_env;
	static const char *const keep[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" };
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (getenv(keep[i])) {
			argv[n++] = "-E";
			argv[n++] = keep[i];
		}
	argv[n++] = getenv("SQ_SYSQD");
	argv[n++] = "-vv";
	argv[n] = NULL;
	cr_assert(argv[n - 2]);

	pid_t pid = kid_exec(argv, NULL, NULL, log);
	for (int i = 0; i < 2000 && !is_socket_file(sock); i++) {
		int st;
		cr_assert_neq(waitpid(pid, &st, WNOHANG), pid, "%s exited: %s", tool, slurp(log));
		sleep_ms(10);
	}
	cr_assert(is_socket_file(sock), "%s never bound %s", tool, sock);

	struct sysq *c = connect_to(sock); /* this connection starts sysqd */
	expect_ping(c);
	expect_notify(nfd, "READY=1", seen, sizeof(seen));
	sysq_close(c);
	cr_assert_eq(stop(pid), 0, "exit status; log:\n%s", slurp(log));
	cr_assert(is_socket_file(sock), "the activated sysqd removed a socket it does not own");
	expect_log_has(log, "passed by systemd");
}

Test(service, listen_fds_meant_for_another_process_are_ignored)
{
	SKIP_UNLESS_LINUX();
	char sock[108], own[108], log[108];
	in_dir(sock, sizeof(sock), "passed.sock");
	in_dir(own, sizeof(own), "own.sock");
	in_dir(log, sizeof(log), "sysqd.log");
	int lfd = bind_unix(sock, SOCK_STREAM, true);
	const char *args[] = { "-vv", "-s", own, NULL };
	pid_t pid = launch(&(struct launch){ .args = args, .fds = &lfd, .nfds = 1,
	                                     .pid_of_parent = true, .log = log });
	close(lfd);
	wait_listening(own, pid, log);
	struct sysq *c = connect_to(own);
	expect_ping(c);
	sysq_close(c);
	cr_assert_eq(stop(pid), 0);
	cr_assert(!exists(own), "sysqd removes the socket it bound itself");
	expect_log_has(log, "ignoring LISTEN_FDS");
}

/* Start with fd as the passed socket; sysqd must refuse: exit 1, and the
 * log must say why (contains why). */
static void expect_refused(int fd, int nfds, const char *names, const char *why)
{
	char log[108];
	in_dir(log, sizeof(log), "refused.log");
	int fds[2] = { fd, fd };
	const char *args[] = { "-vv", NULL };
	pid_t pid = launch(&(struct launch){ .args = args, .fds = fds, .nfds = nfds,
	                                     .fdnames = names, .log = log });
	int st = reap(pid);
	char *text = slurp(log);
	cr_expect_eq(st, 1, "sysqd should refuse to start (exit 1), got %d:\n%s", st, text);
	cr_expect(strstr(text, why), "the log should say '%s':\n%s", why, text);
	free(text);
}

Test(service, a_passed_descriptor_sysqd_cannot_serve_stops_it_loudly)
{
	SKIP_UNLESS_LINUX();
	int pair[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	expect_refused(pair[0], 1, NULL, "not listening");
	close(pair[0]);
	close(pair[1]);

	char path[108];
	in_dir(path, sizeof(path), "dgram.sock");
	int d = bind_unix(path, SOCK_DGRAM, false);
	expect_refused(d, 1, NULL, "SOCK_DGRAM");
	close(d);

	in_dir(path, sizeof(path), "plain-file");
	int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	cr_assert(f >= 0);
	expect_refused(f, 1, NULL, "not a socket");
	close(f);

	int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(tcp >= 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cr_assert_eq(bind(tcp, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(tcp, 1), 0);
	expect_refused(tcp, 1, NULL, "AF_INET");
	close(tcp);
}

Test(service, of_several_passed_sockets_the_one_named_sysqd_is_served)
{
	SKIP_UNLESS_LINUX();
	char a[108], b[108], log[108];
	in_dir(a, sizeof(a), "a.sock");
	in_dir(b, sizeof(b), "b.sock");
	in_dir(log, sizeof(log), "sysqd.log");
	int fds[2] = { bind_unix(a, SOCK_STREAM, true), bind_unix(b, SOCK_STREAM, true) };
	const char *args[] = { "-vv", NULL };
	pid_t pid = launch(&(struct launch){ .args = args, .fds = fds, .nfds = 2,
	                                     .fdnames = "metrics:sysqd", .log = log });
	close(fds[0]);
	close(fds[1]);
	wait_listening(b, pid, log);
	struct sysq *c = connect_to(b);
	expect_ping(c);
	sysq_close(c);
	cr_assert_eq(stop(pid), 0);
	char want[160];
	snprintf(want, sizeof(want), "listening on %s ", b);
	expect_log_has(log, want);

	/* several sockets and none named sysqd: which one to serve is a guess */
	cr_assert_eq(unlink(a), 0);
	int g = bind_unix(a, SOCK_STREAM, true);
	expect_refused(g, 2, "one:two", "none is named 'sysqd'");
	close(g);
}

/* ---- readiness and signals -------------------------------------------- */

Test(service, ready_reloading_and_stopping_reach_notify_socket_and_sighup_keeps_connections)
{
	SKIP_UNLESS_LINUX();
	char sock[108], log[108], note[108], seen[4096] = "";
	in_dir(sock, sizeof(sock), "sysqd.sock");
	in_dir(log, sizeof(log), "sysqd.log");
	in_dir(note, sizeof(note), "notify");
	int nfd = notify_listen(note);
	const char *args[] = { "-vv", "-s", sock, NULL };
	pid_t pid = launch(&(struct launch){ .args = args, .notify = note, .log = log });

	expect_notify(nfd, "READY=1", seen, sizeof(seen));
	/* READY=1 means listening: the first attempt must connect, no retry */
	int fd = try_connect(sock);
	cr_assert(fd >= 0, "READY=1 came before sysqd listened on %s", sock);
	close(fd);

	struct sysq *c = connect_to(sock);
	expect_ping(c);
	cr_assert_eq(kill(pid, SIGHUP), 0);
	expect_notify(nfd, "RELOADING=1", seen, sizeof(seen));
	expect_notify(nfd, "READY=1", seen, sizeof(seen)); /* the reload is done */
	expect_ping(c);          /* the connection opened before SIGHUP still answers */
	struct sysq *c2 = connect_to(sock); /* and new ones are accepted */
	expect_ping(c2);
	sysq_close(c2);
	sysq_close(c);
	cr_assert(strstr(seen, "MONOTONIC_USEC="), "RELOADING=1 carries the time: %s", seen);

	cr_assert_eq(kill(pid, SIGTERM), 0);
	expect_notify(nfd, "STOPPING=1", seen, sizeof(seen));
	cr_assert_eq(reap(pid), 0);
	cr_assert(!exists(sock), "sysqd removes the socket it bound itself");
	expect_log_has(log, "SIGHUP");
}

Test(service, an_abstract_notify_socket_is_reached)
{
	SKIP_UNLESS_LINUX();
	char sock[108], log[108], note[108], seen[2048] = "";
	in_dir(sock, sizeof(sock), "sysqd.sock");
	in_dir(log, sizeof(log), "sysqd.log");
	snprintf(note, sizeof(note), "@sysq-test-notify-%ld-%ld", (long)getpid(), (long)time(NULL));
	int nfd = notify_listen(note);
	const char *args[] = { "-s", sock, NULL };
	pid_t pid = launch(&(struct launch){ .args = args, .notify = note, .log = log });
	expect_notify(nfd, "READY=1", seen, sizeof(seen));
	cr_assert_eq(stop(pid), 0);
}

/* ---- logging ----------------------------------------------------------- */

Test(service, syslog_mode_writes_nothing_to_stderr)
{
	struct sqd d;
	const char *const modes[] = { "syslog", "stderr" };
	for (int i = 0; i < 2; i++) {
		sqd_start(&d, (const char *const[]){ "--log", modes[i], NULL });
		struct sysq *c = sqd_connect(&d);
		expect_ping(c);
		sysq_close(c);
		cr_assert_eq(sqd_stop(&d), 0);
		char *text = slurp(d.log);
		if (i == 0) /* -vv: every line would have gone to stderr otherwise */
			cr_expect_str_empty(text, "--log syslog wrote to stderr:\n%s", text);
		else
			cr_expect(strstr(text, "connection #1 from uid"),
			          "--log stderr: the connection line is missing:\n%s", text);
		free(text);
		sqd_stop_clean(&d);
	}
}

Test(service, on_the_journal_stream_lines_carry_syslog_priorities)
{
	char sock[108], log[108];
	in_dir(sock, sizeof(sock), "sysqd.sock");
	in_dir(log, sizeof(log), "sysqd.log");
	const char *args[] = { "-v", "-s", sock, NULL };
	pid_t pid = launch(&(struct launch){ .args = args, .journal = true, .log = log });
	wait_listening(sock, pid, log);
	struct sysq *c = connect_to(sock);
	expect_ping(c);
	sysq_close(c);
	cr_assert_eq(stop(pid), 0);
	char *text = slurp(log);
	cr_expect(strstr(text, "<5>sysqd "), "the start line at NOTICE (<5>):\n%s", text);
	cr_expect(strstr(text, "<6>connection #1 from uid"), "INFO lines as <6>:\n%s", text);
	cr_expect(!strstr(text, "sysqd: notice:"), "no terminal format in the journal:\n%s",
	          text);
	free(text);

	/* JOURNAL_STREAM naming another stream (inherited, stale): plain lines */
	pid = launch(&(struct launch){ .args = args, .journal_raw = "1:1", .log = log });
	wait_listening(sock, pid, log);
	cr_assert_eq(stop(pid), 0);
	text = slurp(log);
	cr_expect(strstr(text, "sysqd: notice: sysqd "), "plain format expected:\n%s", text);
	cr_expect(!strstr(text, "<5>"), "no priority prefixes:\n%s", text);
	free(text);
}

Test(service, bytes_a_client_chose_cannot_forge_log_lines)
{
	struct sqd d;
	sqd_start(&d, NULL); /* -vv: error replies are logged with their message */
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	/* the unknown param's name goes into the message, and so into the log */
	cr_assert_eq(sq_call(c, "sys.ping", "{\"x\\nsysqd: error: forged\": 1}", &r),
	             SYSQ_REMOTE_ERROR);
	/* the reply itself shows the bytes as '?' (params.c): no newline in it */
	cr_assert(strstr(r.message, "forged") && !strchr(r.message, '\n'), "%s", r.message);
	sysq_reply_free(&r);
	sysq_close(c);
	cr_assert_eq(sqd_stop(&d), 0);
	char *text = slurp(d.log);
	cr_expect(strstr(text, "x?sysqd: error: forged"), "the attempt is logged:\n%s", text);
	cr_expect(!strstr(text, "\nsysqd: error: forged"), "a forged line:\n%s", text);
	free(text);
	sqd_stop_clean(&d);
}

Test(service, a_privileged_call_leaves_a_notice_line_with_the_caller)
{
	struct sqd d;
	sqd_start(&d, NULL);
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.methods", NULL, &r), 0);
	const msgpack_object *ms = sq_map_get(r.result, "methods");
	char name[64] = "";
	for (uint32_t i = 0; ms && i < ms->via.array.size && !name[0]; i++) {
		const msgpack_object *m = &ms->via.array.ptr[i];
		const msgpack_object *nm = sq_map_get(m, "name");
		if (sq_obj_streq(sq_map_get(m, "access"), "root") && nm &&
		    nm->type == MSGPACK_OBJECT_STR && nm->via.str.size < sizeof(name))
			memcpy(name, nm->via.str.ptr, nm->via.str.size);
	}
	sysq_reply_free(&r);
	if (!name[0]) {
		sysq_close(c);
		sqd_stop_clean(&d);
		SKIP("SKIPPED: no method with access 'root' in this build");
	}
	/* an unknown param: every handler refuses it (EINVAL) before acting,
	 * and the attempt is still a privileged call worth a line */
	sq_call(c, name, "{\"sysq_test_no_such_param\": 1}", &r);
	cr_expect(r.is_error, "%s accepted an unknown param", name);
	sysq_reply_free(&r);
	sysq_close(c);
	cr_assert_eq(sqd_stop(&d), 0);
	char want[160];
	snprintf(want, sizeof(want), "notice: privileged: uid %u pid %ld (conn #",
	         (unsigned)getuid(), (long)getpid());
	expect_log_has(d.log, want);
	expect_log_has(d.log, name);
	sqd_stop_clean(&d);
}
