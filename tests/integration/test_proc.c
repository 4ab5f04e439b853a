/* SPDX-License-Identifier: ISC */
/*
 * test_proc.c - proc.list, proc.get, proc.signal, `sysq ps` and `sysq kill`
 * against a real sysqd: every field checked against what the kernel says,
 * a hostile comm and exe path byte-exact (str or bin, never a broken str),
 * fields/uid/pid filters, signals allowed and refused as the caller
 * (uid 65534 vs root), bad params, a 1,000-process table, E2BIG instead of a
 * dropped connection, a sys.ping pipelined behind a proc.list, and
 * proc.signal never aimed at sysqd's own (itself, its threads, the helper
 * that sends: the next-pid STOP attack).  Children die with the test
 * (PR_SET_PDEATHSIG) and are reaped in .fini.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#endif
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"   /* SQ_ENGINE_SHARE: the jobs one uid runs at once */
#include "harness.h"
#include "kids.h"
#include "json.h"
#include "rawio.h"
#include "sq_proto.h"

#ifndef __linux__

Test(proc, against_a_real_sysqd)
{
	cr_skip_test("SKIPPED: these tests check sysqd against Linux's /proc and use prctl()");
}

#else /* __linux__ */

#define NO_SUCH_PID (1 << 30) /* above Linux's PID_MAX_LIMIT */

static struct sqd d;
static char tmpdir[64];
static char hostile_exe[128];

static void cleanup(void)
{
	kid_reap_all();
	if (hostile_exe[0])
		unlink(hostile_exe);
	hostile_exe[0] = '\0';
	if (tmpdir[0])
		rmdir(tmpdir);
	tmpdir[0] = '\0';
}

static void up(void) { sqd_start(&d, NULL); }
static void down(void)
{
	cleanup();
	sqd_stop_clean(&d);
}

TestSuite(proc, .init = up, .fini = down, .timeout = 60);

static void nap(void)
{
	struct timespec ts = { 0, 2000000 };
	nanosleep(&ts, NULL);
}

static void sleeper(void *arg)
{
	if (arg)
		prctl(PR_SET_NAME, (const char *)arg);
	kid_ready();
	for (;;)
		pause();
}

static void nobody_sleeper(void *arg)
{
	(void)arg;
	if (setgroups(0, NULL) < 0 || setgid(NOBODY_GID) < 0 || setuid(NOBODY_UID) < 0)
		_exit(3);
	sleeper(NULL);
}

static void exec_argv(void *arg)
{
	char **argv = arg;
	execv(argv[0], argv);
	_exit(127);
}

static const msgpack_object *find_proc(const msgpack_object *result, pid_t pid)
{
	const msgpack_object *ps = sq_map_get(result, "procs");
	cr_assert(ps && ps->type == MSGPACK_OBJECT_ARRAY, "result has a procs array");
	for (uint32_t i = 0; i < ps->via.array.size; i++) {
		const msgpack_object *p = &ps->via.array.ptr[i];
		const msgpack_object *id = sq_map_get(p, "pid");
		cr_assert(id && id->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
		if ((pid_t)id->via.u64 == pid)
			return p;
	}
	return NULL;
}

static int64_t int_of(const msgpack_object *map, const char *key)
{
	const msgpack_object *o = sq_map_get(map, key);
	cr_assert(o, "field %s present", key);
	cr_assert(o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
	          o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER, "field %s is an integer", key);
	return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)o->via.u64 : o->via.i64;
}

/* The field is exactly these bytes, as str when they are UTF-8, else bin. */
static void assert_bytes(const msgpack_object *o, const char *want, size_t n, int utf8)
{
	cr_assert(o, "field present");
	cr_assert_eq(o->type, utf8 ? MSGPACK_OBJECT_STR : MSGPACK_OBJECT_BIN,
	             "type %d, want %s", o->type, utf8 ? "str" : "bin");
	cr_assert_eq(o->via.str.size, n, "size %u, want %zu", o->via.str.size, n);
	cr_assert(memcmp(o->via.str.ptr, want, n) == 0, "bytes differ: '%.*s'",
	          (int)o->via.str.size, o->via.str.ptr);
}

static size_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	ssize_t n = read(fd, buf, size);
	close(fd);
	cr_assert_geq(n, 0);
	return (size_t)n;
}

Test(proc, list_reports_us_as_the_kernel_does)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "proc.list", NULL, &r), 0, "%s", r.message);
	const msgpack_object *me = find_proc(r.result, getpid());
	cr_assert(me, "our own process is listed");
	cr_assert_eq(int_of(me, "ppid"), getppid());
	cr_assert_eq(int_of(me, "pgid"), getpgrp());
	cr_assert_eq(int_of(me, "sid"), getsid(0));
	cr_assert_eq(int_of(me, "uid"), getuid());
	cr_assert_eq(int_of(me, "euid"), geteuid());
	cr_assert_eq(int_of(me, "gid"), getgid());
	cr_assert_geq(int_of(me, "threads"), 1);
	cr_assert_gt(int_of(me, "rss_bytes"), 0);
	cr_assert_geq(int_of(me, "vsize_bytes"), int_of(me, "rss_bytes"));
	cr_assert_geq(int_of(me, "cpu_user_ns"), 0);
	cr_assert_geq(int_of(me, "cpu_system_ns"), 0);
	cr_assert_eq(int_of(me, "nice"), 0);
	const msgpack_object *st = sq_map_get(me, "state");
	cr_assert(st && st->type == MSGPACK_OBJECT_STR && st->via.str.size == 1);
	cr_assert(strchr("RSDTtZXIP", st->via.str.ptr[0]), "state letter %c", st->via.str.ptr[0]);
	const msgpack_object *t0 = sq_map_get(me, "start_time");
	cr_assert(t0 && t0->type == MSGPACK_OBJECT_FLOAT64);
	double now = (double)time(NULL);
	cr_assert(t0->via.f64 <= now + 1 && t0->via.f64 > now - 3600, "start_time %.3f", t0->via.f64);
	const msgpack_object *tty = sq_map_get(me, "tty");
	cr_assert(tty && (tty->type == MSGPACK_OBJECT_NIL || tty->type == MSGPACK_OBJECT_STR));

	char buf[8192];
	size_t n = read_file("/proc/self/comm", buf, sizeof(buf));
	assert_bytes(sq_map_get(me, "comm"), buf, n - 1, 1);
	n = read_file("/proc/self/cmdline", buf, sizeof(buf));
	const msgpack_object *args = sq_map_get(me, "args");
	cr_assert(args && args->type == MSGPACK_OBJECT_ARRAY);
	size_t off = 0;
	for (uint32_t i = 0; i < args->via.array.size; i++) {
		size_t len = strlen(buf + off);
		assert_bytes(&args->via.array.ptr[i], buf + off, len, 1);
		off += len + 1;
	}
	cr_assert_eq(off, n, "every argument is there");
	ssize_t el = readlink("/proc/self/exe", buf, sizeof(buf));
	cr_assert_gt(el, 0);
	assert_bytes(sq_map_get(me, "exe"), buf, (size_t)el, 1);

	cr_assert(find_proc(r.result, 1), "pid 1 is listed");
	sysq_reply_free(&r);
	sysq_close(c);
}

