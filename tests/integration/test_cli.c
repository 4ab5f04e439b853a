/* SPDX-License-Identifier: ISC */
/*
 * test_cli.c - the sysq command line against a real sysqd: exit statuses
 * (0 ok, 1 the daemon answered an error, 2 usage, 3 cannot connect), what
 * goes to stdout and stderr, and --json output that a JSON parser other
 * than ours (Python's) accepts.  SQ_SYSQ names the binary (run-all.sh).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#ifdef __linux__
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#endif

#include "harness.h"

static struct sqd d;

static void up(void)
{
	static const char *const args[] = { "--max-message", "4096", NULL };
	sqd_start(&d, args);
}

/* The tmpfs of a test's private mount namespace (ns_private_tmpfs), if any:
 * unmounted and its directory in /tmp removed at the end. */
static char ns_top[128];

static void down(void)
{
	sqd_stop_clean(&d);
#ifdef __linux__
	if (ns_top[0]) {
		umount2(ns_top, MNT_DETACH);
		rmdir(ns_top);
	}
#endif
}

TestSuite(cli, .init = up, .fini = down, .timeout = 60);

struct run {
	int status;
	char *out, *err;
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* Run `sysq args...` (env entries "NAME=value" / "-NAME"; uid < 0: us),
 * stdin from /dev/null; returns status, stdout and stderr. */
static struct run sysq_run(const char *const *args, const char *const *env, int uid)
{
	const char *bin = getenv("SQ_SYSQ");
	cr_assert(bin, "SQ_SYSQ must name the sysq binary (tests/run-all.sh sets it)");
	char fo[128], fe[128];
	snprintf(fo, sizeof(fo), "%s/cli.out", d.dir);
	snprintf(fe, sizeof(fe), "%s/cli.err", d.dir);
	const char *argv[16];
	int n = 0;
	argv[n++] = bin;
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fi = open("/dev/null", O_RDONLY);
		int o = open(fo, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(fe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fi < 0 || o < 0 || e < 0)
			_exit(126);
		dup2(fi, 0);
		dup2(o, 1);
		dup2(e, 2);
		unsetenv("SYSQ_SOCKET");
		for (int i = 0; env && env[i]; i++) {
			if (env[i][0] == '-')
				unsetenv(env[i] + 1);
			else
				putenv((char *)env[i]);
		}
		if (uid >= 0 && (setgroups(0, NULL) < 0 || setgid((gid_t)uid) < 0 ||
		                 setuid((uid_t)uid) < 0))
			_exit(125);
		die_with_parent();
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	struct run r;
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r.out = slurp(fo);
	r.err = slurp(fe);
	unlink(fo);
	unlink(fe);
	return r;
}

/* sysq -s <daemon> args... */
static struct run sysq_at(const char *const *args)
{
	const char *all[16];
	int n = 0;
	all[n++] = "-s";
	all[n++] = d.sock;
	for (int i = 0; args[i] && n < 15; i++)
		all[n++] = args[i];
	all[n] = NULL;
	return sysq_run(all, NULL, -1);
}

/* True when Python's json module parses text and `check` (an expression
 * over the parsed value d) holds. */
static bool json_ok(const char *text, const char *check)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/cli.json", d.dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			_exit(126);
		dup2(fd, 0);
		execl("/usr/bin/python3", "python3", "-c",
		      "import json, sys\n"
		      "d = json.load(sys.stdin)\n"
		      "sys.exit(0 if eval(sys.argv[1]) else 1)\n",
		      check ? check : "True", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	unlink(path);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ---- sysq watch proc ------------------------------------------------------ */

struct lines {
	int fd;
	char buf[8192];
	size_t len;
};

/* The next line sysq printed (without its newline), or a failed assertion
 * after 5 s without one. */
static void next_line(struct lines *l, char *out, size_t size)
{
	for (;;) {
		char *nl = memchr(l->buf, '\n', l->len);
		if (nl) {
			size_t n = (size_t)(nl - l->buf);
			snprintf(out, size, "%.*s", (int)n, l->buf);
			memmove(l->buf, nl + 1, l->len - n - 1);
			l->len -= n + 1;
			return;
		}
		struct pollfd p = { .fd = l->fd, .events = POLLIN };
		cr_assert_eq(poll(&p, 1, 5000), 1, "sysq watch printed no line in 5 s");
		ssize_t got = read(l->fd, l->buf + l->len, sizeof(l->buf) - 1 - l->len);
		cr_assert_gt(got, 0, "sysq watch ended");
		l->len += (size_t)got;
	}
}

/* sysq [-j] watch proc --ppid (this process) with its output on l. */
static pid_t watch_proc(struct lines *l, bool json)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	char ppid[16];
	snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
	pid_t w = fork();
	cr_assert_geq(w, 0);
	if (w == 0) {
		die_with_parent();
		dup2(fds[1], 1);
		const char *bin = getenv("SQ_SYSQ");
		if (json)
			execl(bin, bin, "-s", d.sock, "-j", "watch", "proc", "--ppid", ppid, (char *)NULL);
		else
			execl(bin, bin, "-s", d.sock, "watch", "proc", "--ppid", ppid, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	l->fd = fds[0];
	l->len = 0;
	/* subscribed once a child of ours shows: fork one now and then until
	 * sysq prints its line (this sets no deadline of its own) */
	for (;;) {
		pid_t p = fork();
		cr_assert_geq(p, 0);
		if (p == 0)
			_exit(0);
		waitpid(p, NULL, 0);
		struct pollfd pf = { .fd = l->fd, .events = POLLIN };
		if (poll(&pf, 1, 100) == 1)
			break;
	}
	/* the probes' lines: fork and exit each, of pids we no longer care for */
	return w;
}

/* Lines until one about pid holding word; the line. */
static void line_about(struct lines *l, pid_t pid, const char *word, char *out, size_t size)
{
	char key[32];
	snprintf(key, sizeof(key), "pid %d ", (int)pid);
	for (;;) {
		next_line(l, out, size);
		if (strstr(out, key) && strstr(out, word))
			return;
	}
}

Test(cli, watch_proc_prints_one_line_per_event)
{
	SKIP_UNLESS_ROOT();
	struct lines l;
	pid_t w = watch_proc(&l, false);
	int hold[2];
	cr_assert_eq(pipe(hold), 0);
	pid_t c = fork();
	cr_assert_geq(c, 0);
	if (c == 0) {
		die_with_parent();
		dup2(hold[0], 0);
		close(hold[1]);
		execl("/bin/sh", "sh", "-c", "read x; exit 5", (char *)NULL);
		_exit(127);
	}
	close(hold[0]);
	char line[1024], want[128];
	line_about(&l, c, " fork ", line, sizeof(line));
	snprintf(want, sizeof(want), " fork pid %d ppid %d uid 0 comm ", (int)c, (int)getpid());
	cr_assert(strstr(line, want), "'%s' lacks '%s'", line, want);
	cr_assert(line[2] == ':' && line[5] == ':' && line[8] == '.', "time first: %s", line);
	line_about(&l, c, " exec ", line, sizeof(line));
	snprintf(want, sizeof(want), " exec pid %d ppid %d uid 0 comm sh args sh -c read x; "
	         "exit 5", (int)c, (int)getpid());
	cr_assert(strstr(line, want), "'%s' lacks '%s'", line, want);
	close(hold[1]);
	cr_assert_eq(waitpid(c, NULL, 0), c);
	line_about(&l, c, " exit ", line, sizeof(line));
	snprintf(want, sizeof(want), " exit pid %d ppid %d ", (int)c, (int)getpid());
	cr_assert(strstr(line, want), "'%s' lacks '%s'", line, want);
	cr_assert(strstr(line, " code 5"), "'%s' has the exit code", line);
	kill(w, SIGTERM);
	waitpid(w, NULL, 0);
	close(l.fd);

	/* --json: one object a line */
	w = watch_proc(&l, true);
	c = fork();
	cr_assert_geq(c, 0);
	if (c == 0)
		_exit(7);
	waitpid(c, NULL, 0);
	char key[32];
	snprintf(key, sizeof(key), "\"pid\":%d,", (int)c);
	do
		next_line(&l, line, sizeof(line));
	while (!strstr(line, key) || !strstr(line, "\"exited\""));
	char check[160];
	snprintf(check, sizeof(check), "d['topic'] == 'proc.exit' and d['pid'] == %d and "
	         "d['ppid'] == %d and d['exit_code'] == 7", (int)c, (int)getpid());
	cr_assert(json_ok(line, check), "%s", line);
	kill(w, SIGTERM);
	waitpid(w, NULL, 0);
	close(l.fd);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* ---- 0: success -------------------------------------------------------------------- */

Test(cli, successful_commands_exit_0)
{
	struct run r = sysq_at(ARGS("ping", "-c", "3"));
	cr_assert_eq(r.status, 0, "ping: %d %s", r.status, r.err);
	cr_assert(strstr(r.out, "3 pongs") && strstr(r.out, d.sock), "%s", r.out);
	cr_assert(strstr(r.out, "min/median/max"), "%s", r.out);
	cr_assert_str_empty(r.err);
	run_free(&r);

	r = sysq_at(ARGS("hello"));
	cr_assert_eq(r.status, 0, "hello: %s", r.err);
	char want[64];
	snprintf(want, sizeof(want), "you are uid %u", (unsigned)getuid());
	cr_assert(strstr(r.out, want) && strstr(r.out, "sys.ping"), "%s", r.out);
	run_free(&r);

	r = sysq_at(ARGS("call", "sys.uname"));
	cr_assert_eq(r.status, 0, "call sys.uname: %s", r.err);
	cr_assert(json_ok(r.out, "d['sysname'] == 'Linux' and d['release']"), "%s", r.out);
	run_free(&r);

	r = sysq_at(ARGS("call", "sys.ping", "{}"));
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(json_ok(r.out, "d == 'pong'"), "%s", r.out);
	run_free(&r);

	r = sysq_at(ARGS("methods"));
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "METHOD") && strstr(r.out, "sys.stats"), "%s", r.out);
	run_free(&r);

	r = sysq_at(ARGS("stats"));
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(json_ok(r.out, "d['connections'] >= 1 and d['limits']['max_message_bytes'] "
	                         "== 4096"), "%s", r.out);
	run_free(&r);

	/* df's habits: -h is human-readable (what sysq df always prints), not help */
	struct run plain = sysq_at(ARGS("df", "-a"));
	cr_assert_eq(plain.status, 0, "df -a: %s", plain.err);
	cr_assert(strstr(plain.out, "Filesystem") && strstr(plain.out, "Mounted on"), "%s",
	          plain.out);
	static const char *const human[] = { "-h", "-ah", "--human-readable" };
	for (size_t i = 0; i < 3; i++) {
		r = sysq_at(ARGS("df", "-a", human[i]));
		cr_assert_eq(r.status, 0, "df -a %s: %s", human[i], r.err);
		cr_assert(strstr(r.out, "Mounted on") && !strstr(r.out, "usage:"), "df -a %s: %s",
		          human[i], r.out);
		run_free(&r);
	}
	r = sysq_at(ARGS("df", "--help"));
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "usage: sysq df"), "%s", r.out);
	run_free(&r);
	run_free(&plain);

