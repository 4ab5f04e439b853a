/* SPDX-License-Identifier: ISC */
/*
 * test_metrics.c - the exposition builder (client/metrics.c) in isolation:
 * label escaping and the UTF-8 rule, and rendering from hand-made answers
 * (stale and failed mounts, duplicate label sets, failed collectors,
 * --per-uid), with a structural check that every sample has its family.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "sq_proto.h"

static char *esc(const char *p, size_t n)
{
	struct sq_buf b;
	sq_buf_init(&b);
	sq_metrics_label_value(&b, p, n);
	sq_buf_append(&b, "", 1);
	return b.data;
}

#define ESC_EQ(in, want) do { char *got_ = esc(in, sizeof(in) - 1); \
	cr_assert_str_eq(got_, want, "escaping %s", #in); free(got_); } while (0)

Test(metrics_label, escapes_backslash_quote_newline)
{
	ESC_EQ("plain /mnt/data", "plain /mnt/data");
	ESC_EQ("a\\b", "a\\\\b");
	ESC_EQ("a\"b", "a\\\"b");
	ESC_EQ("a\nb", "a\\nb");
	ESC_EQ("tab\there", "tab\there"); /* not escaped by the format */
	ESC_EQ("\\n", "\\\\n");            /* a real backslash-n stays apart from newline */
}

Test(metrics_label, utf8_kept_invalid_bytes_as_hex)
{
	ESC_EQ("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	ESC_EQ("x\xffy", "x\\\\xffy");
	ESC_EQ("\xc0\x80", "\\\\xc0\\\\x80");               /* overlong NUL */
	ESC_EQ("\xed\xa0\x80", "\\\\xed\\\\xa0\\\\x80");    /* surrogate */
	ESC_EQ("\xf4\x90\x80\x80", "\\\\xf4\\\\x90\\\\x80\\\\x80"); /* > U+10FFFF */
	ESC_EQ("\xe2\x82", "\\\\xe2\\\\x82");               /* cut short */
	ESC_EQ("\xc3\xa9\xc3", "\xc3\xa9\\\\xc3");
}

/* ---- rendering ------------------------------------------------------------ */

struct doc {
	struct sq_buf buf;
	msgpack_zone zone;
	msgpack_object obj;
};

/* Pack with fn, then unpack into d->obj. */
static void doc_make(struct doc *d, void (*fn)(msgpack_packer *))
{
	msgpack_packer pk;
	sq_buf_init(&d->buf);
	sq_packer_init(&pk, &d->buf);
	fn(&pk);
	msgpack_zone_init(&d->zone, 2048);
	size_t off = 0;
	cr_assert_eq(msgpack_unpack(d->buf.data, d->buf.len, &off, &d->zone, &d->obj),
	             MSGPACK_UNPACK_SUCCESS);
}

static void doc_free(struct doc *d)
{
	msgpack_zone_destroy(&d->zone);
	sq_buf_free(&d->buf);
}

static void add_mount(msgpack_packer *pk, const char *mp, size_t mplen, bool bin, const char *state,
                  unsigned long long size)
{
	bool ok = strcmp(state, "ok") == 0;
	msgpack_pack_map(pk, 9);
	sq_pack_cstr(pk, "mountpoint");
	if (bin)
		msgpack_pack_bin_with_body(pk, mp, mplen);
	else
		msgpack_pack_str_with_body(pk, mp, mplen);
	sq_pack_kv_str(pk, "source", "src");
	sq_pack_kv_str(pk, "fstype", "tmpfs");
	sq_pack_kv_bool(pk, "readonly", false);
	const char *keys[] = { "total_bytes", "free_bytes", "avail_bytes", "files" };
	for (int i = 0; i < 4; i++) {
		sq_pack_cstr(pk, keys[i]);
		if (ok)
			msgpack_pack_uint64(pk, size);
		else
			msgpack_pack_nil(pk);
	}
	sq_pack_kv_str(pk, "state", state);
}

static void pack_fs(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 1);
	sq_pack_cstr(pk, "mounts");
	msgpack_pack_array(pk, 5);
	add_mount(pk, "/a \"q\"\n", 7, false, "ok", 1000);
	add_mount(pk, "/hung", 5, false, "stale", 0);
	add_mount(pk, "/bad\xff", 5, true, "error", 0);
	add_mount(pk, "/a \"q\"\n", 7, false, "ok", 2000);  /* same labels: dropped */
	add_mount(pk, "/b", 2, false, "ok", 3000);
}

