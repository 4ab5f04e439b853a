/* SPDX-License-Identifier: ISC */
/*
 * cmd_net.c - the sysq subcommands for network interfaces: `net [IFACE]` (a
 * table of net.list, or its IFACE row: NAME MTU FLAGS MAC ADDRESSES; `net -s`:
 * the counters, state and carrier) and `mtu IFACE [MTU]`
 * (net.mtu.get, or net.mtu.set when a new MTU is given).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sq_proto.h"

/* `net -s`: one row per interface, its state and counters (- where the OS
 * has none) */
static void print_stats(const msgpack_object *ifs)
{
	static const char *const hdr[] = {
		"NAME", "STATE", "CARRIER", "RX-BYTES", "RX-PKTS", "RX-ERR", "RX-DROP",
		"TX-BYTES", "TX-PKTS", "TX-ERR", "TX-DROP",
	};
	static const char *const keys[] = {
		"rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
		"tx_bytes", "tx_packets", "tx_errors", "tx_dropped",
	};
	struct table *t = table_new(11, hdr, "---rrrrrrrr");
	for (uint32_t i = 0; ifs && ifs->type == MSGPACK_OBJECT_ARRAY && i < ifs->via.array.size; i++) {
		const msgpack_object *ifp = &ifs->via.array.ptr[i], *c = obj_get(ifp, "carrier");
		const msgpack_object *st = obj_get(ifp, "stats");
		char name[80], state[32];
		obj_str(ifp, "name", name, sizeof(name));
		obj_str(ifp, "operstate", state, sizeof(state));
		table_add(t, name);
		table_add(t, state[0] ? state : "-");
		table_add(t, !c ? "-" : c->type == MSGPACK_OBJECT_BOOLEAN && c->via.boolean ? "yes" : "no");
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			if (obj_get(st, keys[k]))
				table_addf(t, "%lld", obj_int(st, keys[k], 0));
			else
				table_add(t, "-");
		}
	}
	table_print(t, stdout);
	table_free(t);
}

/* The element of the array ifs named name, or NULL. */
static const msgpack_object *find_iface(const msgpack_object *ifs, const char *name)
{
	for (uint32_t i = 0; ifs && ifs->type == MSGPACK_OBJECT_ARRAY && i < ifs->via.array.size; i++) {
		char got[80];
		obj_str(&ifs->via.array.ptr[i], "name", got, sizeof(got));
		if (strcmp(got, name) == 0)
			return &ifs->via.array.ptr[i];
	}
	return NULL;
}

