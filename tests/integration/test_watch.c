/* SPDX-License-Identifier: ISC */
/*
 * test_watch.c - watch.subscribe against a real sysqd started inside this
 * test process's private mount and network namespaces (Criterion runs each
 * test in its own process; the namespaces, their mounts and the daemon go
 * with it).  Every event is checked to come exactly once: after the changes
 * a sentinel change is made, and its event closes the count.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "watch_util.h"
#include "sq_proto.h"

static struct sqd d;
static char top[64];
static bool top_mounted;

static void down(void)
{
	if (d.pid > 0)
		sqd_stop_clean(&d);
	if (top_mounted)
		umount2(top, MNT_DETACH);
	if (top[0])
		rmdir(top);
}

TestSuite(watch, .fini = down, .timeout = 60);

/* make valgrind runs this suite against sysqd under valgrind 3.19, which has
 * no pidfd_open (syscall 434): proc.exit without the process-events source
 * (--no-proc-events) cannot work there, and a slow subscriber's deadlines
 * do not hold at valgrind's speed.  make test runs them all under ASan. */
#define SKIP_UNDER_VALGRIND(why) do { if (getenv("SQ_UNDER_VALGRIND")) \
	cr_skip_test("SKIPPED under valgrind: %s (make test runs it)", why); } while (0)

/* Private mount + network namespaces with a tmpfs work area, then sysqd. */
static void ns_up(const char *const *args)
{
	SKIP_UNLESS_ROOT();
	ns_private_net(false);
	ns_private_tmpfs(top, sizeof(top), "sysq-watch-test");
	top_mounted = true;
	sqd_start(&d, args);
}

static void expect_error(struct sysq *c, const char *method, const char *json,
                         const char *code, const char *needle)
{
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, method, json, &r), SYSQ_REMOTE_ERROR, "%s %s", method, json);
	cr_assert_str_eq(r.code, code, "%s %s: %s %s", method, json, r.code, r.message);
	cr_assert(strstr(r.message, needle), "'%s' lacks '%s'", r.message, needle);
	sysq_reply_free(&r);
}

static bool truth(const msgpack_object *e, const char *key)
{
	const msgpack_object *o = sq_map_get(e, key);
	cr_assert(o && o->type == MSGPACK_OBJECT_BOOLEAN, "no bool '%s'", key);
	return o->via.boolean;
}

static bool has_word(const msgpack_object *a, const char *w)
{
	for (uint32_t i = 0; a && a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size; i++)
		if (sq_obj_streq(&a->via.array.ptr[i], w))
			return true;
	return false;
}

static void set_lo(bool up, int mtu)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags = (short)(up ? ifr.ifr_flags | IFF_UP : ifr.ifr_flags & ~IFF_UP);
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0, "%s", strerror(errno));
	if (mtu > 0) {
		ifr.ifr_mtu = mtu;
		cr_assert_eq(ioctl(s, SIOCSIFMTU, &ifr), 0, "%s", strerror(errno));
	}
	close(s);
}

