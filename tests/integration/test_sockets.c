/* SPDX-License-Identifier: ISC */
/*
 * test_sockets.c - net.sockets against a real sysqd in a private network
 * namespace that this test process unshares first (sysqd, started after,
 * lives in it too), holding known listeners and connections: loopback TCP
 * over IPv4 and IPv6, UDP, UNIX.  The table must agree with `ss -tuxan`
 * and `ss -ti` run in the same namespace; uid 65534 sees the owners of its
 * own processes only; the filters; and 20,000 sockets are answered in
 * bounded daemon memory.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "json.h"

#define P_TCP4 41001   /* TCP listener on 127.0.0.1 */
#define P_TCP6 41002   /* TCP listener on ::1 */
#define P_UDP  41003   /* UDP on 127.0.0.1, unconnected */
#define P_UDPC 41004   /* UDP on 127.0.0.1, connected to P_UDP */
#define P_NOBODY 41005 /* TCP listener of uid 65534 */

static struct sqd d;
static bool started;

static void stop_daemon(void)
{
	if (started)
		sqd_stop_clean(&d);
	started = false;
}

/* ---- the stream: the response, net.sockets.batch, net.sockets.end ------- */

struct row {
	char family[8], proto[8], type[12], state[16];
	char laddr[64], raddr[64];
	long lport, rport;
	char path[128];
	long long inode, peer, rq, sq, uid;
	bool has_tcp;
	long long rtt_us, rttvar_us, cwnd, ssthresh, bytes_acked, bytes_received, retrans;
	int nowners;
	int owner_pid[4];
	char owner_comm[4][20];
};

struct table {
	struct row *rows;
	size_t n, cap;
	bool keep;        /* false: count only */
	long long count;  /* from net.sockets.end */
	long long batches;
	char code[32];    /* the error, if any */
};

