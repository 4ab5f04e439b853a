/* SPDX-License-Identifier: ISC */
/*
 * cmd_file.c - `sysq get PATH [-o OUT]`: copy a file through sysqd's
 * file.read (the daemon opens it as you).  Output goes to stdout, or to a
 * temporary file next to OUT renamed over it only once every byte arrived,
 * so OUT never looks complete when it is not; -o DIR writes DIR/<basename>
 * as curl -O.  A progress bar goes to stderr when stderr is a terminal, and
 * binary bytes are not written to a terminal unless -o - says so (curl).
 *
 * Only bytes file.end calls real are kept (a file that shrank has its last
 * chunk zero-padded).  To a regular file written at its end, or /dev/null,
 * each payload goes as it comes, by splice(2) on Linux (get_stream.c reads
 * the connection, lib/sq_splice.h moves the bytes), and a padded chunk is
 * cut back with ftruncate; to anything else the last chunk is held back
 * until the next message shows it was real.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "get_stream.h"
#include "sq_proto.h"
#include "sq_splice.h"

/* Direct output without splice: bytes per recv/write. */
#define COPY_BUF ((size_t)256 << 10)

struct get {
	const char *path;          /* as given */
	char abspath[PATH_MAX];    /* what the daemon is asked for */
	const char *out;           /* NULL: stdout */
	int fd;                    /* where the bytes go */
	uint64_t offset, length;
	bool has_offset, has_length, nofollow;
	bool dash;                 /* -o - given: stdout even when binary */
	bool guard;                /* stdout is a terminal: refuse binary */
	char outbuf[PATH_MAX];     /* -o DIR: DIR/<basename of path> */

	uint64_t total;            /* announced */
	uint64_t chunk;            /* announced: the largest file.data payload */
	bool unknown;              /* "size": nil: read to file.end, no bar */
	bool announced;            /* the response came */
	uint64_t received;         /* bin bytes of the chunks begun */
	uint64_t got;              /* bin bytes taken from the connection */
	uint64_t written;          /* bytes written to the output */
	uint64_t pending;          /* of those (direct) or held: the last chunk's,
	                            * real only once the next message says so */
	bool verbose;              /* -v: say how the bytes went */

	/* where the payload goes (choose_path) */
	bool direct;               /* to the output as it comes */
	bool seekable;             /* direct to a regular file, from start on */
	off_t start;
	bool splicing;             /* sp is ready */
	struct sq_splice sp;
	uint64_t spliced, copied;  /* payload bytes moved by splice / by copy */
	char *cbuf;                /* direct without splice: the copy buffer */
	char *held;                /* otherwise: the last chunk, held back */
	size_t held_len, held_cap;
	bool progress;
	bool bar_shown;
	double t0, last_draw;
};

/* The temporary output, removed on failure and on a fatal signal. */
static char tmp_path[PATH_MAX];

static void on_fatal_signal(int sig)
{
	if (tmp_path[0])
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "123", "64K", "1M", "2G", "1T" (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return -1;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)) || (v << shift) > INT64_MAX)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static void fmt_eta(double s, char *buf, size_t size)
{
	if (s < 0 || s > 359999) {
		snprintf(buf, size, "--:--");
		return;
	}
	unsigned t = (unsigned)(s + 0.5);
	if (t >= 3600)
		snprintf(buf, size, "%u:%02u:%02u", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, size, "%u:%02u", t / 60, t % 60);
}

