/* SPDX-License-Identifier: ISC */
/*
 * metrics.c - sysqd's answers as Prometheus text (exposition format 0.0.4):
 * the families, their names (sysq_ + node_exporter's name where the meaning
 * is the same), label escaping (UTF-8 guaranteed), and the scrape itself:
 * seven pipelined calls on one connection under one socket-level deadline.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "libsysq.h"
#include "metrics.h"
#include "sq_utf8.h"

static const char *const coll_name[SQ_MC_N] = { "stats", "fs", "net", "host", "proc",
                                                  "sockets" };

int sq_metrics_collectors_parse(const char *list, size_t len, unsigned *mask, char *err,
                                size_t errlen)
{
	const char *p = list, *end = list + len;
	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = (size_t)((comma ? comma : end) - p);
		int k = -1;
		for (int c = 0; c < SQ_MC_N && k < 0; c++)
			if (strlen(coll_name[c]) == n && memcmp(coll_name[c], p, n) == 0)
				k = c;
		if (k < 0) {
			snprintf(err, errlen, "unknown collector '%.*s' (stats fs net host proc "
			         "sockets)", (int)(n > 40 ? 40 : n), p);
			return -EINVAL;
		}
		*mask |= 1u << k;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

/* ---- text helpers ---------------------------------------------------- */

/* Set when an append ran out of memory: a cut exposition is never served. */
static _Thread_local bool render_oom;
/* --names node: node_exporter's name (and labels) where it has the figure */
static _Thread_local bool node_mode;

static const char *NM(const char *sysq, const char *node)
{
	return node_mode && node ? node : sysq;
}

static void app(struct sq_buf *b, const void *p, size_t n)
{
	if (sq_buf_append(b, p, n) < 0)
		render_oom = true;
}

static void put(struct sq_buf *b, const char *s)
{
	app(b, s, strlen(s));
}

static void putf(struct sq_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct sq_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		app(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

void sq_metrics_label_value(struct sq_buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t k = sq_utf8_seq(s + i, n - i, NULL);
		if (k == 0) {
			putf(out, "\\\\x%02x", p[i]);
			i++;
		} else if (k > 1) {
			app(out, s + i, k);
			i += k;
		} else {
			switch (p[i]) {
			case '\\': put(out, "\\\\"); break;
			case '"': put(out, "\\\""); break;
			case '\n': put(out, "\\n"); break;
			default: app(out, s + i, 1); break;
			}
			i++;
		}
	}
}

/* A str or bin field's bytes ("" when absent or nil). */
static const char *bytes_of(const msgpack_object *map, const char *key, size_t *n)
{
	const msgpack_object *o = map ? sq_map_get(map, key) : NULL;
	if (o && (o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN) &&
	    o->via.str.size) {
		*n = o->via.str.size;
		return o->via.str.ptr;
	}
	*n = 0;
	return "";
}

static void label(struct sq_buf *b, bool first, const char *key, const char *v, size_t n)
{
	putf(b, "%s%s=\"", first ? "" : ",", key);
	sq_metrics_label_value(b, v, n);
	put(b, "\"");
}

static void family(struct sq_buf *b, const char *name, const char *type, const char *help)
{
	putf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{labels} value; labels is the inside of the braces ("" for none). */
static void sample_u(struct sq_buf *b, const char *name, const char *labels, size_t ln,
                     unsigned long long v)
{
	put(b, name);
	if (ln) {
		put(b, "{");
		app(b, labels, ln);
		put(b, "}");
	}
	putf(b, " %llu\n", v);
}

static void sample_d(struct sq_buf *b, const char *name, const char *labels, size_t ln,
                     double v)
{
	put(b, name);
	if (ln) {
		put(b, "{");
		app(b, labels, ln);
		put(b, "}");
	}
	putf(b, " %.15g\n", v);
}

static bool as_u64(const msgpack_object *o, unsigned long long *v)
{
	if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		*v = o->via.u64;
		return true;
	}
	return false;
}

static bool as_double(const msgpack_object *o, double *v)
{
	if (!o)
		return false;
	if (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)
		*v = o->via.f64;
	else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		*v = (double)o->via.u64;
	else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*v = (double)o->via.i64;
	else
		return false;
	return true;
}

static const msgpack_object *array_of(const msgpack_object *res, const char *key)
{
	const msgpack_object *a = res ? sq_map_get(res, key) : NULL;
	return a && a->type == MSGPACK_OBJECT_ARRAY ? a : NULL;
}

static bool is_str(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);
	return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
	       memcmp(o->via.str.ptr, s, n) == 0;
}

/* ---- series label sets, rendered once, duplicates dropped ----------------
 * Two items with the same labels (e.g. two mount points that differ only in
 * bytes that render alike) would make one series twice, which Prometheus
 * refuses; the first one wins. */
struct lset {
	struct sq_buf *l;   /* rendered labels per item */
	bool *keep;
	size_t n;
};

static int lset_init(struct lset *s, size_t n)
{
	s->n = n;
	s->l = calloc(n ? n : 1, sizeof(*s->l));
	s->keep = calloc(n ? n : 1, sizeof(*s->keep));
	return s->l && s->keep ? 0 : -ENOMEM;
}

static void lset_done(struct lset *s)
{
	for (size_t i = 0; s->l && i < s->n; i++)
		sq_buf_free(&s->l[i]);
	free(s->l);
	free(s->keep);
}

static void lset_dedup(struct lset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		s->keep[i] = true;
		for (size_t j = 0; j < i && s->keep[i]; j++)
			if (s->keep[j] && s->l[j].len == s->l[i].len &&
			    memcmp(s->l[j].data, s->l[i].data, s->l[i].len) == 0)
				s->keep[i] = false;
	}
}

/* ---- sys.stats ----------------------------------------------------------- */