	/* $SYSQ_SOCKET instead of -s */
	char env[160];
	snprintf(env, sizeof(env), "SYSQ_SOCKET=%s", d.sock);
	const char *const envs[] = { env, NULL };
	r = sysq_run(ARGS("ping"), envs, -1);
	cr_assert_eq(r.status, 0, "SYSQ_SOCKET: %s", r.err);
	cr_assert(strstr(r.out, "1 pong "), "%s", r.out);
	run_free(&r);
}

Test(cli, help_and_version_exit_0_without_a_daemon)
{
	struct run r = sysq_run(ARGS("-s", "/nonexistent", "--help"), NULL, -1);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "usage: sysq") && strstr(r.out, "exit status"), "%s", r.out);
	cr_assert(strstr(r.out, "ping") && strstr(r.out, "call") && strstr(r.out, "hello"));
	run_free(&r);
	r = sysq_run(ARGS("--version"), NULL, -1);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(strncmp(r.out, "sysq ", 5), 0, "%s", r.out);
	run_free(&r);
}

/* ---- 1: the daemon said no ------------------------------------------------------------ */

Test(cli, daemon_errors_exit_1_with_code_and_message_on_stderr)
{
	struct run r = sysq_at(ARGS("call", "no.such"));
	cr_assert_eq(r.status, 1, "%d %s", r.status, r.err);
	cr_assert(strstr(r.err, "ENOSYS") && strstr(r.err, "no.such"), "stderr: %s", r.err);
	cr_assert_str_empty(r.out);
	run_free(&r);

	r = sysq_at(ARGS("call", "sys.ping", "{\"bogus\": 1}"));
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "EINVAL") && strstr(r.err, "bogus"), "stderr: %s", r.err);
	run_free(&r);

	/* over the daemon's --max-message 4096: E2BIG, answered to our msgid */
	char *big = malloc(6000);
	memcpy(big, "{\"x\": \"", 7);
	memset(big + 7, 'a', 5000);
	memcpy(big + 5007, "\"}", 3);
	r = sysq_at(ARGS("call", "sys.ping", big));
	free(big);
	cr_assert_eq(r.status, 1, "%d %s", r.status, r.err);
	cr_assert(strstr(r.err, "E2BIG"), "stderr: %s", r.err);
	run_free(&r);
}

/* ---- 2: usage ---------------------------------------------------------------------------- */