static const msgpack_object *obj_get_test(const msgpack_object *m, const char *key)
{
	if (!m || m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	size_t n = strlen(key);
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
		    memcmp(k->via.str.ptr, key, n) == 0)
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

static void get_str(const msgpack_object *m, const char *key, char *buf, size_t size)
{
	buf[0] = '\0';
	const msgpack_object *v = obj_get_test(m, key);
	if (v && (v->type == MSGPACK_OBJECT_STR || v->type == MSGPACK_OBJECT_BIN)) {
		size_t n = v->via.str.size < size - 1 ? v->via.str.size : size - 1;
		memcpy(buf, v->via.str.ptr, n);
		buf[n] = '\0';
	}
}

static long long get_int(const msgpack_object *m, const char *key, long long dflt)
{
	const msgpack_object *v = obj_get_test(m, key);
	if (v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return (long long)v->via.u64;
	if (v && v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return v->via.i64;
	return dflt;
}

static void add_row(struct table *t, const msgpack_object *m)
{
	cr_assert_eq(m->type, MSGPACK_OBJECT_MAP);
	if (!t->keep) {
		t->n++;
		return;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->rows = realloc(t->rows, t->cap * sizeof(*t->rows));
		cr_assert(t->rows);
	}
	struct row *r = &t->rows[t->n++];
	memset(r, 0, sizeof(*r));
	get_str(m, "family", r->family, sizeof(r->family));
	get_str(m, "protocol", r->proto, sizeof(r->proto));
	get_str(m, "type", r->type, sizeof(r->type));
	get_str(m, "state", r->state, sizeof(r->state));
	get_str(m, "local_addr", r->laddr, sizeof(r->laddr));
	get_str(m, "remote_addr", r->raddr, sizeof(r->raddr));
	get_str(m, "path", r->path, sizeof(r->path));
	r->lport = get_int(m, "local_port", -1);
	r->rport = get_int(m, "remote_port", -1);
	r->inode = get_int(m, "inode", -1);
	r->peer = get_int(m, "peer_inode", -1);
	r->rq = get_int(m, "recv_q", -1);
	r->sq = get_int(m, "send_q", -1);
	r->uid = get_int(m, "uid", -1);
	const msgpack_object *tcp = obj_get_test(m, "tcp");
	if (tcp && tcp->type == MSGPACK_OBJECT_MAP) {
		r->has_tcp = true;
		r->rtt_us = get_int(tcp, "rtt_us", -1);
		r->rttvar_us = get_int(tcp, "rttvar_us", -1);
		r->cwnd = get_int(tcp, "cwnd", -1);
		r->ssthresh = get_int(tcp, "ssthresh", -1);
		r->bytes_acked = get_int(tcp, "bytes_acked", -1);
		r->bytes_received = get_int(tcp, "bytes_received", -1);
		r->retrans = get_int(tcp, "retransmits", -1);
	}
	r->nowners = -1;
	const msgpack_object *own = obj_get_test(m, "owners");
	if (own && own->type == MSGPACK_OBJECT_ARRAY) {
		r->nowners = (int)own->via.array.size;
		for (uint32_t i = 0; i < own->via.array.size && i < 4; i++) {
			r->owner_pid[i] = (int)get_int(&own->via.array.ptr[i], "pid", -1);
			get_str(&own->via.array.ptr[i], "comm", r->owner_comm[i], sizeof(r->owner_comm[i]));
		}
	}
}

/* Call net.sockets with params (JSON) on c and read the whole stream.
 * 0, or 1 with t->code set when the response is an error. */
static int stream(struct sysq *c, const char *json, struct table *t)
{
	char err[200];
	uint32_t id;
	msgpack_packer *pk = sysq_begin(c, "net.sockets", &id);
	msgpack_pack_array(pk, 1);
	cr_assert_eq(sq_json_pack(pk, json ? json : "{}", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(sysq_flush(c), 0);
	bool answered = false;
	t->n = 0;
	t->count = -1;
	t->batches = 0;
	t->code[0] = '\0';
	for (;;) {
		struct sysq_reply r;
		cr_assert_eq(sysq_read(c, &r), 0, "the stream broke");
		if (r.type == 1 && r.msgid == id) {
			cr_assert_not(answered, "two responses");
			answered = true;
			if (r.is_error) {
				snprintf(t->code, sizeof(t->code), "%s", r.code);
				sysq_reply_free(&r);
				return 1;
			}
			cr_assert(obj_get_test(r.result, "batch"), "the response announces the batch size");
		} else if (r.type == 2) {
			cr_assert(answered, "%s before the response", r.method);
			const msgpack_object *p = r.result;
			cr_assert(p->type == MSGPACK_OBJECT_ARRAY && p->via.array.size == 1);
			const msgpack_object *m = &p->via.array.ptr[0];
			cr_assert_eq(get_int(m, "msgid", -1), id);
			if (strcmp(r.method, "net.sockets.batch") == 0) {
				const msgpack_object *s = obj_get_test(m, "sockets");
				cr_assert(s && s->type == MSGPACK_OBJECT_ARRAY);
				cr_assert_gt(s->via.array.size, 0, "an empty batch");
				for (uint32_t i = 0; i < s->via.array.size; i++)
					add_row(t, &s->via.array.ptr[i]);
				t->batches++;
			} else if (strcmp(r.method, "net.sockets.end") == 0) {
				const msgpack_object *e = obj_get_test(m, "error");
				cr_assert(e && e->type == MSGPACK_OBJECT_NIL, "net.sockets.end with an error");
				t->count = get_int(m, "count", -1);
				cr_assert_eq((size_t)t->count, t->n, "end count %lld, rows %zu", t->count, t->n);
				sysq_reply_free(&r);
				return 0;
			}
		}
		sysq_reply_free(&r);
	}
}

/* ---- sockets made by the test -------------------------------------------- */

static int tcp_listen(int family, const char *addr, int port)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (void *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &s4->sin_addr);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (void *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		len = sizeof(*s6);
	}
	cr_assert_eq(bind(fd, (struct sockaddr *)&ss, len), 0, "bind %s:%d: %s", addr, port,
	             strerror(errno));
	cr_assert_eq(listen(fd, 16), 0);
	return fd;
}

static int tcp_connect4(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
	             strerror(errno));
	return fd;
}

static int udp_bind4(int port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void write_all_fd(int fd, const char *p, size_t n)
{
	cr_assert_eq(write(fd, p, n), (ssize_t)n);
}

static long long inode_of(int fd)
{
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	return (long long)st.st_ino;
}

struct fixture {
	int l4, l6, c4, a4, udp, udpc, ul, uc, ua, sp[2], abst;
	char upath[108];
};

/* Listeners and connections of every kind, with data queued. */
static void make_sockets(struct fixture *f, const char *dir)
{
	f->l4 = tcp_listen(AF_INET, "127.0.0.1", P_TCP4);
	f->l6 = tcp_listen(AF_INET6, "::1", P_TCP6);
	f->c4 = tcp_connect4(P_TCP4);
	f->a4 = accept4(f->l4, NULL, NULL, SOCK_CLOEXEC);
	cr_assert(f->a4 >= 0);
	write_all_fd(f->c4, "hello", 5);   /* read below: both ends see traffic */
	char buf[64];
	cr_assert_eq(read(f->a4, buf, sizeof(buf)), 5);
	write_all_fd(f->a4, "0123456789", 10); /* left unread: c4 has recv_q 10 */
	f->udp = udp_bind4(P_UDP);
	f->udpc = udp_bind4(P_UDPC);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(P_UDP) };
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	cr_assert_eq(connect(f->udpc, (struct sockaddr *)&to, sizeof(to)), 0);
	write_all_fd(f->udpc, "datagram", 8); /* unread: udp has a queue */

	struct sockaddr_un su = { .sun_family = AF_UNIX };
	snprintf(f->upath, sizeof(f->upath), "%s/test.sock", dir);
	snprintf(su.sun_path, sizeof(su.sun_path), "%s", f->upath);
	f->ul = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(f->ul, (struct sockaddr *)&su, sizeof(su)), 0);
	cr_assert_eq(listen(f->ul, 8), 0);
	f->uc = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(f->uc, (struct sockaddr *)&su, sizeof(su)), 0);
	f->ua = accept4(f->ul, NULL, NULL, SOCK_CLOEXEC);
	cr_assert(f->ua >= 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->sp), 0);
	write_all_fd(f->sp[0], "abc", 3);
	f->abst = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, "\0sysq-test-abstract", 19); /* no NUL at the end */
	cr_assert_eq(bind(f->abst, (struct sockaddr *)&sa,
	                  (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 19)), 0);
}

