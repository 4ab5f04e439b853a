/* SPDX-License-Identifier: ISC */
/*
 * sockets_linux.c - the socket table from the kernel's sock_diag netlink
 * family (NETLINK_SOCK_DIAG), never /proc/net text: one dump per family
 * and protocol (inet_diag_req_v2 for TCP and UDP over IPv4/IPv6, with
 * INET_DIAG_INFO's struct tcp_info for TCP; unix_diag_req with
 * UDIAG_SHOW_NAME|PEER|RQLEN|UID), read one recv at a time into a fixed
 * buffer, so a scan's memory does not depend on the number of sockets.
 * The kernel filters states; sockets.c the port and uid.  Owners: every
 * /proc/PID/fd the calling thread may read (the kernel decides), each
 * "socket:[INODE]" link read without being followed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>

#include "sockets_os.h"
#include "sq_sockets.h"

#define SCAN_BUF 32768   /* one recv: the kernel fills about a page of records */

struct dump {
	int family;      /* AF_INET, AF_INET6, AF_UNIX */
	int proto;       /* IPPROTO_TCP, IPPROTO_UDP, 0 */
	unsigned sqfam, sqproto;
};

struct sq_sockscan {
	int fd;
	struct sq_sock_filter f;
	struct dump dumps[5];
	unsigned ndumps, idx;
	bool in_dump;
	uint32_t seq;
	size_t len, pos;
	char buf[SCAN_BUF] __attribute__((aligned(8)));
};

static const char *dump_name(const struct dump *d)
{
	if (d->family == AF_UNIX)
		return "unix";
	if (d->proto == IPPROTO_TCP)
		return d->family == AF_INET ? "tcp/inet" : "tcp/inet6";
	return d->family == AF_INET ? "udp/inet" : "udp/inet6";
}

int sq_sockscan_open(struct sq_sockscan **out, const struct sq_sock_filter *f)
{
	struct sq_sockscan *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	sc->f = *f;
	unsigned fam, pro;
	sq_sock_filter_asked(f, &fam, &pro);
	static const struct dump all[] = {
		{ AF_INET, IPPROTO_TCP, SQ_SF_INET, SQ_SP_TCP },
		{ AF_INET6, IPPROTO_TCP, SQ_SF_INET6, SQ_SP_TCP },
		{ AF_INET, IPPROTO_UDP, SQ_SF_INET, SQ_SP_UDP },
		{ AF_INET6, IPPROTO_UDP, SQ_SF_INET6, SQ_SP_UDP },
		{ AF_UNIX, 0, SQ_SF_UNIX, SQ_SP_UNIX },
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if ((fam & all[i].sqfam) && (pro & all[i].sqproto))
			sc->dumps[sc->ndumps++] = all[i];
	sc->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (sc->fd < 0) {
		int err = -errno;
		free(sc);
		return err;
	}
	*out = sc;
	return 0;
}

void sq_sockscan_close(struct sq_sockscan *sc)
{
	if (!sc)
		return;
	close(sc->fd);
	free(sc);
}

static int send_request(struct sq_sockscan *sc, const struct dump *d)
{
	struct {
		struct nlmsghdr nh;
		union {
			struct inet_diag_req_v2 inet;
			struct unix_diag_req unx;
		} u;
	} req;
	memset(&req, 0, sizeof(req));
	uint32_t states = sc->f.states ? sc->f.states : ~0u;
	req.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = ++sc->seq;
	if (d->family == AF_UNIX) {
		req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.u.unx));
		req.u.unx.sdiag_family = AF_UNIX;
		req.u.unx.udiag_states = states;
		req.u.unx.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN |
		                       UDIAG_SHOW_UID;
	} else {
		req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.u.inet));
		req.u.inet.sdiag_family = (uint8_t)d->family;
		req.u.inet.sdiag_protocol = (uint8_t)d->proto;
		req.u.inet.idiag_states = states;
		if (d->proto == IPPROTO_TCP && sc->f.info)
			req.u.inet.idiag_ext = 1u << (INET_DIAG_INFO - 1);
	}
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	ssize_t k;
	do
		k = sendto(sc->fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa));
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	sc->in_dump = true;
	sc->len = sc->pos = 0;
	return 0;
}

/* Has the kernel's struct tcp_info (of len bytes) the field ending at end? */
#define HAS(len, field) ((len) >= offsetof(struct tcp_info, field) + \
                         sizeof(((struct tcp_info *)0)->field))