Test(proc, get_one_and_the_missing)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	char js[128];
	snprintf(js, sizeof(js), "{\"pid\": %d}", (int)getpid());
	cr_assert_eq(sq_call(c, "proc.get", js, &r), 0, "%s", r.message);
	cr_assert_eq(int_of(r.result, "pid"), getpid());
	cr_assert_eq(int_of(r.result, "ppid"), getppid());
	cr_assert(sq_map_get(r.result, "comm") && sq_map_get(r.result, "args"));
	sysq_reply_free(&r);

	snprintf(js, sizeof(js), "{\"pid\": %d}", NO_SUCH_PID);
	cr_assert_eq(sq_call(c, "proc.get", js, &r), SYSQ_REMOTE_ERROR);
	cr_assert_str_eq(r.code, "ESRCH");
	sysq_reply_free(&r);

	static const char *const bad[] = {
		"{\"pid\": 0}", "{\"pid\": -1}", "{}", "{\"pid\": \"1\"}", "{\"pid\": 1.5}",
		"{\"pid\": 4294967296}", "{\"pid\": 1, \"bogus\": 1}", "{\"pid\": 1, \"fields\": [\"x\"]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(sq_call(c, "proc.get", bad[i], &r), SYSQ_REMOTE_ERROR, "%s", bad[i]);
		cr_assert_str_eq(r.code, "EINVAL", "%s: %s", bad[i], r.message);
		sysq_reply_free(&r);
	}
	sysq_close(c);
}

/* exec a copy of /bin/sleep named "a) b\n(c": comm, exe and args[0] carry
 * a parenthesis, spaces and a newline. */
static pid_t start_hostile_exe(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sysq-proc.XXXXXX");
	cr_assert(mkdtemp(tmpdir));
	snprintf(hostile_exe, sizeof(hostile_exe), "%s/a) b\n(c", tmpdir);
	int in = open("/bin/sleep", O_RDONLY | O_CLOEXEC);
	int out = open(hostile_exe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	cr_assert(in >= 0 && out >= 0, "copy /bin/sleep: %s", strerror(errno));
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(out, buf, (size_t)n), n);
	close(in);
	cr_assert_eq(close(out), 0);
	static char arg1[] = "1000";
	static char *argv[3];
	argv[0] = hostile_exe;
	argv[1] = arg1;
	argv[2] = NULL;
	pid_t pid = kid_spawn(exec_argv, argv);
	kid_wait_exec(pid, "a) b\n(c");
	return pid;
}

Test(proc, hostile_comm_exe_and_args_come_through_byte_exact)
{
	pid_t kid = start_hostile_exe();
	static const char bad[] = "\xff) (\n\x80z"; /* not UTF-8 */
	pid_t kid2 = kid_spawn(sleeper, (void *)bad);

	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	char js[128];
	snprintf(js, sizeof(js), "{\"pid\": [%d, %d]}", (int)kid, (int)kid2);
	cr_assert_eq(sq_call(c, "proc.list", js, &r), 0, "%s", r.message);
	const msgpack_object *p = find_proc(r.result, kid);
	cr_assert(p);
	assert_bytes(sq_map_get(p, "comm"), "a) b\n(c", 7, 1);
	assert_bytes(sq_map_get(p, "exe"), hostile_exe, strlen(hostile_exe), 1);
	const msgpack_object *args = sq_map_get(p, "args");
	cr_assert(args && args->type == MSGPACK_OBJECT_ARRAY && args->via.array.size == 2);
	assert_bytes(&args->via.array.ptr[0], hostile_exe, strlen(hostile_exe), 1);
	assert_bytes(&args->via.array.ptr[1], "1000", 4, 1);
	/* and the stat fields after the hostile comm are right */
	cr_assert_eq(int_of(p, "ppid"), getpid());
	cr_assert_eq(int_of(p, "threads"), 1);

	const msgpack_object *q = find_proc(r.result, kid2);
	cr_assert(q);
	assert_bytes(sq_map_get(q, "comm"), bad, sizeof(bad) - 1, 0);
	cr_assert_eq(int_of(q, "ppid"), getpid());
	sysq_reply_free(&r);
	sysq_close(c);
}

static void assert_keys(const msgpack_object *result, uint32_t nkeys, const char *const *names)
{
	const msgpack_object *ps = sq_map_get(result, "procs");
	cr_assert(ps && ps->type == MSGPACK_OBJECT_ARRAY && ps->via.array.size > 2);
	for (uint32_t i = 0; i < ps->via.array.size; i++) {
		const msgpack_object *p = &ps->via.array.ptr[i];
		cr_assert_eq(p->via.map.size, nkeys, "entry %u has %u keys", i, p->via.map.size);
		for (uint32_t k = 0; k < nkeys; k++)
			cr_assert(sq_map_get(p, names[k]), "entry %u has %s", i, names[k]);
	}
}

