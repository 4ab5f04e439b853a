/* SPDX-License-Identifier: ISC */
/*
 * net_link_linux.c - what rtnetlink tells of each interface beyond
 * getifaddrs(3): counters (IFLA_STATS64), operational state as ip(8) shows
 * it (IFLA_OPERSTATE), carrier (IFLA_CARRIER) and the driver's MTU range
 * (IFLA_MIN_MTU, IFLA_MAX_MTU, Linux 4.18).  One RTM_GETLINK dump for the
 * list, one RTM_GETLINK by index for an MTU range.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_os.h"
#include "sq_net.h"

#ifndef IFLA_MIN_MTU
#define IFLA_MIN_MTU 50
#define IFLA_MAX_MTU 51
#endif

#define BUF_SIZE 65536

struct link {
	unsigned index;
	bool range_told;       /* IFLA_MIN_MTU or IFLA_MAX_MTU was there */
	struct sq_net_if info; /* the fields above; nothing else */
};

static const char *oper_name(unsigned char s)
{
	/* RFC 2863 IF_OPER_*, in ip(8)'s words */
	static const char *const names[] = {
		"UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP",
	};
	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "UNKNOWN";
}

static void parse_link(const struct nlmsghdr *h, struct link *out)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));
	memset(out, 0, sizeof(*out));
	out->index = (unsigned)ifi->ifi_index;
	struct sq_net_if *p = &out->info;
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		size_t alen = RTA_PAYLOAD(a);
		const void *v = RTA_DATA(a);
		uint32_t u32;
		switch (a->rta_type) {
		case IFLA_STATS64: {
			struct rtnl_link_stats64 st;
			memset(&st, 0, sizeof(st));
			memcpy(&st, v, alen < sizeof(st) ? alen : sizeof(st));
			const uint64_t vals[SQ_NET_NSTATS] = {
				st.rx_bytes, st.rx_packets, st.rx_errors, st.rx_dropped, st.multicast,
				st.tx_bytes, st.tx_packets, st.tx_errors, st.tx_dropped, 0, st.collisions,
			};
			memcpy(p->stats, vals, sizeof(vals));
			p->stats_have = ((1u << SQ_NET_NSTATS) - 1u) & ~(1u << SQ_NET_TX_MULTICAST);
			break;
		}
		case IFLA_OPERSTATE:
			if (alen >= 1)
				p->operstate = oper_name(*(const unsigned char *)v);
			break;
		case IFLA_CARRIER:
			if (alen >= 1) {
				p->has_carrier = true;
				p->carrier = *(const unsigned char *)v != 0;
			}
			break;
		case IFLA_MIN_MTU:
			out->range_told = true;
			if (alen >= 4) {
				memcpy(&u32, v, 4);
				p->has_min_mtu = u32 <= 0x7fffffffu;
				p->min_mtu = (int)u32;
			}
			break;
		case IFLA_MAX_MTU:
			/* 0: the driver sets no maximum (lo) */
			out->range_told = true;
			if (alen >= 4) {
				memcpy(&u32, v, 4);
				p->has_max_mtu = u32 > 0 && u32 <= 0x7fffffffu;
				p->max_mtu = (int)u32;
			}
			break;
		}
	}
}

/* Send one RTM_GETLINK (a dump when index is 0) and call fn for each answer.
 * 0, or a negative errno (-ENODEV: no such index). */
static int getlink(unsigned index, void (*fn)(const struct link *, void *), void *arg)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req;
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.i));
	req.h.nlmsg_type = RTM_GETLINK;
	req.h.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | (index ? 0 : NLM_F_DUMP));
	req.h.nlmsg_seq = 1;
	req.i.ifi_family = AF_UNSPEC;
	req.i.ifi_index = (int)index;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	char *buf = malloc(BUF_SIZE);
	int rc = buf ? 1 : -ENOMEM;
	while (rc == 1) {
		ssize_t n = recv(fd, buf, BUF_SIZE, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		int len = (int)n;
		for (const struct nlmsghdr *h = (const void *)buf; NLMSG_OK(h, (unsigned)len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				rc = 0;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				rc = e->error;
				break;
			}
			if (h->nlmsg_type != RTM_NEWLINK)
				continue;
			struct link l;
			parse_link(h, &l);
			fn(&l, arg);
			if (index) /* a single answer */
				rc = 0;
		}
	}
	free(buf);
	close(fd);
	return rc;
}

static void fill_list(const struct link *l, void *arg)
{
	struct sq_net_list *list = arg;
	for (size_t i = 0; i < list->n; i++) {
		struct sq_net_if *ifp = &list->ifs[i];
		if (ifp->index != l->index)
			continue;
		ifp->stats_have = l->info.stats_have;
		memcpy(ifp->stats, l->info.stats, sizeof(ifp->stats));
		ifp->operstate = l->info.operstate;
		ifp->has_carrier = l->info.has_carrier;
		ifp->carrier = l->info.carrier;
		ifp->has_min_mtu = l->info.has_min_mtu;
		ifp->min_mtu = l->info.min_mtu;
		ifp->has_max_mtu = l->info.has_max_mtu;
		ifp->max_mtu = l->info.max_mtu;
		return;
	}
}

int sq_net_link_fill(struct sq_net_list *l)
{
	return getlink(0, fill_list, l);
}

static void keep_one(const struct link *l, void *arg)
{
	*(struct link *)arg = *l;
}

int sq_net_mtu_range(const char *name, int *min, int *max)
{
	unsigned index = if_nametoindex(name);
	if (!index)
		return -ENODEV;
	struct link l = { 0 };
	int rc = getlink(index, keep_one, &l);
	if (rc < 0)
		return rc == -ENODEV || rc == -ENXIO ? -ENODEV : rc;
	if (!l.range_told)
		return -EOPNOTSUPP; /* a kernel without IFLA_MIN_MTU */
	*min = l.info.has_min_mtu ? l.info.min_mtu : -1;
	*max = l.info.has_max_mtu ? l.info.max_mtu : -1;
	return 0;
}
