/* SPDX-License-Identifier: ISC */
/*
 * net_os.h - what lib/net_mtu.c (portable) needs from net_<os>.c: a socket
 * for the interface ioctls and the OS's errno made into the protocol's; and
 * the getifaddrs(3) walk lib/net.c does for net_<os>.c.  Private to lib/.
 */
#ifndef SQ_NET_OS_H
#define SQ_NET_OS_H

/* A close-on-exec datagram socket for SIOC*IF* ioctls, or a negative errno. */
int sq_net_ctl_socket(void);
/* -errno as the protocol names it (macOS ENXIO for an unknown name: ENODEV). */
int sq_net_ioctl_errno(int err);
/* SIOCGIFMTU on fd: 0, or a negative errno. */
int sq_net_get_mtu(int fd, const char *name, int *mtu);

struct ifaddrs;
struct sq_net_list;
/* out filled from getifaddrs(3), each entry through add (the OS's reading
 * of it: 0, or a negative errno that stops the walk).  0, or a negative
 * errno with out freed. */
int sq_net_from_ifaddrs(struct sq_net_list *out,
                        int (*add)(struct sq_net_list *, const struct ifaddrs *));

/* Linux: counters, operstate, carrier and MTU range from one rtnetlink
 * dump into the interfaces of l with the same index (net_link_linux.c).
 * 0, or a negative errno (l keeps what it had). */
int sq_net_link_fill(struct sq_net_list *l);

#endif
