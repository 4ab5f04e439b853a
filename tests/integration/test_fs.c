/* SPDX-License-Identifier: ISC */
/*
 * test_fs.c - fs.list and fs.stat against a real sysqd, for real: in a
 * private mount namespace (this test process unshares; sysqd and the FUSE
 * server are its children, killed by the kernel if it dies), a tmpfs of a
 * known size on a mount point named with a space, tab, newline and
 * backslash, and a FUSE file system whose statfs never returns
 * (fuse_hang.py) standing in for a dead NFS server.  The FUSE server is
 * SIGKILLed in .fini on every path, before sysqd is stopped.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "json.h"
#include "engine.h"   /* SQ_ENGINE_THREADS */
#include "prober.h"
#include "sq_fs.h"
#include "sq_proto.h"

#define TMPFS_BYTES (16u << 20)
#define MP_NAME     "a b\tc\nd\\e"   /* space, tab, newline, backslash */

static struct sqd d;
static char top[40];          /* private dir for everything below */
static char tmpfs_mp[128];
static char fuse_mp[128];
static char release_file[128];
static char fuse_log[128];
static char bin_mp[128];
static bool top_mounted;
static pid_t fuse_pid;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- setup and teardown -------------------------------------------------- */

static void kill_fuse(void)
{
	fuse_hang_kill(&fuse_pid);
}

/* Detach every mount below top (covered ones too: repeat until none). */
static void umount_below_top(void)
{
	size_t n = strlen(top);
	for (int round = 0; round < 10; round++) {
		struct sq_mount_table *t = NULL;
		if (sq_fs_mounts(&t) < 0)
			return;
		int found = 0;
		for (size_t i = t->n; i-- > 0;) {
			const char *mp = t->m[i].mountpoint;
			if (strncmp(mp, top, n) == 0 && mp[n] == '/') {
				umount2(mp, MNT_DETACH);
				found++;
			}
		}
		sq_fs_mounts_release(t);
		if (!found)
			return;
	}
}

static void teardown(void)
{
	/* the FUSE server first: it holds the kernel (and sysqd's stuck probe) */
	kill_fuse();
	if (d.pid > 0)
		sqd_stop_clean(&d);
	if (top[0])
		umount_below_top();
	if (fuse_mp[0])
		rmdir(fuse_mp);
	if (bin_mp[0])
		rmdir(bin_mp);
	if (top[0]) {
		char late[160];
		snprintf(late, sizeof(late), "%s/late", top);
		rmdir(late);
	}
	if (tmpfs_mp[0])
		rmdir(tmpfs_mp);
	if (release_file[0])
		unlink(release_file);
	if (fuse_log[0])
		unlink(fuse_log);
	if (top_mounted)
		umount2(top, MNT_DETACH);
	if (top[0])
		rmdir(top);
}

/* A private mount namespace for this test process, with a 16 MiB tmpfs
 * mounted on top/"a b\tc\nd\\e". */
static void ns_up(void)
{
	/* our work area is a tmpfs of this namespace: whatever the test leaves
	 * there, even when it is killed on a timeout (no .fini then), goes away
	 * with the namespace; only the empty directory under it can remain.
	 * (Not a tmpfs over all of /tmp: the tree under test may live there.) */
	ns_private_tmpfs(top, sizeof(top), "sysq-fs-test");
	top_mounted = true;
	snprintf(tmpfs_mp, sizeof(tmpfs_mp), "%s/%s", top, MP_NAME);
	cr_assert_eq(mkdir(tmpfs_mp, 0755), 0);
	cr_assert_eq(mount("sysq-tmpfs", tmpfs_mp, "tmpfs", 0, "size=16m,mode=0755"), 0,
	             "mount tmpfs: %s", strerror(errno));
}

/* Like sqd_start, but sysqd dies with this process (PR_SET_PDEATHSIG), so
 * nothing outlives a test that is killed on a timeout. */
