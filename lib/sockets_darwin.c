/* SPDX-License-Identifier: ISC */
/*
 * sockets_darwin.c - the socket table from xnu's pcblist_n sysctls:
 * net.inet.tcp.pcblist_n and net.inet.udp.pcblist_n (TCP and UDP),
 * net.local.stream.pcblist_n and net.local.dgram.pcblist_n (UNIX; xnu has
 * no UNIX seqpacket sockets), and owners from proc_pidinfo.
 *
 * Each sysctl answers whole, so one table is held for the scan of each:
 * an xinpgen, then per pcb a run of records (pcblist_darwin.h), each
 * starting with its length and kind and padded to 8 bytes, ending with its
 * tcpcb (TCP) or its stats (UDP, UNIX); a length too short for what we read
 * is skipped, never read past.  A socket's `inode` is its kernel handle
 * (xso_so, which proc_pidfdinfo gives as soi_so); a UNIX socket's peer is
 * found by its pcb handle (xunp_conn = the peer's xunp_unpp) in the same
 * table.
 */
#include <errno.h>
#include <libproc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/proc_info.h>
#include <sys/socket.h>
#include <sys/sysctl.h>
#include <sys/types.h>
#include <unistd.h>

#include <netinet/in.h>

#include "pcblist_darwin.h"
#include "sockets_os.h"
#include "sq_sockets.h"

#define TCP_RTT_SHIFT 5
#define TCP_RTTVAR_SHIFT 4
#define ROUND64(n) (((n) + 7u) & ~(size_t)7u)

/* xnu's TCP states (bsd/netinet/tcp_fsm.h) as Linux numbers them. */
static const unsigned tcp_states[] = {
	SQ_SS_CLOSE, SQ_SS_LISTEN, SQ_SS_SYN_SENT, SQ_SS_SYN_RECV, SQ_SS_ESTABLISHED,
	SQ_SS_CLOSE_WAIT, SQ_SS_FIN_WAIT1, SQ_SS_CLOSING, SQ_SS_LAST_ACK, SQ_SS_FIN_WAIT2,
	SQ_SS_TIME_WAIT,
};

/* The tables, in the order they are read. */
enum { T_TCP = 1u << 0, T_UDP = 1u << 1, T_USTREAM = 1u << 2, T_UDGRAM = 1u << 3 };

static const struct table {
	unsigned bit;
	const char *sysctl;
	unsigned proto;
	int type;
} tables[] = {
	{ T_TCP, "net.inet.tcp.pcblist_n", SQ_SP_TCP, SOCK_STREAM },
	{ T_UDP, "net.inet.udp.pcblist_n", SQ_SP_UDP, SOCK_DGRAM },
	{ T_USTREAM, "net.local.stream.pcblist_n", SQ_SP_UNIX, SOCK_STREAM },
	{ T_UDGRAM, "net.local.dgram.pcblist_n", SQ_SP_UNIX, SOCK_DGRAM },
};

/* A UNIX pcb's handle and its socket's, for finding peers. */
struct unp_so {
	uint64_t unpp, so;
};

struct sq_sockscan {
	struct sq_sock_filter f;
	unsigned todo;               /* T_* still to read */
	const struct table *cur;     /* the table in buf */
	char *buf;
	size_t len, pos;
	struct unp_so *peers;        /* UNIX tables: sorted by unpp */
	size_t npeers;
};

/* One pcb's records, as the walk meets them. */
struct pcb {
	const struct xinpcb_n *inp;
	const struct xunpcb_n *unp;
	const struct xsocket_n *so;
	const struct xsockbuf_n *rcv, *snd;
	const struct xtcpcb_n *tp;
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
		sc->todo |= (pro & SQ_SP_TCP ? T_TCP : 0) | (pro & SQ_SP_UDP ? T_UDP : 0);
	if ((fam & SQ_SF_UNIX) && (pro & SQ_SP_UNIX))
		sc->todo |= T_USTREAM | T_UDGRAM;
	*out = sc;
	return 0;
}

void sq_sockscan_close(struct sq_sockscan *sc)
{
	if (!sc)
		return;
	free(sc->buf);
	free(sc->peers);
	free(sc);
}

/* The record at pos and its length as far as the buffer holds it, or NULL
 * at the closing xinpgen / xunpgen or the buffer's end. */