int cmd_net(struct cli *cli, int argc, char **argv)
{
	int stats = 0;
	const char *only = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-s") == 0)
			stats = 1;
		else if (argv[i][0] != '-' && !only)
			only = argv[i];
		else
			return cli_usage("net");
	}
	struct sysq_reply r;
	int rc = cli_call_json(cli, "net.list", NULL, &r);
	int st = cli_status("net.list", rc, &r);
	if (st != EXIT_OK) {
		sysq_reply_free(&r);
		return st;
	}
	const msgpack_object *ifs = obj_get(r.result, "interfaces");
	/* with IFACE: the same shape, {"interfaces": [that one]} */
	msgpack_object one, onemap;
	msgpack_object_kv kv;
	if (only) {
		const msgpack_object *ifp = find_iface(ifs, only);
		if (!ifp) {
			fprintf(stderr, "sysq: net: ENODEV: no network interface named '%s'\n", only);
			sysq_reply_free(&r);
			return EXIT_REMOTE;
		}
		one.type = MSGPACK_OBJECT_ARRAY;
		one.via.array.size = 1;
		one.via.array.ptr = (msgpack_object *)ifp;
		kv.key.type = MSGPACK_OBJECT_STR;
		kv.key.via.str.ptr = "interfaces";
		kv.key.via.str.size = (uint32_t)strlen("interfaces");
		kv.val = one;
		onemap.type = MSGPACK_OBJECT_MAP;
		onemap.via.map.size = 1;
		onemap.via.map.ptr = &kv;
		ifs = &one;
	}
	if (cli->json) {
		cli_print_json(only ? &onemap : r.result);
		sysq_reply_free(&r);
		return EXIT_OK;
	}
	if (stats) {
		print_stats(ifs);
		sysq_reply_free(&r);
		return EXIT_OK;
	}
	static const char *const hdr[] = { "NAME", "MTU", "FLAGS", "MAC", "ADDRESSES" };
	struct table *t = table_new(5, hdr, "-r---");
	for (uint32_t i = 0; ifs && ifs->type == MSGPACK_OBJECT_ARRAY && i < ifs->via.array.size; i++) {
		const msgpack_object *ifp = &ifs->via.array.ptr[i];
		char name[80], mac[32], cell[4096];
		size_t n = 0;

		obj_str(ifp, "name", name, sizeof(name));
		table_add(t, name);
		long long mtu = obj_int(ifp, "mtu", -1);
		if (mtu >= 0)
			table_addf(t, "%lld", mtu);
		else
			table_add(t, "-");

		const msgpack_object *fl = obj_get(ifp, "flags");
		cell[0] = '\0';
		for (uint32_t k = 0; fl && fl->type == MSGPACK_OBJECT_ARRAY && k < fl->via.array.size; k++) {
			const msgpack_object *w = &fl->via.array.ptr[k];
			if (w->type == MSGPACK_OBJECT_STR && n + w->via.str.size + 2 < sizeof(cell))
				n += (size_t)snprintf(cell + n, sizeof(cell) - n, "%s%.*s", n ? "," : "",
				                      (int)w->via.str.size, w->via.str.ptr);
		}
		table_add(t, n ? cell : "-");

		obj_str(ifp, "mac", mac, sizeof(mac));
		table_add(t, mac[0] ? mac : "-");

		const msgpack_object *as = obj_get(ifp, "addrs");
		n = 0;
		cell[0] = '\0';
		for (uint32_t k = 0; as && as->type == MSGPACK_OBJECT_ARRAY && k < as->via.array.size; k++) {
			char addr[64];
			obj_str(&as->via.array.ptr[k], "addr", addr, sizeof(addr));
			long long plen = obj_int(&as->via.array.ptr[k], "prefixlen", -1);
			if (n + strlen(addr) + 6 < sizeof(cell))
				n += (size_t)snprintf(cell + n, sizeof(cell) - n, "%s%s/%lld",
				                      n ? " " : "", addr, plen);
		}
		table_add(t, n ? cell : "-");
	}
	table_print(t, stdout);
	table_free(t);
	sysq_reply_free(&r);
	return EXIT_OK;
}

static int mtu_usage(void)
{
	return cli_usage("mtu");
}

int cmd_mtu(struct cli *cli, int argc, char **argv)
{
	long long want = -1;
	if (argc < 2 || argc > 3)
		return mtu_usage();
	if (argc == 3) {
		char *end;
		errno = 0;
		want = strtoll(argv[2], &end, 10);
		if (errno || end == argv[2] || *end || want < 0 || want > 0x7fffffff) {
			fprintf(stderr, "sysq mtu: MTU must be a number (got '%s')\n", argv[2]);
			return EXIT_USAGE;
		}
	}
	const char *method = want < 0 ? "net.mtu.get" : "net.mtu.set";
	/* packed, not JSON text: an interface name needs no quoting this way */
	struct sysq *c = cli_connect(cli);
	msgpack_packer *pk = sysq_begin(c, method, NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, want < 0 ? 1 : 2);
	sq_pack_cstr(pk, "name");
	sq_pack_cstr(pk, argv[1]);
	if (want >= 0) {
		sq_pack_cstr(pk, "mtu");
		msgpack_pack_int64(pk, want);
	}
	struct sysq_reply r;
	memset(&r, 0, sizeof(r));
	int rc = sysq_call_end(c, &r);
	int st = cli_status(method, rc, &r);
	if (st == EXIT_OK) {
		if (cli->json)
			cli_print_json(r.result);
		else if (want < 0)
			printf("%lld\n", obj_int(r.result, "mtu", -1));
		else
			printf("%s: mtu %lld (was %lld)\n", argv[1], obj_int(r.result, "mtu", -1),
			       obj_int(r.result, "previous", -1));
	}
	sysq_reply_free(&r);
	return st;
}
