/* SPDX-License-Identifier: ISC */
/*
 * test_lifecycle.c - sysqd's life around its socket: a stale socket file is
 * replaced, a live one (or a path that is not a socket) is refused and left
 * alone, SIGTERM/SIGINT answer what is in flight, remove the socket and exit
 * 0, --help/--version/bad options, the default socket of a user who is
 * not root ($XDG_RUNTIME_DIR/sysq/sysqd.sock, run as uid 65534), and the
 * working directory: "/" whatever directory sysqd starts in, relative -s and
 * -p paths meaning what they meant there.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "kids.h"
#include "rawio.h"
#include "sq_os.h"

/* ---- processes this file starts itself (not through sqd_start): kids.h,
 * killed in fini ------------------------------------------------------------ */

static struct sqd d;              /* the harness's daemon, when a test uses one */
static char tmpdir[64];           /* removed in fini */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void cleanup(void)
{
	kid_reap_all();
	if (d.pid > 0)
		sqd_stop_clean(&d);
	if (tmpdir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
		tmpdir[0] = '\0';
	}
}

TestSuite(lifecycle, .fini = cleanup, .timeout = 60);

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sysq-life.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	cr_assert_eq(chmod(tmpdir, 0755), 0);
}

static void in_tmp(char *buf, size_t size, const char *rel)
{
	int n = snprintf(buf, size, "%s/%s", tmpdir, rel);
	cr_assert(n > 0 && (size_t)n < size);
}

struct sysqd_kid {
	const char *const *argv;
	int uid;
	const char *const *env;
	const char *out, *err;
};

