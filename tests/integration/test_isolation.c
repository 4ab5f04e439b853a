/* SPDX-License-Identifier: ISC */
/*
 * test_isolation.c - one user can never starve another: while uid 65534
 * parks requests on a FUSE mount whose lookups never return (a dead NFS
 * server's stand-in, tests/integration/fuse_hang.py), uid 1000 is served
 * by every method within a deadline, and SIGTERM still stops sysqd.  The
 * FUSE server is released and killed in every path.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "kids.h"
#include "sq_proto.h"

#ifdef __linux__

#define VICTIM 1000
#define PARKED 12          /* attacker requests, past its share of the engine */
#define DEADLINE_S 5       /* each of the victim's calls, a wait for an answer */

static struct sqd d;
static char top[96], mp[128], release_file[128], fuse_log[128], small[128];
static pid_t fuse_pid;

static void release(void)
{
	if (release_file[0]) {
		int fd = open(release_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
	}
}

static void up(void)
{
	ns_private_tmpfs(top, sizeof(top), "sysq-iso");
	snprintf(mp, sizeof(mp), "%s/mnt", top);
	snprintf(release_file, sizeof(release_file), "%s/release", top);
	snprintf(fuse_log, sizeof(fuse_log), "%s/fuse.log", top);
	snprintf(small, sizeof(small), "%s/small", top);
	int fd = open(small, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "hello", 5), 5);
	close(fd);
	fuse_pid = fuse_hang_start(mp, release_file, fuse_log);
	/* in this mount namespace: it sees the FUSE mount; a transfer that
	 * moves nothing for 2 s is dropped */
	const char *args[] = { "--write-timeout", "2", NULL };
	sqd_start(&d, args);
}

static void down(void)
{
	release();                 /* the parked calls return ... */
	kid_reap_all();
	sqd_stop_clean(&d);        /* ... so sysqd answers them and exits 0 */
	fuse_hang_kill(&fuse_pid);
	if (top[0]) {              /* the tmpfs goes with the namespace; its mount point stays */
		umount2(mp, MNT_DETACH);
		umount2(top, MNT_DETACH);
		rmdir(top);
	}
}

TestSuite(isolation, .init = up, .fini = down, .timeout = 90);

/* uid 65534: PARKED calls on paths whose lookup hangs, half xattr.list
 * (pool methods) and half file.read (its open), each on a connection of
 * its own, then wait to be killed. */
static void attacker(void *arg)
{
	(void)arg;
	become_or_exit(NOBODY_UID, NOBODY_GID);
	for (int i = 0; i < PARKED; i++) {
		char err[200], path[200];
		struct sysq *c = sysq_connect(d.sock, err, sizeof(err));
		snprintf(path, sizeof(path), "%s/hang%d", mp, i);
		if (!c || send_path_call(c, i % 2 ? "xattr.list" : "file.read", path) < 0)
			_exit(5);
		/* the connection stays open: the request stays parked */
	}
	kid_ready();
	for (;;)
		pause();
}

/* Wait until uid 65534 has its whole share of the engine parked. */
static void wait_parked(void)
{
	for (int i = 0; i < 1000; i++) {
		struct sysq *c = sqd_connect(&d);
		struct sysq_reply r;
		cr_assert_eq(sq_call(c, "sys.stats", NULL, &r), 0, "%s", r.message);
		const msgpack_object *uids = sq_map_get(sq_map_get(r.result, "engine"), "uids");
		cr_assert(uids && uids->type == MSGPACK_OBJECT_ARRAY, "sys.stats has engine.uids");
		unsigned running = 0;
		for (uint32_t k = 0; k < uids->via.array.size; k++) {
			const msgpack_object *u = &uids->via.array.ptr[k];
			if (sq_map_get(u, "uid")->via.u64 == NOBODY_UID)
				running += (unsigned)sq_map_get(u, "running")->via.u64;
		}
		sysq_reply_free(&r);
		sysq_close(c);
		if (running >= 4)
			return;
		usleep(10000);
	}
	cr_assert_fail("uid 65534's calls never filled its share of the engine");
}

static const char *const victim_calls[][2] = {
	{ "sys.ping", NULL },
	{ "sys.stats", NULL },
	{ "net.list", NULL },
	{ "net.mtu.get", "{\"name\": \"lo\"}" },
	{ "proc.list", "{\"fields\": [\"pid\"]}" },
	{ "xattr.list", "{\"path\": \"%s\"}" },
	{ "fs.stat", "{\"path\": \"%s\"}" },
	{ "file.read", "{\"path\": \"%s\"}" },
	{ "watch.subscribe", "{\"topics\": [\"mounts\"]}" },
};

