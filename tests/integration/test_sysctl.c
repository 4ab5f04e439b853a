/* SPDX-License-Identifier: ISC */
/*
 * test_sysctl.c - sys.sysctl.get and sys.sysctl.set against a real sysqd.
 * get: values typed as the kernel's files read (an int, an array of ints,
 * text), the slash form, a prefix walk, unknown and malformed names, and a
 * 0600 key refused for uid 65534 exactly as opening the file itself is.
 * set: against a sysqd alone in a private network namespace (the net.*
 * parameters it changes are that namespace's, which dies with it; each test
 * still puts back what it changed): root, a policy-granted group on its key
 * and refused on another, others refused, a keyed deny, the kernel's own
 * refusal, nothing changed by any refusal, the notice in the log; and
 * `sysqd -t` on keyed policy lines.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "sq_proto.h"

#define GRANTED_GID 4242 /* the policy's group in the set tests */

static struct sqd d;
static char policy[64];

/* Expect an error with this code (and a message containing want). */
static void expect_error(struct sysq *c, const char *method, const char *json,
                         const char *code, const char *want)
{
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, method, json, &r), SYSQ_REMOTE_ERROR, "%s %s succeeded", method, json);
	cr_assert_str_eq(r.code, code, "%s %s: %s %s", method, json, r.code, r.message);
	if (want)
		cr_assert(strstr(r.message, want), "%s %s: '%s' lacks '%s'", method, json, r.message,
		          want);
	sysq_reply_free(&r);
}

/* The text of /proc/sys/PATH without its last newline (malloc'd). */
static char *proc_sys(const char *path)
{
	char p[256];
	snprintf(p, sizeof(p), "/proc/sys/%s", path);
	char *t = slurp(p);
	size_t n = strlen(t);
	if (n && t[n - 1] == '\n')
		t[n - 1] = '\0';
	return t;
}

/* The one value sys.sysctl.get gives for name (reply kept in *r). */
static const msgpack_object *get1(struct sysq *c, const char *name, struct sysq_reply *r)
{
	char json[320];
	snprintf(json, sizeof(json), "{\"names\": [\"%s\"]}", name);
	cr_assert_eq(sq_call(c, "sys.sysctl.get", json, r), 0, "%s: %s %s", name, r->code,
	             r->message);
	const msgpack_object *l = sq_map_get(r->result, "sysctls");
	cr_assert(l && l->type == MSGPACK_OBJECT_ARRAY && l->via.array.size == 1);
	return sq_map_get(&l->via.array.ptr[0], "value");
}

static long long get_int(struct sysq *c, const char *name)
{
	struct sysq_reply r;
	const msgpack_object *v = get1(c, name, &r);
	cr_assert(v && (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
	                v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER), "%s: not an int", name);
	long long x = v->via.i64;
	sysq_reply_free(&r);
	return x;
}

/* ---- get, against the host's /proc/sys ----------------------------------- */

static void up(void) { sqd_start(&d, NULL); }
static void down(void) { sqd_stop_clean(&d); }
TestSuite(sysctl, .init = up, .fini = down, .timeout = 60);

Test(sysctl, values_are_typed_as_the_files_read)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	char *ostype = proc_sys("kernel/ostype"), *pidmax = proc_sys("kernel/pid_max");
	char *rmem = proc_sys("net/ipv4/tcp_rmem");

	const msgpack_object *v = get1(c, "kernel.ostype", &r);
	cr_assert(sq_obj_streq(v, ostype), "kernel.ostype is not \"%s\"", ostype);
	sysq_reply_free(&r);
	v = get1(c, "kernel/ostype", &r); /* the slash form */
	cr_assert(sq_obj_streq(v, ostype));
	cr_assert(sq_obj_streq(sq_map_get(&sq_map_get(r.result, "sysctls")->via.array.ptr[0], "name"),
	                       "kernel.ostype"), "names are answered in the dotted form");
	sysq_reply_free(&r);

	cr_assert_eq(get_int(c, "kernel.pid_max"), strtoll(pidmax, NULL, 10));

	v = get1(c, "net.ipv4.tcp_rmem", &r);
	cr_assert(v && v->type == MSGPACK_OBJECT_ARRAY && v->via.array.size == 3,
	          "tcp_rmem (\"%s\") must be an array of 3 ints", rmem);
	char *p = rmem;
	for (int i = 0; i < 3; i++)
		cr_assert_eq(v->via.array.ptr[i].via.u64, strtoull(p, &p, 10));
	sysq_reply_free(&r);
	free(ostype);
	free(pidmax);
	free(rmem);
	sysq_close(c);
}

