/* SPDX-License-Identifier: ISC */
/*
 * cmd_proc.c - `sysq ps` (the process table as a ps-like table, or JSON)
 * and `sysq kill` (proc.signal for each pid, pipelined).  User names come
 * from getpwuid here, on the client side: the daemon never touches NSS.
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "ps.h"
#include "sq_proto.h"
#include "sq_signame.h"

/* ---- sysq ps ------------------------------------------------------------ */

/* A small uid -> name cache: a process table has few distinct users. */
struct users {
	long long uid[256];
	char *name[256];
	int n;
};

static const char *user_name(struct users *u, long long uid)
{
	for (int i = 0; i < u->n; i++)
		if (u->uid[i] == uid)
			return u->name[i];
	char buf[32];
	struct passwd *pw = uid >= 0 ? getpwuid((uid_t)uid) : NULL;
	if (!pw)
		snprintf(buf, sizeof(buf), "%lld", uid);
	char *name = strdup(pw ? pw->pw_name : buf);
	if (!name) {
		perror("sysq");
		exit(EXIT_REMOTE);
	}
	if (u->n < 256) {
		u->uid[u->n] = uid;
		u->name[u->n++] = name;
	}
	return name;
}

/* Append [p, p+n) to a growing string, unprintable bytes as \xNN (and
 * bytes >= 0x80 too when the whole value is not valid UTF-8). */
static void put_bytes(char **s, size_t *len, size_t *cap, const char *p, size_t n)
{
	int utf8 = sq_utf8_valid(p, n);
	if (*len + 4 * n + 2 > *cap) {
		*cap = *len + 4 * n + 64;
		*s = realloc(*s, *cap);
		if (!*s) {
			perror("sysq");
			exit(EXIT_REMOTE);
		}
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
			*len += (size_t)snprintf(*s + *len, 5, "\\x%02x", c);
		else
			(*s)[(*len)++] = (char)c;
	}
	(*s)[*len] = '\0';
}

static int is_bytes(const msgpack_object *o)
{
	return o && (o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN);
}

/* COMMAND: the arguments joined by spaces, or [comm] when there are none
 * (kernel threads, zombies, or hidden from us), as ps does. */
static char *command_of(const msgpack_object *p)
{
	char *s = NULL;
	size_t len = 0, cap = 0;
	const msgpack_object *a = obj_get(p, "args");
	if (a && a->type == MSGPACK_OBJECT_ARRAY && a->via.array.size) {
		for (uint32_t i = 0; i < a->via.array.size; i++) {
			const msgpack_object *e = &a->via.array.ptr[i];
			if (!is_bytes(e))
				continue;
			if (len)
				put_bytes(&s, &len, &cap, " ", 1);
			put_bytes(&s, &len, &cap, e->via.str.ptr, e->via.str.size);
		}
	}
	if (len == 0) {
		const msgpack_object *c = obj_get(p, "comm");
		put_bytes(&s, &len, &cap, "[", 1);
		if (is_bytes(c))
			put_bytes(&s, &len, &cap, c->via.str.ptr, c->via.str.size);
		put_bytes(&s, &len, &cap, "]", 1);
	}
	return s;
}

static int ps_usage(void)
{
	return cli_usage("ps");
}

/* A user name or number; -1 when unknown. */
static long long parse_user(const char *s)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*s && !*end && !errno && v >= 0 && v <= 4294967294LL)
		return v;
	struct passwd *pw = getpwnam(s);
	return pw ? (long long)pw->pw_uid : -1;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* What ps selects: -p pids, -C names, -u users; several lists of one
 * option add up, and a process any of the three selects is listed. */
#define PS_MAX 4096
struct ps_sel {
	long long pid[PS_MAX], euid[PS_MAX];
	const char *comm[PS_MAX];
	size_t npid, neuid, ncomm;
};

