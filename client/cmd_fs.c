/* SPDX-License-Identifier: ISC */
/*
 * cmd_fs.c - `sysq df`: mounted file systems like `df -h` (fs.list), or
 * the file systems holding given paths (fs.stat, looked up as you), with
 * df's options: -t/-x TYPE, -i, -k/-m, -P, --output.  A mount that did not
 * answer in time shows "-" figures and "(stale: ETIMEDOUT)", and makes the
 * exit status 1 as df's does: sysq df never hangs on a dead NFS server or
 * FUSE daemon.  The columns are df_columns.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "df.h"
#include "json.h"
#include "sq_proto.h"

#define MAX_TYPES 32

struct df_opts {
	bool all, type, inodes, posix, output, human_given;
	enum df_units units;
	bool units_given;
	long timeout;
	const char *only[MAX_TYPES], *not[MAX_TYPES];
	int nonly, nnot;
	struct df_cols cols;
};

static int add_type(const char **list, int *n, const char *t, const char *opt)
{
	if (!*t) {
		fprintf(stderr, "sysq df: %s wants a file system type\n", opt);
		return -1;
	}
	if (*n == MAX_TYPES) {
		fprintf(stderr, "sysq df: at most %d types for %s\n", MAX_TYPES, opt);
		return -1;
	}
	list[(*n)++] = t;
	return 0;
}

static bool listed(const char *const *list, int n, const char *t)
{
	for (int i = 0; i < n; i++)
		if (strcmp(list[i], t) == 0)
			return true;
	return false;
}

/* Whether -t/-x let this file system map through. */
static bool wanted(const struct df_opts *o, const msgpack_object *m)
{
	char fstype[128];
	obj_str(m, "fstype", fstype, sizeof(fstype));
	if (o->nonly && !listed(o->only, o->nonly, fstype))
		return false;
	return !listed(o->not, o->nnot, fstype);
}