static void draw(struct get *g, bool final)
{
	double now = now_s();
	if (!g->progress || (!final && now - g->last_draw < 0.1))
		return;
	g->last_draw = now;
	double el = now - g->t0;
	double rate = el > 0 ? (double)g->received / el : 0;
	double frac = g->total ? (double)g->received / (double)g->total : 1;
	char got[16], tot[16], rt[16], eta[16];
	char bar[25];
	int fill = (int)(frac * 24 + 0.5);
	for (int i = 0; i < 24; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[24] = '\0';
	human_bytes((double)g->received, got, sizeof(got));
	human_bytes((double)g->total, tot, sizeof(tot));
	human_bytes(rate, rt, sizeof(rt));
	if (final)
		fmt_eta(el, eta, sizeof(eta));
	else
		fmt_eta(rate > 0 ? (double)(g->total - g->received) / rate : -1, eta, sizeof(eta));
	fprintf(stderr, "\r%3d%% [%s] %7s / %-7s %7s/s  %s %s\033[K", (int)(frac * 100), bar,
	        got, tot, rt, final ? "in " : "ETA", eta);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
	g->bar_shown = !final;
}

/* Print a failure on its own line (after the bar, if any). */
static int fail(struct get *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct get *g, const char *fmt, ...)
{
	va_list ap;
	if (g->bar_shown)
		fputc('\n', stderr);
	g->bar_shown = false;
	fprintf(stderr, "sysq get: %s: ", g->path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (g->out && tmp_path[0])
		fprintf(stderr, "; %s was not written", g->out);
	fputc('\n', stderr);
	return EXIT_REMOTE;
}

/* Binary (a NUL in the first bytes, as curl judges) for a terminal. */
#define BINARY_REFUSED (-100000)

static int write_out(struct get *g, const char *p, size_t n)
{
	if (g->guard && g->written == 0 && n) {
		g->guard = false;
		if (memchr(p, '\0', n < 2000 ? n : 2000))
			return BINARY_REFUSED;
	}
	while (n) {
		ssize_t k = write(g->fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		n -= (size_t)k;
		g->written += (uint64_t)k;
	}
	return 0;
}

static int write_failed(struct get *g, int rc)
{
	if (rc != BINARY_REFUSED)
		return fail(g, "cannot write to %s: %s", g->out ? g->out : "stdout", strerror(-rc));
	if (g->bar_shown)
		fputc('\n', stderr);
	g->bar_shown = false;
	fprintf(stderr, "sysq get: %s: Binary output can mess up your terminal. Use --output - "
	        "to tell sysq to output it to your terminal anyway, or consider --output FILE "
	        "to save to a file.\n", g->path);
	return EXIT_USAGE;
}

static int parse_args(struct get *g, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		size_t alen = strcspn(a, "=");
		bool has_eq = a[alen] == '=';
#define OPT(name) (strncmp(a, name, alen) == 0 && alen == strlen(name))
#define VALUE() (has_eq ? a + alen + 1 : (i + 1 < argc ? argv[++i] : NULL))
		if (strcmp(a, "-o") == 0 || OPT("--output")) {
			if (!(v = VALUE()))
				return -1;
			g->out = strcmp(v, "-") == 0 ? NULL : v;
			g->dash = !g->out;
		} else if (OPT("--offset")) {
			if (!(v = VALUE()) || parse_size(v, &g->offset) < 0) {
				fprintf(stderr, "sysq get: --offset wants a byte count (123, 4K, 1M...)\n");
				return -1;
			}
			g->has_offset = true;
		} else if (OPT("--length")) {
			if (!(v = VALUE()) || parse_size(v, &g->length) < 0) {
				fprintf(stderr, "sysq get: --length wants a byte count (123, 4K, 1M...)\n");
				return -1;
			}
			g->has_length = true;
		} else if (strcmp(a, "--nofollow") == 0) {
			g->nofollow = true;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			g->verbose = true;
		} else if (strcmp(a, "--") == 0 && i + 1 == argc - 1 && !g->path) {
			g->path = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "sysq get: unknown option '%s'\n", a);
			return -1;
		} else if (!g->path) {
			g->path = a;
		} else {
			fprintf(stderr, "sysq get: one PATH only ('%s' is extra)\n", a);
			return -1;
		}
#undef OPT
#undef VALUE
	}
	return g->path && *g->path ? 0 : -1;
}

/* The daemon's working directory is not ours: send an absolute path. */
static int absolute(struct get *g)
{
	if (g->path[0] == '/') {
		if (strlen(g->path) >= sizeof(g->abspath))
			return -ENAMETOOLONG;
		strcpy(g->abspath, g->path);
		return 0;
	}
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	int n = snprintf(g->abspath, sizeof(g->abspath), "%s/%s",
	                 strcmp(cwd, "/") == 0 ? "" : cwd, g->path);
	return n < 0 || (size_t)n >= sizeof(g->abspath) ? -ENAMETOOLONG : 0;
}

/* Output: stdout, an existing non-regular file (/dev/null, a FIFO) written
 * in place, or a temporary file next to OUT. */
static int open_output(struct get *g)
{
	struct stat st;
	if (!g->out) {
		g->fd = STDOUT_FILENO;
		return 0;
	}
	if (stat(g->out, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* DIR/<basename of PATH>, as curl -O names it */
		size_t len = strlen(g->path);
		while (len > 1 && g->path[len - 1] == '/')
			len--;
		const char *b = g->path + len;
		while (b > g->path && b[-1] != '/')
			b--;
		size_t olen = strlen(g->out);
		int n = snprintf(g->outbuf, sizeof(g->outbuf), "%s%s%.*s", g->out,
		                 olen && g->out[olen - 1] == '/' ? "" : "/",
		                 (int)(g->path + len - b), b);
		if (n < 0 || (size_t)n >= sizeof(g->outbuf))
			return -ENAMETOOLONG;
		if (b == g->path + len || strcmp(b, "/") == 0)
			return -EISDIR;
		g->out = g->outbuf;
	}
	if (stat(g->out, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		g->fd = open(g->out, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		return g->fd < 0 ? -errno : 0;
	}
	const char *slash = strrchr(g->out, '/');
	const char *base = slash ? slash + 1 : g->out;
	int dlen = slash ? (int)(slash - g->out) + 1 : 0;
	int n = snprintf(tmp_path, sizeof(tmp_path), "%.*s.%s.sysq-XXXXXX", dlen, g->out, base);
	if (n < 0 || (size_t)n >= sizeof(tmp_path) || !*base) {
		tmp_path[0] = '\0';
		return -ENAMETOOLONG;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	g->fd = mkstemp(tmp_path);
	if (g->fd < 0) {
		int err = errno;
		tmp_path[0] = '\0';
		return -err;
	}
	return 0;
}

static void drop_output(struct get *g)
{
	if (g->out && g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	if (tmp_path[0]) {
		unlink(tmp_path);
		tmp_path[0] = '\0';
	}
}

/* Every byte is in: make the temporary file OUT (mode as a plain create). */
static int commit_output(struct get *g)
{
	if (!g->out)
		return 0;
	int rc = 0;
	if (tmp_path[0]) {
		mode_t um = umask(0);
		umask(um);
		if (fchmod(g->fd, 0666 & ~um) < 0 || fsync(g->fd) < 0)
			rc = -errno;
	}
	if (close(g->fd) < 0 && rc == 0)
		rc = -errno;
	g->fd = -1;
	if (rc == 0 && tmp_path[0] && rename(tmp_path, g->out) < 0)
		rc = -errno;
	if (rc == 0)
		tmp_path[0] = '\0';
	return rc;
}

static void pack_request(struct sysq *c, const struct get *g, uint32_t *id)
{
	msgpack_packer *pk = sysq_begin(c, "file.read", id);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1 + g->has_offset + g->has_length + g->nofollow);
	sq_pack_kv_str(pk, "path", g->abspath);
	if (g->has_offset)
		sq_pack_kv_u64(pk, "offset", g->offset);
	if (g->has_length)
		sq_pack_kv_u64(pk, "length", g->length);
	if (g->nofollow)
		sq_pack_kv_bool(pk, "nofollow", true);
}

static bool for_us(const struct sq_msg *m, const char *method, uint32_t id,
                   const msgpack_object **params)
{
	if (m->type != SQ_MSG_NOTIFY || m->method_len != strlen(method) ||
	    memcmp(m->method, method, m->method_len) != 0)
		return false;
	const msgpack_object *p = &m->params;
	if (p->type != MSGPACK_OBJECT_ARRAY || p->via.array.size != 1)
		return false;
	const msgpack_object *mid = sq_map_get(&p->via.array.ptr[0], "msgid");
	if (!mid || mid->type != MSGPACK_OBJECT_POSITIVE_INTEGER || mid->via.u64 != id)
		return false;
	*params = &p->via.array.ptr[0];
	return true;
}

/* ---- where the payload goes ------------------------------------------------------------ */

/* A regular file we write at its end (not O_APPEND: splice refuses it), or
 * /dev/null: the payload goes there as it comes, by splice(2) when it can,
 * and a padded last chunk is cut back afterwards.  Anything else (a pipe, a
 * terminal) gets each chunk once the next message shows it was real. */
static void choose_path(struct get *g)
{
	struct stat st, null;
	if (fstat(g->fd, &st) < 0)
		return;
	if (S_ISREG(st.st_mode)) {
		int fl = fcntl(g->fd, F_GETFL);
		off_t pos = lseek(g->fd, 0, SEEK_CUR);
		if (fl < 0 || (fl & O_APPEND) || pos < 0 || pos != st.st_size)
			return;
		g->direct = g->seekable = true;
		g->start = pos;
	} else if (S_ISCHR(st.st_mode) && stat("/dev/null", &null) == 0 &&
	           S_ISCHR(null.st_mode) && null.st_rdev == st.st_rdev) {
		g->direct = true;
	} else {
		return;
	}
	g->splicing = sq_splice_init(&g->sp) == 0;
}

#define LOST (-200000) /* the connection ended inside a payload */

/* recv exactly n bytes into p. */
static int recv_all(int fd, char *p, size_t n)
{
	while (n) {
		ssize_t k = recv(fd, p, n, MSG_WAITALL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return LOST;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Direct: len payload bytes from the socket to the output. */
static int pass_through(struct get *g, struct gstream *s, uint64_t len)
{
	while (len) {
		if (g->splicing && !g->sp.refused) {
			ssize_t k = sq_splice_move(&g->sp, s->fd, g->fd, len);
			if (k == -EINVAL && g->sp.refused && !g->sp.out_failed)
				continue; /* the socket cannot be spliced from: copy */
			if (k == 0 || (k < 0 && !g->sp.out_failed))
				return LOST;
			if (k < 0)
				return (int)k;
			if (g->sp.refused)
				g->copied += (uint64_t)k;
			else
				g->spliced += (uint64_t)k;
			g->written += (uint64_t)k;
			g->got += (uint64_t)k;
			len -= (uint64_t)k;
			continue;
		}
		if (!g->cbuf && !(g->cbuf = malloc(COPY_BUF)))
			return -ENOMEM;
		size_t n = len < COPY_BUF ? (size_t)len : COPY_BUF;
		ssize_t k;
		do
			k = recv(s->fd, g->cbuf, n, 0);
		while (k < 0 && errno == EINTR);
		if (k <= 0)
			return LOST;
		g->got += (uint64_t)k;
		int rc = write_out(g, g->cbuf, (size_t)k);
		if (rc < 0)
			return rc;
		g->copied += (uint64_t)k;
		len -= (uint64_t)k;
	}
	return 0;
}

/* A chunk of len bytes, mem (a whole message's bin) or on the socket. */
static int take_chunk(struct get *g, struct gstream *s, const char *mem, uint64_t len)
{
	int rc;
	if (g->held_len) { /* the chunk before was real: out with it */
		if ((rc = write_out(g, g->held, g->held_len)) < 0)
			return rc;
		g->held_len = 0;
	}
	g->pending = 0;
	const char *p = mem;
	size_t n = mem ? (size_t)len : gs_buffered(s, len, &p);
	if (g->direct) {
		if (n && (rc = write_out(g, p, n)) < 0)
			return rc;
		g->copied += n;
		if (!mem) {
			g->got += n;
			gs_consume(s, n);
			if ((rc = pass_through(g, s, len - n)) < 0)
				return rc;
		}
		g->pending = len;
		return 0;
	}
	if (len > g->held_cap) {
		char *h = realloc(g->held, (size_t)len);
		if (!h)
			return -ENOMEM;
		g->held = h;
		g->held_cap = (size_t)len;
	}
	if (n)
		memcpy(g->held, p, n);
	if (!mem) {
		g->got += n;
		gs_consume(s, n);
		if ((rc = recv_all(s->fd, g->held + n, (size_t)len - n)) < 0)
			return rc;
		g->got += len - n;
	}
	g->copied += len;
	g->held_len = g->pending = (size_t)len;
	return 0;
}

/* file.end says b real bytes: of the last chunk, keep only those. */
static int cut_back(struct get *g, uint64_t b)
{
	if (!g->direct)
		return g->held_len ? write_out(g, g->held, (size_t)(b - g->written)) : 0;
	if (b < g->written && g->seekable && ftruncate(g->fd, g->start + (off_t)b) < 0)
		return -errno;
	g->written = b;
	return 0;
}

/* Bytes known to be real so far (the last chunk is not, until told). */
static uint64_t confirmed(const struct get *g)
{
	return g->direct ? g->written - g->pending : g->written;
}

static int lost(struct get *g, int rc)
{
	char of[32] = "";
	if (!g->unknown)
		snprintf(of, sizeof(of), " of %" PRIu64, g->total);
	return fail(g, "lost the connection to sysqd after %" PRIu64 "%s bytes: %s",
	            g->got, of, strerror(rc == LOST ? ECONNRESET : -rc));
}

static int on_response(struct get *g, const struct sq_msg *m)
{
	if (m->error.type != MSGPACK_OBJECT_NIL) {
		char code[32], msg[400];
		obj_str(&m->error, "code", code, sizeof(code));
		obj_str(&m->error, "message", msg, sizeof(msg));
		return fail(g, "%s: %s", code[0] ? code : "EUNKNOWN", msg);
	}
	const msgpack_object *size = sq_map_get(&m->result, "size");
	if (size && size->type == MSGPACK_OBJECT_NIL) {
		/* procfs, sysfs...: the length comes with file.end */
		g->unknown = true;
		g->progress = false;
		g->total = UINT64_MAX;
	} else if (!size || size->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		return fail(g, "sysqd announced no size");
	} else {
		g->total = size->via.u64;
	}
	const msgpack_object *chunk = sq_map_get(&m->result, "chunk");
	if (!chunk || chunk->type != MSGPACK_OBJECT_POSITIVE_INTEGER || chunk->via.u64 == 0)
		return fail(g, "sysqd announced no chunk size");
	g->chunk = chunk->via.u64;
	g->announced = true;
	g->t0 = g->last_draw = now_s();
	g->last_draw -= 1;
	draw(g, false);
	return -1;
}

static int on_end(struct get *g, const msgpack_object *p)
{
	const msgpack_object *b = sq_map_get(p, "bytes");
	const msgpack_object *e = sq_map_get(p, "error");
	uint64_t base = confirmed(g);
	if (!b || b->type != MSGPACK_OBJECT_POSITIVE_INTEGER || b->via.u64 < base ||
	    b->via.u64 > base + g->pending)
		return fail(g, "sysqd's file.end does not match the data sent");
	int rc = cut_back(g, b->via.u64);
	g->held_len = g->pending = 0;
	if (rc < 0)
		return write_failed(g, rc);
	if (e && e->type == MSGPACK_OBJECT_MAP) {
		char code[32], msg[400];
		obj_str(e, "code", code, sizeof(code));
		obj_str(e, "message", msg, sizeof(msg));
		char of[32] = "";
		if (!g->unknown)
			snprintf(of, sizeof(of), " of %" PRIu64, g->total);
		return fail(g, "short transfer: %" PRIu64 "%s bytes: %s: %s", g->written, of, code,
		            msg);
	}
	if (!g->unknown && g->written != g->total)
		return fail(g, "short transfer: %" PRIu64 " of %" PRIu64 " bytes", g->written,
		            g->total);
	draw(g, true);
	return EXIT_OK;
}

/* One data chunk's header came (mem NULL: its payload is on the socket). */
static int on_data(struct get *g, struct gstream *s, const char *mem, uint64_t len)
{
	if (!g->announced || g->received + len > g->total)
		return fail(g, "sysqd sent data that was not announced");
	/* before taking it: a stream of unknown size to a pipe is held a chunk
	 * at a time */
	if (len > g->chunk)
		return fail(g, "sysqd sent %" PRIu64 " bytes in one file.data, larger than the chunk "
		            "it announced (%" PRIu64 ")", len, g->chunk);
	int rc = take_chunk(g, s, mem, len);
	if (rc == LOST)
		return lost(g, rc);
	if (rc < 0)
		return write_failed(g, rc);
	g->received += len;
	draw(g, false);
	return -1;
}

/* Receive the stream; returns an exit status. */
static int receive(struct get *g, struct sysq *c, uint32_t id)
{
	struct gstream s;
	const msgpack_object *p;
	int st = -1;
	gs_init(&s, sysq_fd(c), id);
	while (st < 0) {
		struct sq_msg m;
		uint64_t len;
		int rc = gs_next(&s, &m, &len);
		if (rc < 0) {
			st = lost(g, rc == -ECONNRESET ? LOST : rc);
		} else if (rc == GS_DATA) {
			st = on_data(g, &s, NULL, len);
		} else if (m.type == SQ_MSG_RESPONSE && m.msgid == id) {
			st = on_response(g, &m);
		} else if (for_us(&m, "file.data", id, &p)) {
			const msgpack_object *d = sq_map_get(p, "data");
			if (!d || d->type != MSGPACK_OBJECT_BIN)
				st = fail(g, "sysqd sent data that was not announced");
			else
				st = on_data(g, &s, d->via.bin.ptr, d->via.bin.size);
		} else if (for_us(&m, "file.end", id, &p)) {
			st = on_end(g, p);
		} else if (m.type == SQ_MSG_NOTIFY && m.method_len == 9 &&
		           memcmp(m.method, "sys.error", 9) == 0) {
			const msgpack_object *e = m.params.type == MSGPACK_OBJECT_ARRAY &&
			                          m.params.via.array.size == 1
			                          ? &m.params.via.array.ptr[0] : NULL;
			char code[32] = "", msg[400] = "";
			obj_str(e, "code", code, sizeof(code));
			obj_str(e, "message", msg, sizeof(msg));
			st = fail(g, "sysqd closed the connection: %s: %s", code, msg);
		} /* else someone else's message */
	}
	gs_free(&s);
	/* a failure to stdout as a file leaves only what was known real */
	if (st != EXIT_OK && g->direct && g->seekable && !g->out && g->written > confirmed(g))
		(void)!ftruncate(g->fd, g->start + (off_t)confirmed(g));
	return st;
}

int cmd_get(struct cli *cli, int argc, char **argv)
{
	struct get g = { .fd = -1, .sp = { .pipe = { -1, -1 } } };
	uint32_t id;
	int rc;

	if (parse_args(&g, argc, argv) < 0) {
		return cli_usage("get");
	}
	if ((rc = absolute(&g)) < 0) {
		fprintf(stderr, "sysq get: %s: %s\n", g.path, strerror(-rc));
		return EXIT_USAGE;
	}
	g.progress = isatty(STDERR_FILENO);
	g.guard = !g.out && !g.dash && isatty(STDOUT_FILENO);
	struct sysq *c = cli_connect(cli); /* exits with EXIT_CONNECT */
	if ((rc = open_output(&g)) < 0) {
		fprintf(stderr, "sysq get: cannot write %s: %s\n", g.out, strerror(-rc));
		return EXIT_REMOTE;
	}
	choose_path(&g);
	pack_request(c, &g, &id);
	if ((rc = sysq_flush(c)) < 0) {
		int st = fail(&g, "lost the connection to sysqd: %s", strerror(-rc));
		drop_output(&g);
		return st;
	}
	int st = receive(&g, c, id);
	if (st == EXIT_OK && (rc = commit_output(&g)) < 0)
		st = fail(&g, "cannot write %s: %s", g.out, strerror(-rc));
	if (st != EXIT_OK)
		drop_output(&g);
	if (g.verbose)
		fprintf(stderr, "sysq get: %s: %" PRIu64 " bytes written; payload: %" PRIu64
		        " spliced, %" PRIu64 " copied\n", g.path, g.written, g.spliced, g.copied);
	if (g.splicing)
		sq_splice_free(&g.sp);
	free(g.cbuf);
	free(g.held);
	return st;
}
