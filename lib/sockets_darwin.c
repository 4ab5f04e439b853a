/* SPDX-License-Identifier: ISC */
/*
 * sockets_darwin.c - the socket table from the net.inet.tcp.pcblist_n and
 * net.inet.udp.pcblist_n sysctls, and owners from proc_pidinfo.
 *
 * The record layouts of the pcblist_n sysctls (struct xinpgen, xinpcb_n,
 * xsocket_n, xsockbuf_n, xtcpcb_n) are private in the macOS SDK (inside
 * `#ifdef PRIVATE` of xnu's bsd/netinet/in_pcb.h, tcp_var.h and
 * bsd/sys/socketvar.h; the public SDK ships neither in_pcb.h nor
 * tcp_var.h), so they are spelled out below, field for field, from xnu;
 * netstat(1) reads the same ones.  Each record starts with its length and
 * kind and is padded to 8 bytes; a length too short for what we read is
 * skipped, never read past.  The sysctl answers whole, so one table is held
 * for the scan of each protocol.  UNIX sockets (net.local.*.pcblist_n,
 * xunpcb_n) are not read: an explicit request for them ends with ENOTSUP.
 */
#include <errno.h>
#include <stddef.h>
#include <libproc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/proc_info.h>
#include <sys/socket.h>
#include <sys/sysctl.h>
#include <sys/types.h>
#include <unistd.h>

#include <netinet/in.h>

#include "sockets_os.h"
#include "sq_sockets.h"

/* ---- xnu's records (private in the SDK) ---------------------------------- */

#define XSO_SOCKET 0x001
#define XSO_RCVBUF 0x002
#define XSO_SNDBUF 0x004
#define XSO_STATS  0x008
#define XSO_INPCB  0x010
#define XSO_TCPCB  0x020
#define INP_IPV4   0x1
#define INP_IPV6   0x2

struct xinpgen {
	uint32_t xig_len;
	unsigned xig_count;
	uint64_t xig_gen;
	uint64_t xig_sogen;
};

struct xgen_n {
	uint32_t xgn_len;
	uint32_t xgn_kind;
};

struct in_addr_4in6 {
	uint32_t ia46_pad32[3];
	struct in_addr ia46_addr4;
};

struct xinpcb_n {
	uint32_t xi_len;
	uint32_t xi_kind;
	uint64_t xi_inpp;
	unsigned short inp_fport;   /* network order */
	unsigned short inp_lport;
	uint64_t inp_ppcb;
	uint64_t inp_gencnt;
	int inp_flags;
	uint32_t inp_flow;
	unsigned char inp_vflag;
	unsigned char inp_ip_ttl;
	unsigned char inp_ip_p;
	union {
		struct in_addr_4in6 inp46_foreign;
		struct in6_addr inp6_foreign;
	} inp_dependfaddr;
	union {
		struct in_addr_4in6 inp46_local;
		struct in6_addr inp6_local;
	} inp_dependladdr;
	/* more follows that is not read */
};

struct xsocket_n {
	uint32_t xso_len;
	uint32_t xso_kind;
	uint64_t xso_so;            /* the socket's handle: soi_so of proc_pidfdinfo */
	short so_type;
	uint32_t so_options;
	short so_linger;
	short so_state;
	uint64_t so_pcb;
	int xso_protocol;
	int xso_family;
	short so_qlen;
	short so_incqlen;
	short so_qlimit;
	short so_timeo;
	unsigned short so_error;
	pid_t so_pgid;
	uint32_t so_oobmark;
	uid_t so_uid;
	/* more follows that is not read */
};

struct xsockbuf_n {
	uint32_t xsb_len;
	uint32_t xsb_kind;
	uint32_t sb_cc;
	uint32_t sb_hiwat;
	uint32_t sb_mbcnt;
	uint32_t sb_mbmax;
	int32_t sb_lowat;
	short sb_flags;
	short sb_timeo;
};