Test(sysctl, a_prefix_walks_its_subtree_in_name_order)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.sysctl.get", "{\"prefix\": \"kernel.random\"}", &r), 0,
	             "%s", r.message);
	const msgpack_object *l = sq_map_get(r.result, "sysctls");
	DIR *dir = opendir("/proc/sys/kernel/random");
	cr_assert(dir);
	unsigned files = 0;
	for (struct dirent *e; (e = readdir(dir));)
		files += e->d_name[0] != '.';
	closedir(dir);
	cr_assert_eq(l->via.array.size, files);
	char *boot_id = proc_sys("kernel/random/boot_id");
	bool seen = false;
	const char *prev = "";
	for (uint32_t i = 0; i < l->via.array.size; i++) {
		const msgpack_object *e = &l->via.array.ptr[i], *n = sq_map_get(e, "name");
		char name[128];
		snprintf(name, sizeof(name), "%.*s", (int)n->via.str.size, n->via.str.ptr);
		cr_assert(strncmp(name, "kernel.random.", 14) == 0, "%s", name);
		cr_assert(strcmp(prev, name) < 0, "%s after %s", name, prev);
		prev = n->via.str.ptr; /* valid while r is */
		if (strcmp(name, "kernel.random.boot_id") == 0)
			seen = sq_obj_streq(sq_map_get(e, "value"), boot_id);
	}
	cr_assert(seen, "kernel.random.boot_id missing or not %s", boot_id);
	free(boot_id);
	sysq_reply_free(&r);
	sysq_close(c);
}

Test(sysctl, unknown_and_malformed_names)
{
	struct sysq *c = sqd_connect(&d);
	expect_error(c, "sys.sysctl.get", "{\"names\": [\"kernel.no_such_thing\"]}", "ENOENT",
	             "kernel.no_such_thing");
	expect_error(c, "sys.sysctl.get", "{\"prefix\": \"no_such_tree\"}", "ENOENT", NULL);
	expect_error(c, "sys.sysctl.get", "{\"names\": [\"kernel\"]}", "EISDIR", "prefix");
	static const char *const bad[] = {
		"kernel..ostype", "kernel/../../etc/passwd", "../etc", ".kernel", "kernel.", "a b",
		"kernel/./ostype", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char json[128];
		snprintf(json, sizeof(json), "{\"names\": [\"%s\"]}", bad[i]);
		expect_error(c, "sys.sysctl.get", json, "EINVAL", "not a kernel parameter name");
	}
	expect_error(c, "sys.sysctl.get", "{}", "EINVAL", "neither");
	expect_error(c, "sys.sysctl.get", "{\"names\": [\"kernel.ostype\"], \"prefix\": \"kernel\"}",
	             "EINVAL", "both");
	sysq_close(c);
}

/* A 0600 parameter of kernel.*: its dotted name into out (false: none). */
static bool find_0600(char *out, size_t size)
{
	DIR *dir = opendir("/proc/sys/kernel");
	bool found = false;
	for (struct dirent *e; dir && !found && (e = readdir(dir));) {
		char p[300];
		struct stat st;
		if (strlen(e->d_name) > 180)
			continue;
		snprintf(p, sizeof(p), "/proc/sys/kernel/%.180s", e->d_name);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600) {
			snprintf(out, size, "kernel.%.180s", e->d_name);
			found = true;
		}
	}
	if (dir)
		closedir(dir);
	return found;
}

struct as_nobody { const struct sqd *d; const char *name; };

/* As uid 65534: the file itself refuses with EACCES, and so does sysqd;
 * a 0644 one reads the same through both. */