/* The test in a network namespace of its own, lo up, sysqd started in it,
 * and the fixture's sockets made (f). */
static void start_with_sockets(struct fixture *f)
{
	ns_private_net(true);
	sqd_start(&d, NULL);
	started = true;
	make_sockets(f, d.dir);
}

/* ---- ss(8) ------------------------------------------------------------------ */

struct ssrow {
	char netid[8], state[16];
	long long rq, sq;
	char local[160], peer[160];
	/* tcp -i */
	double rtt, rttvar;
	long long cwnd, ssthresh, bytes_acked, bytes_received;
	bool has_info;
};

static bool is_netid(const char *s)
{
	static const char *const ids[] = { "tcp", "udp", "u_str", "u_dgr", "u_seq", NULL };
	for (size_t i = 0; ids[i]; i++)
		if (strcmp(s, ids[i]) == 0)
			return true;
	return false;
}

/* `ss ARGS -H` as rows; inet rows' local/peer are ADDR:PORT, unix rows'
 * are "PATH INODE" and "* PEER" as ss prints them.  With one protocol ss
 * leaves out the Netid column: then it is "tcp". */
static size_t run_ss(const char *args, struct ssrow **out)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "ss %s -H 2>/dev/null", args);
	FILE *p = popen(cmd, "r");
	cr_assert(p, "popen ss");
	size_t n = 0, cap = 0;
	struct ssrow *rows = NULL;
	char line[4096];
	while (fgets(line, sizeof(line), p)) {
		if (line[0] == '\t' || line[0] == ' ') { /* -i: the info line */
			cr_assert(n > 0);
			struct ssrow *r = &rows[n - 1];
			char *s;
			r->has_info = true;
			if ((s = strstr(line, " rtt:")))
				sscanf(s + 5, "%lf/%lf", &r->rtt, &r->rttvar);
			if ((s = strstr(line, " cwnd:")))
				r->cwnd = atoll(s + 6);
			r->ssthresh = -1;
			if ((s = strstr(line, " ssthresh:")))
				r->ssthresh = atoll(s + 10);
			if ((s = strstr(line, " bytes_acked:")))
				r->bytes_acked = atoll(s + 13);
			if ((s = strstr(line, " bytes_received:")))
				r->bytes_received = atoll(s + 16);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			rows = realloc(rows, cap * sizeof(*rows));
			cr_assert(rows);
		}
		struct ssrow *r = &rows[n];
		memset(r, 0, sizeof(*r));
		char t[8][72];
		char first[72];
		if (sscanf(line, "%71s", first) != 1)
			continue;
		int k;
		if (is_netid(first)) {
			k = sscanf(line, "%7s %15s %lld %lld %71s %71s %71s %71s", t[0], t[1], &r->rq,
			           &r->sq, t[4], t[5], t[6], t[7]);
		} else {
			strcpy(t[0], "tcp");
			k = 1 + sscanf(line, "%15s %lld %lld %71s %71s", t[1], &r->rq, &r->sq, t[4], t[5]);
		}
		if (k < 6)
			continue;
		memcpy(r->netid, t[0], sizeof(r->netid)); /* sscanf's widths fit */
		memcpy(r->state, t[1], sizeof(r->state));
		if (strncmp(r->netid, "u_", 2) == 0) {
			cr_assert_eq(k, 8, "a unix line: %s", line);
			snprintf(r->local, sizeof(r->local), "%s %s", t[4], t[5]);
			snprintf(r->peer, sizeof(r->peer), "%s %s", t[6], t[7]);
		} else {
			snprintf(r->local, sizeof(r->local), "%s", t[4]);
			snprintf(r->peer, sizeof(r->peer), "%s", t[5]);
		}
		n++;
	}
	pclose(p);
	*out = rows;
	return n;
}

/* Our row as ss prints it. */
static const char *ss_state(const char *s)
{
	static const char *const map[][2] = {
		{ "established", "ESTAB" }, { "listen", "LISTEN" }, { "closed", "UNCONN" },
		{ "time-wait", "TIME-WAIT" }, { "syn-sent", "SYN-SENT" }, { "syn-recv", "SYN-RECV" },
		{ "fin-wait-1", "FIN-WAIT-1" }, { "fin-wait-2", "FIN-WAIT-2" },
		{ "close-wait", "CLOSE-WAIT" }, { "last-ack", "LAST-ACK" }, { "closing", "CLOSING" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], s) == 0)
			return map[i][1];
	return "?";
}

static void ss_endpoint(const struct row *r, bool local, char *buf, size_t size)
{
	const char *a = local ? r->laddr : r->raddr;
	long port = local ? r->lport : r->rport;
	char ps[16];
	if (port)
		snprintf(ps, sizeof(ps), "%ld", port);
	else
		snprintf(ps, sizeof(ps), "*");
	if (strcmp(r->family, "inet6") == 0) {
		snprintf(buf, size, "[%s]:%s", a, ps);
	} else {
		snprintf(buf, size, "%s:%s", a, ps);
	}
}