static const struct xgen_n *record_at(const char *buf, size_t len, size_t pos, size_t *have)
{
	if (pos >= len || len - pos < sizeof(struct xgen_n))
		return NULL;
	const struct xgen_n *g = (const void *)(buf + pos);
	if (g->xgn_len <= sizeof(struct xinpgen))
		return NULL;
	*have = len - pos < g->xgn_len ? len - pos : g->xgn_len;
	return g;
}

static int by_unpp(const void *a, const void *b)
{
	const struct unp_so *x = a, *y = b;
	return x->unpp < y->unpp ? -1 : x->unpp > y->unpp;
}

/* A UNIX table's (pcb, socket) handles, sorted, for peer_of. */
static int index_peers(struct sq_sockscan *sc, size_t first)
{
	free(sc->peers);
	sc->peers = NULL;
	sc->npeers = 0;
	size_t n = 0, have;
	const struct xgen_n *g;
	for (size_t pos = first; (g = record_at(sc->buf, sc->len, pos, &have)); pos += ROUND64(g->xgn_len))
		n += g->xgn_kind == XSO_UNPCB;
	if (n == 0)
		return 0;
	sc->peers = malloc(n * sizeof(*sc->peers));
	if (!sc->peers)
		return -ENOMEM;
	uint64_t unpp = 0;
	bool have_unp = false;
	for (size_t pos = first; (g = record_at(sc->buf, sc->len, pos, &have)); pos += ROUND64(g->xgn_len)) {
		if (g->xgn_kind == XSO_UNPCB && have >= sizeof(struct xunpcb_n)) {
			unpp = ((const struct xunpcb_n *)(const void *)g)->xunp_unpp;
			have_unp = true;
		} else if (g->xgn_kind == XSO_SOCKET && have_unp && have >= sizeof(struct xsocket_n) &&
		           sc->npeers < n) {
			sc->peers[sc->npeers].unpp = unpp;
			sc->peers[sc->npeers++].so = ((const struct xsocket_n *)(const void *)g)->xso_so;
			have_unp = false;
		}
	}
	qsort(sc->peers, sc->npeers, sizeof(*sc->peers), by_unpp);
	return 0;
}

/* The socket handle of the pcb conn, or 0 (none, or gone meanwhile). */
static uint64_t peer_of(const struct sq_sockscan *sc, uint64_t conn)
{
	if (!conn || !sc->npeers)
		return 0;
	struct unp_so key = { .unpp = conn };
	const struct unp_so *p = bsearch(&key, sc->peers, sc->npeers, sizeof(key), by_unpp);
	return p ? p->so : 0;
}

/* The whole table t into sc->buf. */
static int load(struct sq_sockscan *sc, const struct table *t, char *msg, size_t msglen)
{
	free(sc->buf);
	sc->buf = NULL;
	sc->len = sc->pos = 0;
	for (int tries = 0; tries < 8; tries++) {
		size_t len = 0;
		if (sysctlbyname(t->sysctl, NULL, &len, NULL, 0) < 0)
			break;
		len += len / 8 + 4096; /* sockets made meanwhile */
		char *b = malloc(len);
		if (!b)
			return -ENOMEM;
		if (sysctlbyname(t->sysctl, b, &len, NULL, 0) == 0) {
			sc->buf = b;
			sc->len = len;
			sc->cur = t;
			sc->pos = len >= sizeof(struct xinpgen)
			          ? ROUND64(((struct xinpgen *)(void *)b)->xig_len) : len;
			return t->proto == SQ_SP_UNIX ? index_peers(sc, sc->pos) : 0;
		}
		int err = errno;
		free(b);
		if (err != ENOMEM) {
			errno = err;
			break;
		}
	}
	int err = -errno;
	snprintf(msg, msglen, "sysctl %s: %s", t->sysctl, strerror(-err));
	return err;
}