static void start_sysqd(void)
{
	const char *bin = getenv("SQ_SYSQD");
	cr_assert(bin, "SQ_SYSQD must name the sysqd binary (tests/run-all.sh sets it)");
	snprintf(d.dir, sizeof(d.dir), "%s/d", top); /* inside the namespace's tmpfs */
	cr_assert_eq(mkdir(d.dir, 0755), 0, "mkdir %s: %s", d.dir, strerror(errno));
	snprintf(d.sock, sizeof(d.sock), "%s/sysqd.sock", d.dir);
	snprintf(d.log, sizeof(d.log), "%s/sysqd.log", d.dir);
	pid_t parent = getpid();
	d.pid = fork();
	cr_assert(d.pid >= 0);
	if (d.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		int fd = open(d.log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		execl(bin, bin, "-s", d.sock, "-vv", (char *)NULL);
		_exit(127);
	}
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

/* Mount fuse_hang.py on top/"fuse mnt"; its statfs waits for release_file. */
static void start_fuse(void)
{
	snprintf(fuse_mp, sizeof(fuse_mp), "%s/fuse mnt", top);
	snprintf(release_file, sizeof(release_file), "%s/release", top);
	snprintf(fuse_log, sizeof(fuse_log), "%s/fuse.log", top);
	fuse_pid = fuse_hang_start(fuse_mp, release_file, fuse_log);
}

/* ---- reading answers ----------------------------------------------------- */

static bool bytes_eq(const msgpack_object *o, const char *p, size_t n)
{
	return o && (o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN) &&
	       o->via.str.size == n && memcmp(o->via.str.ptr, p, n) == 0;
}

static const msgpack_object *entry(const msgpack_object *result, const char *mp)
{
	const msgpack_object *ms = sq_map_get(result, "mounts");
	cr_assert(ms && ms->type == MSGPACK_OBJECT_ARRAY, "no mounts array");
	for (uint32_t i = 0; i < ms->via.array.size; i++)
		if (bytes_eq(sq_map_get(&ms->via.array.ptr[i], "mountpoint"), mp, strlen(mp)))
			return &ms->via.array.ptr[i];
	return NULL;
}

static uint64_t u64(const msgpack_object *m, const char *key)
{
	const msgpack_object *o = sq_map_get(m, key);
	cr_assert(o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER, "%s is not a uint", key);
	return o->via.u64;
}

static void assert_state(const msgpack_object *m, const char *state, const char *err)
{
	cr_assert(m, "mount missing from the answer");
	cr_assert(sq_obj_streq(sq_map_get(m, "state"), state), "state is not %s", state);
	if (err)
		cr_assert(sq_obj_streq(sq_map_get(m, "error"), err), "error is not %s", err);
	else
		cr_assert_null(sq_map_get(m, "error"));
}

static void list(struct sysq *c, const char *params, struct sysq_reply *r)
{
	int rc = sq_call(c, "fs.list", params, r);
	cr_assert_eq(rc, 0, "fs.list %s: %s %s", params ? params : "", r->code, r->message);
}

static void assert_tmpfs_ok(const msgpack_object *m)
{
	assert_state(m, "ok", NULL);
	cr_assert_eq(u64(m, "total_bytes"), TMPFS_BYTES);
	cr_assert_eq(u64(m, "block_size"), (uint64_t)sysconf(_SC_PAGESIZE));
	cr_assert_leq(u64(m, "free_bytes"), TMPFS_BYTES);
	cr_assert_leq(u64(m, "avail_bytes"), u64(m, "free_bytes"));
	cr_assert_gt(u64(m, "files"), 0);
	cr_assert(sq_obj_streq(sq_map_get(m, "fstype"), "tmpfs"));
	cr_assert(sq_obj_streq(sq_map_get(m, "source"), "sysq-tmpfs"));
	const msgpack_object *ro = sq_map_get(m, "readonly");
	cr_assert(ro && ro->type == MSGPACK_OBJECT_BOOLEAN && !ro->via.boolean);
}

/* Poll sys.stats until field == want (a stuck call returning is not
 * instantaneous); fails after 10 s. */
static void wait_stat(const char *field, long long want)
{
	long long v = -1;
	for (int i = 0; i < 1000; i++) {
		v = sqd_stat(&d, field);
		if (v == want)
			return;
		sleep_ms(10);
	}
	cr_assert_fail("sys.stats %s stayed %lld, expected %lld", field, v, want);
}

TestSuite(fs, .fini = teardown, .timeout = 120);

/* ---- tmpfs, names, bytes --------------------------------------------------- */

Test(fs, list_reports_a_tmpfs_of_known_size_on_a_strange_name)
{
	ns_up();
	start_sysqd();
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	list(c, NULL, &r);
	const msgpack_object *m = entry(r.result, tmpfs_mp);
	cr_assert(m, "the tmpfs on '%s' is not listed", tmpfs_mp);
	assert_tmpfs_ok(m);
	cr_assert_eq(sq_map_get(m, "mountpoint")->type, MSGPACK_OBJECT_STR, "UTF-8: a str");
	const msgpack_object *opts = sq_map_get(m, "options");
	cr_assert(opts && opts->type == MSGPACK_OBJECT_ARRAY && opts->via.array.size >= 2);
	cr_assert(sq_obj_streq(&opts->via.array.ptr[0], "rw"));
	bool size_opt = false;
	for (uint32_t i = 0; i < opts->via.array.size; i++)
		size_opt |= sq_obj_streq(&opts->via.array.ptr[i], "size=16384k");
	cr_assert(size_opt, "the size option is listed");
	uint64_t free0 = u64(m, "free_bytes");
	sysq_reply_free(&r);

	/* a MiB written there shows in the daemon's figures */
	char file[200];
	snprintf(file, sizeof(file), "%s/data", tmpfs_mp);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert(fd >= 0);
	static char mib[1 << 20];
	memset(mib, 'x', sizeof(mib));
	cr_assert_eq(write(fd, mib, sizeof(mib)), (ssize_t)sizeof(mib));
	close(fd);
	list(c, NULL, &r);
	m = entry(r.result, tmpfs_mp);
	assert_tmpfs_ok(m);
	cr_assert_leq(u64(m, "free_bytes") + sizeof(mib), free0, "1 MiB less free");
	sysq_reply_free(&r);

	/* fs.stat of that file: the same file system, the same figures */
	char params[400];
	snprintf(params, sizeof(params), "{\"path\": \"%s/%s\"}", top, "a b\\tc\\nd\\\\e/data");
	cr_assert_eq(sq_call(c, "fs.stat", params, &r), 0, "%s %s", r.code, r.message);
	assert_tmpfs_ok(r.result);
	cr_assert(bytes_eq(sq_map_get(r.result, "mountpoint"), tmpfs_mp, strlen(tmpfs_mp)));
	sysq_reply_free(&r);
	unlink(file);
	sysq_close(c);
}

Test(fs, a_mount_point_that_is_not_utf8_comes_as_bin)
{
	ns_up();
	char *mp = bin_mp;
	snprintf(bin_mp, sizeof(bin_mp), "%s/\xff\xfe", top);
	cr_assert_eq(mkdir(mp, 0755), 0);
	int rc = mount("sysq-bin", mp, "tmpfs", 0, "size=1m");
	cr_assert_eq(rc, 0, "mount: %s", strerror(errno));
	start_sysqd();
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	list(c, NULL, &r);
	const msgpack_object *m = entry(r.result, mp);
	cr_assert(m, "the mount is listed");
	cr_assert_eq(sq_map_get(m, "mountpoint")->type, MSGPACK_OBJECT_BIN);
	cr_assert_eq(u64(m, "total_bytes"), 1u << 20);
	sysq_reply_free(&r);
	sysq_close(c);
}

Test(fs, pseudo_and_covered_file_systems_only_with_all)
{
	ns_up();
	/* cover the tmpfs with another one on the same path */
	cr_assert_eq(mount("sysq-cover", tmpfs_mp, "tmpfs", 0, "size=2m"), 0, "%s",
	             strerror(errno));
	start_sysqd();
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	list(c, NULL, &r);
	const msgpack_object *ms = sq_map_get(r.result, "mounts");
	int on_mp = 0;
	for (uint32_t i = 0; i < ms->via.array.size; i++) {
		const msgpack_object *m = &ms->via.array.ptr[i];
		cr_assert(!sq_obj_streq(sq_map_get(m, "fstype"), "proc"), "proc without all");
		cr_assert(!sq_obj_streq(sq_map_get(m, "fstype"), "sysfs"), "sysfs without all");
		if (bytes_eq(sq_map_get(m, "mountpoint"), tmpfs_mp, strlen(tmpfs_mp))) {
			on_mp++;
			cr_assert_eq(u64(m, "total_bytes"), 2u << 20, "the one on top");
		}
	}
	cr_assert_eq(on_mp, 1, "the covered tmpfs is left out");
	sysq_reply_free(&r);

	list(c, "{\"all\": true}", &r);
	ms = sq_map_get(r.result, "mounts");
	bool proc = false;
	int covered = 0, top_one = 0;
	for (uint32_t i = 0; i < ms->via.array.size; i++) {
		const msgpack_object *m = &ms->via.array.ptr[i];
		if (sq_obj_streq(sq_map_get(m, "fstype"), "proc") &&
		    sq_obj_streq(sq_map_get(m, "mountpoint"), "/proc")) {
			proc = true;
			assert_state(m, "ok", NULL);
		}
		if (!bytes_eq(sq_map_get(m, "mountpoint"), tmpfs_mp, strlen(tmpfs_mp)))
			continue;
		if (sq_obj_streq(sq_map_get(m, "source"), "sysq-tmpfs")) {
			covered++;
			assert_state(m, "error", "ENOENT");
			cr_assert_eq(sq_map_get(m, "total_bytes")->type, MSGPACK_OBJECT_NIL);
		} else {
			top_one++;
			assert_state(m, "ok", NULL);
		}
	}
	cr_assert(proc, "all=true lists /proc");
	cr_assert_eq(covered, 1);
	cr_assert_eq(top_one, 1);
	sysq_reply_free(&r);
	sysq_close(c);
}

Test(fs, params_are_checked)
{
	sqd_start(&d, NULL);
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	static const char *const bad[][2] = {
		{ "fs.list", "{\"timeout_ms\": 0}" },
		{ "fs.list", "{\"timeout_ms\": 10001}" },
		{ "fs.list", "{\"timeout_ms\": \"5\"}" },
		{ "fs.list", "{\"all\": 1}" },
		{ "fs.list", "{\"bogus\": 1}" },
		{ "fs.stat", NULL },
		{ "fs.stat", "{\"path\": 5}" },
		{ "fs.stat", "{\"path\": \"\"}" },
		{ "fs.stat", "{\"path\": \"etc\"}" },
		{ "fs.stat", "{\"path\": \"/\", \"timeout_ms\": -1}" },
		{ "fs.stat", "{\"path\": \"/\", \"all\": true}" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(sq_call(c, bad[i][0], bad[i][1], &r), SYSQ_REMOTE_ERROR,
		             "%s %s was accepted", bad[i][0], bad[i][1]);
		cr_assert_str_eq(r.code, "EINVAL", "%s %s: %s", bad[i][0], bad[i][1], r.code);
		sysq_reply_free(&r);
	}
	cr_assert_eq(sq_call(c, "fs.stat", "{\"path\": \"/nonexistent/sysq\"}", &r),
	             SYSQ_REMOTE_ERROR);
	cr_assert_str_eq(r.code, "ENOENT");
	sysq_reply_free(&r);
	cr_assert_eq(sq_call(c, "fs.stat", "{\"path\": \"/\", \"timeout_ms\": 2000}", &r), 0);
	cr_assert(sq_obj_streq(sq_map_get(r.result, "mountpoint"), "/"));
	assert_state(r.result, "ok", NULL);
	sysq_reply_free(&r);
	sysq_close(c);
}

/* ---- as the caller --------------------------------------------------------- */

struct stat_as {
	const char *sock;
	const char *path;
	const char *want;       /* error code, or NULL for success */
};

static int stat_as_nobody(void *arg)
{
	const struct stat_as *a = arg;
	char err[256], params[300];
	struct sysq *c = sysq_connect(a->sock, err, sizeof(err));
	if (!c)
		return 10;
	struct sysq_reply r;
	snprintf(params, sizeof(params), "{\"path\": \"%s\"}", a->path);
	int rc = sq_call(c, "fs.stat", params, &r);
	int st = 0;
	if (a->want)
		st = rc == SYSQ_REMOTE_ERROR && strcmp(r.code, a->want) == 0 ? 0 : 11;
	else
		st = rc == 0 && sq_obj_streq(sq_map_get(r.result, "state"), "ok") ? 0 : 12;
	sysq_reply_free(&r);
	sysq_close(c);
	return st;
}

Test(fs, stat_looks_the_path_up_as_the_caller)
{
	SKIP_UNLESS_ROOT();
	sqd_start(&d, NULL);
	snprintf(top, sizeof(top), "/tmp/sysq-fs-test.XXXXXX");
	cr_assert(mkdtemp(top));
	chmod(top, 0700); /* root's: nobody may not pass */
	char inner[128];
	snprintf(inner, sizeof(inner), "%s/inner", top);
	cr_assert_eq(mkdir(inner, 0755), 0);

	struct stat_as a = { d.sock, inner, "EACCES" };
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, stat_as_nobody, &a), 0,
	             "nobody must get EACCES for %s", inner);
	a.path = "/";
	a.want = NULL;
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, stat_as_nobody, &a), 0,
	             "nobody may stat /");
	a.path = inner; /* root may */
	cr_assert_eq(stat_as_nobody(&a), 0, "root may stat %s", inner);
	rmdir(inner);
}