static int read_0600_as_nobody(void *arg)
{
	struct as_nobody *a = arg;
	char path[512], err[200];
	snprintf(path, sizeof(path), "/proc/sys/%s", a->name);
	for (char *p = path + 10; *p; p++)
		*p = *p == '.' ? '/' : *p;
	int fd = open(path, O_RDONLY);
	if (fd >= 0 || errno != EACCES)
		return 10;
	struct sysq *c = sysq_connect(a->d->sock, err, sizeof(err));
	if (!c)
		return 11;
	struct sysq_reply r;
	char json[320];
	snprintf(json, sizeof(json), "{\"names\": [\"%s\"]}", a->name);
	if (sq_call(c, "sys.sysctl.get", json, &r) != SYSQ_REMOTE_ERROR || strcmp(r.code, "EACCES"))
		return 12;
	sysq_reply_free(&r);
	/* in a prefix walk it is listed with its error, the others with values */
	if (sq_call(c, "sys.sysctl.get", "{\"prefix\": \"kernel\"}", &r) != 0)
		return 13;
	const msgpack_object *l = sq_map_get(r.result, "sysctls");
	int seen = 0;
	for (uint32_t i = 0; l && i < l->via.array.size; i++) {
		const msgpack_object *e = &l->via.array.ptr[i];
		if (sq_obj_streq(sq_map_get(e, "name"), a->name))
			seen = sq_obj_streq(sq_map_get(e, "error"), "EACCES") && !sq_map_get(e, "value");
		if (sq_obj_streq(sq_map_get(e, "name"), "kernel.ostype") && !sq_map_get(e, "value"))
			return 14;
	}
	sysq_reply_free(&r);
	sysq_close(c);
	return seen ? 0 : 15;
}

Test(sysctl, a_0600_key_is_refused_for_nobody_as_the_file_is)
{
	SKIP_UNLESS_ROOT();
	char name[200];
	cr_assert(find_0600(name, sizeof(name)), "no 0600 file under /proc/sys/kernel");
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	get1(c, name, &r); /* root reads it */
	sysq_reply_free(&r);
	sysq_close(c);
	struct as_nobody a = { &d, name };
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, read_0600_as_nobody, &a), 0, "%s", name);
}

Test(sysctl, sysq_sysctl_prints_as_sysctl_8_does)
{
	char out[65536], want[256];
	char *ostype = proc_sys("kernel/ostype"), *rmem = proc_sys("net/ipv4/tcp_rmem");
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "sysctl kernel.ostype net.ipv4.tcp_rmem"), 0);
	snprintf(want, sizeof(want), "kernel.ostype = %s\nnet.ipv4.tcp_rmem = %s\n", ostype, rmem);
	cr_assert_str_eq(out, want); /* tabs between values, as /proc/sys has them */
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "sysctl -n kernel.ostype"), 0);
	snprintf(want, sizeof(want), "%s\n", ostype);
	cr_assert_str_eq(out, want);
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "sysctl -a kernel.random"), 0);
	cr_assert(strstr(out, "kernel.random.poolsize = "), "%s", out);
	for (char *line = out; *line; line = strchr(line, '\n') + 1)
		cr_assert(strncmp(line, "kernel.random.", 14) == 0, "%s", line);
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "sysctl kernel.no_such_thing"), 1, "ENOENT: exit 1");
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "sysctl"), 2, "usage: exit 2");
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "sysctl -w kernel.ostype"), 2, "-w needs NAME=VALUE");
	free(ostype);
	free(rmem);
}

/* ---- set, in a private network namespace --------------------------------- */

/* In sysqd's child: a network namespace of its own. */
static int net_ns(const struct sqd *sd, void *arg, char *why, size_t size)
{
	(void)sd, (void)arg;
	if (unshare(CLONE_NEWNET) == 0)
		return 0;
	snprintf(why, size, "no private network namespace: %s", strerror(errno));
	return -1;
}

static void ns_up(void)
{
	if (!have_root())
		cr_skip_test("SKIPPED: a network namespace needs root");
	snprintf(policy, sizeof(policy), "/tmp/sysq-sysctl-policy.XXXXXX");
	int pfd = mkstemp(policy);
	cr_assert_geq(pfd, 0);
	dprintf(pfd, "allow sys.sysctl.set net.ipv4.ip_forward group %d\n"
	        "deny  sys.sysctl.set net.ipv4.tcp_syn_retries everyone\n", GRANTED_GID);
	fchmod(pfd, 0644);
	close(pfd);
	const char *const args[] = { "--policy", policy, NULL };
	sqd_start_prepared(&d, args, 0, net_ns, NULL);
}

static void ns_down(void)
{
	if (policy[0])
		unlink(policy);
	if (!d.dir[0])
		return;
	if (d.pid)
		sqd_stop_clean(&d);
	else
		rmdir(d.dir);
}

TestSuite(sysctl_set, .init = ns_up, .fini = ns_down, .timeout = 60);