static const struct {
	const char *sub, *key, *name, *type, *help;
} stats_map[] = {
	{ NULL, "uptime_s", "sysq_uptime_seconds", "gauge", "Seconds since sysqd started." },
	{ NULL, "connections", "sysq_connections", "gauge", "Client connections open now." },
	{ NULL, "connections_total", "sysq_connections_total", "counter",
	  "Client connections accepted since sysqd started." },
	{ NULL, "connections_rejected", "sysq_connections_rejected_total", "counter",
	  "Connections refused at the connection limit." },
	{ NULL, "connections_rejected_per_user", "sysq_connections_rejected_per_user_total",
	  "counter", "Connections refused at the per-user connection limit." },
	{ NULL, "requests", "sysq_requests_total", "counter", "Requests dispatched." },
	{ NULL, "errors", "sysq_errors_total", "counter", "Error responses sent." },
	{ NULL, "inflight", "sysq_inflight_requests", "gauge",
	  "Requests being worked on now (this scrape's own included)." },
	{ NULL, "proto_errors", "sysq_protocol_errors_total", "counter",
	  "Malformed frames received (EPROTO)." },
	{ NULL, "oversize", "sysq_oversize_messages_total", "counter",
	  "Messages over a size, depth or count limit (E2BIG)." },
	{ NULL, "slow_disconnects", "sysq_slow_disconnects_total", "counter",
	  "Connections closed for exceeding the output limit or not reading." },
	{ NULL, "read_pauses", "sysq_read_pauses_total", "counter",
	  "Times a connection was paused at the in-flight limit." },
	{ NULL, "output_pauses", "sysq_output_pauses_total", "counter",
	  "Times a connection was paused at the queued-output mark." },
	{ NULL, "bytes_in", "sysq_received_bytes_total", "counter",
	  "Bytes read from client sockets." },
	{ NULL, "bytes_out", "sysq_sent_bytes_total", "counter",
	  "Bytes written to client sockets." },
	{ NULL, "threads", "sysq_threads", "gauge", "Threads of the sysqd process." },
	{ NULL, "open_fds", "sysq_open_fds", "gauge", "Open file descriptors of sysqd." },
	{ NULL, "rss_bytes", "sysq_resident_memory_bytes", "gauge",
	  "Resident memory of the sysqd process in bytes." },
	{ NULL, "prober_threads", "sysq_prober_threads", "gauge",
	  "File system prober threads at work (probing or stuck)." },
	{ NULL, "stale_mounts", "sysq_stale_mounts", "gauge",
	  "Mounts whose probe outlived a deadline and has not returned." },
	{ "transfers", "active", "sysq_transfers", "gauge", "file.read transfers under way." },
	{ "transfers", "total", "sysq_transfers_total", "counter",
	  "file.read transfers started." },
	{ "transfers", "rejected", "sysq_transfers_rejected_total", "counter",
	  "file.read transfers refused at the limit." },
	{ "transfers", "failed", "sysq_transfers_failed_total", "counter",
	  "file.read transfers that ended in an error." },
	{ "transfers", "bytes", "sysq_transferred_bytes_total", "counter",
	  "File bytes sent by file.read." },
	{ "watch", "subscriptions", "sysq_watch_subscriptions", "gauge",
	  "watch.subscribe subscriptions now, all connections." },
	{ "watch", "held_events", "sysq_watch_held_events", "gauge",
	  "Watch events waiting in slow subscriptions' queues now." },
	{ "watch", "held_bytes", "sysq_watch_held_bytes", "gauge",
	  "Bytes of the shared frames and queues that hold them." },
	{ "watch/proc", "read", "sysq_proc_events_read_total", "counter",
	  "Process events read from the kernel's source." },
	{ "watch/proc", "gaps", "sysq_proc_events_gaps_total", "counter",
	  "Times the kernel's source dropped process events (a gap event to every subscriber)." },
	{ "watch/proc", "delivered", "sysq_proc_events_delivered_total", "counter",
	  "Process events written to subscribers, one per subscription that got it." },
	{ "watch/proc", "discarded", "sysq_proc_events_discarded_total", "counter",
	  "Held process events let go because their subscription ended." },
};

/* The labelled families of sys.stats: a map of NAME: number, one series a
 * key, the key as the label's value. */
static const struct {
	const char *sub, *name, *type, *label, *help;
} stats_labelled[] = {
	{ "limits", "sysq_limit", "gauge", "limit",
	  "sysqd's configured limits (sys.stats limits), in the unit the name says." },
	{ "watch/topics", "sysq_watch_topic_subscriptions", "gauge", "topic",
	  "watch.subscribe subscriptions now naming each topic." },
	{ "watch/proc/dropped", "sysq_proc_events_dropped_total", "counter", "reason",
	  "Process events counted in a subscription's dropped notice, by reason." },
};

/* st's map at a '/'-separated path of keys, or NULL. */
static const msgpack_object *stats_sub(const msgpack_object *st, const char *path)
{
	const msgpack_object *m = st;
	char key[32];
	while (m && *path) {
		size_t n = strcspn(path, "/");
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		m = sq_map_get(m, key);
		path += n + (path[n] == '/');
	}
	return m && m->type == MSGPACK_OBJECT_MAP ? m : NULL;
}

static void render_stats(struct sq_buf *b, const msgpack_object *st)
{
	for (size_t i = 0; i < sizeof(stats_map) / sizeof(stats_map[0]); i++) {
		const msgpack_object *m = stats_map[i].sub ? stats_sub(st, stats_map[i].sub) : st;
		if (!m || m->type != MSGPACK_OBJECT_MAP)
			continue;
		double v;
		if (!as_double(sq_map_get(m, stats_map[i].key), &v))
			continue;
		family(b, stats_map[i].name, stats_map[i].type, stats_map[i].help);
		const msgpack_object *o = sq_map_get(m, stats_map[i].key);
		unsigned long long u;
		if (as_u64(o, &u))
			sample_u(b, stats_map[i].name, "", 0, u);
		else
			sample_d(b, stats_map[i].name, "", 0, v);
	}
	const msgpack_object *proc = stats_sub(st, "watch/proc"), *up;
	if (proc && (up = sq_map_get(proc, "source")) && up->type == MSGPACK_OBJECT_BOOLEAN) {
		family(b, "sysq_proc_events_source_up", "gauge",
		       "1 when sysqd's source of process events (the kernel's) is open.");
		sample_u(b, "sysq_proc_events_source_up", "", 0, up->via.boolean ? 1 : 0);
	}
	struct sq_buf l;
	sq_buf_init(&l);
	for (size_t f = 0; f < sizeof(stats_labelled) / sizeof(stats_labelled[0]); f++) {
		const msgpack_object *m = stats_sub(st, stats_labelled[f].sub);
		if (!m || !m->via.map.size)
			continue;
		family(b, stats_labelled[f].name, stats_labelled[f].type, stats_labelled[f].help);
		for (uint32_t i = 0; i < m->via.map.size; i++) {
			const msgpack_object_kv *kv = &m->via.map.ptr[i];
			unsigned long long u;
			if (kv->key.type != MSGPACK_OBJECT_STR || !as_u64(&kv->val, &u))
				continue;
			l.len = 0;
			label(&l, true, stats_labelled[f].label, kv->key.via.str.ptr, kv->key.via.str.size);
			sample_u(b, stats_labelled[f].name, l.data, l.len, u);
		}
	}
	sq_buf_free(&l);
}