Test(proc, fields_choose_what_comes_back)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	static const char *const three[] = { "pid", "comm", "ppid" };
	cr_assert_eq(sq_call(c, "proc.list", "{\"fields\": [\"comm\", \"ppid\"]}", &r), 0, "%s",
	             r.message);
	assert_keys(r.result, 3, three);
	sysq_reply_free(&r);

	cr_assert_eq(sq_call(c, "proc.list", "{\"fields\": []}", &r), 0, "%s", r.message);
	assert_keys(r.result, 1, three);
	sysq_reply_free(&r);

	char js[128];
	snprintf(js, sizeof(js), "{\"pid\": %d, \"fields\": [\"uid\", \"tty\"]}", (int)getpid());
	cr_assert_eq(sq_call(c, "proc.get", js, &r), 0, "%s", r.message);
	cr_assert_eq(r.result->via.map.size, 3);
	cr_assert_eq(int_of(r.result, "uid"), getuid());
	sysq_reply_free(&r);

	static const char *const bad[] = {
		"{\"fields\": [\"comm\", \"nope\"]}", "{\"fields\": \"comm\"}", "{\"fields\": [1]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(sq_call(c, "proc.list", bad[i], &r), SYSQ_REMOTE_ERROR, "%s", bad[i]);
		cr_assert_str_eq(r.code, "EINVAL");
		cr_assert(strstr(r.message, "fields"), "names the param: %s", r.message);
		sysq_reply_free(&r);
	}
	cr_assert_eq(sq_call(c, "proc.list", "{\"fields\": [\"nope\"]}", &r), SYSQ_REMOTE_ERROR);
	cr_assert(strstr(r.message, "'nope'"), "names the field: %s", r.message);
	sysq_reply_free(&r);
	sysq_close(c);
}

Test(proc, uid_filter_selects_by_real_uid)
{
	SKIP_UNLESS_ROOT();
	pid_t kid = kid_spawn(nobody_sleeper, NULL);
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "proc.list", "{\"uid\": 65534, \"fields\": [\"uid\"]}", &r), 0,
	             "%s", r.message);
	cr_assert(find_proc(r.result, kid), "the uid 65534 child is listed");
	cr_assert_null(find_proc(r.result, getpid()), "we (root) are not");
	const msgpack_object *ps = sq_map_get(r.result, "procs");
	for (uint32_t i = 0; i < ps->via.array.size; i++)
		cr_assert_eq(int_of(&ps->via.array.ptr[i], "uid"), NOBODY_UID);
	sysq_reply_free(&r);

	cr_assert_eq(sq_call(c, "proc.list", "{\"uid\": 0, \"fields\": []}", &r), 0);
	cr_assert_null(find_proc(r.result, kid));
	cr_assert(find_proc(r.result, getpid()));
	sysq_reply_free(&r);

	cr_assert_eq(sq_call(c, "proc.list", "{\"uid\": -1}", &r), SYSQ_REMOTE_ERROR);
	cr_assert_str_eq(r.code, "EINVAL");
	sysq_reply_free(&r);
	cr_assert_eq(sq_call(c, "proc.list", "{\"uid\": \"root\"}", &r), SYSQ_REMOTE_ERROR);
	cr_assert_str_eq(r.code, "EINVAL");
	sysq_reply_free(&r);
	sysq_close(c);
}

Test(proc, pid_filter)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	char js[128];
	snprintf(js, sizeof(js), "{\"pid\": [%d, %d, %d, 1]}", NO_SUCH_PID, (int)getpid(),
	         (int)getpid());
	cr_assert_eq(sq_call(c, "proc.list", js, &r), 0, "%s", r.message);
	const msgpack_object *ps = sq_map_get(r.result, "procs");
	cr_assert_eq(ps->via.array.size, 2, "pid 1 and us, once each, nothing for the missing");
	cr_assert_eq(int_of(&ps->via.array.ptr[0], "pid"), 1);
	cr_assert_eq(int_of(&ps->via.array.ptr[1], "pid"), getpid());
	sysq_reply_free(&r);

	cr_assert_eq(sq_call(c, "proc.list", "{\"pid\": []}", &r), 0);
	cr_assert_eq(sq_map_get(r.result, "procs")->via.array.size, 0);
	sysq_reply_free(&r);

	static const char *const bad[] = { "{\"pid\": [0]}", "{\"pid\": [-3]}", "{\"pid\": 5}",
	                                   "{\"pid\": [\"5\"]}", "{\"pid\": [1, 2147483648]}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(sq_call(c, "proc.list", bad[i], &r), SYSQ_REMOTE_ERROR, "%s", bad[i]);
		cr_assert_str_eq(r.code, "EINVAL", "%s", bad[i]);
		sysq_reply_free(&r);
	}
	sysq_close(c);
}

/* The signal child pid died of; a failed assertion when it is still alive
 * after 20 s (the signal did not act), rather than a hang. */
static int wait_signal(pid_t pid)
{
	int st = 0;
	pid_t got = 0;
	for (int i = 0; i < 10000 && (got = waitpid(pid, &st, WNOHANG)) == 0; i++)
		nap(); /* 2 ms */
	cr_assert_eq(got, pid, "child %d did not end after the signal", (int)pid);
	kid_forget(pid);
	return WIFSIGNALED(st) ? WTERMSIG(st) : -1;
}

