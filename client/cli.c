/* SPDX-License-Identifier: ISC */
/*
 * cli.c - the plumbing every sysq subcommand uses: connecting, turning a
 * call's outcome into an exit status and a message, JSON output, and
 * reading fields out of result maps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "sq_proto.h"

struct sysq *cli_connect(struct cli *cli)
{
	char err[1024];
	if (cli->conn)
		return cli->conn;
	cli->conn = sysq_connect(cli->socket, err, sizeof(err));
	if (!cli->conn) {
		fprintf(stderr, "sysq: %s\n", err);
		exit(EXIT_CONNECT);
	}
	return cli->conn;
}

int cli_status(const char *what, int rc, const struct sysq_reply *r)
{
	if (rc == 0)
		return EXIT_OK;
	if (rc == SYSQ_REMOTE_ERROR) {
		/* the daemon may start its message with the method's name: once */
		const char *msg = r->message;
		size_t n = strlen(what);
		if (strncmp(msg, what, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
			msg += n + 2;
		fprintf(stderr, "sysq: %s: %s: %s\n", what, r->code, msg);
		return EXIT_REMOTE;
	}
	fprintf(stderr, "sysq: %s: lost the connection to sysqd: %s\n", what, strerror(-rc));
	return EXIT_CONNECT;
}

int cli_call_json(struct cli *cli, const char *method, const char *json,
                  struct sysq_reply *r)
{
	/* params first: bad JSON is a usage error whether or not sysqd runs */
	struct sq_buf params;
	msgpack_packer ppk;
	char err[200];
	sq_buf_init(&params);
	sq_packer_init(&ppk, &params);
	if (!json || !*json) {
		msgpack_pack_array(&ppk, 0);
	} else {
		msgpack_pack_array(&ppk, 1);
		if (sq_json_pack(&ppk, json, err, sizeof(err)) < 0) {
			fprintf(stderr, "sysq: params: %s\n", err);
			sq_buf_free(&params);
			exit(EXIT_USAGE);
		}
	}
	struct sysq *c = cli_connect(cli);
	msgpack_packer *pk = sysq_begin(c, method, NULL);
	memset(r, 0, sizeof(*r));
	pk->callback(pk->data, params.data, params.len);
	sq_buf_free(&params);
	return sysq_call_end(c, r);
}

void cli_print_json(const msgpack_object *o)
{
	sq_json_print(stdout, o, 2);
	putchar('\n');
}

const msgpack_object *obj_get(const msgpack_object *map, const char *key)
{
	return sq_map_get(map, key);
}

long long obj_int(const msgpack_object *map, const char *key, long long dflt)
{
	const msgpack_object *o = sq_map_get(map, key);
	if (!o)
		return dflt;
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return o->via.u64 > (uint64_t)INT64_MAX ? INT64_MAX : (long long)o->via.u64;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return o->via.i64;
	if (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)
		return (long long)o->via.f64;
	return dflt;
}

double obj_double(const msgpack_object *map, const char *key, double dflt)
{
	const msgpack_object *o = sq_map_get(map, key);
	if (!o)
		return dflt;
	if (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)
		return o->via.f64;
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return (double)o->via.u64;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return (double)o->via.i64;
	return dflt;
}

void obj_str(const msgpack_object *map, const char *key, char *buf, size_t size)
{
	const msgpack_object *o = sq_map_get(map, key);
	size_t n = 0;
	buf[0] = '\0';
	if (!o || (o->type != MSGPACK_OBJECT_STR && o->type != MSGPACK_OBJECT_BIN))
		return;
	int utf8 = sq_utf8_valid(o->via.str.ptr, o->via.str.size);
	for (uint32_t i = 0; i < o->via.str.size && n + 5 < size; i++) {
		unsigned char ch = (unsigned char)o->via.str.ptr[i];
		if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && !utf8))
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", ch);
		else
			buf[n++] = (char)ch;
	}
	buf[n] = '\0';
}

void human_bytes(double v, char *buf, size_t size)
{
	static const char units[] = "BKMGTPE";
	int u = 0;
	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%.0f", v);
	else
		snprintf(buf, size, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}