static void ss_unix(const struct row *r, bool local, char *buf, size_t size)
{
	if (local)
		snprintf(buf, size, "%s %lld", r->path[0] ? r->path : "*", r->inode);
	else
		snprintf(buf, size, "* %lld", r->peer > 0 ? r->peer : 0);
}

static const char *ss_netid(const struct row *r)
{
	if (strcmp(r->proto, "unix") != 0)
		return r->proto;
	if (strcmp(r->type, "stream") == 0)
		return "u_str";
	if (strcmp(r->type, "dgram") == 0)
		return "u_dgr";
	return "u_seq";
}

static const struct row *find_row(const struct table *t, const struct ssrow *s)
{
	char l[160], p[160];
	for (size_t i = 0; i < t->n; i++) {
		const struct row *r = &t->rows[i];
		if (strcmp(ss_netid(r), s->netid) != 0)
			continue;
		if (strcmp(r->proto, "unix") == 0) {
			ss_unix(r, true, l, sizeof(l));
			ss_unix(r, false, p, sizeof(p));
		} else {
			ss_endpoint(r, true, l, sizeof(l));
			ss_endpoint(r, false, p, sizeof(p));
		}
		if (strcmp(l, s->local) == 0 && strcmp(p, s->peer) == 0)
			return r;
	}
	return NULL;
}

static const struct row *find_port(const struct table *t, const char *proto, long lport)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->rows[i].proto, proto) == 0 && t->rows[i].lport == lport)
			return &t->rows[i];
	return NULL;
}

static const struct row *find_inode(const struct table *t, long long ino)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->rows[i].inode == ino)
			return &t->rows[i];
	return NULL;
}

TestSuite(sockets, .fini = stop_daemon, .timeout = 120);

/* Every socket ss -tuxan shows, net.sockets shows alike (state, queues,
 * addresses and ports or path and inodes), and no other. */
/* Whether every row of ss's table is in t with the same queues (but for the
 * test's own connection to sysqd, which this very answer moves on): a
 * socket that changed between the two looks (a connection sysqd is still
 * closing) makes the test look again. */
static bool tables_agree(const struct table *t, const struct ssrow *ss, size_t nss, long long own)
{
	const struct row *me = find_inode(t, own);
	long long own_peer = me ? me->peer : -2;
	for (size_t i = 0; i < nss; i++) {
		const struct row *r = find_row(t, &ss[i]);
		if (!r)
			return false;
		if (r->inode != own && r->inode != own_peer && (r->rq != ss[i].rq || r->sq != ss[i].sq))
			return false;
	}
	return true;
}

Test(sockets, table_agrees_with_ss)
{
	struct fixture f;
	start_with_sockets(&f);
	struct sysq *c = sqd_connect(&d);
	long long own = inode_of(sysq_fd(c)), own_peer = -2;
	struct table t = { .keep = true };
	struct ssrow *ss = NULL;
	size_t nss = 0;
	/* the table is quiet once made; a socket that changes between the two
	 * looks (a lingering close) makes the pair be taken again */
	for (int tries = 0; tries < 20; tries++) {
		free(ss);
		nss = run_ss("-tuxan", &ss);
		cr_assert_eq(stream(c, "{\"info\": false}", &t), 0, "net.sockets: %s", t.code);
		if (nss == t.n && tables_agree(&t, ss, nss, own))
			break;
	}
	cr_assert_eq(t.n, nss, "net.sockets has %zu sockets, ss -tuxan %zu", t.n, nss);
	const struct row *me = find_inode(&t, own);
	cr_assert(me, "the test's own connection to sysqd is listed");
	own_peer = me->peer;
	for (size_t i = 0; i < nss; i++) {
		const struct row *r = find_row(&t, &ss[i]);
		cr_assert(r, "ss shows %s %s %s %s; net.sockets does not", ss[i].netid, ss[i].state,
		          ss[i].local, ss[i].peer);
		cr_expect_str_eq(ss_state(r->state), ss[i].state, "%s %s", ss[i].netid, ss[i].local);
		if (r->inode == own || r->inode == own_peer)
			continue; /* the connection this very answer is moving on */
		cr_expect_eq(r->rq, ss[i].rq, "recv_q of %s %s", ss[i].netid, ss[i].local);
		cr_expect_eq(r->sq, ss[i].sq, "send_q of %s %s", ss[i].netid, ss[i].local);
		cr_expect_eq(r->has_tcp, false, "info: false leaves the TCP figures out");
	}
	/* what the fixture made, by what the test knows of it */
	const struct row *r = find_inode(&t, inode_of(f.c4));
	cr_assert(r);
	cr_expect_str_eq(r->state, "established");
	cr_expect_str_eq(r->family, "inet");
	cr_expect_eq(r->rport, P_TCP4);
	cr_expect_eq(r->rq, 10);
	cr_expect_eq(r->uid, 0);
	r = find_inode(&t, inode_of(f.l6));
	cr_assert(r);
	cr_expect_str_eq(r->family, "inet6");
	cr_expect_str_eq(r->laddr, "::1");
	cr_expect_str_eq(r->state, "listen");
	r = find_inode(&t, inode_of(f.uc));
	cr_assert(r);
	cr_expect_eq(r->peer, inode_of(f.ua));
	cr_expect_str_eq(r->type, "stream");
	r = find_inode(&t, inode_of(f.ul));
	cr_assert(r);
	cr_expect_str_eq(r->path, f.upath);
	r = find_inode(&t, inode_of(f.abst));
	cr_assert(r);
	cr_expect_str_eq(r->path, "@sysq-test-abstract");
	cr_expect_str_eq(r->type, "dgram");
	r = find_inode(&t, inode_of(f.sp[1]));
	cr_assert(r);
	cr_expect_eq(r->rq, 3, "the seqpacket end with 3 bytes queued");
	free(ss);
	free(t.rows);
	sysq_close(c);
}