struct xtcpcb_n {
	uint32_t xt_len;
	uint32_t xt_kind;
	uint64_t t_segq;
	int t_dupacks;
	int t_timer[4];
	int t_state;
	unsigned t_flags;
	int t_force;
	uint32_t snd_una, snd_max, snd_nxt, snd_up, snd_wl1, snd_wl2, iss, irs;
	uint32_t rcv_nxt, rcv_adv, rcv_wnd, rcv_up, snd_wnd;
	uint32_t snd_cwnd;          /* bytes */
	uint32_t snd_ssthresh;      /* bytes */
	unsigned t_maxopd;
	uint32_t t_rcvtime, t_starttime;
	int t_rtttime;
	uint32_t t_rtseq;
	int t_rxtcur;
	unsigned t_maxseg;
	int t_srtt;                 /* ms << TCP_RTT_SHIFT */
	int t_rttvar;               /* ms << TCP_RTTVAR_SHIFT */
	int t_rxtshift;             /* the retransmit back-off now */
	/* more follows that is not read */
};

/* Where netstat and xnu put them (natural alignment on both arm64 and x86_64) */
_Static_assert(offsetof(struct xinpcb_n, inp_fport) == 16, "xinpcb_n layout");
_Static_assert(offsetof(struct xinpcb_n, inp_vflag) == 48, "xinpcb_n layout");
_Static_assert(offsetof(struct xinpcb_n, inp_dependfaddr) == 52, "xinpcb_n layout");
_Static_assert(offsetof(struct xinpcb_n, inp_dependladdr) == 68, "xinpcb_n layout");
_Static_assert(offsetof(struct xsocket_n, so_uid) == 68, "xsocket_n layout");
_Static_assert(sizeof(struct xsockbuf_n) == 32, "xsockbuf_n layout");
_Static_assert(offsetof(struct xtcpcb_n, t_state) == 36, "xtcpcb_n layout");

#define TCP_RTT_SHIFT 5
#define TCP_RTTVAR_SHIFT 4
#define ROUND64(n) (((n) + 7u) & ~(size_t)7u)

/* xnu's TCP states (bsd/netinet/tcp_fsm.h) as Linux numbers them. */
static const unsigned tcp_states[] = {
	SQ_SS_CLOSE, SQ_SS_LISTEN, SQ_SS_SYN_SENT, SQ_SS_SYN_RECV, SQ_SS_ESTABLISHED,
	SQ_SS_CLOSE_WAIT, SQ_SS_FIN_WAIT1, SQ_SS_CLOSING, SQ_SS_LAST_ACK, SQ_SS_FIN_WAIT2,
	SQ_SS_TIME_WAIT,
};

struct sq_sockscan {
	struct sq_sock_filter f;
	unsigned protos;     /* still to read: SQ_SP_TCP, then SQ_SP_UDP */
	bool unix_asked;     /* named explicitly: answered ENOTSUP at the end */
	unsigned cur;        /* the protocol of buf */
	char *buf;
	size_t len, pos;
};

int sq_sockscan_open(struct sq_sockscan **out, const struct sq_sock_filter *f)
{
	struct sq_sockscan *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	sc->f = *f;
	unsigned fam, pro;
	sq_sock_filter_asked(f, &fam, &pro);
	if (fam & (SQ_SF_INET | SQ_SF_INET6))
		sc->protos = pro & (SQ_SP_TCP | SQ_SP_UDP);
	sc->unix_asked = (f->protos & SQ_SP_UNIX) || (f->families & SQ_SF_UNIX);
	*out = sc;
	return 0;
}

void sq_sockscan_close(struct sq_sockscan *sc)
{
	if (!sc)
		return;
	free(sc->buf);
	free(sc);
}

/* The whole table of one protocol into sc->buf. */
static int load(struct sq_sockscan *sc, unsigned proto, char *msg, size_t msglen)
{
	const char *name = proto == SQ_SP_TCP ? "net.inet.tcp.pcblist_n" : "net.inet.udp.pcblist_n";
	free(sc->buf);
	sc->buf = NULL;
	for (int tries = 0; tries < 8; tries++) {
		size_t len = 0;
		if (sysctlbyname(name, NULL, &len, NULL, 0) < 0)
			break;
		len += len / 8 + 4096; /* sockets made meanwhile */
		char *b = malloc(len);
		if (!b)
			return -ENOMEM;
		if (sysctlbyname(name, b, &len, NULL, 0) == 0) {
			sc->buf = b;
			sc->len = len;
			sc->cur = proto;
			sc->pos = len >= sizeof(struct xinpgen)
			          ? ROUND64(((struct xinpgen *)(void *)b)->xig_len) : len;
			return 0;
		}
		int err = errno;
		free(b);
		if (err != ENOMEM) {
			errno = err;
			break;
		}
	}
	int err = -errno;
	snprintf(msg, msglen, "sysctl %s: %s", name, strerror(-err));
	return err;
}