Test(watch, a_tmpfs_mounted_and_unmounted_once_each)
{
	ns_up(NULL);
	struct sysq *c = watch_connect(&d);
	uint64_t sub = watch_subscribe(c, "{\"topics\": [\"mounts\"]}");
	char mp[128], sentinel[128];
	snprintf(mp, sizeof(mp), "%s/mnt", top);
	snprintf(sentinel, sizeof(sentinel), "%s/sentinel", top);
	cr_assert_eq(mkdir(mp, 0755), 0);
	cr_assert_eq(mkdir(sentinel, 0755), 0);

	/* each change is awaited: events are differences between successive
	 * reads of the table, so a mount that comes and goes between two reads
	 * is not seen (PROTOCOL.md section 12, "Notifications") */
	int mounted = 0, unmounted = 0;
	long long id = -1;
	cr_assert_eq(mount("sq-watch-tmpfs", mp, "tmpfs", 0, "size=1m"), 0, "%s", strerror(errno));
	for (int step = 0; step < 3; step++) {
		for (;;) {
			struct sysq_reply r;
			const msgpack_object *e = watch_next_event(&d, c, &r, sub, true);
			cr_assert(ev_is(e, "topic", "mounts"));
			bool done = step == 2 && ev_is(e, "mountpoint", sentinel) &&
			            ev_is(e, "event", "mounted");
			if (ev_is(e, "mountpoint", mp)) {
				cr_assert(ev_is(e, "fstype", "tmpfs"));
				cr_assert(ev_is(e, "source", "sq-watch-tmpfs"));
				cr_assert(!truth(e, "readonly"));
				cr_assert(has_word(sq_map_get(e, "options"), "size=1024k"));
				if (id < 0)
					id = ev_num(e, "mount_id");
				cr_assert_eq(ev_num(e, "mount_id"), id, "one mount, one id");
				if (ev_is(e, "event", "mounted")) {
					cr_assert_eq(step, 0, "mounted once, first");
					mounted++;
					done = true;
				} else if (ev_is(e, "event", "unmounted")) {
					cr_assert_eq(step, 1, "unmounted once, after");
					unmounted++;
					done = true;
				} else {
					cr_assert_fail("unexpected mount event for %s", mp);
				}
			}
			sysq_reply_free(&r);
			if (done)
				break;
		}
		if (step == 0)
			cr_assert_eq(umount(mp), 0);
		else if (step == 1)
			cr_assert_eq(mount("sq-sentinel", sentinel, "tmpfs", 0, "size=1m"), 0);
	}
	cr_assert_eq(mounted, 1);
	cr_assert_eq(unmounted, 1);
	umount(sentinel);
	sysq_close(c);
}

/* Events on lo until one satisfying want arrives; counts what matches. */
struct lo_count {
	int up, down, mtu9000;
};

static void count_lo(const msgpack_object *e, struct lo_count *n)
{
	if (!ev_is(e, "name", "lo") || !ev_is(e, "event", "changed"))
		return;
	cr_assert_eq(ev_num(e, "index"), 1);
	const msgpack_object *ch = sq_map_get(e, "changes");
	if (has_word(ch, "up")) {
		if (truth(e, "up"))
			n->up++;
		else
			n->down++;
	}
	if (has_word(ch, "mtu")) {
		cr_assert_neq(ev_num(e, "old_mtu"), ev_num(e, "mtu"));
		if (ev_num(e, "mtu") == 9000)
			n->mtu9000++;
	}
}

Test(watch, lo_up_mtu_down_once_each)
{
	ns_up(NULL);
	struct sysq *c = watch_connect(&d);
	uint64_t sub = watch_subscribe(c, "{\"topics\": [\"interfaces\"]}");
	set_lo(true, 0);
	set_lo(true, 9000);
	set_lo(false, 0);
	set_lo(false, 1280); /* the sentinel */

	struct lo_count n = { 0 };
	bool addr_seen = false;
	for (;;) {
		struct sysq_reply r;
		const msgpack_object *e = watch_next_event(&d, c, &r, sub, true);
		cr_assert(ev_is(e, "topic", "interfaces"));
		count_lo(e, &n);
		if (ev_is(e, "event", "addr_added") && ev_is(e, "name", "lo")) {
			const msgpack_object *a = sq_map_get(e, "addr");
			if (ev_is(a, "addr", "::1")) {
				cr_assert(ev_is(a, "family", "inet6"));
				cr_assert_eq(ev_num(a, "prefixlen"), 128);
				addr_seen = true;
			}
		}
		bool done = ev_is(e, "name", "lo") && has_word(sq_map_get(e, "changes"), "mtu") &&
		            ev_num(e, "mtu") == 1280;
		sysq_reply_free(&r);
		if (done)
			break;
	}
	cr_assert_eq(n.up, 1, "lo came up once (%d)", n.up);
	cr_assert_eq(n.mtu9000, 1);
	cr_assert_eq(n.down, 1);
	struct stat st;
	if (stat("/proc/sys/net/ipv6", &st) == 0)
		cr_assert(addr_seen, "lo's ::1 appears when it comes up");
	sysq_close(c);
}

