/* SPDX-License-Identifier: ISC */
/*
 * test_net.c - net.* against a real sysqd that runs alone in a private
 * network namespace (lo, plus a veth pair v0/v1), so the host's interfaces
 * are never touched.  The test itself stays in the host namespace and
 * reaches the daemon through its socket path (path-bound UNIX sockets live
 * in the filesystem, not the network namespace); the namespace dies with
 * the daemon, which also gets SIGKILL should the test process die first.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "sq_proto.h"

#define LONG15 "sq-fifteen-char" /* an interface name of IFNAMSIZ-1 bytes */

static struct sqd d;
static bool have_veth;

static void note(const char *dir, const char *file, const char *text)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		ssize_t w = write(fd, text, strlen(text));
		(void)w;
		close(fd);
	}
}

static int run_ip(char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp("ip", argv);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* In sysqd's child: a new network namespace (ns_net_enter) with lo up and,
 * when the kernel has veth, v0/v1 (the file veth in the daemon's dir says
 * whether they were made). */
static int net_ns_with_veths(const struct sqd *sd, void *arg, char *why, size_t size)
{
	(void)arg;
	char err[128];
	if (ns_net_enter(true, err, sizeof(err)) < 0) {
		snprintf(why, size, "no private network namespace: %s", err);
		return -1;
	}
	/* v0/v1, and a pair whose first name is IFNAMSIZ-1 bytes long */
	char *const add1[] = { "ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1", NULL };
	char *const add2[] = { "ip", "link", "add", LONG15, "type", "veth", "peer", "name", "v2", NULL };
	note(sd->dir, "veth", run_ip(add1) == 0 && run_ip(add2) == 0 ? "ok" : "ip link add ... type veth failed");
	return 0;
}

static void ns_start(void)
{
	if (!have_root())
		cr_skip_test("SKIPPED: a network namespace needs root");
	sqd_start_prepared(&d, NULL, 0, net_ns_with_veths, NULL);
	char path[160];
	snprintf(path, sizeof(path), "%s/veth", d.dir);
	char *v = slurp(path);
	have_veth = strcmp(v, "ok") == 0;
	free(v);
}

static void cleanup(void)
{
	char path[160];
	if (!d.dir[0]) /* skipped before anything was made */
		return;
	sqd_stop_clean(&d); /* SIGTERM, wait, expect exit 0: the namespace goes with it */
	snprintf(path, sizeof(path), "%s/veth", d.dir);
	unlink(path);
	unlink(d.log);
	rmdir(d.dir);
}

TestSuite(net, .fini = cleanup, .timeout = 60);

/* The checks on veth interfaces: without a pair, the test says SKIPPED
 * (and tests/run-all.sh, as root, fails the run: CI must run them). */
#define NEED_VETH() do { if (!have_veth) \
	cr_skip_test("SKIPPED: the kernel would not create a veth pair (veth module?)"); \
	} while (0)

/* --- helpers ------------------------------------------------------------- */

static const msgpack_object *find_if(const msgpack_object *list, const char *name)
{
	const msgpack_object *ifs = sq_map_get(list, "interfaces");
	cr_assert(ifs && ifs->type == MSGPACK_OBJECT_ARRAY);
	for (uint32_t i = 0; i < ifs->via.array.size; i++)
		if (sq_obj_streq(sq_map_get(&ifs->via.array.ptr[i], "name"), name))
			return &ifs->via.array.ptr[i];
	return NULL;
}

static bool has_word(const msgpack_object *arr, const char *w)
{
	for (uint32_t i = 0; arr && arr->type == MSGPACK_OBJECT_ARRAY && i < arr->via.array.size; i++)
		if (sq_obj_streq(&arr->via.array.ptr[i], w))
			return true;
	return false;
}

static bool has_addr(const msgpack_object *ifp, const char *family, const char *addr,
                     uint64_t prefixlen)
{
	const msgpack_object *as = sq_map_get(ifp, "addrs");
	for (uint32_t i = 0; as && as->type == MSGPACK_OBJECT_ARRAY && i < as->via.array.size; i++) {
		const msgpack_object *a = &as->via.array.ptr[i];
		if (sq_obj_streq(sq_map_get(a, "family"), family) &&
		    sq_obj_streq(sq_map_get(a, "addr"), addr))
			return sq_map_get(a, "prefixlen")->via.u64 == prefixlen;
	}
	return false;
}

