/*
 * test_policy.c - the policy file: deny rules refuse with EPERM naming the
 * line, sys.hello lists only what the peer may call, a bad file stops the
 * daemon at start with a line-numbered error, and SIGHUP swaps the policy
 * without dropping connections (keeping the old one when the new is bad).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
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
