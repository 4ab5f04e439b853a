/*
 * metrics_http.c - `sysq metrics --listen`: a scrape endpoint on GNU
 * libmicrohttpd (no HTTP parsing of ours).  GET|HEAD /metrics runs one
 * scrape (its own deadline, on a sysqd connection kept between scrapes);
 * other paths are 404, other methods 405.  Runs as whoever starts it;
 * sysqd never speaks HTTP.
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
	    MHD_SYM(lib, destroy_response) < 0 || MHD_SYM(lib, lookup_connection_value) < 0) {
		dlclose(lib);
		return -1;
	}
	return 0; /* kept open until exit */
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
	int rc = scrape(&so, &out, err, sizeof(err));
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

int sq_metrics_listen(const char *addr, const struct sq_scrape_opts *o)
{
	char shown[300];
	if (mhd_load() < 0)
		return EXIT_USAGE;
	int fd = listen_on(addr, shown, sizeof(shown));
	if (fd < 0)
		return EXIT_USAGE;
	/* SIGINT/SIGTERM are taken with sigwait below; MHD's threads inherit
	 * the mask, so none of them is interrupted */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct MHD_Daemon *d = mhd.start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_request, (void *)(uintptr_t)o,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
		MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "sysq metrics: cannot start the HTTP server on %s\n", shown);
		close(fd);
		return EXIT_USAGE;
	}
	fprintf(stderr, "sysq metrics: listening on http://%s/metrics\n", shown);
	int sig = 0;
	sigwait(&set, &sig);
	fprintf(stderr, "sysq metrics: stopping (signal %d)\n", sig);
	mhd.stop_daemon(d); /* closes fd too; every request has finished */
	if (kept)
		sysq_close(kept);
	kept = NULL;
	return EXIT_OK;
}