/* The kernel drops interface notices while sysqd cannot read them (its
 * socket's buffer full: ENOBUFS, which poll tells as POLLERR): sysqd lists
 * the interfaces again and goes on watching; a change after that arrives. */
Test(watch, interface_notices_go_on_after_the_kernel_dropped_some)
{
	ns_up(NULL);
	struct sysq *c = watch_connect(&d);
	uint64_t sub = watch_subscribe(c, "{\"topics\": [\"interfaces\"]}");
	cr_assert_eq(kill(d.pid, SIGSTOP), 0);
	for (int i = 0; i < 4000; i++) /* each a notice of about 1 KiB */
		set_lo(true, 1300 + i % 2);
	cr_assert_eq(kill(d.pid, SIGCONT), 0);
	set_lo(true, 0);
	usleep(200000); /* sysqd reads the overflow first */
	set_lo(true, 1280); /* the sentinel */
	for (;;) {
		struct sysq_reply r;
		const msgpack_object *e = watch_next_event(&d, c, &r, sub, true);
		bool done = ev_is(e, "name", "lo") && has_word(sq_map_get(e, "changes"), "mtu") &&
		            ev_num(e, "mtu") == 1280;
		sysq_reply_free(&r);
		if (done)
			break;
	}
	char *log = slurp(d.log);
	cr_assert(strstr(log, "dropped interface notices"), "sysqd saw the overflow:\n%s", log);
	free(log);
	sysq_close(c);
}

static pid_t sleeper(void)
{
	pid_t p = fork();
	cr_assert_geq(p, 0);
	if (p == 0) {
		die_with_parent();
		pause();
		_exit(0);
	}
	return p;
}

Test(watch, a_killed_child_exits_once)
{
	SKIP_UNLESS_ROOT(); /* served by the process-events source: no pidfd */
	sqd_start(&d, NULL);
	struct sysq *c = watch_connect(&d);
	pid_t a = sleeper(), b = sleeper();
	char json[160];
	snprintf(json, sizeof(json), "{\"topics\": [\"proc.exit\"], \"pids\": [%d, %d, %d]}",
	         (int)a, (int)a, (int)b);
	uint64_t sub = watch_subscribe(c, json);
	int st;
	kill(a, SIGKILL);
	cr_assert_eq(waitpid(a, &st, 0), a);
	kill(b, SIGTERM); /* the sentinel */
	cr_assert_eq(waitpid(b, &st, 0), b);

	int seen_a = 0;
	for (;;) {
		struct sysq_reply r;
		const msgpack_object *e = watch_next_event(&d, c, &r, sub, true);
		cr_assert(ev_is(e, "topic", "proc.exit"));
		cr_assert(ev_is(e, "event", "exited"));
		pid_t pid = (pid_t)ev_num(e, "pid");
		cr_assert(pid == a || pid == b, "pid %d", (int)pid);
		/* the process-events source tells every status */
		cr_assert(ev_is(e, "signal", pid == a ? "KILL" : "TERM"));
		cr_assert_eq(ev_num(e, "signum"), pid == a ? SIGKILL : SIGTERM);
		cr_assert(!sq_map_get(e, "exit_code"));
		seen_a += pid == a;
		sysq_reply_free(&r);
		if (pid == b)
			break;
	}
	cr_assert_eq(seen_a, 1, "the first child's exit came once, before the second's");

	/* unsubscribe, twice */
	struct sysq_reply r;
	snprintf(json, sizeof(json), "{\"subscription\": %llu}", (unsigned long long)sub);
	cr_assert_eq(sq_call(c, "watch.unsubscribe", json, &r), 0, "%s", r.message);
	sysq_reply_free(&r);
	expect_error(c, "watch.unsubscribe", json, "ENOENT", "no subscription");
	sysq_close(c);
}