Test(cli, usage_errors_exit_2_daemon_or_not)
{
	static const char *const bad[][6] = {
		{ NULL },
		{ "bogus", NULL },
		{ "call", NULL },
		{ "call", "sys.ping", "{}", "extra", NULL },
		{ "ping", "-c", "0", NULL },
		{ "ping", "-c", "x", NULL },
		{ "ping", "-c", NULL },
		{ "ping", "extra", NULL },
		{ "hello", "extra", NULL },
		{ "--bogus", "ping", NULL },
		{ "call", "sys.ping", "{bad json", NULL },
		{ "call", "sys.ping", "\"\\ud800\"", NULL },
		{ "call", "sys.ping", "{} trailing", NULL },
	};
	const char *socks[] = { d.sock, "/nonexistent/sysqd.sock" };
	for (size_t s = 0; s < 2; s++)
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			const char *args[10] = { "-s", socks[s] };
			int n = 2;
			for (int k = 0; bad[i][k]; k++)
				args[n++] = bad[i][k];
			args[n] = NULL;
			struct run r = sysq_run(args, NULL, -1);
			cr_assert_eq(r.status, 2, "sysq %s %s %s (socket %s): status %d, stderr %s",
			             bad[i][0] ? bad[i][0] : "", bad[i][0] && bad[i][1] ? bad[i][1] : "",
			             bad[i][0] && bad[i][1] && bad[i][2] ? bad[i][2] : "", socks[s],
			             r.status, r.err);
			cr_assert(r.err[0], "case %zu: no message", i);
			cr_assert_str_empty(r.out, "case %zu: output on a usage error", i);
			run_free(&r);
		}
	struct run r = sysq_run(ARGS("-s"), NULL, -1);
	cr_assert_eq(r.status, 2);
	run_free(&r);
}

/* ---- 3: cannot connect ------------------------------------------------------------------- */

Test(cli, no_daemon_exits_3_naming_the_socket)
{
	struct run r = sysq_run(ARGS("-s", "/nonexistent", "ping"), NULL, -1);
	cr_assert_eq(r.status, 3, "%d %s", r.status, r.err);
	cr_assert(strstr(r.err, "/nonexistent"), "stderr does not name the socket: %s", r.err);
	run_free(&r);

	r = sysq_run(ARGS("-s", "/nonexistent", "call", "sys.uname"), NULL, -1);
	cr_assert_eq(r.status, 3);
	cr_assert(strstr(r.err, "/nonexistent"), "%s", r.err);
	run_free(&r);

	/* a path that exists but is no socket: still "cannot connect", and why */
	r = sysq_run(ARGS("-s", d.log, "hello"), NULL, -1);
	cr_assert_eq(r.status, 3);
	cr_assert(strstr(r.err, d.log), "%s", r.err);
	run_free(&r);

	const char *const envs[] = { "SYSQ_SOCKET=/nonexistent/env.sock", NULL };
	r = sysq_run(ARGS("stats"), envs, -1);
	cr_assert_eq(r.status, 3);
	cr_assert(strstr(r.err, "/nonexistent/env.sock"), "%s", r.err);
	run_free(&r);
}

/* ---- --json ------------------------------------------------------------------------------- */

Test(cli, json_output_parses_as_json)
{
	static const struct { const char *args[6]; const char *check; } cases[] = {
		{ { "--json", "hello", NULL }, "d['server'] == 'sysqd' and 'peer' in d" },
		{ { "hello", "--json", NULL }, "isinstance(d['methods'], list)" },
		{ { "-j", "stats", NULL }, "d['requests'] >= 1 and d['rss_bytes'] > 0" },
		{ { "--json", "methods", NULL }, "any(m['name'] == 'sys.ping' for m in d['methods'])" },
		{ { "--json", "ping", "-c", "2", NULL }, "d['count'] == 2 and d['min_us'] <= d['max_us']" },
		{ { "call", "sys.methods", NULL }, "len(d['methods']) >= 5" },
		{ { "call", "sys.hello", "{}", NULL }, "d['protocol'] >= 1" },
		{ { "--json", "call", "sys.uname", NULL }, "set(d) >= {'sysname', 'machine'}" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r = sysq_at(cases[i].args);
		cr_assert_eq(r.status, 0, "case %zu: %d %s", i, r.status, r.err);
		cr_assert(json_ok(r.out, cases[i].check), "case %zu (%s %s): not JSON, or %s:\n%s",
		          i, cases[i].args[0], cases[i].args[1], cases[i].check, r.out);
		run_free(&r);
	}
}

/* -j after the command name means --json, but not after "--": there it is
 * the command's own argument (here an attribute's value). */
Test(cli, json_flag_stops_at_double_dash)
{
	char f[128];
	snprintf(f, sizeof(f), "%s/dashes", d.dir);
	FILE *fp = fopen(f, "w");
	cr_assert_not_null(fp);
	fclose(fp);
	struct run r = sysq_at(ARGS("xattr", "-w", "--", "user.sq.dash", "-j", f));
	if (r.status == 1 && strstr(r.err, "EOPNOTSUPP")) {
		run_free(&r);
		unlink(f);
		cr_skip_test("SKIPPED: no user.* attributes on %s", d.dir);
	}
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	run_free(&r);
	r = sysq_at(ARGS("xattr", "-p", "user.sq.dash", f));
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "-j\n");
	run_free(&r);
	r = sysq_at(ARGS("xattr", "-l", "-j", f)); /* before "--": JSON */
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(json_ok(r.out, "'user.sq.dash' in str(d)"), "%s", r.out);
	run_free(&r);
	unlink(f);
}

Test(cli, a_user_sees_itself)
{
	SKIP_UNLESS_ROOT();
	struct run r = sysq_run(ARGS("-s", d.sock, "--json", "hello"), NULL, NOBODY_UID);
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	cr_assert(json_ok(r.out, "d['peer']['uid'] == 65534 and d['peer']['gid'] == 65534"),
	          "%s", r.out);
	run_free(&r);
}

/* ---- the default socket ------------------------------------------------------------------- */

#ifdef __linux__
#define SYSTEM_SOCK "/run/sysq/sysqd.sock"

/* In a private mount namespace: a tmpfs over /run (this test process and
 * its children only) with /run/sysq in it, empty. */
static void private_run_sysq(void)
{
	ns_private_tmpfs(ns_top, sizeof(ns_top), "sysq-cli-run");
	cr_assert_eq(mount("sysq-test-run", "/run", "tmpfs", 0, "size=1m,mode=0755"), 0,
	             "tmpfs on /run: %s", strerror(errno));
	cr_assert_eq(mkdir("/run/sysq", 0755), 0, "%s", strerror(errno));
}

/* An unprivileged user without -s or $SYSQ_SOCKET reaches the system
 * daemon when its socket is there (before: only /tmp/sysq-UID was tried). */
Test(cli, an_unprivileged_user_finds_the_system_socket)
{
	private_run_sysq();
	cr_assert_eq(mount(d.dir, "/run/sysq", NULL, MS_BIND, NULL), 0, "bind: %s",
	             strerror(errno));
	const char *const envs[] = { "-XDG_RUNTIME_DIR", NULL };
	struct run r = sysq_run(ARGS("hello"), envs, NOBODY_UID);
	cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "on " SYSTEM_SOCK "\n") && strstr(r.out, "you are uid 65534"),
	          "%s", r.out);
	run_free(&r);

	/* -s and $SYSQ_SOCKET come first, and are the only path tried */
	const char *const bad_env[] = { "-XDG_RUNTIME_DIR", "SYSQ_SOCKET=/nonexistent/env.sock",
	                                 NULL };
	r = sysq_run(ARGS("ping"), bad_env, NOBODY_UID);
	cr_assert_eq(r.status, 3, "%d %s", r.status, r.err);
	cr_assert(strstr(r.err, "/nonexistent/env.sock") && !strstr(r.err, SYSTEM_SOCK), "%s",
	          r.err);
	run_free(&r);
	r = sysq_run(ARGS("-s", "/nonexistent/opt.sock", "ping"), bad_env, NOBODY_UID);
	cr_assert_eq(r.status, 3, "%d %s", r.status, r.err);
	cr_assert(strstr(r.err, "/nonexistent/opt.sock") && !strstr(r.err, "env.sock"), "%s",
	          r.err);
	run_free(&r);
	cr_assert_eq(umount("/run/sysq"), 0, "%s", strerror(errno));
}

