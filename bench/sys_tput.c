/* SPDX-License-Identifier: ISC */
/*
 * sys_tput.c - pipelined throughput: one thread, epoll, C connections each
 * keeping P requests in flight (whenever replies arrive, as many new requests
 * go out at once), until TOTAL replies have come back.
 *
 *   sys_tput sysq|redis SOCKET [TOTAL [CONNS [PIPELINE]]]
 *
 * "sysq" sends pre-encoded sys.ping requests; "redis" sends the RESP PING
 * that redis-benchmark's PING_MBULK sends, so the same client can measure
 * both servers.  Every reply byte is checked.  Prints key=value lines.
 */
#ifndef __linux__
#include <stdio.h>
int main(void)
{
	fprintf(stderr, "sys_tput: Linux only (epoll)\n");
	return 1;
}
#else
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>

#include "sys_common.h"

struct conn {
	int fd;
	size_t partial;       /* bytes of the current reply seen so far */
	size_t pend_len;      /* request bytes the kernel did not take yet */
	char *pend;
	bool want_out;
};

static const char *req, *rep;
static size_t req_len, rep_len;
static char *reqs;        /* PIPELINE copies of the request, back to back */
static int ep;

static void set_events(struct conn *c, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c };
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		bn_die("epoll_ctl");
	c->want_out = out;
}

/* Queue n requests on c: write what the kernel takes, keep the rest. */
static void send_reqs(struct conn *c, size_t n)
{
	size_t len = n * req_len;
	if (c->pend_len) {
		memcpy(c->pend + c->pend_len, reqs, len);
		c->pend_len += len;
		return;
	}
	ssize_t w = write(c->fd, reqs, len);
	if (w < 0) {
		if (errno != EAGAIN)
			bn_die("write");
		w = 0;
	}
	if ((size_t)w < len) {
		memcpy(c->pend, reqs + w, len - (size_t)w);
		c->pend_len = len - (size_t)w;
		set_events(c, true);
	}
}

static void flush_pend(struct conn *c)
{
	ssize_t w = write(c->fd, c->pend, c->pend_len);
	if (w < 0) {
		if (errno == EAGAIN)
			return;
		bn_die("write");
	}
	memmove(c->pend, c->pend + w, c->pend_len - (size_t)w);
	c->pend_len -= (size_t)w;
	if (c->pend_len == 0)
		set_events(c, false);
}

/* Count whole replies in p[0..n), checking every byte. */
static size_t take_replies(struct conn *c, const char *p, size_t n)
{
	size_t done = 0;
	while (n) {
		size_t k = rep_len - c->partial;
		if (k > n)
			k = n;
		if (memcmp(p, rep + c->partial, k) != 0) {
			fprintf(stderr, "sys_tput: unexpected reply bytes\n");
			exit(1);
		}
		p += k;
		n -= k;
		c->partial += k;
		if (c->partial == rep_len) {
			c->partial = 0;
			done++;
		}
	}
	return done;
}

int main(int argc, char **argv)
{
	static const char resp_ping[] = "*1\r\n$4\r\nPING\r\n";
	static const char resp_pong[] = "+PONG\r\n";
	static char rbuf[65536];
	struct bn_ping ping;

	if (argc < 3 || argc > 6 || (strcmp(argv[1], "sysq") && strcmp(argv[1], "redis"))) {
		fprintf(stderr, "usage: sys_tput sysq|redis SOCKET [TOTAL [CONNS [PIPELINE]]]\n");
		return 2;
	}
	uint64_t total = argc > 3 ? strtoull(argv[3], NULL, 10) : 2000000;
	size_t nconn = argc > 4 ? strtoul(argv[4], NULL, 10) : 50;
	size_t pipe_n = argc > 5 ? strtoul(argv[5], NULL, 10) : 16;
	if (!total || !nconn || nconn > 10000 || !pipe_n || pipe_n > 1024) {
		fprintf(stderr, "sys_tput: bad numbers\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	bn_raise_nofile(nconn + 64);

	if (strcmp(argv[1], "sysq") == 0) {
		bn_ping_init(&ping, "sys.ping", 1);
		req = ping.req, req_len = ping.req_len;
		rep = ping.rep, rep_len = ping.rep_len;
	} else {
		req = resp_ping, req_len = sizeof(resp_ping) - 1;
		rep = resp_pong, rep_len = sizeof(resp_pong) - 1;
	}
	reqs = malloc(pipe_n * req_len);
	if (!reqs)
		bn_die("malloc");
	for (size_t i = 0; i < pipe_n; i++)
		memcpy(reqs + i * req_len, req, req_len);

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		bn_die("epoll_create1");
	struct conn *cs = calloc(nconn, sizeof(*cs));
	if (!cs)
		bn_die("calloc");
	for (size_t i = 0; i < nconn; i++) {
		struct conn *c = &cs[i];
		c->fd = bn_connect(argv[2]);
		if (c->fd < 0)
			bn_die(argv[2]);
		fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
		c->pend = malloc(2 * pipe_n * req_len);
		if (!c->pend)
			bn_die("malloc");
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			bn_die("epoll_ctl");
	}

	uint64_t sent = 0, got = 0;
	uint64_t t0 = bn_now_ns();
	for (size_t i = 0; i < nconn && sent < total; i++) {
		size_t k = total - sent < pipe_n ? (size_t)(total - sent) : pipe_n;
		send_reqs(&cs[i], k);
		sent += k;
	}
	struct epoll_event evs[128];
	while (got < total) {
		int ne = epoll_wait(ep, evs, 128, 10000);
		if (ne < 0) {
			if (errno == EINTR)
				continue;
			bn_die("epoll_wait");
		}
		if (ne == 0) {
			fprintf(stderr, "sys_tput: no reply for 10 s (%llu of %llu)\n",
			        (unsigned long long)got, (unsigned long long)total);
			return 1;
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
				fprintf(stderr, "sys_tput: server closed a connection\n");
				return 1;
			}
			size_t done = take_replies(c, rbuf, (size_t)r);
			got += done;
			size_t k = total - sent < done ? (size_t)(total - sent) : done;
			if (k) {
				send_reqs(c, k);
				sent += k;
			}
		}
	}
	double secs = (double)(bn_now_ns() - t0) / 1e9;
	for (size_t i = 0; i < nconn; i++) {
		close(cs[i].fd);
		free(cs[i].pend);
	}
	free(cs);
	free(reqs);
	close(ep);
	printf("requests=%llu\nconnections=%zu\npipeline=%zu\n",
	       (unsigned long long)total, nconn, pipe_n);
	printf("seconds=%.3f\nrps=%.0f\n", secs, (double)total / secs);
	return 0;
}
#endif