static void pack_procs(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 1);
	sq_pack_cstr(pk, "procs");
	msgpack_pack_array(pk, 5);
	const char *st[] = { "R", "S", "S", "I", NULL };
	const unsigned uid[] = { 0, 1000, 1000, 0, 7 };
	for (int i = 0; i < 5; i++) {
		msgpack_pack_map(pk, st[i] ? 3 : 2);
		sq_pack_kv_i64(pk, "pid", i + 1);
		sq_pack_kv_u64(pk, "uid", uid[i]);
		if (st[i])
			sq_pack_kv_str(pk, "state", st[i]);
	}
}

static void pack_stats(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	sq_pack_kv_u64(pk, "requests", 42);
	sq_pack_kv_double(pk, "uptime_s", 1.5);
	sq_pack_kv_u64(pk, "stale_mounts", 1);
	sq_pack_cstr(pk, "limits");
	msgpack_pack_map(pk, 1);
	sq_pack_kv_u64(pk, "max_inflight", 128);
	sq_pack_cstr(pk, "watch"); /* as daemon/watch_deliver.c reports it */
	msgpack_pack_map(pk, 5);
	sq_pack_kv_u64(pk, "subscriptions", 3);
	sq_pack_kv_u64(pk, "held_events", 10);
	sq_pack_kv_u64(pk, "held_bytes", 4096);
	sq_pack_cstr(pk, "topics");
	msgpack_pack_map(pk, 2);
	sq_pack_kv_u64(pk, "mounts", 1);
	sq_pack_kv_u64(pk, "proc.exec", 2);
	sq_pack_cstr(pk, "proc");
	msgpack_pack_map(pk, 6);
	sq_pack_kv_bool(pk, "source", true);
	sq_pack_kv_u64(pk, "read", 900);
	sq_pack_kv_u64(pk, "gaps", 2);
	sq_pack_kv_u64(pk, "delivered", 800);
	sq_pack_kv_u64(pk, "discarded", 5);
	sq_pack_cstr(pk, "dropped");
	msgpack_pack_map(pk, 2);
	sq_pack_kv_u64(pk, "queue_full", 70);
	sq_pack_kv_u64(pk, "no_memory", 0);
}

static char *render(const struct sq_metrics_in *in)
{
	struct sq_buf b;
	sq_buf_init(&b);
	cr_assert_eq(sq_metrics_render(&b, in), 0);
	sq_buf_append(&b, "", 1);
	return b.data;
}

/* Every sample line belongs to the family of the # TYPE line above it;
 * no family appears twice. */
static void check_structure(const char *text)
{
	char fam[128] = "", seen[8192] = " ";
	const char *line = text;
	while (*line) {
		const char *nl = strchr(line, '\n');
		cr_assert(nl, "last line without newline");
		if (strncmp(line, "# TYPE ", 7) == 0) {
			size_t n = strcspn(line + 7, " ");
			snprintf(fam, sizeof(fam), "%.*s", (int)n, line + 7);
			char key[140];
			snprintf(key, sizeof(key), " %s ", fam);
			cr_assert(!strstr(seen, key), "family %s twice", fam);
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
		} else if (line[0] != '#') {
			size_t n = strcspn(line, "{ ");
			cr_assert(n == strlen(fam) && strncmp(line, fam, n) == 0,
			          "sample '%.*s' outside its family (%s)", (int)(nl - line), line, fam);
		}
		line = nl + 1;
	}
}