/* Without the process-events connector (--no-proc-events: the fallback),
 * the same 200 pids in 40 subscriptions on 2 connections: one descriptor
 * per pid in sysqd, not one per pid per subscription (which let one user
 * take every descriptor sysqd may open); each subscription still hears
 * each exit once, and unsubscribing gives the descriptors back.  (With the
 * connector no pid costs a descriptor: test_procevents.c.) */
Test(watch, a_pid_watched_by_many_subscriptions_costs_one_descriptor)
{
	SKIP_UNDER_VALGRIND("valgrind 3.19 lacks pidfd_open");
	SKIP_UNLESS_ROOT();
	const char *const args[] = { "--no-proc-events", NULL };
	sqd_start(&d, args);
	enum { PIDS = 200, SUBS = 20 };
	static pid_t kids[PIDS];
	static char json[PIDS * 12 + 64];
	for (int i = 0; i < PIDS; i++)
		kids[i] = sleeper();
	size_t n = (size_t)snprintf(json, sizeof(json), "{\"topics\": [\"proc.exit\"], \"pids\": [");
	for (int i = 0; i < PIDS; i++)
		n += (size_t)snprintf(json + n, sizeof(json) - n, "%s%d", i ? ", " : "", (int)kids[i]);
	snprintf(json + n, sizeof(json) - n, "]}");
	struct sysq *c[2] = { watch_connect(&d), watch_connect(&d) };
	long long fds = sqd_stat(&d, "open_fds");
	uint64_t sub[2][SUBS];
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < SUBS; i++)
			sub[k][i] = watch_subscribe(c[k], json);
	long long grown = sqd_stat(&d, "open_fds") - fds;
	cr_assert_leq(grown, PIDS + 8, "%d subscriptions of the same %d pids took %lld descriptors",
	              2 * SUBS, PIDS, grown);
	cr_assert_geq(grown, PIDS, "each pid is watched");

	/* one exit reaches every subscription, once */
	int st;
	kill(kids[0], SIGKILL);
	cr_assert_eq(waitpid(kids[0], &st, 0), kids[0]);
	for (int k = 0; k < 2; k++) {
		int seen[SUBS] = { 0 };
		for (int got = 0; got < SUBS; got++) {
			struct sysq_reply r;
			const msgpack_object *e = NULL;
			/* events of this connection's subscriptions, in any order */
			cr_assert_eq(sysq_read(c[k], &r), 0);
			cr_assert(r.type == SQ_MSG_NOTIFY, "an event");
			e = &r.result->via.array.ptr[0];
			cr_assert_eq(ev_num(e, "pid"), kids[0]);
			uint64_t id = (uint64_t)ev_num(e, "subscription");
			for (int i = 0; i < SUBS; i++)
				seen[i] += sub[k][i] == id;
			sysq_reply_free(&r);
		}
		for (int i = 0; i < SUBS; i++)
			cr_assert_eq(seen[i], 1, "subscription %d heard the exit %d times", i, seen[i]);
	}
	for (int k = 0; k < 2; k++)
		sysq_close(c[k]);
	for (int i = 1; i < PIDS; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], &st, 0);
	}
	for (int i = 0; i < 1000 && sqd_stat(&d, "open_fds") > fds - 2; i++)
		usleep(10000);
	cr_assert_leq(sqd_stat(&d, "open_fds"), fds - 2, "the descriptors went back");
}