/* ---- the hung mount ------------------------------------------------------- */

/* Probe jobs of uid 0 a worker runs now (sys.stats' engine.uids). */
static unsigned long long probes_running(void)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.stats", NULL, &r), 0, "%s", r.message);
	const msgpack_object *uids = sq_map_get(sq_map_get(r.result, "engine"), "uids");
	unsigned long long n = 0;
	for (uint32_t i = 0; uids && i < uids->via.array.size; i++) {
		const msgpack_object *u = &uids->via.array.ptr[i];
		if (sq_map_get(u, "uid")->via.u64 == 0 && sq_obj_streq(sq_map_get(u, "kind"), "probe"))
			n += sq_map_get(u, "running")->via.u64;
	}
	sysq_reply_free(&r);
	sysq_close(c);
	return n;
}

Test(fs, a_hung_fuse_mount_is_stale_in_time_and_costs_one_thread)
{
	ns_up();
	start_fuse();
	start_sysqd();
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	char err[200];

	/* fs.list and a ping behind it on one connection: the ping is answered
	 * while fs.list waits for the hung mount */
	uint32_t list_id, ping_id;
	msgpack_packer *pk = sysq_begin(c, "fs.list", &list_id);
	msgpack_pack_array(pk, 1);
	cr_assert_eq(sq_json_pack(pk, "{\"timeout_ms\": 300}", err, sizeof(err)), 0);
	pk = sysq_begin(c, "sys.ping", &ping_id);
	msgpack_pack_array(pk, 0);
	double t0 = now_ms();
	cr_assert_eq(sysq_flush(c), 0);
	cr_assert_eq(sysq_read(c, &r), 0);
	cr_assert_eq(r.msgid, ping_id, "the ping is answered first");
	cr_assert(sq_obj_streq(r.result, "pong"));
	sysq_reply_free(&r);
	cr_assert_eq(sysq_read(c, &r), 0);
	double took = now_ms() - t0;
	cr_assert_eq(r.msgid, list_id);
	cr_assert(!r.is_error, "%s %s", r.code, r.message);
	/* not a speed test: the deadline is honoured (not earlier: the probe is
	 * new and stuck), and the answer comes (a hang would never) */
	cr_assert_geq(took, 300.0, "answered before the deadline: %.0f ms", took);
	cr_assert_lt(took, 10000.0, "fs.list took %.0f ms", took);
	const msgpack_object *f = entry(r.result, fuse_mp);
	assert_state(f, "stale", "ETIMEDOUT");
	cr_assert_eq(sq_map_get(f, "total_bytes")->type, MSGPACK_OBJECT_NIL);
	cr_assert(sq_obj_streq(sq_map_get(f, "source"), "sysq-hang"));
	assert_tmpfs_ok(entry(r.result, tmpfs_mp));
	sysq_reply_free(&r);

	cr_assert_eq(sqd_stat(&d, "prober_threads"), 1, "one thread, stuck in statfs");
	cr_assert_eq(sqd_stat(&d, "stale_mounts"), 1);
	long long threads = sqd_stat(&d, "threads");

	/* again and again: answered without a new thread for the stuck mount */
	for (int i = 0; i < 20; i++) {
		list(c, "{\"timeout_ms\": 300}", &r);
		assert_state(entry(r.result, fuse_mp), "stale", "ETIMEDOUT");
		assert_tmpfs_ok(entry(r.result, tmpfs_mp));
		sysq_reply_free(&r);
	}
	cr_assert_eq(sqd_stat(&d, "prober_threads"), 1, "20 calls later: still one");
	cr_assert_eq(sqd_stat(&d, "stale_mounts"), 1);
	/* the process: the stuck thread counted in `threads` already, plus at
	 * most the engine's idle ones (one of them possibly still awake) */
	cr_assert_leq(sqd_stat(&d, "threads"), threads + SQ_ENGINE_THREADS + 1,
	              "the daemon's threads grew with the calls");

	/* the CLI: df's table, the hung mount marked, on time */
	const char *sysq_bin = getenv("SQ_SYSQ");
	cr_assert(sysq_bin, "SQ_SYSQ must name the sysq binary (tests/run-all.sh sets it)");
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "%s -s %s df -T --timeout 300", sysq_bin, d.sock);
	FILE *p = popen(cmd, "r");
	cr_assert(p, "popen %s", cmd);
	char out[8192];
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "sysq df: status %d (1: a file system "
	          "could not be read): %s", st, out);
	cr_assert(strncmp(out, "Filesystem", 10) == 0 && strstr(out, "Type") &&
	          strstr(out, "Use%") && strstr(out, "Mounted on"), "header: %s", out);
	char want[200];
	snprintf(want, sizeof(want), "%s/fuse mnt (stale: ETIMEDOUT)\n", top);
	cr_assert(strstr(out, want), "no stale line '%s' in:\n%s", want, out);
	const char *t = strstr(out, "sysq-tmpfs");
	cr_assert(t && strstr(t, " tmpfs ") && strstr(t, " 16M "), "tmpfs line:\n%s", out);

	/* fs.stat inside the hung mount: ETIMEDOUT, one more stuck thread, and
	 * asking again costs none */
	char params[300];
	snprintf(params, sizeof(params), "{\"path\": \"%s/fuse mnt\", \"timeout_ms\": 200}", top);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(sq_call(c, "fs.stat", params, &r), SYSQ_REMOTE_ERROR);
		cr_assert_str_eq(r.code, "ETIMEDOUT", "%s", r.message);
		sysq_reply_free(&r);
	}
	cr_assert_eq(sqd_stat(&d, "prober_threads"), 2);
	cr_assert_eq(sq_call(c, "sys.ping", NULL, &r), 0);
	sysq_reply_free(&r);

	/* other spellings of that path are other lookups, but one caller gets
	 * SQ_PROBER_PATH_PER_UID of them under way at most: the next one waits
	 * for its deadline without a thread */
	static const char *const spellings[] = { "fuse mnt/", "fuse mnt/.", "fuse mnt//",
	                                         "fuse mnt/./" };
	cr_assert_eq(SQ_PROBER_PATH_PER_UID, 4, "the spellings below assume 4");
	for (int i = 0; i < 4; i++) {
		/* the 4th finds the 4 lookups before it under way: wait until
		 * their jobs run (slow under valgrind) */
		for (int k = 0; i == 3 && k < 500 && probes_running() < 1 + SQ_PROBER_PATH_PER_UID; k++)
			usleep(10000);
		snprintf(params, sizeof(params), "{\"path\": \"%s/%s\", \"timeout_ms\": 100}",
		         top, spellings[i]);
		cr_assert_eq(sq_call(c, "fs.stat", params, &r), SYSQ_REMOTE_ERROR);
		cr_assert_str_eq(r.code, "ETIMEDOUT", "%s", r.message);
		if (i == 3)
			cr_assert(strstr(r.message, "still waiting"), "%s", r.message);
		sysq_reply_free(&r);
	}
	cr_assert_eq(sqd_stat(&d, "prober_threads"), 1 + SQ_PROBER_PATH_PER_UID);
	list(c, "{\"timeout_ms\": 300}", &r); /* fs.list is not starved */
	assert_state(entry(r.result, fuse_mp), "stale", "ETIMEDOUT");
	assert_tmpfs_ok(entry(r.result, tmpfs_mp));
	sysq_reply_free(&r);

	/* the server wakes up: the stuck calls return, their threads end, and
	 * the mount is "ok" with the figures fuse_hang.py answers */
	int fd = open(release_file, O_WRONLY | O_CREAT, 0644);
	cr_assert(fd >= 0);
	close(fd);
	wait_stat("prober_threads", 0);
	cr_assert_eq(sqd_stat(&d, "stale_mounts"), 0);
	list(c, NULL, &r);
	f = entry(r.result, fuse_mp);
	assert_state(f, "ok", NULL);
	cr_assert_eq(u64(f, "block_size"), 4096);
	cr_assert_eq(u64(f, "total_bytes"), 1234u * 4096);
	cr_assert_eq(u64(f, "free_bytes"), 1000u * 4096);
	cr_assert_eq(u64(f, "avail_bytes"), 900u * 4096);
	cr_assert_eq(u64(f, "files"), 77);
	cr_assert_eq(u64(f, "files_free"), 55);
	sysq_reply_free(&r);
	snprintf(params, sizeof(params), "{\"path\": \"%s/fuse mnt\"}", top);
	cr_assert_eq(sq_call(c, "fs.stat", params, &r), 0, "%s %s", r.code, r.message);
	cr_assert(bytes_eq(sq_map_get(r.result, "mountpoint"), fuse_mp, strlen(fuse_mp)));
	cr_assert_eq(u64(r.result, "total_bytes"), 1234u * 4096);
	sysq_reply_free(&r);
	sysq_close(c);
}