/* Split a comma (or blank) separated list, calling one() for each item. */
static int each_item(char *list, int (*one)(struct ps_sel *, const char *), struct ps_sel *s)
{
	for (char *save = NULL, *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		if (one(s, t) < 0)
			return -1;
	return 0;
}

static int add_pid(struct ps_sel *s, const char *t)
{
	char *end;
	errno = 0;
	long long v = strtoll(t, &end, 10);
	if (!*t || *end || errno || v < 1 || v > INT_MAX) {
		fprintf(stderr, "sysq ps: '%s' is not a pid\n", t);
		return -1;
	}
	if (s->npid == PS_MAX)
		return fprintf(stderr, "sysq ps: at most %d pids\n", PS_MAX), -1;
	s->pid[s->npid++] = v;
	return 0;
}

static int add_user(struct ps_sel *s, const char *t)
{
	long long v = parse_user(t);
	if (v < 0) {
		fprintf(stderr, "sysq ps: unknown user '%s'\n", t);
		return -1;
	}
	if (s->neuid == PS_MAX)
		return fprintf(stderr, "sysq ps: at most %d users\n", PS_MAX), -1;
	s->euid[s->neuid++] = v;
	return 0;
}

static int add_comm(struct ps_sel *s, const char *t)
{
	if (s->ncomm == PS_MAX)
		return fprintf(stderr, "sysq ps: at most %d names\n", PS_MAX), -1;
	s->comm[s->ncomm++] = t;
	return 0;
}

/* One proc.list request: selection `which` (0 pids, 1 names, 2 users; -1
 * every process) and the fields (all: NULL). */
static void ps_request(struct sysq *c, uint32_t *id, const struct ps_sel *s, int which,
                       unsigned need)
{
	msgpack_packer *pk = sysq_begin(c, "proc.list", id);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, (which >= 0) + (need != 0));
	if (which == 0) {
		pack_str(pk, "pid");
		msgpack_pack_array(pk, (uint32_t)s->npid);
		for (size_t i = 0; i < s->npid; i++)
			msgpack_pack_int64(pk, s->pid[i]);
	} else if (which == 1) {
		pack_str(pk, "comm");
		msgpack_pack_array(pk, (uint32_t)s->ncomm);
		for (size_t i = 0; i < s->ncomm; i++)
			pack_str(pk, s->comm[i]);
	} else if (which == 2) {
		pack_str(pk, "euid");
		msgpack_pack_array(pk, (uint32_t)s->neuid);
		for (size_t i = 0; i < s->neuid; i++)
			msgpack_pack_int64(pk, s->euid[i]);
	}
	if (need) {
		pack_str(pk, "fields");
		msgpack_pack_array(pk, (uint32_t)__builtin_popcount(need));
		for (int w = 0; w < W_N; w++)
			if (need & (1u << w))
				pack_str(pk, ps_wire[w]);
	}
}

/* Every process map of the replies, in pid order, each pid once. */
struct ps_proc {
	long long pid;
	const msgpack_object *o;
};

