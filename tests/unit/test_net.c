/* SPDX-License-Identifier: ISC */
/*
 * test_net.c - lib/sq_net.h in isolation: name checks, netmask arithmetic,
 * MAC and address text, list building; then the Linux implementation in a
 * private network namespace of the test's own process (Criterion runs each
 * test in a child), so the host's interfaces are never touched.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sq_net.h"

/* --- portable helpers ---------------------------------------------------- */

Test(net, names_are_checked_never_cut)
{
	cr_assert_eq(sq_net_check_name("lo", 2), 0);
	cr_assert_eq(sq_net_check_name("eth0.100", 8), 0);
	cr_assert_eq(sq_net_check_name("abcdefghijklmno", 15), 0); /* IFNAMSIZ - 1 */
	cr_assert_eq(sq_net_check_name("abcdefghijklmnop", 16), -EINVAL);
	cr_assert_eq(sq_net_check_name("", 0), -EINVAL);
	cr_assert_eq(sq_net_check_name("lo:0", 4), -EINVAL, "Linux would act on lo");
	cr_assert_eq(sq_net_check_name("a/b", 3), -EINVAL);
	cr_assert_eq(sq_net_check_name("a b", 3), -EINVAL);
	cr_assert_eq(sq_net_check_name("a\tb", 3), -EINVAL);
	cr_assert_eq(sq_net_check_name("lo\0x", 4), -EINVAL, "an embedded NUL");
	cr_assert_eq(sq_net_check_name("caf\xc3\xa9", 5), 0, "UTF-8 names exist");
}

static struct sockaddr_in mask4(int bits)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	uint32_t m = bits ? ~0u << (32 - bits) : 0;
	sa.sin_addr.s_addr = htonl(m);
	return sa;
}

static struct sockaddr_in6 mask6(int bits)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	for (int i = 0; i < 16; i++) {
		int b = bits - 8 * i;
		sa.sin6_addr.s6_addr[i] = (uint8_t)(b >= 8 ? 0xff : b <= 0 ? 0 : 0xff << (8 - b));
	}
	return sa;
}

Test(net, prefixlen_from_every_netmask)
{
	for (int b = 0; b <= 32; b++) {
		struct sockaddr_in m = mask4(b);
		cr_assert_eq(sq_net_prefixlen((struct sockaddr *)&m, AF_INET), b, "/%d", b);
	}
	for (int b = 0; b <= 128; b++) {
		struct sockaddr_in6 m = mask6(b);
		cr_assert_eq(sq_net_prefixlen((struct sockaddr *)&m, AF_INET6), b, "/%d", b);
	}
	struct sockaddr_in m;
	memset(&m, 0, sizeof(m));
	m.sin_family = AF_INET;
	inet_pton(AF_INET, "255.255.240.0", &m.sin_addr);
	cr_assert_eq(sq_net_prefixlen((struct sockaddr *)&m, AF_INET), 20);
	cr_assert_eq(sq_net_prefixlen(NULL, AF_INET), 32, "no mask: a host address");
	cr_assert_eq(sq_net_prefixlen(NULL, AF_INET6), 128);
	cr_assert_eq(sq_net_prefixlen((struct sockaddr *)&m, AF_UNIX), -1);
}

Test(net, addresses_and_macs_as_text)
{
	struct sq_net_addr a;
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_scope_id = 7 };
	inet_pton(AF_INET6, "fe80::1:2", &s6.sin6_addr);
	cr_assert_eq(sq_net_addr_text((struct sockaddr *)&s6, &a), 0);
	cr_assert_str_eq(a.addr, "fe80::1:2", "no %%scope");
	cr_assert_eq(a.family, AF_INET6);
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	inet_pton(AF_INET, "192.0.2.200", &s4.sin_addr);
	cr_assert_eq(sq_net_addr_text((struct sockaddr *)&s4, &a), 0);
	cr_assert_str_eq(a.addr, "192.0.2.200");
	cr_assert_eq(a.family, AF_INET);
	struct sockaddr su = { .sa_family = AF_UNIX };
	cr_assert_eq(sq_net_addr_text(&su, &a), -EAFNOSUPPORT);

	char buf[18];
	const unsigned char mac[6] = { 0x02, 0xab, 0x00, 0xcd, 0xef, 0x10 };
	sq_net_format_mac(mac, buf, sizeof(buf));
	cr_assert_str_eq(buf, "02:ab:00:cd:ef:10");

	struct sq_net_if ifp = { .has_mac = true };
	const unsigned char zero[6] = { 0 };
	sq_net_set_mac(&ifp, zero, 6);
	cr_assert(!ifp.has_mac, "all zeros (Linux's lo) is no MAC");
	sq_net_set_mac(&ifp, mac, 4);
	cr_assert(!ifp.has_mac, "a 4-byte link address (ipip) is no MAC");
	sq_net_set_mac(&ifp, mac, 6);
	cr_assert(ifp.has_mac);
	cr_assert_eq(memcmp(ifp.mac, mac, 6), 0);
}

