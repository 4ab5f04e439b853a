/* SPDX-License-Identifier: ISC */
/*
 * cmd_watch.c - `sysq watch [mounts|net|proc|pid PID...]`: subscribe, then
 * print one line per watch.event notification (--json: one JSON object a
 * line) until interrupted, or, when only pids are watched, until all have
 * exited.  proc: forks, execs and exits of every process you may see.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "json.h"
#include "sq_proto.h"

static void stamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, size, "%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03ld", ts.tv_nsec / 1000000);
}

static void print_words(const msgpack_object *a)
{
	if (!a || a->type != MSGPACK_OBJECT_ARRAY)
		return;
	for (uint32_t i = 0; i < a->via.array.size; i++) {
		const msgpack_object *w = &a->via.array.ptr[i];
		if (w->type == MSGPACK_OBJECT_STR)
			printf("%s%.*s", i ? "," : "", (int)w->via.str.size, w->via.str.ptr);
	}
}

static void print_mount(const msgpack_object *e)
{
	char ev[32], mp[4200], src[1100], type[64];
	obj_str(e, "event", ev, sizeof(ev));
	obj_str(e, "mountpoint", mp, sizeof(mp));
	obj_str(e, "source", src, sizeof(src));
	obj_str(e, "fstype", type, sizeof(type));
	printf("mount %s %s type %s from %s ", ev, mp, type, src);
	print_words(obj_get(e, "options"));
	if (strcmp(ev, "changed") == 0) {
		printf(" (was ");
		print_words(obj_get(e, "old_options"));
		printf(")");
	}
}

static void print_net(const msgpack_object *e)
{
	char ev[32], name[64];
	obj_str(e, "event", ev, sizeof(ev));
	obj_str(e, "name", name, sizeof(name));
	const msgpack_object *up = obj_get(e, "up");
	bool is_up = up && up->type == MSGPACK_OBJECT_BOOLEAN && up->via.boolean;
	printf("net %s %s", ev, name);
	if (strcmp(ev, "changed") == 0) {
		const msgpack_object *ch = obj_get(e, "changes");
		for (uint32_t i = 0; ch && ch->type == MSGPACK_OBJECT_ARRAY && i < ch->via.array.size; i++) {
			const msgpack_object *w = &ch->via.array.ptr[i];
			if (sq_obj_streq(w, "up"))
				printf(" %s", is_up ? "up" : "down");
			else if (sq_obj_streq(w, "running")) {
				const msgpack_object *r = obj_get(e, "running");
				printf(" %s", r && r->type == MSGPACK_OBJECT_BOOLEAN && r->via.boolean
				       ? "running" : "not-running");
			} else if (sq_obj_streq(w, "mtu"))
				printf(" mtu %lld->%lld", obj_int(e, "old_mtu", -1), obj_int(e, "mtu", -1));
			else if (sq_obj_streq(w, "name")) {
				char old[64];
				obj_str(e, "old_name", old, sizeof(old));
				printf(" renamed from %s", old);
			} else if (sq_obj_streq(w, "flags")) {
				printf(" flags ");
				print_words(obj_get(e, "flags"));
			}
		}
	} else if (strncmp(ev, "addr_", 5) == 0) {
		const msgpack_object *a = obj_get(e, "addr");
		char fam[16], addr[64];
		obj_str(a, "family", fam, sizeof(fam));
		obj_str(a, "addr", addr, sizeof(addr));
		printf(" %s %s/%lld", fam, addr, obj_int(a, "prefixlen", 0));
	} else {
		printf(" %s mtu %lld", is_up ? "up" : "down", obj_int(e, "mtu", -1));
	}
}

static void print_exit_status(const msgpack_object *e)
{
	if (obj_get(e, "exit_code"))
		printf("code %lld", obj_int(e, "exit_code", 0));
	else if (obj_get(e, "signum")) {
		char sig[32];
		obj_str(e, "signal", sig, sizeof(sig));
		printf("signal %s", sig[0] ? sig : "?");
		const msgpack_object *core = obj_get(e, "core");
		if (core && core->type == MSGPACK_OBJECT_BOOLEAN && core->via.boolean)
			printf(" (core dumped)");
	} else
		printf("(status unknown)");
}

static void print_exit(const msgpack_object *e)
{
	printf("exit pid %lld ", obj_int(e, "pid", -1));
	print_exit_status(e);
}

/* The event's own time when it has one (time_ns), else now. */
static void event_stamp(const msgpack_object *e, char *buf, size_t size)
{
	const msgpack_object *t = obj_get(e, "time_ns");
	if (!t || t->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		stamp(buf, size);
		return;
	}
	time_t sec = (time_t)(t->via.u64 / 1000000000u);
	struct tm tm;
	localtime_r(&sec, &tm);
	size_t n = strftime(buf, size, "%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03u", (unsigned)(t->via.u64 % 1000000000u / 1000000u));
}

