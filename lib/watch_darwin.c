/* SPDX-License-Identifier: ISC */
/*
 * watch_darwin.c - kernel change notices on macOS: a kqueue with EVFILT_FS
 * (VQ_MOUNT / VQ_UNMOUNT) for the mount table, a PF_ROUTE socket for
 * interfaces (RTM_IFINFO, RTM_NEWADDR / RTM_DELADDR), and a
 * kqueue per process with EVFILT_PROC NOTE_EXIT.  A kqueue descriptor polls
 * readable while it has events, so the daemon's loop polls it like any fd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_dl.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/event.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sq_watch.h"

static void drain_kqueue(int kq, struct kevent *last)
{
	struct kevent ev[16];
	struct timespec zero = { 0, 0 };
	int n;
	while ((n = kevent(kq, NULL, 0, ev, 16, &zero)) > 0)
		if (last)
			*last = ev[n - 1];
}

/* ---- mounts ---------------------------------------------------------------- */

int sq_watch_mounts_open(int *fd, int *how)
{
	int kq = kqueue();
	if (kq < 0)
		return -errno;
	(void)fcntl(kq, F_SETFD, FD_CLOEXEC);
	struct kevent ev;
	EV_SET(&ev, 0, EVFILT_FS, EV_ADD | EV_CLEAR, 0, 0, NULL);
	if (kevent(kq, &ev, 1, NULL, 0, NULL) < 0) {
		int err = -errno;
		close(kq);
		return err;
	}
	*fd = kq;
	*how = SQ_WATCH_READABLE;
	return 0;
}

void sq_watch_mounts_ack(int fd)
{
	drain_kqueue(fd, NULL); /* VQ_MOUNT, VQ_UNMOUNT, VQ_UPDATE...: re-read anyway */
}

/* ---- interfaces ------------------------------------------------------------ */

int sq_watch_net_open(struct sq_netw *w, int *how)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	int fd = socket(PF_ROUTE, SOCK_RAW, 0);
	if (fd < 0)
		return -errno;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	w->fd = fd;
	*how = SQ_WATCH_READABLE;
	return 0;
}

/* sockaddrs after a routing message header are padded to 4 bytes */
static size_t sa_space(const struct sockaddr *sa)
{
	size_t l = sa->sa_len;
	return l ? 1 + ((l - 1) | (sizeof(uint32_t) - 1)) : sizeof(uint32_t);
}

/* Leading one bits of a (possibly shortened) netmask sockaddr. */
static unsigned mask_bits(const struct sockaddr *m, int family)
{
	size_t off = family == AF_INET ? offsetof(struct sockaddr_in, sin_addr)
	                               : offsetof(struct sockaddr_in6, sin6_addr);
	size_t max = family == AF_INET ? 4 : 16;
	size_t have = m->sa_len > off ? m->sa_len - off : 0;
	return sq_net_mask_bits((const unsigned char *)m + off, have < max ? have : max);
}

static void on_addr(struct sq_netw *w, const struct ifa_msghdr *h, size_t len,
                    sq_net_emit_fn emit, void *arg)
{
	const char *p = (const char *)(h + 1), *end = (const char *)h + len;
	const struct sockaddr *mask = NULL, *ifa = NULL;
	for (int i = 0; i < RTAX_MAX && p < end; i++) {
		if (!(h->ifam_addrs & (1 << i)))
			continue;
		const struct sockaddr *sa = (const struct sockaddr *)(const void *)p;
		if (p + sizeof(sa->sa_len) > end || p + sa_space(sa) > end)
			return;
		if (i == RTAX_NETMASK)
			mask = sa;
		else if (i == RTAX_IFA)
			ifa = sa;
		p += sa_space(sa);
	}
	if (!ifa || (ifa->sa_family != AF_INET && ifa->sa_family != AF_INET6))
		return;
	struct sq_net_addr a;
	memset(&a, 0, sizeof(a));
	if (sq_net_addr_text(ifa, &a) < 0)
		return;
	a.prefixlen = mask ? mask_bits(mask, ifa->sa_family)
	                   : (ifa->sa_family == AF_INET ? 32u : 128u);
	sq_netw_addr(w, h->ifam_index, h->ifam_type == RTM_NEWADDR, &a, emit, arg);
}