/* The TCP figures are those ss -ti shows, for both ends of a connection. */
Test(sockets, tcp_info_agrees_with_ss_ti)
{
	struct fixture f;
	start_with_sockets(&f);
	struct sysq *c = sqd_connect(&d);
	struct table t = { .keep = true };
	bool same = false;
	/* an idle connection's figures do not move; take ss, ours, ss again
	 * until the two ss agree (a delayed ACK may land in between) */
	for (int tries = 0; tries < 50 && !same; tries++) {
		struct ssrow *a, *b;
		size_t na = run_ss("-tin", &a);
		cr_assert_eq(stream(c, "{\"protocol\": [\"tcp\"], \"port\": 41001}", &t), 0);
		size_t nb = run_ss("-tin", &b);
		same = na == nb && na == 2;
		for (size_t i = 0; same && i < na; i++)
			same = a[i].bytes_acked == b[i].bytes_acked && a[i].rtt == b[i].rtt &&
			       a[i].cwnd == b[i].cwnd && a[i].bytes_received == b[i].bytes_received;
		for (size_t i = 0; same && i < na; i++) {
			const struct row *r = find_row(&t, &a[i]);
			cr_assert(r, "ss -ti shows %s %s; net.sockets does not", a[i].local, a[i].peer);
			cr_assert(r->has_tcp && a[i].has_info);
			cr_expect_eq(r->cwnd, a[i].cwnd, "cwnd of %s", a[i].local);
			cr_expect_eq(r->bytes_acked, a[i].bytes_acked, "bytes_acked of %s", a[i].local);
			cr_expect_eq(r->bytes_received, a[i].bytes_received, "bytes_received of %s",
			             a[i].local);
			char ours[32], theirs[32];
			snprintf(ours, sizeof(ours), "%g/%g", (double)r->rtt_us / 1000,
			         (double)r->rttvar_us / 1000);
			snprintf(theirs, sizeof(theirs), "%g/%g", a[i].rtt, a[i].rttvar);
			cr_expect_str_eq(ours, theirs, "rtt of %s", a[i].local);
			if (a[i].ssthresh >= 0)
				cr_expect_eq(r->ssthresh, a[i].ssthresh);
			else
				cr_expect_eq(r->ssthresh, -1, "ss hides an infinite ssthresh; ours is nil");
			cr_expect_eq(r->retrans, 0);
		}
		free(a);
		free(b);
	}
	cr_assert(same, "the connection never held still for ss");
	/* UDP has none */
	cr_assert_eq(stream(c, "{\"protocol\": [\"udp\"]}", &t), 0);
	cr_assert_eq(t.n, 2);
	for (size_t i = 0; i < t.n; i++)
		cr_expect_not(t.rows[i].has_tcp);
	free(t.rows);
	sysq_close(c);
}

static bool all(const struct table *t, bool (*pred)(const struct row *, const void *),
                const void *arg)
{
	for (size_t i = 0; i < t->n; i++)
		if (!pred(&t->rows[i], arg))
			return false;
	return true;
}

static bool is_proto(const struct row *r, const void *a) { return strcmp(r->proto, a) == 0; }
static bool is_family(const struct row *r, const void *a) { return strcmp(r->family, a) == 0; }
static bool is_state(const struct row *r, const void *a) { return strcmp(r->state, a) == 0; }
static bool is_listening(const struct row *r, const void *a)
{
	(void)a;
	return strcmp(r->state, "listen") == 0 || strcmp(r->state, "closed") == 0;
}
static bool has_port(const struct row *r, const void *a)
{
	long p = *(const long *)a;
	return r->lport == p || r->rport == p;
}
static bool has_uid(const struct row *r, const void *a) { return r->uid == *(const long long *)a; }

/* A child of uid 65534 holding a TCP listener on P_NOBODY until killed. */
static pid_t nobody_listener(void)
{
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		become_or_exit(NOBODY_UID, NOBODY_GID);
		/* as a program nobody started would be: its /proc/PID/fd is
		 * nobody's (setuid made it root's) */
		prctl(PR_SET_DUMPABLE, 1);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(P_NOBODY) };
		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
			_exit(1);
		ssize_t w = write(pfd[1], "k", 1);
		(void)w;
		pause();
		_exit(0);
	}
	close(pfd[1]);
	char ch;
	cr_assert_eq(read(pfd[0], &ch, 1), 1, "the nobody listener did not start");
	close(pfd[0]);
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