/* ---- fs.list --------------------------------------------------------------- */

static const struct {
	const char *key, *name, *help;
} fs_sizes[] = {
	{ "total_bytes", "sysq_filesystem_size_bytes", "Filesystem size in bytes." },
	{ "free_bytes", "sysq_filesystem_free_bytes",
	  "Filesystem free space in bytes (including space reserved for root)." },
	{ "avail_bytes", "sysq_filesystem_avail_bytes",
	  "Filesystem space available to non-root users in bytes." },
	{ "files", "sysq_filesystem_files", "Filesystem total file nodes." },
	{ "files_free", "sysq_filesystem_files_free", "Filesystem total free file nodes." },
};
/* node_exporter's names of the same (filesystem collector) */
static const char *const fs_node[] = {
	"node_filesystem_size_bytes", "node_filesystem_free_bytes", "node_filesystem_avail_bytes",
	"node_filesystem_files", "node_filesystem_files_free",
};

static int render_fs(struct sq_buf *b, const msgpack_object *res)
{
	const msgpack_object *ms = array_of(res, "mounts");
	size_t n = ms ? ms->via.array.size : 0;
	struct lset s;
	if (lset_init(&s, n) < 0) {
		lset_done(&s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const msgpack_object *m = &ms->via.array.ptr[i];
		const char *v;
		size_t vn;
		sq_buf_init(&s.l[i]);
		v = bytes_of(m, "mountpoint", &vn);
		label(&s.l[i], true, "mountpoint", v, vn);
		v = bytes_of(m, "fstype", &vn);
		label(&s.l[i], false, "fstype", v, vn);
		v = bytes_of(m, "source", &vn);
		label(&s.l[i], false, NM("source", "device"), v, vn);
	}
	lset_dedup(&s);
	for (size_t f = 0; f < sizeof(fs_sizes) / sizeof(fs_sizes[0]); f++) {
		const char *name = NM(fs_sizes[f].name, fs_node[f]);
		family(b, name, "gauge", fs_sizes[f].help);
		for (size_t i = 0; i < n; i++) {
			unsigned long long u;
			const msgpack_object *m = &ms->via.array.ptr[i];
			if (s.keep[i] && is_str(sq_map_get(m, "state"), "ok") &&
			    as_u64(sq_map_get(m, fs_sizes[f].key), &u))
				sample_u(b, name, s.l[i].data, s.l[i].len, u);
		}
	}
	const char *ro_name = NM("sysq_filesystem_readonly", "node_filesystem_readonly");
	family(b, ro_name, "gauge", "Filesystem read-only status.");
	for (size_t i = 0; i < n; i++) {
		const msgpack_object *ro = sq_map_get(&ms->via.array.ptr[i], "readonly");
		if (s.keep[i])
			sample_u(b, ro_name, s.l[i].data, s.l[i].len,
			         ro && ro->type == MSGPACK_OBJECT_BOOLEAN && ro->via.boolean);
	}
	family(b, "sysq_filesystem_stale", "gauge",
	       "1 when the filesystem did not answer statfs by the deadline (hung).");
	for (size_t i = 0; i < n; i++)
		if (s.keep[i])
			sample_u(b, "sysq_filesystem_stale", s.l[i].data, s.l[i].len,
			         is_str(sq_map_get(&ms->via.array.ptr[i], "state"), "stale"));
	const char *err_name = NM("sysq_filesystem_device_error", "node_filesystem_device_error");
	family(b, err_name, "gauge", "1 when statfs on the filesystem answered an error.");
	for (size_t i = 0; i < n; i++)
		if (s.keep[i])
			sample_u(b, err_name, s.l[i].data, s.l[i].len,
			         is_str(sq_map_get(&ms->via.array.ptr[i], "state"), "error"));
	lset_done(&s);
	return 0;
}

/* ---- net.list -------------------------------------------------------------- */

static bool has_flag(const msgpack_object *ifp, const char *flag)
{
	const msgpack_object *fl = array_of(ifp, "flags");
	for (uint32_t k = 0; fl && k < fl->via.array.size; k++)
		if (is_str(&fl->via.array.ptr[k], flag))
			return true;
	return false;
}

/* net.list's stats, state and carrier: node_exporter's netdev and netclass
 * figures */
static const struct {
	const char *key, *sysq, *node, *help;
} net_counters[] = {
	{ "rx_bytes", "sysq_network_receive_bytes_total", "node_network_receive_bytes_total",
	  "Bytes received by the interface." },
	{ "rx_packets", "sysq_network_receive_packets_total",
	  "node_network_receive_packets_total", "Packets received by the interface." },
	{ "rx_errors", "sysq_network_receive_errs_total", "node_network_receive_errs_total",
	  "Receive errors of the interface." },
	{ "rx_dropped", "sysq_network_receive_drop_total", "node_network_receive_drop_total",
	  "Received packets the interface dropped." },
	{ "rx_multicast", "sysq_network_receive_multicast_total",
	  "node_network_receive_multicast_total", "Multicast packets received." },
	{ "tx_bytes", "sysq_network_transmit_bytes_total", "node_network_transmit_bytes_total",
	  "Bytes sent by the interface." },
	{ "tx_packets", "sysq_network_transmit_packets_total",
	  "node_network_transmit_packets_total", "Packets sent by the interface." },
	{ "tx_errors", "sysq_network_transmit_errs_total", "node_network_transmit_errs_total",
	  "Transmit errors of the interface." },
	{ "tx_dropped", "sysq_network_transmit_drop_total", "node_network_transmit_drop_total",
	  "Packets the interface dropped instead of sending." },
	{ "tx_multicast", "sysq_network_transmit_multicast_total", NULL,
	  "Multicast packets sent (macOS)." },
	{ "collisions", "sysq_network_transmit_colls_total", "node_network_transmit_colls_total",
	  "Collisions seen by the interface." },
};

static void render_net_counters(struct sq_buf *b, const msgpack_object *ifs,
                                const struct lset *s)
{
	size_t n = ifs ? ifs->via.array.size : 0;
	for (size_t c = 0; c < sizeof(net_counters) / sizeof(net_counters[0]); c++) {
		const char *name = NM(net_counters[c].sysq, net_counters[c].node);
		bool fam = false;
		for (size_t i = 0; i < n; i++) {
			unsigned long long u;
			const msgpack_object *st = sq_map_get(&ifs->via.array.ptr[i], "stats");
			if (!s->keep[i] || !st || !as_u64(sq_map_get(st, net_counters[c].key), &u))
				continue;
			if (!fam)
				family(b, name, "counter", net_counters[c].help);
			fam = true;
			sample_u(b, name, s->l[i].data, s->l[i].len, u);
		}
	}
	/* operstate "UP" (node_exporter's node_network_up), carrier */
	const char *up = NM("sysq_network_oper_up", "node_network_up");
	family(b, up, "gauge", "1 when the interface's operational state is UP.");
	for (size_t i = 0; i < n; i++) {
		const msgpack_object *o = sq_map_get(&ifs->via.array.ptr[i], "operstate");
		if (s->keep[i] && o)
			sample_u(b, up, s->l[i].data, s->l[i].len, is_str(o, "UP"));
	}
	const char *car = NM("sysq_network_carrier", "node_network_carrier");
	family(b, car, "gauge", "1 when the interface has a carrier (link).");
	for (size_t i = 0; i < n; i++) {
		const msgpack_object *o = sq_map_get(&ifs->via.array.ptr[i], "carrier");
		if (s->keep[i] && o && o->type == MSGPACK_OBJECT_BOOLEAN)
			sample_u(b, car, s->l[i].data, s->l[i].len, o->via.boolean);
	}
}

static int render_net(struct sq_buf *b, const msgpack_object *res)
{
	const msgpack_object *ifs = array_of(res, "interfaces");
	size_t n = ifs ? ifs->via.array.size : 0;
	struct lset s;
	if (lset_init(&s, n) < 0) {
		lset_done(&s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		size_t vn;
		const char *v = bytes_of(&ifs->via.array.ptr[i], "name", &vn);
		sq_buf_init(&s.l[i]);
		label(&s.l[i], true, NM("interface", "device"), v, vn);
	}
	lset_dedup(&s);
	const char *mtu = NM("sysq_network_mtu_bytes", "node_network_mtu_bytes");
	family(b, mtu, "gauge", "Network interface MTU in bytes.");
	for (size_t i = 0; i < n; i++) {
		unsigned long long u;
		if (s.keep[i] && as_u64(sq_map_get(&ifs->via.array.ptr[i], "mtu"), &u))
			sample_u(b, mtu, s.l[i].data, s.l[i].len, u);
	}
	render_net_counters(b, ifs, &s);
	family(b, "sysq_network_up", "gauge",
	       "1 when the interface is administratively up (IFF_UP).");
	for (size_t i = 0; i < n; i++)
		if (s.keep[i])
			sample_u(b, "sysq_network_up", s.l[i].data, s.l[i].len,
			         has_flag(&ifs->via.array.ptr[i], "up"));
	family(b, "sysq_network_running", "gauge",
	       "1 when the interface is operational (IFF_RUNNING: carrier, link up).");
	for (size_t i = 0; i < n; i++)
		if (s.keep[i])
			sample_u(b, "sysq_network_running", s.l[i].data, s.l[i].len,
			         has_flag(&ifs->via.array.ptr[i], "running"));
	family(b, "sysq_network_address_info", "gauge",
	       "An address of an interface (value always 1).");
	struct sq_buf l, seen;
	sq_buf_init(&l);
	sq_buf_init(&seen); /* NUL-separated label sets already written */
	for (size_t i = 0; i < n; i++) {
		const msgpack_object *as = array_of(&ifs->via.array.ptr[i], "addrs");
		for (uint32_t k = 0; s.keep[i] && as && k < as->via.array.size; k++) {
			size_t an, fn;
			const char *a = bytes_of(&as->via.array.ptr[k], "addr", &an);
			const char *fam = bytes_of(&as->via.array.ptr[k], "family", &fn);
			l.len = 0;
			app(&l, s.l[i].data, s.l[i].len);
			label(&l, false, "address", a, an);
			label(&l, false, "family", fam, fn);
			bool dup = false;
			for (size_t off = 0; off < seen.len && !dup;) {
				size_t len = strlen(seen.data + off);
				dup = len == l.len && memcmp(seen.data + off, l.data, l.len) == 0;
				off += len + 1;
			}
			if (dup)
				continue;
			app(&seen, l.data, l.len);
			app(&seen, "", 1);
			sample_u(b, "sysq_network_address_info", l.data, l.len, 1);
		}
	}
	sq_buf_free(&l);
	sq_buf_free(&seen);
	lset_done(&s);
	return 0;
}

/* ---- proc.list ------------------------------------------------------------- */

struct uidcount {
	unsigned long long uid, n;
};

static int cmp_uid(const void *a, const void *b)
{
	const struct uidcount *x = a, *y = b;
	return (x->uid > y->uid) - (x->uid < y->uid);
}

static int render_proc(struct sq_buf *b, const msgpack_object *res, bool per_uid)
{
	const msgpack_object *ps = array_of(res, "procs");
	size_t n = ps ? ps->via.array.size : 0;
	unsigned long long by_state[128] = { 0 };
	for (size_t i = 0; i < n; i++) {
		const msgpack_object *st = sq_map_get(&ps->via.array.ptr[i], "state");
		if (st && st->type == MSGPACK_OBJECT_STR && st->via.str.size == 1) {
			unsigned char c = (unsigned char)st->via.str.ptr[0];
			if (c > 0x20 && c < 0x7f)
				by_state[c]++;
		}
	}
	family(b, "sysq_processes", "gauge",
	       "Processes the scraping user can see (hidepid hides others).");
	sample_u(b, "sysq_processes", "", 0, n);
	family(b, "sysq_processes_state", "gauge",
	       "Processes in each state (ps letters: R running, S sleeping, D disk wait, "
	       "Z zombie, T stopped, ...).");
	for (unsigned c = 0x21; c < 0x7f; c++) {
		if (!by_state[c] && !strchr("DRSTZ", (int)c))
			continue; /* the common states always, others when present */
		char lv[48];
		int ln = snprintf(lv, sizeof(lv), "state=\"%c\"", (char)c);
		if (c == '"' || c == '\\')
			ln = snprintf(lv, sizeof(lv), "state=\"\\%c\"", (char)c);
		sample_u(b, "sysq_processes_state", lv, (size_t)ln, by_state[c]);
	}
	if (!per_uid)
		return 0;
	struct uidcount *u = calloc(n ? n : 1, sizeof(*u));
	size_t nu = 0;
	if (!u)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned long long uid;
		if (!as_u64(sq_map_get(&ps->via.array.ptr[i], "uid"), &uid))
			continue;
		size_t k = 0;
		while (k < nu && u[k].uid != uid)
			k++;
		if (k == nu)
			u[nu++] = (struct uidcount){ uid, 0 };
		u[k].n++;
	}
	qsort(u, nu, sizeof(*u), cmp_uid);
	family(b, "sysq_user_processes", "gauge",
	       "Processes per real uid (only with sysq metrics --per-uid).");
	for (size_t k = 0; k < nu; k++) {
		char lv[48];
		int ln = snprintf(lv, sizeof(lv), "uid=\"%llu\"", u[k].uid);
		sample_u(b, "sysq_user_processes", lv, (size_t)ln, u[k].n);
	}
	free(u);
	return 0;
}

/* ---- sys.host ---------------------------------------------------------------- */

static void one(struct sq_buf *b, const char *name, const char *type, const char *help,
                const msgpack_object *v)
{
	double d;
	unsigned long long u;
	if (!as_double(v, &d))
		return;
	family(b, name, type, help);
	if (as_u64(v, &u))
		sample_u(b, name, "", 0, u);
	else
		sample_d(b, name, "", 0, d);
}

static void render_cpu(struct sq_buf *b, const msgpack_object *cpus)
{
	static const char *const modes[] = {
		"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
	};
	const char *name = NM("sysq_cpu_seconds_total", "node_cpu_seconds_total");
	family(b, name, "counter", "Seconds the CPUs spent in each mode.");
	for (uint32_t i = 0; cpus && i < cpus->via.array.size; i++) {
		const msgpack_object *c = &cpus->via.array.ptr[i];
		unsigned long long id;
		if (!as_u64(sq_map_get(c, "cpu"), &id))
			continue;
		for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
			double v;
			if (!as_double(sq_map_get(c, modes[m]), &v))
				continue;
			char lv[64];
			int ln = snprintf(lv, sizeof(lv), "cpu=\"%llu\",mode=\"%s\"", id, modes[m]);
			sample_d(b, name, lv, (size_t)ln, v);
		}
	}
}

