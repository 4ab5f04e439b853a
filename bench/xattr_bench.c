/* SPDX-License-Identifier: ISC */
/*
 * xattr_bench.c - the numbers behind bench/b_xattr.sh: pipelined xattr.get
 * against pipelined sys.ping (same client, alternating rounds), and the
 * per-call cost of raw getxattr(2), of sq_xattr_get in-process (both ways
 * to the inode on Linux) and of the identity switch.  Prints key=value lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "sq_ident.h"
#include "sq_proto.h"
#include "sq_xattr.h"

/*
 *   xattr_bench SOCKET FILE NAME [TOTAL [CONNS [PIPELINE [ROUNDS [UID]]]]]
 *
 * With UID (and run as root), the identity switch is measured first
 * (sq_ident_enter + leave; sq_ident_become with the same caller again, and
 * with another caller each time), then the process becomes UID, so the raw
 * calls and the daemon's requests all run as that user.
 */
struct conn {
	int fd;
	size_t partial;        /* bytes of the current reply seen so far */
	char *pend;            /* request bytes the kernel did not take yet */
	size_t pend_len;
};

struct wire {
	char *req, *rep;       /* one request and its exact reply */
	size_t req_len, rep_len;
};

static int ep;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "xattr_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die(path);
	return fd;
}

/* Encode a request (msgid 1), send it once, keep the exact reply bytes. */
static void wire_init(struct wire *w, const char *sock, const char *method,
                      const char *file, const char *name)
{
	struct sq_buf b;
	msgpack_packer pk;
	sq_buf_init(&b);
	sq_packer_init(&pk, &b);
	sq_pack_request_head(&pk, 1, method);
	if (file) {
		msgpack_pack_array(&pk, 1);
		msgpack_pack_map(&pk, 2);
		sq_pack_kv_str(&pk, "path", file);
		sq_pack_kv_str(&pk, "name", name);
	} else {
		msgpack_pack_array(&pk, 0);
	}
	w->req = b.data;
	w->req_len = b.len;

	int fd = dial(sock);
	if (write(fd, w->req, w->req_len) != (ssize_t)w->req_len)
		die("write");
	struct sq_buf in;
	sq_buf_init(&in);
	size_t flen = 0;
	while (sq_frame_scan(in.data, in.len, &sq_default_limits, &flen) == -EAGAIN) {
		if (sq_buf_reserve(&in, 65536) < 0)
			die("malloc");
		ssize_t r = read(fd, in.data + in.len, in.cap - in.len);
		if (r <= 0)
			die("read");
		in.len += (size_t)r;
	}
	close(fd);
	w->rep = in.data;
	w->rep_len = flen;
	/* an error reply would make a fine-looking but meaningless figure */
	msgpack_zone z;
	struct sq_msg m;
	const char *why;
	msgpack_zone_init(&z, 1024);
	if (sq_msg_parse(w->rep, flen, &z, &m, &why) < 0 || m.error.type != MSGPACK_OBJECT_NIL) {
		fprintf(stderr, "xattr_bench: %s answered an error\n", method);
		exit(1);
	}
	msgpack_zone_destroy(&z);
}