Test(sockets, filters)
{
	struct fixture f;
	start_with_sockets(&f);
	pid_t nob = nobody_listener();
	struct sysq *c = sqd_connect(&d);
	struct table t = { .keep = true };

	cr_assert_eq(stream(c, "{\"protocol\": [\"tcp\"]}", &t), 0);
	cr_expect_eq(t.n, 5, "3 listeners, 2 ends of a connection: %zu", t.n);
	cr_expect(all(&t, is_proto, "tcp"));
	cr_assert_eq(stream(c, "{\"protocol\": [\"udp\"]}", &t), 0);
	cr_expect_eq(t.n, 2);
	cr_expect(all(&t, is_proto, "udp"));
	cr_assert_eq(stream(c, "{\"family\": [\"inet6\"]}", &t), 0);
	cr_expect_eq(t.n, 1);
	cr_expect(all(&t, is_family, "inet6"));
	cr_assert_eq(stream(c, "{\"family\": [\"unix\"], \"state\": [\"listen\"]}", &t), 0);
	cr_expect_eq(t.n, 2, "the test's listener and sysqd's: %zu", t.n);
	cr_expect(all(&t, is_state, "listen"));
	cr_assert_eq(stream(c, "{\"family\": [\"inet\", \"inet6\"], \"listening\": true}", &t), 0);
	cr_expect_eq(t.n, 4, "TCP listeners 3, the unconnected UDP socket 1: %zu", t.n);
	cr_expect(all(&t, is_listening, NULL));
	long port = P_TCP4;
	cr_assert_eq(stream(c, "{\"port\": 41001}", &t), 0);
	cr_expect_eq(t.n, 3, "listener and both ends: %zu", t.n);
	cr_expect(all(&t, has_port, &port));
	/* ss's sport and dport: the local, the remote port */
	cr_assert_eq(stream(c, "{\"local_port\": 41001}", &t), 0, "local_port: %s", t.code);
	cr_expect_eq(t.n, 2, "the listener and the accepted end: %zu", t.n);
	for (size_t i = 0; i < t.n; i++)
		cr_expect_eq(t.rows[i].lport, P_TCP4);
	cr_assert_eq(stream(c, "{\"remote_port\": 41001}", &t), 0, "remote_port: %s", t.code);
	cr_expect_eq(t.n, 1, "the connecting end: %zu", t.n);
	cr_expect_eq(t.n ? t.rows[0].rport : 0, P_TCP4);
	cr_assert_eq(stream(c, "{\"local_port\": 41001, \"remote_port\": 41001}", &t), 0);
	cr_expect_eq(t.n, 0, "no socket has 41001 at both ends: %zu", t.n);
	cr_assert_eq(stream(c, "{\"remote_port\": 65536}", &t), 1);
	cr_expect_str_eq(t.code, "EINVAL");
	long long uid = NOBODY_UID;
	cr_assert_eq(stream(c, "{\"uid\": 65534}", &t), 0);
	cr_expect_eq(t.n, 1);
	cr_expect(all(&t, has_uid, &uid));
	cr_expect_eq(t.rows[0].lport, P_NOBODY);
	cr_assert_eq(stream(c, "{\"state\": [\"time-wait\"]}", &t), 0);
	cr_expect_eq(t.n, 0);
	cr_assert_eq(stream(c, "{\"state\": [\"no-such-state\"]}", &t), 1);
	cr_expect_str_eq(t.code, "EINVAL");
	free(t.rows);
	sysq_close(c);
	reap(nob);
}

/* As uid 65534: owners of its own processes' sockets only. */
struct nobody_arg {
	const char *sock;
	pid_t nob, self, daemon;
	const char *upath;
};

static int owners_as_nobody(void *p)
{
	struct nobody_arg *a = p;
	char err[200];
	struct sysq *c = sysq_connect(a->sock, err, sizeof(err));
	if (!c)
		return 10;
	struct table t = { .keep = true };
	if (stream(c, "{\"owners\": true, \"listening\": true}", &t) != 0)
		return 11;
	const struct row *r = find_port(&t, "tcp", P_NOBODY);
	if (!r || r->nowners != 1 || r->owner_pid[0] != a->nob)
		return 12; /* its own process: shown */
	r = find_port(&t, "tcp", P_TCP4);
	if (!r || r->nowners != 0)
		return 13; /* root's test process: hidden */
	for (size_t i = 0; i < t.n; i++)
		if (t.rows[i].nowners != 0 && t.rows[i].lport != P_NOBODY)
			return 14; /* nothing else is its own */
	if (stream(c, "{\"state\": [\"listen\"], \"family\": [\"unix\"], \"owners\": true}", &t) != 0)
		return 15;
	for (size_t i = 0; i < t.n; i++)
		if (t.rows[i].nowners != 0)
			return 16; /* sysqd's own socket and root's: hidden */
	char json[64];
	snprintf(json, sizeof(json), "{\"pid\": %d}", (int)a->self);
	if (stream(c, json, &t) != 1 || strcmp(t.code, "EACCES") != 0)
		return 17;
	snprintf(json, sizeof(json), "{\"pid\": %d}", (int)a->daemon);
	if (stream(c, json, &t) != 1 || strcmp(t.code, "EACCES") != 0)
		return 18;
	snprintf(json, sizeof(json), "{\"pid\": %d, \"owners\": true}", (int)a->nob);
	if (stream(c, json, &t) != 0)
		return 19;
	if (t.n != 1)
		return 100 + (int)t.n;
	if (t.rows[0].lport != P_NOBODY || t.rows[0].nowners != 1)
		return 20;
	free(t.rows);
	sysq_close(c);
	return 0;
}

