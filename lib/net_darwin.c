/* SPDX-License-Identifier: ISC */
/*
 * net_darwin.c - network interfaces on macOS.  getifaddrs(3) gives names,
 * flags and addresses, and for each interface an AF_LINK entry with the
 * index and MAC (sockaddr_dl) and its if_data (the MTU) in ifa_data.  The
 * MTU ioctls are in net_mtu.c, on the datagram socket made here.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_dl.h>
#include <net/if_var.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/sockio.h>
#include <unistd.h>

#include "net_os.h"
#include "sq_net.h"

int sq_net_ctl_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC); /* no SOCK_CLOEXEC here */
	return fd;
}

/* macOS does not tell an interface's MTU range */
int sq_net_mtu_range(const char *name, int *min, int *max)
{
	(void)name;
	*min = *max = -1;
	return -EOPNOTSUPP;
}

/* macOS says ENXIO for a name no interface has; the protocol says ENODEV */
int sq_net_ioctl_errno(int err)
{
	return err == ENXIO ? -ENODEV : -err;
}

/* getifaddrs hands out link-local IPv6 addresses with the KAME embedded
 * scope (fe80:4::1): clear it, as ifconfig does. */
static void clear_embedded_scope(struct sockaddr_in6 *sin6)
{
	struct in6_addr *a = &sin6->sin6_addr;
	if (IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_MC_LINKLOCAL(a) ||
	    IN6_IS_ADDR_MC_NODELOCAL(a)) {
		a->s6_addr[2] = 0;
		a->s6_addr[3] = 0;
	}
}

static int add_entry(struct sq_net_list *l, const struct ifaddrs *ifa)
{
	struct sq_net_if *ifp = sq_net_list_intern(l, ifa->ifa_name);
	if (!ifp)
		return strlen(ifa->ifa_name) >= IFNAMSIZ ? 0 : -ENOMEM;
	ifp->flags |= sq_net_flags_from_iff(ifa->ifa_flags);
	if (!ifa->ifa_addr)
		return 0;
	int family = ifa->ifa_addr->sa_family;
	if (family == AF_LINK) {
		const struct sockaddr_dl *dl = (const void *)ifa->ifa_addr;
		ifp->index = dl->sdl_index;
		sq_net_set_mac(ifp, (const unsigned char *)LLADDR(dl), dl->sdl_alen);
		if (ifa->ifa_data) {
			const struct if_data *d = ifa->ifa_data;
			ifp->mtu = d->ifi_mtu <= 0x7fffffff ? (int)d->ifi_mtu : -1;
			/* if_data's counters (32 bits: they wrap); no tx drops here */
			const uint64_t vals[SQ_NET_NSTATS] = {
				d->ifi_ibytes, d->ifi_ipackets, d->ifi_ierrors, d->ifi_iqdrops,
				d->ifi_imcasts, d->ifi_obytes, d->ifi_opackets, d->ifi_oerrors, 0,
				d->ifi_omcasts, d->ifi_collisions,
			};
			memcpy(ifp->stats, vals, sizeof(vals));
			ifp->stats_have = ((1u << SQ_NET_NSTATS) - 1u) & ~(1u << SQ_NET_TX_DROPPED);
		}
		return 0;
	}
	if (family != AF_INET && family != AF_INET6)
		return 0;
	struct sq_net_addr a;
	if (family == AF_INET6) {
		struct sockaddr_in6 sin6;
		memcpy(&sin6, ifa->ifa_addr, sizeof(sin6));
		clear_embedded_scope(&sin6);
		if (sq_net_addr_text((const struct sockaddr *)&sin6, &a) < 0)
			return 0;
	} else if (sq_net_addr_text(ifa->ifa_addr, &a) < 0) {
		return 0;
	}
	a.prefixlen = (unsigned)sq_net_prefixlen(ifa->ifa_netmask, family);
	return sq_net_if_add_addr(ifp, &a);
}

int sq_net_list(struct sq_net_list *out)
{
	int rc = sq_net_from_ifaddrs(out, add_entry);
	if (rc < 0)
		return rc;
	/* every interface has an AF_LINK entry; ask for what it lacked */
	int fd = -1;
	for (size_t i = 0; i < out->n; i++) {
		struct sq_net_if *ifp = &out->ifs[i];
		if (!ifp->index)
			ifp->index = if_nametoindex(ifp->name);
		if (ifp->mtu >= 0)
			continue;
		if (fd < 0)
			fd = sq_net_ctl_socket();
		if (fd >= 0 && sq_net_get_mtu(fd, ifp->name, &ifp->mtu) < 0)
			ifp->mtu = -1;
	}
	if (fd >= 0)
		close(fd);
	sq_net_list_sort(out);
	return 0;
}
