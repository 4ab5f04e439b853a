/* SPDX-License-Identifier: ISC */
/*
 * cmd_sys.c - the sysq subcommands about the daemon itself: hello, ping,
 * call (any method with JSON params), methods and stats (a summary on a
 * terminal, JSON otherwise).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"

static int simple(struct cli *cli, const char *method, const char *json)
{
	struct sysq_reply r;
	int rc = cli_call_json(cli, method, json, &r);
	int st = cli_status(method, rc, &r);
	if (st == EXIT_OK)
		cli_print_json(r.result);
	sysq_reply_free(&r);
	return st;
}

int cmd_hello(struct cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		return cli_usage("hello");
	}
	struct sysq_reply r;
	int rc = cli_call_json(cli, "sys.hello", NULL, &r);
	int st = cli_status("sys.hello", rc, &r);
	if (st != EXIT_OK || cli->json) {
		if (st == EXIT_OK)
			cli_print_json(r.result);
		sysq_reply_free(&r);
		return st;
	}
	char ver[64], os[32];
	const msgpack_object *peer = obj_get(r.result, "peer");
	obj_str(r.result, "version", ver, sizeof(ver));
	obj_str(r.result, "os", os, sizeof(os));
	printf("sysqd %s (protocol %lld, %s) on %s\n", ver, obj_int(r.result, "protocol", 0),
	       os, sysq_socket_path(cli->conn));
	printf("you are uid %lld gid %lld pid %lld\n", obj_int(peer, "uid", -1),
	       obj_int(peer, "gid", -1), obj_int(peer, "pid", -1));
	const msgpack_object *m = obj_get(r.result, "methods");
	printf("you may call:");
	for (uint32_t i = 0; m && m->type == MSGPACK_OBJECT_ARRAY && i < m->via.array.size; i++)
		printf(" %.*s", (int)m->via.array.ptr[i].via.str.size, m->via.array.ptr[i].via.str.ptr);
	printf("\n");
	sysq_reply_free(&r);
	return EXIT_OK;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int cmd_ping(struct cli *cli, int argc, char **argv)
{
	long count = 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			char *end;
			count = strtol(argv[++i], &end, 10);
			if (*end || count < 1 || count > 10000000) {
				fprintf(stderr, "sysq ping: -c wants a count from 1 to 10000000\n");
				return EXIT_USAGE;
			}
		} else {
			return cli_usage("ping");
		}
	}
	struct sysq *c = cli_connect(cli);
	double *rtt = malloc(sizeof(double) * (size_t)count);
	if (!rtt)
		return EXIT_REMOTE;
	for (long i = 0; i < count; i++) {
		struct sysq_reply r;
		double t0 = now_us();
		int rc = sysq_call0(c, "sys.ping", &r);
		rtt[i] = now_us() - t0;
		int st = cli_status("sys.ping", rc, &r);
		sysq_reply_free(&r);
		if (st != EXIT_OK) {
			free(rtt);
			return st;
		}
	}
	qsort(rtt, (size_t)count, sizeof(double), cmp_double);
	double median = count % 2 ? rtt[count / 2] : (rtt[count / 2 - 1] + rtt[count / 2]) / 2;
	if (cli->json)
		printf("{\"count\": %ld, \"min_us\": %.1f, \"median_us\": %.1f, \"max_us\": %.1f}\n",
		       count, rtt[0], median, rtt[count - 1]);
	else
		printf("%ld pong%s from %s: round trip min/median/max = %.1f/%.1f/%.1f us\n",
		       count, count == 1 ? "" : "s", sysq_socket_path(c), rtt[0], median,
		       rtt[count - 1]);
	free(rtt);
	return EXIT_OK;
}

int cmd_call(struct cli *cli, int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--") == 0) {
		argv++;
		argc--;
	}
	if (argc < 2 || argc > 3)
		return cli_usage("call");
	return simple(cli, argv[1], argc == 3 ? argv[2] : NULL);
}

int cmd_methods(struct cli *cli, int argc, char **argv)
{
	char one[160];
	if (argc > 2 || (argc == 2 && (strlen(argv[1]) > 100 || strpbrk(argv[1], "\"\\"))))
		return cli_usage("methods");
	/* one method: sys.methods {"name": M} (the name goes into JSON as is:
	 * method names have no quote or backslash) */
	if (argc == 2)
		snprintf(one, sizeof(one), "{\"name\": \"%s\"}", argv[1]);
	struct sysq_reply r;
	int rc = cli_call_json(cli, "sys.methods", argc == 2 ? one : NULL, &r);
	int st = cli_status("sys.methods", rc, &r);
	if (st != EXIT_OK || cli->json) {
		if (st == EXIT_OK)
			cli_print_json(r.result);
		sysq_reply_free(&r);
		return st;
	}
	static const char *const hdr[] = { "METHOD", "ACCESS", "YOU", "PARAMS", "SUMMARY" };
	struct table *t = table_new(5, hdr, NULL);
	const msgpack_object *ms = obj_get(r.result, "methods");
	for (uint32_t i = 0; ms && ms->type == MSGPACK_OBJECT_ARRAY && i < ms->via.array.size; i++) {
		const msgpack_object *m = &ms->via.array.ptr[i];
		char name[64], access[32], params[256], summary[512];
		obj_str(m, "name", name, sizeof(name));
		obj_str(m, "access", access, sizeof(access));
		obj_str(m, "params", params, sizeof(params));
		obj_str(m, "summary", summary, sizeof(summary));
		const msgpack_object *ok = obj_get(m, "allowed");
		table_add(t, name);
		table_add(t, access);
		table_add(t, ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean ? "yes" : "no");
		table_add(t, params);
		table_add(t, summary);
	}
	table_print(t, stdout);
	table_free(t);
	/* one method: its errors too (typed params and result: --json) */
	const msgpack_object *errs = argc == 2 && ms && ms->type == MSGPACK_OBJECT_ARRAY &&
	                             ms->via.array.size == 1
	                             ? obj_get(&ms->via.array.ptr[0], "errors") : NULL;
	if (errs && errs->type == MSGPACK_OBJECT_ARRAY) {
		printf("ERRORS:");
		for (uint32_t i = 0; i < errs->via.array.size; i++)
			if (errs->via.array.ptr[i].type == MSGPACK_OBJECT_STR)
				printf(" %.*s", (int)errs->via.array.ptr[i].via.str.size,
				       errs->via.array.ptr[i].via.str.ptr);
		printf(" (and the protocol's own: sysq-protocol(7))\n");
	}
	sysq_reply_free(&r);
	return EXIT_OK;
}