/* With a dead system socket (nobody listening) and no per-user daemon,
 * the message names both paths tried, and why each failed. */
Test(cli, a_failed_default_connect_names_every_path_tried)
{
	private_run_sysq();
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, SYSTEM_SOCK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	close(fd); /* the path stays, refusing connections */
	cr_assert_eq(chmod(SYSTEM_SOCK, 0666), 0);
	const char *const envs[] = { "-XDG_RUNTIME_DIR", NULL };
	struct run r = sysq_run(ARGS("ping"), envs, NOBODY_UID);
	cr_assert_eq(r.status, 3, "%d %s", r.status, r.err);
	cr_assert(strstr(r.err, SYSTEM_SOCK) && strstr(r.err, "/tmp/sysq-65534/sysqd.sock"),
	          "not every path tried is named: %s", r.err);
	cr_assert(strstr(r.err, "refused") && strstr(r.err, "No such file"), "%s", r.err);
	run_free(&r);

	/* without the system socket, the per-user one is what is missing */
	cr_assert_eq(unlink(SYSTEM_SOCK), 0);
	r = sysq_run(ARGS("ping"), envs, NOBODY_UID);
	cr_assert_eq(r.status, 3, "%d %s", r.status, r.err);
	cr_assert(strstr(r.err, "/tmp/sysq-65534/sysqd.sock"), "%s", r.err);
	run_free(&r);
}
#endif

/* ---- --help -------------------------------------------------------------------------------- */

/* Every command sysq --help lists, as NULL-ended array (static storage). */
static const char *const all_commands[] = { "ps", "kill", "df", "xattr", "net", "ss", "mtu",
                                            "host", "sysctl", "get", "watch", "metrics",
                                            "hello", "ping", "methods", "stats", "call", NULL };

/* Every subcommand answers --help and -h (df: --help only, its -h is
 * df's) with its usage on stdout and exit 0, without asking the daemon
 * (before: mtu and call sent "--help" to it, xattr said "unknown option"). */
Test(cli, every_command_answers_help_on_stdout)
{
	struct run top = sysq_run(ARGS("--help"), NULL, -1);
	cr_assert_eq(top.status, 0);
	for (int i = 0; all_commands[i]; i++) {
		char listed[32];
		snprintf(listed, sizeof(listed), "\n  %s ", all_commands[i]);
		cr_assert(strstr(top.out, listed), "sysq --help does not list %s:\n%s",
		          all_commands[i], top.out);
		static const char *const flags[] = { "--help", "-h" };
		for (int f = 0; f < 2; f++) {
			if (f == 1 && strcmp(all_commands[i], "df") == 0)
				continue;
			struct run r = sysq_run(ARGS("-s", "/nonexistent", all_commands[i], flags[f]),
			                        NULL, -1);
			char want[48];
			snprintf(want, sizeof(want), "usage: sysq %s", all_commands[i]);
			cr_assert_eq(r.status, 0, "sysq %s %s: status %d, stderr %s", all_commands[i],
			             flags[f], r.status, r.err);
			cr_assert(strstr(r.out, want), "sysq %s %s: %s", all_commands[i], flags[f], r.out);
			cr_assert(strstr(r.out, "--help"), "sysq %s %s: no --help line: %s",
			          all_commands[i], flags[f], r.out);
			cr_assert_str_empty(r.err, "sysq %s %s", all_commands[i], flags[f]);
			run_free(&r);
		}
	}
	run_free(&top);

	/* after other arguments too, but not after "--" */
	struct run r = sysq_run(ARGS("-s", "/nonexistent", "mtu", "lo", "--help"), NULL, -1);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "usage: sysq mtu"), "%s", r.out);
	run_free(&r);
	r = sysq_run(ARGS("-s", "/nonexistent", "call", "--", "--help"), NULL, -1);
	cr_assert_eq(r.status, 3, "a method named --help goes to the daemon: %d %s", r.status,
	             r.err);
	run_free(&r);
	/* a usage error prints the same usage, on stderr */
	r = sysq_run(ARGS("-s", "/nonexistent", "mtu"), NULL, -1);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "usage: sysq mtu"), "%s", r.err);
	cr_assert_str_empty(r.out);
	run_free(&r);
}

/* ---- sysq(1) says what the code does ------------------------------------------------------ */

/* Each command's --help names the options sysq(1) names for it, and sysq
 * --help's line for it has those of its usage line (before: metrics lacked
 * --per-uid and --timeout there).  tests/integration/help_vs_man.py. */
Test(cli, help_options_match_the_man_page)
{
	const char *top = getenv("SQ_TOP"), *bin = getenv("SQ_SYSQ");
	cr_assert(top && bin, "SQ_TOP and SQ_SYSQ come from tests/run-all.sh");
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/tests/integration/help_vs_man.py' '%s' "
	         "'%s/man/sysq.1' 2>&1", top, bin, top);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char out[8192];
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "--help and sysq(1) differ:\n%s", out);
}

/* The EPERM a non-root caller gets for a root-only method, word for word as
 * sysq(1)'s example shows it (before: the method was named twice). */
Test(cli, a_refused_root_method_reads_as_the_man_page_shows)
{
	SKIP_UNLESS_ROOT();
	struct run r = sysq_run(ARGS("-s", d.sock, "mtu", "lo", "9000"), NULL, NOBODY_UID);
	cr_assert_eq(r.status, 1, "%d %s", r.status, r.err);
	static const char want[] =
		"sysq: net.mtu.set: EPERM: only root may do this, unless the policy grants it\n";
	cr_assert_str_eq(r.err, want);
	run_free(&r);
	char path[512];
	snprintf(path, sizeof(path), "%s/man/sysq.1", getenv("SQ_TOP"));
	char *man = slurp(path);
	cr_assert(strstr(man, want), "sysq(1) does not show: %s", want);
	free(man);
}

/* ---- df ------------------------------------------------------------------------------------ */

/* The text with every run of blanks as one space, none at line ends:
 * column widths aside, is it the same table?  (malloc'd) */
static char *squeeze(const char *s)
{
	char *o = malloc(strlen(s) + 1), *p = o;
	cr_assert_not_null(o);
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t') {
			if (p > o && p[-1] != ' ' && p[-1] != '\n' && s[1] && s[1] != '\n' &&
			    s[1] != ' ')
				*p++ = ' ';
			continue;
		}
		*p++ = *s;
	}
	*p = '\0';
	return o;
}