static long long set_int(struct sysq *c, const char *name, long long v)
{
	struct sysq_reply r;
	char json[320];
	snprintf(json, sizeof(json), "{\"name\": \"%s\", \"value\": %lld}", name, v);
	cr_assert_eq(sq_call(c, "sys.sysctl.set", json, &r), 0, "%s: %s %s", json, r.code,
	             r.message);
	cr_assert(sq_obj_streq(sq_map_get(r.result, "name"), name));
	cr_assert_eq(sq_map_get(r.result, "value")->via.i64, v);
	long long prev = sq_map_get(r.result, "previous")->via.i64;
	sysq_reply_free(&r);
	return prev;
}

Test(sysctl_set, root_sets_answers_the_previous_value_and_restores)
{
	struct sysq *c = sqd_connect(&d);
	long long before = get_int(c, "net.ipv4.tcp_keepalive_time");
	cr_assert_eq(set_int(c, "net.ipv4.tcp_keepalive_time", before + 11), before);
	cr_assert_eq(get_int(c, "net.ipv4.tcp_keepalive_time"), before + 11);
	/* the host's own value is not the namespace's */
	char *host = proc_sys("net/ipv4/tcp_keepalive_time");
	cr_assert_eq(strtoll(host, NULL, 10), before, "the host's value changed");
	free(host);
	cr_assert_eq(set_int(c, "net.ipv4.tcp_keepalive_time", before), before + 11);
	/* as a str, and an array for a three-int parameter */
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.sysctl.set",
	                     "{\"name\": \"net/ipv4/tcp_keepalive_time\", \"value\": \"7201\"}", &r),
	             0, "%s", r.message);
	sysq_reply_free(&r);
	cr_assert_eq(get_int(c, "net.ipv4.tcp_keepalive_time"), 7201);
	set_int(c, "net.ipv4.tcp_keepalive_time", before);
	const msgpack_object *v = get1(c, "net.ipv4.tcp_rmem", &r);
	char json[200];
	snprintf(json, sizeof(json), "{\"name\": \"net.ipv4.tcp_rmem\", \"value\": [%llu, %llu, %llu]}",
	         (unsigned long long)v->via.array.ptr[0].via.u64,
	         (unsigned long long)v->via.array.ptr[1].via.u64 + 1,
	         (unsigned long long)v->via.array.ptr[2].via.u64);
	sysq_reply_free(&r);
	cr_assert_eq(sq_call(c, "sys.sysctl.set", json, &r), 0, "%s", r.message);
	const msgpack_object *prev = sq_map_get(r.result, "previous");
	const msgpack_object *now = sq_map_get(r.result, "value");
	cr_assert_eq(now->via.array.ptr[1].via.u64, prev->via.array.ptr[1].via.u64 + 1);
	snprintf(json, sizeof(json), "{\"name\": \"net.ipv4.tcp_rmem\", \"value\": [%llu, %llu, %llu]}",
	         (unsigned long long)prev->via.array.ptr[0].via.u64,
	         (unsigned long long)prev->via.array.ptr[1].via.u64,
	         (unsigned long long)prev->via.array.ptr[2].via.u64);
	sysq_reply_free(&r);
	cr_assert_eq(sq_call(c, "sys.sysctl.set", json, &r), 0, "%s", r.message);
	sysq_reply_free(&r);
	sysq_close(c);
	char *log = slurp(d.log);
	char want[160];
	snprintf(want, sizeof(want), "sys.sysctl.set: net.ipv4.tcp_keepalive_time %lld -> %lld by uid 0 pid %d",
	         before, before + 11, (int)getpid());
	cr_assert(strstr(log, want), "the log lacks '%s':\n%s", want, log);
	free(log);
}

