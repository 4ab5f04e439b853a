/* SPDX-License-Identifier: ISC */
/*
 * metrics_http.c - `sysq metrics --listen`: a scrape endpoint on GNU
 * libmicrohttpd (no HTTP parsing of ours).  GET|HEAD /metrics runs one
 * scrape (its own deadline, on a sysqd connection kept between scrapes);
 * other paths are 404, other methods 405.  Runs as whoever starts it;
 * sysqd never speaks HTTP.  Slow clients are bounded: a deadline for each
 * whole request (not per byte), a cap per client address and in all.
 * The library is loaded with dlopen when --listen starts, so every other
 * sysq command starts without it (and the TLS stack it pulls in).
 */
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cli.h"
#include "libsysq.h"
#include "metrics.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_RESULT;
#else
typedef enum MHD_Result MHD_RESULT;
#endif

/* ---- libmicrohttpd, loaded on demand ---------------------------------- */

/* Loading libmicrohttpd costs about 2 ms at every exec (it links GnuTLS,
 * nettle, gmp, p11-kit... and runs their constructors): more than a whole
 * `sysq df`.  Only --listen needs it, so it is opened here, by the ABI
 * version the headers describe (soname 12 since 0.9.x). */
static struct {
	__typeof__(&MHD_start_daemon) start_daemon;
	__typeof__(&MHD_stop_daemon) stop_daemon;
	__typeof__(&MHD_create_response_from_buffer) create_response_from_buffer;
	__typeof__(&MHD_add_response_header) add_response_header;
	__typeof__(&MHD_queue_response) queue_response;
	__typeof__(&MHD_destroy_response) destroy_response;
	__typeof__(&MHD_lookup_connection_value) lookup_connection_value;
	__typeof__(&MHD_get_connection_values) get_connection_values;
	__typeof__(&MHD_get_connection_info) get_connection_info;
} mhd;

#if defined(__APPLE__)
static const char *const mhd_names[] = {
	"libmicrohttpd.12.dylib",                   /* DYLD paths, /usr/local/lib */
	"/opt/homebrew/lib/libmicrohttpd.12.dylib", /* Homebrew on arm64 */
	"/opt/local/lib/libmicrohttpd.12.dylib",    /* MacPorts */
	NULL
};
#else
static const char *const mhd_names[] = { "libmicrohttpd.so.12", NULL };
#endif

/* dlsym's void * to a function pointer: POSIX guarantees it works, ISO C
 * does not spell it, hence the memcpy. */
static int mhd_sym(void *lib, const char *name, void *fnptr, size_t size)
{
	void *p = dlsym(lib, name);
	if (!p) {
		fprintf(stderr, "sysq metrics: libmicrohttpd has no %s: %s\n", name, dlerror());
		return -1;
	}
	memcpy(fnptr, &p, size);
	return 0;
}

#define MHD_SYM(lib, f) mhd_sym(lib, "MHD_" #f, &mhd.f, sizeof(mhd.f))

static int mhd_load(void)
{
	void *lib = NULL;
	const char *why = "";
	for (int i = 0; mhd_names[i] && !lib; i++) {
		lib = dlopen(mhd_names[i], RTLD_NOW | RTLD_LOCAL);
		if (!lib)
			why = dlerror();
	}
	if (!lib) {
		fprintf(stderr, "sysq metrics: --listen needs GNU libmicrohttpd (soname 12; "
		        "Debian: apt-get install libmicrohttpd12): %s\n", why);
		return -1;
	}
	if (MHD_SYM(lib, start_daemon) < 0 || MHD_SYM(lib, stop_daemon) < 0 ||
	    MHD_SYM(lib, create_response_from_buffer) < 0 ||
	    MHD_SYM(lib, add_response_header) < 0 || MHD_SYM(lib, queue_response) < 0 ||
	    MHD_SYM(lib, destroy_response) < 0 || MHD_SYM(lib, lookup_connection_value) < 0 ||
	    MHD_SYM(lib, get_connection_values) < 0 ||
	    MHD_SYM(lib, get_connection_info) < 0) {
		dlclose(lib);
		return -1;
	}
	return 0; /* kept open until exit */
}