static long long get_mtu(struct sysq *c, const char *name)
{
	struct sysq_reply r;
	char json[96];
	snprintf(json, sizeof(json), "{\"name\": \"%s\"}", name);
	cr_assert_eq(sq_call(c, "net.mtu.get", json, &r), 0, "net.mtu.get %s: %s %s", name,
	             r.code, r.message);
	const msgpack_object *m = sq_map_get(r.result, "mtu");
	cr_assert(m && m->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
	long long v = (long long)m->via.u64;
	sysq_reply_free(&r);
	return v;
}

static void set_mtu(struct sysq *c, const char *name, long long mtu, long long expect_prev)
{
	struct sysq_reply r;
	char json[128];
	snprintf(json, sizeof(json), "{\"name\": \"%s\", \"mtu\": %lld}", name, mtu);
	cr_assert_eq(sq_call(c, "net.mtu.set", json, &r), 0, "%s: %s %s", json, r.code, r.message);
	cr_assert_eq((long long)sq_map_get(r.result, "mtu")->via.u64, mtu);
	cr_assert_eq((long long)sq_map_get(r.result, "previous")->via.u64, expect_prev);
	sysq_reply_free(&r);
}

/* Expect an error with this code; the message must contain want (if any). */
static void expect_error(struct sysq *c, const char *method, const char *json,
                         const char *code, const char *want)
{
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, method, json, &r), SYSQ_REMOTE_ERROR, "%s %s succeeded", method, json);
	cr_assert_str_eq(r.code, code, "%s %s: %s %s", method, json, r.code, r.message);
	if (want)
		cr_assert(strstr(r.message, want), "%s %s: message '%s' lacks '%s'", method, json,
		          r.message, want);
	sysq_reply_free(&r);
}

static void ns_link(pid_t pid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	ssize_t n = readlink(path, buf, size - 1);
	cr_assert(n > 0, "readlink %s: %s", path, strerror(errno));
	buf[n] = '\0';
}

/* --- tests ----------------------------------------------------------------- */

Test(net, list_shows_the_private_namespace)
{
	ns_start();
	char ours[64], theirs[64];
	ns_link(getpid(), ours, sizeof(ours));
	ns_link(d.pid, theirs, sizeof(theirs));
	cr_assert_str_neq(ours, theirs, "sysqd must run in its own network namespace");

	struct sysq *c = sqd_connect(&d); /* across namespaces, by path */
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "net.list", NULL, &r), 0, "%s %s", r.code, r.message);
	const msgpack_object *ifs = sq_map_get(r.result, "interfaces");
	cr_assert(ifs && ifs->type == MSGPACK_OBJECT_ARRAY);
	const msgpack_object *lo = find_if(r.result, "lo");
	cr_assert(lo, "lo is listed");
	cr_assert(has_word(sq_map_get(lo, "flags"), "loopback"));
	cr_assert(has_word(sq_map_get(lo, "flags"), "up"));
	cr_assert(!has_word(sq_map_get(lo, "flags"), "broadcast"));
	cr_assert(has_addr(lo, "inet", "127.0.0.1", 8));
	cr_assert(has_addr(lo, "inet6", "::1", 128));
	cr_assert_eq(sq_map_get(lo, "mac")->type, MSGPACK_OBJECT_NIL);
	cr_assert_eq(sq_map_get(lo, "index")->via.u64, 1);
	long long lo_mtu = (long long)sq_map_get(lo, "mtu")->via.u64;
	cr_assert_gt(lo_mtu, 0);
	cr_assert_eq(get_mtu(c, "lo"), lo_mtu, "net.mtu.get agrees with net.list");
	expect_error(c, "net.list", "{\"name\": \"lo\"}", "EINVAL", "name");

	if (!have_veth) {
		sysq_reply_free(&r);
		sysq_close(c);
	}
	NEED_VETH();
	cr_assert_eq(ifs->via.array.size, 5, "only the namespace's interfaces, none of the host's");
	{
		const msgpack_object *v0 = find_if(r.result, "v0");
		const msgpack_object *v1 = find_if(r.result, "v1");
		cr_assert(v0 && v1);
		const msgpack_object *mac = sq_map_get(v0, "mac");
		cr_assert(mac && mac->type == MSGPACK_OBJECT_STR && mac->via.str.size == 17,
		          "a MAC as aa:bb:cc:dd:ee:ff");
		cr_assert_eq(mac->via.str.ptr[2], ':');
		cr_assert(has_word(sq_map_get(v0, "flags"), "broadcast"));
		cr_assert(!has_word(sq_map_get(v0, "flags"), "up"), "nobody brought v0 up");
		cr_assert_neq(sq_map_get(v0, "index")->via.u64, sq_map_get(v1, "index")->via.u64);
		cr_assert_eq(sq_map_get(v0, "addrs")->type, MSGPACK_OBJECT_ARRAY);
		cr_assert(find_if(r.result, LONG15) && find_if(r.result, "v2"));
	}
	sysq_reply_free(&r);
	sysq_close(c);
}