/* `df ARGS` (the system's, GNU coreutils) with status and stdout. */
static struct run system_df(const char *args)
{
	char cmd[1024], fo[128];
	snprintf(fo, sizeof(fo), "%s/df.out", d.dir);
	snprintf(cmd, sizeof(cmd), "LC_ALL=C df %s >%s 2>/dev/null", args, fo);
	int st = system(cmd);
	struct run r = { WIFEXITED(st) ? WEXITSTATUS(st) : 128, slurp(fo), NULL };
	r.err = calloc(1, 1);
	unlink(fo);
	return r;
}

/* A path that does not exist: the error alone, no table header, exit 1
 * (before: the header, then the error). */
Test(cli, df_of_a_bad_path_prints_no_header)
{
	struct run r = sysq_at(ARGS("df", "/nonexistent/sysq-df"));
	cr_assert_eq(r.status, 1, "%d %s", r.status, r.err);
	cr_assert_str_empty(r.out, "output before the error: %s", r.out);
	cr_assert(strstr(r.err, "/nonexistent/sysq-df") && strstr(r.err, "ENOENT"), "%s", r.err);
	run_free(&r);
	/* -t is a type now, as in df; the probe deadline is --timeout */
	r = sysq_at(ARGS("df", "--timeout", "300", "/"));
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	cr_assert(strstr(r.out, "Mounted on"), "%s", r.out);
	run_free(&r);
	r = sysq_at(ARGS("df", "--timeout=0", "/"));
	cr_assert_eq(r.status, 2, "%d %s", r.status, r.err);
	run_free(&r);
	r = sysq_at(ARGS("df", "--output=bogus", "/"));
	cr_assert_eq(r.status, 2, "%d %s", r.status, r.err);
	cr_assert(strstr(r.err, "bogus"), "%s", r.err);
	run_free(&r);
	r = sysq_at(ARGS("df", "-i", "--output=source", "/"));
	cr_assert_eq(r.status, 2, "-i and --output exclude each other: %d", r.status);
	run_free(&r);
}

#ifdef __linux__
/* sysq df's -k, -m, -P, -i, -h, -T and --output print what GNU df prints
 * for the same file system, a tmpfs of 1000 inodes in a mount namespace of
 * the test's own with a sysqd of its own; -t and -x select by type. */
Test(cli, df_options_print_what_df_prints)
{
	char small[192], args[512];
	const char *top = ns_top;
	ns_private_tmpfs(ns_top, sizeof(ns_top), "sysq-cli-df");
	snprintf(small, sizeof(small), "%s/small", top);
	cr_assert_eq(mkdir(small, 0755), 0);
	cr_assert_eq(mount("sysq-df-small", small, "tmpfs", 0, "size=3m,nr_inodes=1000"), 0,
	             "%s", strerror(errno));
	for (int i = 0; i < 7; i++) {
		char f[256];
		snprintf(f, sizeof(f), "%s/f%d", small, i);
		FILE *fp = fopen(f, "w");
		cr_assert_not_null(fp);
		for (int k = 0; k < 4096 * i; k++)
			fputc('x', fp);
		fclose(fp);
	}
	struct sqd d2;
	sqd_start(&d2, NULL); /* in this namespace: it sees small */

	static const char *const same[] = {
		"-k", "-m", "-P", "-Pk", "-Pm", "-i", "-ih", "-h", "-Ph", "-T", "-Ti", "-hT", "-kT",
		"--output",
		"--output=source,fstype,itotal,iused,iavail,ipcent,size,used,avail,pcent,file,target",
		"--output=size,avail,pcent", "-m --output=size,used", "-h --output=target,size",
		"--inodes", "--portability", "-t tmpfs -k", "--type=tmpfs -i",
	};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		/* sysq df is -h by default; df's default is 1K blocks */
		bool k = strncmp(same[i], "--output", 8) == 0 || strcmp(same[i], "-T") == 0;
		snprintf(args, sizeof(args), "%s%s %s", k ? "-k " : "", same[i], small);
		struct run want = system_df(args);
		char cmd[1024], fo[128];
		snprintf(fo, sizeof(fo), "%s/sysq-df.out", d.dir);
		snprintf(cmd, sizeof(cmd), "%s -s %s df %s >%s", getenv("SQ_SYSQ"), d2.sock, args, fo);
		int st = system(cmd);
		char *got = slurp(fo);
		unlink(fo);
		char *a = squeeze(want.out), *b = squeeze(got);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == want.status, "df %s: status %d", args,
		          st);
		cr_assert_str_eq(b, a, "sysq df %s:\n%s\ndf %s:\n%s", args, got, args, want.out);
		free(a);
		free(b);
		free(got);
		run_free(&want);
	}

	/* -x: nothing left to show is an error, as in df; listing by type */
	char tsmall[256];
	snprintf(tsmall, sizeof(tsmall), " %s\n", small);
	const char *const sa[] = { "-s", d2.sock, "df", "-x", "tmpfs", small, NULL };
	struct run r = sysq_run(sa, NULL, -1);
	cr_assert_eq(r.status, 1, "%d %s", r.status, r.err);
	cr_assert_str_empty(r.out);
	cr_assert(strstr(r.err, "no file systems processed"), "%s", r.err);
	run_free(&r);
	const char *const lt[] = { "-s", d2.sock, "df", "-T", "-t", "tmpfs", "--type", "ramfs",
	                           NULL };
	r = sysq_run(lt, NULL, -1);
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	cr_assert(strstr(r.out, tsmall), "%s", r.out);
	for (char *line = strchr(r.out, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
		char src[512], type[64];
		cr_assert_eq(sscanf(line + 1, "%511s %63s", src, type), 2, "%s", line + 1);
		cr_assert(strcmp(type, "tmpfs") == 0 || strcmp(type, "ramfs") == 0, "%s", line + 1);
	}
	run_free(&r);
	const char *const lx[] = { "-s", d2.sock, "df", "-x", "tmpfs", NULL };
	r = sysq_run(lx, NULL, -1);
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	cr_assert(!strstr(r.out, tsmall) && !strstr(r.out, top), "%s", r.out);
	run_free(&r);
	const char *const both[] = { "-s", d2.sock, "df", "-t", "tmpfs", "-x", "tmpfs", NULL };
	r = sysq_run(both, NULL, -1);
	cr_assert_eq(r.status, 2, "a type both selected and excluded: %d %s", r.status, r.err);
	run_free(&r);

	sqd_stop_clean(&d2);
	cr_assert_eq(umount(small), 0);
}

/* A FUSE mount whose daemon is gone (its /dev/fuse descriptor closed before
 * it answered): statfs says ENOTCONN.  df lists it and exits 1, as df
 * does; for it alone, only the error (before: exit 0, and a header). */