static void on_msg(struct sq_netw *w, const struct rt_msghdr *rtm, size_t len,
                   sq_net_emit_fn emit, void *arg)
{
	char name[IFNAMSIZ];
	switch (rtm->rtm_type) {
	case RTM_IFINFO: {
		const struct if_msghdr *h = (const struct if_msghdr *)(const void *)rtm;
		if (len < sizeof(*h))
			return;
		/* macOS has no RTM_IFANNOUNCE: an interface whose index no longer
		 * has a name has been detached */
		if (!if_indextoname(h->ifm_index, name)) {
			sq_netw_link_gone(w, h->ifm_index, emit, arg);
			return;
		}
		sq_netw_link(w, h->ifm_index, name, sq_net_flags_from_iff((unsigned)h->ifm_flags),
		             (int)h->ifm_data.ifi_mtu, emit, arg);
		break;
	}
	case RTM_NEWADDR:
	case RTM_DELADDR:
		if (len >= sizeof(struct ifa_msghdr))
			on_addr(w, (const struct ifa_msghdr *)(const void *)rtm, len, emit, arg);
		break;
	default:
		break;
	}
}

int sq_watch_net_read(struct sq_netw *w, sq_net_emit_fn emit, void *arg)
{
	static __thread uint32_t buf[4096];
	for (;;) {
		ssize_t n = recv(w->fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == ENOBUFS) {
				w->resync = true;
				continue;
			}
			return -errno;
		}
		if (n == 0)
			return 0;
		/* one message per read on PF_ROUTE, but walk them all anyway */
		const char *p = (const char *)buf, *end = p + n;
		while (p + sizeof(struct rt_msghdr) <= end) {
			const struct rt_msghdr *rtm = (const struct rt_msghdr *)(const void *)p;
			if (rtm->rtm_msglen < sizeof(*rtm) || p + rtm->rtm_msglen > end)
				break;
			if (rtm->rtm_version == RTM_VERSION)
				on_msg(w, rtm, rtm->rtm_msglen, emit, arg);
			p += rtm->rtm_msglen;
		}
	}
}

/* ---- processes ------------------------------------------------------------- */

int sq_watch_pid_open(pid_t pid, int *fd, int *how)
{
	if (pid <= 0)
		return -ESRCH;
	int kq = kqueue();
	if (kq < 0)
		return -errno;
	(void)fcntl(kq, F_SETFD, FD_CLOEXEC);
	struct kevent ev;
	/* NOTE_EXITSTATUS is only for the parent: try it, then without */
	EV_SET(&ev, (uintptr_t)pid, EVFILT_PROC, EV_ADD | EV_ONESHOT,
	       NOTE_EXIT | NOTE_EXITSTATUS, 0, NULL);
	int rc = kevent(kq, &ev, 1, NULL, 0, NULL);
	if (rc < 0 && errno != ESRCH) {
		EV_SET(&ev, (uintptr_t)pid, EVFILT_PROC, EV_ADD | EV_ONESHOT, NOTE_EXIT, 0, NULL);
		rc = kevent(kq, &ev, 1, NULL, 0, NULL);
	}
	if (rc < 0) {
		int err = -errno;
		close(kq);
		return err;
	}
	*fd = kq;
	*how = SQ_WATCH_READABLE;
	return 0;
}

int sq_watch_pid_status(int fd, struct sq_exit_status *s)
{
	struct kevent last;
	memset(s, 0, sizeof(*s));
	memset(&last, 0, sizeof(last));
	drain_kqueue(fd, &last);
	if (last.filter == EVFILT_PROC && (last.fflags & NOTE_EXITSTATUS)) {
		int st = (int)last.data;
		s->known = true;
		if (WIFSIGNALED(st)) {
			s->signaled = true;
			s->code = WTERMSIG(st);
			s->core = WCOREDUMP(st) != 0;
		} else {
			s->code = WEXITSTATUS(st);
		}
	}
	return 0;
}

bool sq_watch_pid_status_on_reap(void)
{
	return false; /* the kevent carries the status or never will */
}