static void tcp_figures(struct sq_sock *s, const void *p, size_t len)
{
	struct tcp_info ti;
	memset(&ti, 0, sizeof(ti));
	memcpy(&ti, p, len < sizeof(ti) ? len : sizeof(ti));
	struct sq_tcp_figures *t = &s->tcp;
	s->has_tcp = HAS(len, tcpi_total_retrans);
	t->rtt_us = ti.tcpi_rtt;
	t->rttvar_us = ti.tcpi_rttvar;
	t->cwnd = ti.tcpi_snd_cwnd;
	t->ssthresh = ti.tcpi_snd_ssthresh;
	t->retransmits = ti.tcpi_total_retrans;
	t->lost = ti.tcpi_lost;
	t->has_lost = HAS(len, tcpi_lost);
	t->pacing_rate = ti.tcpi_pacing_rate == ~0ull ? 0 : ti.tcpi_pacing_rate;
	t->bytes_acked = ti.tcpi_bytes_acked;
	t->bytes_received = ti.tcpi_bytes_received;
	t->has_bytes = HAS(len, tcpi_bytes_received);
	t->delivery_rate = ti.tcpi_delivery_rate;
	t->has_rates = HAS(len, tcpi_delivery_rate);
}

static void parse_inet(const struct dump *d, const struct nlmsghdr *h, struct sq_sock *s)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	s->family = m->idiag_family == AF_INET6 ? SQ_SF_INET6 : SQ_SF_INET;
	s->proto = d->sqproto;
	s->type = d->proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM;
	s->state = m->idiag_state < SQ_SS_NSTATES ? m->idiag_state : SQ_SS_UNKNOWN;
	size_t alen = s->family == SQ_SF_INET ? 4 : 16;
	memcpy(s->local, m->id.idiag_src, alen);
	memcpy(s->remote, m->id.idiag_dst, alen);
	s->lport = ntohs(m->id.idiag_sport);
	s->rport = ntohs(m->id.idiag_dport);
	s->recv_q = m->idiag_rqueue;
	s->send_q = m->idiag_wqueue;
	s->has_queues = true;
	s->has_uid = true;
	s->uid = m->idiag_uid;
	s->inode = m->idiag_inode;
	int rlen = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
	for (const struct rtattr *a = (const void *)(m + 1); RTA_OK(a, rlen); a = RTA_NEXT(a, rlen))
		if (a->rta_type == INET_DIAG_INFO && d->proto == IPPROTO_TCP)
			tcp_figures(s, RTA_DATA(a), RTA_PAYLOAD(a));
}

static void parse_unix(const struct nlmsghdr *h, struct sq_sock *s)
{
	const struct unix_diag_msg *m = NLMSG_DATA(h);
	s->family = SQ_SF_UNIX;
	s->proto = SQ_SP_UNIX;
	s->type = m->udiag_type;
	s->state = m->udiag_state < SQ_SS_NSTATES ? m->udiag_state : SQ_SS_UNKNOWN;
	s->inode = m->udiag_ino;
	int rlen = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
	for (const struct rtattr *a = (const void *)(m + 1); RTA_OK(a, rlen); a = RTA_NEXT(a, rlen)) {
		size_t n = RTA_PAYLOAD(a);
		switch (a->rta_type) {
		case UNIX_DIAG_NAME:
			s->path_len = n < SQ_SOCK_PATH_MAX ? n : SQ_SOCK_PATH_MAX;
			memcpy(s->path, RTA_DATA(a), s->path_len);
			s->path[s->path_len] = '\0';
			break;
		case UNIX_DIAG_PEER:
			if (n >= sizeof(uint32_t)) {
				uint32_t peer;
				memcpy(&peer, RTA_DATA(a), sizeof(peer));
				s->has_peer = peer != 0;
				s->peer_inode = peer;
			}
			break;
		case UNIX_DIAG_RQLEN:
			if (n >= sizeof(struct unix_diag_rqlen)) {
				struct unix_diag_rqlen q;
				memcpy(&q, RTA_DATA(a), sizeof(q));
				s->recv_q = q.udiag_rqueue;
				s->send_q = q.udiag_wqueue;
				s->has_queues = true;
			}
			break;
		case UNIX_DIAG_UID:
			if (n >= sizeof(uid_t)) {
				memcpy(&s->uid, RTA_DATA(a), sizeof(uid_t));
				s->has_uid = true;
			}
			break;
		default:
			break;
		}
	}
}