static int cmp_proc(const void *a, const void *b)
{
	const struct ps_proc *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* The value of each wire field in one pass over the map (NULL: absent). */
static void wire_values(const msgpack_object *p, const msgpack_object *v[W_N])
{
	static size_t len[W_N];
	if (!len[0])
		for (int k = 0; k < W_N; k++)
			len[k] = strlen(ps_wire[k]);
	for (int k = 0; k < W_N; k++)
		v[k] = NULL;
	if (!p || p->type != MSGPACK_OBJECT_MAP)
		return;
	for (uint32_t i = 0; i < p->via.map.size; i++) {
		const msgpack_object *key = &p->via.map.ptr[i].key;
		if (key->type != MSGPACK_OBJECT_STR)
			continue;
		for (int k = 0; k < W_N; k++)
			if (key->via.str.size == len[k] && !v[k] &&
			    memcmp(key->via.str.ptr, ps_wire[k], len[k]) == 0) {
				v[k] = &p->via.map.ptr[i].val;
				break;
			}
	}
}

static long long int_of(const msgpack_object *o, long long dflt)
{
	if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return o->via.u64 > (uint64_t)INT64_MAX ? INT64_MAX : (long long)o->via.u64;
	if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return o->via.i64;
	if (o && (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32))
		return (long long)o->via.f64;
	return dflt;
}

static void fill_row(struct ps_row *w, const msgpack_object *p, struct users *users)
{
	static const long long none = -1;
	const msgpack_object *v[W_N];
	wire_values(p, v);
	w->have = 0;
	for (int k = 0; k < W_N; k++)
		if (v[k])
			w->have |= 1u << k;
	const msgpack_object *st = v[W_STATE];
	w->pid = int_of(v[W_PID], none);
	w->ppid = int_of(v[W_PPID], none);
	w->pgid = int_of(v[W_PGID], none);
	w->sid = int_of(v[W_SID], none);
	w->uid = int_of(v[W_UID], none);
	w->euid = int_of(v[W_EUID], none);
	w->nice = int_of(v[W_NICE], 0);
	w->threads = int_of(v[W_THREADS], 0);
	w->state = is_bytes(st) && st->via.str.size ? st->via.str.ptr[0] : '?';
	w->rss = (unsigned long long)int_of(v[W_RSS], 0);
	w->vsz = (unsigned long long)int_of(v[W_VSIZE], 0);
	w->cpu_ns = (unsigned long long)int_of(v[W_CPU_USER], 0) +
	            (unsigned long long)int_of(v[W_CPU_SYSTEM], 0);
	const msgpack_object *start = v[W_START];
	w->start = start && (start->type == MSGPACK_OBJECT_FLOAT64 ||
	                     start->type == MSGPACK_OBJECT_FLOAT32) ? start->via.f64
	           : (double)int_of(start, 0);
	w->user = w->euid >= 0 ? user_name(users, w->euid) : "-";
	w->ruser = w->uid >= 0 ? user_name(users, w->uid) : "-";
	w->tty[0] = '\0';
	if (is_bytes(v[W_TTY]))
		obj_str(p, "tty", w->tty, sizeof(w->tty));
	w->command = command_of(p);
	char *c = NULL;
	size_t len = 0, cap = 0;
	const msgpack_object *cm = v[W_COMM];
	put_bytes(&c, &len, &cap, is_bytes(cm) ? cm->via.str.ptr : "", is_bytes(cm) ? cm->via.str.size : 0);
	w->comm = c;
}

/* The terminal's width when stdout is one (COLUMNS first, as ps); 0: none. */
static size_t term_width(void)
{
	if (!isatty(STDOUT_FILENO))
		return 0;
	const char *e = getenv("COLUMNS");
	long v = e ? strtol(e, NULL, 10) : 0;
	if (v > 0)
		return (size_t)v;
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		return ws.ws_col;
	return 80;
}

int cmd_ps(struct cli *cli, int argc, char **argv)
{
	static struct ps_sel sel;
	memset(&sel, 0, sizeof(sel));
	struct ps_col cols[64];
	size_t ncols = 0;
	int sort = -1, desc = 0, wide = 0;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *v = NULL;
		int opt = 0;
		if (a[0] == '-' && strchr("pCuo", a[1]) && a[1]) {
			opt = a[1];
			v = a[2] ? a + 2 : i + 1 < argc ? argv[++i] : NULL;
		} else if (strcmp(a, "--pid") == 0 || strcmp(a, "--user") == 0 ||
		           strcmp(a, "--format") == 0 || strcmp(a, "--sort") == 0) {
			opt = a[2] == 'p' ? 'p' : a[2] == 'u' ? 'u' : a[2] == 'f' ? 'o' : 's';
			v = i + 1 < argc ? argv[++i] : NULL;
		} else if (strncmp(a, "--pid=", 6) == 0 || strncmp(a, "--user=", 7) == 0 ||
		           strncmp(a, "--format=", 9) == 0 || strncmp(a, "--sort=", 7) == 0) {
			opt = a[2] == 'p' ? 'p' : a[2] == 'u' ? 'u' : a[2] == 'f' ? 'o' : 's';
			v = strchr(a, '=') + 1;
		} else if (strcmp(a, "-w") == 0 || strcmp(a, "--wide") == 0) {
			wide = 1;
			continue;
		} else {
			return ps_usage();
		}
		if (!v)
			return ps_usage();
		int rc = 0;
		switch (opt) {
		case 'p': rc = each_item(v, add_pid, &sel); break;
		case 'C': rc = each_item(v, add_comm, &sel); break;
		case 'u': rc = each_item(v, add_user, &sel); break;
		case 'o': rc = ps_parse_fields(v, cols, &ncols, sizeof(cols) / sizeof(cols[0])); break;
		default:
			desc = *v == '-';
			if (*v == '-' || *v == '+')
				v++;
			if ((sort = ps_sort_field(v)) < 0) {
				fprintf(stderr, "sysq ps: cannot sort by '%s'\n", v);
				rc = -1;
			}
		}
		if (rc < 0)
			return ps_usage();
	}
	if (!ncols && ps_parse_fields("pid,ppid,user,%cpu,%mem,vsz,rss,tty,s,start_time,time,args",
	                              cols, &ncols, sizeof(cols) / sizeof(cols[0])) < 0)
		return EXIT_USAGE;
	unsigned need = 1u << W_PID;
	bool mem_total = sort >= 0 && ps_field_wants_mem_total(sort);
	for (size_t c = 0; c < ncols; c++) {
		need |= ps_field_needs(cols[c].field);
		mem_total |= ps_field_wants_mem_total(cols[c].field);
	}
	if (sort >= 0)
		need |= ps_field_needs(sort);
	mem_total &= !cli->json;

	/* one request per kind of selection, pipelined; the union of the replies */
	int which[3], nreq = 0;
	if (sel.npid)
		which[nreq++] = 0;
	if (sel.ncomm)
		which[nreq++] = 1;
	if (sel.neuid)
		which[nreq++] = 2;
	if (!nreq)
		which[nreq++] = -1;
	struct sysq *c = cli_connect(cli);
	uint32_t ids[3];
	for (int k = 0; k < nreq; k++)
		ps_request(c, &ids[k], &sel, which[k], cli->json && !ncols ? 0 : need);
	uint32_t host_id = 0;
	if (mem_total) { /* %MEM: the host's memory total, alongside */
		msgpack_pack_array(sysq_begin(c, "sys.host", &host_id), 0);
	}
	struct sysq_reply rs[3];
	int got = 0, st = EXIT_OK, rc = sysq_flush(c);
	while (rc == 0 && (got < nreq || host_id)) {
		struct sysq_reply r;
		rc = sysq_read(c, &r);
		if (rc < 0)
			break;
		if (r.type != SQ_MSG_RESPONSE) {
			sysq_reply_free(&r);
			continue;
		}
		if (host_id && r.msgid == host_id) { /* an error: %MEM shows '-' */
			const msgpack_object *m = r.is_error ? NULL : obj_get(r.result, "memory");
			ps_set_mem_total((unsigned long long)obj_int(m, "total", 0));
			sysq_reply_free(&r);
			host_id = 0;
			continue;
		}
		if (got == nreq) { /* not ours */
			sysq_reply_free(&r);
			continue;
		}
		rs[got] = r;
		int e = cli_status("proc.list", r.is_error ? SYSQ_REMOTE_ERROR : 0, &rs[got]);
		if (e != EXIT_OK)
			st = e;
		got++;
	}
	if (rc < 0 && st == EXIT_OK)
		st = cli_status("proc.list", rc, NULL);
	size_t n = 0;
	for (int k = 0; st == EXIT_OK && k < got; k++) {
		const msgpack_object *p = obj_get(rs[k].result, "procs");
		n += p && p->type == MSGPACK_OBJECT_ARRAY ? p->via.array.size : 0;
	}
	struct ps_proc *all = calloc(n ? n : 1, sizeof(*all));
	if (!all) {
		perror("sysq");
		return EXIT_REMOTE;
	}
	n = 0;
	for (int k = 0; st == EXIT_OK && k < got; k++) {
		const msgpack_object *p = obj_get(rs[k].result, "procs");
		for (uint32_t i = 0; p && p->type == MSGPACK_OBJECT_ARRAY && i < p->via.array.size; i++) {
			all[n].o = &p->via.array.ptr[i];
			all[n].pid = obj_int(all[n].o, "pid", -1);
			n++;
		}
	}
	if (nreq > 1)
		qsort(all, n, sizeof(*all), cmp_proc);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (m == 0 || all[m - 1].pid != all[i].pid)
			all[m++] = all[i];
	n = m;

	if (st == EXIT_OK && cli->json && nreq == 1) {
		cli_print_json(rs[0].result);
	} else if (st == EXIT_OK && cli->json) {
		fputs("{\n  \"procs\": [", stdout);
		for (size_t i = 0; i < n; i++) {
			fputs(i ? ",\n    " : "\n    ", stdout);
			sq_json_print(stdout, all[i].o, -1);
		}
		fputs(n ? "\n  ]\n}\n" : "]\n}\n", stdout);
	} else if (st == EXIT_OK) {
		struct ps_row *rows = calloc(n ? n : 1, sizeof(*rows));
		struct users *users = calloc(1, sizeof(*users));
		if (!rows || !users) {
			perror("sysq");
			return EXIT_REMOTE;
		}
		for (size_t i = 0; i < n; i++)
			fill_row(&rows[i], all[i].o, users);
		if (sort >= 0)
			ps_sort(rows, n, sort, desc);
		ps_print(stdout, cols, ncols, rows, n, wide ? 0 : term_width());
		for (size_t i = 0; i < n; i++) {
			free(rows[i].command);
			free(rows[i].comm);
		}
		for (int i = 0; i < users->n; i++)
			free(users->name[i]);
		free(users);
		free(rows);
	}
	free(all);
	for (int k = 0; k < got; k++)
		sysq_reply_free(&rs[k]);
	if (st == EXIT_OK && n == 0)
		st = EXIT_REMOTE; /* nothing matched: ps exits 1 too */
	return st;
}