Test(watch, bad_params_and_gone_pids)
{
	SKIP_UNLESS_ROOT();
	sqd_start(&d, NULL);
	struct sysq *c = watch_connect(&d);
	expect_error(c, "watch.subscribe", NULL, "EINVAL", "topics");
	expect_error(c, "watch.subscribe", "{\"topics\": []}", "EINVAL", "empty");
	expect_error(c, "watch.subscribe", "{\"topics\": [\"disks\"]}", "EINVAL", "'topics'[0]");
	expect_error(c, "watch.subscribe", "{\"topics\": [1]}", "EINVAL", "'topics'[0]");
	expect_error(c, "watch.subscribe", "{\"topics\": [\"mounts\"], \"ppid\": 1}",
	             "EINVAL", "only for");
	expect_error(c, "watch.subscribe", "{\"topics\": [\"interfaces\"], \"comm\": \"sh\"}",
	             "EINVAL", "only for");
	expect_error(c, "watch.subscribe", "{\"topics\": [\"mounts\"], \"pids\": [1]}",
	             "EINVAL", "only for");
	expect_error(c, "watch.subscribe", "{\"topics\": [\"proc.exit\"], \"pids\": [0]}",
	             "EINVAL", "'pids'[0]");
	expect_error(c, "watch.subscribe", "{\"topics\": [\"proc.exit\"], \"pids\": [-5]}",
	             "EINVAL", "'pids'[0]");
	expect_error(c, "watch.subscribe", "{\"topics\": [\"mounts\"], \"every\": 1}",
	             "EINVAL", "every");
	expect_error(c, "watch.unsubscribe", "{\"subscription\": 99}", "ENOENT", "99");
	expect_error(c, "watch.unsubscribe", "{}", "EINVAL", "subscription");

	pid_t gone = sleeper();
	kill(gone, SIGKILL);
	int st;
	waitpid(gone, &st, 0);
	char json[128];
	snprintf(json, sizeof(json), "{\"topics\": [\"proc.exit\"], \"pids\": [%d]}", (int)gone);
	expect_error(c, "watch.subscribe", json, "ESRCH", "no such process");
	/* the connection still works, and a good subscription still does */
	watch_subscribe(c, "{\"topics\": [\"mounts\", \"interfaces\"]}");
	sysq_close(c);
}

/* As nobody: the shared topics are anyone's; pid 1 is visible (no hidepid). */
static int nobody_subscribes(void *arg)
{
	const struct sqd *dd = arg;
	char err[200];
	struct sysq *c = sysq_connect(dd->sock, err, sizeof(err));
	if (!c)
		return 10;
	struct sysq_reply r;
	int rc = sq_call(c, "watch.subscribe",
	                 "{\"topics\": [\"mounts\", \"interfaces\", \"proc.exit\"], \"pids\": [1]}", &r);
	int st = rc == 0 && sq_map_get(r.result, "subscription") ? 0 : 11;
	sysq_reply_free(&r);
	sysq_close(c);
	return st;
}

Test(watch, anyone_may_watch_what_they_may_see)
{
	SKIP_UNLESS_ROOT(); /* served by the process-events source: no pidfd */
	sqd_start(&d, NULL);
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, nobody_subscribes, &d), 0);
}

/* A second subscriber that keeps reading, until the sentinel's event: once
 * it has it, sysqd has dealt every earlier event to the slow one too (one
 * diff is broadcast to all subscribers at once).  It counts the mounts it is
 * told of, so the test can mount no faster than it reads: a reader only
 * ever has to hold a bounded backlog, whatever else the machine is doing. */
struct reader {
	struct sysq *c;
	const char *sentinel, *mp;
	bool seen;
	atomic_int got;          /* mounted events on mp read so far */
	atomic_bool gone;        /* the reader stopped (its read deadline) */
};

static void *read_to_sentinel(void *arg)
{
	struct reader *rd = arg;
	while (!rd->seen) {
		struct sysq_reply r;
		if (sysq_read(rd->c, &r) != 0) {
			atomic_store(&rd->gone, true);
			return NULL; /* the deadline: the main thread fails */
		}
		if (r.type == 2 && r.result && r.result->type == MSGPACK_OBJECT_ARRAY &&
		    r.result->via.array.size == 1) {
			const msgpack_object *e = &r.result->via.array.ptr[0];
			bool mounted = ev_is(e, "event", "mounted");
			rd->seen = mounted && ev_is(e, "mountpoint", rd->sentinel);
			if (mounted && ev_is(e, "mountpoint", rd->mp))
				atomic_fetch_add(&rd->got, 1);
		}
		sysq_reply_free(&r);
	}
	return NULL;
}

