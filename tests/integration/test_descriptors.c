/* SPDX-License-Identifier: ISC */
/*
 * test_descriptors.c - sysqd's descriptors are shared out per uid: while
 * uid 65534 takes every descriptor it can (connections; pidfds of watched
 * processes), a new connection of uid 1000 and of root is accepted and
 * served, and the attacker is refused with EMFILE naming its share.  sysqd
 * runs with RLIMIT_NOFILE 1024, so the attack reaches the limit quickly.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"
#include "sq_proto.h"

#ifdef __linux__

#define VICTIM 1000
#define LIMIT 1024          /* sysqd's RLIMIT_NOFILE in these tests */
#define DEADLINE_S 5

static struct sqd d;
static char small[128], policy[64];

static void down(void)
{
	kid_reap_all();
	if (d.pid > 0)
		sqd_stop_clean(&d);
	if (small[0])
		unlink(small);
	if (policy[0])
		unlink(policy);
}

TestSuite(descriptors, .fini = down, .timeout = 120);

/* sysqd with RLIMIT_NOFILE LIMIT (soft and hard) and room for one uid to
 * open more connections than that; with policy text if not NULL; watched
 * pids cost a pidfd each (the fallback) with pidfds. */
static void up_pidfds(const char *policy_text, bool pidfds)
{
	SKIP_UNLESS_ROOT();
	snprintf(small, sizeof(small), "/tmp/sysq-fds-small.XXXXXX");
	int fd = mkstemp(small);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "hello", 5), 5);
	fchmod(fd, 0644);
	close(fd);
	const char *args[] = { "--max-per-user", "4000", "--max-connections", "8000",
	                       pidfds ? "--no-proc-events" : NULL, NULL, NULL, NULL };
	if (policy_text) {
		args[pidfds ? 5 : 4] = "--policy";
		args[pidfds ? 6 : 5] = policy;
	}
	if (policy_text) {
		snprintf(policy, sizeof(policy), "/tmp/sysq-fds-policy.XXXXXX");
		fd = mkstemp(policy);
		cr_assert(fd >= 0);
		cr_assert_eq(write(fd, policy_text, strlen(policy_text)), (ssize_t)strlen(policy_text));
		fchmod(fd, 0644);
		close(fd);
	}
	sqd_start_nofile(&d, args, LIMIT);
}

static void up_with(const char *policy_text)
{
	up_pidfds(policy_text, false);
}

static void up(void)
{
	up_with(NULL);
}

/* The test process needs descriptors for the attacker's connections. */
static void room_for(int n)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)n + 64) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)n + 64;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(6);
	}
}

/* uid 65534: as many connections as sysqd accepts (each answers
 * sys.ping), up to twice sysqd's limit; then wait to be killed. */