Test(net, set_and_restore_lo_and_v0)
{
	ns_start();
	struct sysq *c = sqd_connect(&d);
	long long orig = get_mtu(c, "lo");
	long long other = orig == 9000 ? 9001 : 9000;
	set_mtu(c, "lo", other, orig);
	cr_assert_eq(get_mtu(c, "lo"), other);
	set_mtu(c, "lo", other, other); /* the same value again is fine */
	set_mtu(c, "lo", orig, other);
	cr_assert_eq(get_mtu(c, "lo"), orig);

	/* every change is logged with the caller's uid and pid */
	char *log = slurp(d.log);
	char line[160];
	snprintf(line, sizeof(line), "notice: net.mtu.set: lo mtu %lld -> %lld by uid 0 pid %d",
	         orig, other, (int)getpid());
	cr_assert(strstr(log, line), "log lacks '%s':\n%s", line, log);
	snprintf(line, sizeof(line), "net.mtu.set: lo mtu %lld -> %lld by uid 0 pid %d",
	         other, orig, (int)getpid());
	cr_assert(strstr(log, line), "log lacks '%s':\n%s", line, log);
	free(log);

	if (!have_veth)
		sysq_close(c);
	NEED_VETH();
	{
		long long v = get_mtu(c, "v0");
		set_mtu(c, "v0", 1400, v);
		cr_assert_eq(get_mtu(c, "v0"), 1400);
		set_mtu(c, "v0", v, 1400);
		cr_assert_eq(get_mtu(c, "v0"), v);
	}
	sysq_close(c);
}

Test(net, out_of_range_mtu_is_EINVAL_and_changes_nothing)
{
	ns_start();
	struct sysq *c = sqd_connect(&d);
	long long lo = get_mtu(c, "lo");
	/* the param check */
	expect_error(c, "net.mtu.set", "{\"name\": \"lo\", \"mtu\": 2147483648}", "EINVAL", "'mtu'");
	expect_error(c, "net.mtu.set", "{\"name\": \"lo\", \"mtu\": -1}", "EINVAL", "'mtu'");
	expect_error(c, "net.mtu.set", "{\"name\": \"lo\", \"mtu\": \"1500\"}", "EINVAL", "'mtu'");
	expect_error(c, "net.mtu.set", "{\"name\": \"lo\"}", "EINVAL", "'mtu'");
	cr_assert_eq(get_mtu(c, "lo"), lo);
	if (!have_veth)
		sysq_close(c);
	NEED_VETH();
	{
		/* in the param range, outside veth's 68..65535: the range the
		 * kernel tells for the interface, named */
		long long v0 = get_mtu(c, "v0");
		expect_error(c, "net.mtu.set", "{\"name\": \"v0\", \"mtu\": 65536}", "EINVAL",
		             "68..65535");
		expect_error(c, "net.mtu.set", "{\"name\": \"v0\", \"mtu\": 67}", "EINVAL",
		             "68..65535");
		cr_assert_eq(get_mtu(c, "v0"), v0);
		char *log = slurp(d.log);
		cr_assert(strstr(log, "net.mtu.set: v0 mtu 65536 by uid 0"), "the attempt is logged");
		free(log);
	}
	sysq_close(c);
}