/* ---- a deadline per request, not per byte --------------------------------- */

/* MHD's own timeout is for inactivity: every byte restarts it, so a client
 * that sends one header byte every few seconds would hold its connection
 * (and its thread) for ever.  So each connection has a deadline of its own:
 * a request (header and body) must have arrived within header_timeout of
 * the connection's start or of its previous response; while the handler
 * scrapes there is none (the scrape has --timeout), and the response must
 * then be taken within header_timeout.  A sweeper thread shuts down the
 * socket of a connection past its deadline: MHD's thread for it reads end
 * of file and closes it.  MHD reports a connection closed before it closes
 * its descriptor, under watch_mu as the sweep is, so the sweep never shuts
 * down a descriptor that is no longer this connection's. */
struct watched {
	struct watched *prev, *next;
	int fd;
	int64_t deadline_ms; /* monotonic; 0 while a scrape runs */
	bool cut;            /* shut down by the sweep */
};

static pthread_mutex_t watch_mu = PTHREAD_MUTEX_INITIALIZER;
static struct watched watch_list = { &watch_list, &watch_list, -1, 0, false };
static int64_t header_timeout_ms;
static bool sweep_stop;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	struct watched *w = *socket_context;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (!w)
			return;
		pthread_mutex_lock(&watch_mu);
		w->prev->next = w->next;
		w->next->prev = w->prev;
		pthread_mutex_unlock(&watch_mu);
		free(w);
		*socket_context = NULL;
		return;
	}
	const union MHD_ConnectionInfo *ci =
		mhd.get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	w = ci ? calloc(1, sizeof(*w)) : NULL;
	if (!w) { /* a connection no deadline would end is not served */
		if (ci)
			shutdown(ci->connect_fd, SHUT_RDWR);
		return;
	}
	w->fd = ci->connect_fd;
	pthread_mutex_lock(&watch_mu);
	w->deadline_ms = now_ms() + header_timeout_ms;
	w->next = &watch_list;
	w->prev = watch_list.prev;
	watch_list.prev->next = w;
	watch_list.prev = w;
	pthread_mutex_unlock(&watch_mu);
	*socket_context = w;
}

/* The connection's deadline: header_timeout from now, or none (!arm). */
static void rearm(struct MHD_Connection *conn, bool arm)
{
	const union MHD_ConnectionInfo *ci =
		mhd.get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct watched *w = ci ? ci->socket_context : NULL;
	if (!w)
		return;
	pthread_mutex_lock(&watch_mu);
	w->deadline_ms = arm ? now_ms() + header_timeout_ms : 0;
	pthread_mutex_unlock(&watch_mu);
}

/* A response was sent (or the request failed): the next request has its
 * deadline from now. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)con_cls;
	(void)toe;
	rearm(conn, true);
}

/* Shut down every connection past its deadline; how many. */
static unsigned sweep_once(void)
{
	unsigned n = 0;
	pthread_mutex_lock(&watch_mu);
	int64_t now = now_ms();
	for (struct watched *w = watch_list.next; w != &watch_list; w = w->next) {
		if (!w->cut && w->deadline_ms && now >= w->deadline_ms) {
			shutdown(w->fd, SHUT_RDWR);
			w->cut = true;
			n++;
		}
	}
	pthread_mutex_unlock(&watch_mu);
	return n;
}

static bool sweep_stopped(void)
{
	pthread_mutex_lock(&watch_mu);
	bool stop = sweep_stop;
	pthread_mutex_unlock(&watch_mu);
	return stop;
}

/* The sweeper: a few times per deadline, at most every 250 ms; a line on
 * stderr at most once a minute saying how many connections it closed. */
static void *sweeper(void *arg)
{
	(void)arg;
	int64_t tick = header_timeout_ms / 4;
	tick = tick < 10 ? 10 : tick > 250 ? 250 : tick;
	struct timespec ts = { 0, (long)tick * 1000000L };
	unsigned cut = 0;
	int64_t said = 0;
	while (!sweep_stopped()) {
		nanosleep(&ts, NULL);
		cut += sweep_once();
		if (cut && now_ms() - said >= 60000) {
			fprintf(stderr, "sysq metrics: closed %u connection(s) that took longer "
			        "than %lld ms to send a request or take a response\n", cut,
			        (long long)header_timeout_ms);
			said = now_ms();
			cut = 0;
		}
	}
	return NULL;
}