/* As uid 1000: each call on a fresh connection must be answered (without
 * error) within DEADLINE_S.  Returns a bit per call that was not. */
static int victim(void *arg)
{
	(void)arg;
	int bad = 0;
	for (size_t i = 0; i < sizeof(victim_calls) / sizeof(victim_calls[0]); i++) {
		char err[200], json[300];
		struct sysq *c = sysq_connect(d.sock, err, sizeof(err));
		if (!c)
			return 1 << 30;
		struct timeval tv = { .tv_sec = DEADLINE_S };
		setsockopt(sysq_fd(c), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (victim_calls[i][1])
			snprintf(json, sizeof(json), victim_calls[i][1], small);
		struct sysq_reply r;
		int rc = sq_call(c, victim_calls[i][0], victim_calls[i][1] ? json : NULL, &r);
		if (rc != 0) {
			fprintf(stderr, "uid 1000: %s: %s\n", victim_calls[i][0],
			        rc == SYSQ_REMOTE_ERROR ? r.message : "no answer in time");
			bad |= 1 << i;
		}
		sysq_reply_free(&r);
		sysq_close(c);
	}
	return bad;
}

Test(isolation, a_hung_mount_parks_only_its_callers_share)
{
	kid_spawn(attacker, NULL);
	wait_parked();
	int bad = run_as(VICTIM, VICTIM, victim, NULL);
	cr_assert_eq(bad, 0, "uid 1000 was not served while uid 65534 parked calls on a hung "
	             "mount (bits by call: %#x; see the test log)", bad);
	/* root too */
	bad = victim(NULL);
	cr_assert_eq(bad, 0, "root was not served (bits %#x)", bad);
}

/* SIGTERM with calls stuck in the kernel: after the grace period sysqd
 * stops serving, removes its socket and says what it left.  The kernel
 * holds a thread inside a FUSE request until the server answers (a fatal
 * signal does not end that wait), so the process is reaped only once the
 * mount is released; then its exit status is 0. */
Test(isolation, sigterm_stops_sysqd_with_calls_stuck_in_the_kernel)
{
	kid_spawn(attacker, NULL);
	wait_parked();
	cr_assert_eq(kill(d.pid, SIGTERM), 0);
	char *log = NULL;
	for (int i = 0; i < 1500; i++) { /* the 5 s grace, and more under sanitizers */
		free(log);
		log = slurp(d.log);
		if (strstr(log, "left unanswered") && strstr(log, "stopped") &&
		    access(d.sock, F_OK) < 0)
			break;
		usleep(10000);
	}
	cr_assert(strstr(log, "left unanswered"), "the log says calls were left stuck:\n%s", log);
	cr_assert(strstr(log, "stopped"), "the loop ended:\n%s", log);
	cr_assert(access(d.sock, F_OK) < 0, "the socket file is removed");
	free(log);
	release();
	int st;
	cr_assert_eq(waitpid(d.pid, &st, 0), d.pid);
	d.pid = 0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sysqd exit status %d", st);
}

/* uid 65534, its share parked: 4 connections x 40 requests of 256 KiB
 * each (40 MiB) that can only wait for a worker.  The bytes are a valid
 * param (an xattr value on the hung mount): an unknown one would be refused
 * on the loop, by the method table, before it could wait. */
static void flooder(void *arg)
{
	(void)arg;
	become_or_exit(NOBODY_UID, NOBODY_GID);
	static char pad[256 << 10];
	memset(pad, 'A', sizeof(pad) - 1);
	for (int k = 0; k < 4; k++) {
		char err[200], path[200];
		struct sysq *c = sysq_connect(d.sock, err, sizeof(err));
		if (!c)
			_exit(4);
		for (int i = 0; i < 40; i++) {
			snprintf(path, sizeof(path), "%s/hang-flood-%d-%d", mp, k, i);
			msgpack_packer *pk = sysq_begin(c, "xattr.set", NULL);
			msgpack_pack_array(pk, 1);
			msgpack_pack_map(pk, 3);
			sq_pack_kv_str(pk, "path", path);
			sq_pack_kv_str(pk, "name", "user.flood");
			sq_pack_kv_str(pk, "value", pad);
			if (sysq_flush(c) < 0)
				_exit(5);
		}
	}
	kid_ready();
	for (;;)
		pause();
}

static const msgpack_object *engine_uid(const msgpack_object *engine, uid_t uid)
{
	const msgpack_object *uids = sq_map_get(engine, "uids");
	for (uint32_t k = 0; uids && k < uids->via.array.size; k++)
		if (sq_map_get(&uids->via.array.ptr[k], "uid")->via.u64 == uid)
			return &uids->via.array.ptr[k];
	return NULL;
}

/* What waits for a worker is bounded per uid: past 16 MiB of frames a
 * request is refused (EAGAIN) at once, not kept. */
Test(isolation, requests_waiting_for_a_worker_are_bounded_per_uid)
{
	kid_spawn(attacker, NULL);
	wait_parked();
	kid_spawn(flooder, NULL);
	unsigned long long refused = 0, queued = 0, cap = 0;
	for (int i = 0; i < 1000 && refused == 0; i++) {
		struct sysq *c = sqd_connect(&d);
		struct sysq_reply r;
		cr_assert_eq(sq_call(c, "sys.stats", NULL, &r), 0, "%s", r.message);
		const msgpack_object *e = sq_map_get(r.result, "engine");
		refused = sq_map_get(e, "refused")->via.u64;
		cap = sq_map_get(e, "max_queued_bytes")->via.u64;
		const msgpack_object *u = engine_uid(e, NOBODY_UID);
		queued = u ? sq_map_get(u, "queued_bytes")->via.u64 : 0;
		sysq_reply_free(&r);
		sysq_close(c);
		usleep(10000);
	}
	cr_assert_gt(refused, 0, "40 MiB of waiting requests were all kept");
	cr_assert_leq(queued, cap, "uid 65534 has %llu bytes waiting (cap %llu)", queued, cap);
	int bad = run_as(VICTIM, VICTIM, victim, NULL);
	cr_assert_eq(bad, 0, "uid 1000 was not served (bits %#x)", bad);
}

/* uid 65534: SQ_XFER_PER_UID transfers of a file whose read() hangs, each
 * announced (the response read), then nothing. */
static void hung_transfers(void *arg)
{
	int n = *(int *)arg;
	become_or_exit(NOBODY_UID, NOBODY_GID);
	for (int i = 0; i < n; i++) {
		char err[200], path[200];
		snprintf(path, sizeof(path), "%s/file%d", mp, i); /* one file each */
		struct sysq *c = sysq_connect(d.sock, err, sizeof(err));
		struct sysq_reply r;
		if (!c || send_path_call(c, "file.read", path) < 0 || sysq_read(c, &r) < 0 ||
		    r.is_error)
			_exit(5);
		sysq_reply_free(&r);
	}
	kid_ready();
	for (;;)
		pause();
}

/* As uid 65534: one more transfer is EAGAIN, naming its uid's limit. */
static int one_more_is_eagain(void *arg)
{
	(void)arg;
	char err[200], json[300];
	struct sysq *c = sysq_connect(d.sock, err, sizeof(err));
	if (!c)
		return 10;
	snprintf(json, sizeof(json), "{\"path\": \"%s\"}", small);
	struct sysq_reply r;
	int rc = sq_call(c, "file.read", json, &r);
	int bad = rc != SYSQ_REMOTE_ERROR || strcmp(r.code, "EAGAIN") != 0 ||
	          !strstr(r.message, "uid 65534");
	if (bad)
		fprintf(stderr, "uid 65534's extra transfer: %s %s\n", r.code, r.message);
	sysq_reply_free(&r);
	sysq_close(c);
	return bad;
}

Test(isolation, transfers_that_hang_hold_only_their_uids_slots_until_the_stall)
{
	int n = 4; /* SQ_XFER_PER_UID */
	kid_spawn(hung_transfers, &n);
	cr_assert_eq(sqd_stat(&d, "transfers/active"), n);
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, one_more_is_eagain, NULL), 0,
	             "uid 65534's transfer past its share is EAGAIN (see the log)");
	int bad = run_as(VICTIM, VICTIM, victim, NULL);
	cr_assert_eq(bad, 0, "uid 1000 was not served (bits %#x)", bad);
	/* the reads still hang; at the stall deadline the slots come back */
	for (int i = 0; i < 2000 && (sqd_stat(&d, "transfers/stalled") < n || sqd_stat(&d, "transfers/active") > 0); i++)
		usleep(10000);
	cr_assert_geq(sqd_stat(&d, "transfers/stalled"), n, "the hung transfers were dropped");
	cr_assert_eq(sqd_stat(&d, "transfers/active"), 0, "their slots are free");
	char *log = slurp(d.log);
	cr_assert(strstr(log, "no progress for"), "the drop is logged:\n%s", log);
	free(log);
}

#endif /* __linux__ */