Test(net, unknown_interface_is_ENODEV)
{
	ns_start();
	struct sysq *c = sqd_connect(&d);
	expect_error(c, "net.mtu.get", "{\"name\": \"nosuch0\"}", "ENODEV", "nosuch0");
	expect_error(c, "net.mtu.set", "{\"name\": \"nosuch0\", \"mtu\": 1500}", "ENODEV", "nosuch0");
	/* eth0 exists on the host, not in the daemon's namespace */
	expect_error(c, "net.mtu.get", "{\"name\": \"eth0\"}", "ENODEV", NULL);
	sysq_close(c);
}

Test(net, bad_names_are_EINVAL_never_truncated)
{
	ns_start();
	struct sysq *c = sqd_connect(&d);
	long long lo = get_mtu(c, "lo");
	expect_error(c, "net.mtu.get", "{\"name\": \"lo0123456789abcd\"}", "EINVAL", "'name'");
	expect_error(c, "net.mtu.get", "{\"name\": \"\"}", "EINVAL", "'name'");
	/* Linux's ioctls drop ":alias": "lo:0" would be lo */
	expect_error(c, "net.mtu.set", "{\"name\": \"lo:0\", \"mtu\": 1500}", "EINVAL", "'name'");
	expect_error(c, "net.mtu.get", "{\"name\": \"lo\\u0000x\"}", "EINVAL", "'name'");
	expect_error(c, "net.mtu.get", "{\"name\": 5}", "EINVAL", "'name'");
	expect_error(c, "net.mtu.get", "{}", "EINVAL", "'name'");
	expect_error(c, "net.mtu.get", "{\"name\": \"lo\", \"x\": 1}", "EINVAL", "'x'");
	cr_assert_eq(get_mtu(c, "lo"), lo, "lo untouched");
	/* 15 bytes is a legal length: just no such interface */
	expect_error(c, "net.mtu.get", "{\"name\": \"lo0123456789abc\"}", "ENODEV", NULL);

	if (!have_veth)
		sysq_close(c);
	NEED_VETH();
	/* cut to IFNAMSIZ-1 bytes, this 16-byte name would be LONG15's */
	long long v = get_mtu(c, LONG15);
	expect_error(c, "net.mtu.get", "{\"name\": \"" LONG15 "X\"}", "EINVAL", "'name'");
	expect_error(c, "net.mtu.set", "{\"name\": \"" LONG15 "X\", \"mtu\": 1400}",
	             "EINVAL", "'name'");
	cr_assert_eq(get_mtu(c, LONG15), v, LONG15 " untouched");
	cr_assert_neq(v, 1400);
	sysq_close(c);
}

struct nobody_arg {
	const char *sock;
	long long mtu;
};

/* As uid 65534: may read, may not change. Returns 0 or the failed step. */
static int as_nobody(void *p)
{
	const struct nobody_arg *a = p;
	char err[256], json[96];
	struct sysq *c = sysq_connect(a->sock, err, sizeof(err));
	if (!c)
		return 10;
	struct sysq_reply r;
	if (sysq_call0(c, "net.list", &r) != 0)
		return 11;
	sysq_reply_free(&r);
	if (sq_call(c, "net.mtu.get", "{\"name\": \"lo\"}", &r) != 0)
		return 12;
	sysq_reply_free(&r);
	snprintf(json, sizeof(json), "{\"name\": \"lo\", \"mtu\": %lld}", a->mtu);
	if (sq_call(c, "net.mtu.set", json, &r) != SYSQ_REMOTE_ERROR)
		return 13;
	if (strcmp(r.code, "EPERM") != 0)
		return 14;
	sysq_reply_free(&r);
	sysq_close(c);
	return 0;
}

