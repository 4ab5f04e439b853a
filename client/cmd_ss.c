/* SPDX-License-Identifier: ISC */
/*
 * cmd_ss.c - `sysq ss`: net.sockets with ss(8)'s common flags (-t -u -x
 * -l -a -n -p -i -4 -6 -H, `state NAME...`) and its columns: Netid State
 * Recv-Q Send-Q Local Address:Port Peer Address:Port [Process], with -i
 * the TCP figures on a line of their own as `ss -ti` prints them; --json
 * streams the sockets as a JSON array, one line each.  Addresses are
 * always numeric (-n is accepted for ss's sake).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "sq_proto.h"
#include "ss_filter.h"

static int ss_usage(void)
{
	return cli_usage("ss");
}

/* ss's state names and groups, as net.sockets names states. */
static const struct { const char *ss; const char *wire; } state_names[] = {
	{ "established", "established" }, { "syn-sent", "syn-sent" },
	{ "syn-recv", "syn-recv" }, { "fin-wait-1", "fin-wait-1" },
	{ "fin-wait-2", "fin-wait-2" }, { "time-wait", "time-wait" },
	{ "closed", "closed" }, { "close-wait", "close-wait" }, { "last-ack", "last-ack" },
	{ "listening", "listen" }, { "listen", "listen" }, { "closing", "closing" },
};
static const char *const all_states[] = {
	"established", "syn-sent", "syn-recv", "fin-wait-1", "fin-wait-2", "time-wait",
	"closed", "close-wait", "last-ack", "listen", "closing", NULL,
};
enum { NSTATES = 11 };

static int state_index(const char *wire)
{
	for (int i = 0; all_states[i]; i++)
		if (strcmp(all_states[i], wire) == 0)
			return i;
	return -1;
}

/* A name or group into the set of states; false for an unknown one. */
static bool add_state(const char *name, bool *set)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(state_names[i].ss, name) == 0) {
			set[state_index(state_names[i].wire)] = true;
			return true;
		}
	bool bucket = strcmp(name, "bucket") == 0, big = strcmp(name, "big") == 0;
	bool conn = strcmp(name, "connected") == 0, sync = strcmp(name, "synchronized") == 0;
	bool all = strcmp(name, "all") == 0;
	if (!bucket && !big && !conn && !sync && !all)
		return false;
	for (int i = 0; all_states[i]; i++) {
		const char *s = all_states[i];
		bool b = strcmp(s, "syn-recv") == 0 || strcmp(s, "time-wait") == 0;
		bool l = strcmp(s, "listen") == 0, c = strcmp(s, "closed") == 0;
		if (all || (bucket && b) || (big && !b) || (conn && !b && !l && !c) ||
		    (sync && !b && !l && !c && strcmp(s, "syn-sent") != 0))
			set[i] = true;
	}
	return true;
}

static const char *ss_state(const char *wire)
{
	static const char *const shown[][2] = {
		{ "established", "ESTAB" }, { "listen", "LISTEN" }, { "closed", "UNCONN" },
		{ "time-wait", "TIME-WAIT" }, { "syn-sent", "SYN-SENT" }, { "syn-recv", "SYN-RECV" },
		{ "fin-wait-1", "FIN-WAIT-1" }, { "fin-wait-2", "FIN-WAIT-2" },
		{ "close-wait", "CLOSE-WAIT" }, { "last-ack", "LAST-ACK" }, { "closing", "CLOSING" },
		{ "new-syn-recv", "SYN-RECV" },
	};
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		if (strcmp(shown[i][0], wire) == 0)
			return shown[i][1];
	return "UNKNOWN";
}

/* ---- rows ------------------------------------------------------------------- */

enum { C_NETID, C_STATE, C_RQ, C_SQ, C_LOCAL, C_PEER, C_PROC, NCOLS };

struct row {
	char *cell[NCOLS];
	char *info;   /* -i: the TCP figures line, or NULL */
};

struct rows {
	struct row *v;
	size_t n, cap;
};

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dupf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		fprintf(stderr, "sysq: out of memory\n");
		exit(EXIT_CONNECT);
	}
	return s;
}

