/* SPDX-License-Identifier: ISC */
/*
 * cmd_host.c - the sysq subcommands for the host as a whole: `host` (a
 * one-screen summary of sys.host like the top lines of top(1)) and
 * `sysctl` (sys.sysctl.get/set, printed as sysctl(8) prints).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sq_proto.h"

static int plain_result(struct cli *cli, const char *method, int rc, struct sysq_reply *r)
{
	int st = cli_status(method, rc, r);
	if (st != EXIT_OK || cli->json) {
		if (st == EXIT_OK)
			cli_print_json(r->result);
		sysq_reply_free(r);
		return st;
	}
	return -1; /* the caller prints */
}

static void print_uptime(double up)
{
	long s = (long)up, days = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;
	printf("up ");
	if (days)
		printf("%ld day%s, ", days, days == 1 ? "" : "s");
	printf("%2ld:%02ld", h, m);
}

/* "%Cpu(s):  5.0 us, ..." : each mode's share of all CPU time since boot */
static void print_cpu(const msgpack_object *cpu)
{
	static const char *const modes[][2] = {
		{ "user", "us" }, { "system", "sy" }, { "nice", "ni" }, { "idle", "id" },
		{ "iowait", "wa" }, { "irq", "hi" }, { "softirq", "si" }, { "steal", "st" },
	};
	double total = 0;
	for (size_t i = 0; i < 8; i++)
		total += obj_double(cpu, modes[i][0], 0);
	printf("%%Cpu(s):");
	for (size_t i = 0, n = 0; i < 8; i++) {
		if (!obj_get(cpu, modes[i][0]))
			continue; /* the OS lacks it */
		printf("%s %4.1f %s", n++ ? "," : "",
		       total > 0 ? obj_double(cpu, modes[i][0], 0) / total * 100 : 0.0,
		       modes[i][1]);
	}
	printf("  (since boot)\n");
}

static void print_mem(const char *label, const msgpack_object *m, const char *const *keys,
                      const char *const *words, size_t n)
{
	printf("MiB %s:", label);
	for (size_t i = 0, k = 0; i < n; i++) {
		const msgpack_object *v = obj_get(m, keys[i]);
		if (v)
			printf("%s %9.1f %s", k++ ? "," : "", (double)obj_int(m, keys[i], 0) / 1048576.0,
			       words[i]);
	}
	printf("\n");
}

static void print_pressure(const msgpack_object *p)
{
	static const char *const res[] = { "cpu", "memory", "io" };
	printf("Pressure:");
	for (size_t i = 0, n = 0; i < 3; i++) {
		const msgpack_object *r = obj_get(p, res[i]);
		if (!r)
			continue;
		printf("%s %s", n++ ? " |" : "", res[i]);
		static const char *const kinds[] = { "some", "full" };
		for (size_t k = 0; k < 2; k++) {
			const msgpack_object *l = obj_get(r, kinds[k]);
			if (l)
				printf(" %s %.2f %.2f %.2f", kinds[k], obj_double(l, "avg10", 0),
				       obj_double(l, "avg60", 0), obj_double(l, "avg300", 0));
		}
	}
	printf("  (%% avg10 avg60 avg300)\n");
}

int cmd_host(struct cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return cli_usage("host");
	struct sysq_reply r;
	int rc = cli_call_json(cli, "sys.host", NULL, &r);
	int st = plain_result(cli, "sys.host", rc, &r);
	if (st >= 0)
		return st;
	const msgpack_object *h = r.result, *load = obj_get(h, "load");
	const msgpack_object *cpus = obj_get(h, "cpus");
	if (obj_get(h, "uptime_s"))
		print_uptime(obj_double(h, "uptime_s", 0));
	if (cpus && cpus->type == MSGPACK_OBJECT_ARRAY)
		printf(", %u cpu%s", cpus->via.array.size, cpus->via.array.size == 1 ? "" : "s");
	if (load && load->type == MSGPACK_OBJECT_ARRAY && load->via.array.size == 3)
		printf(",  load average: %.2f, %.2f, %.2f", load->via.array.ptr[0].via.f64,
		       load->via.array.ptr[1].via.f64, load->via.array.ptr[2].via.f64);
	printf("\n");
	printf("Tasks: %lld total", obj_int(h, "procs", -1));
	if (obj_get(h, "procs_running"))
		printf(", %lld running, %lld blocked", obj_int(h, "procs_running", 0),
		       obj_int(h, "procs_blocked", 0));
	printf(", %lld threads\n", obj_int(h, "threads", -1));
	if (obj_get(h, "cpu"))
		print_cpu(obj_get(h, "cpu"));
	static const char *const mk[] = { "total", "free", "available", "buffers", "cached", "shared" };
	static const char *const mw[] = { "total", "free", "avail", "buffers", "cached", "shared" };
	print_mem("Mem ", obj_get(h, "memory"), mk, mw, 6);
	static const char *const sk[] = { "total", "free" };
	print_mem("Swap", obj_get(h, "swap"), sk, sk, 2);
	if (obj_get(h, "pressure"))
		print_pressure(obj_get(h, "pressure"));
	sysq_reply_free(&r);
	return EXIT_OK;
}