/* A client that does not read: events wait in the subscription's bounded
 * queue, the rest are counted, and one "dropped" notice says how many.
 * Every mount is accounted for: told, or counted as dropped. */
Test(watch, a_slow_subscriber_gets_a_dropped_count)
{
	SKIP_UNDER_VALGRIND("its deadlines assume native speed");
	const char *const args[] = { "--max-output", "4096", NULL };
	ns_up(args);
	struct sysq *c = watch_connect(&d);
	uint64_t sub = watch_subscribe(c, "{\"topics\": [\"mounts\"]}");
	char sentinel[128];
	snprintf(sentinel, sizeof(sentinel), "%s/sentinel", top);
	/* a long mount point makes each event big, so that the socket buffers
	 * fill with fewer of them */
	static char mp[1600];
	static struct reader rd;
	rd.c = watch_connect(&d);
	rd.sentinel = sentinel;
	rd.mp = mp;
	watch_subscribe(rd.c, "{\"topics\": [\"mounts\"]}");
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, read_to_sentinel, &rd), 0);

	int n = snprintf(mp, sizeof(mp), "%s", top);
	while (n < 1400) { /* components of 200 bytes (NAME_MAX is 255) */
		mp[n++] = '/';
		for (int k = 0; k < 200; k++)
			mp[n++] = 'm';
		mp[n] = '\0';
		cr_assert_eq(mkdir(mp, 0755), 0, "%s", strerror(errno));
	}
	long wmem = 212992;
	char *t = slurp("/proc/sys/net/core/wmem_default");
	if (atol(t) > wmem)
		wmem = atol(t);
	free(t);
	/* the kernel's buffers, the daemon's queue and then some more */
	int mounts = (int)(2 * wmem / 1400) + 1024 + 200;
	for (int i = 0; i < mounts; i++) {
		cr_assert_eq(mount("sq-slow", mp, "tmpfs", 0, "size=64k"), 0, "mount %d: %s", i,
		             strerror(errno));
		/* every 100 mounts, let the reader catch up (the slow one never does) */
		while ((i + 1) % 100 == 0 && atomic_load(&rd.got) < i + 1 &&
		       !atomic_load(&rd.gone))
			usleep(1000);
		cr_assert(!atomic_load(&rd.gone), "the reading subscriber heard nothing for 5 s "
		          "(%d of %d mounts told)", atomic_load(&rd.got), i + 1);
	}
	cr_assert_eq(mkdir(sentinel, 0755), 0);
	cr_assert_eq(mount("sq-sentinel", sentinel, "tmpfs", 0, "size=64k"), 0);
	pthread_join(th, NULL);
	cr_assert(rd.seen, "the reading subscriber saw every event in time");
	sysq_close(rd.c);

	/* now read until every event is told or counted (the sentinel's too) */
	long long told = 0, dropped = 0;
	int sentinel_seen = 0;
	while (told + dropped + sentinel_seen < mounts + 1) {
		struct sysq_reply r;
		const msgpack_object *e = watch_next_event(&d, c, &r, sub, true);
		if (ev_is(e, "topic", "dropped")) {
			cr_assert_eq(dropped, 0, "one notice");
			dropped = ev_num(e, "count");
			cr_assert_gt(dropped, 0);
		} else if (ev_is(e, "mountpoint", mp) && ev_is(e, "event", "mounted")) {
			told++;
		} else if (ev_is(e, "mountpoint", sentinel) && ev_is(e, "event", "mounted")) {
			sentinel_seen++;
		}
		sysq_reply_free(&r);
	}
	cr_assert_gt(dropped, 0, "a client that did not read lost events");
	cr_assert_leq(told, 1024 + 2 * wmem / 1400 + 64, "held events are bounded");
	cr_assert_eq(told + dropped + sentinel_seen, mounts + 1,
	             "every event told or counted: %lld told, %lld dropped, %d made",
	             told, dropped, mounts + 1);
	sysq_close(c);
	umount2(mp, MNT_DETACH);
}
