/* SPDX-License-Identifier: ISC */
/*
 * pcblist_darwin.h - the records of xnu's pcblist_n sysctls
 * (net.inet.{tcp,udp}.pcblist_n, net.local.{stream,dgram}.pcblist_n), which
 * the macOS SDK keeps private (`#ifdef PRIVATE` in xnu's
 * bsd/netinet/in_pcb.h, tcp_var.h, bsd/sys/socketvar.h and unpcb.h; the
 * SDK ships none of in_pcb.h, tcp_var.h, socketvar.h, unpcb.h).  Spelled
 * out here field for field as xnu declares them, inside `#pragma pack(4)`
 * as xnu does: a 64-bit field may sit on a 4-byte boundary.  Only the
 * leading fields sysqd reads are declared; each record carries its own
 * length.  Private to lib/sockets_darwin.c.
 */
#ifndef SQ_PCBLIST_DARWIN_H
#define SQ_PCBLIST_DARWIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include <netinet/in.h>

/* xgn_kind (bsd/sys/socketvar.h) */
#define XSO_SOCKET 0x001
#define XSO_RCVBUF 0x002
#define XSO_SNDBUF 0x004
#define XSO_STATS  0x008
#define XSO_INPCB  0x010
#define XSO_TCPCB  0x020
#define XSO_UNPCB  0x200
/* inp_vflag (bsd/netinet/in_pcb.h) */
#define INP_IPV4   0x1
#define INP_IPV6   0x2

#pragma pack(push, 4)

/* The table's first and last record: struct xinpgen (in_pcb.h) and struct
 * xunpgen (unpcb.h) have this one layout. */
struct xinpgen {
	uint32_t xig_len;
	unsigned xig_count;
	uint64_t xig_gen;
	uint64_t xig_sogen;
};

/* What every other record starts with. */
struct xgen_n {
	uint32_t xgn_len;
	uint32_t xgn_kind;
};

struct in_addr_4in6 {
	uint32_t ia46_pad32[3];
	struct in_addr ia46_addr4;
};

struct xinpcb_n {              /* XSO_INPCB */
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

struct xsocket_n {             /* XSO_SOCKET */
	uint32_t xso_len;
	uint32_t xso_kind;
	uint64_t xso_so;            /* the socket's handle: soi_so of proc_pidfdinfo */
	short so_type;
	uint32_t so_options;        /* SO_ACCEPTCONN: listening */
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

struct xsockbuf_n {            /* XSO_RCVBUF, XSO_SNDBUF */
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

struct xtcpcb_n {              /* XSO_TCPCB */
	uint32_t xt_len;
	uint32_t xt_kind;
	uint64_t t_segq;
	int t_dupacks;
	int t_timer[4];             /* TCPT_NTIMERS_EXT */
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

struct xunpcb_n {              /* XSO_UNPCB */
	uint32_t xunp_len;
	uint32_t xunp_kind;
	uint64_t xunp_unpp;         /* this pcb's handle */
	uint64_t xunp_vnode;        /* the bound file's vnode, or 0 */
	uint64_t xunp_ino;          /* the "fake inode" fstat(2) gives; 0 until then */
	uint64_t xunp_conn;         /* the connected peer's xunp_unpp, or 0 */
	uint64_t xunp_refs;
	uint64_t xunp_reflink;
	int xunp_cc;
	int xunp_mbcnt;
	int xunp_flags;
	uint64_t xunp_gencnt;
	union {
		struct sockaddr_un xuu_addr;    /* the bound address */
		char xu_dummy1[256];
	} xu_au;
	union {
		struct sockaddr_un xuu_caddr;   /* the peer's bound address */
		char xu_dummy2[256];
	} xu_cau;
};

#pragma pack(pop)

/* Where xnu puts them (the same on arm64 and x86_64). */
_Static_assert(sizeof(struct xinpgen) == 24, "xinpgen layout");
_Static_assert(offsetof(struct xinpcb_n, inp_fport) == 16, "xinpcb_n layout");
_Static_assert(offsetof(struct xinpcb_n, inp_ppcb) == 20, "xinpcb_n layout");
_Static_assert(offsetof(struct xinpcb_n, inp_vflag) == 44, "xinpcb_n layout");
_Static_assert(offsetof(struct xinpcb_n, inp_dependfaddr) == 48, "xinpcb_n layout");
_Static_assert(offsetof(struct xinpcb_n, inp_dependladdr) == 64, "xinpcb_n layout");
_Static_assert(offsetof(struct xsocket_n, so_pcb) == 28, "xsocket_n layout");
_Static_assert(offsetof(struct xsocket_n, so_qlen) == 44, "xsocket_n layout");
_Static_assert(offsetof(struct xsocket_n, so_uid) == 64, "xsocket_n layout");
_Static_assert(sizeof(struct xsockbuf_n) == 32, "xsockbuf_n layout");
_Static_assert(offsetof(struct xtcpcb_n, t_state) == 36, "xtcpcb_n layout");
_Static_assert(offsetof(struct xtcpcb_n, t_srtt) == 136, "xtcpcb_n layout");
_Static_assert(offsetof(struct xunpcb_n, xunp_conn) == 32, "xunpcb_n layout");
_Static_assert(offsetof(struct xunpcb_n, xunp_gencnt) == 68, "xunpcb_n layout");
_Static_assert(offsetof(struct xunpcb_n, xu_au) == 76, "xunpcb_n layout");
_Static_assert(sizeof(struct xunpcb_n) == 588, "xunpcb_n layout");

#endif