/* --- sysctl ------------------------------------------------------------------ */

/* A value as /proc/sys shows it: several integers separated by tabs. */
static void print_value(const msgpack_object *v)
{
	switch (v->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER: printf("%llu", (unsigned long long)v->via.u64); break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: printf("%lld", (long long)v->via.i64); break;
	case MSGPACK_OBJECT_STR:
	case MSGPACK_OBJECT_BIN: fwrite(v->via.str.ptr, 1, v->via.str.size, stdout); break;
	case MSGPACK_OBJECT_ARRAY:
		for (uint32_t i = 0; i < v->via.array.size; i++) {
			if (i)
				putchar('\t');
			print_value(&v->via.array.ptr[i]);
		}
		break;
	default: break;
	}
}

static void print_entries(const msgpack_object *list, int values_only)
{
	for (uint32_t i = 0; list && list->type == MSGPACK_OBJECT_ARRAY && i < list->via.array.size; i++) {
		const msgpack_object *e = &list->via.array.ptr[i];
		char name[300], err[32];
		obj_str(e, "name", name, sizeof(name));
		const msgpack_object *v = obj_get(e, "value");
		if (!v) { /* a walk: what the kernel refused this caller */
			obj_str(e, "error", err, sizeof(err));
			fprintf(stderr, "sysq sysctl: %s on key '%s'\n", err, name);
			continue;
		}
		if (!values_only)
			printf("%s = ", name);
		print_value(v);
		putchar('\n');
	}
}

static int sysctl_usage(void)
{
	return cli_usage("sysctl");
}

static int sysctl_set(struct cli *cli, char **args, int n, int values_only)
{
	for (int i = 0; i < n; i++) {
		char *eq = strchr(args[i], '=');
		if (!eq || eq == args[i])
			return sysctl_usage();
	}
	struct sysq *c = cli_connect(cli);
	for (int i = 0; i < n; i++) {
		char *eq = strchr(args[i], '=');
		msgpack_packer *pk = sysq_begin(c, "sys.sysctl.set", NULL);
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 2);
		sq_pack_cstr(pk, "name");
		msgpack_pack_str_with_body(pk, args[i], (size_t)(eq - args[i]));
		sq_pack_kv_str(pk, "value", eq + 1);
		struct sysq_reply r;
		int rc = sysq_call_end(c, &r);
		int st = cli_status("sys.sysctl.set", rc, &r);
		if (st == EXIT_OK && cli->json) {
			cli_print_json(r.result);
		} else if (st == EXIT_OK) {
			const msgpack_object *v = obj_get(r.result, "value");
			if (!values_only)
				printf("%.*s = ", (int)(eq - args[i]), args[i]);
			if (v)
				print_value(v);
			else
				fputs(eq + 1, stdout);
			putchar('\n');
		}
		sysq_reply_free(&r);
		if (st != EXIT_OK)
			return st;
	}
	return EXIT_OK;
}

int cmd_sysctl(struct cli *cli, int argc, char **argv)
{
	int all = 0, write = 0, values_only = 0, i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		for (const char *f = argv[i] + 1; *f; f++) {
			if (*f == 'a')
				all = 1;
			else if (*f == 'w')
				write = 1;
			else if (*f == 'n')
				values_only = 1;
			else
				return sysctl_usage();
		}
	}
	int n = argc - i;
	if ((all && write) || (all && n > 1) || (!all && n < 1))
		return sysctl_usage();
	if (write)
		return sysctl_set(cli, argv + i, n, values_only);
	struct sysq *c = cli_connect(cli);
	msgpack_packer *pk = sysq_begin(c, "sys.sysctl.get", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	if (all) {
		sq_pack_kv_str(pk, "prefix", n ? argv[i] : "");
	} else {
		sq_pack_cstr(pk, "names");
		msgpack_pack_array(pk, (uint32_t)n);
		for (int k = i; k < argc; k++)
			sq_pack_cstr(pk, argv[k]);
	}
	struct sysq_reply r;
	int rc = sysq_call_end(c, &r);
	int st = plain_result(cli, "sys.sysctl.get", rc, &r);
	if (st >= 0)
		return st;
	print_entries(obj_get(r.result, "sysctls"), values_only);
	sysq_reply_free(&r);
	return EXIT_OK;
}
