/* SPDX-License-Identifier: ISC */
/*
 * net.c - the portable half of sq_net.h: interface-name checks, netmask to
 * prefix length, MAC and address text, and building the interface list
 * that net_linux.c and net_darwin.c fill from getifaddrs(3).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net_os.h"
#include "sq_net.h"

int sq_net_check_name(const char *name, size_t len)
{
	if (len == 0 || len > IFNAMSIZ - 1)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '\0' || c == '/' || c == ':' || c <= ' ' || c == 0x7f)
			return -EINVAL;
	}
	return 0;
}

const char *sq_net_flag_name(unsigned bit)
{
	switch (bit) {
	case SQ_NET_UP: return "up";
	case SQ_NET_RUNNING: return "running";
	case SQ_NET_LOOPBACK: return "loopback";
	case SQ_NET_BROADCAST: return "broadcast";
	case SQ_NET_MULTICAST: return "multicast";
	case SQ_NET_POINTOPOINT: return "pointopoint";
	}
	return NULL;
}

unsigned sq_net_flags_from_iff(unsigned iff)
{
	unsigned f = 0;
	f |= (iff & IFF_UP) ? SQ_NET_UP : 0;
	f |= (iff & IFF_RUNNING) ? SQ_NET_RUNNING : 0;
	f |= (iff & IFF_LOOPBACK) ? SQ_NET_LOOPBACK : 0;
	f |= (iff & IFF_BROADCAST) ? SQ_NET_BROADCAST : 0;
	f |= (iff & IFF_MULTICAST) ? SQ_NET_MULTICAST : 0;
	f |= (iff & IFF_POINTOPOINT) ? SQ_NET_POINTOPOINT : 0;
	return f;
}

unsigned sq_net_mask_bits(const unsigned char *p, size_t n)
{
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = p[i];
		if (b == 0xff) {
			bits += 8;
			continue;
		}
		while (b & 0x80) {
			bits++;
			b = (unsigned char)(b << 1);
		}
		break;
	}
	return bits;
}

int sq_net_prefixlen(const struct sockaddr *mask, int family)
{
	if (family == AF_INET) {
		if (!mask)
			return 32;
		const struct sockaddr_in *m = (const struct sockaddr_in *)(const void *)mask;
		return (int)sq_net_mask_bits((const unsigned char *)&m->sin_addr, 4);
	}
	if (family == AF_INET6) {
		if (!mask)
			return 128;
		const struct sockaddr_in6 *m = (const struct sockaddr_in6 *)(const void *)mask;
		return (int)sq_net_mask_bits(m->sin6_addr.s6_addr, 16);
	}
	return -1;
}

void sq_net_format_mac(const unsigned char mac[6], char *buf, size_t size)
{
	snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
	         mac[3], mac[4], mac[5]);
}

int sq_net_addr_text(const struct sockaddr *sa, struct sq_net_addr *a)
{
	const void *src;
	if (sa->sa_family == AF_INET)
		src = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		src = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else
		return -EAFNOSUPPORT;
	a->family = sa->sa_family;
	if (!inet_ntop(sa->sa_family, src, a->addr, sizeof(a->addr)))
		return -errno;
	return 0;
}

struct sq_net_if *sq_net_list_intern(struct sq_net_list *l, const char *name)
{
	/* getifaddrs lists an interface's entries mostly together: try the
	 * last one found before scanning */
	if (l->last < l->n && strcmp(l->ifs[l->last].name, name) == 0)
		return &l->ifs[l->last];
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->ifs[i].name, name) == 0) {
			l->last = i;
			return &l->ifs[i];
		}
	if (strlen(name) >= IFNAMSIZ)
		return NULL;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct sq_net_if *ifs = realloc(l->ifs, cap * sizeof(*ifs));
		if (!ifs)
			return NULL;
		l->ifs = ifs;
		l->cap = cap;
	}
	l->last = l->n;
	struct sq_net_if *ifp = &l->ifs[l->n++];
	memset(ifp, 0, sizeof(*ifp));
	snprintf(ifp->name, sizeof(ifp->name), "%s", name);
	ifp->mtu = -1;
	return ifp;
}

int sq_net_if_add_addr(struct sq_net_if *ifp, const struct sq_net_addr *a)
{
	struct sq_net_addr *v = realloc(ifp->addrs, (ifp->naddrs + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	ifp->addrs = v;
	v[ifp->naddrs++] = *a;
	return 0;
}

void sq_net_if_free_addrs(struct sq_net_if *ifp)
{
	free(ifp->addrs);
	ifp->addrs = NULL;
	ifp->naddrs = 0;
}

static int by_index(const void *pa, const void *pb)
{
	const struct sq_net_if *a = pa, *b = pb;
	/* index 0 means unknown: after the others */
	unsigned ia = a->index ? a->index : ~0u, ib = b->index ? b->index : ~0u;
	if (ia != ib)
		return ia < ib ? -1 : 1;
	return strcmp(a->name, b->name);
}

void sq_net_list_sort(struct sq_net_list *l)
{
	if (l->n > 1)
		qsort(l->ifs, l->n, sizeof(*l->ifs), by_index);
}

void sq_net_set_mac(struct sq_net_if *ifp, const unsigned char *lladdr, size_t len)
{
	ifp->has_mac = false;
	if (len != 6)
		return;
	for (size_t i = 0; i < 6; i++)
		if (lladdr[i]) {
			memcpy(ifp->mac, lladdr, 6);
			ifp->has_mac = true;
			return;
		}
}

void sq_net_list_free(struct sq_net_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->ifs[i].addrs);
	free(l->ifs);
	memset(l, 0, sizeof(*l));
}

int sq_net_from_ifaddrs(struct sq_net_list *out,
                        int (*add)(struct sq_net_list *, const struct ifaddrs *))
{
	struct ifaddrs *all;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (getifaddrs(&all) < 0)
		return -errno;
	for (const struct ifaddrs *ifa = all; ifa && rc == 0; ifa = ifa->ifa_next)
		rc = add(out, ifa);
	freeifaddrs(all);
	if (rc < 0)
		sq_net_list_free(out);
	return rc;
}

const char *sq_net_stat_name(unsigned stat)
{
	static const char *const names[SQ_NET_NSTATS] = {
		"rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "rx_multicast",
		"tx_bytes", "tx_packets", "tx_errors", "tx_dropped", "tx_multicast", "collisions",
	};
	return stat < SQ_NET_NSTATS ? names[stat] : NULL;
}
