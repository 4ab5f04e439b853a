/* SPDX-License-Identifier: ISC */
/*
 * test_procevents.c - watch.subscribe's process events (proc.fork,
 * proc.exec, proc.exit of every process) against a real sysqd: children of
 * this test seen in order with their status, what hidepid hides from uid
 * 65534 absent from its events, a slow subscriber's dropped count, an
 * overflow of the kernel's source told as a gap, listed pids watched
 * without a descriptor each, slow subscriptions holding shared frames, and
 * sys.stats's watch counters.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "watch_util.h"
#include "sq_proto.h"

static struct sqd d;
static bool proc_mounted;

static void down(void)
{
	kid_reap_all();
	if (d.pid > 0)
		sqd_stop_clean(&d);
	if (proc_mounted)
		umount2("/proc", MNT_DETACH);
}

TestSuite(procevents, .fini = down, .timeout = 90);

static long long num_or(const msgpack_object *e, const char *key, long long dflt)
{
	const msgpack_object *o = sq_map_get(e, key);
	if (!o)
		return dflt;
	return o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? o->via.i64 : (long long)o->via.u64;
}

/* Whether args (an array of str) holds word. */
static bool args_have(const msgpack_object *e, const char *word)
{
	const msgpack_object *a = sq_map_get(e, "args");
	for (uint32_t i = 0; a && a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size; i++)
		if (sq_obj_streq(&a->via.array.ptr[i], word))
			return true;
	return false;
}

/* A child that execs argv (after an optional switch to nobody), with
 * stdin from in when in >= 0. */
static pid_t spawn(char *const argv[], bool as_nobody, int in)
{
	pid_t p = fork();
	cr_assert_geq(p, 0);
	if (p == 0) {
		die_with_parent();
		if (in >= 0)
			dup2(in, 0);
		if (as_nobody)
			become_or_exit(NOBODY_UID, NOBODY_GID);
		execv(argv[0], argv);
		_exit(127);
	}
	return p;
}

/* ---- order and status ---------------------------------------------------- */

/* The next event of sub about one of our children (ppid filter); pid and
 * topic asserted. */
static void expect(struct sysq *c, uint64_t sub, pid_t pid, const char *topic,
                   struct sysq_reply *r, const msgpack_object **e)
{
	*e = watch_next_event(&d, c, r, sub, false);
	cr_assert_eq(ev_num(*e, "ppid"), getpid(), "the ppid filter holds");
	cr_assert(ev_num(*e, "time_ns") > 0);
	cr_assert_eq(ev_num(*e, "pid"), pid, "%s of %d expected, %s of %lld came", topic, (int)pid,
	             sq_map_get(*e, "topic")->via.str.ptr, ev_num(*e, "pid"));
	cr_assert(ev_is(*e, "topic", topic), "%s of %d expected", topic, (int)pid);
}

/* Each child is held (on a pipe, or pause()) until its events so far have
 * been read, so that what sysqd reads of it at each event is there. */
