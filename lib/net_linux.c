/* SPDX-License-Identifier: ISC */
/*
 * net_linux.c - network interfaces on Linux.  getifaddrs(3) (glibc asks
 * rtnetlink) gives names, flags, index and MAC (the AF_PACKET entries) and
 * the addresses; the MTU ioctls are in net_mtu.c, on the datagram socket
 * made here (any socket family reaches the device ioctls).
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_os.h"
#include "sq_net.h"

int sq_net_ctl_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && errno == EAFNOSUPPORT) /* a kernel built without IPv4 */
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

int sq_net_ioctl_errno(int err)
{
	return -err;
}

static int add_entry(struct sq_net_list *l, const struct ifaddrs *ifa)
{
	char name[IFNAMSIZ];
	if (strlen(ifa->ifa_name) >= sizeof(name))
		return 0;
	/* IPv4 addresses carry their label as the name: "eth0:1" is eth0's */
	memcpy(name, ifa->ifa_name, strlen(ifa->ifa_name) + 1);
	char *colon = strchr(name, ':');
	if (colon)
		*colon = '\0';
	struct sq_net_if *ifp = sq_net_list_intern(l, name);
	if (!ifp)
		return -ENOMEM;
	ifp->flags |= sq_net_flags_from_iff(ifa->ifa_flags);
	if (!ifa->ifa_addr)
		return 0;
	int family = ifa->ifa_addr->sa_family;
	if (family == AF_PACKET) {
		const struct sockaddr_ll *ll = (const void *)ifa->ifa_addr;
		ifp->index = (unsigned)ll->sll_ifindex;
		sq_net_set_mac(ifp, ll->sll_addr,
		               ll->sll_halen <= sizeof(ll->sll_addr) ? ll->sll_halen : 0);
		return 0;
	}
	if (family != AF_INET && family != AF_INET6)
		return 0;
	struct sq_net_addr a;
	if (sq_net_addr_text(ifa->ifa_addr, &a) < 0)
		return 0;
	a.prefixlen = (unsigned)sq_net_prefixlen(ifa->ifa_netmask, family);
	return sq_net_if_add_addr(ifp, &a);
}

int sq_net_list(struct sq_net_list *out)
{
	int rc = sq_net_from_ifaddrs(out, add_entry);
	if (rc < 0)
		return rc;
	int fd = sq_net_ctl_socket();
	if (fd < 0) {
		sq_net_list_free(out);
		return fd;
	}
	/* MTUs; an interface gone since getifaddrs (or an address label that
	 * names none) is left out rather than shown half-known */
	size_t keep = 0;
	for (size_t i = 0; i < out->n; i++) {
		struct sq_net_if *ifp = &out->ifs[i];
		if (!ifp->index)
			ifp->index = if_nametoindex(ifp->name);
		int e = ifp->index ? sq_net_get_mtu(fd, ifp->name, &ifp->mtu) : -ENODEV;
		if (e == -ENODEV) {
			sq_net_if_free_addrs(ifp);
			continue;
		}
		if (e < 0)
			ifp->mtu = -1;
		if (keep != i)
			out->ifs[keep] = *ifp;
		keep++;
	}
	out->n = keep;
	close(fd);
	/* counters, state, carrier, MTU range: absent when rtnetlink will not say */
	(void)sq_net_link_fill(out);
	sq_net_list_sort(out);
	return 0;
}