static void render_host(struct sq_buf *b, const msgpack_object *h)
{
	static const struct {
		const char *sect, *key, *sysq, *node, *type, *help;
	} figs[] = {
		{ "memory", "total", "sysq_memory_total_bytes", "node_memory_MemTotal_bytes", "gauge",
		  "Memory in bytes (MemTotal)." },
		{ "memory", "available", "sysq_memory_available_bytes",
		  "node_memory_MemAvailable_bytes", "gauge",
		  "Memory available without swapping, in bytes (MemAvailable)." },
		{ "memory", "free", "sysq_memory_free_bytes", "node_memory_MemFree_bytes", "gauge",
		  "Unused memory in bytes (MemFree)." },
		{ "memory", "buffers", "sysq_memory_buffers_bytes", "node_memory_Buffers_bytes",
		  "gauge", "Block device buffers in bytes (Buffers)." },
		{ "memory", "cached", "sysq_memory_cached_bytes", "node_memory_Cached_bytes", "gauge",
		  "Page cache in bytes (Cached)." },
		{ "memory", "shared", "sysq_memory_shared_bytes", "node_memory_Shmem_bytes", "gauge",
		  "Shared memory and tmpfs in bytes (Shmem)." },
		{ "swap", "total", "sysq_memory_swap_total_bytes", "node_memory_SwapTotal_bytes",
		  "gauge", "Swap space in bytes (SwapTotal)." },
		{ "swap", "free", "sysq_memory_swap_free_bytes", "node_memory_SwapFree_bytes", "gauge",
		  "Unused swap space in bytes (SwapFree)." },
		{ NULL, "boot_time", "sysq_boot_time_seconds", "node_boot_time_seconds", "gauge",
		  "When the host booted, Unix seconds." },
		{ NULL, "procs_running", "sysq_procs_running", "node_procs_running", "gauge",
		  "Threads runnable now." },
		{ NULL, "procs_blocked", "sysq_procs_blocked", "node_procs_blocked", "gauge",
		  "Threads blocked waiting for I/O." },
		{ NULL, "forks", "sysq_forks_total", "node_forks_total", "counter",
		  "Processes and threads created since boot." },
		{ NULL, "context_switches", "sysq_context_switches_total",
		  "node_context_switches_total", "counter", "Context switches since boot." },
		{ NULL, "procs", "sysq_host_processes", NULL, "gauge", "Processes that exist now." },
		{ NULL, "threads", "sysq_host_threads", NULL, "gauge", "Threads that exist now." },
	};
	for (size_t i = 0; i < sizeof(figs) / sizeof(figs[0]); i++) {
		const msgpack_object *m = figs[i].sect ? sq_map_get(h, figs[i].sect) : h;
		if (m && m->type == MSGPACK_OBJECT_MAP)
			one(b, NM(figs[i].sysq, figs[i].node), figs[i].type, figs[i].help,
			    sq_map_get(m, figs[i].key));
	}
	const msgpack_object *load = array_of(h, "load");
	static const char *const loads[][2] = {
		{ "sysq_load1", "node_load1" }, { "sysq_load5", "node_load5" },
		{ "sysq_load15", "node_load15" },
	};
	for (uint32_t i = 0; load && i < 3 && i < load->via.array.size; i++)
		one(b, NM(loads[i][0], loads[i][1]), "gauge", "Load average.",
		    &load->via.array.ptr[i]);
	const msgpack_object *cpus = array_of(h, "cpus");
	if (cpus)
		render_cpu(b, cpus);
	/* pressure: some -> waiting, full -> stalled, as node_exporter names them */
	const msgpack_object *p = sq_map_get(h, "pressure");
	static const char *const res[] = { "cpu", "memory", "io" };
	static const char *const kinds[][2] = { { "some", "waiting" }, { "full", "stalled" } };
	for (size_t r = 0; p && r < 3; r++)
		for (size_t k = 0; k < 2; k++) {
			const msgpack_object *l = sq_map_get(sq_map_get(p, res[r]), kinds[k][0]);
			double us;
			if (!l || !as_double(sq_map_get(l, "total_us"), &us))
				continue;
			char name[80], help[160];
			snprintf(name, sizeof(name), "%s_pressure_%s_%s_seconds_total",
			         node_mode ? "node" : "sysq", res[r], kinds[k][1]);
			snprintf(help, sizeof(help), "Seconds %s tasks were stalled on %s (PSI %s).",
			         k ? "all non-idle" : "some", res[r], kinds[k][0]);
			family(b, name, "counter", help);
			sample_d(b, name, "", 0, us / 1e6);
		}
}

