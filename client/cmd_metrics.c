/* SPDX-License-Identifier: ISC */
/*
 * cmd_metrics.c - `sysq metrics`: sysqd's answers in Prometheus text
 * format, on stdout, into DIR/sysq.prom for node_exporter's textfile
 * collector (temporary file, fsync, rename: readers never see half a
 * file), or served over HTTP with --listen (metrics_http.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "metrics.h"

/* --listen runs a thread per connection (metrics_http.c) */
#define MAX_LISTEN_CONNECTIONS 4096u

/* "5", "2.5", "5s", "500ms" -> milliseconds (1..300000), or -1. */
static int parse_timeout(const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s)
		return -1;
	if (strcmp(end, "ms") == 0)
		v /= 1000;
	else if (*end && strcmp(end, "s") != 0)
		return -1;
	if (!(v >= 0.001 && v <= 300))
		return -1;
	return (int)(v * 1000 + 0.5);
}

/* "N" -> 1..max, or 0. */
static unsigned parse_count(const char *s, unsigned max)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < 1 || v > max)
		return 0;
	return (unsigned)v;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* DIR/.sysq.prom.XXXXXX (node_exporter reads only *.prom), fsync, rename
 * over DIR/sysq.prom, fsync DIR. */
static int write_textfile(const char *dir, const struct sq_buf *b)
{
	char tmp[4096], dst[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.sysq.prom.XXXXXX", dir) >= sizeof(tmp) ||
	    (size_t)snprintf(dst, sizeof(dst), "%s/sysq.prom", dir) >= sizeof(dst))
		return -ENAMETOOLONG;
	int fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, b->data ? b->data : "", b->len);
	if (rc == 0 && fchmod(fd, 0644) < 0)
		rc = -errno;
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, dst) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int cmd_metrics(struct cli *cli, int argc, char **argv)
{
	struct sq_scrape_opts o = { .socket = cli->socket,
	                            .timeout_ms = SQ_METRICS_DEFAULT_TIMEOUT_MS };
	struct sq_listen_opts lo = { .header_timeout_ms = SQ_LISTEN_DEFAULT_HEADER_TIMEOUT_MS,
	                             .max_connections = SQ_LISTEN_DEFAULT_MAX_CONNECTIONS,
	                             .max_per_address = SQ_LISTEN_DEFAULT_MAX_PER_ADDRESS };
	const char *textfile = NULL, *listen = NULL, *listen_only = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--header-timeout") == 0 && i + 1 < argc) {
			listen_only = a;
			lo.header_timeout_ms = parse_timeout(argv[++i]);
			if (lo.header_timeout_ms < 0) {
				fprintf(stderr, "sysq metrics: --header-timeout wants 1ms..300s "
				        "(got '%s')\n", argv[i]);
				return EXIT_USAGE;
			}
		} else if ((strcmp(a, "--max-connections") == 0 ||
		            strcmp(a, "--max-per-address") == 0) && i + 1 < argc) {
			listen_only = a;
			unsigned n = parse_count(argv[++i], MAX_LISTEN_CONNECTIONS);
			if (!n) {
				fprintf(stderr, "sysq metrics: %s wants 1..%u (got '%s')\n", a,
				        MAX_LISTEN_CONNECTIONS, argv[i]);
				return EXIT_USAGE;
			}
			if (strcmp(a, "--max-connections") == 0)
				lo.max_connections = n;
			else
				lo.max_per_address = n;
		} else if (strcmp(a, "--per-uid") == 0) {
			o.per_uid = true;
		} else if (strcmp(a, "--names") == 0 && i + 1 < argc) {
			const char *v = argv[++i];
			if (strcmp(v, "node") != 0 && strcmp(v, "sysq") != 0) {
				fprintf(stderr, "sysq metrics: --names wants sysq or node (got '%s')\n", v);
				return EXIT_USAGE;
			}
			o.node_names = strcmp(v, "node") == 0;
		} else if (strcmp(a, "--collect") == 0 && i + 1 < argc) {
			char err[160];
			const char *v = argv[++i];
			if (sq_metrics_collectors_parse(v, strlen(v), &o.collectors, err,
			                                sizeof(err)) < 0) {
				fprintf(stderr, "sysq metrics: --collect: %s\n", err);
				return EXIT_USAGE;
			}
		} else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
			o.timeout_ms = parse_timeout(argv[++i]);
			if (o.timeout_ms < 0) {
				fprintf(stderr, "sysq metrics: --timeout wants 1ms..300s (got '%s')\n",
				        argv[i]);
				return EXIT_USAGE;
			}
		} else if (strcmp(a, "--textfile") == 0 && i + 1 < argc) {
			textfile = argv[++i];
		} else if (strncmp(a, "--listen=", 9) == 0) {
			listen = a + 9;
		} else if (strcmp(a, "--listen") == 0) {
			listen = i + 1 < argc && argv[i + 1][0] != '-' ? argv[++i] : "127.0.0.1:9393";
		} else {
			return cli_usage("metrics");
		}
	}
	if (textfile && listen) {
		fprintf(stderr, "sysq metrics: --textfile and --listen do not go together\n");
		return EXIT_USAGE;
	}
	if (listen_only && !listen) {
		fprintf(stderr, "sysq metrics: %s goes with --listen\n", listen_only);
		return EXIT_USAGE;
	}
	if (listen)
		return sq_metrics_listen(listen, &o, &lo);

	struct sq_buf out;
	char err[600] = "";
	sq_buf_init(&out);
	int rc = sq_metrics_scrape(&o, &out, err, sizeof(err));
	int st = EXIT_OK;
	if (rc < 0) {
		fprintf(stderr, "sysq metrics: %s\n", err);
		st = rc == -ENOMEM ? EXIT_REMOTE : EXIT_CONNECT;
	} else if (textfile) {
		if (rc > 0) {
			fprintf(stderr, "sysq metrics: %s; %s/sysq.prom left as it was\n", err, textfile);
			st = EXIT_REMOTE;
		} else if ((rc = write_textfile(textfile, &out)) < 0) {
			fprintf(stderr, "sysq metrics: writing %s/sysq.prom: %s\n", textfile,
			        strerror(-rc));
			st = EXIT_REMOTE;
		}
	} else {
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
		if (fflush(stdout) != 0)
			st = EXIT_REMOTE;
		if (rc > 0) {
			fprintf(stderr, "sysq metrics: %s\n", err);
			st = EXIT_REMOTE;
		}
	}
	sq_buf_free(&out);
	return st;
}