Test(fs, killing_the_fuse_server_frees_the_stuck_thread)
{
	ns_up();
	start_fuse();
	/* a mount after the hung one in the table: the worker stuck on the
	 * FUSE mount gets a helper, which probes this one in time */
	char late[160];
	snprintf(late, sizeof(late), "%s/late", top);
	cr_assert_eq(mkdir(late, 0755), 0);
	cr_assert_eq(mount("sysq-late", late, "tmpfs", 0, "size=8m"), 0, "%s", strerror(errno));
	start_sysqd();
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	list(c, "{\"timeout_ms\": 300}", &r);
	assert_state(entry(r.result, fuse_mp), "stale", "ETIMEDOUT");
	const msgpack_object *lm = entry(r.result, late);
	assert_state(lm, "ok", NULL);
	cr_assert_eq(u64(lm, "total_bytes"), 8u << 20);
	sysq_reply_free(&r);
	cr_assert_eq(sqd_stat(&d, "prober_threads"), 1);

	/* SIGKILL: the kernel fails the pending request, the thread ends */
	kill_fuse();
	wait_stat("prober_threads", 0);
	cr_assert_eq(sqd_stat(&d, "stale_mounts"), 0);
	list(c, "{\"timeout_ms\": 300}", &r);
	const msgpack_object *f = entry(r.result, fuse_mp);
	assert_state(f, "error", "ENOTCONN");
	sysq_reply_free(&r);

	/* umount -l: gone from the list */
	cr_assert_eq(umount2(fuse_mp, MNT_DETACH), 0, "%s", strerror(errno));
	list(c, "{\"timeout_ms\": 300, \"all\": true}", &r);
	cr_assert_null(entry(r.result, fuse_mp), "the detached mount is still listed");
	sysq_reply_free(&r);
	cr_assert_eq(sqd_stat(&d, "prober_threads"), 0);
	sysq_close(c);
}