/* ---- the whole exposition ------------------------------------------------- */

/* ---- net.sockets ------------------------------------------------------------ */

static const char *const sock_protos[3] = { "tcp", "udp", "unix" };
static const char *const sock_states[SQ_MSOCK_STATES] = {
	"established", "syn-sent", "syn-recv", "fin-wait-1", "fin-wait-2", "time-wait",
	"closed", "close-wait", "last-ack", "listen", "closing", "new-syn-recv",
};

static int index_of(const msgpack_object *o, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (is_str(o, names[i]))
			return i;
	return -1;
}

static void copy_str(const msgpack_object *o, char *buf, size_t size)
{
	size_t n = 0;
	if (o && (o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN))
		n = o->via.str.size < size - 1 ? o->via.str.size : size - 1;
	if (n)
		memcpy(buf, o->via.str.ptr, n);
	buf[n] = '\0';
}

void sq_metrics_sockets_add(struct sq_metrics_sockets *m, const msgpack_object *sock,
                            bool listen)
{
	int p = index_of(sq_map_get(sock, "protocol"), sock_protos, 3);
	int st = index_of(sq_map_get(sock, "state"), sock_states, SQ_MSOCK_STATES);
	if (p < 0 || st < 0)
		return;
	if (!listen) {
		m->count[p][st]++;
		return;
	}
	if (p == 2)
		return; /* listening ports: TCP and UDP */
	struct sq_msock_listen l;
	memset(&l, 0, sizeof(l));
	snprintf(l.proto, sizeof(l.proto), "%s", sock_protos[p]);
	copy_str(sq_map_get(sock, "local_addr"), l.addr, sizeof(l.addr));
	unsigned long long port = 0;
	as_u64(sq_map_get(sock, "local_port"), &port);
	l.port = (unsigned)port;
	if (l.port == 0)
		return; /* an unbound UDP socket listens on nothing */
	const msgpack_object *own = sq_map_get(sock, "owners");
	if (own && own->type == MSGPACK_OBJECT_ARRAY && own->via.array.size)
		copy_str(sq_map_get(&own->via.array.ptr[0], "comm"), l.comm, sizeof(l.comm));
	for (size_t i = 0; i < m->nlisten; i++)
		if (memcmp(&m->listen[i], &l, sizeof(l)) == 0)
			return; /* SO_REUSEPORT groups, workers: one series */
	if (m->nlisten == SQ_MSOCK_LISTEN_MAX) {
		m->listen_dropped++;
		return;
	}
	m->listen[m->nlisten++] = l;
}