Test(sysctl_set, the_kernel_decides_and_a_refusal_changes_nothing)
{
	struct sysq *c = sqd_connect(&d);
	long long before = get_int(c, "net.ipv4.ip_forward");
	expect_error(c, "sys.sysctl.set", "{\"name\": \"net.ipv4.ip_forward\", \"value\": \"banana\"}",
	             "EINVAL", "banana");
	long long ttl = get_int(c, "net.ipv4.ip_default_ttl"); /* 1..255 */
	expect_error(c, "sys.sysctl.set", "{\"name\": \"net.ipv4.ip_default_ttl\", \"value\": 300}",
	             "EINVAL", NULL);
	cr_assert_eq(get_int(c, "net.ipv4.ip_default_ttl"), ttl);
	expect_error(c, "sys.sysctl.set", "{\"name\": \"net.ipv4.no_such\", \"value\": 1}",
	             "ENOENT", NULL);
	expect_error(c, "sys.sysctl.set", "{\"name\": \"net..x\", \"value\": 1}", "EINVAL", NULL);
	/* a keyed deny holds for root too */
	long long syn = get_int(c, "net.ipv4.tcp_syn_retries");
	expect_error(c, "sys.sysctl.set", "{\"name\": \"net.ipv4.tcp_syn_retries\", \"value\": 3}",
	             "EPERM", "line 2");
	cr_assert_eq(get_int(c, "net.ipv4.tcp_syn_retries"), syn);
	cr_assert_eq(get_int(c, "net.ipv4.ip_forward"), before);
	sysq_close(c);
}

struct setter { const struct sqd *d; const char *json; const char *code; };

/* As uid 65534 (and the gid run_as gave): the call's outcome is code ("" ok) */
static int set_as(void *arg)
{
	struct setter *s = arg;
	char err[200];
	struct sysq *c = sysq_connect(s->d->sock, err, sizeof(err));
	if (!c)
		return 10;
	struct sysq_reply r;
	int rc = sq_call(c, "sys.sysctl.set", s->json, &r);
	int ok = *s->code ? rc == SYSQ_REMOTE_ERROR && strcmp(r.code, s->code) == 0 : rc == 0;
	sysq_reply_free(&r);
	sysq_close(c);
	return ok ? 0 : 11;
}

Test(sysctl_set, the_policy_grants_a_group_its_keys_only)
{
	struct sysq *c = sqd_connect(&d);
	long long fwd = get_int(c, "net.ipv4.ip_forward");
	long long ka = get_int(c, "net.ipv4.tcp_keepalive_time");
	char json[160];
	snprintf(json, sizeof(json), "{\"name\": \"net.ipv4.ip_forward\", \"value\": %lld}", (long long)!fwd);
	struct setter granted = { &d, json, "" };
	cr_assert_eq(run_as(NOBODY_UID, GRANTED_GID, set_as, &granted), 0,
	             "the granted group must set its key");
	cr_assert_eq(get_int(c, "net.ipv4.ip_forward"), !fwd);
	set_int(c, "net.ipv4.ip_forward", fwd); /* put back */

	struct setter other_key = { &d, "{\"name\": \"net.ipv4.tcp_keepalive_time\", \"value\": 99}",
	                            "EPERM" };
	cr_assert_eq(run_as(NOBODY_UID, GRANTED_GID, set_as, &other_key), 0,
	             "another key must be EPERM for the granted group");
	struct setter other_gid = { &d, json, "EPERM" };
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, set_as, &other_gid), 0,
	             "others must get EPERM");
	cr_assert_eq(get_int(c, "net.ipv4.ip_forward"), fwd);
	cr_assert_eq(get_int(c, "net.ipv4.tcp_keepalive_time"), ka);
	sysq_close(c);
	char *log = slurp(d.log);
	char want[160];
	snprintf(want, sizeof(want), "net.ipv4.ip_forward %lld -> %lld by uid %d", fwd, (long long)!fwd,
	         NOBODY_UID);
	cr_assert(strstr(log, want), "the log lacks '%s'", want);
	free(log);
}

Test(sysctl_set, sysq_sysctl_w)
{
	char out[4096], want[160];
	struct sysq *c = sqd_connect(&d);
	long long ka = get_int(c, "net.ipv4.tcp_keepalive_time");
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "sysctl -w net.ipv4.tcp_keepalive_time=7203"), 0);
	cr_assert_str_eq(out, "net.ipv4.tcp_keepalive_time = 7203\n");
	cr_assert_eq(get_int(c, "net.ipv4.tcp_keepalive_time"), 7203);
	snprintf(want, sizeof(want), "sysctl -w net.ipv4.tcp_keepalive_time=%lld", ka);
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "%s", want), 0);
	cr_assert_eq(get_int(c, "net.ipv4.tcp_keepalive_time"), ka);
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "sysctl -w net.ipv4.ip_default_ttl=300"), 1,
	             "the kernel's EINVAL: exit 1");
	sysq_close(c);
}

/* ---- the policy's keyed lines, validated --------------------------------- */

