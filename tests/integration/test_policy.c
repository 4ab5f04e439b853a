/* SPDX-License-Identifier: ISC */
/*
 * test_policy.c - the policy file: deny rules refuse with EPERM naming the
 * line, sys.hello lists only what the peer may call, a bad file stops the
 * daemon at start with a line-numbered error, and SIGHUP swaps the policy
 * without dropping connections (keeping the old one when the new is bad).
 * What is not a policy is refused as one: a NUL byte, an over-long line or
 * file (FILE:LINE errors), /dev/zero (unread), a FIFO (without blocking).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "policy.h"  /* SQ_POLICY_MAX_BYTES, SQ_POLICY_MAX_LINE */
#include "sq_proto.h"

static char policy[64];

static void write_policy(const char *text)
{
	char tmp[80];
	snprintf(tmp, sizeof(tmp), "%s.new", policy);
	FILE *f = fopen(tmp, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(rename(tmp, policy), 0);
}

static void make_policy(const char *text)
{
	snprintf(policy, sizeof(policy), "/tmp/sysq-policy.XXXXXX");
	int fd = mkstemp(policy);
	cr_assert(fd >= 0);
	close(fd);
	chmod(policy, 0644);
	write_policy(text);
}

static int uname_as_nobody(void *arg)
{
	const struct sqd *d = arg;
	char err[256];
	struct sysq *c = sysq_connect(d->sock, err, sizeof(err));
	if (!c)
		return 10;
	struct sysq_reply r;
	int rc = sysq_call0(c, "sys.uname", &r);
	int out = rc == 0 ? 0 : (rc == SYSQ_REMOTE_ERROR && strcmp(r.code, "EPERM") == 0 &&
	                         strstr(r.message, "policy") && strstr(r.message, "line 2"))
	                            ? 1 : 20;
	sysq_reply_free(&r);
	/* hello must not offer what the policy denies */
	if (sysq_call0(c, "sys.hello", &r) != 0)
		return 30;
	const msgpack_object *ms = sq_map_get(r.result, "methods");
	for (uint32_t i = 0; i < ms->via.array.size; i++)
		if (sq_obj_streq(&ms->via.array.ptr[i], "sys.uname") && out == 1)
			return 31;
	sysq_reply_free(&r);
	sysq_close(c);
	return out;
}

Test(policy, deny_rule_refuses_the_named_user_only, .timeout = 60)
{
	SKIP_UNLESS_ROOT();
	make_policy("# only nobody is refused\ndeny sys.uname user nobody\n");
	struct sqd d;
	const char *args[] = { "--policy", policy, NULL };
	sqd_start(&d, args);
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, uname_as_nobody, &d), 1,
	             "nobody must get EPERM naming the policy line");
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.uname", NULL, &r), 0, "root is not denied");
	sysq_reply_free(&r);
	sysq_close(c);
	sqd_stop_clean(&d);
	unlink(policy);
}

