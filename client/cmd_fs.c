/*
 * cmd_fs.c - `sysq df`: mounted file systems like `df -h` (fs.list), or
 * the file systems holding given paths (fs.stat, looked up as you).  A
 * mount that did not answer in time shows "-" sizes and "(stale: ETIMEDOUT)":
 * sysq df never hangs on a dead NFS server or FUSE daemon.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "sq_proto.h"

/* df -h: powers of 1024, rounded up, one decimal below 10. */
static void df_human(uint64_t v, char *buf, size_t size)
{
	static const char units[] = "KMGTPE";
	if (v < 1024) {
		snprintf(buf, size, "%llu", (unsigned long long)v);
		return;
	}
	double x = (double)v;
	int u = -1;
	while (x >= 1024 && u < 5) {
		x /= 1024;
		u++;
	}
	if (x < 10) {
		x = ceil(x * 10) / 10;
		if (x >= 10) {
			snprintf(buf, size, "%.0f%c", x, units[u]);
			return;
		}
		snprintf(buf, size, "%.1f%c", x, units[u]);
	} else {
		x = ceil(x);
		if (x >= 1024 && u < 5) {
			snprintf(buf, size, "%.1f%c", 1.0, units[u + 1]);
			return;
		}
		snprintf(buf, size, "%.0f%c", x, units[u]);
	}
}

static bool is_uint(const msgpack_object *o)
{
	return o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
}

static void df_row(struct table *t, const msgpack_object *m, bool type)
{
	char src[512], mp[1200], fstype[128], state[16], err[32];
	obj_str(m, "source", src, sizeof(src));
	obj_str(m, "mountpoint", mp, sizeof(mp));
	obj_str(m, "fstype", fstype, sizeof(fstype));
	obj_str(m, "state", state, sizeof(state));
	obj_str(m, "error", err, sizeof(err));
	const msgpack_object *total = obj_get(m, "total_bytes");
	const msgpack_object *fr = obj_get(m, "free_bytes");
	const msgpack_object *av = obj_get(m, "avail_bytes");

	table_add(t, src[0] ? src : "-");
	if (type)
		table_add(t, fstype[0] ? fstype : "-");
	if (strcmp(state, "ok") != 0 || !is_uint(total) || !is_uint(fr) || !is_uint(av)) {
		for (int i = 0; i < 4; i++)
			table_add(t, "-");
		table_addf(t, "%s (%s: %s)", mp, state[0] ? state : "unknown",
		           err[0] ? err : "?");
		return;
	}
	uint64_t size = total->via.u64, freeb = fr->via.u64, avail = av->via.u64;
	uint64_t used = size > freeb ? size - freeb : 0;
	char b[32];
	df_human(size, b, sizeof(b));
	table_add(t, b);
	df_human(used, b, sizeof(b));
	table_add(t, b);
	df_human(avail, b, sizeof(b));
	table_add(t, b);
	if (used + avail == 0)
		table_add(t, "-");
	else
		table_addf(t, "%.0f%%", ceil((double)used * 100.0 / (double)(used + avail)));
	table_add(t, mp);
}

static struct table *df_table(bool type)
{
	static const char *const hdr[] = { "Filesystem", "Size", "Used", "Avail", "Use%",
	                                   "Mounted on" };
	static const char *const hdr_t[] = { "Filesystem", "Type", "Size", "Used", "Avail",
	                                     "Use%", "Mounted on" };
	return type ? table_new(7, hdr_t, "llrrrrl") : table_new(6, hdr, "lrrrrl");
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

static int df_paths(struct cli *cli, char **paths, int n, long timeout, bool type)
{
	struct table *t = cli->json ? NULL : df_table(type);
	int st = EXIT_OK;
	bool first = true;
	if (cli->json)
		printf("[");
	for (int i = 0; i < n; i++) {
		struct sysq_reply r;
		int rc = stat_path(cli, paths[i], timeout, &r);
		char what[300];
		snprintf(what, sizeof(what), "df: %s", paths[i]);
		int s = cli_status(what, rc, &r);
		if (s == EXIT_OK) {
			if (cli->json) {
				printf(first ? "\n  " : ",\n  ");
				sq_json_print(stdout, r.result, -1);
				first = false;
			} else {
				df_row(t, r.result, type);
			}
		} else if (st == EXIT_OK || s == EXIT_CONNECT) {
			st = s;
		}
		sysq_reply_free(&r);
		if (s == EXIT_CONNECT)
			break;
	}
	if (cli->json) {
		printf("%s]\n", first ? "" : "\n");
	} else {
		table_print(t, stdout);
		table_free(t);
	}
	return st;
}

int cmd_df(struct cli *cli, int argc, char **argv)
{
	bool all = false, type = false;
	long timeout = 1000;
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "-a") == 0 || strcmp(a, "--all") == 0) {
			all = true;
		} else if (strcmp(a, "-T") == 0 || strcmp(a, "--print-type") == 0) {
			type = true;
		} else if ((strcmp(a, "-t") == 0 || strcmp(a, "--timeout") == 0) && i + 1 < argc) {
			char *end;
			timeout = strtol(argv[++i], &end, 10);
			if (*end || timeout < 1 || timeout > 10000) {
				fprintf(stderr, "sysq df: -t wants milliseconds from 1 to 10000\n");
				return EXIT_USAGE;
			}
		} else if (strcmp(a, "--human-readable") == 0) {
			continue; /* the only way sysq df prints sizes */
		} else if (a[1] != '-' && strspn(a + 1, "aTh") == strlen(a + 1)) {
			all |= strchr(a, 'a') != NULL; /* -aT */
			type |= strchr(a, 'T') != NULL;
		} else {
			return cli_usage("df");
		}
	}
	if (i < argc)
		return df_paths(cli, argv + i, argc - i, timeout, type);

	char params[64];
	snprintf(params, sizeof(params), "{\"timeout_ms\": %ld, \"all\": %s}", timeout,
	         all ? "true" : "false");
	struct sysq_reply r;
	int rc = cli_call_json(cli, "fs.list", params, &r);
	int st = cli_status("fs.list", rc, &r);
	if (st != EXIT_OK || cli->json) {
		if (st == EXIT_OK)
			cli_print_json(r.result);
		sysq_reply_free(&r);
		return st;
	}
	struct table *t = df_table(type);
	const msgpack_object *ms = obj_get(r.result, "mounts");
	for (uint32_t k = 0; ms && ms->type == MSGPACK_OBJECT_ARRAY && k < ms->via.array.size; k++)
		df_row(t, &ms->via.array.ptr[k], type);
	table_print(t, stdout);
	table_free(t);
	sysq_reply_free(&r);
	return EXIT_OK;
}