Test(procevents, children_fork_exec_and_exit_in_order_with_their_status)
{
	SKIP_UNLESS_ROOT();
	sqd_start(&d, NULL);
	struct sysq *c = watch_connect(&d);
	char json[200];
	snprintf(json, sizeof(json), "{\"topics\": [\"proc.fork\", \"proc.exec\", \"proc.exit\"], "
	         "\"ppid\": %d}", (int)getpid());
	uint64_t sub = watch_subscribe(c, json);
	/* a second subscription on the same source: only execs of "sleep" */
	struct sysq *c2 = watch_connect(&d);
	uint64_t only_sleep = watch_subscribe(c2, "{\"topics\": [\"proc.exec\"], \"comm\": \"sleep\"}");
	struct sysq_reply r;
	const msgpack_object *e;
	int st;

	/* a: fork, exec, exit 3 */
	int hold[2];
	cr_assert_eq(pipe(hold), 0);
	pid_t a = fork();
	cr_assert_geq(a, 0);
	if (a == 0) {
		die_with_parent();
		dup2(hold[0], 0);
		close(hold[1]);
		execl("/bin/sh", "sh", "-c", "read x; exit 3", (char *)NULL);
		_exit(127);
	}
	close(hold[0]);
	expect(c, sub, a, "proc.fork", &r, &e);
	cr_assert(ev_is(e, "event", "fork"));
	cr_assert_eq(ev_num(e, "uid"), 0);
	sysq_reply_free(&r);
	expect(c, sub, a, "proc.exec", &r, &e);
	cr_assert(ev_is(e, "event", "exec"));
	cr_assert(ev_is(e, "comm", "sh"));
	cr_assert(args_have(e, "read x; exit 3"), "exec carries the args");
	sysq_reply_free(&r);
	close(hold[1]);
	cr_assert_eq(waitpid(a, &st, 0), a);
	expect(c, sub, a, "proc.exit", &r, &e);
	cr_assert(ev_is(e, "event", "exited"));
	cr_assert_eq(ev_num(e, "exit_code"), 3);
	cr_assert(!sq_map_get(e, "signal"));
	sysq_reply_free(&r);

	/* b: fork, no exec, killed */
	pid_t b = fork();
	cr_assert_geq(b, 0);
	if (b == 0) {
		die_with_parent();
		pause();
		_exit(0);
	}
	expect(c, sub, b, "proc.fork", &r, &e);
	sysq_reply_free(&r);
	kill(b, SIGKILL);
	cr_assert_eq(waitpid(b, &st, 0), b);
	expect(c, sub, b, "proc.exit", &r, &e);
	cr_assert(ev_is(e, "signal", "KILL"));
	cr_assert_eq(ev_num(e, "signum"), SIGKILL);
	cr_assert(!sq_map_get(e, "exit_code"));
	sysq_reply_free(&r);

	/* s: sleep, for the comm filter */
	char *const sl[] = { "/bin/sleep", "600", "7", NULL };
	pid_t s = spawn(sl, false, -1);
	expect(c, sub, s, "proc.fork", &r, &e);
	sysq_reply_free(&r);
	expect(c, sub, s, "proc.exec", &r, &e);
	cr_assert(ev_is(e, "comm", "sleep"));
	sysq_reply_free(&r);
	kill(s, SIGTERM);
	cr_assert_eq(waitpid(s, &st, 0), s);
	expect(c, sub, s, "proc.exit", &r, &e);
	cr_assert(ev_is(e, "signal", "TERM"));
	sysq_reply_free(&r);

	/* the comm filter: execs of "sleep" only (others' too), ours among them */
	for (;;) {
		e = watch_next_event(&d, c2, &r, only_sleep, false);
		cr_assert(ev_is(e, "topic", "proc.exec") && ev_is(e, "comm", "sleep"));
		cr_assert_neq(ev_num(e, "pid"), a);
		bool done = ev_num(e, "pid") == s;
		if (done)
			cr_assert(args_have(e, "600") && args_have(e, "7"));
		sysq_reply_free(&r);
		if (done)
			break;
	}
	sysq_close(c2);
	sysq_close(c);
}

/* Children that exec and are reaped at once, likely before sysqd reads
 * them: their exec and exit still name their parent (sysqd remembers it
 * from the fork), so a ppid filter lets each through. */
Test(procevents, short_lived_children_keep_their_ppid)
{
	SKIP_UNLESS_ROOT();
	sqd_start(&d, NULL);
	struct sysq *c = watch_connect(&d);
	char json[160];
	snprintf(json, sizeof(json), "{\"topics\": [\"proc.exec\", \"proc.exit\"], \"ppid\": %d}",
	         (int)getpid());
	uint64_t sub = watch_subscribe(c, json);
	enum { KIDS = 50 };
	pid_t kids[KIDS];
	char *const tru[] = { "/bin/true", NULL };
	for (int i = 0; i < KIDS; i++) {
		kids[i] = spawn(tru, false, -1);
		cr_assert_eq(waitpid(kids[i], NULL, 0), kids[i]);
	}
	int execs = 0, exits = 0;
	while (exits < KIDS) {
		struct sysq_reply r;
		const msgpack_object *e = watch_next_event(&d, c, &r, sub, false);
		cr_assert_eq(ev_num(e, "ppid"), getpid());
		pid_t pid = (pid_t)ev_num(e, "pid");
		bool ours = false;
		for (int i = 0; i < KIDS; i++)
			ours = ours || kids[i] == pid;
		cr_assert(ours, "pid %d is not a child of this test", (int)pid);
		if (ev_is(e, "topic", "proc.exec")) {
			execs++;
		} else {
			cr_assert_eq(ev_num(e, "exit_code"), 0);
			exits++;
		}
		sysq_reply_free(&r);
	}
	cr_assert_eq(execs, KIDS, "every exec came, before the last exit");
	sysq_close(c);
}