static void fill_inet(struct sq_sock *s, const struct xinpcb_n *inp)
{
	if (inp->inp_vflag & INP_IPV4) {
		s->family = SQ_SF_INET;
		memcpy(s->local, &inp->inp_dependladdr.inp46_local.ia46_addr4, 4);
		memcpy(s->remote, &inp->inp_dependfaddr.inp46_foreign.ia46_addr4, 4);
	} else {
		s->family = SQ_SF_INET6;
		memcpy(s->local, &inp->inp_dependladdr.inp6_local, 16);
		memcpy(s->remote, &inp->inp_dependfaddr.inp6_foreign, 16);
	}
	s->lport = ntohs(inp->inp_lport);
	s->rport = ntohs(inp->inp_fport);
}

static void fill_tcp(struct sq_sock *s, const struct xtcpcb_n *tp)
{
	s->state = tp->t_state >= 0 && (size_t)tp->t_state < sizeof(tcp_states) / sizeof(tcp_states[0])
	           ? tcp_states[tp->t_state] : SQ_SS_UNKNOWN;
	struct sq_tcp_figures *t = &s->tcp;
	memset(t, 0, sizeof(*t));
	s->has_tcp = true;
	t->rtt_us = (uint32_t)(tp->t_srtt >> TCP_RTT_SHIFT) * 1000u;
	t->rttvar_us = (uint32_t)(tp->t_rttvar >> TCP_RTTVAR_SHIFT) * 1000u;
	unsigned mss = tp->t_maxseg ? tp->t_maxseg : 1;
	t->cwnd = tp->snd_cwnd / mss;
	t->ssthresh = tp->snd_ssthresh >= 0x3fffffffu ? 0x7fffffffu : tp->snd_ssthresh / mss;
	t->retransmits = (uint32_t)tp->t_rxtshift;
}

int sq_sockscan_next(struct sq_sockscan *sc, struct sq_sock *s, char *msg, size_t msglen)
{
	const struct xinpcb_n *inp = NULL;
	const struct xsocket_n *so = NULL;
	const struct xsockbuf_n *rcv = NULL, *snd = NULL;
	const struct xtcpcb_n *tp = NULL;
	for (;;) {
		if (!sc->buf || sc->pos >= sc->len) {
			unsigned next = sc->protos & SQ_SP_TCP ? SQ_SP_TCP : sc->protos & SQ_SP_UDP;
			if (!next) {
				if (sc->unix_asked) {
					sc->unix_asked = false;
					snprintf(msg, msglen, "UNIX sockets are not listed on macOS");
					return -ENOTSUP;
				}
				return 0;
			}
			sc->protos &= ~next;
			int rc = load(sc, next, msg, msglen);
			if (rc < 0)
				return rc;
			inp = NULL, so = NULL, rcv = snd = NULL, tp = NULL;
			continue;
		}
		const struct xgen_n *g = (const void *)(sc->buf + sc->pos);
		if (sc->len - sc->pos < sizeof(*g) || g->xgn_len <= sizeof(struct xinpgen)) {
			sc->pos = sc->len; /* the closing xinpgen */
			continue;
		}
		size_t have = sc->len - sc->pos < g->xgn_len ? sc->len - sc->pos : g->xgn_len;
		switch (g->xgn_kind) {
		case XSO_INPCB:
			inp = have >= sizeof(*inp) ? (const void *)g : NULL;
			break;
		case XSO_SOCKET:
			so = have >= sizeof(*so) ? (const void *)g : NULL;
			break;
		case XSO_RCVBUF:
			rcv = have >= sizeof(*rcv) ? (const void *)g : NULL;
			break;
		case XSO_SNDBUF:
			snd = have >= sizeof(*snd) ? (const void *)g : NULL;
			break;
		case XSO_TCPCB:
			tp = have >= sizeof(*tp) ? (const void *)g : NULL;
			break;
		default:
			break;
		}
		sc->pos += ROUND64(g->xgn_len);
		/* a pcb's records end with its stats (UDP) or its tcpcb (TCP) */
		bool last = sc->cur == SQ_SP_TCP ? g->xgn_kind == XSO_TCPCB : g->xgn_kind == XSO_STATS;
		if (!last)
			continue;
		bool whole = inp && so && rcv && snd && (sc->cur != SQ_SP_TCP || tp);
		if (!whole) {
			inp = NULL, so = NULL, rcv = snd = NULL, tp = NULL;
			continue;
		}
		memset(s, 0, sizeof(*s));
		s->proto = sc->cur;
		s->type = sc->cur == SQ_SP_TCP ? SOCK_STREAM : SOCK_DGRAM;
		fill_inet(s, inp);
		if (tp && sc->f.info)
			fill_tcp(s, tp);
		else if (tp)
			s->state = tp->t_state >= 0 &&
			           (size_t)tp->t_state < sizeof(tcp_states) / sizeof(tcp_states[0])
			           ? tcp_states[tp->t_state] : SQ_SS_UNKNOWN;
		else
			s->state = s->rport ? SQ_SS_ESTABLISHED : SQ_SS_CLOSE;
		if (s->state == SQ_SS_LISTEN) {
			s->recv_q = (uint32_t)so->so_qlen;
			s->send_q = (uint32_t)so->so_qlimit;
		} else {
			s->recv_q = rcv->sb_cc;
			s->send_q = snd->sb_cc;
		}
		s->has_queues = true;
		s->has_uid = true;
		s->uid = so->so_uid;
		s->handle = so->xso_so;
		inp = NULL, so = NULL, rcv = snd = NULL, tp = NULL;
		if (sq_sock_filter_take(&sc->f, s))
			return 1;
	}
}

