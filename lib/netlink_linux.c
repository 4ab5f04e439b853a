/* SPDX-License-Identifier: ISC */
/*
 * netlink_linux.c - sq_nl_drain (netlink_linux.h): one datagram at a time
 * into a per-thread buffer aligned for nlmsghdr, each message handed on.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>

#include "netlink_linux.h"

int sq_nl_drain(int fd, sq_nl_each_fn each, sq_nl_lost_fn lost, void *arg)
{
	/* one datagram holds one or more messages; 32 KiB holds any the
	 * kernel sends these groups */
	static __thread uint32_t buf[8192];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == ENOBUFS) { /* the kernel dropped messages */
				lost(arg);
				continue;
			}
			return -errno;
		}
		if (n == 0)
			return 0;
		int len = (int)n;
		for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len))
			each(h, arg);
	}
}