static int check_policy(const char *text, char **out)
{
	char path[] = "/tmp/sysq-keyed.XXXXXX", log[] = "/tmp/sysq-keyed-out.XXXXXX";
	int fd = mkstemp(path), lfd = mkstemp(log);
	cr_assert(fd >= 0 && lfd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(lfd, 1);
		dup2(lfd, 2);
		execl(getenv("SQ_SYSQD"), "sysqd", "-t", "--policy", path, (char *)NULL);
		_exit(127);
	}
	close(lfd);
	int st;
	waitpid(pid, &st, 0);
	*out = slurp(log);
	unlink(log);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

Test(sysctl, sysqd_t_validates_key_patterns)
{
	char *out;
	cr_assert_eq(check_policy("allow sys.sysctl.set net.ipv4.* group 0\n"
	                          "deny sys.sysctl.set kernel.* user 65534\n"
	                          "deny sys.sysctl.set everyone\n", &out), 0, "%s", out);
	free(out);
	cr_assert_neq(check_policy("allow sys.sysctl.set group 0\n", &out), 0);
	cr_assert(strstr(out, ":1:") && strstr(out, "KEY-PATTERN"), "%s", out);
	free(out);
	cr_assert_neq(check_policy("\nallow sys.sysctl.set net.* group 0 extra\n", &out), 0);
	cr_assert(strstr(out, ":2:"), "%s", out);
	free(out);
}

/* --- a mount below /proc/sys ------------------------------------------------ */

/* sysqd looks a key up beneath /proc/sys without crossing a mount
 * (lib/sysctl_linux.c); a key on a file system mounted below (binfmt_misc
 * is one) is still read, the slower way.  Here a tmpfs stands in for it,
 * in sysqd's own mount namespace. */
static struct sqd md;

/* In sysqd's child: a mount namespace of its own with a tmpfs on
 * /proc/sys/fs/binfmt_misc holding a "status" file. */
static int tmpfs_below_proc_sys(const struct sqd *sd, void *arg, char *why, size_t size)
{
	(void)sd, (void)arg;
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/proc/sys/fs/binfmt_misc", "tmpfs", 0, "mode=0755") < 0) {
		snprintf(why, size, "no tmpfs on /proc/sys/fs/binfmt_misc in a private mount "
		         "namespace: %s", strerror(errno));
		return -1;
	}
	int f = open("/proc/sys/fs/binfmt_misc/status", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (f < 0 || write(f, "enabled\n", 8) != 8) {
		snprintf(why, size, "cannot write a file on that tmpfs: %s", strerror(errno));
		return -1;
	}
	close(f);
	return 0;
}

static void mount_ns_up(void)
{
	if (!have_root())
		cr_skip_test("SKIPPED: a mount namespace needs root");
	sqd_start_prepared(&md, NULL, 0, tmpfs_below_proc_sys, NULL);
}

static void mount_ns_down(void)
{
	if (md.pid)
		sqd_stop_clean(&md);
	else if (md.dir[0])
		rmdir(md.dir);
}

TestSuite(sysctl_mount, .init = mount_ns_up, .fini = mount_ns_down, .timeout = 60);

Test(sysctl_mount, a_key_on_a_mount_below_proc_sys_is_read)
{
	struct sysq *c = sqd_connect(&md);
	struct sysq_reply r;
	cr_assert(sq_obj_streq(get1(c, "fs.binfmt_misc.status", &r), "enabled"));
	sysq_reply_free(&r);
	char *ostype = proc_sys("kernel/ostype");
	cr_assert(sq_obj_streq(get1(c, "kernel.ostype", &r), ostype), "and beside it, the rest");
	sysq_reply_free(&r);
	free(ostype);
	cr_assert_eq(sq_call(c, "sys.sysctl.get", "{\"prefix\": \"fs.binfmt_misc\"}", &r), 0,
	             "%s %s", r.code, r.message);
	const msgpack_object *l = sq_map_get(r.result, "sysctls");
	cr_assert(l && l->type == MSGPACK_OBJECT_ARRAY && l->via.array.size == 1);
	cr_assert(sq_obj_streq(sq_map_get(&l->via.array.ptr[0], "name"), "fs.binfmt_misc.status"));
	cr_assert(sq_obj_streq(sq_map_get(&l->via.array.ptr[0], "value"), "enabled"));
	sysq_reply_free(&r);
	sysq_close(c);
}