Test(proc, signal_by_name_or_number)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	char js[128];
	static const struct {
		const char *sig;
		int want;
	} cases[] = { { "\"TERM\"", SIGTERM }, { "\"SIGUSR1\"", SIGUSR1 }, { "\"kill\"", SIGKILL },
	              { "9", SIGKILL }, { "\"2\"", SIGINT } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pid_t kid = kid_spawn(sleeper, NULL);
		snprintf(js, sizeof(js), "{\"pid\": %d, \"signal\": %s}", (int)kid, cases[i].sig);
		cr_assert_eq(sq_call(c, "proc.signal", js, &r), 0, "%s: %s", js, r.message);
		cr_assert_eq(int_of(r.result, "pid"), kid);
		cr_assert_eq(int_of(r.result, "signal"), cases[i].want);
		sysq_reply_free(&r);
		cr_assert_eq(wait_signal(kid), cases[i].want, "%s", js);
	}
	/* signal 0: the existence and permission check */
	snprintf(js, sizeof(js), "{\"pid\": %d, \"signal\": 0}", (int)getpid());
	cr_assert_eq(sq_call(c, "proc.signal", js, &r), 0, "%s", r.message);
	sysq_reply_free(&r);
	sysq_close(c);
}

Test(proc, signal_errors)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	char js[128];
	snprintf(js, sizeof(js), "{\"pid\": %d, \"signal\": \"TERM\"}", NO_SUCH_PID);
	cr_assert_eq(sq_call(c, "proc.signal", js, &r), SYSQ_REMOTE_ERROR);
	cr_assert_str_eq(r.code, "ESRCH");
	sysq_reply_free(&r);

	/* a pid that existed: reaped, so gone (pids are not reused that fast) */
	pid_t kid = kid_spawn(sleeper, NULL);
	kill(kid, SIGKILL);
	wait_signal(kid);
	snprintf(js, sizeof(js), "{\"pid\": %d, \"signal\": \"TERM\"}", (int)kid);
	cr_assert_eq(sq_call(c, "proc.signal", js, &r), SYSQ_REMOTE_ERROR);
	cr_assert_str_eq(r.code, "ESRCH");
	sysq_reply_free(&r);

	static const char *const bad[] = {
		"{\"pid\": 0, \"signal\": \"TERM\"}", "{\"pid\": -1, \"signal\": \"TERM\"}",
		"{\"pid\": -2147483648, \"signal\": 9}", "{\"pid\": 1, \"signal\": \"FOO\"}",
		"{\"pid\": 1, \"signal\": \"SIGFOO\"}", "{\"pid\": 1, \"signal\": 1000}",
		"{\"pid\": 1, \"signal\": -1}", "{\"pid\": 1, \"signal\": 1.5}",
		"{\"pid\": 1, \"signal\": \"\"}", "{\"pid\": 1}", "{\"signal\": \"TERM\"}",
		"{\"pid\": 1, \"signal\": \"TERM\", \"group\": true}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(sq_call(c, "proc.signal", bad[i], &r), SYSQ_REMOTE_ERROR, "%s", bad[i]);
		cr_assert_str_eq(r.code, "EINVAL", "%s: %s %s", bad[i], r.code, r.message);
		sysq_reply_free(&r);
	}
	sysq_close(c);
}

struct as_nobody {
	const struct sqd *d;
	pid_t root_kid;
};

static int call_code(struct sysq *c, const char *method, const char *js, char *code)
{
	struct sysq_reply r;
	msgpack_packer *pk = sysq_begin(c, method, NULL);
	char err[128];
	msgpack_pack_array(pk, 1);
	if (sq_json_pack(pk, js, err, sizeof(err)) < 0)
		return -1;
	int rc = sysq_call_end(c, &r);
	snprintf(code, 32, "%s", rc == 0 ? "OK" : r.code);
	sysq_reply_free(&r);
	return rc;
}

