/* SPDX-License-Identifier: ISC */
/*
 * sq_net.h - network interfaces: the list (name, index, MTU, flags, MAC,
 * addresses) and an interface's MTU, read and changed.  Linux in
 * net_linux.c, macOS in net_darwin.c; the name check, netmask arithmetic
 * and formatting shared by both live in net.c.
 */
#ifndef SQ_NET_H
#define SQ_NET_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/* Flags we report, by the words the protocol uses. */
enum {
	SQ_NET_UP          = 1u << 0,
	SQ_NET_RUNNING     = 1u << 1,
	SQ_NET_LOOPBACK    = 1u << 2,
	SQ_NET_BROADCAST   = 1u << 3,
	SQ_NET_MULTICAST   = 1u << 4,
	SQ_NET_POINTOPOINT = 1u << 5,
};
#define SQ_NET_NFLAGS 6

/* Addresses are text: "192.0.2.1", "fe80::1" (no %scope: the interface
 * says it).  46 is INET6_ADDRSTRLEN. */
struct sq_net_addr {
	int family;            /* AF_INET or AF_INET6 */
	char addr[46];
	unsigned prefixlen;    /* 0..32 or 0..128 */
};

/* Counters, by the protocol's names (sq_net_stat_name): since the interface
 * was created (Linux IFLA_STATS64; macOS if_data, 32 bits wide). */
enum {
	SQ_NET_RX_BYTES, SQ_NET_RX_PACKETS, SQ_NET_RX_ERRORS, SQ_NET_RX_DROPPED,
	SQ_NET_RX_MULTICAST, SQ_NET_TX_BYTES, SQ_NET_TX_PACKETS, SQ_NET_TX_ERRORS,
	SQ_NET_TX_DROPPED, SQ_NET_TX_MULTICAST, SQ_NET_COLLISIONS, SQ_NET_NSTATS
};

struct sq_net_if {
	/* what the kernel tells beyond the basics (zero: it did not) */
	unsigned stats_have;   /* 1u << SQ_NET_RX_BYTES ... */
	uint64_t stats[SQ_NET_NSTATS];
	const char *operstate; /* as ip(8) shows it: "UP", "DOWN", "UNKNOWN"...; NULL */
	bool has_carrier, carrier;
	bool has_min_mtu, has_max_mtu;
	int min_mtu, max_mtu;  /* the range the driver takes */

	char name[IFNAMSIZ];
	unsigned index;
	int mtu;               /* -1 when the OS would not say */
	unsigned flags;        /* SQ_NET_* */
	bool has_mac;          /* a 6-byte, non-zero link-layer address */
	unsigned char mac[6];
	size_t naddrs;
	struct sq_net_addr *addrs;
};

struct sq_net_list {
	size_t n;
	struct sq_net_if *ifs; /* ordered by index */
	size_t cap, last;      /* building: allocated entries, last one found */
};

/* Every interface.  0, or a negative errno; free with sq_net_list_free. */
int sq_net_list(struct sq_net_list *out);
void sq_net_list_free(struct sq_net_list *l);

/* 0 when name can name an interface: 1..IFNAMSIZ-1 bytes, none of them
 * NUL, '/', ':' or whitespace.  -EINVAL otherwise.  A name is never cut to
 * fit, and never reaches Linux's ioctls with a ':' (they drop an alias
 * suffix, so "lo:x" would act on lo): either could make a name someone
 * else's interface. */
int sq_net_check_name(const char *name, size_t len);

/* The MTU of name.  -EINVAL (bad name), -ENODEV (no such interface), or
 * the OS's errno. */
int sq_net_mtu_get(const char *name, int *mtu);
/* Set name's MTU to mtu.  *previous is the MTU before, *now the MTU read
 * back afterwards (what the interface really has).  The OS's range check
 * stands: -EINVAL when it refuses the value, -EPERM without the privilege. */
int sq_net_mtu_set(const char *name, int mtu, int *previous, int *now);

/* The MTU range the kernel gives for name's driver: 0 with *min and *max
 * (-1 each where it sets no bound), -ENODEV, or -EOPNOTSUPP where the OS
 * does not tell (macOS, Linux before 4.18). */
int sq_net_mtu_range(const char *name, int *min, int *max);

/* --- portable helpers (net.c) --- */
/* The protocol's name of a counter ("rx_bytes"...), NULL past the last. */
const char *sq_net_stat_name(unsigned stat);

/* The protocol's word for one SQ_NET_* bit ("up", ...), NULL for others. */
const char *sq_net_flag_name(unsigned bit);
/* Leading one bits of an AF_INET/AF_INET6 netmask; -1 for other families.
 * A NULL mask is a host route: 32 or 128 by family. */
int sq_net_prefixlen(const struct sockaddr *mask, int family);
/* Leading one bits of the n mask bytes at p (the prefix length they give;
 * a routing message's shortened mask passes only the bytes it has). */
unsigned sq_net_mask_bits(const unsigned char *p, size_t n);
/* SQ_NET_* bits from the OS's IFF_* interface flags. */
unsigned sq_net_flags_from_iff(unsigned iff);
/* "aa:bb:cc:dd:ee:ff"; buf holds at least 18 bytes. */
void sq_net_format_mac(const unsigned char mac[6], char *buf, size_t size);
/* Address text for an AF_INET/AF_INET6 sockaddr into a->addr; the IPv6
 * scope is dropped.  0, or -EAFNOSUPPORT. */
int sq_net_addr_text(const struct sockaddr *sa, struct sq_net_addr *a);
/* Find or add the interface called name in l (kept unsorted; see
 * sq_net_list_sort).  NULL when out of memory. */
struct sq_net_if *sq_net_list_intern(struct sq_net_list *l, const char *name);
/* Append one address to an interface.  0 or -ENOMEM. */
int sq_net_if_add_addr(struct sq_net_if *ifp, const struct sq_net_addr *a);
/* Free an interface's addresses (when dropping it from a list). */
void sq_net_if_free_addrs(struct sq_net_if *ifp);
/* Order by index (then name, for interfaces whose index is unknown). */
void sq_net_list_sort(struct sq_net_list *l);
/* Set *has and mac from a link-layer address of len bytes: only a 6-byte
 * address that is not all zeros counts as a MAC. */
void sq_net_set_mac(struct sq_net_if *ifp, const unsigned char *lladdr, size_t len);

#endif