/* Filters that share sysqd's index buckets (a ppid 256 away, another
 * name) let nothing through; the matching ones get every event: sys.stats
 * counts no delivery but those read here. */
Test(procevents, filters_sharing_a_bucket_let_only_their_own_through)
{
	SKIP_UNLESS_ROOT();
	sqd_start(&d, NULL);
	char probe[sizeof(d.dir) + 32];
	snprintf(probe, sizeof(probe), "%s/sq-idx-probe", d.dir);
	cr_assert_eq(symlink("/bin/sh", probe), 0, "%s", strerror(errno));
	struct sysq *c = watch_connect(&d);
	char json[200];
	snprintf(json, sizeof(json), "{\"topics\": [\"proc.fork\", \"proc.exec\", "
	         "\"proc.exit\"], \"ppid\": %d}", (int)getpid());
	uint64_t mine = watch_subscribe(c, json);
	snprintf(json, sizeof(json), "{\"topics\": [\"proc.fork\", \"proc.exec\", "
	         "\"proc.exit\"], \"ppid\": %d}", (int)getpid() + 256);
	watch_subscribe(c, json);
	snprintf(json, sizeof(json), "{\"topics\": [\"proc.fork\", \"proc.exec\", "
	         "\"proc.exit\"], \"ppid\": %d}", (int)getpid() + 1);
	watch_subscribe(c, json);
	struct sysq *c2 = watch_connect(&d);
	uint64_t named = watch_subscribe(c2, "{\"topics\": [\"proc.exec\", \"proc.exit\"], "
	                           "\"comm\": \"sq-idx-probe\"}");
	watch_subscribe(c2, "{\"topics\": [\"proc.exec\", \"proc.exit\"], \"comm\": \"sq-idx-probf\"}");
	watch_subscribe(c2, "{\"topics\": [\"proc.exec\"], \"comm\": \"sq-idx-probe-not\"}");
	/* held on a pipe until its exec was told: sysqd read its name then */
	int hold[2];
	cr_assert_eq(pipe2(hold, O_CLOEXEC), 0);
	char *const argv[] = { probe, "-c", "read x", NULL };
	pid_t k = spawn(argv, false, hold[0]);
	close(hold[0]);
	long long got = 0;
	struct sysq_reply r;
	const msgpack_object *e = watch_next_event(&d, c2, &r, named, false);
	cr_assert(ev_is(e, "topic", "proc.exec") && ev_is(e, "comm", "sq-idx-probe"));
	cr_assert_eq(ev_num(e, "pid"), k);
	got++;
	sysq_reply_free(&r);
	close(hold[1]);
	cr_assert_eq(waitpid(k, NULL, 0), k);
	unlink(probe); /* the daemon's temp dir goes with it */
	e = watch_next_event(&d, c2, &r, named, false);
	cr_assert(ev_is(e, "topic", "proc.exit") && ev_is(e, "comm", "sq-idx-probe"));
	cr_assert_eq(ev_num(e, "pid"), k);
	got++;
	sysq_reply_free(&r);
	for (bool exited = false; !exited;) {
		e = watch_next_event(&d, c, &r, mine, false);
		cr_assert_eq(ev_num(e, "pid"), k);
		exited = ev_is(e, "topic", "proc.exit");
		got++;
		sysq_reply_free(&r);
	}
	cr_assert_geq(got, 4, "a fork or exec and the exit, for each of the two");
	cr_assert_eq(sqd_stat(&d, "watch/proc/delivered"), got, "only the matching subscriptions "
	             "were told");
	sysq_close(c2);
	sysq_close(c);
}

/* ---- what each subscriber may see -------------------------------------- */

/* This test process's own mount namespace, /proc mounted there with opts,
 * then sysqd (it inherits both). */