static int parse_output(struct df_opts *o, const char *list)
{
	struct df_cols *c = &o->cols;
	c->n = 0;
	if (!list) { /* --output alone: every field */
		for (int i = 0; i < DF_NFIELDS; i++)
			c->f[c->n++] = (enum df_field)i;
		return 0;
	}
	for (const char *p = list;;) {
		size_t len = strcspn(p, ",");
		int f = df_field_named(p, len);
		if (f < 0) {
			fprintf(stderr, "sysq df: --output: unknown field '%.*s'\n", (int)len, p);
			return -1;
		}
		for (int i = 0; i < c->n; i++)
			if (c->f[i] == (enum df_field)f) {
				fprintf(stderr, "sysq df: --output: '%.*s' twice\n", (int)len, p);
				return -1;
			}
		c->f[c->n++] = (enum df_field)f;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

static int parse_timeout(struct df_opts *o, const char *v)
{
	char *end;
	errno = 0;
	o->timeout = strtol(v, &end, 10);
	if (errno || end == v || *end || o->timeout < 1 || o->timeout > 10000) {
		fprintf(stderr, "sysq df: --timeout wants milliseconds from 1 to 10000\n");
		return -1;
	}
	return 0;
}

static void set_units(struct df_opts *o, enum df_units u)
{
	o->units = u;
	o->units_given = true;
	o->human_given = u == DF_HUMAN;
}

/* Options up to the first operand; returns its index, or -1 (usage). */
static int parse_args(struct df_opts *o, int argc, char **argv)
{
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			return i + 1;
		if (a[0] != '-' || a[1] == '\0')
			return i;
		if (a[1] == '-') {
			size_t len = strcspn(a, "=");
			const char *v = a[len] == '=' ? a + len + 1 : NULL;
#define LONG(name) (len == strlen(name) && strncmp(a, name, len) == 0)
#define VALUE() (v ? v : i + 1 < argc ? argv[++i] : NULL)
			if (LONG("--all") && !v) {
				o->all = true;
			} else if (LONG("--print-type") && !v) {
				o->type = true;
			} else if (LONG("--human-readable") && !v) {
				set_units(o, DF_HUMAN);
			} else if (LONG("--inodes") && !v) {
				o->inodes = true;
			} else if (LONG("--portability") && !v) {
				o->posix = true;
			} else if (LONG("--type") || LONG("--exclude-type")) {
				const char *t = VALUE();
				bool x = LONG("--exclude-type");
				if (!t || add_type(x ? o->not : o->only, x ? &o->nnot : &o->nonly, t,
				                   x ? "--exclude-type" : "--type") < 0)
					return -1;
			} else if (LONG("--timeout")) {
				const char *t = VALUE();
				if (!t || parse_timeout(o, t) < 0)
					return -1;
			} else if (LONG("--output")) {
				if (o->output) {
					fprintf(stderr, "sysq df: --output given twice\n");
					return -1;
				}
				o->output = true;
				if (parse_output(o, v) < 0)
					return -1;
			} else {
				fprintf(stderr, "sysq df: unknown option '%s'\n", a);
				return -1;
			}
#undef LONG
#undef VALUE
			continue;
		}
		for (const char *f = a + 1; *f; f++) {
			switch (*f) {
			case 'a': o->all = true; break;
			case 'T': o->type = true; break;
			case 'h': set_units(o, DF_HUMAN); break;
			case 'k': set_units(o, DF_K); break;
			case 'm': set_units(o, DF_M); break;
			case 'i': o->inodes = true; break;
			case 'P': o->posix = true; break;
			case 't': case 'x': {
				const char *t = f[1] ? f + 1 : i + 1 < argc ? argv[++i] : NULL;
				char opt[3] = { '-', *f, '\0' };
				if (!t || add_type(*f == 'x' ? o->not : o->only,
				                   *f == 'x' ? &o->nnot : &o->nonly, t, opt) < 0)
					return -1;
				f = " "; /* the rest of this word was the type */
				break;
			}
			default:
				fprintf(stderr, "sysq df: unknown option -%c\n", *f);
				return -1;
			}
			if (*f == ' ')
				break;
		}
	}
	return i;
}

/* Check the options go together and choose the columns. */
static int finish_opts(struct df_opts *o)
{
	for (int i = 0; i < o->nonly; i++)
		if (listed(o->not, o->nnot, o->only[i])) {
			fprintf(stderr, "sysq df: file system type '%s' both selected and excluded\n",
			        o->only[i]);
			return -1;
		}
	struct df_cols *c = &o->cols;
	if (o->output) {
		const char *bad = o->inodes ? "-i" : o->type ? "-T" : o->posix ? "-P" : NULL;
		if (bad) {
			fprintf(stderr, "sysq df: %s and --output exclude each other\n", bad);
			return -1;
		}
		c->mode = DF_MODE_OUTPUT;
	} else {
		c->mode = o->posix ? DF_MODE_POSIX : DF_MODE_DEFAULT;
		c->n = 0;
		c->f[c->n++] = DF_SOURCE;
		if (o->type)
			c->f[c->n++] = DF_FSTYPE;
		static const enum df_field sizes[] = { DF_SIZE, DF_USED, DF_AVAIL, DF_PCENT };
		static const enum df_field inodes[] = { DF_ITOTAL, DF_IUSED, DF_IAVAIL, DF_IPCENT };
		for (int i = 0; i < 4; i++)
			c->f[c->n++] = o->inodes ? inodes[i] : sizes[i];
		c->f[c->n++] = DF_TARGET;
	}
	/* sysq df is df -h unless told -k or -m; -P alone means 1024-blocks */
	c->units = o->units_given ? o->units : o->posix ? DF_K : DF_HUMAN;
	c->human_inodes = o->human_given;
	df_cols_finish(c);
	return 0;
}

/* fs.stat for one path; params packed by hand (the path is raw bytes, sent
 * as bin).  A relative path is made absolute with our working directory
 * (not resolved: sysqd follows links itself, as us). */
static int stat_path(struct cli *cli, const char *path, long timeout, struct sysq_reply *r)
{
	char cwd[4096], *abs = NULL;
	if (path[0] != '/' && getcwd(cwd, sizeof(cwd))) {
		size_t n = strlen(cwd) + strlen(path) + 2;
		abs = malloc(n);
		if (abs) {
			snprintf(abs, n, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path);
			path = abs;
		}
	}
	struct sysq *c = cli_connect(cli);
	msgpack_packer *pk = sysq_begin(c, "fs.stat", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 2);
	sq_pack_cstr(pk, "path");
	msgpack_pack_bin_with_body(pk, path, strlen(path));
	sq_pack_kv_i64(pk, "timeout_ms", timeout);
	free(abs);
	return sysq_call_end(c, r);
}

/* Output so far: a table, or JSON (paths: an array of maps; the list:
 * {"mounts": [...]} as fs.list answers); rows counts what is in it. */
struct df_out {
	struct table *t;
	int rows;
	bool list;
};

static void emit(struct cli *cli, struct df_out *out, const struct df_opts *o,
                 const msgpack_object *m, const char *file)
{
	if (cli->json) {
		if (!out->rows)
			printf(out->list ? "{\"mounts\": [\n  " : "[\n  ");
		else
			printf(",\n  ");
		sq_json_print(stdout, m, -1);
	} else {
		df_add_row(out->t, &o->cols, m, file);
	}
	out->rows++;
}

/* A listed file system that could not be read: said on stderr, exit 1.
 * A covered mount (-a: "error", ENOENT) is no failure: it is only hidden. */
static bool unreadable(const msgpack_object *m)
{
	char state[16], err[32], mp[1200];
	obj_str(m, "state", state, sizeof(state));
	obj_str(m, "error", err, sizeof(err));
	if (strcmp(state, "ok") == 0 || (strcmp(state, "error") == 0 && strcmp(err, "ENOENT") == 0))
		return false;
	obj_str(m, "mountpoint", mp, sizeof(mp));
	fprintf(stderr, "sysq: df: %s: %s: %s\n", mp, state, err[0] ? err : "?");
	return true;
}

static int df_paths(struct cli *cli, const struct df_opts *o, char **paths, int n,
                    struct df_out *out)
{
	int st = EXIT_OK;
	for (int i = 0; i < n; i++) {
		struct sysq_reply r;
		int rc = stat_path(cli, paths[i], o->timeout, &r);
		char what[300];
		snprintf(what, sizeof(what), "df: %s", paths[i]);
		int s = cli_status(what, rc, &r);
		if (s == EXIT_OK && wanted(o, r.result))
			emit(cli, out, o, r.result, paths[i]);
		else if (s != EXIT_OK && (st == EXIT_OK || s == EXIT_CONNECT))
			st = s;
		sysq_reply_free(&r);
		if (s == EXIT_CONNECT)
			break;
	}
	return st;
}

static int df_list(struct cli *cli, const struct df_opts *o, struct df_out *out)
{
	char params[64];
	snprintf(params, sizeof(params), "{\"timeout_ms\": %ld, \"all\": %s}", o->timeout,
	         o->all ? "true" : "false");
	struct sysq_reply r;
	int rc = cli_call_json(cli, "fs.list", params, &r);
	int st = cli_status("fs.list", rc, &r);
	const msgpack_object *ms = st == EXIT_OK ? obj_get(r.result, "mounts") : NULL;
	for (uint32_t k = 0; ms && ms->type == MSGPACK_OBJECT_ARRAY && k < ms->via.array.size;
	     k++) {
		const msgpack_object *m = &ms->via.array.ptr[k];
		if (!wanted(o, m))
			continue;
		emit(cli, out, o, m, "-");
		if (unreadable(m))
			st = EXIT_REMOTE;
	}
	sysq_reply_free(&r);
	return st;
}

int cmd_df(struct cli *cli, int argc, char **argv)
{
	struct df_opts o = { .timeout = 1000 };
	int i = parse_args(&o, argc, argv);
	if (i < 0 || finish_opts(&o) < 0)
		return cli_usage("df");
	struct df_out out = { NULL, 0, i == argc };
	if (!cli->json)
		out.t = table_new(o.cols.n, o.cols.header, o.cols.align);
	int st = i < argc ? df_paths(cli, &o, argv + i, argc - i, &out) : df_list(cli, &o, &out);
	if (cli->json) {
		if (out.list)
			printf(out.rows ? "\n]}\n" : "{\"mounts\": []}\n");
		else
			printf(out.rows ? "\n]\n" : "[]\n");
	} else {
		if (out.rows) /* no header above nothing, as df */
			table_print(out.t, stdout);
		table_free(out.t);
	}
	if (!out.rows && st != EXIT_CONNECT) {
		fprintf(stderr, "sysq: df: no file systems processed\n");
		if (st == EXIT_OK)
			st = EXIT_REMOTE;
	}
	return st;
}