Test(cli, df_exits_1_when_a_file_system_cannot_be_read)
{
	char dead[192], opts[128];
	const char *top = ns_top;
	ns_private_tmpfs(ns_top, sizeof(ns_top), "sysq-cli-dead");
	snprintf(dead, sizeof(dead), "%s/dead", top);
	cr_assert_eq(mkdir(dead, 0755), 0);
	int fd = open("/dev/fuse", O_RDWR);
	if (fd < 0)
		cr_skip_test("SKIPPED: no usable /dev/fuse (%s)", strerror(errno));
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
	if (mount("sysq-dead", dead, "fuse", 0, opts) < 0)
		cr_skip_test("SKIPPED: cannot mount fuse (%s)", strerror(errno));
	close(fd); /* the file system's daemon is gone */
	struct sqd d2;
	sqd_start(&d2, NULL);

	const char *const one[] = { "-s", d2.sock, "df", dead, NULL };
	struct run r = sysq_run(one, NULL, -1);
	cr_assert_eq(r.status, 1, "%d %s", r.status, r.err);
	cr_assert_str_empty(r.out, "a header before the error: %s", r.out);
	cr_assert(strstr(r.err, dead) && strstr(r.err, "ENOTCONN"), "%s", r.err);
	run_free(&r);

	const char *const list[] = { "-s", d2.sock, "df", NULL };
	r = sysq_run(list, NULL, -1);
	cr_assert_eq(r.status, 1, "a file system could not be read: %d %s", r.status, r.err);
	char want[256];
	snprintf(want, sizeof(want), "%s (error: ENOTCONN)\n", dead);
	cr_assert(strstr(r.out, "Mounted on") && strstr(r.out, want), "%s", r.out);
	cr_assert(strstr(r.err, dead) && strstr(r.err, "ENOTCONN"), "%s", r.err);
	run_free(&r);
	/* the others are fine: left out by type, it exits 0 */
	const char *const other[] = { "-s", d2.sock, "df", "-x", "fuse", NULL };
	r = sysq_run(other, NULL, -1);
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	run_free(&r);
	struct run g = system_df(dead);
	cr_assert_eq(g.status, 1, "GNU df agrees it is an error");
	run_free(&g);

	sqd_stop_clean(&d2);
	umount2(dead, MNT_DETACH);
}
#endif

/* ---- xattr ----------------------------------------------------------------------------------- */

/* A file (or directory) under d.dir with user.* attributes possible, else skip. */
static void xattr_make(const char *path, bool dir)
{
	if (dir)
		cr_assert_eq(mkdir(path, 0755), 0, "%s: %s", path, strerror(errno));
	else
		close(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
	if (setxattr(path, "user.sq.probe", "x", 1, 0) < 0)
		cr_skip_test("SKIPPED: no user.* attributes on %s (%s)", d.dir, strerror(errno));
	cr_assert_eq(removexattr(path, "user.sq.probe"), 0);
}

/* How many user.* attributes path has. */
static int user_attrs(const char *path)
{
	char names[4096];
	ssize_t n = listxattr(path, names, sizeof(names));
	cr_assert_geq(n, 0, "%s: %s", path, strerror(errno));
	int k = 0;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1)
		k += strncmp(names + i, "user.", 5) == 0;
	return k;
}

/* -c removes every attribute (before: "unknown option -c"). */
Test(cli, xattr_c_clears_every_attribute)
{
	char f[128];
	snprintf(f, sizeof(f), "%s/clear", d.dir);
	xattr_make(f, false);
	cr_assert_eq(setxattr(f, "user.a", "1", 1, 0), 0);
	cr_assert_eq(setxattr(f, "user.b", "\0\xff", 2, 0), 0);
	struct run r = sysq_at(ARGS("xattr", "-c", f));
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	cr_assert_str_empty(r.out);
	cr_assert_eq(user_attrs(f), 0, "user.* attributes left after -c");
	run_free(&r);
	r = sysq_at(ARGS("xattr", "-c", "-p", "user.a", f));
	cr_assert_eq(r.status, 2, "-c with -p: %d", r.status);
	run_free(&r);
	unlink(f);
}

/* -r: every file and directory under a directory (before: unknown option). */
Test(cli, xattr_r_walks_the_tree)
{
	char top[128], sub[160], f1[192], f2[192], ln[192];
	snprintf(top, sizeof(top), "%s/tree", d.dir);
	snprintf(sub, sizeof(sub), "%s/sub", top);
	snprintf(f1, sizeof(f1), "%s/one", top);
	snprintf(f2, sizeof(f2), "%s/two", sub);
	snprintf(ln, sizeof(ln), "%s/link", top);
	xattr_make(top, true);
	xattr_make(sub, true);
	xattr_make(f1, false);
	xattr_make(f2, false);
	cr_assert_eq(symlink("/nonexistent", ln), 0);
	const char *const all[] = { top, sub, f1, f2 };

	struct run r = sysq_at(ARGS("xattr", "-r", "-w", "user.t", "v", top));
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	run_free(&r);
	for (int i = 0; i < 4; i++) {
		char v[8] = "";
		cr_assert_eq(getxattr(all[i], "user.t", v, sizeof(v)), 1, "%s: %s", all[i],
		             strerror(errno));
		cr_assert_eq(v[0], 'v');
	}
	r = sysq_at(ARGS("xattr", "-rp", "user.t", top));
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	for (int i = 0; i < 4; i++) {
		char want[256];
		snprintf(want, sizeof(want), "%s: v\n", all[i]);
		cr_assert(strstr(r.out, want), "no '%s' in:\n%s", want, r.out);
	}
	cr_assert(!strstr(r.out, "link"), "the symbolic link was followed: %s", r.out);
	run_free(&r);
	r = sysq_at(ARGS("xattr", "-rc", top));
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	run_free(&r);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(user_attrs(all[i]), 0, "%s", all[i]);
	unlink(ln);
	unlink(f2);
	unlink(f1);
	rmdir(sub);
	rmdir(top);
}

#ifdef __linux__
/* A name without a namespace: the kernel's EOPNOTSUPP, and a hint. */
Test(cli, xattr_a_name_without_namespace_gets_a_hint)
{
	char f[128];
	snprintf(f, sizeof(f), "%s/hint", d.dir);
	xattr_make(f, false);
	struct run r = sysq_at(ARGS("xattr", "-w", "tag", "blue", f));
	cr_assert_eq(r.status, 1, "%d %s", r.status, r.err);
	cr_assert((strstr(r.err, "ENOTSUP") || strstr(r.err, "EOPNOTSUPP")) &&
	          strstr(r.err, "use user.tag"), "%s", r.err);
	run_free(&r);
	r = sysq_at(ARGS("xattr", "-p", "tag", f));
	cr_assert_eq(r.status, 1, "%d %s", r.status, r.err);
	cr_assert(strstr(r.err, "use user.tag"), "%s", r.err);
	run_free(&r);
	/* with a namespace, no hint */
	r = sysq_at(ARGS("xattr", "-p", "user.none", f));
	cr_assert_eq(r.status, 1);
	cr_assert(!strstr(r.err, "use user."), "%s", r.err);
	run_free(&r);
	unlink(f);
}
#endif

/* --json: UTF-8 values as text, others as base64, each saying which
 * (before: every value as {"$bin": base64}). */
