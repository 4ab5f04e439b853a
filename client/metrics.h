/* SPDX-License-Identifier: ISC */
/*
 * metrics.h - the Prometheus text exposition (format 0.0.4) built from
 * sysqd's own answers (sys.stats, fs.list, net.list, sys.host, proc.list,
 * net.sockets), and the scrape that fetches them: one connection, seven
 * pipelined calls (net.sockets twice), one deadline.  Used by `sysq metrics` (stdout, --textfile, --listen).
 */
#ifndef SQ_METRICS_H
#define SQ_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

#include "sq_proto.h"

#define SQ_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define SQ_METRICS_DEFAULT_TIMEOUT_MS 5000

/* The calls a scrape makes ("collectors", as node_exporter says); the
 * sockets collector is two net.sockets streams, summed as they arrive. */
enum sq_mcoll { SQ_MC_STATS, SQ_MC_FS, SQ_MC_NET, SQ_MC_HOST, SQ_MC_PROC, SQ_MC_SOCK,
                 SQ_MC_N };
#define SQ_MC_ALL ((1u << SQ_MC_N) - 1u)

/* The collectors named in list ("host,net"; the names are those of
 * sysq_scrape_collector_success: stats fs net host proc sockets), added to
 * *mask (1u << SQ_MC_*).  0, or -EINVAL with err naming the unknown one. */
int sq_metrics_collectors_parse(const char *list, size_t len, unsigned *mask, char *err,
                                size_t errlen);

/* The sockets collector's sums: bounded whatever the number of sockets. */
#define SQ_MSOCK_STATES 12          /* net.sockets' state names */
#define SQ_MSOCK_LISTEN_MAX 256     /* listening (protocol, address, port, comm) series */
struct sq_msock_listen {
	char proto[4];                  /* "tcp", "udp" */
	char addr[48];
	unsigned port;
	char comm[20];                  /* "" when no holder is visible to the scraper */
};
struct sq_metrics_sockets {
	unsigned long long count[3][SQ_MSOCK_STATES];  /* tcp, udp, unix by state */
	struct sq_msock_listen listen[SQ_MSOCK_LISTEN_MAX];
	size_t nlisten;
	unsigned long long listen_dropped;  /* listening sockets past the cap */
};
/* Add one net.sockets socket map to the sums; listen: it came from the
 * listeners' stream (counted there, not in count). */
void sq_metrics_sockets_add(struct sq_metrics_sockets *m, const msgpack_object *sock,
                            bool listen);

/* What the exposition is built from: each collector's result (NULL when
 * its call failed: the family is then left out and
 * sysq_scrape_collector_success{collector=...} is 0). */
struct sq_metrics_in {
	const msgpack_object *res[SQ_MC_N];
	double seconds[SQ_MC_N];   /* each call's time, request sent to reply read */
	bool per_uid;              /* sysq_user_processes{uid=...} (proc.list had "uid") */
	bool node_names;           /* node_exporter's names and labels where it has the
	                            * figure (--names node; docs/metrics.md) */
	const struct sq_metrics_sockets *sock; /* with res[SQ_MC_SOCK] set: its sums */
	unsigned collectors;       /* which were asked for (1u << SQ_MC_*); 0: all */
};

/* Append the whole exposition to out.  0 or -ENOMEM. */
int sq_metrics_render(struct sq_buf *out, const struct sq_metrics_in *in);

/* Append bytes as a label value's inside (no quotes): backslash -> \\,
 * double quote -> \", newline -> \n; every byte that is not part of a
 * valid UTF-8 sequence becomes the four characters \xNN (lower-case hex,
 * its backslash written escaped, "\\xNN"), so the value is always valid
 * UTF-8 and distinct byte strings stay distinct in practice. */
void sq_metrics_label_value(struct sq_buf *out, const char *p, size_t n);

struct sq_scrape_opts {
	const char *socket;   /* NULL: the default socket */
	int timeout_ms;       /* deadline for the whole scrape (connect excluded) */
	bool per_uid;
	bool node_names;
	unsigned collectors;  /* only these calls (1u << SQ_MC_*); 0: all */
};

/* Query sysqd and append the exposition to out.  Returns the number of
 * collectors that failed (0..SQ_MC_N; the exposition says which), or a
 * negative errno when sysqd could not be reached at all (err says why;
 * nothing is appended then). */
int sq_metrics_scrape(const struct sq_scrape_opts *o, struct sq_buf *out, char *err,
                      size_t errlen);

/* The same on a connection kept between scrapes: *keep (NULL at first) is
 * used when set (and a fresh connection when sysqd has closed it since),
 * and holds the connection afterwards when it is fit for another scrape
 * (every reply read), else NULL.  One scrape at a time per *keep. */
struct sysq;
int sq_metrics_scrape_kept(const struct sq_scrape_opts *o, struct sysq **keep,
                           struct sq_buf *out, char *err, size_t errlen);

/* What --listen allows its clients (the defaults are in `sysq metrics
 * --help`, sysq(1) and docs/metrics.md). */
#define SQ_LISTEN_DEFAULT_HEADER_TIMEOUT_MS 10000
#define SQ_LISTEN_DEFAULT_MAX_CONNECTIONS   256u
#define SQ_LISTEN_DEFAULT_MAX_PER_ADDRESS   8u
struct sq_listen_opts {
	int header_timeout_ms;        /* a whole request, from the connection's start or
	                               * its previous response; as long to take a response */
	unsigned int max_connections; /* open at once, in all */
	unsigned int max_per_address; /* open at once, from one client address */
};

/* Serve GET /metrics on addr ("HOST:PORT", "[V6]:PORT"), each request one
 * scrape, until SIGINT/SIGTERM.  Returns an exit status. */
int sq_metrics_listen(const char *addr, const struct sq_scrape_opts *o,
                      const struct sq_listen_opts *l);

#endif