static void endpoint(const msgpack_object *s, bool local, bool inet6, char *buf, size_t size)
{
	char addr[80];
	obj_str(s, local ? "local_addr" : "remote_addr", addr, sizeof(addr));
	long long port = obj_int(s, local ? "local_port" : "remote_port", 0);
	char ps[16];
	if (port)
		snprintf(ps, sizeof(ps), "%lld", port);
	else
		snprintf(ps, sizeof(ps), "*");
	snprintf(buf, size, inet6 ? "[%s]:%s" : "%s:%s", addr, ps);
}

static char *figures(const msgpack_object *t)
{
	char line[512];
	size_t n = 0;
#define ADD(...) do { if (n < sizeof(line)) \
	n += (size_t)snprintf(line + n, sizeof(line) - n, __VA_ARGS__); } while (0)
	ADD("\t rtt:%g/%g", (double)obj_int(t, "rtt_us", 0) / 1000,
	    (double)obj_int(t, "rttvar_us", 0) / 1000);
	ADD(" cwnd:%lld", obj_int(t, "cwnd", 0));
	long long v = obj_int(t, "ssthresh", -1);
	if (v >= 0)
		ADD(" ssthresh:%lld", v);
	if ((v = obj_int(t, "bytes_acked", -1)) > 0)
		ADD(" bytes_acked:%lld", v);
	if ((v = obj_int(t, "bytes_received", -1)) > 0)
		ADD(" bytes_received:%lld", v);
	if ((v = obj_int(t, "retransmits", 0)) > 0)
		ADD(" retrans:0/%lld", v);
	if ((v = obj_int(t, "lost", 0)) > 0)
		ADD(" lost:%lld", v);
	if ((v = obj_int(t, "pacing_rate", 0)) > 0)
		ADD(" pacing_rate %.0fbps", (double)v * 8);
	if ((v = obj_int(t, "delivery_rate", 0)) > 0)
		ADD(" delivery_rate %.0fbps", (double)v * 8);
#undef ADD
	return dupf("%s", line);
}

static void add_row(struct rows *rs, const msgpack_object *s, bool procs)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 256;
		rs->v = realloc(rs->v, rs->cap * sizeof(*rs->v));
		if (!rs->v) {
			fprintf(stderr, "sysq: out of memory\n");
			exit(EXIT_CONNECT);
		}
	}
	struct row *r = &rs->v[rs->n++];
	memset(r, 0, sizeof(*r));
	char proto[16], type[16], state[24], family[16], a[200], b[200];
	obj_str(s, "protocol", proto, sizeof(proto));
	obj_str(s, "type", type, sizeof(type));
	obj_str(s, "state", state, sizeof(state));
	obj_str(s, "family", family, sizeof(family));
	bool unx = strcmp(proto, "unix") == 0;
	r->cell[C_NETID] = dupf("%s", !unx ? proto : strcmp(type, "stream") == 0 ? "u_str"
	                        : strcmp(type, "dgram") == 0 ? "u_dgr" : "u_seq");
	r->cell[C_STATE] = dupf("%s", ss_state(state));
	r->cell[C_RQ] = dupf("%lld", obj_int(s, "recv_q", 0));
	r->cell[C_SQ] = dupf("%lld", obj_int(s, "send_q", 0));
	if (unx) {
		char path[160];
		obj_str(s, "path", path, sizeof(path));
		r->cell[C_LOCAL] = dupf("%s %lld", path[0] ? path : "*", obj_int(s, "inode", 0));
		r->cell[C_PEER] = dupf("* %lld", obj_int(s, "peer_inode", 0));
	} else {
		bool v6 = strcmp(family, "inet6") == 0;
		endpoint(s, true, v6, a, sizeof(a));
		endpoint(s, false, v6, b, sizeof(b));
		r->cell[C_LOCAL] = dupf("%s", a);
		r->cell[C_PEER] = dupf("%s", b);
	}
	const msgpack_object *own = obj_get(s, "owners");
	if (procs && own && own->type == MSGPACK_OBJECT_ARRAY && own->via.array.size) {
		char users[1024];
		size_t n = (size_t)snprintf(users, sizeof(users), "users:(");
		for (uint32_t i = 0; i < own->via.array.size && n < sizeof(users); i++) {
			char comm[64];
			obj_str(&own->via.array.ptr[i], "comm", comm, sizeof(comm));
			n += (size_t)snprintf(users + n, sizeof(users) - n, "%s(\"%s\",pid=%lld)",
			                      i ? "," : "", comm, obj_int(&own->via.array.ptr[i], "pid", 0));
		}
		if (n < sizeof(users))
			snprintf(users + n, sizeof(users) - n, ")");
		r->cell[C_PROC] = dupf("%s", users);
	} else {
		r->cell[C_PROC] = dupf("%s", "");
	}
	const msgpack_object *tcp = obj_get(s, "tcp");
	if (tcp && tcp->type == MSGPACK_OBJECT_MAP)
		r->info = figures(tcp);
}