/* Runs as uid 65534: refused for root's process, allowed for its own. */
static int nobody_signals(void *arg)
{
	struct as_nobody *a = arg;
	char err[256], js[128], code[32];
	struct sysq *c = sysq_connect(a->d->sock, err, sizeof(err));
	if (!c)
		return 10;
	snprintf(js, sizeof(js), "{\"pid\": %d, \"signal\": \"TERM\"}", (int)a->root_kid);
	call_code(c, "proc.signal", js, code);
	if (strcmp(code, "EPERM") != 0)
		return 11;
	snprintf(js, sizeof(js), "{\"pid\": %d, \"signal\": 0}", (int)a->root_kid);
	call_code(c, "proc.signal", js, code);
	if (strcmp(code, "EPERM") != 0)
		return 12;

	/* root's process is visible, but its exe link is not (ptrace rule) */
	struct sysq_reply r;
	msgpack_packer *pk = sysq_begin(c, "proc.get", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	sq_pack_kv_i64(pk, "pid", a->root_kid);
	if (sysq_call_end(c, &r) != 0)
		return 13;
	if (!sq_map_get(r.result, "comm") || sq_map_get(r.result, "exe"))
		return 14;
	sysq_reply_free(&r);

	pid_t mine = fork();
	if (mine < 0)
		return 15;
	if (mine == 0) {
		/* exec, so it is dumpable again (setuid() from root cleared that,
		 * and the kernel then hides exe even from the same uid) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/bin/sleep", "sleep", "1000", (char *)NULL);
		_exit(127);
	}
	char path[64], comm[32];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)mine);
	for (int i = 0; i < 1000; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, comm, sizeof(comm));
		if (fd >= 0)
			close(fd);
		if (n == 6 && memcmp(comm, "sleep\n", 6) == 0)
			break;
		nap();
	}
	pk = sysq_begin(c, "proc.get", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	sq_pack_kv_i64(pk, "pid", mine);
	int rc = sysq_call_end(c, &r);
	int exe_ok = rc == 0 && sq_map_get(r.result, "exe") != NULL;
	sysq_reply_free(&r);

	snprintf(js, sizeof(js), "{\"pid\": %d, \"signal\": \"SIGTERM\"}", (int)mine);
	call_code(c, "proc.signal", js, code);
	int st = 0;
	if (strcmp(code, "OK") != 0) {
		kill(mine, SIGKILL);
		waitpid(mine, NULL, 0);
		return 16;
	}
	waitpid(mine, &st, 0);
	sysq_close(c);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM)
		return 17;
	return exe_ok ? 0 : 18;
}

Test(proc, a_non_root_caller_is_refused_roots_process_and_may_signal_its_own)
{
	SKIP_UNLESS_ROOT();
	pid_t root_kid = kid_spawn(sleeper, NULL);
	struct as_nobody a = { &d, root_kid };
	int rc = run_as(NOBODY_UID, NOBODY_GID, nobody_signals, &a);
	cr_assert_eq(rc, 0, "step %d of nobody_signals failed", rc);
	/* root's process was not touched */
	cr_assert_eq(kill(root_kid, 0), 0);
	cr_assert_eq(waitpid(root_kid, NULL, WNOHANG), 0, "still running");
}

/* As uid 65534: no root process may show its exe link, whichever of the
 * scan's threads read it (they must all run as the caller).  sysqd itself
 * is the exception: a task may always look at its own thread group. */
static int nobody_sees_no_root_exe(void *arg)
{
	const struct sqd *dd = arg;
	char err[256];
	struct sysq *c = sysq_connect(dd->sock, err, sizeof(err));
	if (!c)
		return 10;
	struct sysq_reply r;
	msgpack_packer *pk = sysq_begin(c, "proc.list", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	sq_pack_cstr(pk, "fields");
	msgpack_pack_array(pk, 2);
	sq_pack_cstr(pk, "uid");
	sq_pack_cstr(pk, "exe");
	if (sysq_call_end(c, &r) != 0)
		return 11;
	const msgpack_object *ps = sq_map_get(r.result, "procs");
	uint32_t roots = 0;
	for (uint32_t i = 0; ps && i < ps->via.array.size; i++) {
		const msgpack_object *p = &ps->via.array.ptr[i];
		const msgpack_object *uid = sq_map_get(p, "uid");
		if (!uid || uid->via.u64 != 0)
			continue;
		if (sq_map_get(p, "pid")->via.u64 == (uint64_t)dd->pid)
			continue;
		roots++;
		if (sq_map_get(p, "exe"))
			return 12;
	}
	sysq_reply_free(&r);
	sysq_close(c);
	return roots >= 300 ? 0 : 13;
}

Test(proc, a_split_scan_still_runs_as_the_caller)
{
	SKIP_UNLESS_ROOT();
	for (int i = 0; i < 300; i++) /* enough for the scan to be split */
		kid_sleeper();
	int rc = run_as(NOBODY_UID, NOBODY_GID, nobody_sees_no_root_exe, &d);
	cr_assert_eq(rc, 0, "step %d of nobody_sees_no_root_exe failed", rc);
}

/* A sysqd in its own mount namespace whose /proc is mounted hidepid=1
 * ("noaccess"): other users' /proc/PID directories are listed but cannot be
 * read.  Exit status 77 from the child: this system does not allow it. */
static int start_hidepid_sqd(struct sqd *h)
{
	const char *bin = getenv("SQ_SYSQD");
	cr_assert(bin);
	snprintf(h->dir, sizeof(h->dir), "/tmp/sysq-hidepid.XXXXXX");
	cr_assert(mkdtemp(h->dir));
	chmod(h->dir, 0755);
	snprintf(h->sock, sizeof(h->sock), "%s/sysqd.sock", h->dir);
	snprintf(h->log, sizeof(h->log), "%s/sysqd.log", h->dir);
	h->pid = fork();
	cr_assert_geq(h->pid, 0);
	if (h->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(h->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0)
			dup2(fd, 2);
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		          "hidepid=1") < 0) {
			fprintf(stderr, "hidepid /proc: %s\n", strerror(errno));
			_exit(77);
		}
		execl(bin, bin, "-s", h->sock, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1000; i++) {
		if (sqd_connectable(h->sock)) /* listening, not only bound (valgrind is slow) */
			return 0;
		int status;
		if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
			h->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		}
		nap();
		nap();
		nap();
		nap();
		nap();
	}
	return -1;
}

struct hide_check {
	const struct sqd *h;
	pid_t root_pid;
};

/* As uid 65534 under hidepid=1: root's process is listed with its pid and
 * nothing else; our own is complete. */
static int nobody_under_hidepid(void *arg)
{
	const struct hide_check *hc = arg;
	char err[256];
	/* setuid() from root left us non-dumpable, which hides us even from
	 * our own uid: undo that, as exec would */
	if (prctl(PR_SET_DUMPABLE, 1) < 0)
		return 9;
	struct sysq *c = sysq_connect(hc->h->sock, err, sizeof(err));
	if (!c)
		return 10;
	struct sysq_reply r;
	msgpack_packer *pk = sysq_begin(c, "proc.list", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	sq_pack_cstr(pk, "fields");
	msgpack_pack_array(pk, 3);
	sq_pack_cstr(pk, "comm");
	sq_pack_cstr(pk, "uid");
	sq_pack_cstr(pk, "args");
	if (sysq_call_end(c, &r) != 0)
		return 11;
	const msgpack_object *ps = sq_map_get(r.result, "procs");
	int saw_root = 0, saw_me = 0;
	for (uint32_t i = 0; ps && i < ps->via.array.size; i++) {
		const msgpack_object *p = &ps->via.array.ptr[i];
		uint64_t pid = sq_map_get(p, "pid")->via.u64;
		if (pid == (uint64_t)hc->root_pid) {
			saw_root = 1;
			if (p->via.map.size != 1)
				return 12; /* hidden fields are absent, not made up */
		} else if (pid == (uint64_t)getpid()) {
			saw_me = 1;
			if (!sq_map_get(p, "comm") || !sq_map_get(p, "args") ||
			    sq_map_get(p, "uid")->via.u64 != NOBODY_UID)
				return 13;
		}
	}
	sysq_reply_free(&r);
	/* and proc.get agrees */
	pk = sysq_begin(c, "proc.get", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	sq_pack_kv_i64(pk, "pid", hc->root_pid);
	if (sysq_call_end(c, &r) != 0 || r.result->via.map.size != 1)
		return 14;
	sysq_reply_free(&r);
	sysq_close(c);
	return saw_root && saw_me ? 0 : 15;
}

Test(proc, what_hidepid_hides_from_the_caller_is_absent)
{
	SKIP_UNLESS_ROOT();
	struct sqd h;
	memset(&h, 0, sizeof(h));
	int rc = start_hidepid_sqd(&h);
	if (rc == 77) {
		char *log = slurp(h.log);
		unlink(h.log);
		rmdir(h.dir);
		cr_skip_test("SKIPPED: cannot mount a hidepid /proc in a mount namespace: %s", log);
	}
	cr_assert_eq(rc, 0, "sysqd with a hidepid /proc did not start (%d)", rc);
	struct hide_check hc = { &h, getpid() };
	int st = run_as(NOBODY_UID, NOBODY_GID, nobody_under_hidepid, &hc);

	/* root still sees everything of itself */
	struct sysq *c = sqd_connect(&h);
	struct sysq_reply r;
	char js[64];
	snprintf(js, sizeof(js), "{\"pid\": %d}", (int)getpid());
	int rc2 = sq_call(c, "proc.get", js, &r);
	int full = rc2 == 0 && sq_map_get(r.result, "comm") && sq_map_get(r.result, "exe");
	sysq_reply_free(&r);
	sysq_close(c);
	sqd_stop_clean(&h);
	cr_assert_eq(st, 0, "step %d of nobody_under_hidepid failed", st);
	cr_assert(full, "root's own process is complete");
}

Test(proc, ping_behind_a_list_is_answered_and_both_arrive)
{
	struct sysq *c = sqd_connect(&d);
	uint32_t list_id, ping_id;
	msgpack_packer *pk = sysq_begin(c, "proc.list", &list_id);
	msgpack_pack_array(pk, 0);
	pk = sysq_begin(c, "sys.ping", &ping_id);
	msgpack_pack_array(pk, 0);
	cr_assert_eq(sysq_flush(c), 0);
	int got_list = 0, got_ping = 0;
	for (int i = 0; i < 2; i++) {
		struct sysq_reply r;
		cr_assert_eq(sysq_read(c, &r), 0);
		cr_assert(!r.is_error, "%s %s", r.code, r.message);
		if (r.msgid == ping_id) {
			cr_assert(sq_obj_streq(r.result, "pong"));
			got_ping++;
		} else {
			cr_assert_eq(r.msgid, list_id);
			cr_assert(find_proc(r.result, getpid()));
			got_list++;
		}
		sysq_reply_free(&r);
	}
	cr_assert(got_list == 1 && got_ping == 1);
	sysq_close(c);
}

Test(proc, a_thousand_processes_fit_in_one_reply)
{
	enum { N = 1000 };
	static pid_t kids[N];
	for (int i = 0; i < N; i++) /* no readiness pipe: existence is enough */
		kids[i] = kid_sleeper();
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "proc.list", NULL, &r), 0, "%s: %s", r.code, r.message);
	const msgpack_object *ps = sq_map_get(r.result, "procs");
	cr_assert_geq(ps->via.array.size, N);
	for (int i = 0; i < N; i++)
		cr_assert(find_proc(r.result, kids[i]), "child %d listed", kids[i]);
	sysq_reply_free(&r);
	sysq_close(c);
	cleanup();
}

Test(proc, an_oversized_result_is_E2BIG_not_a_dropped_connection)
{
	struct sqd small;
	static const char *const args[] = { "--max-output", "8192", NULL };
	sqd_start(&small, args);
	struct sysq *c = sqd_connect(&small);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "proc.list", NULL, &r), SYSQ_REMOTE_ERROR);
	cr_assert_str_eq(r.code, "E2BIG");
	cr_assert(strstr(r.message, "fields"), "says how to narrow it: %s", r.message);
	sysq_reply_free(&r);
	/* narrowed, it fits; the connection is still fine */
	char js[64];
	snprintf(js, sizeof(js), "{\"pid\": [%d]}", (int)getpid());
	cr_assert_eq(sq_call(c, "proc.list", js, &r), 0, "%s", r.message);
	sysq_reply_free(&r);
	sysq_close(c);
	sqd_stop_clean(&small);
}