static void connection_hog(void *arg)
{
	(void)arg;
	room_for(2 * LIMIT);
	become_or_exit(NOBODY_UID, NOBODY_GID);
	for (int i = 0; i < 2 * LIMIT; i++) {
		char err[200];
		struct sysq *c = sysq_connect(d.sock, err, sizeof(err));
		if (!c)
			break;
		struct timeval tv = { .tv_sec = DEADLINE_S };
		setsockopt(sysq_fd(c), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		struct sysq_reply r;
		int rc = sq_call(c, "sys.ping", NULL, &r);
		sysq_reply_free(&r);
		if (rc != 0)
			break; /* refused (the connection stays open: it holds nothing) */
	}
	kid_ready();
	for (;;)
		pause();
}

/* As the calling uid: a new connection, sys.ping, a file.read and a
 * proc.exit subscription on a child of its own, each answered in time.
 * Returns a bit per step that failed. */
static int served(void *arg)
{
	(void)arg;
	char err[200], json[300];
	struct sysq *c = sysq_connect(d.sock, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "uid %u: connect: %s\n", (unsigned)getuid(), err);
		return 1;
	}
	struct timeval tv = { .tv_sec = DEADLINE_S };
	setsockopt(sysq_fd(c), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int bad = 0;
	struct sysq_reply r;
	if (sq_call(c, "sys.ping", NULL, &r) != 0) {
		fprintf(stderr, "uid %u: sys.ping: %s\n", (unsigned)getuid(), r.message);
		bad |= 2;
	}
	sysq_reply_free(&r);
	snprintf(json, sizeof(json), "{\"path\": \"%s\"}", small);
	if (sq_call(c, "file.read", json, &r) != 0) {
		fprintf(stderr, "uid %u: file.read: %s\n", (unsigned)getuid(), r.message);
		bad |= 4;
	}
	sysq_reply_free(&r);
	sysq_close(c);
	if (getenv("SQ_UNDER_VALGRIND"))
		return bad; /* valgrind 3.19 has no pidfd_open: proc.exit is ENOSYS there */
	if (!(c = sysq_connect(d.sock, err, sizeof(err))))
		return bad | 8;
	setsockopt(sysq_fd(c), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(json, sizeof(json), "{\"topics\": [\"proc.exit\"], \"pids\": [%d]}",
	         (int)getpid());
	if (sq_call(c, "watch.subscribe", json, &r) != 0) {
		fprintf(stderr, "uid %u: watch.subscribe: %s\n", (unsigned)getuid(), r.message);
		bad |= 16;
	}
	sysq_reply_free(&r);
	sysq_close(c);
	return bad;
}

/* The attacker was refused with EMFILE naming its share: sys.stats counts it. */
static void attacker_refused(void)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.stats", NULL, &r), 0, "%s", r.message);
	const msgpack_object *fds = sq_map_get(r.result, "descriptors");
	cr_assert(fds, "sys.stats has descriptors");
	cr_assert_gt(sq_map_get(fds, "refused")->via.u64, 0, "uid 65534 was refused");
	cr_assert_leq(sq_map_get(fds, "used")->via.u64, sq_map_get(fds, "budget")->via.u64);
	sysq_reply_free(&r);
	sysq_close(c);
}

Test(descriptors, one_uids_connections_leave_the_others_theirs)
{
	up();
	kid_spawn(connection_hog, NULL);
	int bad = run_as(VICTIM, VICTIM, served, NULL);
	cr_assert_eq(bad, 0, "uid 1000 was not served while uid 65534 held connections "
	             "(bits %#x; see the test log)", bad);
	cr_assert_eq(served(NULL), 0, "root was not served");
	attacker_refused();
}

/* uid 65534: fork `n` sleepers of its own and watch them all for proc.exit,
 * CHUNK pids per subscription, then one by one once refused, so that it
 * holds whatever sysqd lets it, 64 subscriptions per connection; then wait to be killed
 * (the sleepers die with it). */
#define CHUNK 8
static void pidfd_hog(void *arg)
{
	int n = *(int *)arg;
	become_or_exit(NOBODY_UID, NOBODY_GID);
	pid_t *pids = calloc((size_t)n, sizeof(*pids));
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			/* exec: the ready pipe is close-on-exec, and the test waits
			 * for its last writer */
			die_with_parent();
			execl("/bin/sleep", "sleep", "600", (char *)NULL);
			_exit(127);
		}
		if (pids[i] < 0)
			_exit(7);
	}
	char err[200];
	struct sysq *c = NULL;
	int chunk = CHUNK;
	for (int at = 0, subs = 0; at < n; subs++) {
		if (subs % 64 == 0 && !(c = sysq_connect(d.sock, err, sizeof(err))))
			break; /* 64 subscriptions per connection; refused: all it may */
		msgpack_packer *pk = sysq_begin(c, "watch.subscribe", NULL);
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 2);
		sq_pack_cstr(pk, "topics");
		msgpack_pack_array(pk, 1);
		sq_pack_cstr(pk, "proc.exit");
		sq_pack_cstr(pk, "pids");
		int k = n - at < chunk ? n - at : chunk;
		msgpack_pack_array(pk, (uint32_t)k);
		for (int i = 0; i < k; i++)
			msgpack_pack_int(pk, pids[at + i]);
		struct sysq_reply r;
		if (sysq_flush(c) < 0 || sysq_read(c, &r) < 0)
			break;
		bool refused = r.is_error;
		sysq_reply_free(&r);
		if (!refused)
			at += k;
		else if (chunk > 1)
			chunk = 1; /* take what is left one by one */
		else
			break;
	}
	kid_ready();
	for (;;)
		pause();
}

Test(descriptors, one_uids_watched_pids_leave_the_others_theirs)
{
	if (getenv("SQ_UNDER_VALGRIND"))
		cr_skip_test("SKIPPED under valgrind: valgrind 3.19 lacks pidfd_open (make test runs it)");
	up_pidfds(NULL, true); /* with the connector, watched pids cost no descriptor */
	int n = LIMIT + 128;
	kid_spawn(pidfd_hog, &n);
	int bad = run_as(VICTIM, VICTIM, served, NULL);
	cr_assert_eq(bad, 0, "uid 1000 was not served while uid 65534 watched %d pids "
	             "(bits %#x; see the test log)", n, bad);
	cr_assert_eq(served(NULL), 0, "root was not served");
	attacker_refused();
}

/* The connections uid 65534 holds once sysqd refuses it more (via sys.stats). */
static uint64_t held_by_nobody(void)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.stats", NULL, &r), 0, "%s", r.message);
	const msgpack_object *fds = sq_map_get(r.result, "descriptors");
	const msgpack_object *uids = sq_map_get(fds, "uids");
	uint64_t held = 0;
	for (uint32_t i = 0; uids && i < uids->via.array.size; i++)
		if (sq_map_get(&uids->via.array.ptr[i], "uid")->via.u64 == NOBODY_UID)
			held = sq_map_get(&uids->via.array.ptr[i], "held")->via.u64;
	uint64_t share = sq_map_get(fds, "per_uid")->via.u64;
	sysq_reply_free(&r);
	sysq_close(c);
	cr_assert_gt(share, 0);
	return held > share ? held : 0;
}

/* `allow large-shares user nobody`: uid 65534 gets past the per-uid share
 * (to half the budget), where without it the share stops it (the first
 * test); root is still served. */
Test(descriptors, the_policy_can_give_a_user_roots_shares)
{
	up_with("allow large-shares user nobody\n");
	kid_spawn(connection_hog, NULL);
	cr_assert_gt(held_by_nobody(), 0, "uid 65534 holds no more than the per-user share");
	attacker_refused(); /* still bounded */
	cr_assert_eq(served(NULL), 0, "root was not served");
}

#else
Test(descriptors, linux_only) { cr_skip_test("SKIPPED: Linux only"); }
#endif