/* The columns as ss lays them out: left-aligned, the queues too, and each
 * address right-aligned up to its ':' with the port left-aligned after. */
static void print_rows(const struct rows *rs, bool netid, bool state, bool procs, bool header)
{
	static const char *const head[NCOLS] = {
		"Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port",
		"Process",
	};
	size_t w[NCOLS] = { 0 }, aw[2] = { 0 }, pw[2] = { 0 };
	for (int c = 0; c < NCOLS; c++)
		w[c] = header ? strlen(head[c]) : 0;
	for (size_t i = 0; i < rs->n; i++)
		for (int c = 0; c < NCOLS; c++) {
			size_t len = strlen(rs->v[i].cell[c]);
			if (len > w[c])
				w[c] = len;
			if (c == C_LOCAL || c == C_PEER) {
				const char *cell = rs->v[i].cell[c];
				const char *colon = strrchr(cell, ':');
				if (!colon)
					colon = strrchr(cell, ' ');
				size_t al = colon ? (size_t)(colon - cell) : len;
				size_t pl = len - al;
				if (al > aw[c - C_LOCAL])
					aw[c - C_LOCAL] = al;
				if (pl > pw[c - C_LOCAL])
					pw[c - C_LOCAL] = pl;
			}
		}
	for (int k = 0; k < 2; k++)
		if (aw[k] + pw[k] > w[C_LOCAL + k])
			w[C_LOCAL + k] = aw[k] + pw[k];
	int first = netid ? C_NETID : state ? C_STATE : C_RQ;
	int last = procs ? C_PROC : C_PEER;
	if (header) {
		for (int c = first; c <= last; c++)
			if (c != C_STATE || state)
				printf("%-*s%s", c == last ? 0 : (int)w[c], head[c], c == last ? "\n" : " ");
	}
	for (size_t i = 0; i < rs->n; i++) {
		const struct row *r = &rs->v[i];
		for (int c = first; c <= last; c++) {
			const char *cell = r->cell[c];
			if (c == C_STATE && !state)
				continue;
			if (c == C_LOCAL || c == C_PEER) {
				int k = c - C_LOCAL;
				const char *colon = strrchr(cell, ':');
				if (!colon)
					colon = strrchr(cell, ' ');
				int al = colon ? (int)(colon - cell) : (int)strlen(cell);
				int pad = (int)w[c] - (int)aw[k] - (int)pw[k];
				printf("%*s%*.*s%-*s", pad, "", (int)aw[k], al, cell, (int)pw[k],
				       cell + al);
			} else {
				printf("%-*s", c == last ? 0 : (int)w[c], cell);
			}
			printf(c == last ? "\n" : " ");
		}
		if (r->info)
			printf("%s\n", r->info);
	}
}

static void free_rows(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		for (int c = 0; c < NCOLS; c++)
			free(rs->v[i].cell[c]);
		free(rs->v[i].info);
	}
	free(rs->v);
}

/* ---- the command -------------------------------------------------------------- */