Test(proc, methods_are_pool_and_as_caller)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.methods", NULL, &r), 0);
	const msgpack_object *ms = sq_map_get(r.result, "methods");
	int found = 0;
	for (uint32_t i = 0; i < ms->via.array.size; i++) {
		const msgpack_object *m = &ms->via.array.ptr[i];
		const msgpack_object *name = sq_map_get(m, "name");
		if (name->via.str.size < 5 || memcmp(name->via.str.ptr, "proc.", 5) != 0)
			continue;
		found++;
		cr_assert(sq_obj_streq(sq_map_get(m, "runs_on"), "pool"));
		cr_assert(sq_obj_streq(sq_map_get(m, "access"), "as-caller"));
	}
	cr_assert_eq(found, 3);
	sysq_reply_free(&r);
	sysq_close(c);
}

/* ---- proc.signal never reaches sysqd's own ------------------------------- */

/* A bound on every reply below: a worker parked for good shows as a missing
 * reply (a failed test), not as a hung one.  Generous, not a timing. */
static void reply_deadline(struct sysq *c)
{
	struct timeval tv = { 10, 0 };
	setsockopt(sysq_fd(c), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static pid_t next_pid(void)
{
	char buf[32];
	int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return (pid_t)atoi(buf) + 1;
}

/* As uid 65534: proc.signal STOP to the next pid the kernel hands out,
 * which is, unless another fork comes first, the helper sysqd forks to send
 * it.  Each on its own connection, until more hits than one uid's share of
 * the engine.  Exit: the hits refused as sysqd's own (< 100); 100 + hits
 * when a reply went missing (a parked worker); 90s when the test could not
 * run.  A miss that stopped some other process of uid 65534 continues it. */
static int next_pid_stop_attack(void *arg)
{
	const struct sqd *dd = arg;
	int hits = 0;
	for (int attempt = 0; attempt < 200 && hits <= SQ_ENGINE_SHARE + 1; attempt++) {
		char err[256], js[96];
		struct sysq *c = sysq_connect(dd->sock, err, sizeof(err));
		if (!c)
			return 90;
		reply_deadline(c);
		pid_t pid = next_pid();
		if (pid <= 0)
			return 91;
		snprintf(js, sizeof(js), "{\"pid\": %d, \"signal\": \"STOP\"}", (int)pid);
		struct sysq_reply r;
		int rc = sq_call(c, "proc.signal", js, &r);
		if (rc < 0) { /* no reply: the helper stopped itself; free the worker */
			kill(pid, SIGKILL);
			return 100 + hits;
		}
		if (rc == SYSQ_REMOTE_ERROR && strcmp(r.code, "EPERM") == 0 &&
		    strstr(r.message, "sysqd"))
			hits++;
		else if (rc == 0)
			kill(pid, SIGCONT);
		sysq_reply_free(&r);
		sysq_close(c);
	}
	return hits;
}

Test(proc, the_helper_that_signals_is_never_its_own_target, .timeout = 90)
{
	SKIP_UNLESS_ROOT();
	int rc = run_as(NOBODY_UID, NOBODY_GID, next_pid_stop_attack, &d);
	cr_assert_lt(rc, 100, "a proc.signal to the next pid got no reply after %d refused: "
	             "the helper stopped itself and parks a worker", rc - 100);
	cr_assert_lt(rc, 90, "the attack could not run (step %d)", rc);
	cr_assert_gt(rc, SQ_ENGINE_SHARE, "only %d of the attempts hit the helper", rc);

	/* the engine still serves everyone, and sysqd still stops (.fini) */
	struct sysq *c = sqd_connect(&d);
	reply_deadline(c);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "proc.get", "{\"pid\": 1}", &r), 0, "proc.get: %s", r.message);
	sysq_reply_free(&r);
	cr_assert_eq(sq_call(c, "xattr.list", "{\"path\": \"/tmp\"}", &r), 0, "xattr.list: %s",
	             r.message);
	sysq_reply_free(&r);
	cr_assert_eq(sq_call(c, "sys.ping", NULL, &r), 0);
	sysq_reply_free(&r);
	sysq_close(c);
}