Test(net, a_non_root_caller_gets_EPERM_and_nothing_changes)
{
	ns_start();
	struct sysq *c = sqd_connect(&d);
	long long lo = get_mtu(c, "lo");
	struct nobody_arg a = { d.sock, lo == 1500 ? 1400 : 1500 };
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, as_nobody, &a), 0);
	cr_assert_eq(get_mtu(c, "lo"), lo, "the MTU did not change");
	char *log = slurp(d.log);
	cr_assert_null(strstr(log, "net.mtu.set: lo"), "no change was made or tried:\n%s", log);
	free(log);
	sysq_close(c);
}

Test(net, the_cli)
{
	ns_start();
	char out[4096];
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "net"), 0);
	cr_assert(strncmp(out, "NAME", 4) == 0, "header first: %s", out);
	cr_assert(strstr(out, "MTU") && strstr(out, "FLAGS") && strstr(out, "MAC") &&
	          strstr(out, "ADDRESSES"), "%s", out);
	cr_assert(strstr(out, "127.0.0.1/8") && strstr(out, "::1/128"), "%s", out);
	cr_assert(strstr(out, "up,running,loopback") || strstr(out, "up,loopback"), "%s", out);
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "--json net"), 0);
	cr_assert(strstr(out, "\"interfaces\""), "%s", out);

	struct sysq *c = sqd_connect(&d);
	long long lo = get_mtu(c, "lo");
	long long other = lo == 9000 ? 9001 : 9000;
	char args[64], want[96];
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "mtu lo"), 0);
	cr_assert_eq(atoll(out), lo, "%s", out);
	snprintf(args, sizeof(args), "mtu lo %lld", other);
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "%s", args), 0);
	snprintf(want, sizeof(want), "lo: mtu %lld (was %lld)\n", other, lo);
	cr_assert_str_eq(out, want);
	cr_assert_eq(get_mtu(c, "lo"), other);
	snprintf(args, sizeof(args), "mtu lo %lld", lo);
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "%s", args), 0);
	cr_assert_eq(get_mtu(c, "lo"), lo);
	sysq_close(c);

	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "mtu nosuch0"), 1, "daemon error: exit 1");
	/* lo takes any MTU (its driver sets no range); veth's is 68..65535 */
	if (have_veth)
		cr_assert_eq(sqd_cli(&d, out, sizeof(out), "mtu v0 10"), 1, "EINVAL: exit 1");
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "mtu lo nine"), 2, "usage: exit 2");
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "mtu"), 2);
}

Test(net, the_namespace_goes_away_with_the_daemon)
{
	ns_start();
	char theirs[64], path[300], link[64];
	ns_link(d.pid, theirs, sizeof(theirs));
	int st = sqd_stop(&d);
	cr_assert_eq(st, 0, "sysqd exit status %d", st);
	/* no process is left in that namespace */
	DIR *proc = opendir("/proc");
	cr_assert(proc);
	struct dirent *e;
	while ((e = readdir(proc)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", e->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		cr_assert_str_neq(link, theirs, "pid %s is still in the test namespace", e->d_name);
	}
	closedir(proc);
}

/* --- counters, state, carrier, MTU range ------------------------------------ */

/* The counters Linux gives every interface (tx_multicast is macOS's). */
static const char *const wire_stats[] = {
	"rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "rx_multicast",
	"tx_bytes", "tx_packets", "tx_errors", "tx_dropped", "collisions",
};
#define SQ_NET_NSTATS_WIRE (int)(sizeof(wire_stats) / sizeof(wire_stats[0]))

static const msgpack_object *stat_of(const msgpack_object *ifp, const char *name)
{
	const msgpack_object *v = sq_map_get(sq_map_get(ifp, "stats"), name);
	cr_assert(v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER, "stats.%s missing", name);
	return v;
}

/* In the daemon's namespace: v0 and v1 up, then n broadcast frames of len
 * bytes out of v0 (an AF_PACKET socket: no address needed). */
static int send_frames(pid_t ns_of, int n, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)ns_of);
	int nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0)
		return 10;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	const char *const names[] = { "v1", "v0" };
	for (int i = 0; i < 2; i++) {
		struct ifreq ifr;
		memset(&ifr, 0, sizeof(ifr));
		strcpy(ifr.ifr_name, names[i]);
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
			return 11;
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			return 12;
	}
	close(fd);
	int pk = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (pk < 0)
		return 13;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = 6,
	                           .sll_ifindex = (int)if_nametoindex("v0") };
	memset(sll.sll_addr, 0xff, 6);
	unsigned char frame[1500];
	memset(frame, 0, sizeof(frame));
	memset(frame, 0xff, 6);                     /* to: broadcast */
	frame[6] = 0x02;                            /* from: a local address */
	frame[12] = 0x88, frame[13] = 0xb5;         /* local experimental ethertype */
	for (int i = 0; i < n; i++)
		if (sendto(pk, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)) != (ssize_t)len)
			return 14;
	close(pk);
	return 0;
}