/* ---- sysq kill ---------------------------------------------------------- */

static int kill_usage(void)
{
	return cli_usage("kill");
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static void list_signals(void)
{
	char name[32];
	for (int s = 1; s <= sq_signal_max(); s++)
		if (sq_signal_name(s, name, sizeof(name)))
			printf("%2d %s\n", s, name);
}

int cmd_kill(struct cli *cli, int argc, char **argv)
{
	const char *sig = "TERM";
	int i = 1;
	if (i < argc && strcmp(argv[i], "-l") == 0) {
		if (argc != 2)
			return kill_usage();
		list_signals();
		return EXIT_OK;
	}
	if (i < argc && strcmp(argv[i], "-s") == 0) {
		if (i + 1 >= argc)
			return kill_usage();
		sig = argv[i + 1];
		i += 2;
	} else if (i < argc && argv[i][0] == '-' && argv[i][1] && strcmp(argv[i], "--") != 0) {
		sig = argv[i] + 1;
		i++;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		return kill_usage();
	int npids = argc - i;
	long long *pids = calloc((size_t)npids, sizeof(*pids));
	uint32_t *ids = calloc((size_t)npids, sizeof(*ids));
	if (!pids || !ids) {
		perror("sysq");
		return EXIT_REMOTE;
	}
	for (int k = 0; k < npids; k++) {
		const char *a = argv[i + k];
		char *end;
		errno = 0;
		pids[k] = strtoll(a, &end, 10);
		if (!*a || *end || errno || pids[k] < INT_MIN || pids[k] > INT_MAX) {
			fprintf(stderr, "sysq kill: '%s' is not a pid\n", a);
			free(pids);
			free(ids);
			return EXIT_USAGE;
		}
	}

	/* one pipelined batch: every request first, then every reply */
	struct sysq *c = cli_connect(cli);
	for (int k = 0; k < npids; k++) {
		msgpack_packer *pk = sysq_begin(c, "proc.signal", &ids[k]);
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 2);
		pack_str(pk, "pid");
		msgpack_pack_int64(pk, pids[k]);
		pack_str(pk, "signal");
		if (all_digits(sig))
			msgpack_pack_int64(pk, strtoll(sig, NULL, 10));
		else
			pack_str(pk, sig);
	}
	int st = EXIT_OK, rc = sysq_flush(c);
	for (int got = 0; rc == 0 && got < npids;) {
		struct sysq_reply r;
		rc = sysq_read(c, &r);
		if (rc < 0)
			break;
		if (r.type == SQ_MSG_RESPONSE) {
			got++;
			int k = 0;
			while (k < npids && ids[k] != r.msgid)
				k++;
			if (r.is_error) {
				fprintf(stderr, "sysq: kill %lld: %s: %s\n", k < npids ? pids[k] : -1LL,
				        r.code, r.message);
				st = EXIT_REMOTE;
			}
		}
		sysq_reply_free(&r);
	}
	if (rc < 0) {
		fprintf(stderr, "sysq: kill: lost the connection to sysqd: %s\n", strerror(-rc));
		st = EXIT_CONNECT;
	}
	free(pids);
	free(ids);
	return st;
}