static int signal_sysqd_as_nobody(void *arg)
{
	const struct sqd *dd = arg;
	char err[256], js[96];
	struct sysq *c = sysq_connect(dd->sock, err, sizeof(err));
	if (!c)
		return 10;
	reply_deadline(c);
	snprintf(js, sizeof(js), "{\"pid\": %d, \"signal\": \"STOP\"}", (int)dd->pid);
	struct sysq_reply r;
	int rc = sq_call(c, "proc.signal", js, &r);
	int out = rc == SYSQ_REMOTE_ERROR && strcmp(r.code, "EPERM") == 0 &&
	          strstr(r.message, "sysqd") ? 0 : 11;
	sysq_reply_free(&r);
	sysq_close(c);
	return out;
}

/* A thread of sysqd other than the main one (the pool exists by now). */
static pid_t a_sysqd_thread(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	cr_assert(dir, "%s: %s", path, strerror(errno));
	pid_t tid = 0;
	for (struct dirent *e; (e = readdir(dir)) && !tid;)
		if (atoi(e->d_name) > 0 && atoi(e->d_name) != pid)
			tid = (pid_t)atoi(e->d_name);
	closedir(dir);
	cr_assert_gt(tid, 0, "sysqd has a second thread");
	return tid;
}

Test(proc, sysqd_and_its_threads_are_never_signalled_for_a_caller)
{
	SKIP_UNLESS_ROOT();
	struct sysq *c = sqd_connect(&d);
	reply_deadline(c);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "proc.get", "{\"pid\": 1}", &r), 0); /* starts the pool */
	sysq_reply_free(&r);
	char js[96];
	pid_t targets[] = { d.pid, a_sysqd_thread(d.pid) };
	for (size_t i = 0; i < 2; i++) {
		/* signal 0 (an existence check): what root may send to anything */
		snprintf(js, sizeof(js), "{\"pid\": %d, \"signal\": 0}", (int)targets[i]);
		cr_assert_eq(sq_call(c, "proc.signal", js, &r), SYSQ_REMOTE_ERROR,
		             "root signalled sysqd's %s %d", i ? "thread" : "process",
		             (int)targets[i]);
		cr_assert_str_eq(r.code, "EPERM");
		cr_assert(strstr(r.message, "sysqd"), "%s", r.message);
		sysq_reply_free(&r);
	}
	sysq_close(c);
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, signal_sysqd_as_nobody, &d), 0,
	             "uid 65534 is told that sysqd does not signal itself");
	assert_alive(&d);
}

/* ---- the CLI ---------------------------------------------------------- */