static void hidepid_up(const char *opts)
{
	SKIP_UNLESS_ROOT();
	if (unshare(CLONE_NEWNS) < 0)
		cr_skip_test("SKIPPED: unshare(CLONE_NEWNS): %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0, "%s", strerror(errno));
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
		cr_skip_test("SKIPPED: cannot mount /proc with %s: %s", opts, strerror(errno));
	proc_mounted = true;
	sqd_start(&d, NULL);
}

struct viewer {
	int ready[2], result[2];
	pid_t root_pid;          /* told through result[] before it reads */
	int hidepid;
};

/* As uid 65534: subscribe to every process event, say so, learn root's
 * pid, then read until the exec of our own sentinel ("sq-nobody-sentinel").
 * Exit 0 when what hidepid hides was absent; a step number otherwise. */
static int view_as_nobody(struct viewer *v)
{
	if (prctl(PR_SET_DUMPABLE, 1) < 0)
		return 2;
	char err[200];
	struct sysq *c = sysq_connect(d.sock, err, sizeof(err));
	if (!c)
		return 3;
	struct timeval tv = { 5, 0 };
	setsockopt(sysq_fd(c), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sysq_reply r;
	if (sq_call(c, "watch.subscribe",
	            "{\"topics\": [\"proc.fork\", \"proc.exec\", \"proc.exit\"]}", &r) != 0)
		return 4;
	sysq_reply_free(&r);
	if (write(v->ready[1], "r", 1) != 1)
		return 5;
	pid_t root_pid;
	if (read(v->result[0], &root_pid, sizeof(root_pid)) != sizeof(root_pid))
		return 6;
	bool root_seen = false;
	for (;;) {
		if (sysq_read(c, &r) != 0)
			return 7; /* the sentinel never came */
		if (r.type != 2 || !r.result || r.result->type != MSGPACK_OBJECT_ARRAY ||
		    r.result->via.array.size != 1) {
			sysq_reply_free(&r);
			continue;
		}
		const msgpack_object *e = &r.result->via.array.ptr[0];
		long long pid = num_or(e, "pid", -1);
		if (pid == root_pid) {
			root_seen = true;
			if (v->hidepid == 2)
				return 8; /* invisible: never there */
			/* noaccess: the pid and nothing of the process */
			if (sq_map_get(e, "args") || sq_map_get(e, "comm") ||
			    sq_map_get(e, "uid") || sq_map_get(e, "ppid"))
				return 9;
		}
		bool done = ev_is(e, "topic", "proc.exec") && args_have(e, "sq-nobody-sentinel");
		if (done && (num_or(e, "uid", -1) != NOBODY_UID || !ev_is(e, "comm", "sh")))
			return 10; /* our own process is complete */
		sysq_reply_free(&r);
		if (done)
			break;
	}
	sysq_close(c);
	if (v->hidepid == 1 && !root_seen)
		return 11; /* listed, without its fields */
	return 0;
}

static void hidepid_case(int hidepid)
{
	char opts[32];
	snprintf(opts, sizeof(opts), "hidepid=%d", hidepid);
	hidepid_up(opts);
	static struct viewer v;
	v.hidepid = hidepid;
	cr_assert_eq(pipe(v.ready), 0);
	cr_assert_eq(pipe(v.result), 0);
	pid_t w = fork();
	cr_assert_geq(w, 0);
	if (w == 0) {
		die_with_parent();
		become_or_exit(NOBODY_UID, NOBODY_GID);
		_exit(view_as_nobody(&v));
	}
	close(v.ready[1]);
	close(v.result[0]);
	char ch;
	if (read(v.ready[0], &ch, 1) != 1) {
		int st;
		waitpid(w, &st, 0);
		cr_assert_fail("the viewer did not subscribe (step %d)",
		               WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
	/* root's process: forks, execs with an argument, stays (reading the
	 * hold pipe, as nobody's below, until the test closes it) */
	int hold[2];
	cr_assert_eq(pipe2(hold, O_CLOEXEC), 0);
	char *const root_argv[] = { "/bin/sh", "-c", "read x", "sq-root-secret", NULL };
	pid_t rp = spawn(root_argv, false, hold[0]);
	kid_wait_exec(rp, "sh");
	cr_assert_eq(write(v.result[1], &rp, sizeof(rp)), (ssize_t)sizeof(rp));
	/* nobody's own, after it: the sentinel */
	char *const own_argv[] = { "/bin/sh", "-c", "read x", "sq-nobody-sentinel", NULL };
	pid_t op = spawn(own_argv, true, hold[0]);
	int st;
	cr_assert_eq(waitpid(w, &st, 0), w);
	close(hold[1]);
	waitpid(rp, NULL, 0);
	waitpid(op, NULL, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	          "uid 65534 under hidepid=%d: step %d failed", hidepid,
	          WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

Test(procevents, hidepid_invisible_hides_roots_processes_from_nobody)
{
	hidepid_case(2);
}

Test(procevents, hidepid_noaccess_leaves_nobody_only_the_pid_of_roots)
{
	hidepid_case(1);
}

/* ---- slow subscribers ----------------------------------------------------- */

struct reader {
	struct sysq *c;
	uint64_t sub;
	atomic_int want;         /* fork events to read: all of them, once known */
	atomic_int got;          /* fork events read */
	atomic_bool gone, seen;
};

/* Reads until it has every fork (the main thread says how many before it
 * makes the last one, the sentinel). */
static void *read_to_sentinel(void *arg)
{
	struct reader *rd = arg;
	while (atomic_load(&rd->got) < atomic_load(&rd->want)) {
		struct sysq_reply r;
		if (sysq_read(rd->c, &r) != 0) {
			atomic_store(&rd->gone, true);
			return NULL;
		}
		if (r.type == 2 && r.result && r.result->type == MSGPACK_OBJECT_ARRAY &&
		    r.result->via.array.size == 1) {
			const msgpack_object *e = &r.result->via.array.ptr[0];
			if (ev_is(e, "topic", "proc.fork"))
				atomic_fetch_add(&rd->got, 1);
		}
		sysq_reply_free(&r);
	}
	atomic_store(&rd->seen, true);
	return NULL;
}

/* A child that only exits, by vfork (fast: thousands are made).  Kept out
 * of the test's own frame: vfork there lets gcc -O2 warn that the test's
 * variables might be clobbered. */
static pid_t vfork_exit0(void)
{
	pid_t p = vfork();
	if (p == 0)
		_exit(0);
	return p;
}

/* How many forks fill a slow subscriber: more than its socket's buffers
 * take (a fork event is over 90 bytes), then its queue of queue events,
 * and then some. */
static int storm_forks(int queue)
{
	long wmem = 212992;
	char *t = slurp("/proc/sys/net/core/wmem_default");
	if (atol(t) > wmem)
		wmem = atol(t);
	free(t);
	return (int)(2 * wmem / 90) + queue + 200;
}

/* forks children that only exit, one after the other; every 100 forks, let
 * the reading subscriber rd catch up (a slow one never does), so that
 * sysqd keeps up and the kernel drops nothing */
static void fork_storm(struct reader *rd, int forks)
{
	for (int i = 0; i < forks; i++) {
		pid_t p = vfork_exit0();
		cr_assert_geq(p, 0);
		cr_assert_eq(waitpid(p, NULL, 0), p);
		while ((i + 1) % 100 == 0 && atomic_load(&rd->got) < i + 1 && !atomic_load(&rd->gone))
			usleep(1000);
		cr_assert(!atomic_load(&rd->gone), "the reading subscriber heard nothing for 5 s");
	}
}

/* A fork storm: a subscriber that does not read gets the events its queue
 * holds and one "dropped" count for the rest; every fork accounted for. */
Test(procevents, a_fork_storm_gives_a_slow_subscriber_a_dropped_count)
{
	SKIP_UNLESS_ROOT();
	const char *const args[] = { "--max-output", "4096", NULL };
	sqd_start(&d, args);
	char json[160];
	snprintf(json, sizeof(json), "{\"topics\": [\"proc.fork\"], \"ppid\": %d}", (int)getpid());
	struct sysq *c = watch_connect(&d);
	uint64_t sub = watch_subscribe(c, json);
	static struct reader rd;
	rd.c = watch_connect(&d);
	rd.sub = watch_subscribe(rd.c, json);
	atomic_store(&rd.want, INT_MAX);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, read_to_sentinel, &rd), 0);

	int forks = storm_forks(1024);
	fork_storm(&rd, forks);
	atomic_store(&rd.want, forks + 1);
	pid_t s = fork();
	cr_assert_geq(s, 0);
	if (s == 0) {
		die_with_parent();
		pause();
		_exit(0);
	}
	pthread_join(th, NULL);
	cr_assert(atomic_load(&rd.seen), "the reading subscriber saw the sentinel's fork");
	cr_assert_eq(atomic_load(&rd.got), forks + 1, "it read every fork");
	sysq_close(rd.c);
	kill(s, SIGKILL);
	waitpid(s, NULL, 0);

	/* the sentinel's fork too: told or counted */
	long long told = 0, dropped = 0;
	while (told + dropped < forks + 1) {
		struct sysq_reply r;
		const msgpack_object *e = watch_next_event(&d, c, &r, sub, false);
		cr_assert(!ev_is(e, "topic", "gap"), "the kernel dropped nothing");
		if (ev_is(e, "topic", "dropped")) {
			cr_assert_eq(dropped, 0, "one notice");
			dropped = ev_num(e, "count");
			cr_assert_gt(dropped, 0);
		} else if (ev_is(e, "topic", "proc.fork")) {
			told++;
		}
		sysq_reply_free(&r);
	}
	cr_assert_gt(dropped, 0, "a client that did not read lost events");
	/* the queue and the socket's buffers (storm_forks less its 200 more), and 64 */
	cr_assert_leq(told, forks - 200 + 64, "held events are bounded");
	cr_assert_eq(told + dropped, forks + 1, "every fork told or counted: %lld told, "
	             "%lld dropped, %d made", told, dropped, forks + 1);
	/* sys.stats counted the same (the reader dropped none) */
	cr_assert_eq(sqd_stat(&d, "watch/proc/dropped/queue_full"), dropped);
	cr_assert_eq(sqd_stat(&d, "watch/proc/dropped/no_memory"), 0);
	cr_assert_eq(sqd_stat(&d, "watch/proc/gaps"), 0);
	sysq_close(c);
}


/* Subscriptions that read nothing hold each event as one shared frame:
 * sixteen full queues on one connection cost the frames once, and 4 bytes
 * each (sys.stats's byte count; a frame of its own per subscription would
 * be over 100 bytes each). */
Test(procevents, slow_subscriptions_share_one_frame_per_event)
{
	SKIP_UNLESS_ROOT();
	const char *const args[] = { "--max-output", "4096", NULL };
	sqd_start(&d, args);
	enum { SUBS = 16, QUEUE = 1024 /* PROTOCOL.md: events held per subscription */ };
	char json[160];
	snprintf(json, sizeof(json), "{\"topics\": [\"proc.fork\"], \"ppid\": %d}", (int)getpid());
	struct sysq *slow = watch_connect(&d);
	for (int i = 0; i < SUBS; i++)
		watch_subscribe(slow, json);
	static struct reader rd;
	rd.c = watch_connect(&d);
	rd.sub = watch_subscribe(rd.c, json);
	atomic_store(&rd.want, INT_MAX);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, read_to_sentinel, &rd), 0);
	int forks = storm_forks(QUEUE);
	fork_storm(&rd, forks);
	atomic_store(&rd.want, forks);
	pthread_join(th, NULL);
	cr_assert_eq(atomic_load(&rd.got), forks, "the reader read every fork");
	/* the reader's last fork was dispatched to the slow ones too */
	long long held = sqd_stat(&d, "watch/held_events"), frames = sqd_stat(&d, "watch/held_frames");
	long long bytes = sqd_stat(&d, "watch/held_bytes");
	cr_assert_eq(held, SUBS * QUEUE, "every slow subscription's queue is full: %lld held", held);
	/* the queues hold mostly the same events (how far apart their
	 * windows are depends on how the socket filled: not more than two
	 * queues' worth here), a frame each however many hold it */
	cr_assert_leq(frames * 4, held, "%lld events held in %lld frames", held, frames);
	cr_assert_leq(bytes, held * 48, "%lld bytes hold %lld events (%lld each; a frame "
	              "of its own each would be over 100)", bytes, held, bytes / held);
	/* when the subscriptions go, so does what they held */
	sysq_close(slow);
	for (int i = 0; i < 2000 && sqd_stat(&d, "watch/held_events"); i++)
		usleep(10000);
	cr_assert_eq(sqd_stat(&d, "watch/held_events"), 0);
	cr_assert_eq(sqd_stat(&d, "watch/held_frames"), 0);
	cr_assert_eq(sqd_stat(&d, "watch/held_bytes"), 0);
	cr_assert_eq(sqd_stat(&d, "watch/proc/discarded"), SUBS * QUEUE);
	sysq_close(rd.c);
}

/* sys.stats's watch counters: subscriptions by topic, the process events
 * read from the kernel and delivered. */
Test(procevents, sys_stats_counts_subscriptions_and_process_events)
{
	SKIP_UNLESS_ROOT();
	sqd_start(&d, NULL);
	cr_assert_eq(sqd_stat(&d, "watch/subscriptions"), 0);
	cr_assert_eq(sqd_stat(&d, "watch/proc/source"), 0, "no source without a subscriber");
	struct sysq *c = watch_connect(&d);
	char json[160];
	snprintf(json, sizeof(json), "{\"topics\": [\"proc.fork\", \"proc.exec\", "
	         "\"proc.exit\"], \"ppid\": %d}", (int)getpid());
	uint64_t sub = watch_subscribe(c, json);
	struct sysq *c2 = watch_connect(&d);
	watch_subscribe(c2, "{\"topics\": [\"mounts\"]}");
	watch_subscribe(c2, "{\"topics\": [\"proc.exec\"], \"comm\": \"sq-no-such-comm\"}");
	cr_assert_eq(sqd_stat(&d, "watch/subscriptions"), 3);
	cr_assert_eq(sqd_stat(&d, "watch/topics/mounts"), 1);
	cr_assert_eq(sqd_stat(&d, "watch/topics/interfaces"), 0);
	cr_assert_eq(sqd_stat(&d, "watch/topics/proc.fork"), 1);
	cr_assert_eq(sqd_stat(&d, "watch/topics/proc.exec"), 2);
	cr_assert_eq(sqd_stat(&d, "watch/topics/proc.exit"), 1);
	cr_assert_eq(sqd_stat(&d, "watch/proc/source"), 1);
	long long read0 = sqd_stat(&d, "watch/proc/read");

	enum { KIDS = 20 };
	char *const tru[] = { "/bin/true", NULL };
	for (int i = 0; i < KIDS; i++) {
		pid_t k = spawn(tru, false, -1);
		cr_assert_eq(waitpid(k, NULL, 0), k);
	}
	/* every event of a child comes before its exit */
	long long got = 0, exits = 0;
	while (exits < KIDS) {
		struct sysq_reply r;
		const msgpack_object *e = watch_next_event(&d, c, &r, sub, false);
		got++;
		exits += ev_is(e, "topic", "proc.exit");
		sysq_reply_free(&r);
	}
	cr_assert_geq(got, 2 * KIDS, "forks and exits at least");
	cr_assert_eq(sqd_stat(&d, "watch/proc/delivered"), got, "delivered: what the one matching "
	             "subscription read");
	cr_assert_geq(sqd_stat(&d, "watch/proc/read") - read0, 3 * KIDS, "read from the kernel: ours "
	              "and any other process's");
	cr_assert_eq(sqd_stat(&d, "watch/proc/dropped/queue_full"), 0);
	cr_assert_eq(sqd_stat(&d, "watch/proc/gaps"), 0);
	struct sysq_reply r;
	snprintf(json, sizeof(json), "{\"subscription\": %llu}", (unsigned long long)sub);
	cr_assert_eq(sq_call(c, "watch.unsubscribe", json, &r), 0);
	sysq_reply_free(&r);
	cr_assert_eq(sqd_stat(&d, "watch/subscriptions"), 2);
	cr_assert_eq(sqd_stat(&d, "watch/topics/proc.fork"), 0);
	cr_assert_eq(sqd_stat(&d, "watch/topics/proc.exec"), 1);
	sysq_close(c2);
	sysq_close(c);
}

/* ---- an overflow of the kernel's source ----------------------------------- */

/* sysqd's connector socket gets the smallest buffer; sysqd is stopped
 * while 2000 processes come and go, so the kernel must drop notices: every
 * subscriber, whatever it watches, hears of the gap; a listed pid that
 * exited meanwhile is still told. */
Test(procevents, a_connector_overflow_is_a_gap_for_every_subscriber)
{
	SKIP_UNLESS_ROOT();
	const char *const args[] = { "--proc-events-buffer", "1", NULL };
	sqd_start(&d, args);
	struct sysq *all = watch_connect(&d);
	uint64_t sub_all = watch_subscribe(all, "{\"topics\": [\"proc.fork\", \"proc.exit\"]}");
	pid_t listed = fork();
	cr_assert_geq(listed, 0);
	if (listed == 0) {
		die_with_parent();
		pause();
		_exit(0);
	}
	struct sysq *one = watch_connect(&d);
	char json[128];
	snprintf(json, sizeof(json), "{\"topics\": [\"proc.exit\"], \"pids\": [%d]}", (int)listed);
	uint64_t sub_one = watch_subscribe(one, json);

	cr_assert_eq(kill(d.pid, SIGSTOP), 0);
	for (int i = 0; i < 2000; i++) {
		pid_t p = fork();
		cr_assert_geq(p, 0);
		if (p == 0)
			_exit(0);
		waitpid(p, NULL, 0);
	}
	kill(listed, SIGKILL);
	cr_assert_eq(waitpid(listed, NULL, 0), listed);
	cr_assert_eq(kill(d.pid, SIGCONT), 0);

	bool gap = false;
	while (!gap) {
		struct sysq_reply r;
		const msgpack_object *e = watch_next_event(&d, all, &r, sub_all, false);
		if (ev_is(e, "topic", "gap")) {
			gap = true;
			cr_assert(ev_is(e, "source", "proc"));
		}
		sysq_reply_free(&r);
	}
	cr_assert_geq(sqd_stat(&d, "watch/proc/gaps"), 1, "sys.stats counts the gap");
	bool gap1 = false, exited = false;
	while (!gap1 || !exited) {
		struct sysq_reply r;
		const msgpack_object *e = watch_next_event(&d, one, &r, sub_one, false);
		if (ev_is(e, "topic", "gap")) {
			gap1 = true;
		} else {
			cr_assert(ev_is(e, "topic", "proc.exit"));
			cr_assert_eq(ev_num(e, "pid"), listed);
			cr_assert(!exited, "once");
			exited = true;
		}
		sysq_reply_free(&r);
	}
	sysq_close(all);
	sysq_close(one);
}

/* ---- listed pids: no descriptor each ------------------------------------ */

Test(procevents, listed_pids_are_watched_without_a_descriptor_each)
{
	SKIP_UNLESS_ROOT();
	sqd_start(&d, NULL);
	enum { PIDS = 200 };
	static pid_t kids[PIDS];
	static char json[PIDS * 12 + 64];
	for (int i = 0; i < PIDS; i++)
		kids[i] = kid_sleeper();
	size_t n = (size_t)snprintf(json, sizeof(json), "{\"topics\": [\"proc.exit\"], \"pids\": [");
	for (int i = 0; i < PIDS; i++)
		n += (size_t)snprintf(json + n, sizeof(json) - n, "%s%d", i ? ", " : "", (int)kids[i]);
	snprintf(json + n, sizeof(json) - n, "]}");
	struct sysq *c = watch_connect(&d);
	watch_subscribe(c, "{\"topics\": [\"proc.fork\"], \"pids\": [1]}"); /* the source is open */
	long long fds = sqd_stat(&d, "open_fds");
	uint64_t sub = watch_subscribe(c, json);
	long long grown = sqd_stat(&d, "open_fds") - fds;
	cr_assert_leq(grown, 2, "%d watched pids took %lld descriptors", PIDS, grown);
	kill(kids[7], SIGTERM);
	cr_assert_eq(waitpid(kids[7], NULL, 0), kids[7]);
	kid_forget(kids[7]);
	struct sysq_reply r;
	const msgpack_object *e = watch_next_event(&d, c, &r, sub, false);
	cr_assert(ev_is(e, "topic", "proc.exit") && ev_is(e, "event", "exited"));
	cr_assert_eq(ev_num(e, "pid"), kids[7]);
	cr_assert(ev_is(e, "signal", "TERM"), "the connector tells every status");
	sysq_reply_free(&r);
	sysq_close(c);
}