/* ---- the endpoint ------------------------------------------------------ */

static MHD_RESULT reply(struct MHD_Connection *conn, unsigned status, const char *ctype,
                        const char *body, size_t len, const char *allow)
{
	struct MHD_Response *resp =
		mhd.create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (allow)
		mhd.add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	MHD_RESULT rc = mhd.queue_response(conn, status, resp);
	mhd.destroy_response(resp);
	return rc;
}

/* One idle sysqd connection kept between scrapes: a scrape then costs no
 * connect, accept and credential lookup.  A scrape that finds it taken (two
 * scrapers at once) opens one of its own. */
static pthread_mutex_t kept_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sysq *kept;

static int scrape(const struct sq_scrape_opts *o, struct sq_buf *out, char *err, size_t errlen)
{
	pthread_mutex_lock(&kept_mu);
	struct sysq *c = kept;
	kept = NULL;
	pthread_mutex_unlock(&kept_mu);
	int rc = sq_metrics_scrape_kept(o, &c, out, err, errlen);
	if (c) {
		pthread_mutex_lock(&kept_mu);
		if (!kept) {
			kept = c;
			c = NULL;
		}
		pthread_mutex_unlock(&kept_mu);
		if (c)
			sysq_close(c);
	}
	return rc;
}

/* node_exporter's collect[]=NAME query params: the collectors to run. */
struct collect_args {
	unsigned mask;
	bool bad;
	char err[160];
};

static MHD_RESULT collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
	struct collect_args *a = cls;
	(void)kind;
	if (strcmp(key, "collect[]") != 0 || a->bad)
		return MHD_YES;
	if (!value || sq_metrics_collectors_parse(value, strlen(value), &a->mask, a->err,
	                                          sizeof(a->err)) < 0) {
		if (!value)
			snprintf(a->err, sizeof(a->err), "collect[] without a name");
		a->bad = true;
	}
	return MHD_YES;
}

static MHD_RESULT on_request(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version,
                             const char *upload_data, size_t *upload_data_size,
                             void **con_cls)
{
	const struct sq_scrape_opts *o = cls;
	static int first_call;
	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) { /* headers only so far: answer on the next call */
		*con_cls = &first_call;
		return MHD_YES;
	}
	if (*upload_data_size) { /* a body nobody asked for: drop it */
		*upload_data_size = 0;
		return MHD_YES;
	}
	static const char txt[] = "text/plain; charset=utf-8";
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		static const char m[] = "405 method not allowed: only GET and HEAD\n";
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, txt, m, sizeof(m) - 1, "GET, HEAD");
	}
	if (strcmp(url, "/metrics") != 0) {
		static const char m[] = "404 not found: the metrics are at /metrics\n";
		return reply(conn, MHD_HTTP_NOT_FOUND, txt, m, sizeof(m) - 1, NULL);
	}
	/* Prometheus says how long it will wait; answer (stale mounts and all)
	 * before that rather than be cut off */
	struct sq_scrape_opts so = *o;
	struct collect_args ca = { 0 };
	mhd.get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &ca);
	if (ca.bad) {
		char m[220];
		int n = snprintf(m, sizeof(m), "400 bad request: %s\n", ca.err);
		return reply(conn, MHD_HTTP_BAD_REQUEST, txt, m,
		             n < (int)sizeof(m) ? (size_t)n : sizeof(m) - 1, NULL);
	}
	if (ca.mask) /* among those --collect allows */
		so.collectors = (o->collectors ? o->collectors : SQ_MC_ALL) & ca.mask;
	if (ca.mask && !so.collectors) {
		static const char m[] = "400 bad request: none of the collect[] collectors is "
		                        "among those --collect allows\n";
		return reply(conn, MHD_HTTP_BAD_REQUEST, txt, m, sizeof(m) - 1, NULL);
	}
	const char *hdr = mhd.lookup_connection_value(conn, MHD_HEADER_KIND,
	                                              "X-Prometheus-Scrape-Timeout-Seconds");
	if (hdr) {
		char *end;
		double s = strtod(hdr, &end);
		if (end != hdr && s > 0 && s * 900 < so.timeout_ms)
			so.timeout_ms = s * 900 < 1 ? 1 : (int)(s * 900);
	}
	struct sq_buf out;
	char err[600];
	sq_buf_init(&out);
	err[0] = '\0';
	rearm(conn, false); /* the scrape has its own deadline */
	int rc = scrape(&so, &out, err, sizeof(err));
	rearm(conn, true);  /* now the client's: to take the response */
	MHD_RESULT r;
	if (rc < 0) {
		char m[700];
		int n = snprintf(m, sizeof(m), "503 sysqd did not answer: %s\n", err);
		fprintf(stderr, "sysq metrics: scrape failed: %s\n", err);
		r = reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, txt, m,
		          n < (int)sizeof(m) ? (size_t)n : sizeof(m) - 1, NULL);
	} else {
		if (rc > 0)
			fprintf(stderr, "sysq metrics: %d collector(s) failed: %s\n", rc, err);
		r = reply(conn, MHD_HTTP_OK, SQ_METRICS_CONTENT_TYPE, out.data ? out.data : "",
		          out.len, NULL);
	}
	sq_buf_free(&out);
	return r;
}