Test(metrics_render, filesystems_stale_error_duplicates)
{
	struct doc fs;
	doc_make(&fs, pack_fs);
	struct sq_metrics_in in = { .res = { [SQ_MC_FS] = &fs.obj } };
	char *t = render(&in);
	check_structure(t);
	const char *lab = "{mountpoint=\"/a \\\"q\\\"\\n\",fstype=\"tmpfs\",source=\"src\"}";
	char want[256];
	snprintf(want, sizeof(want), "\nsysq_filesystem_size_bytes%s 1000\n", lab);
	cr_assert(strstr(t, want), "%s", t);
	snprintf(want, sizeof(want), "\nsysq_filesystem_size_bytes%s 2000\n", lab);
	cr_assert(!strstr(t, want), "duplicate series kept:\n%s", t);
	cr_assert(strstr(t, "\nsysq_filesystem_avail_bytes{mountpoint=\"/b\",fstype=\"tmpfs\",source=\"src\"} 3000\n"));
	/* stale and error mounts: flags, never sizes */
	cr_assert(strstr(t, "\nsysq_filesystem_stale{mountpoint=\"/hung\",fstype=\"tmpfs\",source=\"src\"} 1\n"));
	cr_assert(!strstr(t, "sysq_filesystem_size_bytes{mountpoint=\"/hung\""));
	cr_assert(strstr(t, "\nsysq_filesystem_device_error{mountpoint=\"/bad\\\\xff\",fstype=\"tmpfs\",source=\"src\"} 1\n"), "%s", t);
	cr_assert(!strstr(t, "sysq_filesystem_free_bytes{mountpoint=\"/bad"));
	cr_assert(strstr(t, "\nsysq_filesystem_stale{mountpoint=\"/b\",fstype=\"tmpfs\",source=\"src\"} 0\n"));
	/* the other collectors were not given: marked failed, no families */
	cr_assert(strstr(t, "\nsysq_scrape_collector_success{collector=\"fs\"} 1\n"));
	cr_assert(strstr(t, "\nsysq_scrape_collector_success{collector=\"stats\"} 0\n"));
	cr_assert(!strstr(t, "sysq_requests_total"));
	cr_assert(!strstr(t, "sysq_network_up"));
	free(t);
	doc_free(&fs);
}

Test(metrics_render, processes_and_per_uid)
{
	struct doc ps;
	doc_make(&ps, pack_procs);
	struct sq_metrics_in in = { .res = { [SQ_MC_PROC] = &ps.obj } };
	char *t = render(&in);
	check_structure(t);
	cr_assert(strstr(t, "\nsysq_processes 5\n"));
	cr_assert(strstr(t, "\nsysq_processes_state{state=\"S\"} 2\n"));
	cr_assert(strstr(t, "\nsysq_processes_state{state=\"I\"} 1\n"));
	cr_assert(strstr(t, "\nsysq_processes_state{state=\"Z\"} 0\n")); /* common states always */
	cr_assert(!strstr(t, "state=\"P\""));
	cr_assert(!strstr(t, "sysq_user_processes"), "per-uid series without --per-uid");
	free(t);
	in.per_uid = true;
	t = render(&in);
	check_structure(t);
	cr_assert(strstr(t, "\nsysq_user_processes{uid=\"0\"} 2\nsysq_user_processes{uid=\"7\"} 1\n"
	                    "sysq_user_processes{uid=\"1000\"} 2\n"), "%s", t);
	free(t);
	doc_free(&ps);
}

