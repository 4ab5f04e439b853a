/* SPDX-License-Identifier: ISC */
/*
 * ps_fields.c - sysq ps's columns as procps' ps(1) names, heads, sizes and
 * prints them (-o pid,user,%cpu,...): numbers right-aligned, text left, the
 * last column unpadded; a column is at least as wide as ps makes it, so a
 * header alone lines up as ps's does, and wider when a value needs it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps.h"

const char *const ps_wire[W_N] = {
	"pid", "ppid", "pgid", "sid", "uid", "euid", "state", "comm", "args", "start_time",
	"cpu_user_ns", "cpu_system_ns", "rss_bytes", "vsize_bytes", "threads", "nice", "tty",
};

enum kind {
	K_PID, K_PPID, K_PGID, K_SID, K_USER, K_RUSER, K_EUID, K_RUID, K_TTY, K_STATE, K_NICE,
	K_NLWP, K_VSZ, K_RSS, K_PMEM, K_PCPU, K_TIME, K_STARTED, K_STIME, K_ETIME, K_COMM, K_ARGS,
};

#define B(w) (1u << (w))
#define W_CPU (B(W_CPU_USER) | B(W_CPU_SYSTEM))

static const struct field {
	const char *name, *header;
	enum kind kind;
	int width;        /* ps's; 0: the pid width */
	char align;       /* 'r' or 'l' */
	unsigned needs;
} fields[] = {
	{ "pid", "PID", K_PID, 0, 'r', B(W_PID) },
	{ "ppid", "PPID", K_PPID, 0, 'r', B(W_PPID) },
	{ "pgid", "PGID", K_PGID, 0, 'r', B(W_PGID) },
	{ "pgrp", "PGRP", K_PGID, 0, 'r', B(W_PGID) },
	{ "sid", "SID", K_SID, 0, 'r', B(W_SID) },
	{ "sess", "SESS", K_SID, 0, 'r', B(W_SID) },
	{ "user", "USER", K_USER, 8, 'l', B(W_EUID) },
	{ "euser", "EUSER", K_USER, 8, 'l', B(W_EUID) },
	{ "uname", "USER", K_USER, 8, 'l', B(W_EUID) },
	{ "ruser", "RUSER", K_RUSER, 8, 'l', B(W_UID) },
	{ "uid", "UID", K_EUID, 5, 'r', B(W_EUID) },
	{ "euid", "EUID", K_EUID, 5, 'r', B(W_EUID) },
	{ "ruid", "RUID", K_RUID, 5, 'r', B(W_UID) },
	{ "tty", "TT", K_TTY, 8, 'l', B(W_TTY) },
	{ "tt", "TT", K_TTY, 8, 'l', B(W_TTY) },
	{ "tname", "TTY", K_TTY, 8, 'l', B(W_TTY) },
	{ "s", "S", K_STATE, 1, 'l', B(W_STATE) },
	{ "state", "S", K_STATE, 1, 'l', B(W_STATE) },
	{ "ni", "NI", K_NICE, 3, 'r', B(W_NICE) },
	{ "nice", "NI", K_NICE, 3, 'r', B(W_NICE) },
	{ "nlwp", "NLWP", K_NLWP, 4, 'r', B(W_THREADS) },
	{ "thcount", "THCNT", K_NLWP, 5, 'r', B(W_THREADS) },
	{ "vsz", "VSZ", K_VSZ, 6, 'r', B(W_VSIZE) },
	{ "vsize", "VSZ", K_VSZ, 6, 'r', B(W_VSIZE) },
	{ "rss", "RSS", K_RSS, 5, 'r', B(W_RSS) },
	{ "rsz", "RSZ", K_RSS, 5, 'r', B(W_RSS) },
	{ "rssize", "RSS", K_RSS, 5, 'r', B(W_RSS) },
	{ "%mem", "%MEM", K_PMEM, 4, 'r', B(W_RSS) },
	{ "pmem", "%MEM", K_PMEM, 4, 'r', B(W_RSS) },
	{ "%cpu", "%CPU", K_PCPU, 4, 'r', W_CPU | B(W_START) },
	{ "pcpu", "%CPU", K_PCPU, 4, 'r', W_CPU | B(W_START) },
	{ "time", "TIME", K_TIME, 8, 'r', W_CPU },
	{ "cputime", "TIME", K_TIME, 8, 'r', W_CPU },
	{ "start", "STARTED", K_STARTED, 8, 'r', B(W_START) },
	{ "start_time", "START", K_STIME, 5, 'r', B(W_START) },
	{ "stime", "STIME", K_STIME, 5, 'r', B(W_START) },
	{ "etime", "ELAPSED", K_ETIME, 11, 'r', B(W_START) },
	{ "comm", "COMMAND", K_COMM, 15, 'l', B(W_COMM) },
	{ "ucomm", "COMMAND", K_COMM, 15, 'l', B(W_COMM) },
	{ "ucmd", "CMD", K_COMM, 15, 'l', B(W_COMM) },
	{ "args", "COMMAND", K_ARGS, 27, 'l', B(W_ARGS) | B(W_COMM) },
	{ "command", "COMMAND", K_ARGS, 27, 'l', B(W_ARGS) | B(W_COMM) },
	{ "cmd", "CMD", K_ARGS, 27, 'l', B(W_ARGS) | B(W_COMM) },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static int find(const char *name, size_t len)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (strlen(fields[i].name) == len && strncmp(fields[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

int ps_parse_fields(const char *arg, struct ps_col *cols, size_t *ncols, size_t max)
{
	const char *p = arg;
	while (*p) {
		size_t len = strcspn(p, ", =");
		if (len) {
			int f = find(p, len);
			if (f < 0) {
				fprintf(stderr, "sysq ps: unknown field '%.*s' (pid ppid pgid pgrp sid "
				        "sess user euser uname ruser uid euid ruid tty tt tname s state "
				        "ni nice nlwp thcount vsz vsize rss rsz rssize %%mem pmem %%cpu pcpu time "
				        "cputime start start_time stime etime comm ucomm ucmd args "
				        "command cmd)\n", (int)len, p);
				return -1;
			}
			if (*ncols == max) {
				fprintf(stderr, "sysq ps: at most %zu fields\n", max);
				return -1;
			}
			cols[*ncols].field = f;
			cols[*ncols].header = fields[f].header;
			(*ncols)++;
		}
		p += len;
		if (*p == '=') { /* as ps: the rest of the argument is the header */
			if (!len) {
				fprintf(stderr, "sysq ps: a header without a field: '%s'\n", arg);
				return -1;
			}
			cols[*ncols - 1].header = p + 1;
			break;
		}
		if (*p)
			p++;
	}
	return 0;
}

unsigned ps_field_needs(int field)
{
	return fields[field].needs;
}

bool ps_field_wants_mem_total(int field)
{
	return fields[field].kind == K_PMEM;
}

static unsigned long long g_mem_kib;

void ps_set_mem_total(unsigned long long bytes)
{
	g_mem_kib = bytes / 1024;
}

int ps_sort_field(const char *name)
{
	static const struct { const char *old, *now; } alias[] = {
		{ "cpu", "time" }, { "command", "args" }, { "start", "start_time" },
	};
	for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
		if (strcmp(name, alias[i].old) == 0)
			name = alias[i].now;
	return find(name, strlen(name));
}

/* ---- values --------------------------------------------------------------- */

static double g_now;

static double now(void)
{
	if (g_now == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		g_now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	}
	return g_now;
}

/* ps's %MEM: resident over total memory (KiB both), in tenths of a
 * percent, at most 99.9 */
static unsigned long long pmem(const struct ps_row *w)
{
	unsigned long long p = g_mem_kib ? w->rss / 1024 * 1000 / g_mem_kib : 0;
	return p > 999 ? 999 : p;
}

/* ps's %CPU: CPU time over the process's life, in tenths of a percent,
 * whole seconds of life as ps counts them */
static unsigned long long pcpu(const struct ps_row *w)
{
	long long secs = (long long)now() - (long long)w->start;
	return secs > 0 ? w->cpu_ns / 1000000ull / (unsigned long long)secs : 0;
}

static void fmt_time(unsigned long long s, char *buf, size_t size)
{
	unsigned long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
	if (d)
		snprintf(buf, size, "%llu-%02llu:%02llu:%02llu", d, h, m, s % 60);
	else
		snprintf(buf, size, "%02llu:%02llu:%02llu", h, m, s % 60);
}

static void fmt_etime(long long s, char *buf, size_t size)
{
	if (s < 0)
		s = 0;
	long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
	if (d)
		snprintf(buf, size, "%lld-%02lld:%02lld:%02lld", d, h, m, s % 60);
	else if (h)
		snprintf(buf, size, "%02lld:%02lld:%02lld", h, m, s % 60);
	else
		snprintf(buf, size, "%02lld:%02lld", m, s % 60);
}

static void fmt_start(const struct ps_row *w, enum kind k, char *buf, size_t size)
{
	time_t t = (time_t)w->start, n = (time_t)now();
	static struct tm nt;   /* now's, the same for every row */
	static bool nt_set;
	struct tm pt;
	localtime_r(&t, &pt);
	if (!nt_set) {
		localtime_r(&n, &nt);
		nt_set = true;
	}
	const char *fmt;
	if (k == K_STARTED)
		fmt = n - t > 86400 ? "%b %e" : "%H:%M:%S";
	else if (nt.tm_year != pt.tm_year)
		fmt = "%Y";
	else
		fmt = nt.tm_yday != pt.tm_yday ? "%b%d" : "%H:%M";
	strftime(buf, size, fmt, &pt);
}

/* v in decimal into buf (at least 24 bytes): snprintf's format parsing
 * was a tenth of sysq ps's own time at 8,000 processes. */
static const char *dec(long long v, char *buf, size_t size)
{
	char *e = buf + size - 1, *p = e;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	*p = '\0';
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) && p > buf + 1);
	if (v < 0)
		*--p = '-';
	return p;
}

/* The cell of field f for row w, in buf (or a string of the row's). */
static const char *cell(const struct ps_row *w, int f, char *buf, size_t size)
{
	const struct field *d = &fields[f];
	if ((w->have & d->needs) != d->needs && !(d->kind == K_ARGS && w->command))
		return "-";
	switch (d->kind) {
	case K_PID: return dec(w->pid, buf, size);
	case K_PPID: return dec(w->ppid, buf, size);
	case K_PGID: return dec(w->pgid, buf, size);
	case K_SID: return dec(w->sid, buf, size);
	case K_USER: return w->user;
	case K_RUSER: return w->ruser;
	case K_EUID: return dec(w->euid, buf, size);
	case K_RUID: return dec(w->uid, buf, size);
	case K_TTY: return w->tty[0] ? w->tty : "?";
	case K_STATE: snprintf(buf, size, "%c", w->state); break;
	case K_NICE: return dec(w->nice, buf, size);
	case K_NLWP: return dec(w->threads, buf, size);
	case K_VSZ: return dec((long long)(w->vsz / 1024), buf, size);
	case K_RSS: return dec((long long)(w->rss / 1024), buf, size);
	case K_PMEM: {
		if (!g_mem_kib)
			return "-";
		unsigned long long p = pmem(w);
		snprintf(buf, size, "%llu.%llu", p / 10, p % 10);
		break;
	}
	case K_PCPU: {
		unsigned long long p = pcpu(w);
		if (p > 999)
			snprintf(buf, size, "%llu", p / 10);
		else
			snprintf(buf, size, "%llu.%llu", p / 10, p % 10);
		break;
	}
	case K_TIME: fmt_time(w->cpu_ns / 1000000000ull, buf, size); break;
	case K_STARTED:
	case K_STIME: fmt_start(w, d->kind, buf, size); break;
	case K_ETIME: fmt_etime((long long)now() - (long long)w->start, buf, size); break;
	case K_COMM: return w->comm;
	case K_ARGS: return w->command;
	}
	return buf;
}

/* ---- sorting ------------------------------------------------------------- */

static int g_field, g_desc;

static int cmp_num(double a, double b)
{
	return (a > b) - (a < b);
}

static int cmp_rows(const void *va, const void *vb)
{
	const struct ps_row *a = va, *b = vb;
	int c = 0;
	switch (fields[g_field].kind) {
	case K_PID: break;
	case K_PPID: c = cmp_num((double)a->ppid, (double)b->ppid); break;
	case K_PGID: c = cmp_num((double)a->pgid, (double)b->pgid); break;
	case K_SID: c = cmp_num((double)a->sid, (double)b->sid); break;
	case K_USER: c = strcmp(a->user, b->user); break;
	case K_RUSER: c = strcmp(a->ruser, b->ruser); break;
	case K_EUID: c = cmp_num((double)a->euid, (double)b->euid); break;
	case K_RUID: c = cmp_num((double)a->uid, (double)b->uid); break;
	case K_TTY: c = strcmp(a->tty, b->tty); break;
	case K_STATE: c = (a->state > b->state) - (a->state < b->state); break;
	case K_NICE: c = cmp_num((double)a->nice, (double)b->nice); break;
	case K_NLWP: c = cmp_num((double)a->threads, (double)b->threads); break;
	case K_VSZ: c = cmp_num((double)a->vsz, (double)b->vsz); break;
	case K_RSS:
	case K_PMEM: c = cmp_num((double)a->rss, (double)b->rss); break;
	case K_PCPU: c = cmp_num((double)pcpu(a), (double)pcpu(b)); break;
	case K_TIME: c = cmp_num((double)a->cpu_ns, (double)b->cpu_ns); break;
	case K_STARTED:
	case K_STIME: c = cmp_num(a->start, b->start); break;
	case K_ETIME: c = cmp_num(b->start, a->start); break;
	case K_COMM: c = strcmp(a->comm, b->comm); break;
	case K_ARGS: c = strcmp(a->command, b->command); break;
	}
	if (c == 0)
		c = cmp_num((double)a->pid, (double)b->pid);
	return g_desc ? -c : c;
}

void ps_sort(struct ps_row *rows, size_t n, int field, int desc)
{
	g_field = field;
	g_desc = desc;
	qsort(rows, n, sizeof(*rows), cmp_rows);
}

/* ---- printing ------------------------------------------------------------ */

/* Digits of the largest pid (Linux: pid_max), as ps sizes its pid columns. */
static int pid_width(void)
{
	int w = 5;
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	if (f) {
		char buf[32];
		if (fgets(buf, sizeof(buf), f) && buf[0] >= '1' && buf[0] <= '9') {
			long long v = strtoll(buf, NULL, 10) - 1; /* pid_max itself is never used */
			int n = 0;
			for (; v > 0; v /= 10)
				n++;
			if (n > w)
				w = n;
		}
		fclose(f);
	}
	return w;
}

/* A growing line, cut at `width` characters (0: never). */
struct line {
	char *s;
	size_t len, cap, chars, width;
};

static void put(struct line *l, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int lead = (c & 0xc0) != 0x80;
		if (l->width && lead && l->chars == l->width)
			return;
		if (l->len + 2 > l->cap) {
			l->cap = l->cap ? l->cap * 2 : 256;
			l->s = realloc(l->s, l->cap);
			if (!l->s) {
				perror("sysq");
				exit(1);
			}
		}
		l->s[l->len++] = (char)c;
		l->chars += (size_t)lead;
	}
}

static void pad(struct line *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(l, " ", 1);
}

static size_t chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void emit(FILE *f, struct line *l, const struct ps_col *cols, size_t ncols,
                 const char *const *v, const size_t *w)
{
	l->len = l->chars = 0;
	for (size_t c = 0; c < ncols; c++) {
		const struct field *d = &fields[cols[c].field];
		int last = c + 1 == ncols;
		size_t n = chars(v[c]);
		if (c)
			put(l, " ", 1);
		if (d->align == 'r')
			pad(l, w[c] > n ? w[c] - n : 0);
		put(l, v[c], strlen(v[c]));
		if (d->align != 'r' && !last)
			pad(l, w[c] > n ? w[c] - n : 0);
	}
	l->s[l->len] = '\0';
	fputs(l->s, f);
	fputc('\n', f);
}

void ps_print(FILE *f, const struct ps_col *cols, size_t ncols, const struct ps_row *rows,
              size_t n, size_t width)
{
	size_t *w = calloc(ncols, sizeof(*w));
	const char **v = calloc(ncols, sizeof(*v));
	char (*buf)[64] = calloc(ncols, sizeof(*buf));
	if (!w || !v || !buf) {
		perror("sysq");
		exit(1);
	}
	int pw = pid_width(), headers = 0;
	for (size_t c = 0; c < ncols; c++) {
		const struct field *d = &fields[cols[c].field];
		w[c] = (size_t)(d->width ? d->width : pw);
		if (chars(cols[c].header) > w[c])
			w[c] = chars(cols[c].header);
		headers |= cols[c].header[0] != '\0';
	}
	/* ps cuts a user name that does not fit: root, but systemd+ */
	for (size_t i = 0; i < n; i++)
		for (size_t c = 0; c + 1 < ncols; c++) {
			size_t k = chars(cell(&rows[i], cols[c].field, buf[c], sizeof(buf[c])));
			if (k > w[c] && fields[cols[c].field].kind != K_USER &&
			    fields[cols[c].field].kind != K_RUSER)
				w[c] = k;
		}
	struct line l = { .cap = 256, .width = width };
	l.s = malloc(l.cap);
	if (!l.s) {
		perror("sysq");
		exit(1);
	}
	if (headers) {
		for (size_t c = 0; c < ncols; c++)
			v[c] = cols[c].header;
		emit(f, &l, cols, ncols, v, w);
	}
	char user[2][64];
	for (size_t i = 0; i < n; i++) {
		for (size_t c = 0; c < ncols; c++) {
			v[c] = cell(&rows[i], cols[c].field, buf[c], sizeof(buf[c]));
			enum kind k = fields[cols[c].field].kind;
			if ((k == K_USER || k == K_RUSER) && c + 1 < ncols && chars(v[c]) > w[c] &&
			    w[c] < sizeof(user[0])) {
				char *u = user[k == K_RUSER];
				snprintf(u, w[c], "%s", v[c]); /* w - 1 bytes */
				strcat(u, "+");
				v[c] = u;
			}
		}
		emit(f, &l, cols, ncols, v, w);
	}
	free(l.s);
	free(buf);
	free(v);
	free(w);
}