int sq_sockscan_next(struct sq_sockscan *sc, struct sq_sock *s, char *msg, size_t msglen)
{
	for (;;) {
		if (!sc->in_dump) {
			if (sc->idx >= sc->ndumps)
				return 0;
			int rc = send_request(sc, &sc->dumps[sc->idx]);
			if (rc < 0) {
				snprintf(msg, msglen, "sock_diag request (%s): %s",
				         dump_name(&sc->dumps[sc->idx]), strerror(-rc));
				return rc;
			}
		}
		const struct dump *d = &sc->dumps[sc->idx];
		if (sc->pos >= sc->len) {
			ssize_t k = recv(sc->fd, sc->buf, sizeof(sc->buf), 0);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				int err = k < 0 ? -errno : -EPROTO;
				snprintf(msg, msglen, "sock_diag dump (%s): %s", dump_name(d),
				         k < 0 ? strerror(-err) : "the kernel closed the dump");
				return err;
			}
			sc->len = (size_t)k;
			sc->pos = 0;
		}
		struct nlmsghdr *h = (struct nlmsghdr *)(sc->buf + sc->pos);
		int left = (int)(sc->len - sc->pos);
		if (!NLMSG_OK(h, left)) {
			sc->pos = sc->len; /* a short tail: the kernel never sends one */
			continue;
		}
		sc->pos += NLMSG_ALIGN(h->nlmsg_len);
		if (h->nlmsg_seq != sc->seq)
			continue;
		if (h->nlmsg_type == NLMSG_DONE) {
			sc->in_dump = false;
			sc->idx++;
			continue;
		}
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);
			int err = h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error < 0 ? e->error
			                                                                    : -EPROTO;
			snprintf(msg, msglen, "sock_diag dump (%s): %s%s", dump_name(d), strerror(-err),
			         err == -ENOENT ? " (the kernel has no diag module for it)" : "");
			return err;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
			continue;
		memset(s, 0, sizeof(*s));
		if (d->family == AF_UNIX) {
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg)))
				continue;
			parse_unix(h, s);
		} else {
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				continue;
			parse_inet(d, h, s);
		}
		if (sq_sock_filter_take(&sc->f, s))
			return 1;
	}
}

/* ---- owners: /proc/PID/fd as the calling thread ---------------------------- */

static void read_comm(int proc, pid_t pid, char *comm)
{
	char path[32];
	comm[0] = '\0';
	snprintf(path, sizeof(path), "%d/comm", (int)pid);
	int fd = openat(proc, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	ssize_t k = read(fd, comm, SQ_SOCK_COMM_MAX);
	close(fd);
	if (k <= 0)
		k = 0;
	comm[k] = '\0';
	char *nl = strchr(comm, '\n');
	if (nl)
		*nl = '\0';
}

/* One process's sockets.  strict: its errors are the answer (ESRCH,
 * EACCES); else a process that went or hides its descriptors is passed. */
static int one_pid(struct sq_sock_owners *o, int proc, pid_t pid, bool strict)
{
	char path[32];
	snprintf(path, sizeof(path), "%d/fd", (int)pid);
	int fd = openat(proc, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int err = errno;
		if (!strict)
			return 0;
		return err == ENOENT ? -ESRCH : err == EPERM ? -EACCES : -err;
	}
	DIR *dir = fdopendir(fd);
	if (!dir) {
		int err = -errno;
		close(fd);
		return strict ? err : 0;
	}
	char comm[SQ_SOCK_COMM_MAX + 1];
	bool named = false;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char link[64];
		ssize_t k = readlinkat(fd, e->d_name, link, sizeof(link) - 1);
		if (k <= 0)
			continue;
		/* "socket:[INODE]" (no sscanf: this runs for every descriptor
		 * of every process) */
		if (k < 10 || memcmp(link, "socket:[", 8) != 0 || link[k - 1] != ']')
			continue;
		unsigned long long ino = 0;
		ssize_t i = 8;
		while (i < k - 1 && link[i] >= '0' && link[i] <= '9')
			ino = ino * 10 + (unsigned long long)(link[i++] - '0');
		if (i != k - 1)
			continue;
		if (!named) {
			read_comm(proc, pid, comm);
			named = true;
		}
		if ((rc = sq_sock_owners_add(o, ino, pid, comm)) < 0)
			break;
	}
	closedir(dir);
	return rc;
}

int sq_sock_owners_walk(struct sq_sock_owners *o, pid_t pid, bool self_ok)
{
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (proc < 0)
		return -errno;
	pid_t self = getpid();
	int rc = 0;
	if (pid > 0) {
		rc = pid == self && !self_ok ? -EACCES : one_pid(o, proc, pid, true);
		close(proc);
		return rc;
	}
	int dfd = dup(proc);
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!dir) {
		rc = -errno;
		if (dfd >= 0)
			close(dfd);
		close(proc);
		return rc;
	}
	struct dirent *e;
	while (rc == 0 && (e = readdir(dir)) != NULL) {
		char *end;
		long p = strtol(e->d_name, &end, 10);
		if (*end || p <= 0 || (p == self && !self_ok))
			continue;
		rc = one_pid(o, proc, (pid_t)p, false);
	}
	closedir(dir);
	close(proc);
	return rc;
}