Test(cli, xattr_json_values_are_text_when_utf8)
{
	char f[128];
	snprintf(f, sizeof(f), "%s/json", d.dir);
	xattr_make(f, false);
	cr_assert_eq(setxattr(f, "user.txt", "h\xc3\xa9llo", 6, 0), 0);
	cr_assert_eq(setxattr(f, "user.bin", "\0\xff", 2, 0), 0);
	struct run r = sysq_at(ARGS("--json", "xattr", "-l", f));
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	cr_assert(json_ok(r.out, "{a['name']: (a['value'], a['encoding']) for a in d['attributes']}"
	                         " == {'user.txt': ('h\\u00e9llo', 'utf-8'),"
	                         " 'user.bin': ('AP8=', 'base64')}"), "%s", r.out);
	run_free(&r);
	r = sysq_at(ARGS("--json", "xattr", "-p", "user.txt", f));
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	cr_assert(json_ok(r.out, "d == {'value': 'h\\u00e9llo', 'encoding': 'utf-8'}"), "%s", r.out);
	run_free(&r);
	r = sysq_at(ARGS("--json", "xattr", "-p", "user.bin", f));
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	cr_assert(json_ok(r.out, "d == {'value': 'AP8=', 'encoding': 'base64'}"), "%s", r.out);
	run_free(&r);
	unlink(f);
}

/* ---- stats and get (issue 21 item 7) ------------------------------------------------------ */

#ifdef __linux__
/* Run sysq -s <daemon> args... with stdout and stderr on an 80-column pty;
 * its status, and what it printed (\r\n as \n) in out. */
static struct run sysq_on_a_pty(const char *const *args)
{
	const char *argv[16];
	int n = 0;
	argv[n++] = getenv("SQ_SYSQ");
	argv[n++] = "-s";
	argv[n++] = d.sock;
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	int master;
	pid_t pid = forkpty(&master, NULL, NULL, &ws);
	cr_assert_geq(pid, 0, "forkpty: %s", strerror(errno));
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap);
	cr_assert_not_null(buf);
	for (;;) {
		ssize_t k = read(master, buf + len, cap - len - 1);
		if (k <= 0)
			break;
		len += (size_t)k;
		cr_assert_lt(len, cap - 1);
	}
	close(master);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	buf[len] = '\0';
	char *o = buf;
	for (char *p = buf; *p; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			*o++ = *p;
	*o = '\0';
	struct run r = { WIFEXITED(st) ? WEXITSTATUS(st) : 128, buf, calloc(1, 1) };
	return r;
}

/* No number with a run of 10 or more digits after its point. */
static bool no_float_noise(const char *s)
{
	for (const char *p = strchr(s, '.'); p; p = strchr(p + 1, '.'))
		if (strspn(p + 1, "0123456789") >= 10)
			return false;
	return true;
}

/* sysq stats: a summary to read on a terminal, JSON with --json (and
 * when piped), neither with float noise (before: JSON always, uptime_s
 * 0.99913812800000001). */
Test(cli, stats_is_a_summary_on_a_terminal)
{
	struct run r = sysq_on_a_pty(ARGS("stats"));
	cr_assert_eq(r.status, 0, "%s", r.out);
	cr_assert(!strchr(r.out, '{') && !strchr(r.out, '"'), "JSON on a terminal:\n%s", r.out);
	cr_assert(strstr(r.out, "uptime") && strstr(r.out, "connections") &&
	          strstr(r.out, "max_output_bytes"), "%s", r.out);
	cr_assert(no_float_noise(r.out), "%s", r.out);
	run_free(&r);
	r = sysq_on_a_pty(ARGS("stats", "--json"));
	cr_assert_eq(r.status, 0);
	cr_assert(json_ok(r.out, "d['uptime_s'] >= 0 and 'limits' in d"), "%s", r.out);
	cr_assert(no_float_noise(r.out), "%s", r.out);
	run_free(&r);
	r = sysq_at(ARGS("stats"));
	cr_assert_eq(r.status, 0);
	cr_assert(json_ok(r.out, "'uptime_s' in d"), "piped: JSON as before: %s", r.out);
	cr_assert(no_float_noise(r.out), "%s", r.out);
	run_free(&r);
}

/* sysq get to a terminal: binary output refused unless asked for with
 * -o - (as curl); text goes through. */
Test(cli, get_to_a_terminal_refuses_binary_output)
{
	char text[128];
	snprintf(text, sizeof(text), "%s/notes.txt", d.dir);
	FILE *f = fopen(text, "w");
	cr_assert_not_null(f);
	fputs("plain text\n", f);
	fclose(f);
	chmod(text, 0644);
	struct run r = sysq_on_a_pty(ARGS("get", "/bin/sh"));
	cr_assert_eq(r.status, 2, "%d %s", r.status, r.out);
	cr_assert(strstr(r.out, "Binary output can mess up your terminal") &&
	          strstr(r.out, "--output -"), "%s", r.out);
	run_free(&r);
	r = sysq_on_a_pty(ARGS("get", "/bin/sh", "--length", "4", "-o", "-"));
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.out);
	cr_assert(strstr(r.out, "\x7f" "ELF"), "%s", r.out);
	run_free(&r);
	r = sysq_on_a_pty(ARGS("get", text));
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.out);
	cr_assert(strstr(r.out, "plain text\n"), "%s", r.out); /* and the progress bar */
	run_free(&r);
}
#endif

/* sysq get -o DIR writes DIR/<basename of PATH>, as curl -O names it
 * (before: EISDIR). */
Test(cli, get_into_a_directory_writes_its_basename)
{
	char src[128], dir[128], dst[192];
	snprintf(src, sizeof(src), "%s/report.txt", d.dir);
	snprintf(dir, sizeof(dir), "%s/into", d.dir);
	snprintf(dst, sizeof(dst), "%s/report.txt", dir);
	FILE *f = fopen(src, "w");
	cr_assert_not_null(f);
	fputs("twelve bytes", f);
	fclose(f);
	chmod(src, 0644);
	cr_assert_eq(mkdir(dir, 0755), 0);
	struct run r = sysq_at(ARGS("get", src, "-o", dir));
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	char *got = slurp(dst);
	cr_assert_str_eq(got, "twelve bytes");
	free(got);
	run_free(&r);
	unlink(dst);
	rmdir(dir);
	unlink(src);
}

/* ---- sysq net IFACE -------------------------------------------------------------------------- */

/* sysq net IFACE: that interface alone, with -s too, in --json as well; one
 * that does not exist is an ENODEV error, exit 1 (before: a usage error). */