/* A str or bin, unprintable bytes (and the backslash)
 * as \xNN, so that one event stays one line. */
static void print_bytes(const msgpack_object *o)
{
	const char *p = o->type == MSGPACK_OBJECT_STR ? o->via.str.ptr
	              : o->type == MSGPACK_OBJECT_BIN ? o->via.bin.ptr : NULL;
	uint32_t n = o->type == MSGPACK_OBJECT_STR ? o->via.str.size
	           : o->type == MSGPACK_OBJECT_BIN ? o->via.bin.size : 0;
	for (uint32_t i = 0; p && i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

/* fork|exec|exit pid N ppid N uid N comm C, then the status or the args;
 * "-" for what the daemon does not tell (the process is hidden from you,
 * or was gone when it looked). */
static void print_proc(const msgpack_object *e)
{
	char ev[16], comm[256];
	obj_str(e, "event", ev, sizeof(ev));
	printf("%s pid %lld", strcmp(ev, "exited") == 0 ? "exit" : ev, obj_int(e, "pid", -1));
	if (obj_get(e, "ppid"))
		printf(" ppid %lld", obj_int(e, "ppid", -1));
	else
		printf(" ppid -");
	if (obj_get(e, "uid"))
		printf(" uid %lld", obj_int(e, "uid", -1));
	else
		printf(" uid -");
	obj_str(e, "comm", comm, sizeof(comm));
	printf(" comm %s", obj_get(e, "comm") ? comm : "-");
	if (strcmp(ev, "exited") == 0) {
		putchar(' ');
		print_exit_status(e);
	} else if (strcmp(ev, "exec") == 0) {
		const msgpack_object *a = obj_get(e, "args");
		printf(" args");
		if (!a || a->type != MSGPACK_OBJECT_ARRAY)
			printf(" -");
		for (uint32_t i = 0; a && a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size; i++) {
			putchar(' ');
			print_bytes(&a->via.array.ptr[i]);
		}
	}
}

static int usage(void)
{
	return cli_usage("watch");
}

int cmd_watch(struct cli *cli, int argc, char **argv)
{
	bool mounts = false, net = false, proc = false;
	long long *pids = calloc((size_t)argc + 1, sizeof(*pids));
	size_t npids = 0;
	long long uid = -1, ppid = -1;
	const char *comm = NULL;
	if (!pids)
		return EXIT_REMOTE;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "proc") == 0) {
			proc = true;
		} else if ((strcmp(argv[i], "--uid") == 0 || strcmp(argv[i], "--ppid") == 0) &&
		           i + 1 < argc) {
			char *end;
			errno = 0;
			long long v = strtoll(argv[i + 1], &end, 10);
			if (errno || *end || end == argv[i + 1] || v < 0 || v > 0x7fffffff) {
				fprintf(stderr, "sysq watch: %s '%s' is not a number\n", argv[i], argv[i + 1]);
				free(pids);
				return EXIT_USAGE;
			}
			if (argv[i][2] == 'u')
				uid = v;
			else
				ppid = v;
			i++;
		} else if (strcmp(argv[i], "--comm") == 0 && i + 1 < argc) {
			comm = argv[++i];
		} else if (strcmp(argv[i], "mounts") == 0) {
			mounts = true;
		} else if (strcmp(argv[i], "net") == 0 || strcmp(argv[i], "interfaces") == 0) {
			net = true;
		} else if (strcmp(argv[i], "pid") == 0) {
			for (i++; i < argc; i++) {
				char *end;
				errno = 0;
				long long v = strtoll(argv[i], &end, 10);
				if (errno || *end || end == argv[i] || v < 1 || v > 0x7fffffff) {
					fprintf(stderr, "sysq watch: '%s' is not a pid\n", argv[i]);
					free(pids);
					return EXIT_USAGE;
				}
				pids[npids++] = v;
			}
			if (!npids) {
				free(pids);
				return usage();
			}
		} else {
			free(pids);
			return usage();
		}
	}
	if ((uid >= 0 || ppid >= 0 || comm) && !proc) {
		fprintf(stderr, "sysq watch: --uid, --ppid and --comm are for proc\n");
		free(pids);
		return EXIT_USAGE;
	}
	if (proc && npids) {
		fprintf(stderr, "sysq watch: proc is every process: no pids with it\n");
		free(pids);
		return EXIT_USAGE;
	}
	if (!mounts && !net && !npids && !proc)
		mounts = net = true;

	struct sysq *c = cli_connect(cli);
	struct sysq_reply r;
	memset(&r, 0, sizeof(r));
	msgpack_packer *pk = sysq_begin(c, "watch.subscribe", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1 + (npids ? 1 : 0) + (uid >= 0) + (ppid >= 0) + (comm != NULL));
	sq_pack_cstr(pk, "topics");
	msgpack_pack_array(pk, (size_t)mounts + (size_t)net + (npids ? 1 : 0) + (proc ? 3 : 0));
	if (mounts)
		sq_pack_cstr(pk, "mounts");
	if (net)
		sq_pack_cstr(pk, "interfaces");
	if (proc) {
		sq_pack_cstr(pk, "proc.fork");
		sq_pack_cstr(pk, "proc.exec");
		sq_pack_cstr(pk, "proc.exit");
	}
	if (uid >= 0)
		sq_pack_kv_i64(pk, "uid", uid);
	if (ppid >= 0)
		sq_pack_kv_i64(pk, "ppid", ppid);
	if (comm)
		sq_pack_kv_str(pk, "comm", comm);
	if (npids) {
		sq_pack_cstr(pk, "proc.exit");
		sq_pack_cstr(pk, "pids");
		msgpack_pack_array(pk, npids);
		for (size_t i = 0; i < npids; i++)
			msgpack_pack_int64(pk, pids[i]);
	}
	free(pids);
	int rc = sysq_call_end(c, &r);
	sysq_reply_free(&r);
	if (rc)
		return cli_status("watch.subscribe", rc, &r);

	setvbuf(stdout, NULL, _IOLBF, 0);
	size_t left = npids; /* pid-only watches end when every pid has exited */
	for (;;) {
		rc = sysq_read(c, &r);
		if (rc < 0) {
			fprintf(stderr, "sysq watch: lost the connection to sysqd: %s\n", strerror(-rc));
			return EXIT_CONNECT;
		}
		if (r.type != 2 || strcmp(r.method, "watch.event") != 0 || !r.result ||
		    r.result->type != MSGPACK_OBJECT_ARRAY || r.result->via.array.size < 1) {
			sysq_reply_free(&r);
			continue;
		}
		const msgpack_object *e = &r.result->via.array.ptr[0];
		char topic[32], ts[32];
		obj_str(e, "topic", topic, sizeof(topic));
		if (cli->json) {
			sq_json_print(stdout, e, -1);
			putchar('\n');
		} else {
			event_stamp(e, ts, sizeof(ts));
			printf("%s ", ts);
			if (strcmp(topic, "mounts") == 0)
				print_mount(e);
			else if (strcmp(topic, "interfaces") == 0)
				print_net(e);
			else if (strcmp(topic, "proc.exit") == 0 && !proc)
				print_exit(e);
			else if (strncmp(topic, "proc.", 5) == 0)
				print_proc(e);
			else if (strcmp(topic, "gap") == 0)
				printf("gap: the kernel dropped process events here");
			else if (strcmp(topic, "dropped") == 0)
				printf("dropped %lld events (this client read too slowly)",
				       obj_int(e, "count", 0));
			else
				printf("%s event", topic);
			putchar('\n');
		}
		if (strcmp(topic, "proc.exit") == 0 && !mounts && !net && !proc && left && --left == 0) {
			sysq_reply_free(&r);
			return EXIT_OK;
		}
		sysq_reply_free(&r);
	}
}