Test(metrics_render, daemon_stats_counters_and_limits)
{
	struct doc st;
	doc_make(&st, pack_stats);
	struct sq_metrics_in in = { .res = { [SQ_MC_STATS] = &st.obj } };
	char *t = render(&in);
	check_structure(t);
	cr_assert(strstr(t, "# TYPE sysq_requests_total counter\nsysq_requests_total 42\n"), "%s", t);
	cr_assert(strstr(t, "# TYPE sysq_uptime_seconds gauge\nsysq_uptime_seconds 1.5\n"), "%s", t);
	cr_assert(strstr(t, "\nsysq_stale_mounts 1\n"));
	cr_assert(strstr(t, "\nsysq_limit{limit=\"max_inflight\"} 128\n"));
	cr_assert(!strstr(t, "sysq_connections"), "absent keys make no family");
	cr_assert(strstr(t, "# HELP sysq_requests_total "));
	/* watch subscriptions and the process events (sys.stats watch) */
	cr_assert(strstr(t, "# TYPE sysq_watch_subscriptions gauge\nsysq_watch_subscriptions 3\n"), "%s", t);
	cr_assert(strstr(t, "\nsysq_watch_topic_subscriptions{topic=\"mounts\"} 1\n"
	                    "sysq_watch_topic_subscriptions{topic=\"proc.exec\"} 2\n"), "%s", t);
	cr_assert(strstr(t, "\nsysq_watch_held_events 10\n"));
	cr_assert(strstr(t, "\nsysq_watch_held_bytes 4096\n"));
	cr_assert(strstr(t, "\nsysq_proc_events_source_up 1\n"), "%s", t);
	cr_assert(strstr(t, "# TYPE sysq_proc_events_read_total counter\nsysq_proc_events_read_total 900\n"));
	cr_assert(strstr(t, "\nsysq_proc_events_gaps_total 2\n"));
	cr_assert(strstr(t, "\nsysq_proc_events_delivered_total 800\n"));
	cr_assert(strstr(t, "\nsysq_proc_events_discarded_total 5\n"));
	cr_assert(strstr(t, "\nsysq_proc_events_dropped_total{reason=\"queue_full\"} 70\n"
	                    "sysq_proc_events_dropped_total{reason=\"no_memory\"} 0\n"), "%s", t);
	free(t);
	doc_free(&st);
}

/* net.sockets: counts by protocol and state; listeners deduplicated and
 * capped at SQ_MSOCK_LISTEN_MAX series, the rest counted as dropped. */
static int sock_port;
static const char *sock_comm;

static void pack_sock(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	sq_pack_kv_str(pk, "protocol", "tcp");
	sq_pack_kv_str(pk, "state", "listen");
	sq_pack_kv_str(pk, "local_addr", "0.0.0.0");
	sq_pack_kv_u64(pk, "local_port", (uint64_t)sock_port);
	sq_pack_cstr(pk, "owners");
	msgpack_pack_array(pk, sock_comm ? 1 : 0);
	if (sock_comm) {
		msgpack_pack_map(pk, 2);
		sq_pack_kv_i64(pk, "pid", 7);
		sq_pack_kv_str(pk, "comm", sock_comm);
	}
}

Test(metrics_render, sockets_by_state_and_bounded_listeners)
{
	static struct sq_metrics_sockets m;
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < 300; i++) {
		struct doc s;
		sock_port = 1000 + i;
		sock_comm = i % 2 ? "sshd" : NULL;
		doc_make(&s, pack_sock);
		sq_metrics_sockets_add(&m, &s.obj, false);
		sq_metrics_sockets_add(&m, &s.obj, true);
		sq_metrics_sockets_add(&m, &s.obj, true); /* a second holder: one series */
		doc_free(&s);
	}
	cr_assert_eq(m.nlisten, SQ_MSOCK_LISTEN_MAX);
	/* past the cap nothing is kept to tell holders apart: each counts */
	cr_assert_eq(m.listen_dropped, 2 * (300 - SQ_MSOCK_LISTEN_MAX));
	msgpack_object nil = { .type = MSGPACK_OBJECT_NIL };
	struct sq_metrics_in in = { .res = { [SQ_MC_SOCK] = &nil }, .sock = &m };
	char *t = render(&in);
	check_structure(t);
	cr_expect(strstr(t, "\nsysq_sockets{protocol=\"tcp\",state=\"listen\"} 300\n"), "%s", t);
	cr_expect(strstr(t, "\nsysq_sockets{protocol=\"udp\",state=\"closed\"} 0\n"), "%s", t);
	cr_expect(strstr(t, "\nsysq_listen_port_info{protocol=\"tcp\",address=\"0.0.0.0\","
	                    "port=\"1001\",comm=\"sshd\"} 1\n"), "%s", t);
	cr_expect(strstr(t, "\nsysq_listen_port_info{protocol=\"tcp\",address=\"0.0.0.0\","
	                    "port=\"1000\",comm=\"\"} 1\n"), "%s", t);
	cr_expect(strstr(t, "\nsysq_listen_ports_dropped 88\n"), "%s", t);
	cr_expect(strstr(t, "collector=\"sockets\"} 1\n"), "%s", t);
	free(t);
}