Test(sockets, owners_as_the_caller_may_see_them)
{
	ns_private_net(true);
	sqd_start(&d, NULL);
	started = true;
	pid_t nob = nobody_listener(); /* first: it holds none of the fixture's */
	struct fixture f;
	make_sockets(&f, d.dir);
	struct nobody_arg a = { d.sock, nob, getpid(), d.pid, f.upath };
	int st = run_as(NOBODY_UID, NOBODY_GID, owners_as_nobody, &a);
	cr_expect_eq(st, 0, "as uid 65534: step %d failed", st);

	/* root sees every owner, sysqd's own socket's too */
	struct sysq *c = sqd_connect(&d);
	struct table t = { .keep = true };
	cr_assert_eq(stream(c, "{\"owners\": true}", &t), 0);
	const struct row *r = find_port(&t, "tcp", P_NOBODY);
	cr_assert(r);
	cr_expect_eq(r->nowners, 1);
	cr_expect_eq(r->owner_pid[0], nob);
	r = find_port(&t, "tcp", P_TCP4);
	cr_assert(r);
	cr_expect_eq(r->nowners, 1);
	cr_expect_eq(r->owner_pid[0], getpid());
	r = find_inode(&t, inode_of(f.ul));
	cr_assert(r);
	cr_expect_eq(r->nowners, 1);
	bool daemon_seen = false;
	char comm_path[64];
	snprintf(comm_path, sizeof(comm_path), "/proc/%d/comm", (int)d.pid);
	char *comm = slurp(comm_path); /* "sysqd", or valgrind's tool under make valgrind */
	comm[strcspn(comm, "\n")] = '\0';
	for (size_t i = 0; i < t.n; i++)
		if (strcmp(t.rows[i].path, d.sock) == 0 && strcmp(t.rows[i].state, "listen") == 0)
			daemon_seen = t.rows[i].nowners == 1 && t.rows[i].owner_pid[0] == d.pid &&
			              strcmp(t.rows[i].owner_comm[0], comm) == 0;
	free(comm);
	cr_expect(daemon_seen, "root sees sysqd hold its socket");
	cr_assert_eq(stream(c, "{\"pid\": 999999999}", &t), 1);
	cr_expect_str_eq(t.code, "ESRCH");
	/* without owners, no owners key */
	cr_assert_eq(stream(c, "{\"port\": 41001}", &t), 0);
	cr_expect_eq(t.rows[0].nowners, -1);
	free(t.rows);
	sysq_close(c);
	reap(nob);
}

static long rss_kib(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *text = slurp(path);
	const char *v = strstr(text, "VmRSS:");
	long kib = v ? strtol(v + 6, NULL, 10) : 0;
	free(text);
	return kib;
}

#define HOLDERS 4      /* processes holding the sockets: RLIMIT_NOFILE */
#define PAIRS 2500     /* socketpairs each: 4 x 2 x 2500 = 20,000 sockets */

/* A child holding PAIRS UNIX socketpairs until killed. */
static pid_t hold_pairs(void)
{
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		die_with_parent();
		for (int i = 0; i < PAIRS; i++) {
			int sv[2];
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
				_exit(1);
		}
		ssize_t w = write(pfd[1], "k", 1);
		(void)w;
		pause();
		_exit(0);
	}
	close(pfd[1]);
	char ch;
	cr_assert_eq(read(pfd[0], &ch, 1), 1, "a holder of %d socketpairs did not start", PAIRS);
	close(pfd[0]);
	return pid;
}

/* 20,000 sockets answered in batches, the daemon's RSS growing < 4 MiB. */
Test(sockets, twenty_thousand_sockets_in_bounded_memory)
{
	ns_private_net(true);
	/* Under ASan, freed blocks wait in its quarantine (256 MiB by default)
	 * instead of being reused, so RSS would count every byte the stream
	 * ever passed through a buffer, not what sysqd holds: keep the
	 * quarantine at 1 MiB for this daemon (release sysqd: ~0.5 MiB growth) */
	const char *asan = getenv("ASAN_OPTIONS");
	char opts[1024];
	snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=1", asan ? asan : "",
	         asan && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	sqd_start(&d, NULL);
	started = true;
	pid_t holders[HOLDERS];
	for (int i = 0; i < HOLDERS; i++)
		holders[i] = hold_pairs();
	struct sysq *c = sqd_connect(&d);
	struct table t = { .keep = false };
	/* the engine's threads and the connection's buffers exist before */
	cr_assert_eq(stream(c, "{\"protocol\": [\"tcp\"]}", &t), 0);
	long before = rss_kib(d.pid);
	cr_assert_eq(stream(c, NULL, &t), 0);
	long after = rss_kib(d.pid);
	cr_expect_geq(t.n, 2 * HOLDERS * PAIRS, "%zu sockets", t.n);
	cr_expect_gt(t.batches, 1, "streamed in batches");
	cr_log_info("sysqd's RSS: %ld KiB before, %ld KiB after %zu sockets in %lld batches",
	            before, after, t.n, t.batches);
	cr_expect_lt(after - before, 4096, "sysqd's RSS grew %ld KiB (%ld -> %ld)",
	             after - before, before, after);
	for (int i = 0; i < HOLDERS; i++)
		reap(holders[i]);
	sysq_close(c);
}