/* ---- owners: proc_pidinfo as the calling thread -------------------------- */

static int one_pid(struct sq_sock_owners *o, pid_t pid, bool strict)
{
	int size = proc_pidinfo(pid, PROC_PIDLISTFDS, 0, NULL, 0);
	if (size <= 0) {
		int err = errno;
		if (!strict)
			return 0;
		return err == ESRCH ? -ESRCH : -EACCES;
	}
	size += 32 * (int)sizeof(struct proc_fdinfo); /* descriptors opened meanwhile */
	struct proc_fdinfo *fds = malloc((size_t)size);
	if (!fds)
		return -ENOMEM;
	int got = proc_pidinfo(pid, PROC_PIDLISTFDS, 0, fds, size);
	if (got <= 0) {
		int err = errno;
		free(fds);
		return strict ? (err == ESRCH ? -ESRCH : -EACCES) : 0;
	}
	char comm[2 * MAXCOMLEN + 1];
	if (proc_name(pid, comm, sizeof(comm)) <= 0)
		comm[0] = '\0';
	int rc = 0;
	size_t n = (size_t)got / sizeof(*fds);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (fds[i].proc_fdtype != PROX_FDTYPE_SOCKET)
			continue;
		struct socket_fdinfo si;
		if (proc_pidfdinfo(pid, fds[i].proc_fd, PROC_PIDFDSOCKETINFO, &si, sizeof(si)) !=
		    (int)sizeof(si))
			continue;
		rc = sq_sock_owners_add(o, si.psi.soi_so, pid, comm);
	}
	free(fds);
	return rc;
}

int sq_sock_owners_walk(struct sq_sock_owners *o, pid_t pid, bool self_ok)
{
	pid_t self = getpid();
	if (pid > 0)
		return pid == self && !self_ok ? -EACCES : one_pid(o, pid, true);
	int n = proc_listallpids(NULL, 0);
	if (n <= 0)
		return -errno;
	n += 64;
	pid_t *pids = malloc((size_t)n * sizeof(*pids));
	if (!pids)
		return -ENOMEM;
	int got = proc_listallpids(pids, n * (int)sizeof(*pids));
	int rc = got < 0 ? -errno : 0;
	for (int i = 0; i < got && rc == 0; i++)
		if (pids[i] > 0 && (pids[i] != self || self_ok))
			rc = one_pid(o, pids[i], false);
	free(pids);
	return rc;
}