Test(cli, net_iface_shows_that_interface_alone)
{
	const char *const *const forms[] = {
		ARGS("net", "lo"), ARGS("net", "-s", "lo"), ARGS("net", "lo", "-s"),
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct run r = sysq_at(forms[i]);
		cr_assert_eq(r.status, 0, "form %zu: %d %s", i, r.status, r.err);
		cr_assert(strncmp(r.out, "NAME ", 5) == 0, "form %zu: no header: %s", i, r.out);
		const char *row = strchr(r.out, '\n');
		cr_assert(row && strncmp(row + 1, "lo ", 3) == 0, "form %zu: %s", i, r.out);
		cr_assert(strchr(row + 1, '\n') && strchr(row + 1, '\n')[1] == '\0',
		          "form %zu: more than one interface: %s", i, r.out);
		if (i > 0)
			cr_assert(strstr(r.out, "RX-BYTES"), "-s: no counters: %s", r.out);
		run_free(&r);
	}
	struct run r = sysq_at(ARGS("--json", "net", "lo"));
	cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
	cr_assert(json_ok(r.out, "len(d['interfaces']) == 1 and d['interfaces'][0]['name'] == 'lo'"),
	          "%s", r.out);
	run_free(&r);

	r = sysq_at(ARGS("net", "nosuchif0"));
	cr_assert_eq(r.status, 1, "%d %s", r.status, r.err);
	cr_assert(strstr(r.err, "ENODEV") && strstr(r.err, "nosuchif0"), "%s", r.err);
	cr_assert_str_empty(r.out);
	run_free(&r);
	r = sysq_at(ARGS("net", "-s", "nosuchif0"));
	cr_assert_eq(r.status, 1, "%d %s", r.status, r.err);
	run_free(&r);

	/* one interface at most; unknown options stay usage errors */
	r = sysq_at(ARGS("net", "lo", "lo"));
	cr_assert_eq(r.status, 2, "%d %s", r.status, r.err);
	run_free(&r);
	r = sysq_at(ARGS("net", "-x"));
	cr_assert_eq(r.status, 2, "%d %s", r.status, r.err);
	run_free(&r);
}

/* ---- shell completion ------------------------------------------------------------------------ */

/* What bash completes for the command line words (the last one being
 * completed; words[0] the sysq binary), by the function that
 * completions/sysq.bash registers with `complete -F` (no bash-completion
 * package needed); SYSQ_SOCKET names our daemon.  One candidate a line,
 * wrapped in newlines ("\nps\nping\n") for strstr. */
static char *bash_complete(const char *const *words)
{
	const char *top = getenv("SQ_TOP"), *bin = getenv("SQ_SYSQ");
	cr_assert(top && bin, "SQ_TOP and SQ_SYSQ come from tests/run-all.sh");
	static const char script[] =
		"top=$1; shift\n"
		"source \"$top/completions/sysq.bash\" || exit 99\n"
		"f=$(complete -p sysq 2>/dev/null | sed -n 's/.*-F \\([^ ]*\\) .*/\\1/p')\n"
		"[ -n \"$f\" ] || { echo 'no complete -F ... sysq' >&2; exit 98; }\n"
		"COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1))\n"
		"COMP_LINE=\"$*\"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()\n"
		"prev=; [ $COMP_CWORD -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
		"\"$f\" sysq \"${COMP_WORDS[COMP_CWORD]}\" \"$prev\" || exit 97\n"
		"echo; printf '%s\\n' \"${COMPREPLY[@]}\"\n";
	char fo[128], fe[128], sockenv[160];
	snprintf(fo, sizeof(fo), "%s/compl.out", d.dir);
	snprintf(fe, sizeof(fe), "%s/compl.err", d.dir);
	snprintf(sockenv, sizeof(sockenv), "SYSQ_SOCKET=%s", d.sock);
	const char *argv[24];
	int n = 0;
	argv[n++] = "bash";
	argv[n++] = "--norc";
	argv[n++] = "-c";
	argv[n++] = script;
	argv[n++] = "bash";
	argv[n++] = top;
	argv[n++] = bin;
	for (int i = 0; words[i] && n < 23; i++)
		argv[n++] = words[i];
	argv[n] = NULL;
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fi = open("/dev/null", O_RDONLY);
		int o = open(fo, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(fe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fi < 0 || o < 0 || e < 0)
			_exit(126);
		dup2(fi, 0);
		dup2(o, 1);
		dup2(e, 2);
		putenv(sockenv);
		die_with_parent();
		execvp("bash", (char *const *)argv);
		_exit(127);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	char *out = slurp(fo), *err = slurp(fe);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "completing '%s': status %d: %s",
	          words[0], st, err);
	free(err);
	unlink(fo);
	unlink(fe);
	return out;
}

static void offers(const char *const *words, const char *word, bool yes)
{
	char *got = bash_complete(words), want[96];
	snprintf(want, sizeof(want), "\n%s\n", word);
	int n = 0;
	for (int i = 0; words[i]; i++)
		n = i;
	cr_assert(!strstr(got, want) == !yes, "sysq ... '%s'<TAB> %s %s; it offers:%s", words[n],
	          yes ? "lacks" : "offers", word, got);
	free(got);
}

/* completions/sysq.bash completes commands (every one sysq --help lists),
 * their options (from sysq CMD --help), interfaces for net and mtu and
 * methods for call and methods (asked of the daemon); completions/_sysq is
 * zsh that zsh -n accepts, when there is a zsh. */
Test(cli, shell_completion_offers_commands_options_interfaces_methods)
{
	offers(ARGS("p"), "ps", true);
	offers(ARGS("p"), "ping", true);
	offers(ARGS("p"), "kill", false);
	offers(ARGS("-s", d.sock, "p"), "ps", true);

	/* the whole list is the one sysq --help shows */
	struct run top = sysq_run(ARGS("--help"), NULL, -1);
	cr_assert_eq(top.status, 0);
	char *all = bash_complete(ARGS(""));
	const char *l = strstr(top.out, "\ncommands:\n");
	cr_assert_not_null(l, "%s", top.out);
	int listed = 0;
	for (l += 11; *l; l = strchr(l, '\n') + 1) {
		char name[32];
		if (*l == '\n')
			break;
		if (l[0] == ' ' && l[1] == ' ' && l[2] >= 'a' && l[2] <= 'z' &&
		    sscanf(l + 2, "%31[a-z]", name) == 1) {
			char want[40];
			snprintf(want, sizeof(want), "\n%s\n", name);
			cr_assert(strstr(all, want), "sysq <TAB> lacks %s:%s", name, all);
			listed++;
		}
		if (!strchr(l, '\n'))
			break;
	}
	int offered = 0;
	for (const char *p = all + 1; (p = strchr(p, '\n')); p++)
		offered++;
	cr_assert_eq(offered, listed, "sysq <TAB> offers %d words, sysq --help lists %d commands:%s",
	             offered, listed, all);
	free(all);
	run_free(&top);

	offers(ARGS("-"), "--socket", true);
	offers(ARGS("-"), "--json", true);
	offers(ARGS("df", "-"), "--timeout", true);
	offers(ARGS("df", "-"), "-T", true);
	offers(ARGS("ps", "--s"), "--sort", true);
	offers(ARGS("net", "-"), "-s", true);

	offers(ARGS("mtu", ""), "lo", true);
	offers(ARGS("net", ""), "lo", true);
	offers(ARGS("net", ""), "NAME", false);
	offers(ARGS("call", "sys."), "sys.ping", true);
	offers(ARGS("call", "sys."), "net.list", false);
	offers(ARGS("methods", "sys.p"), "sys.ping", true);

	const char *topdir = getenv("SQ_TOP");
	char path[512], cmd[600];
	snprintf(path, sizeof(path), "%s/completions/_sysq", topdir);
	char *z = slurp(path);
	cr_assert(z && strncmp(z, "#compdef sysq", 13) == 0, "completions/_sysq: %s",
	          z ? z : "missing");
	free(z);
	if (system("command -v zsh >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof(cmd), "zsh -n '%s'", path);
		cr_assert_eq(system(cmd), 0, "zsh -n %s", path);
	}
}