/* Lines of a command's output, sorted, with runs of blanks made one. */
static size_t lines_of(const char *cmd, char ***out)
{
	FILE *p = popen(cmd, "r");
	cr_assert(p, "popen %s", cmd);
	char **v = NULL;
	size_t n = 0;
	char line[4096];
	while (fgets(line, sizeof(line), p)) {
		char norm[4096];
		size_t k = 0;
		bool blank = true;
		for (char *s = line; *s && *s != '\n' && k < sizeof(norm) - 1; s++) {
			bool b = *s == ' ' || *s == '\t';
			if (b && blank)
				continue;
			norm[k++] = b ? ' ' : *s;
			blank = b;
		}
		while (k && norm[k - 1] == ' ')
			k--;
		norm[k] = '\0';
		v = realloc(v, (n + 1) * sizeof(*v));
		cr_assert(v);
		v[n++] = strdup(norm);
	}
	pclose(p);
	for (size_t i = 1; i < n; i++) /* insertion sort: a few lines */
		for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*out = v;
	return n;
}

static void free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* `sysq ss` prints what ss prints, column for column (-p: without fd=). */
Test(sockets, sysq_ss_prints_what_ss_prints)
{
	struct fixture f;
	start_with_sockets(&f);
	const char *sysq = getenv("SQ_SYSQ");
	cr_assert(sysq, "SQ_SYSQ names the sysq binary (tests/run-all.sh sets it)");
	static const char *const args[] = { "-tuanH", "-tlnH", "-unH", "-t4anH", "-t6anH",
	                                    "-tnH state established", "-tnH state listening",
	                                    "-uanH", "-xlnH",
	                                    /* ss's port filters */
	                                    "-tanH sport = :41001", "-tanH dport = :41001",
	                                    "-tanH dport == 41001", "-tuanH sport eq :41003",
	                                    "-tanH '( sport = :41001 or dport = :41001 )'",
	                                    "-tanH '( sport = :41001 or sport = :41002 )'",
	                                    "-tanH sport = :41001 and dport = :41001",
	                                    "-tanH not sport = :41001",
	                                    "-tanH '!' '(' dport = :41001 ')'",
	                                    "-tuanH 'sport > :41002'", "-tuanH sport le :41002",
	                                    "-tanH state established '( sport = :41001 )'",
	                                    "-tuanH sport != :41003 and sport ge :41003" };
	for (size_t k = 0; k < sizeof(args) / sizeof(args[0]); k++) {
		char cmd[512];
		char **ours, **theirs;
		snprintf(cmd, sizeof(cmd), "%s -s %s ss %s", sysq, d.sock, args[k]);
		size_t n = lines_of(cmd, &ours);
		snprintf(cmd, sizeof(cmd), "ss %s", args[k]);
		size_t m = lines_of(cmd, &theirs);
		cr_expect_eq(n, m, "ss %s: %zu lines from sysq, %zu from ss", args[k], n, m);
		for (size_t i = 0; i < n && i < m; i++)
			cr_expect_str_eq(ours[i], theirs[i], "ss %s", args[k]);
		free_lines(ours, n);
		free_lines(theirs, m);
	}
	/* -p: the test process holds its listener */
	char cmd[512], want[128];
	char **ours;
	snprintf(cmd, sizeof(cmd), "%s -s %s ss -tlnpH", sysq, d.sock);
	size_t n = lines_of(cmd, &ours);
	snprintf(want, sizeof(want), ",pid=%d))", (int)getpid());
	bool seen = false;
	for (size_t i = 0; i < n; i++)
		seen |= strstr(ours[i], "127.0.0.1:41001") && strstr(ours[i], want);
	cr_expect(seen, "sysq ss -tlnp names the test process");
	free_lines(ours, n);
	/* -i: the figures line as ss -tin has them (rtt, cwnd, bytes) */
	snprintf(cmd, sizeof(cmd), "%s -s %s ss -tinH", sysq, d.sock);
	n = lines_of(cmd, &ours);
	cr_expect_eq(n, 4, "two connections, two figure lines: %zu", n);
	for (size_t i = 0; i < n; i++)
		if (ours[i][0] != 'E')
			cr_expect(strstr(ours[i], "rtt:") && strstr(ours[i], "cwnd:"), "%s", ours[i]);
	free_lines(ours, n);
	/* --json: one object a line in an array */
	snprintf(cmd, sizeof(cmd), "%s -s %s --json ss -tuan | grep -c '\"protocol\"'", sysq, d.sock);
	n = lines_of(cmd, &ours);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(ours[0], "6", "4 TCP, 2 UDP sockets");
	free_lines(ours, n);
}