/* Does the filter expression take this socket of net.sockets? */
static bool takes(const struct ss_filter *f, const msgpack_object *s)
{
	const msgpack_object *lp = obj_get(s, "local_port");
	return ss_filter_match(f, lp != NULL, obj_int(s, "local_port", 0),
	                       obj_int(s, "remote_port", 0));
}

int cmd_ss(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tcp", no_argument, NULL, 't' }, { "udp", no_argument, NULL, 'u' },
		{ "unix", no_argument, NULL, 'x' }, { "listening", no_argument, NULL, 'l' },
		{ "all", no_argument, NULL, 'a' }, { "numeric", no_argument, NULL, 'n' },
		{ "processes", no_argument, NULL, 'p' }, { "info", no_argument, NULL, 'i' },
		{ "ipv4", no_argument, NULL, '4' }, { "ipv6", no_argument, NULL, '6' },
		{ "no-header", no_argument, NULL, 'H' }, { NULL, 0, NULL, 0 },
	};
	bool tcp = false, udp = false, unx = false, listening = false, all = false;
	bool procs = false, info = false, v4 = false, v6 = false, header = true;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "tuxlanpi46H", opts, NULL)) != -1) {
		switch (ch) {
		case 't': tcp = true; break;
		case 'u': udp = true; break;
		case 'x': unx = true; break;
		case 'l': listening = true; break;
		case 'a': all = true; break;
		case 'n': break;
		case 'p': procs = true; break;
		case 'i': info = true; break;
		case '4': v4 = true; break;
		case '6': v6 = true; break;
		case 'H': header = false; break;
		default: return ss_usage();
		}
	}
	bool states[NSTATES] = { false }, named = false;
	int arg = optind;
	for (; arg < argc && strcmp(argv[arg], "state") == 0; arg += 2) {
		if (arg + 1 >= argc || !add_state(argv[arg + 1], states)) {
			fprintf(stderr, "sysq: ss: unknown state '%s'\n",
			        arg + 1 < argc ? argv[arg + 1] : "");
			return ss_usage();
		}
		named = true;
	}
	char why[200];
	struct ss_filter *filter = ss_filter_parse(argv + arg, argc - arg, why, sizeof(why));
	if (!filter) {
		fprintf(stderr, "sysq: ss: %s\n", why);
		return ss_usage();
	}
	int lport, rport, port;
	ss_filter_params(filter, &lport, &rport, &port);
	if (!named && !all) { /* ss's default: connected; -l: listening */
		add_state(listening ? "listening" : "connected", states);
		if (listening)
			add_state("closed", states);
	}

	/* params */
	char json[1024];
	size_t n = (size_t)snprintf(json, sizeof(json), "{\"info\": %s, \"owners\": %s",
	                            info || cli->json ? "true" : "false", procs ? "true" : "false");
	if (tcp || udp || unx) {
		n += (size_t)snprintf(json + n, sizeof(json) - n, ", \"protocol\": [%s%s%s%s%s]",
		                      tcp ? "\"tcp\"" : "", tcp && (udp || unx) ? "," : "",
		                      udp ? "\"udp\"" : "", udp && unx ? "," : "", unx ? "\"unix\"" : "");
	}
	if (v4 || v6)
		n += (size_t)snprintf(json + n, sizeof(json) - n, ", \"family\": [%s%s%s]",
		                      v4 ? "\"inet\"" : "", v4 && v6 ? "," : "", v6 ? "\"inet6\"" : "");
	if (named || !all) {
		n += (size_t)snprintf(json + n, sizeof(json) - n, ", \"state\": [");
		bool any = false;
		for (int i = 0; i < NSTATES; i++)
			if (states[i]) {
				n += (size_t)snprintf(json + n, sizeof(json) - n, "%s\"%s\"", any ? "," : "",
				                      all_states[i]);
				any = true;
			}
		n += (size_t)snprintf(json + n, sizeof(json) - n, "]");
	}
	/* UDP sockets are only ever established or closed (ss masks the same) */
	if (udp && !tcp && !unx)
		for (int i = 0; i < NSTATES; i++)
			if (strcmp(all_states[i], "established") != 0 && strcmp(all_states[i], "closed") != 0)
				states[i] = false;
	int nstates = 0;
	for (int i = 0; i < NSTATES; i++)
		nstates += states[i];
	if (listening && named)
		n += (size_t)snprintf(json + n, sizeof(json) - n, ", \"listening\": true");
	/* what sysqd can leave out for the filter; the rest is tested here */
	if (lport >= 0)
		n += (size_t)snprintf(json + n, sizeof(json) - n, ", \"local_port\": %d", lport);
	if (rport >= 0)
		n += (size_t)snprintf(json + n, sizeof(json) - n, ", \"remote_port\": %d", rport);
	if (port >= 0)
		n += (size_t)snprintf(json + n, sizeof(json) - n, ", \"port\": %d", port);
	snprintf(json + n, sizeof(json) - n, "}");

	struct sysq *c = cli_connect(cli);
	uint32_t id;
	char err[200];
	msgpack_packer *pk = sysq_begin(c, "net.sockets", &id);
	msgpack_pack_array(pk, 1);
	if (sq_json_pack(pk, json, err, sizeof(err)) < 0) {
		fprintf(stderr, "sysq: ss: %s\n", err);
		return EXIT_USAGE;
	}
	int rc = sysq_flush(c);
	struct rows rs = { 0 };
	int st = EXIT_OK;
	bool first = true, done = false;
	if (cli->json)
		printf("[");
	while (rc == 0 && !done) {
		struct sysq_reply r;
		if ((rc = sysq_read(c, &r)) < 0)
			break;
		if (r.type == 1 && r.msgid == id && r.is_error) {
			st = cli_status("net.sockets", SYSQ_REMOTE_ERROR, &r);
			done = true;
		} else if (r.type == 2 && r.result && r.result->type == MSGPACK_OBJECT_ARRAY &&
		           r.result->via.array.size == 1 &&
		           obj_int(&r.result->via.array.ptr[0], "msgid", -1) == (long long)id) {
			const msgpack_object *m = &r.result->via.array.ptr[0];
			if (strcmp(r.method, "net.sockets.batch") == 0) {
				const msgpack_object *ss = obj_get(m, "sockets");
				for (uint32_t k = 0; ss && ss->type == MSGPACK_OBJECT_ARRAY &&
				                     k < ss->via.array.size; k++) {
					const msgpack_object *s = &ss->via.array.ptr[k];
					if (!takes(filter, s))
						continue;
					if (cli->json) { /* streamed: one socket a line */
						printf("%s\n  ", first ? "" : ",");
						sq_json_print(stdout, s, -1);
						first = false;
					} else {
						add_row(&rs, s, procs);
					}
				}
			} else if (strcmp(r.method, "net.sockets.end") == 0) {
				const msgpack_object *e = obj_get(m, "error");
				if (e && e->type == MSGPACK_OBJECT_MAP) {
					char code[32], msg[256];
					obj_str(e, "code", code, sizeof(code));
					obj_str(e, "message", msg, sizeof(msg));
					fprintf(stderr, "sysq: net.sockets: the table is cut short: %s: %s\n",
					        code, msg);
					st = EXIT_REMOTE;
				}
				done = true;
			}
		}
		sysq_reply_free(&r);
	}
	if (rc < 0) {
		fprintf(stderr, "sysq: net.sockets: lost the connection to sysqd: %s\n",
		        strerror(-rc));
		st = EXIT_CONNECT;
	}
	if (cli->json) {
		printf("%s]\n", first ? "" : "\n");
	} else {
		bool one_proto = (tcp + udp + unx) == 1 && !unx; /* -x is three (str, dgr, seq) */
		/* as ss: no Netid column for one protocol, no State for one state */
		print_rows(&rs, !one_proto, named ? nstates != 1 : all || nstates != 1, procs, header);
	}
	free_rows(&rs);
	ss_filter_free(filter);
	return st;
}
