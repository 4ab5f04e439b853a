/* SPDX-License-Identifier: ISC */
/*
 * sys_raw.c - the raw AF_UNIX ping-pong servers sys_rtt compares sysqd with.
 *
 *   sys_raw epoll|block SOCKET
 *
 * Both answer the exact bytes of a sys.ping request with the exact bytes of
 * its reply, decoding nothing, one client at a time (the epoll server hangs
 * up on a second one), until killed:
 *  - epoll: what any event-loop daemon's floor is: a nonblocking listening
 *    socket and connection in one level-triggered epoll set (kqueue on macOS,
 *    as libuv uses them), one read per readiness, one write of the reply;
 *  - block: accept, then a blocking read of the request and a blocking write
 *    of the reply.
 * b_sys.sh starts them as it starts sysqd, as processes of their own listening
 * on a path, so the client reaches all three servers identically (a child
 * forked by the client would be scheduled differently: docs/bench.md).
 * SOCKET appears only once it accepts: bound as SOCKET.tmp, renamed after
 * listen(2), so a script can wait for it with test -S.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#ifdef __linux__
#include <sys/epoll.h>
#else
#include <sys/event.h>
#endif

#include "sys_common.h"

static struct bn_ping ping;

static void block_server(int lfd)
{
	char req[64];
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			bn_die("accept");
		}
		while (bn_read_full(fd, req, ping.req_len) == 0 &&
		       bn_write_full(fd, ping.rep, ping.rep_len) == 0)
			;
		close(fd);
	}
}

/* The readiness wait: epoll on Linux, kqueue on macOS, level-triggered. */
static int ev_open(void)
{
#ifdef __linux__
	return epoll_create1(EPOLL_CLOEXEC);
#else
	return kqueue();
#endif
}

static int ev_add(int q, int fd)
{
#ifdef __linux__
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	return epoll_ctl(q, EPOLL_CTL_ADD, fd, &ev);
#else
	struct kevent ev;
	EV_SET(&ev, fd, EVFILT_READ, EV_ADD, 0, 0, NULL);
	return kevent(q, &ev, 1, NULL, 0, NULL);
#endif
}

/* Up to 8 ready descriptors into fds; their count, or -1. */
static int ev_wait(int q, int fds[8])
{
#ifdef __linux__
	struct epoll_event ev[8];
	int n = epoll_wait(q, ev, 8, -1);
	for (int i = 0; i < n; i++)
		fds[i] = ev[i].data.fd;
#else
	struct kevent ev[8];
	int n = kevent(q, NULL, 0, ev, 8, NULL);
	for (int i = 0; i < n; i++)
		fds[i] = (int)ev[i].ident;
#endif
	return n;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* The whole reply on a nonblocking socket: 9 bytes never fill a socket
 * buffer in a ping-pong, but if they ever do, wait for room.  0 or -1. */
static int put_reply(int fd)
{
	size_t off = 0;
	while (off < ping.rep_len) {
		ssize_t w = write(fd, ping.rep + off, ping.rep_len - off);
		if (w >= 0) {
			off += (size_t)w;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			poll(&p, 1, -1);
		} else if (errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

static void epoll_server(int lfd)
{
	char buf[4096];
	size_t have = 0;
	int cfd = -1, q = ev_open();
	if (q < 0 || set_nonblock(lfd) < 0 || ev_add(q, lfd) < 0)
		bn_die("event queue");
	for (;;) {
		int fds[8];
		int n = ev_wait(q, fds);
		if (n < 0 && errno != EINTR)
			bn_die("waiting for events");
		for (int i = 0; i < n; i++) {
			if (fds[i] == lfd) {
				int fd = accept(lfd, NULL, NULL);
				if (fd < 0)
					continue; /* EAGAIN: it went away */
				if (cfd >= 0) { /* one client at a time */
					close(fd);
					continue;
				}
				if (set_nonblock(fd) < 0 || ev_add(q, fd) < 0)
					bn_die("adding a client");
				cfd = fd;
				have = 0;
				continue;
			}
			if (fds[i] != cfd)
				continue;
			ssize_t r = read(cfd, buf + have, sizeof(buf) - have);
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				continue;
			bool done = r <= 0;
			if (r > 0) {
				have += (size_t)r;
				size_t used = 0;
				for (; have - used >= ping.req_len && !done; used += ping.req_len)
					done = put_reply(cfd) < 0;
				memmove(buf, buf + used, have - used);
				have -= used;
			}
			if (done) { /* close() takes it out of the set */
				close(cfd);
				cfd = -1;
			}
		}
	}
}

int main(int argc, char **argv)
{
	bool ep = argc == 3 && strcmp(argv[1], "epoll") == 0;
	if (argc != 3 || (!ep && strcmp(argv[1], "block") != 0)) {
		fprintf(stderr, "usage: sys_raw epoll|block SOCKET\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	bn_ping_init(&ping, "sys.ping", 1);

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(argv[2]) + 4 >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		bn_die(argv[2]);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.tmp", argv[2]);
	unlink(sa.sun_path);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 8) < 0 || rename(sa.sun_path, argv[2]) < 0)
		bn_die(argv[2]);
	if (ep)
		epoll_server(lfd);
	block_server(lfd);
	return 1;
}