static void render_sockets(struct sq_buf *b, const struct sq_metrics_sockets *m)
{
	static const int shown[3][SQ_MSOCK_STATES] = { /* the states each protocol has */
		{ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 },
		{ 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0 },
		{ 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0 },
	};
	family(b, "sysq_sockets", "gauge", "Sockets by protocol and state (net.sockets).");
	for (int p = 0; p < 3; p++)
		for (int st = 0; st < SQ_MSOCK_STATES; st++) {
			if (!shown[p][st] && !m->count[p][st])
				continue;
			char lv[80];
			int ln = snprintf(lv, sizeof(lv), "protocol=\"%s\",state=\"%s\"", sock_protos[p],
			                  sock_states[st]);
			sample_u(b, "sysq_sockets", lv, (size_t)ln, m->count[p][st]);
		}
	family(b, "sysq_listen_port_info", "gauge",
	       "A listening TCP or bound UDP port: protocol, address, port and the command "
	       "holding it where the scraper may see it (value always 1).");
	for (size_t i = 0; i < m->nlisten; i++) {
		const struct sq_msock_listen *l = &m->listen[i];
		struct sq_buf lb;
		char port[16];
		int pn = snprintf(port, sizeof(port), "%u", l->port);
		sq_buf_init(&lb);
		label(&lb, true, "protocol", l->proto, strlen(l->proto));
		label(&lb, false, "address", l->addr, strlen(l->addr));
		label(&lb, false, "port", port, (size_t)pn);
		label(&lb, false, "comm", l->comm, strlen(l->comm));
		sample_u(b, "sysq_listen_port_info", lb.data, lb.len, 1);
		sq_buf_free(&lb);
	}
	family(b, "sysq_listen_ports_dropped", "gauge",
	       "Listening sockets left out of sysq_listen_port_info once it has 256 series.");
	sample_u(b, "sysq_listen_ports_dropped", "", 0, m->listen_dropped);
}