Test(net, flags_map_word_by_word)
{
	cr_assert_eq(sq_net_flags_from_iff(IFF_UP), SQ_NET_UP);
	cr_assert_eq(sq_net_flags_from_iff(IFF_RUNNING), SQ_NET_RUNNING);
	cr_assert_eq(sq_net_flags_from_iff(IFF_LOOPBACK), SQ_NET_LOOPBACK);
	cr_assert_eq(sq_net_flags_from_iff(IFF_BROADCAST), SQ_NET_BROADCAST);
	cr_assert_eq(sq_net_flags_from_iff(IFF_MULTICAST), SQ_NET_MULTICAST);
	cr_assert_eq(sq_net_flags_from_iff(IFF_POINTOPOINT), SQ_NET_POINTOPOINT);
	cr_assert_eq(sq_net_flags_from_iff(IFF_PROMISC | IFF_NOARP), 0, "not reported");
	static const char *const words[SQ_NET_NFLAGS] = {
		"up", "running", "loopback", "broadcast", "multicast", "pointopoint"
	};
	for (unsigned b = 0; b < SQ_NET_NFLAGS; b++)
		cr_assert_str_eq(sq_net_flag_name(1u << b), words[b]);
	cr_assert_null(sq_net_flag_name(1u << SQ_NET_NFLAGS));
}

Test(net, list_interns_by_name_and_sorts_by_index)
{
	struct sq_net_list l = { 0 };
	char name[IFNAMSIZ];
	/* more than the first allocation, indexes in reverse */
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "if%d", i);
		struct sq_net_if *ifp = sq_net_list_intern(&l, name);
		cr_assert(ifp);
		ifp->index = (unsigned)(100 - i);
	}
	struct sq_net_if *x = sq_net_list_intern(&l, "unknown-index");
	cr_assert(x);
	cr_assert_eq(x->mtu, -1, "MTU unknown until read");
	cr_assert_eq(x->index, 0);
	struct sq_net_addr a = { .family = AF_INET, .addr = "10.0.0.1", .prefixlen = 8 };
	cr_assert_eq(sq_net_if_add_addr(sq_net_list_intern(&l, "if3"), &a), 0);
	cr_assert_eq(sq_net_if_add_addr(sq_net_list_intern(&l, "if3"), &a), 0);
	cr_assert_eq(sq_net_list_intern(&l, "if3")->naddrs, 2, "the same entry again");
	cr_assert_eq(l.n, 41);
	cr_assert_null(sq_net_list_intern(&l, "abcdefghijklmnop"), "too long to be a name");
	sq_net_list_sort(&l);
	for (size_t i = 1; i + 1 < l.n; i++)
		cr_assert_lt(l.ifs[i - 1].index, l.ifs[i].index);
	cr_assert_str_eq(l.ifs[0].name, "if39");
	cr_assert_str_eq(l.ifs[l.n - 1].name, "unknown-index", "index 0 sorts last");
	sq_net_list_free(&l);
	cr_assert_eq(l.n, 0);
	cr_assert_null(l.ifs);
}

/* --- Linux, in a private network namespace ------------------------------ */

static int sh(const char *cmd)
{
	char full[512];
	snprintf(full, sizeof(full), "%s >/dev/null 2>&1", cmd);
	int st = system(full);
	return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* This test process (only) moves to a new network namespace: lo plus a
 * veth pair v0/v1 with known MTU and addresses.  It vanishes when the
 * process exits. */
static void private_netns(void)
{
	if (geteuid() != 0)
		cr_skip_test("SKIPPED: a network namespace needs root");
	if (unshare(CLONE_NEWNET) < 0)
		cr_skip_test("SKIPPED: unshare(CLONE_NEWNET): %s", strerror(errno));
	cr_assert_eq(sh("ip link set lo up"), 0, "ip link set lo up (iproute2 installed?)");
	if (sh("ip link add v0 type veth peer name v1") != 0)
		cr_skip_test("SKIPPED: cannot create a veth pair (veth module?)");
	/* >= 1280, or the kernel turns IPv6 off on v0 */
	cr_assert_eq(sh("ip link set v0 mtu 1300 up"), 0);
	cr_assert_eq(sh("ip addr add 10.77.1.2/20 dev v0"), 0);
	cr_assert_eq(sh("ip addr add 10.77.9.9/32 dev v0 label v0:alias"), 0);
	cr_assert_eq(sh("ip -6 addr add fd00:77::5/64 dev v0 nodad"), 0);
}

static const struct sq_net_if *find(const struct sq_net_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->ifs[i].name, name) == 0)
			return &l->ifs[i];
	return NULL;
}