Test(policy, sighup_reloads_without_dropping_connections, .timeout = 60)
{
	SKIP_UNLESS_ROOT();
	make_policy("\ndeny sys.uname everyone\n");
	struct sqd d;
	const char *args[] = { "--policy", policy, NULL };
	sqd_start(&d, args);
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.uname", NULL, &r), SYSQ_REMOTE_ERROR);
	cr_assert_str_eq(r.code, "EPERM");
	sysq_reply_free(&r);

	write_policy("# nothing denied now\n");
	kill(d.pid, SIGHUP);
	int ok = 0;
	for (int i = 0; i < 500 && !ok; i++) { /* wait for the reload, same connection */
		int rc = sq_call(c, "sys.uname", NULL, &r);
		ok = rc == 0;
		sysq_reply_free(&r);
		if (!ok)
			nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	cr_assert(ok, "the new policy must apply on the connection opened before SIGHUP");

	/* a broken file on SIGHUP: the policy in force stays */
	write_policy("deny sys.uname everyone\nthis is not a rule\n");
	kill(d.pid, SIGHUP);
	int logged = 0;
	for (int i = 0; i < 500 && !logged; i++) {
		char *log = slurp(d.log);
		logged = strstr(log, "keeping the policy in force") != NULL;
		free(log);
		if (!logged)
			nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	cr_assert(logged, "a bad reload is reported");
	cr_assert_eq(sq_call(c, "sys.uname", NULL, &r), 0, "old policy kept");
	sysq_reply_free(&r);
	sysq_close(c);
	sqd_stop_clean(&d);
	unlink(policy);
}

Test(policy, a_bad_file_stops_the_start_with_its_line_number, .timeout = 60)
{
	make_policy("allow sys.ping everyone\n\ndeny sys.ping user no-such-user-here\n");
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s -t --policy %s 2>&1", getenv("SQ_SYSQD"), policy);
	FILE *p = popen(cmd, "r");
	cr_assert(p);
	char out[1024] = "";
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	cr_assert_eq(WEXITSTATUS(st), 1, "exit status: %d, output: %s", st, out);
	cr_assert(strstr(out, ":3:"), "line number in: %s", out);
	cr_assert(strstr(out, "no-such-user-here"), "names the user: %s", out);
	unlink(policy);
}

/* ---- what is not a policy ------------------------------------------------ */

static void write_bytes(const char *text, size_t len)
{
	char tmp[80];
	snprintf(tmp, sizeof(tmp), "%s.new", policy);
	FILE *f = fopen(tmp, "w");
	cr_assert(f);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(rename(tmp, policy), 0);
}

static long rss_kib(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *text = slurp(path);
	const char *v = strstr(text, "VmRSS:");
	long kib = v ? strtol(v + 6, NULL, 10) : 0;
	free(text);
	return kib;
}

#define RSS_LIMIT_KIB (256L * 1024) /* far above sysqd -t, far below "gigabytes" */

/* `sysqd -t --policy path`: its exit status, its output in *out (malloc'd).
 * Bounded: killed when it grows past RSS_LIMIT_KIB (*grew set: what an
 * uncapped read of /dev/zero does) or lives 20 s (what a blocking open of a
 * FIFO does); a bound for the failure, not a timing. */
static int check_file(const char *path, char **out, bool *grew)
{
	char log[] = "/tmp/sysq-policy-out.XXXXXX";
	int fd = mkstemp(log);
	cr_assert_geq(fd, 0);
	*grew = false;
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		die_with_parent();
		dup2(fd, 1);
		dup2(fd, 2);
		alarm(20);
		execl(getenv("SQ_SYSQD"), "sysqd", "-t", "--policy", path, (char *)NULL);
		_exit(127);
	}
	close(fd);
	int st;
	while (waitpid(pid, &st, WNOHANG) != pid) {
		if (!*grew && rss_kib(pid) > RSS_LIMIT_KIB) {
			*grew = true;
			kill(pid, SIGKILL);
		}
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	}
	*out = slurp(log);
	unlink(log);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* sysqd -t on the policy file must say exactly "policy:LINE: ...what..." */
static void expect_error_at(int line, const char *what)
{
	char *out, want[128];
	bool grew;
	int st = check_file(policy, &out, &grew);
	snprintf(want, sizeof(want), "%s:%d: ", policy, line);
	cr_assert_eq(st, 1, "status %d, output: %s", st, out);
	cr_assert(strstr(out, want), "no '%s' in: %s", want, out);
	cr_assert(strstr(out, what), "no '%s' in: %s", what, out);
	free(out);
}

Test(policy, large_shares_can_be_allowed_not_denied, .timeout = 60)
{
	make_policy("# root's shares for the backup user\nallow large-shares user nobody\n"
	            "deny large-shares group nogroup\n");
	expect_error_at(3, "large-shares can only be allowed");
	unlink(policy);
}

Test(policy, a_nul_byte_is_an_error_naming_its_line, .timeout = 60)
{
	static const char text[] = "deny * user nobody\0\ndeny xattr.* everyone\n";
	make_policy("");
	write_bytes(text, sizeof(text) - 1);
	expect_error_at(1, "NUL");
	write_bytes("# fine\n\n   \0", 13);
	expect_error_at(3, "NUL");
	unlink(policy);
}

Test(policy, an_over_long_line_is_an_error_naming_its_line, .timeout = 60)
{
	/* a comment: harmless but for its length (one byte over the cap) */
	size_t n = SQ_POLICY_MAX_LINE + 1;
	char *text = malloc(n + 64);
	cr_assert(text);
	int at = sprintf(text, "deny sys.uname everyone\n");
	memset(text + at, '#', n);
	text[(size_t)at + n] = '\n';
	make_policy("");
	write_bytes(text, (size_t)at + n + 1);
	expect_error_at(2, "longer than 4096 bytes");

	/* at the cap exactly, it is a line like any other */
	write_bytes(text, (size_t)at + n - 1);
	char *out;
	bool grew;
	cr_assert_eq(check_file(policy, &out, &grew), 0, "%s", out);
	cr_assert(strstr(out, "OK, 1 rules"), "%s", out);
	free(out);
	free(text);
	unlink(policy);
}

Test(policy, an_over_long_file_is_an_error_naming_the_line_at_the_cap, .timeout = 60)
{
	/* 64-byte comment lines, one more than the cap holds, and a byte */
	static const char line[] =
		"# sixty-four bytes a line: the cap falls on line 16,385 .......\n";
	cr_assert_eq(sizeof(line) - 1, 64);
	size_t lines = SQ_POLICY_MAX_BYTES / 64 + 1;
	char *text = malloc(lines * 64);
	cr_assert(text);
	for (size_t i = 0; i < lines; i++)
		memcpy(text + i * 64, line, 64);
	make_policy("");
	write_bytes(text, SQ_POLICY_MAX_BYTES + 1);
	expect_error_at((int)(SQ_POLICY_MAX_BYTES / 64) + 1, "past 1048576 bytes");
	write_bytes(text, SQ_POLICY_MAX_BYTES); /* at the cap: fine */
	char *out;
	bool grew;
	cr_assert_eq(check_file(policy, &out, &grew), 0, "%s", out);
	cr_assert(strstr(out, "OK, 0 rules"), "%s", out);
	free(out);
	free(text);
	unlink(policy);
}

Test(policy, dev_zero_is_refused_unread, .timeout = 60)
{
	char *out;
	bool grew;
	int st = check_file("/dev/zero", &out, &grew);
	cr_assert_not(grew, "sysqd -t grew past %ld MiB reading /dev/zero", RSS_LIMIT_KIB / 1024);
	cr_assert_eq(st, 1, "status %d: %s", st, out);
	cr_assert(strstr(out, "/dev/zero: a character device, not a regular file"), "%s", out);
	free(out);
}

Test(policy, a_fifo_is_refused_without_blocking, .timeout = 60)
{
	char dir[] = "/tmp/sysq-fifo.XXXXXX", fifo[64];
	cr_assert(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/policy.conf", dir);
	cr_assert_eq(mkfifo(fifo, 0644), 0);
	char *out;
	bool grew;
	int st = check_file(fifo, &out, &grew);
	unlink(fifo);
	rmdir(dir);
	cr_assert_eq(st, 1, "status %d (%d: SIGALRM, blocked in open): %s", st, 128 + SIGALRM,
	             out);
	cr_assert(strstr(out, "a FIFO, not a regular file"), "%s", out);
	free(out);
}

Test(policy, a_valid_file_still_loads, .timeout = 60)
{
	make_policy("# two rules\nallow sys.ping everyone\t# a comment\n"
	            "deny sys.uname user nobody\r\n\n");
	char *out;
	bool grew;
	int st = check_file(policy, &out, &grew);
	cr_assert_eq(st, 0, "status %d: %s", st, out);
	char want[128];
	snprintf(want, sizeof(want), "%s: OK, 2 rules", policy);
	cr_assert(strstr(out, want), "no '%s' in: %s", want, out);
	free(out);
	unlink(policy);
}

static int count(const char *text, const char *what)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

/* SIGHUP, then wait until the log says the reload was refused for the
 * n-th time; false if it never does (the loop is stuck, or it took it). */
static bool hup_refused(const struct sqd *dd, int n)
{
	kill(dd->pid, SIGHUP);
	for (int i = 0; i < 1000; i++) {
		char *log = slurp(dd->log);
		int k = count(log, "keeping the policy in force");
		free(log);
		if (k >= n)
			return true;
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	return false;
}

static void expect_old_policy(struct sysq *c)
{
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.ping", NULL, &r), 0, "the loop answers: %s", r.message);
	sysq_reply_free(&r);
	cr_assert_eq(sq_call(c, "sys.uname", NULL, &r), SYSQ_REMOTE_ERROR, "old policy kept");
	cr_assert_str_eq(r.code, "EPERM");
	sysq_reply_free(&r);
}

Test(policy, sighup_on_a_nul_byte_or_a_fifo_keeps_the_policy_and_the_loop, .timeout = 60)
{
	SKIP_UNLESS_ROOT(); /* a policy in /tmp that root's sysqd reads */
	make_policy("deny sys.uname everyone\n");
	struct sqd d;
	const char *args[] = { "--policy", policy, NULL };
	sqd_start(&d, args);
	struct sysq *c = sqd_connect(&d);
	struct timeval tv = { 10, 0 }; /* a stuck loop fails the test, never hangs it */
	setsockopt(sysq_fd(c), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	expect_old_policy(c);

	static const char nul[] = "deny * user nobody\0\ndeny xattr.* everyone\n";
	write_bytes(nul, sizeof(nul) - 1);
	cr_assert(hup_refused(&d, 1), "a NUL byte was not refused on SIGHUP:\n%s", slurp(d.log));
	char want[128];
	snprintf(want, sizeof(want), "%s:1: a NUL byte", policy);
	char *log = slurp(d.log);
	cr_assert(strstr(log, want), "no '%s' in the log:\n%s", want, log);
	free(log);
	expect_old_policy(c);

	char fifo[80];
	snprintf(fifo, sizeof(fifo), "%s.fifo", policy);
	cr_assert_eq(mkfifo(fifo, 0644), 0);
	cr_assert_eq(rename(fifo, policy), 0);
	cr_assert(hup_refused(&d, 2), "a FIFO was not refused on SIGHUP:\n%s", slurp(d.log));
	expect_old_policy(c);

	write_policy("# nothing denied now\n"); /* and a good file still reloads */
	kill(d.pid, SIGHUP);
	int ok = 0;
	for (int i = 0; i < 1000 && !ok; i++) {
		struct sysq_reply r;
		ok = sq_call(c, "sys.uname", NULL, &r) == 0;
		sysq_reply_free(&r);
		if (!ok)
			nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	cr_assert(ok, "the good policy was not taken:\n%s", slurp(d.log));
	sysq_close(c);
	sqd_stop_clean(&d);
	unlink(policy);
}

/* ---- audit: refused calls are logged like granted ones ----------------- */

/* Whether one line of text holds a, b and c. */
static bool has_line(const char *text, const char *a, const char *b, const char *c)
{
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		const char *pa = strstr(line, a), *pb = strstr(line, b), *pc = strstr(line, c);
		if (pa && pb && pc && pa < line + len && pb < line + len && pc < line + len)
			return true;
		line += len + (nl != NULL);
	}
	return false;
}

Test(policy, a_refused_call_leaves_a_notice_line_with_uid_pid_and_method, .timeout = 60)
{
	SKIP_UNLESS_ROOT();
	make_policy("deny sys.uname user root\n");
	struct sqd d;
	const char *args[] = { "--policy", policy, NULL };
	sqd_start(&d, args);

	/* the policy refuses root */
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.uname", NULL, &r), SYSQ_REMOTE_ERROR);
	cr_assert_str_eq(r.code, "EPERM");
	sysq_reply_free(&r);
	sysq_close(c);

	/* the root rule refuses nobody (before any check of the params) */
	pid_t kid = fork();
	cr_assert(kid >= 0);
	if (kid == 0) {
		become_or_exit(NOBODY_UID, NOBODY_GID);
		char err[256];
		struct sysq *k = sysq_connect(d.sock, err, sizeof(err));
		if (!k)
			_exit(10);
		int rc = sq_call(k, "net.mtu.set", "{\"name\": \"lo\", \"mtu\": 65536}", &r);
		int out = rc == SYSQ_REMOTE_ERROR && strcmp(r.code, "EPERM") == 0 ? 0 : 20;
		sysq_reply_free(&r);
		sysq_close(k);
		_exit(out);
	}
	int st;
	cr_assert_eq(waitpid(kid, &st, 0), kid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "nobody was not refused (%d)", st);
	cr_assert_eq(sqd_stop(&d), 0);

	char who[96];
	char *text = slurp(d.log);
	snprintf(who, sizeof(who), "notice: refused: uid 0 pid %ld (conn #", (long)getpid());
	cr_expect(has_line(text, who, "sys.uname", "EPERM denied by the policy"),
	          "no '%s ... sys.uname ... EPERM' line:\n%s", who, text);
	snprintf(who, sizeof(who), "notice: privileged: uid %u pid %ld (conn #",
	         (unsigned)NOBODY_UID, (long)kid);
	cr_expect(has_line(text, who, "net.mtu.set", "EPERM only root may"),
	          "no '%s ... net.mtu.set ... EPERM' line:\n%s", who, text);
	free(text);
	sqd_stop_clean(&d);
	unlink(policy);
}
