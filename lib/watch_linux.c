/* SPDX-License-Identifier: ISC */
/*
 * watch_linux.c - kernel change notices on Linux: /proc/self/mountinfo polls
 * POLLPRI when this mount namespace's table changes, an rtnetlink socket in
 * the link and address groups tells interface changes, and a pidfd polls
 * readable when its process exits (and hangs up once it has been reaped).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "netlink_linux.h"
#include "sq_watch.h"

/* ---- mounts ---------------------------------------------------------------- */

int sq_watch_mounts_open(int *fd, int *how)
{
	int f = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -errno;
	*fd = f;
	*how = SQ_WATCH_PRIORITY;
	return 0;
}

void sq_watch_mounts_ack(int fd)
{
	(void)fd; /* each poll of the file reports a change once */
}

/* ---- interfaces ------------------------------------------------------------ */

int sq_watch_net_open(struct sq_netw *w, int *how)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	/* room for a burst of notices (a bond going down, many addresses);
	 * beyond it the kernel says ENOBUFS and we re-list */
	int sz = 1 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
	};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	w->fd = fd;
	*how = SQ_WATCH_READABLE;
	return 0;
}

static void on_link(struct sq_netw *w, const struct nlmsghdr *h,
                    sq_net_emit_fn emit, void *arg)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) || ifi->ifi_family != AF_UNSPEC ||
	    ifi->ifi_index <= 0)
		return; /* AF_BRIDGE notices are about bridge ports, not links */
	if (h->nlmsg_type == RTM_DELLINK) {
		sq_netw_link_gone(w, (unsigned)ifi->ifi_index, emit, arg);
		return;
	}
	char name[IFNAMSIZ] = "";
	int mtu = -1;
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_IFNAME && RTA_PAYLOAD(a) > 0) {
			size_t n = strnlen(RTA_DATA(a), RTA_PAYLOAD(a));
			if (n < IFNAMSIZ) {
				memcpy(name, RTA_DATA(a), n);
				name[n] = '\0';
			}
		} else if (a->rta_type == IFLA_MTU && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
			uint32_t v;
			memcpy(&v, RTA_DATA(a), sizeof(v));
			mtu = v > INT32_MAX ? -1 : (int)v;
		}
	}
	sq_netw_link(w, (unsigned)ifi->ifi_index, name,
	             sq_net_flags_from_iff(ifi->ifi_flags), mtu, emit, arg);
}

static void on_addr(struct sq_netw *w, const struct nlmsghdr *h,
                    sq_net_emit_fn emit, void *arg)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)) ||
	    (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return;
	const void *local = NULL, *address = NULL;
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifa)));
	size_t want = ifa->ifa_family == AF_INET ? 4 : 16;
	for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (RTA_PAYLOAD(a) < want)
			continue;
		if (a->rta_type == IFA_LOCAL)
			local = RTA_DATA(a);
		else if (a->rta_type == IFA_ADDRESS)
			address = RTA_DATA(a);
	}
	/* as getifaddrs: IPv4's own address is IFA_LOCAL (IFA_ADDRESS is the
	 * peer on point-to-point links) */
	const void *p = ifa->ifa_family == AF_INET && local ? local : address;
	if (!p)
		return;
	struct sq_net_addr na;
	memset(&na, 0, sizeof(na));
	na.family = ifa->ifa_family;
	na.prefixlen = ifa->ifa_prefixlen;
	unsigned char raw[16];
	memcpy(raw, p, want);
	if (!inet_ntop(na.family, raw, na.addr, sizeof(na.addr)))
		return;
	sq_netw_addr(w, ifa->ifa_index, h->nlmsg_type == RTM_NEWADDR, &na, emit, arg);
}

struct reading {
	struct sq_netw *w;
	sq_net_emit_fn emit;
	void *arg;
};

static void on_message(const struct nlmsghdr *h, void *data)
{
	struct reading *rd = data;
	switch (h->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		on_link(rd->w, h, rd->emit, rd->arg);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		on_addr(rd->w, h, rd->emit, rd->arg);
		break;
	default:
		break;
	}
}

static void on_lost(void *data)
{
	struct reading *rd = data;
	rd->w->resync = true; /* notices were lost: re-list */
}

int sq_watch_net_read(struct sq_netw *w, sq_net_emit_fn emit, void *arg)
{
	struct reading rd = { w, emit, arg };
	return sq_nl_drain(w->fd, on_message, on_lost, &rd);
}

/* ---- processes ------------------------------------------------------------- */

/* linux/pidfd.h of kernels 6.15+ (not in every distribution's headers yet) */
struct sq_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
#define SQ_PIDFD_GET_INFO _IOWR(0xFF, 11, struct sq_pidfd_info)
#define SQ_PIDFD_INFO_EXIT (1ull << 3)

int sq_watch_pid_open(pid_t pid, int *fd, int *how)
{
	if (pid <= 0)
		return -ESRCH;
	/* as the caller: with hidepid=invisible a pid it may not see is not there */
	char path[32];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st) < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	long f = syscall(SYS_pidfd_open, pid, 0);
	if (f < 0)
		return -errno;
	*fd = (int)f;
	*how = SQ_WATCH_READABLE;
	return 0;
}

int sq_watch_pid_status(int fd, struct sq_exit_status *s)
{
	struct sq_pidfd_info info;
	memset(s, 0, sizeof(*s));
	memset(&info, 0, sizeof(info));
	info.mask = SQ_PIDFD_INFO_EXIT;
	if (ioctl(fd, SQ_PIDFD_GET_INFO, &info) < 0)
		return errno == ENOTTY || errno == EINVAL ? 0 : -errno; /* older kernels */
	if (!(info.mask & SQ_PIDFD_INFO_EXIT))
		return 0; /* not reaped yet */
	int w = info.exit_code;
	s->known = true;
	if ((w & 0x7f) == 0) {
		s->code = (w >> 8) & 0xff;
	} else {
		s->signaled = true;
		s->code = w & 0x7f;
		s->core = (w & 0x80) != 0;
	}
	return 0;
}

bool sq_watch_pid_status_on_reap(void)
{
	return true;
}