static bool has_addr(const struct sq_net_if *ifp, int family, const char *addr,
                     unsigned prefixlen)
{
	for (size_t i = 0; i < ifp->naddrs; i++)
		if (ifp->addrs[i].family == family && strcmp(ifp->addrs[i].addr, addr) == 0)
			return ifp->addrs[i].prefixlen == prefixlen;
	return false;
}

Test(netns, list_agrees_with_the_kernel)
{
	private_netns();
	struct sq_net_list l;
	cr_assert_eq(sq_net_list(&l), 0);

	/* the same set of names and indexes as if_nameindex(3) */
	struct if_nameindex *ni = if_nameindex();
	cr_assert(ni);
	size_t n = 0;
	for (struct if_nameindex *p = ni; p->if_index; p++, n++) {
		const struct sq_net_if *ifp = find(&l, p->if_name);
		cr_assert(ifp, "%s missing", p->if_name);
		cr_assert_eq(ifp->index, p->if_index, "%s", p->if_name);
	}
	if_freenameindex(ni);
	cr_assert_eq(l.n, n, "no extra entries (the v0:alias label is v0's)");
	for (size_t i = 1; i < l.n; i++)
		cr_assert_lt(l.ifs[i - 1].index, l.ifs[i].index);

	const struct sq_net_if *lo = find(&l, "lo");
	cr_assert(lo);
	cr_assert(lo->flags & SQ_NET_LOOPBACK);
	cr_assert(lo->flags & SQ_NET_UP);
	cr_assert(!lo->has_mac);
	cr_assert(has_addr(lo, AF_INET, "127.0.0.1", 8));
	cr_assert(has_addr(lo, AF_INET6, "::1", 128));

	const struct sq_net_if *v0 = find(&l, "v0");
	cr_assert(v0);
	cr_assert_eq(v0->mtu, 1300);
	cr_assert(v0->flags & SQ_NET_UP);
	cr_assert(v0->flags & SQ_NET_BROADCAST);
	cr_assert(v0->flags & SQ_NET_MULTICAST);
	cr_assert(!(v0->flags & SQ_NET_LOOPBACK));
	cr_assert(!(v0->flags & SQ_NET_RUNNING), "its peer v1 is down: no carrier");
	cr_assert(has_addr(v0, AF_INET, "10.77.1.2", 20));
	cr_assert(has_addr(v0, AF_INET, "10.77.9.9", 32), "the labelled address");
	cr_assert(has_addr(v0, AF_INET6, "fd00:77::5", 64));

	/* the MAC as SIOCGIFHWADDR tells it */
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "v0");
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	cr_assert_eq(ioctl(fd, SIOCGIFHWADDR, &ifr), 0);
	close(fd);
	cr_assert(v0->has_mac);
	cr_assert_eq(memcmp(v0->mac, ifr.ifr_hwaddr.sa_data, 6), 0);

	const struct sq_net_if *v1 = find(&l, "v1");
	cr_assert(v1);
	cr_assert(!(v1->flags & SQ_NET_UP));
	cr_assert_eq(v1->naddrs, 0);
	sq_net_list_free(&l);
}

Test(netns, mtu_set_get_and_the_kernel_range)
{
	private_netns();
	int mtu = 0, prev = 0, now = 0;
	cr_assert_eq(sq_net_mtu_get("v0", &mtu), 0);
	cr_assert_eq(mtu, 1300, "as ip set it");
	cr_assert_eq(sq_net_mtu_set("v0", 1400, &prev, &now), 0);
	cr_assert_eq(prev, 1300);
	cr_assert_eq(now, 1400);
	cr_assert_eq(sq_net_mtu_get("v0", &mtu), 0);
	cr_assert_eq(mtu, 1400);
	cr_assert_eq(sq_net_mtu_set("v0", 1400, &prev, &now), 0, "the same value is fine");
	cr_assert_eq(prev, 1400);
	cr_assert_eq(now, 1400);

	/* veth takes 68..65535: the kernel's check stands */
	cr_assert_eq(sq_net_mtu_set("v0", 65536, &prev, &now), -EINVAL);
	cr_assert_eq(sq_net_mtu_set("v0", 67, &prev, &now), -EINVAL);
	cr_assert_eq(sq_net_mtu_get("v0", &mtu), 0);
	cr_assert_eq(mtu, 1400, "unchanged by the refused sets");

	cr_assert_eq(sq_net_mtu_get("nosuchif0", &mtu), -ENODEV);
	cr_assert_eq(sq_net_mtu_set("nosuchif0", 1500, &prev, &now), -ENODEV);
	cr_assert_eq(sq_net_mtu_get("v0-and-more-than-15", &mtu), -EINVAL);
	cr_assert_eq(sq_net_mtu_get("", &mtu), -EINVAL);
	cr_assert_eq(sq_net_mtu_set("lo:0", 1500, &prev, &now), -EINVAL);
	cr_assert_eq(sq_net_mtu_get("lo", &mtu), 0);
	cr_assert_eq(mtu, 65536, "lo untouched by 'lo:0'");
}