Test(net, counters_move_with_traffic_on_a_veth_pair)
{
	ns_start();
	NEED_VETH();
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r0, r1;
	cr_assert_eq(sq_call(c, "net.list", NULL, &r0), 0, "%s", r0.message);
	const msgpack_object *v0 = find_if(r0.result, "v0"), *v1 = find_if(r0.result, "v1");
	const msgpack_object *lo = find_if(r0.result, "lo");
	cr_assert(sq_obj_streq(sq_map_get(v0, "operstate"), "DOWN"), "nobody brought v0 up");
	cr_assert(sq_obj_streq(sq_map_get(lo, "operstate"), "UNKNOWN"), "lo, as ip shows it");
	/* veth's driver takes 68..65535; lo sets no maximum: absent, never 0 */
	cr_assert_eq(sq_map_get(v0, "min_mtu")->via.u64, 68);
	cr_assert_eq(sq_map_get(v0, "max_mtu")->via.u64, 65535);
	cr_assert_eq(sq_map_get(lo, "min_mtu")->via.u64, 0);
	cr_assert_null(sq_map_get(lo, "max_mtu"));
	uint64_t tx0 = stat_of(v0, "tx_packets")->via.u64, txb0 = stat_of(v0, "tx_bytes")->via.u64;
	uint64_t rx0 = stat_of(v1, "rx_packets")->via.u64, rxb0 = stat_of(v1, "rx_bytes")->via.u64;
	for (int i = 0; i < SQ_NET_NSTATS_WIRE; i++)
		stat_of(v0, wire_stats[i]);

	pid_t kid = fork();
	cr_assert_geq(kid, 0);
	if (kid == 0)
		_exit(send_frames(d.pid, 10, 200));
	int st;
	waitpid(kid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sending in the namespace failed: %d", st);

	cr_assert_eq(sq_call(c, "net.list", NULL, &r1), 0, "%s", r1.message);
	v0 = find_if(r1.result, "v0");
	v1 = find_if(r1.result, "v1");
	/* at least ours (the kernel may send its own once the link is up) */
	cr_assert_geq(stat_of(v0, "tx_packets")->via.u64, tx0 + 10);
	cr_assert_geq(stat_of(v0, "tx_bytes")->via.u64, txb0 + 2000);
	cr_assert_geq(stat_of(v1, "rx_packets")->via.u64, rx0 + 10);
	cr_assert_geq(stat_of(v1, "rx_bytes")->via.u64, rxb0 + 2000);
	cr_assert(sq_obj_streq(sq_map_get(v0, "operstate"), "UP"));
	cr_assert_eq(sq_map_get(v0, "carrier")->type, MSGPACK_OBJECT_BOOLEAN);
	cr_assert(sq_map_get(v0, "carrier")->via.boolean, "both ends up: carrier");
	sysq_reply_free(&r0);
	sysq_reply_free(&r1);
	sysq_close(c);
}

Test(net, sysq_net_s_shows_the_counters)
{
	ns_start();
	char out[4096];
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "net -s"), 0);
	cr_assert(strncmp(out, "NAME", 4) == 0, "header first: %s", out);
	cr_assert(strstr(out, "STATE") && strstr(out, "RX-BYTES") && strstr(out, "TX-DROP"), "%s", out);
	char *lo = strstr(out, "\nlo ");
	cr_assert(lo && strstr(lo, "UNKNOWN"), "lo's state as ip shows it: %s", out);
	cr_assert_eq(sqd_cli(&d, out, sizeof(out), "net -x"), 2, "usage: exit 2");
}