/* In the child of spawn: files, environment and uid, then exec. */
static void exec_sysqd(void *arg)
{
	const struct sysqd_kid *k = arg;
	int fo = open(k->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int fe = open(k->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fo < 0 || fe < 0)
		_exit(126);
	dup2(fo, 1);
	dup2(fe, 2);
	for (int i = 0; k->env && k->env[i]; i++) {
		if (k->env[i][0] == '-')
			unsetenv(k->env[i] + 1);
		else
			putenv((char *)k->env[i]);
	}
	if (k->uid >= 0 && (setgroups(0, NULL) < 0 || setgid((gid_t)k->uid) < 0 ||
	                    setuid((uid_t)k->uid) < 0))
		_exit(125);
	die_with_parent(); /* after setuid, which would clear it */
	execv(k->argv[0], (char *const *)k->argv);
	_exit(127);
}

/* Start sysqd with args; stdout and stderr to files; as uid (< 0: us), with
 * env entries "NAME=value" set or "-NAME" removed.  Returns once it has
 * exec'd (or exited). */
static pid_t spawn(const char *const *args, int uid, const char *const *env,
                   const char *out, const char *err)
{
	const char *bin = getenv("SQ_SYSQD");
	cr_assert(bin, "SQ_SYSQD must name the sysqd binary");
	const char *argv[16];
	int n = 0;
	argv[n++] = bin;
	for (int i = 0; args && args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct sysqd_kid k = { argv, uid, env, out, err };
	return kid_spawn(exec_sysqd, &k);
}

/* Exit status (or 128 + signal); kills it after 20 s. */
static int wait_exit(pid_t pid)
{
	int st = 0;
	for (int i = 0; i < 2000; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			kid_forget(pid);
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	kid_forget(pid);
	cr_assert_fail("sysqd %d did not exit within 20 s", (int)pid);
	return -1;
}

static int try_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait until path accepts connections; false if pid exited first. */
static bool wait_listening(const char *path, pid_t pid)
{
	for (int i = 0; i < 1000; i++) {
		int fd = try_connect(path);
		if (fd >= 0) {
			close(fd);
			return true;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			kid_forget(pid);
			return false;
		}
		sleep_ms(10);
	}
	return false;
}

static void ping_at(const char *path)
{
	char err[256];
	struct sysq *c = sysq_connect(path, err, sizeof(err));
	cr_assert(c, "%s", err);
	struct sysq_reply r;
	cr_assert_eq(sysq_call0(c, "sys.ping", &r), 0, "%s", r.message);
	cr_assert(sq_obj_streq(r.result, "pong"));
	sysq_reply_free(&r);
	sysq_close(c);
}

/* Run sysqd to completion; returns its exit status, stdout and stderr. */
static int run_sysqd(const char *const *args, char **out, char **err)
{
	char fo[128], fe[128];
	in_tmp(fo, sizeof(fo), "run.out");
	in_tmp(fe, sizeof(fe), "run.err");
	int st = wait_exit(spawn(args, -1, NULL, fo, fe));
	*out = slurp(fo);
	*err = slurp(fe);
	return st;
}

/* ---- the socket path ---------------------------------------------------------------- */

Test(lifecycle, a_stale_socket_file_is_replaced)
{
	make_tmpdir();
	char sock[108], out[128], err[128];
	in_tmp(sock, sizeof(sock), "stale.sock");
	in_tmp(out, sizeof(out), "out");
	in_tmp(err, sizeof(err), "err");
	/* a socket file whose listener is gone */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	struct stat st;
	cr_assert_eq(lstat(sock, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_lt(try_connect(sock), 0, "the stale socket should refuse connections");

	const char *const args[] = { "-s", sock, "-v", NULL };
	pid_t pid = spawn(args, -1, NULL, out, err);
	cr_assert(wait_listening(sock, pid), "sysqd did not take over a stale socket: %s",
	          slurp(err));
	ping_at(sock);
	cr_assert_eq(lstat(sock, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0666, "any local user may connect: mode %o",
	             st.st_mode & 0777);
	kill(pid, SIGTERM);
	cr_assert_eq(wait_exit(pid), 0);
	cr_assert_neq(lstat(sock, &st), 0, "the socket outlived the daemon");
	char *log = slurp(err);
	cr_assert(strstr(log, "stale"), "the log does not say it replaced a stale socket:\n%s", log);
	free(log);
}

Test(lifecycle, a_second_daemon_refuses_a_live_socket)
{
	sqd_start(&d, NULL);
	make_tmpdir();
	struct stat before, after;
	cr_assert_eq(lstat(d.sock, &before), 0);
	char *out, *err;
	const char *const args[] = { "-s", d.sock, NULL };
	int st = run_sysqd(args, &out, &err);
	cr_assert_neq(st, 0, "a second sysqd started on a live socket");
	cr_assert_lt(st, 128, "it crashed: status %d", st);
	cr_assert(strstr(err, "already listening"), "not a clear message: %s", err);
	cr_assert(strstr(err, d.sock), "the message does not name the socket: %s", err);
	free(out);
	free(err);
	/* the first one never noticed */
	cr_assert_eq(lstat(d.sock, &after), 0);
	cr_assert_eq(before.st_ino, after.st_ino, "the socket file was replaced");
	ping_at(d.sock);
	assert_alive(&d);
}

Test(lifecycle, a_path_that_is_not_a_socket_is_left_alone)
{
	make_tmpdir();
	char file[108], dir[108], link[108], sock[108];
	in_tmp(file, sizeof(file), "precious.txt");
	in_tmp(dir, sizeof(dir), "adir");
	in_tmp(link, sizeof(link), "link.sock");
	in_tmp(sock, sizeof(sock), "target.sock");
	FILE *f = fopen(file, "w");
	cr_assert_not_null(f);
	fputs("do not delete me\n", f);
	fclose(f);
	cr_assert_eq(mkdir(dir, 0755), 0);
	/* a symlink to a (stale) socket: lstat sees a link, not a socket */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	cr_assert_eq(symlink(sock, link), 0);

	const char *paths[] = { file, dir, link };
	for (size_t i = 0; i < 3; i++) {
		char *out, *err;
		const char *const args[] = { "-s", paths[i], NULL };
		int st = run_sysqd(args, &out, &err);
		cr_assert_neq(st, 0, "sysqd took %s", paths[i]);
		cr_assert_lt(st, 128, "it crashed: status %d", st);
		cr_assert(strstr(err, paths[i]) && strstr(err, "not a socket"),
		          "no clear message for %s: %s", paths[i], err);
		free(out);
		free(err);
	}
	char *text = slurp(file);
	cr_assert_str_eq(text, "do not delete me\n");
	free(text);
	struct stat st;
	cr_assert_eq(lstat(dir, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the symlink was replaced");
	cr_assert_eq(lstat(sock, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode), "the link's target was touched");
}

/* ---- stopping ---------------------------------------------------------------------- */

/* Pipeline N sys.stats (max 2 in flight), signal once one is answered, then
 * check: replies to a prefix of the requests, none an error, then EOF;
 * exit 0; no socket file. */
static void stop_with(int signum)
{
	static const char *const args[] = { "--max-inflight", "2", NULL };
	sqd_start(&d, args);
	struct sysq *idle = sqd_connect(&d);
	struct sysq *c = sqd_connect(&d);
	enum { N = 2000 };
	static bool seen[N];
	uint32_t first = 0;
	for (int i = 0; i < N; i++) {
		uint32_t id;
		msgpack_pack_array(sysq_begin(c, "sys.stats", &id), 0);
		if (i == 0)
			first = id;
	}
	cr_assert_eq(sysq_flush(c), 0);
	int got = 0;
	struct sysq_reply r;
	cr_assert_eq(sysq_read(c, &r), 0);
	cr_assert_not(r.is_error);
	seen[r.msgid - first] = true;
	got++;
	sysq_reply_free(&r);
	cr_assert_eq(kill(d.pid, signum), 0);
	int rc;
	while ((rc = sysq_read(c, &r)) == 0) {
		cr_assert_eq(r.type, SQ_MSG_RESPONSE, "a notification while stopping: %s", r.method);
		cr_assert_not(r.is_error, "msgid %u failed while stopping: %s %s", r.msgid, r.code,
		              r.message);
		uint32_t k = r.msgid - first;
		cr_assert_lt(k, N);
		cr_assert_not(seen[k]);
		seen[k] = true;
		got++;
		sysq_reply_free(&r);
	}
	cr_assert_eq(rc, -ECONNRESET, "the connection ended with %s, not a close", strerror(-rc));
	for (int i = 0; i < got; i++)
		cr_assert(seen[i], "msgid %u was not answered but %u was: dropped in flight",
		          first + (uint32_t)i, first + (uint32_t)got - 1);
	/* the idle connection is closed too */
	cr_assert_eq(sysq_read(idle, &r), -ECONNRESET);
	sysq_close(c);
	sysq_close(idle);
	int st = wait_exit(d.pid); /* no second signal: that one would be fatal */
	d.pid = 0;
	char *log = slurp(d.log);
	cr_assert_eq(st, 0, "exit status %d after signal %d; log:\n%s", st, signum, log);
	free(log);
	struct stat sb;
	cr_assert_neq(lstat(d.sock, &sb), 0, "the socket file is still there");
	cr_assert_eq(errno, ENOENT);
	unlink(d.log);
	rmdir(d.dir);
}

Test(lifecycle, sigterm_answers_in_flight_removes_the_socket_and_exits_0)
{
	stop_with(SIGTERM);
}

Test(lifecycle, sigint_does_the_same)
{
	stop_with(SIGINT);
}

Test(lifecycle, sighup_does_not_stop_it)
{
	sqd_start(&d, NULL);
	struct sysq *c = sqd_connect(&d);
	cr_assert_eq(kill(d.pid, SIGHUP), 0);
	struct sysq_reply r;
	for (int i = 0; i < 20; i++) {
		cr_assert_eq(sysq_call0(c, "sys.ping", &r), 0, "after SIGHUP: %s", r.message);
		sysq_reply_free(&r);
	}
	sysq_close(c);
	assert_alive(&d);
}

Test(lifecycle, a_signal_as_soon_as_it_listens_is_still_a_clean_stop)
{
	/* a supervisor may signal the moment the socket answers: the handlers
	 * must be in place by then, or SIGTERM kills it and the socket stays */
	make_tmpdir();
	char sock[108], out[128], err[128];
	in_tmp(sock, sizeof(sock), "early.sock");
	in_tmp(out, sizeof(out), "out");
	in_tmp(err, sizeof(err), "err");
	const char *const args[] = { "-s", sock, NULL };
	static const int sigs[] = { SIGTERM, SIGHUP, SIGINT };
	/* 30 rounds, or fewer when each start is slow (valgrind): a budget for
	 * the test's length, not a claim about the daemon's speed */
	time_t budget = time(NULL) + 20;
	for (int round = 0; round < 30 && (round < 3 || time(NULL) < budget); round++) {
		int sig = sigs[round % 3];
		pid_t pid = spawn(args, -1, NULL, out, err);
		time_t deadline = time(NULL) + 20;
		int fd = -1;
		for (long i = 0; fd < 0; i++) { /* no sleep: catch it early */
			fd = try_connect(sock);
			if (fd >= 0 || i % 1000 != 999)
				continue;
			if (waitpid(pid, NULL, WNOHANG) == pid)
				cr_assert_fail("sysqd exited at start: %s", slurp(err));
			cr_assert_lt(time(NULL), deadline, "sysqd never listened");
			sched_yield(); /* let it run on a busy machine */
		}
		kill(pid, sig);
		close(fd);
		if (sig == SIGHUP) { /* not a stop: it must go on serving */
			ping_at(sock);
			kill(pid, SIGTERM);
		}
		int st = wait_exit(pid);
		cr_assert_eq(st, 0, "round %d, signal %d right after listen: status %d\n%s", round,
		             sig, st, slurp(err));
		struct stat sb;
		cr_assert_neq(lstat(sock, &sb), 0, "round %d: the socket file was left behind", round);
	}
}

/* ---- the working directory ------------------------------------------------------------ */

/* tmpdir/locked (0700) / start (0755) / secret (0644) and policy.conf: uid
 * 65534 cannot reach start/secret by its path; returns start in buf. */
static void make_start_dir(char *start, size_t size)
{
	char locked[108], file[160];
	make_tmpdir();
	in_tmp(locked, sizeof(locked), "locked");
	cr_assert_eq(mkdir(locked, 0700), 0);
	in_tmp(start, size, "locked/start");
	cr_assert_eq(mkdir(start, 0755), 0);
	snprintf(file, sizeof(file), "%s/secret", start);
	FILE *f = fopen(file, "w");
	cr_assert_not_null(f);
	fputs("only root may read this\n", f);
	fclose(f);
	cr_assert_eq(chmod(file, 0644), 0);
	snprintf(file, sizeof(file), "%s/policy.conf", start);
	f = fopen(file, "w");
	cr_assert_not_null(f);
	fputs("deny sys.uname everyone\n", f);
	fclose(f);
}

struct through_cwd {
	const char *sock;
	pid_t sysqd;
};

/* As uid 65534: fs.stat of start/secret through sysqd's cwd link must fail
 * (0), while the same path is out of reach directly (else 2). */
static int stat_through_cwd(void *arg)
{
	const struct through_cwd *t = arg;
	char err[256], js[128], direct[64];
	snprintf(direct, sizeof(direct), "/proc/%d/cwd/secret", (int)t->sysqd);
	struct sysq *c = sysq_connect(t->sock, err, sizeof(err));
	if (!c)
		return 10;
	struct sysq_reply r;
	snprintf(js, sizeof(js), "{\"path\": \"%s\"}", direct);
	int rc = sq_call(c, "fs.stat", js, &r);
	sysq_reply_free(&r);
	sysq_close(c);
	return rc == SYSQ_REMOTE_ERROR ? 0 : 1;
}

Test(lifecycle, it_works_from_slash_whatever_directory_it_starts_in)
{
	SKIP_UNLESS_ROOT(); /* a directory uid 65534 cannot reach, and run_as */
	char start[108], sock[108], out[128], err[128], cwd[PATH_MAX];
	make_start_dir(start, sizeof(start));
	in_tmp(sock, sizeof(sock), "cwd.sock");
	in_tmp(out, sizeof(out), "out");
	in_tmp(err, sizeof(err), "err");
	cr_assert_eq(chdir(start), 0, "chdir %s: %s", start, strerror(errno));
	const char *const args[] = { "-s", sock, "-p", "policy.conf", NULL };
	pid_t pid = spawn(args, -1, NULL, out, err);
	cr_assert(wait_listening(sock, pid), "sysqd did not start: %s", slurp(err));
	cr_assert_eq(chdir("/"), 0);

	char link[64];
	snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
	ssize_t n = readlink(link, cwd, sizeof(cwd) - 1);
	cr_assert_gt(n, 0, "readlink %s: %s", link, strerror(errno));
	cwd[n] = '\0';
	cr_assert_str_eq(cwd, "/", "sysqd works in %s, not /", cwd);

	struct through_cwd t = { sock, pid };
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, stat_through_cwd, &t), 0,
	             "uid 65534 reached %s/secret through /proc/%d/cwd", start, (int)pid);

	/* the relative policy path still names start/policy.conf, on SIGHUP too */
	char abs_policy[160], want[200];
	snprintf(abs_policy, sizeof(abs_policy), "%s/policy.conf", start);
	snprintf(want, sizeof(want), "policy reloaded from %s (1 rules)", abs_policy);
	kill(pid, SIGHUP);
	bool reloaded = false;
	for (int i = 0; i < 1000 && !reloaded; i++) {
		char *log = slurp(err);
		reloaded = strstr(log, want) != NULL;
		free(log);
		if (!reloaded)
			sleep_ms(10);
	}
	cr_assert(reloaded, "no '%s' in the log:\n%s", want, slurp(err));
	kill(pid, SIGTERM);
	cr_assert_eq(wait_exit(pid), 0, "%s", slurp(err));
}

Test(lifecycle, a_relative_socket_path_is_made_absolute_before_leaving_the_start_dir)
{
	char sock[108], out[128], err[128];
	make_tmpdir();
	in_tmp(sock, sizeof(sock), "rel.sock");
	in_tmp(out, sizeof(out), "out");
	in_tmp(err, sizeof(err), "err");
	cr_assert_eq(chdir(tmpdir), 0);
	const char *const args[] = { "-s", "rel.sock", NULL };
	pid_t pid = spawn(args, -1, NULL, out, err);
	cr_assert_eq(chdir("/"), 0);
	cr_assert(wait_listening(sock, pid), "sysqd does not listen on %s: %s", sock,
	          slurp(err));
	ping_at(sock);
	kill(pid, SIGTERM);
	cr_assert_eq(wait_exit(pid), 0, "%s", slurp(err));
	struct stat sb;
	cr_assert_neq(lstat(sock, &sb), 0, "the socket file was left behind");
}

/* ---- the command line ----------------------------------------------------------------- */

Test(lifecycle, help_and_version_exit_0)
{
	make_tmpdir();
	static const char *const help[][2] = { { "--help", NULL }, { "-h", NULL } };
	for (size_t i = 0; i < 2; i++) {
		char *out, *err;
		int st = run_sysqd(help[i], &out, &err);
		cr_assert_eq(st, 0, "%s: status %d", help[i][0], st);
		cr_assert(strstr(out, "usage: sysqd"), "%s printed: %s", help[i][0], out);
		cr_assert(strstr(out, "--socket") && strstr(out, "--max-connections"));
		/* the default socket as lib/paths.c picks it, fallback included */
		cr_expect(strstr(out, sq_system_socket_path()), "%s: no system socket: %s",
		          help[i][0], out);
		cr_expect(strstr(out, "$XDG_RUNTIME_DIR/sysq/sysqd.sock") &&
		          strstr(out, "/tmp/sysq-UID/sysqd.sock"),
		          "%s: the per-user socket and its fallback: %s", help[i][0], out);
		free(out);
		free(err);
	}
	static const char *const ver[][2] = { { "--version", NULL }, { "-V", NULL } };
	for (size_t i = 0; i < 2; i++) {
		char *out, *err;
		int st = run_sysqd(ver[i], &out, &err);
		cr_assert_eq(st, 0, "%s: status %d", ver[i][0], st);
		cr_assert_eq(strncmp(out, "sysqd ", 6), 0, "%s printed: %s", ver[i][0], out);
		cr_assert(strstr(out, "protocol"), "%s", out);
		free(out);
		free(err);
	}
}

Test(lifecycle, bad_options_exit_2_and_create_nothing)
{
	make_tmpdir();
	char sock[108], longp[300];
	in_tmp(sock, sizeof(sock), "never.sock");
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	const char *const cases[][5] = {
		{ "-s", sock, "--bogus", NULL },
		{ "-s", sock, "-x", NULL },
		{ "-s", sock, "extra-argument", NULL },
		{ "-s", sock, "--max-connections", "0", NULL },
		{ "-s", sock, "--max-connections", "abc", NULL },
		{ "-s", sock, "--max-connections", "-1", NULL },
		{ "-s", sock, "--max-inflight", "99999999", NULL },
		{ "-s", sock, "--max-message", "1", NULL },
		{ "-s", sock, "--max-message", "12k", NULL },
		{ "-s", sock, "--max-output", "", NULL },
		{ "-s", sock, "--max-output", NULL },
		{ "-s", longp, NULL },
		{ "-s", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out, *err;
		int st = run_sysqd(cases[i], &out, &err);
		cr_assert_eq(st, 2, "case %zu (%s %s): status %d\n%s", i, cases[i][2] ? cases[i][2] : "",
		             cases[i][3] ? cases[i][3] : "", st, err);
		cr_assert(err[0], "case %zu: nothing on stderr", i);
		free(out);
		free(err);
		struct stat sb;
		cr_assert_neq(lstat(sock, &sb), 0, "case %zu created the socket", i);
	}
}

/* ---- default socket path for a user ---------------------------------------------------- */

static int hello_as_nobody(void *arg)
{
	const char *path = arg;
	char err[256];
	struct sysq *c = sysq_connect(path, err, sizeof(err));
	if (!c)
		return 10;
	struct sysq_reply r;
	if (sysq_call0(c, "sys.hello", &r) != 0)
		return 11;
	const msgpack_object *peer = sq_map_get(r.result, "peer");
	int rc = peer && sq_map_get(peer, "uid")->via.u64 == NOBODY_UID ? 0 : 12;
	sysq_reply_free(&r);
	sysq_close(c);
	return rc;
}

Test(lifecycle, a_user_daemon_listens_under_xdg_runtime_dir)
{
	SKIP_UNLESS_ROOT();
	make_tmpdir();
	char xdg[108], env[140], sock[108], sdir[108], out[128], err[128];
	in_tmp(xdg, sizeof(xdg), "run-user");
	in_tmp(sdir, sizeof(sdir), "run-user/sysq");
	in_tmp(sock, sizeof(sock), "run-user/sysq/sysqd.sock");
	in_tmp(out, sizeof(out), "out");
	in_tmp(err, sizeof(err), "err");
	cr_assert_eq(mkdir(xdg, 0700), 0);
	cr_assert_eq(chown(xdg, NOBODY_UID, NOBODY_GID), 0);
	snprintf(env, sizeof(env), "XDG_RUNTIME_DIR=%s", xdg);
	const char *const envs[] = { env, "-SYSQ_SOCKET", NULL };
	const char *const args[] = { "-v", NULL };
	pid_t pid = spawn(args, NOBODY_UID, envs, out, err);
	cr_assert(wait_listening(sock, pid), "no sysqd at %s:\n%s", sock, slurp(err));

	struct stat st;
	cr_assert_eq(lstat(sdir, &st), 0);
	cr_assert_eq(st.st_uid, NOBODY_UID, "its directory is not the user's");
	cr_assert_eq(st.st_mode & 0777, 0700, "its directory is open: %o", st.st_mode & 0777);
	cr_assert_eq(lstat(sock, &st), 0);
	cr_assert_eq(st.st_uid, NOBODY_UID);
	ping_at(sock);
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, hello_as_nobody, sock), 0);
	char *log = slurp(err);
	cr_assert(strstr(log, sock) && strstr(log, "uid 65534"), "log:\n%s", log);
	free(log);

	kill(pid, SIGTERM);
	cr_assert_eq(wait_exit(pid), 0, "log:\n%s", slurp(err));
	cr_assert_neq(lstat(sock, &st), 0, "the socket outlived the daemon");
}

Test(lifecycle, a_user_daemon_refuses_a_socket_dir_it_does_not_own)
{
	SKIP_UNLESS_ROOT();
	make_tmpdir();
	char xdg[108], env[140], sdir[108], out[128], err[128];
	in_tmp(xdg, sizeof(xdg), "run-user");
	in_tmp(sdir, sizeof(sdir), "run-user/sysq");
	in_tmp(out, sizeof(out), "out");
	in_tmp(err, sizeof(err), "err");
	cr_assert_eq(mkdir(xdg, 0755), 0);
	cr_assert_eq(mkdir(sdir, 0777), 0); /* root's, though anyone could write in it */
	cr_assert_eq(chmod(sdir, 0777), 0);
	snprintf(env, sizeof(env), "XDG_RUNTIME_DIR=%s", xdg);
	const char *const envs[] = { env, NULL };
	pid_t pid = spawn(NULL, NOBODY_UID, envs, out, err);
	int st = wait_exit(pid);
	char *log = slurp(err);
	cr_assert_eq(st, 1, "status %d; log:\n%s", st, log);
	cr_assert(strstr(log, sdir), "the message does not name the directory:\n%s", log);
	free(log);
	char sock[108];
	in_tmp(sock, sizeof(sock), "run-user/sysq/sysqd.sock");
	struct stat sb;
	cr_assert_neq(lstat(sock, &sb), 0, "it listened in a directory it does not own");
}