Test(proc, sysq_ps_and_kill)
{
	static char out[1 << 20];
	pid_t kid = start_hostile_exe();
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "%s 2>&1", "ps"), 0, "%s", out);
	cr_assert(strncmp(out + strspn(out, " "), "PID ", 4) == 0, "%.200s", out);
	cr_assert(strstr(out, "COMMAND"));
	char line[256];
	snprintf(line, sizeof(line), "%s", hostile_exe);
	char *nl = strchr(line, '\n');
	cr_assert(nl);
	/* the newline in the name is shown escaped: one line per process */
	snprintf(nl, sizeof(line) - (size_t)(nl - line), "\\x0a(c 1000\n");
	cr_assert(strstr(out, line), "ps shows '%s' in:\n%.2000s", line, out);

	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "%s 2>&1", "ps --sort bogus"), 2);
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "%s 2>&1", "ps -u no-such-user-here"), 2);
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "%s 2>&1", "ps --json"), 0);
	cr_assert(strstr(out, "\"procs\""));

	char args[128];
	snprintf(args, sizeof(args), "kill -FOO %d", (int)kid);
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "%s 2>&1", args), 1, "%s", out);
	cr_assert(strstr(out, "EINVAL"), "%s", out);
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "%s 2>&1", "kill abc"), 2);
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "%s 2>&1", "kill"), 2);
	snprintf(args, sizeof(args), "kill -- -%d", (int)getpgrp());
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "%s 2>&1", args), 1, "negative pids are refused: %s", out);
	cr_assert(strstr(out, "EINVAL"));
	snprintf(args, sizeof(args), "kill -USR1 %d %d", (int)kid, NO_SUCH_PID);
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "%s 2>&1", args), 1, "%s", out);
	cr_assert(strstr(out, "ESRCH"), "%s", out);
	cr_assert_eq(wait_signal(kid), SIGUSR1);
}

/* A uid 65534 child holding about arg MiB of touched memory (its RSS). */
static void nobody_holding(void *arg)
{
	size_t mib = (size_t)(uintptr_t)arg;
	if (setgroups(0, NULL) < 0 || setgid(NOBODY_GID) < 0 || setuid(NOBODY_UID) < 0)
		_exit(3);
	volatile char *p = malloc(mib << 20);
	if (!p)
		_exit(4);
	for (size_t i = 0; i < mib << 20; i += 4096)
		p[i] = 1; /* volatile: the pages are really touched */
	kid_ready();
	for (;;)
		pause();
}

/* One row of `sysq ps`: PID PPID USER S RSS TIME COMMAND. */
struct ps_row {
	int pid, ppid;
	char user[64];
};

/* The rows of `sysq ps ARGS` after its header, in order; their count. */
static size_t ps_rows(const char *args, struct ps_row *rows, size_t max)
{
	static char out[1 << 20];
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "%s 2>&1", args), 0, "sysq %s: %s", args, out);
	char *line = strchr(out, '\n');
	cr_assert(line, "sysq %s: no header: %s", args, out);
	char h[3][8];
	cr_assert(sscanf(out, "%7s %7s %7s", h[0], h[1], h[2]) == 3 && strcmp(h[0], "PID") == 0 &&
	          strcmp(h[1], "PPID") == 0 && strcmp(h[2], "USER") == 0, "%.200s", out);
	size_t n = 0;
	while (line && line[1] && n < max) {
		line++;
		struct ps_row *w = &rows[n];
		cr_assert_eq(sscanf(line, "%d %d %63s", &w->pid, &w->ppid, w->user), 3,
		             "sysq %s: a row that is not PID PPID USER ...: %.100s", args, line);
		n++;
		line = strchr(line, '\n');
	}
	return n;
}

static size_t row_of(const struct ps_row *rows, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].pid == pid)
			return i;
	cr_assert_fail("pid %d is not among the %zu rows", (int)pid, n);
	return n;
}

/* --sort and -u checked against processes the test made: three uid 65534
 * children holding 8, 32 and 96 MiB, started in an order that is none of
 * the sorted ones. */
Test(proc, sysq_ps_sorts_and_filters_what_the_test_made)
{
	SKIP_UNLESS_ROOT();
	static const size_t mib[3] = { 32, 96, 8 };
	pid_t kid[3];
	for (int i = 0; i < 3; i++)
		kid[i] = kid_spawn(nobody_holding, (void *)(uintptr_t)mib[i]);
	static struct ps_row rows[8192];

	/* -u: every row is uid 65534's, ours among them, root's pid 1 not */
	size_t n = ps_rows("ps -u 65534 --sort -rss", rows, 8192);
	for (size_t i = 0; i < n; i++) {
		cr_assert_neq(rows[i].pid, 1, "-u 65534 lists init");
		cr_assert_str_eq(rows[i].user, rows[0].user, "-u 65534 lists %s's pid %d",
		                 rows[i].user, rows[i].pid);
	}
	size_t at[3];
	for (int i = 0; i < 3; i++) {
		at[i] = row_of(rows, n, kid[i]);
		cr_assert_eq(rows[at[i]].ppid, getpid(), "PPID of %d", (int)kid[i]);
	}
	/* -rss: largest first (96, 32, 8 MiB) */
	cr_assert(at[1] < at[0] && at[0] < at[2], "--sort -rss puts 96 MiB (row %zu) before "
	          "32 MiB (row %zu) before 8 MiB (row %zu)", at[1], at[0], at[2]);
	n = ps_rows("ps --user 65534 --sort rss", rows, 8192);
	for (int i = 0; i < 3; i++)
		at[i] = row_of(rows, n, kid[i]);
	cr_assert(at[2] < at[0] && at[0] < at[1], "--sort rss: smallest first");

	/* --sort=pid, and -u by name: root's processes, ours not among them */
	n = ps_rows("ps -u root --sort=pid", rows, 8192);
	cr_assert_gt(n, 0);
	cr_assert_eq(rows[0].pid, 1, "init first by pid");
	for (size_t i = 0; i < n; i++) {
		cr_assert_str_eq(rows[i].user, "root");
		cr_assert(i == 0 || rows[i].pid > rows[i - 1].pid, "--sort=pid: %d after %d",
		          rows[i].pid, rows[i - 1].pid);
		for (int k = 0; k < 3; k++)
			cr_assert_neq(rows[i].pid, kid[k], "-u root lists a uid 65534 child");
	}
	n = ps_rows("ps --sort -pid", rows, 8192);
	for (size_t i = 1; i < n; i++)
		cr_assert_lt(rows[i].pid, rows[i - 1].pid, "--sort -pid: descending");
}

#endif /* __linux__ */