/* "HOST:PORT" or "[V6]:PORT" -> a listening socket, or -1 with a message. */
static int listen_on(const char *addr, char *shown, size_t shownlen)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr || !colon[1] || (size_t)(colon - addr) >= sizeof(host)) {
		fprintf(stderr, "sysq metrics: --listen wants HOST:PORT (got '%s')\n", addr);
		return -1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	                          .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *ai = NULL;
	int e = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
	if (e) {
		fprintf(stderr, "sysq metrics: --listen %s: %s\n", addr, gai_strerror(e));
		return -1;
	}
	int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		fprintf(stderr, "sysq metrics: --listen %s: %s\n", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char h[NI_MAXHOST], p[NI_MAXSERV];
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p),
	                NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(shown, shownlen, strchr(h, ':') ? "[%s]:%s" : "%s:%s", h, p);
	else
		snprintf(shown, shownlen, "%s", addr);
	return fd;
}

static struct MHD_Daemon *start_http(int fd, const struct sq_scrape_opts *o,
                                      const struct sq_listen_opts *l)
{
	return mhd.start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
			MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_request, (void *)(uintptr_t)o,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, l->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, l->max_per_address,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, /* inactivity, as a backstop */
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		MHD_OPTION_END);
}

int sq_metrics_listen(const char *addr, const struct sq_scrape_opts *o,
                      const struct sq_listen_opts *l)
{
	char shown[300];
	if (mhd_load() < 0)
		return EXIT_USAGE;
	int fd = listen_on(addr, shown, sizeof(shown));
	if (fd < 0)
		return EXIT_USAGE;
	/* SIGINT/SIGTERM are taken with sigwait below; MHD's threads and the
	 * sweeper inherit the mask, so none of them is interrupted */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	header_timeout_ms = l->header_timeout_ms;
	pthread_t sw;
	int e = pthread_create(&sw, NULL, sweeper, NULL);
	if (e) {
		fprintf(stderr, "sysq metrics: cannot start a thread: %s\n", strerror(e));
		close(fd);
		return EXIT_USAGE;
	}
	struct MHD_Daemon *d = start_http(fd, o, l);
	if (d)
		fprintf(stderr, "sysq metrics: listening on http://%s/metrics\n", shown);
	else
		fprintf(stderr, "sysq metrics: cannot start the HTTP server on %s\n", shown);
	int sig = 0;
	if (d) {
		sigwait(&set, &sig);
		fprintf(stderr, "sysq metrics: stopping (signal %d)\n", sig);
		mhd.stop_daemon(d); /* closes fd too; every request has finished */
	} else {
		close(fd);
	}
	pthread_mutex_lock(&watch_mu);
	sweep_stop = true;
	pthread_mutex_unlock(&watch_mu);
	pthread_join(sw, NULL);
	if (kept)
		sysq_close(kept);
	kept = NULL;
	return d ? EXIT_OK : EXIT_USAGE;
}