/* One value of sys.stats for people: floats to the millisecond. */
static void print_scalar(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER: printf("%llu", (unsigned long long)o->via.u64); break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: printf("%lld", (long long)o->via.i64); break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: printf("%.3f", o->via.f64); break;
	case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "yes" : "no", stdout); break;
	case MSGPACK_OBJECT_STR: printf("%.*s", (int)o->via.str.size, o->via.str.ptr); break;
	case MSGPACK_OBJECT_NIL: fputs("-", stdout); break;
	default: sq_json_print(stdout, o, -1); break;
	}
}

/* A map as "key  value" lines, keys aligned; maps nested under "key:";
 * an array of maps one "- k v, k v" line each. */
static void print_summary(const msgpack_object *m, int indent)
{
	if (m->type != MSGPACK_OBJECT_MAP)
		return;
	int w = 0;
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && (int)k->via.str.size > w)
			w = (int)k->via.str.size;
	}
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key, *v = &m->via.map.ptr[i].val;
		if (k->type != MSGPACK_OBJECT_STR)
			continue;
		if (v->type == MSGPACK_OBJECT_MAP) {
			printf("%*s%.*s:\n", indent, "", (int)k->via.str.size, k->via.str.ptr);
			print_summary(v, indent + 2);
			continue;
		}
		printf("%*s%-*.*s  ", indent, "", w, (int)k->via.str.size, k->via.str.ptr);
		if (v->type != MSGPACK_OBJECT_ARRAY) {
			print_scalar(v);
		} else if (v->via.array.size == 0) {
			fputs("none", stdout);
		} else {
			for (uint32_t j = 0; j < v->via.array.size; j++) {
				const msgpack_object *e = &v->via.array.ptr[j];
				printf("%s", j ? (e->type == MSGPACK_OBJECT_MAP ? "\n" : ", ") : "");
				if (e->type == MSGPACK_OBJECT_MAP) {
					if (j)
						printf("%*s", indent + w + 2, "");
					fputs("- ", stdout);
					for (uint32_t q = 0; q < e->via.map.size; q++) {
						const msgpack_object *ek = &e->via.map.ptr[q].key;
						if (ek->type == MSGPACK_OBJECT_STR)
							printf("%s%.*s ", q ? ", " : "", (int)ek->via.str.size,
							       ek->via.str.ptr);
						print_scalar(&e->via.map.ptr[q].val);
					}
				} else {
					print_scalar(e);
				}
			}
		}
		putchar('\n');
	}
}

int cmd_stats(struct cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		return cli_usage("stats");
	}
	if (cli->json || !isatty(STDOUT_FILENO))
		return simple(cli, "sys.stats", NULL);
	struct sysq_reply r;
	int rc = cli_call_json(cli, "sys.stats", NULL, &r);
	int st = cli_status("sys.stats", rc, &r);
	if (st == EXIT_OK)
		print_summary(r.result, 0);
	sysq_reply_free(&r);
	return st;
}