static void send_reqs(struct conn *c, const char *reqs, size_t len)
{
	if (c->pend_len == 0) {
		ssize_t w = write(c->fd, reqs, len);
		if (w < 0 && errno != EAGAIN)
			die("write");
		if (w < 0)
			w = 0;
		reqs += w;
		len -= (size_t)w;
		if (len == 0)
			return;
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
	memcpy(c->pend + c->pend_len, reqs, len);
	c->pend_len += len;
}

static void flush_pend(struct conn *c)
{
	ssize_t w = write(c->fd, c->pend, c->pend_len);
	if (w < 0 && errno == EAGAIN)
		return;
	if (w < 0)
		die("write");
	memmove(c->pend, c->pend + w, c->pend_len - (size_t)w);
	c->pend_len -= (size_t)w;
	if (c->pend_len == 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
}

/* Whole replies in p[0..n), every byte checked. */
static size_t take(struct conn *c, const struct wire *w, const char *p, size_t n)
{
	size_t done = 0;
	while (n) {
		size_t k = w->rep_len - c->partial;
		if (k > n)
			k = n;
		if (memcmp(p, w->rep + c->partial, k) != 0) {
			fprintf(stderr, "xattr_bench: unexpected reply bytes\n");
			exit(1);
		}
		p += k;
		n -= k;
		c->partial += k;
		if (c->partial == w->rep_len) {
			c->partial = 0;
			done++;
		}
	}
	return done;
}

/* Requests per second: nconn connections, pipe_n in flight on each. */
static double throughput(const char *sock, const struct wire *w, uint64_t total,
                         size_t nconn, size_t pipe_n)
{
	static char rbuf[1 << 16];
	char *reqs = malloc(pipe_n * w->req_len);
	struct conn *cs = calloc(nconn, sizeof(*cs));
	if (!reqs || !cs)
		die("malloc");
	for (size_t i = 0; i < pipe_n; i++)
		memcpy(reqs + i * w->req_len, w->req, w->req_len);
	ep = epoll_create1(EPOLL_CLOEXEC);
	for (size_t i = 0; i < nconn; i++) {
		cs[i].fd = dial(sock);
		fcntl(cs[i].fd, F_SETFL, fcntl(cs[i].fd, F_GETFL) | O_NONBLOCK);
		cs[i].pend = malloc(2 * pipe_n * w->req_len);
		if (!cs[i].pend)
			die("malloc");
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	uint64_t sent = 0, got = 0, t0 = now_ns();
	for (size_t i = 0; i < nconn && sent < total; i++) {
		size_t k = total - sent < pipe_n ? (size_t)(total - sent) : pipe_n;
		send_reqs(&cs[i], reqs, k * w->req_len);
		sent += k;
	}
	struct epoll_event evs[64];
	while (got < total) {
		int ne = epoll_wait(ep, evs, 64, 10000);
		if (ne < 0 && errno == EINTR)
			continue;
		if (ne <= 0) {
			fprintf(stderr, "xattr_bench: no reply for 10 s\n");
			exit(1);
		}
		for (int e = 0; e < ne; e++) {
			struct conn *c = evs[e].data.ptr;
			if (evs[e].events & EPOLLOUT)
				flush_pend(c);
			if (!(evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				continue;
			ssize_t r = read(c->fd, rbuf, sizeof(rbuf));
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r <= 0) {
				fprintf(stderr, "xattr_bench: sysqd closed a connection\n");
				exit(1);
			}
			size_t done = take(c, w, rbuf, (size_t)r);
			got += done;
			size_t k = total - sent < done ? (size_t)(total - sent) : done;
			if (k) {
				send_reqs(c, reqs, k * w->req_len);
				sent += k;
			}
		}
	}
	double rps = (double)total / ((double)(now_ns() - t0) / 1e9);
	for (size_t i = 0; i < nconn; i++) {
		close(cs[i].fd);
		free(cs[i].pend);
	}
	close(ep);
	free(cs);
	free(reqs);
	return rps;
}

/* ns per call of fn, best of 5 runs of n calls. */
static double best_ns(long n, void (*fn)(void *), void *arg)
{
	double best = 1e18;
	for (int run = 0; run < 5; run++) {
		uint64_t t = now_ns();
		for (long i = 0; i < n; i++)
			fn(arg);
		double per = (double)(now_ns() - t) / (double)n;
		if (per < best)
			best = per;
	}
	return best;
}

struct target {
	const char *file, *name;
	ssize_t len;
};

static void switch_once(void *arg)
{
	if (sq_ident_enter(arg) < 0)
		die("sq_ident_enter");
	sq_ident_leave();
}

/* What an as-caller pool thread does per request: the same caller again
 * (nothing), or a different one each time (back to sysqd, into the next). */
static void become_once(void *arg)
{
	if (sq_ident_become(arg) < 0)
		die("sq_ident_become");
}

static void become_other(void *arg)
{
	static int k;
	const struct sq_cred *two = arg;
	if (sq_ident_become(&two[k++ & 1]) < 0)
		die("sq_ident_become");
}

static void raw_once(void *arg)
{
	const struct target *t = arg;
	char buf[SQ_XATTR_INLINE];
	if (getxattr(t->file, t->name, buf, sizeof(buf)) != t->len)
		die("getxattr");
}

static void raw64_once(void *arg)
{
	const struct target *t = arg;
	static char big[SQ_XATTR_LINUX_MAX];
	if (getxattr(t->file, t->name, big, sizeof(big)) != t->len)
		die("getxattr");
}

static void lib_once(void *arg)
{
	const struct target *t = arg;
	struct sq_xattr_buf b;
	if (sq_xattr_get(t->file, t->name, 0, 1u << 20, &b) < 0)
		die("sq_xattr_get");
	sq_xattr_buf_free(&b);
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 9) {
		fprintf(stderr, "usage: xattr_bench SOCKET FILE NAME [TOTAL [CONNS [PIPELINE "
		                "[ROUNDS [UID]]]]]\n");
		return 2;
	}
	const char *sock = argv[1], *file = argv[2], *name = argv[3];
	uint64_t total = argc > 4 ? strtoull(argv[4], NULL, 10) : 200000;
	size_t nconn = argc > 5 ? strtoul(argv[5], NULL, 10) : 8;
	size_t pipe_n = argc > 6 ? strtoul(argv[6], NULL, 10) : 16;
	int rounds = argc > 7 ? atoi(argv[7]) : 3;
	long uid = argc > 8 ? atol(argv[8]) : -1;
	if (!total || !nconn || nconn > 1000 || !pipe_n || pipe_n > 128 || rounds < 1) {
		fprintf(stderr, "xattr_bench: bad numbers\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	const long n = 20000;

	/* the identity switch a pool request makes, as root */
	sq_ident_init();
	if (sq_ident_can_switch() && uid >= 0) {
		gid_t groups[1] = { (gid_t)uid };
		struct sq_cred cr = { (uid_t)uid, (gid_t)uid, getpid(), 1, groups };
		printf("ident_switch_ns=%.0f\n", best_ns(n, switch_once, &cr));
		gid_t g2[1] = { (gid_t)uid + 1 };
		struct sq_cred two[2] = { cr, { (uid_t)uid + 1, (gid_t)uid + 1, getpid(), 1, g2 } };
		printf("ident_become_same_ns=%.0f\n", best_ns(n, become_once, &cr));
		printf("ident_become_other_ns=%.0f\n", best_ns(n, become_other, two));
		sq_ident_drop();
		if (setgroups(0, NULL) < 0 || setgid((gid_t)uid) < 0 || setuid((uid_t)uid) < 0)
			die("dropping to UID");
	}
	printf("uid=%u\n", (unsigned)getuid());

	/* raw baselines, in-process */
	char buf[SQ_XATTR_INLINE];
	struct target t = { file, name, getxattr(file, name, buf, sizeof(buf)) };
	if (t.len < 0)
		die(file);
	printf("value_bytes=%zd\nraw_getxattr_ns=%.0f\nraw_getxattr_64k_buffer_ns=%.0f\n"
	       "lib_get_ns=%.0f\n", t.len, best_ns(n, raw_once, &t), best_ns(n, raw64_once, &t),
	       best_ns(n, lib_once, &t));
	printf("lib_via=%s\n", sq_xattr_via() == SQ_XATTR_VIA_PROC_AT ? "getxattrat"
	                       : sq_xattr_via() == SQ_XATTR_VIA_PROC_PATH ? "path" : "fd");
	if (sq_xattr_via() == SQ_XATTR_VIA_PROC_AT) {
		sq_xattr_force_paths(1); /* what a kernel before 6.13 would cost */
		printf("lib_get_paths_ns=%.0f\n", best_ns(n, lib_once, &t));
		sq_xattr_force_paths(0);
	}
	fflush(stdout);

	/* pipelined, alternating rounds, best of each */
	struct wire ping, get;
	wire_init(&ping, sock, "sys.ping", NULL, NULL);
	wire_init(&get, sock, "xattr.get", file, name);
	double best_ping = 0, best_get = 0;
	for (int r = 0; r < rounds; r++) {
		double p = throughput(sock, &ping, total, nconn, pipe_n);
		double g = throughput(sock, &get, total, nconn, pipe_n);
		printf("round%d_ping_rps=%.0f\nround%d_get_rps=%.0f\n", r + 1, p, r + 1, g);
		fflush(stdout);
		if (p > best_ping)
			best_ping = p;
		if (g > best_get)
			best_get = g;
	}
	printf("ping_rps=%.0f\nget_rps=%.0f\nratio=%.2f\nget_us_per_call=%.2f\n", best_ping,
	       best_get, best_get / best_ping, 1e6 / best_get);
	free(ping.req), free(ping.rep), free(get.req), free(get.rep);
	return 0;
}