int sq_metrics_render(struct sq_buf *out, const struct sq_metrics_in *in)
{
	int rc = 0;
	render_oom = false;
	node_mode = in->node_names;
	if (in->res[SQ_MC_STATS])
		render_stats(out, in->res[SQ_MC_STATS]);
	if (in->res[SQ_MC_FS] && rc == 0)
		rc = render_fs(out, in->res[SQ_MC_FS]);
	if (in->res[SQ_MC_NET] && rc == 0)
		rc = render_net(out, in->res[SQ_MC_NET]);
	if (in->res[SQ_MC_HOST] && rc == 0)
		render_host(out, in->res[SQ_MC_HOST]);
	if (in->res[SQ_MC_PROC] && rc == 0)
		rc = render_proc(out, in->res[SQ_MC_PROC], in->per_uid);
	if (in->res[SQ_MC_SOCK] && in->sock)
		render_sockets(out, in->sock);
	unsigned asked = in->collectors ? in->collectors : SQ_MC_ALL;
	family(out, "sysq_scrape_collector_success", "gauge",
	       "1 when the collector's sysqd call answered in time without error.");
	for (int c = 0; c < SQ_MC_N; c++) {
		if (!(asked & (1u << c)))
			continue;
		char lv[40];
		int ln = snprintf(lv, sizeof(lv), "collector=\"%s\"", coll_name[c]);
		sample_u(out, "sysq_scrape_collector_success", lv, (size_t)ln, in->res[c] != NULL);
	}
	family(out, "sysq_scrape_collector_duration_seconds", "gauge",
	       "Seconds from sending the collector's call to reading its answer.");
	for (int c = 0; c < SQ_MC_N; c++) {
		if (!(asked & (1u << c)))
			continue;
		char lv[40];
		int ln = snprintf(lv, sizeof(lv), "collector=\"%s\"", coll_name[c]);
		sample_d(out, "sysq_scrape_collector_duration_seconds", lv, (size_t)ln,
		         in->seconds[c]);
	}
	return rc < 0 || render_oom ? -ENOMEM : 0;
}

/* ---- the scrape -------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_timeo(int fd, int opt, double secs)
{
	if (secs < 0.001)
		secs = 0.001;
	struct timeval tv = { (time_t)secs, (suseconds_t)((secs - (double)(time_t)secs) * 1e6) };
	setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/* A message of the sockets collector's two streams (sid): a response,
 * a net.sockets.batch summed into sums, or a net.sockets.end (done[i]: 1
 * whole, -1 failed, with the reason in why).  Which stream, or -1 for a
 * message of another call. */
static int sock_reply(const struct sysq_reply *r, const uint32_t sid[2],
                      struct sq_metrics_sockets *sums, int done[2], char *why, size_t whylen)
{
	if (r->type == 1) {
		for (int i = 0; i < 2; i++)
			if (r->msgid == sid[i] && !done[i]) {
				if (r->is_error) {
					done[i] = -1;
					snprintf(why, whylen, "%s: %.200s", r->code, r->message);
				}
				return i;
			}
		return -1;
	}
	if (r->type != 2 || strncmp(r->method, "net.sockets.", 12) != 0 || !r->result ||
	    r->result->type != MSGPACK_OBJECT_ARRAY || r->result->via.array.size != 1)
		return -1;
	const msgpack_object *m = &r->result->via.array.ptr[0];
	unsigned long long msgid;
	if (!as_u64(sq_map_get(m, "msgid"), &msgid))
		return -1;
	for (int i = 0; i < 2; i++) {
		if (msgid != sid[i] || done[i])
			continue;
		if (strcmp(r->method, "net.sockets.batch") == 0) {
			const msgpack_object *ss = array_of(m, "sockets");
			for (uint32_t k = 0; sums && ss && k < ss->via.array.size; k++)
				sq_metrics_sockets_add(sums, &ss->via.array.ptr[k], i == 1);
		} else if (strcmp(r->method, "net.sockets.end") == 0) {
			const msgpack_object *e = sq_map_get(m, "error");
			done[i] = e && e->type == MSGPACK_OBJECT_MAP ? -1 : 1;
			if (done[i] < 0) {
				char code[32], msg[200];
				copy_str(sq_map_get(e, "code"), code, sizeof(code));
				copy_str(sq_map_get(e, "message"), msg, sizeof(msg));
				snprintf(why, whylen, "%s: %s", code, msg);
			}
		}
		return i;
	}
	return -1;
}

/* One scrape on connection c.  *clean says whether c can carry another
 * scrape (every reply read, nothing left in flight).  With may_retry, a
 * connection that fails before any answer (a kept one sysqd has closed)
 * gives -EAGAIN and appends nothing. */
static int scrape_on(struct sysq *c, const struct sq_scrape_opts *o, struct sq_buf *out,
                     char *err, size_t errlen, bool may_retry, bool *clean)
{
	int tmo = o->timeout_ms > 0 ? o->timeout_ms : SQ_METRICS_DEFAULT_TIMEOUT_MS;
	double t0 = now_s(), deadline = t0 + tmo / 1000.0;
	int fd = sysq_fd(c);
	set_timeo(fd, SO_SNDTIMEO, tmo / 1000.0);

	/* proc.list first: it is the longest (a /proc read per process), so it
	 * starts first.  fs.list gets most of the deadline: a hung mount
	 * answers "stale" in time, and the other calls run meanwhile */
	long fs_ms = (long)tmo * 4 / 5;
	fs_ms = fs_ms < 1 ? 1 : fs_ms > 10000 ? 10000 : fs_ms;
	unsigned asked = o->collectors ? o->collectors : SQ_MC_ALL;
#define ASKED(k) (asked & (1u << (k)))
	uint32_t id[SQ_MC_N] = { 0 };
	msgpack_packer *pk;
	if (ASKED(SQ_MC_PROC)) {
		pk = sysq_begin(c, "proc.list", &id[SQ_MC_PROC]);
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 1);
		sq_pack_cstr(pk, "fields");
		msgpack_pack_array(pk, o->per_uid ? 2 : 1);
		sq_pack_cstr(pk, "state");
		if (o->per_uid)
			sq_pack_cstr(pk, "uid");
	}
	if (ASKED(SQ_MC_STATS)) {
		pk = sysq_begin(c, "sys.stats", &id[SQ_MC_STATS]);
		msgpack_pack_array(pk, 0);
	}
	if (ASKED(SQ_MC_FS)) {
		pk = sysq_begin(c, "fs.list", &id[SQ_MC_FS]);
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 1);
		sq_pack_kv_i64(pk, "timeout_ms", fs_ms);
	}
	if (ASKED(SQ_MC_NET)) {
		pk = sysq_begin(c, "net.list", &id[SQ_MC_NET]);
		msgpack_pack_array(pk, 0);
	}
	if (ASKED(SQ_MC_HOST)) {
		pk = sysq_begin(c, "sys.host", &id[SQ_MC_HOST]);
		msgpack_pack_array(pk, 0);
	}
	/* sockets: every socket counted, then the listening ones with owners */
	uint32_t sid[2] = { 0, 0 };
	int sdone[2] = { 0, 0 };      /* 1 ended whole, -1 failed */
	if (!ASKED(SQ_MC_SOCK)) {
		sdone[0] = sdone[1] = 1;  /* not asked: nothing to wait for */
		goto calls_made;
	}
	pk = sysq_begin(c, "net.sockets", &sid[0]);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	sq_pack_kv_bool(pk, "info", false);
	pk = sysq_begin(c, "net.sockets", &sid[1]);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 4);
	sq_pack_kv_bool(pk, "info", false);
	sq_pack_kv_bool(pk, "listening", true);
	sq_pack_kv_bool(pk, "owners", true);
	sq_pack_cstr(pk, "family");
	msgpack_pack_array(pk, 2);
	sq_pack_cstr(pk, "inet");
	sq_pack_cstr(pk, "inet6");