static unsigned tcp_state(const struct xtcpcb_n *tp)
{
	return tp->t_state >= 0 && (size_t)tp->t_state < sizeof(tcp_states) / sizeof(tcp_states[0])
	       ? tcp_states[tp->t_state] : SQ_SS_UNKNOWN;
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

/* A UNIX pcb: its bound name (no abstract names on macOS), state, peer. */
static void fill_unix(const struct sq_sockscan *sc, struct sq_sock *s, const struct pcb *p)
{
	s->family = SQ_SF_UNIX;
	const struct sockaddr_un *a = &p->unp->xu_au.xuu_addr;
	size_t off = offsetof(struct sockaddr_un, sun_path);
	if (a->sun_len > off && a->sun_path[0] != '\0') {
		size_t n = (size_t)a->sun_len - off;
		if (n > sizeof(a->sun_path))
			n = sizeof(a->sun_path);
		n = strnlen(a->sun_path, n);
		if (n > SQ_SOCK_PATH_MAX)
			n = SQ_SOCK_PATH_MAX;
		memcpy(s->path, a->sun_path, n);
		s->path_len = n;
	}
	if (s->type == SOCK_STREAM && (p->so->so_options & SO_ACCEPTCONN))
		s->state = SQ_SS_LISTEN;
	else
		s->state = p->unp->xunp_conn ? SQ_SS_ESTABLISHED : SQ_SS_CLOSE;
	s->peer_inode = peer_of(sc, p->unp->xunp_conn);
	s->has_peer = s->peer_inode != 0;
}

/* A whole pcb into s. */
static void fill(const struct sq_sockscan *sc, struct sq_sock *s, const struct pcb *p)
{
	memset(s, 0, sizeof(*s));
	s->proto = sc->cur->proto;
	s->type = sc->cur->type;
	if (p->unp) {
		fill_unix(sc, s, p);
	} else {
		fill_inet(s, p->inp);
		if (p->tp)
			s->state = tcp_state(p->tp);
		else
			s->state = s->rport ? SQ_SS_ESTABLISHED : SQ_SS_CLOSE;
		if (p->tp && sc->f.info)
			fill_tcp(s, p->tp);
	}
	if (s->state == SQ_SS_LISTEN) {
		s->recv_q = (uint32_t)p->so->so_qlen;
		s->send_q = (uint32_t)p->so->so_qlimit;
	} else {
		s->recv_q = p->rcv->sb_cc;
		s->send_q = p->snd->sb_cc;
	}
	s->has_queues = true;
	s->has_uid = true;
	s->uid = p->so->so_uid;
	s->inode = p->so->xso_so;
	s->handle = p->so->xso_so;
}

/* Note the record g (have bytes of it) in p; true when it ends a pcb. */
static bool note(struct pcb *p, const struct xgen_n *g, size_t have, unsigned proto)
{
	switch (g->xgn_kind) {
	case XSO_INPCB:
		p->inp = have >= sizeof(*p->inp) ? (const void *)g : NULL;
		break;
	case XSO_UNPCB:
		p->unp = have >= sizeof(*p->unp) ? (const void *)g : NULL;
		break;
	case XSO_SOCKET:
		p->so = have >= sizeof(*p->so) ? (const void *)g : NULL;
		break;
	case XSO_RCVBUF:
		p->rcv = have >= sizeof(*p->rcv) ? (const void *)g : NULL;
		break;
	case XSO_SNDBUF:
		p->snd = have >= sizeof(*p->snd) ? (const void *)g : NULL;
		break;
	case XSO_TCPCB:
		p->tp = have >= sizeof(*p->tp) ? (const void *)g : NULL;
		break;
	default:
		break;
	}
	return proto == SQ_SP_TCP ? g->xgn_kind == XSO_TCPCB : g->xgn_kind == XSO_STATS;
}

static bool whole(const struct pcb *p, unsigned proto)
{
	if (!p->so || !p->rcv || !p->snd)
		return false;
	if (proto == SQ_SP_UNIX)
		return p->unp != NULL;
	return p->inp && (proto != SQ_SP_TCP || p->tp);
}

int sq_sockscan_next(struct sq_sockscan *sc, struct sq_sock *s, char *msg, size_t msglen)
{
	struct pcb p = { 0 };
	for (;;) {
		size_t have;
		const struct xgen_n *g = sc->buf ? record_at(sc->buf, sc->len, sc->pos, &have) : NULL;
		if (!g) {
			const struct table *t = NULL;
			for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]) && !t; i++)
				if (sc->todo & tables[i].bit)
					t = &tables[i];
			if (!t)
				return 0;
			sc->todo &= ~t->bit;
			int rc = load(sc, t, msg, msglen);
			if (rc < 0)
				return rc;
			memset(&p, 0, sizeof(p));
			continue;
		}
		sc->pos += ROUND64(g->xgn_len);
		if (!note(&p, g, have, sc->cur->proto))
			continue;
		bool ok = whole(&p, sc->cur->proto);
		if (ok)
			fill(sc, s, &p);
		memset(&p, 0, sizeof(p));
		if (ok && sq_sock_filter_take(&sc->f, s))
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
