/* SPDX-License-Identifier: ISC */
/*
 * netlink_linux.h - reading a netlink socket to empty, for lib/'s Linux
 * watchers (interface notices, process events): private to lib/.
 */
#ifndef SQ_NETLINK_LINUX_H
#define SQ_NETLINK_LINUX_H

#include <linux/netlink.h>

/* Called for each message read. */
typedef void (*sq_nl_each_fn)(const struct nlmsghdr *h, void *arg);
/* Called when the kernel says it dropped messages (ENOBUFS). */
typedef void (*sq_nl_lost_fn)(void *arg);

/* Read fd (non-blocking) until it has nothing more, handing every message
 * to each and every overflow to lost.  0, or a negative errno. */
int sq_nl_drain(int fd, sq_nl_each_fn each, sq_nl_lost_fn lost, void *arg);

#endif
