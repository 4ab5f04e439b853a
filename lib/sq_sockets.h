/* SPDX-License-Identifier: ISC */
/*
 * sq_sockets.h - the kernel's socket table, one socket at a time: TCP and
 * UDP over IPv4/IPv6 and UNIX sockets with their addresses, state, queues,
 * owning uid, inode and, for TCP, the kernel's connection figures; and the
 * processes holding them (owners), as the calling thread may see them.
 *
 * A scan holds one bounded buffer whatever the number of sockets: Linux
 * reads sock_diag netlink dumps (NETLINK_SOCK_DIAG: inet_diag with
 * INET_DIAG_INFO, unix_diag) one recv at a time; macOS reads the
 * net.inet.{tcp,udp}.pcblist_n and net.local.{stream,dgram}.pcblist_n
 * sysctls, one table at a time.  The owner map (sockets.c, Linux
 * /proc/PID/fd) grows with the sockets the caller's visible processes hold,
 * up to SQ_SOCK_OWNERS_MAX entries.
 */
#ifndef SQ_SOCKETS_H
#define SQ_SOCKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Protocols (bits of a filter). */
enum { SQ_SP_TCP = 1u << 0, SQ_SP_UDP = 1u << 1, SQ_SP_UNIX = 1u << 2 };
/* Families (bits of a filter). */
enum { SQ_SF_INET = 1u << 0, SQ_SF_INET6 = 1u << 1, SQ_SF_UNIX = 1u << 2 };

/* States, numbered as Linux's TCP states (include/net/tcp_states.h); UDP
 * and UNIX sockets use ESTABLISHED (connected), CLOSE (unconnected) and,
 * UNIX stream, LISTEN. */
enum sq_sock_state {
	SQ_SS_UNKNOWN = 0,
	SQ_SS_ESTABLISHED = 1, SQ_SS_SYN_SENT, SQ_SS_SYN_RECV, SQ_SS_FIN_WAIT1,
	SQ_SS_FIN_WAIT2, SQ_SS_TIME_WAIT, SQ_SS_CLOSE, SQ_SS_CLOSE_WAIT,
	SQ_SS_LAST_ACK, SQ_SS_LISTEN, SQ_SS_CLOSING, SQ_SS_NEW_SYN_RECV,
	SQ_SS_NSTATES
};
#define SQ_SS_ALL ((1u << SQ_SS_NSTATES) - 2u) /* every state but UNKNOWN */

/* The wire name of a state ("established", "listen", ...), and back (-1). */
const char *sq_sock_state_name(unsigned state);
int sq_sock_state_parse(const char *name, size_t len);

/* What to list.  Zero masks mean "all". */
struct sq_sock_filter {
	unsigned families;  /* SQ_SF_* */
	unsigned protos;    /* SQ_SP_* */
	unsigned states;    /* 1u << SQ_SS_* */
	int port;           /* local or remote port, or -1 */
	int lport, rport;   /* the local, the remote port (ss's sport, dport), or -1 */
	int64_t uid;        /* owning uid, or -1 */
	bool info;          /* TCP: the connection figures */
};

/* struct tcp_info's figures that net.sockets reports; has_* say which the
 * kernel gave (older kernels and macOS give fewer). */
struct sq_tcp_figures {
	uint32_t rtt_us, rttvar_us;
	uint32_t cwnd, ssthresh;     /* segments; ssthresh 0x7fffffff: infinite */
	uint32_t retransmits;        /* total retransmitted segments */
	uint32_t lost;
	uint64_t bytes_acked, bytes_received;
	uint64_t delivery_rate, pacing_rate;  /* bytes per second */
	bool has_lost, has_bytes, has_rates;
};

#define SQ_SOCK_PATH_MAX 108        /* sun_path */

struct sq_sock {
	unsigned family;     /* SQ_SF_* (one bit) */
	unsigned proto;      /* SQ_SP_* (one bit) */
	int type;            /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	unsigned state;      /* SQ_SS_* */
	uint8_t local[16], remote[16];   /* inet: 4 bytes, inet6: 16, network order */
	uint16_t lport, rport;           /* host order */
	uint32_t recv_q, send_q;
	bool has_uid;
	uid_t uid;
	uint64_t inode;                  /* macOS: the socket's kernel handle */
	/* unix */
	char path[SQ_SOCK_PATH_MAX + 1]; /* abstract names start with '\0' */
	size_t path_len;                 /* 0: unnamed */
	bool has_peer;
	uint64_t peer_inode;             /* the peer's inode (macOS: handle) */
	bool has_queues;
	/* tcp */
	bool has_tcp;
	struct sq_tcp_figures tcp;
	uint64_t handle;                 /* macOS: the socket's kernel handle (owners) */
};

struct sq_sockscan;

/* Start a scan.  0 or a negative errno. */
int sq_sockscan_open(struct sq_sockscan **out, const struct sq_sock_filter *f);
/* The next socket the filter takes: 1 (s filled), 0 at the end, or a
 * negative errno (the scan cannot go on; msg says what failed). */
int sq_sockscan_next(struct sq_sockscan *sc, struct sq_sock *s, char *msg, size_t msglen);
void sq_sockscan_close(struct sq_sockscan *sc);
/* Portable part of the filter (sockets.c): port and uid. */
bool sq_sock_filter_take(const struct sq_sock_filter *f, const struct sq_sock *s);

/* ---- owners ------------------------------------------------------------ */

#define SQ_SOCK_OWNERS_MAX 262144u  /* (socket, process) pairs kept: 4 MiB */
#define SQ_SOCK_COMM_MAX 16

struct sq_sock_owner {
	pid_t pid;
	char comm[SQ_SOCK_COMM_MAX + 1];
};

struct sq_sock_owners;

/*
 * Which processes hold which sockets, as the calling thread may see them:
 * the descriptors of every process it could list itself (Linux: read
 * /proc/PID/fd, which the kernel allows the process's own user and the
 * privileged; never sysqd's own process, unless self_ok), or of pid alone
 * when pid > 0 (then -ESRCH: no such process, -EACCES: its descriptors
 * are not the caller's to see).  0 or a negative errno.
 */
int sq_sock_owners_scan(struct sq_sock_owners **out, pid_t pid, bool self_ok);
/* The holders of a socket (inode on Linux, handle on macOS): up to max
 * into out; how many hold it. */
size_t sq_sock_owners_of(const struct sq_sock_owners *o, uint64_t key,
                         struct sq_sock_owner *out, size_t max);
/* More (socket, process) pairs than SQ_SOCK_OWNERS_MAX were seen. */
bool sq_sock_owners_truncated(const struct sq_sock_owners *o);
void sq_sock_owners_free(struct sq_sock_owners *o);

#endif
