/* SPDX-License-Identifier: ISC */
/*
 * cmd_proc.c - `sysq ps` (the process table as a ps-like table, or JSON)
 * and `sysq kill` (proc.signal for each pid, pipelined).  User names come
 * from getpwuid here, on the client side: the daemon never touches NSS.
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "sq_proto.h"
#include "sq_signame.h"

/* ---- sysq ps ------------------------------------------------------------ */

enum sort_key { K_PID, K_PPID, K_USER, K_UID, K_STATE, K_RSS, K_TIME, K_START, K_COMMAND };

static const struct {
	const char *name;
	enum sort_key key;
} sort_names[] = {
	{ "pid", K_PID }, { "ppid", K_PPID }, { "user", K_USER }, { "uid", K_UID },
	{ "state", K_STATE }, { "s", K_STATE }, { "rss", K_RSS }, { "time", K_TIME },
	{ "cpu", K_TIME }, { "start", K_START }, { "command", K_COMMAND },
	{ "args", K_COMMAND }, { "comm", K_COMMAND },
};

struct row {
	long long pid, ppid, uid;
	char state;
	unsigned long long rss, cpu_ns;
	double start;
	const char *user;
	char *command;
};

static enum sort_key g_key;
static int g_desc;

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

static int cmp_ll(long long a, long long b)
{
	return (a > b) - (a < b);
}

static int cmp_rows(const void *va, const void *vb)
{
	const struct row *a = va, *b = vb;
	int c = 0;
	switch (g_key) {
	case K_PID: break;
	case K_PPID: c = cmp_ll(a->ppid, b->ppid); break;
	case K_USER: c = strcmp(a->user, b->user); break;
	case K_UID: c = cmp_ll(a->uid, b->uid); break;
	case K_STATE: c = (a->state > b->state) - (a->state < b->state); break;
	case K_RSS: c = (a->rss > b->rss) - (a->rss < b->rss); break;
	case K_TIME: c = (a->cpu_ns > b->cpu_ns) - (a->cpu_ns < b->cpu_ns); break;
	case K_START: c = (a->start > b->start) - (a->start < b->start); break;
	case K_COMMAND: c = strcmp(a->command, b->command); break;
	}
	if (c == 0)
		c = cmp_ll(a->pid, b->pid);
	return g_desc ? -c : c;
}

static void fmt_time(unsigned long long ns, char *buf, size_t size)
{
	unsigned long long s = ns / 1000000000ull;
	unsigned long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
	if (d)
		snprintf(buf, size, "%llu-%02llu:%02llu:%02llu", d, h, m, s % 60);
	else
		snprintf(buf, size, "%02llu:%02llu:%02llu", h, m, s % 60);
}

static int ps_usage(void)
{
	return cli_usage("ps");
}

static int parse_sort(const char *s)
{
	g_desc = 0;
	if (*s == '-' || *s == '+')
		g_desc = *s++ == '-';
	for (size_t i = 0; i < sizeof(sort_names) / sizeof(sort_names[0]); i++)
		if (strcmp(s, sort_names[i].name) == 0) {
			g_key = sort_names[i].key;
			return 0;
		}
	fprintf(stderr, "sysq ps: cannot sort by '%s'\n", s);
	return -1;
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

int cmd_ps(struct cli *cli, int argc, char **argv)
{
	long long uid = -1;
	g_key = K_PID;
	g_desc = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((strcmp(a, "-u") == 0 || strcmp(a, "--user") == 0) && i + 1 < argc) {
			uid = parse_user(argv[++i]);
			if (uid < 0) {
				fprintf(stderr, "sysq ps: unknown user '%s'\n", argv[i]);
				return EXIT_USAGE;
			}
		} else if (strcmp(a, "--sort") == 0 && i + 1 < argc) {
			if (parse_sort(argv[++i]) < 0)
				return ps_usage();
		} else if (strncmp(a, "--sort=", 7) == 0) {
			if (parse_sort(a + 7) < 0)
				return ps_usage();
		} else {
			return ps_usage();
		}
	}

	static const char *const fields[] = { "pid", "ppid", "uid", "state", "rss_bytes",
	                                      "cpu_user_ns", "cpu_system_ns", "start_time",
	                                      "comm", "args" };
	struct sysq *c = cli_connect(cli);
	msgpack_packer *pk = sysq_begin(c, "proc.list", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, (uid >= 0) + !cli->json);
	if (uid >= 0) {
		pack_str(pk, "uid");
		msgpack_pack_int64(pk, uid);
	}
	if (!cli->json) { /* --json: every field */
		pack_str(pk, "fields");
		size_t n = sizeof(fields) / sizeof(fields[0]);
		msgpack_pack_array(pk, n);
		for (size_t i = 0; i < n; i++)
			pack_str(pk, fields[i]);
	}
	struct sysq_reply r;
	int rc = sysq_call_end(c, &r);
	int st = cli_status("proc.list", rc, &r);
	if (st != EXIT_OK || cli->json) {
		if (st == EXIT_OK)
			cli_print_json(r.result);
		sysq_reply_free(&r);
		return st;
	}
	const msgpack_object *procs = obj_get(r.result, "procs");
	uint32_t n = procs && procs->type == MSGPACK_OBJECT_ARRAY ? procs->via.array.size : 0;
	struct row *rows = calloc(n ? n : 1, sizeof(*rows));
	struct users *users = calloc(1, sizeof(*users));
	if (!rows || !users) {
		perror("sysq");
		return EXIT_REMOTE;
	}
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *p = &procs->via.array.ptr[i];
		struct row *w = &rows[i];
		const msgpack_object *s = obj_get(p, "state");
		w->pid = obj_int(p, "pid", -1);
		w->ppid = obj_int(p, "ppid", -1);
		w->uid = obj_int(p, "uid", -1);
		w->state = is_bytes(s) && s->via.str.size ? s->via.str.ptr[0] : '?';
		w->rss = (unsigned long long)obj_int(p, "rss_bytes", 0);
		w->cpu_ns = (unsigned long long)obj_int(p, "cpu_user_ns", 0) +
		            (unsigned long long)obj_int(p, "cpu_system_ns", 0);
		w->start = obj_double(p, "start_time", 0);
		w->user = w->uid >= 0 ? user_name(users, w->uid) : "?";
		w->command = command_of(p);
	}
	if (g_key != K_PID || g_desc)
		qsort(rows, n, sizeof(*rows), cmp_rows);

	static const char *const hdr[] = { "PID", "PPID", "USER", "S", "RSS", "TIME", "COMMAND" };
	struct table *t = table_new(7, hdr, "rr  rr ");
	for (uint32_t i = 0; i < n; i++) {
		const struct row *w = &rows[i];
		char rss[16], tm[32];
		human_bytes((double)w->rss, rss, sizeof(rss));
		fmt_time(w->cpu_ns, tm, sizeof(tm));
		table_addf(t, "%lld", w->pid);
		table_addf(t, "%lld", w->ppid);
		table_add(t, w->user);
		table_addf(t, "%c", w->state);
		table_add(t, rss);
		table_add(t, tm);
		table_add(t, w->command);
		free(w->command);
	}
	table_print(t, stdout);
	table_free(t);
	for (int i = 0; i < users->n; i++)
		free(users->name[i]);
	free(users);
	free(rows);
	sysq_reply_free(&r);
	return EXIT_OK;
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