calls_made:;
	struct sq_metrics_sockets *sums = ASKED(SQ_MC_SOCK) ? calloc(1, sizeof(*sums)) : NULL;
	char serr[600] = "";
	static const msgpack_object ok_marker = { .type = MSGPACK_OBJECT_NIL };

	struct sysq_reply rep[SQ_MC_N];
	struct sq_metrics_in in = { .per_uid = o->per_uid, .node_names = o->node_names,
	                            .collectors = asked };
	memset(rep, 0, sizeof(rep));
	int pending = __builtin_popcount(asked), npending = pending, rc = sysq_flush(c);
	bool broken = rc < 0;
	while (rc == 0 && pending > 0) {
		double left = deadline - now_s();
		if (left <= 0)
			break;
		set_timeo(fd, SO_RCVTIMEO, left);
		struct sysq_reply r;
		if (sysq_read(c, &r) < 0) {
			broken = true;
			break; /* timed out (EAGAIN) or the connection is gone */
		}
		int si = ASKED(SQ_MC_SOCK) ? sock_reply(&r, sid, sums, sdone, serr, sizeof(serr)) : -1;
		if (si >= 0) {
			sysq_reply_free(&r);
			if (sdone[0] && sdone[1]) {
				in.seconds[SQ_MC_SOCK] = now_s() - t0;
				in.res[SQ_MC_SOCK] = sdone[0] > 0 && sdone[1] > 0 ? &ok_marker : NULL;
				pending--;
			}
			continue;
		}
		int k = -1;
		for (int i = 0; i < SQ_MC_N; i++)
			if (i != SQ_MC_SOCK && ASKED(i) && r.type == 1 && r.msgid == id[i] &&
			    !rep[i].zone)
				k = i;
		if (k < 0) {
			bool closing = r.type == 2 && strcmp(r.method, "sys.error") == 0;
			sysq_reply_free(&r);
			if (closing) {
				broken = true;
				break;
			}
			continue;
		}
		in.seconds[k] = now_s() - t0;
		rep[k] = r;
		pending--;
		if (!r.is_error)
			in.res[k] = r.result;
	}
	*clean = !broken && pending == 0;
	if (may_retry && broken && pending == npending) {
		free(sums);
		return -EAGAIN;
	}
	bool sock_answered = sdone[0] && sdone[1];
	for (int i = 0; i < SQ_MC_N; i++)
		if (ASKED(i) && (i == SQ_MC_SOCK ? !sock_answered : !rep[i].zone))
			in.seconds[i] = now_s() - t0;
	in.sock = sums;
	if (!sums)
		in.res[SQ_MC_SOCK] = NULL;
	int failed = 0;
	for (int i = 0; i < SQ_MC_N; i++)
		failed += ASKED(i) && in.res[i] == NULL;
	rc = sq_metrics_render(out, &in);
	free(sums);
	for (int i = 0; i < SQ_MC_N; i++) {
		if (!ASKED(i))
			continue;
		if (i == SQ_MC_SOCK) {
			if (serr[0])
				snprintf(err, errlen, "%s: %s", coll_name[i], serr);
			else if (!sock_answered)
				snprintf(err, errlen, "%s: no answer within %d ms", coll_name[i], tmo);
			continue;
		}
		if (rep[i].is_error)
			snprintf(err, errlen, "%s: %s: %s", coll_name[i], rep[i].code,
			         rep[i].message);
		else if (!rep[i].zone)
			snprintf(err, errlen, "%s: no answer within %d ms", coll_name[i], tmo);
		sysq_reply_free(&rep[i]);
	}
	if (rc < 0) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	return failed;
}
#undef ASKED

int sq_metrics_scrape(const struct sq_scrape_opts *o, struct sq_buf *out, char *err,
                      size_t errlen)
{
	return sq_metrics_scrape_kept(o, NULL, out, err, errlen);
}

int sq_metrics_scrape_kept(const struct sq_scrape_opts *o, struct sysq **keep,
                           struct sq_buf *out, char *err, size_t errlen)
{
	struct sysq *c = keep ? *keep : NULL;
	bool clean = false;
	int rc;
	if (keep)
		*keep = NULL;
	if (c) {
		rc = scrape_on(c, o, out, err, errlen, true, &clean);
		if (rc != -EAGAIN)
			goto done;
		/* sysqd closed the kept connection meanwhile (restarted, or it
		 * hit a limit): nothing was answered; once more on a new one */
		sysq_close(c);
		err[0] = '\0';
	}
	if (!(c = sysq_connect(o->socket, err, errlen)))
		return -ECONNREFUSED;
	rc = scrape_on(c, o, out, err, errlen, false, &clean);
done:
	if (keep && clean)
		*keep = c;
	else
		sysq_close(c);
	return rc;
}
