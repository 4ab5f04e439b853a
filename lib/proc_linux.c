/* SPDX-License-Identifier: ISC */
/*
 * proc_linux.c - the process table from /proc, reading only the files the
 * requested fields need: stat (most fields), status (uid, euid, gid; and
 * VmRSS for rss, as ps shows it),
 * cmdline (args) and the exe link.  Each file is one open/read/close into a
 * stack buffer (no stdio); kernel threads skip cmdline and exe.  Big scans
 * are shared out over a few threads.  Runs with the calling thread's credentials,
 * so hidepid and ptrace-gated links (exe) are decided for the caller.
 * (sq_proc_kill lives in kill_linux.c.)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "dents_linux.h"
#include "proc_os.h"
#include "sq_proc.h"

#define F(x) SQ_PROC_BIT(SQ_PROC_##x)
#define NEED_STAT (F(PPID) | F(PGID) | F(SID) | F(STATE) | F(COMM) | F(START_TIME) | \
                   F(CPU_USER) | F(CPU_SYSTEM) | F(RSS) | F(VSIZE) | F(THREADS) |  \
                   F(NICE) | F(TTY) | F(CPU_PERCENT))
#define NEED_STATUS (F(UID) | F(EUID) | F(GID))
#define PF_KTHREAD 0x00200000u /* include/linux/sched.h: no mm, no cmdline, no exe */

struct scan {
	int procfd;
	unsigned fields;
	int64_t uid_filter;
	double boot_time;       /* Unix seconds at boot (CLOCK_BOOTTIME zero) */
	double tick_ns;         /* nanoseconds per clock tick */
	double uptime;          /* seconds since boot when the scan began */
	uint64_t page;
	int kthread;            /* the last stat parsed was a kernel thread's */
	struct sq_proc p;
	char exe[PATH_MAX + 16];
	char cgroup[PATH_MAX + 16];
	char dents[4096];       /* getdents64 scratch for counting descriptors */
};

/* Whole-file read into buf with one read(2) (procfs generates these files
 * at once).  Bytes read, or a negative errno. */
static ssize_t read_small(int dirfd, const char *path, char *buf, size_t size)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	ssize_t n;
	do
		n = read(fd, buf, size);
	while (n < 0 && errno == EINTR);
	int err = errno;
	close(fd);
	return n < 0 ? -err : n;
}

static int gone(ssize_t rc)
{
	return rc == -ENOENT || rc == -ESRCH;
}

/* Unsigned decimal at *pp (skipping one leading space), advancing it. */
static unsigned long long num(const char **pp, const char *end)
{
	const char *p = *pp;
	unsigned long long v = 0;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (p < end && *p >= '0' && *p <= '9')
		v = v * 10 + (unsigned long long)(*p++ - '0');
	*pp = p;
	return v;
}

static long long snum(const char **pp, const char *end)
{
	const char *p = *pp;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	int neg = p < end && *p == '-';
	if (neg)
		p++;
	*pp = p;
	unsigned long long v = num(pp, end);
	return neg ? -(long long)v : (long long)v;
}

/* Skip n space-separated fields. */
static void skip(const char **pp, const char *end, int n)
{
	const char *p = *pp;
	while (n-- > 0) {
		while (p < end && *p == ' ')
			p++;
		while (p < end && *p != ' ')
			p++;
	}
	*pp = p;
}

/* The name ps gives a tty_nr (Documentation/admin-guide/devices.txt). */
static void tty_name(unsigned long long nr, char *out, size_t size)
{
	unsigned major = (unsigned)((nr >> 8) & 0xfff);
	unsigned minor = (unsigned)((nr & 0xff) | ((nr >> 12) & 0xfff00));
	out[0] = '\0';
	if (nr == 0)
		return;
	if (major >= 136 && major <= 143)
		snprintf(out, size, "pts/%u", ((major - 136) << 8) + minor);
	else if (major == 4 && minor < 64)
		snprintf(out, size, "tty%u", minor);
	else if (major == 4)
		snprintf(out, size, "ttyS%u", minor - 64);
	else if (major == 5 && minor == 0)
		snprintf(out, size, "tty");
	else if (major == 5 && minor == 1)
		snprintf(out, size, "console");
	else if (major == 188)
		snprintf(out, size, "ttyUSB%u", minor);
	else if (major == 166)
		snprintf(out, size, "ttyACM%u", minor);
	else if (major == 204 && minor >= 64)
		snprintf(out, size, "ttyAMA%u", minor - 64);
	else if (major == 229)
		snprintf(out, size, "hvc%u", minor);
	else
		snprintf(out, size, "%u:%u", major, minor);
}

/*
 * "pid (comm) S ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
 *  cmajflt utime stime cutime cstime priority nice num_threads itrealvalue
 *  starttime vsize rss ..."  comm is raw bytes (spaces, ')' and newlines
 * included), so the fields start after the LAST ')'.
 */
static int parse_stat(struct scan *s, const char *buf, size_t len)
{
	struct sq_proc *p = &s->p;
	const char *end = buf + len;
	const char *open = memchr(buf, '(', len);
	const char *close = NULL;
	for (const char *q = end; q > buf; q--)
		if (q[-1] == ')') {
			close = q - 1;
			break;
		}
	if (!open || !close || close < open || end - close < 4)
		return -EIO;
	size_t clen = (size_t)(close - open - 1);
	if (clen > sizeof(p->comm))
		clen = sizeof(p->comm);
	memcpy(p->comm, open + 1, clen);
	p->comm_len = clen;

	const char *q = close + 2;
	p->state = *q++;
	p->ppid = (int32_t)snum(&q, end);
	p->pgid = (int32_t)snum(&q, end);
	p->sid = (int32_t)snum(&q, end);
	unsigned long long tty = num(&q, end);
	skip(&q, end, 1); /* tpgid */
	s->kthread = (num(&q, end) & PF_KTHREAD) != 0;
	skip(&q, end, 4); /* minflt cminflt majflt cmajflt */
	unsigned long long ut = num(&q, end), st = num(&q, end);
	skip(&q, end, 3); /* cutime cstime priority */
	p->nice = (int32_t)snum(&q, end);
	p->threads = (int32_t)snum(&q, end);
	skip(&q, end, 1); /* itrealvalue */
	unsigned long long start = num(&q, end);
	p->vsize_bytes = num(&q, end);
	p->rss_bytes = num(&q, end) * s->page;
	if (q >= end)
		return -EIO; /* cut short: not a stat line we know */
	p->cpu_user_ns = (uint64_t)((double)ut * s->tick_ns);
	p->cpu_system_ns = (uint64_t)((double)st * s->tick_ns);
	p->start_time = s->boot_time + (double)start * s->tick_ns / 1e9;
	/* as ps(1)'s %CPU: CPU time over the time since the process started */
	double life = s->uptime - (double)start * s->tick_ns / 1e9;
	p->cpu_percent = life > 0 ? (double)(ut + st) * s->tick_ns / 1e9 / life * 100.0 : 0.0;
	if (s->fields & F(TTY))
		tty_name(tty, p->tty, sizeof(p->tty));
	p->have |= NEED_STAT;
	return 0;
}

/* Uid:\treal\teffective\tsaved\tfs, Gid: the same.  The Name: line above
 * them escapes newlines, so the first "\nUid:" is the real one. */
static int parse_status(struct sq_proc *p, const char *buf, size_t len)
{
	const char *end = buf + len;
	const char *u = memmem(buf, len, "\nUid:", 5);
	const char *g = memmem(buf, len, "\nGid:", 5);
	if (!u || !g)
		return -EIO;
	u += 5;
	g += 5;
	p->uid = (uint32_t)num(&u, end);
	p->euid = (uint32_t)num(&u, end);
	p->gid = (uint32_t)num(&g, end);
	p->have |= NEED_STATUS;
	return 0;
}

/* VmRSS in kB (what ps shows: stat's rss is the kernel's approximate
 * count), or -1 where there is none (kernel threads, zombies). */
static long long status_vmrss(const char *buf, size_t len)
{
	const char *v = memmem(buf, len, "\nVmRSS:", 7);
	if (!v)
		return -1;
	v += 7;
	return (long long)num(&v, buf + len);
}

static bool not_dot(const char *name)
{
	return name[0] != '.';
}

/* The number of entries of PID/fd: 0, or a negative errno (EACCES: the
 * caller may not list them, and the field is left out). */
static int count_fds(struct scan *s, pid_t pid, uint32_t *out)
{
	char path[48];
	snprintf(path, sizeof(path), "%d/fd", (int)pid);
	uint64_t n;
	int rc = sq_dents_count(s->procfd, path, s->dents, sizeof(s->dents), not_dot, &n);
	if (rc == 0)
		*out = (uint32_t)n;
	return rc;
}

/* The cgroup v2 path ("0::/user.slice/...") into s->cgroup; its length, or
 * -1 when there is none (cgroup v1 only) or the file cannot be read. */
static ssize_t read_cgroup(struct scan *s, pid_t pid)
{
	char path[48];
	snprintf(path, sizeof(path), "%d/cgroup", (int)pid);
	ssize_t n = read_small(s->procfd, path, s->cgroup, sizeof(s->cgroup) - 1);
	if (n <= 0)
		return -1;
	s->cgroup[n] = '\0';
	char *line = s->cgroup;
	if (strncmp(line, "0::", 3) != 0) {
		line = strstr(s->cgroup, "\n0::");
		if (!line)
			return -1;
		line++;
	}
	line += 3;
	char *nl = strchr(line, '\n');
	size_t len = nl ? (size_t)(nl - line) : strlen(line);
	memmove(s->cgroup, line, len);
	return (ssize_t)len;
}

/* PID/io as the caller may read it (the kernel asks for ptrace-read access). */
static int read_io(struct scan *s, pid_t pid, struct sq_proc *p)
{
	char path[48], buf[512];
	snprintf(path, sizeof(path), "%d/io", (int)pid);
	ssize_t n = read_small(s->procfd, path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	static const struct { const char *key; size_t off; } k[] = {
		{ "rchar: ", offsetof(struct sq_proc, io_rchar) },
		{ "wchar: ", offsetof(struct sq_proc, io_wchar) },
		{ "\nread_bytes: ", offsetof(struct sq_proc, io_read_bytes) },
		{ "\nwrite_bytes: ", offsetof(struct sq_proc, io_write_bytes) },
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		const char *at = strstr(buf, k[i].key);
		if (!at)
			return -1;
		at += strlen(k[i].key);
		uint64_t v = strtoull(at, NULL, 10);
		memcpy((char *)p + k[i].off, &v, sizeof(v));
	}
	return 0;
}

/* cmdline into p->buf from offset 0; sets args_len/args_cut.  The kernel
 * fills a read as far as the arguments go (get_mm_cmdline loops over the
 * pages), so a short read is the end: one read(2) for almost everyone. */
static ssize_t read_cmdline(int dirfd, const char *path, struct sq_proc *p)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	p->args_cut = 0;
	for (;;) {
		if (len == SQ_PROC_ARGS_MAX) {
			char c;
			p->args_cut = read(fd, &c, 1) > 0;
			break;
		}
		if (sq_proc_reserve(p, len + 4096) < 0) {
			close(fd);
			return -ENOMEM;
		}
		size_t room = (p->cap > SQ_PROC_ARGS_MAX ? SQ_PROC_ARGS_MAX : p->cap) - len;
		ssize_t n = read(fd, p->buf + len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(fd);
			return -err;
		}
		len += (size_t)n;
		if ((size_t)n < room)
			break; /* short (or empty): that was all */
	}
	close(fd);
	p->args_len = len;
	return (ssize_t)len;
}

/*
 * Fill s->p for pid.  0 when filled, 1 when the process is to be skipped
 * (gone, or filtered out), -ENOMEM.  check_exists: the pid did not come
 * from readdir, so make sure it is there even when no file is needed.
 */
static int read_one(struct scan *s, pid_t pid, int check_exists)
{
	struct sq_proc *p = &s->p;
	unsigned want = s->fields;
	char path[48], buf[2048];
	ssize_t n;
	int any = 0;

	p->have = F(PID);
	p->pid = pid;
	p->args = p->exe = p->cgroup = NULL;
	p->args_len = p->exe_len = p->cgroup_len = 0;
	p->args_cut = 0;

	long long vmrss = -1;
	if ((want & (NEED_STATUS | F(RSS))) || s->uid_filter >= 0) {
		snprintf(path, sizeof(path), "%d/status", (int)pid);
		n = read_small(s->procfd, path, buf, sizeof(buf));
		if (gone(n))
			return 1;
		if (n >= 0 && parse_status(p, buf, (size_t)n) == 0)
			any = 1;
		if (n >= 0 && (want & F(RSS)))
			vmrss = status_vmrss(buf, (size_t)n);
		if (s->uid_filter >= 0 && (!(p->have & F(UID)) || p->uid != s->uid_filter))
			return 1;
	}
	s->kthread = 0;
	if (want & NEED_STAT) {
		snprintf(path, sizeof(path), "%d/stat", (int)pid);
		n = read_small(s->procfd, path, buf, sizeof(buf) - 1);
		if (gone(n))
			return 1;
		if (n > 0 && parse_stat(s, buf, (size_t)n) == 0)
			any = 1;
		if (vmrss >= 0)
			p->rss_bytes = (uint64_t)vmrss * 1024;
	}
	if (s->kthread) { /* known without asking: no arguments, no exe */
		want &= ~F(EXE);
		if (want & F(ARGS)) {
			p->have |= F(ARGS);
			want &= ~F(ARGS);
		}
	}
	/* sysqd's own exe link opens for any of its threads, whoever they act
	 * for; the kernel shows it only to who may ptrace sysqd: sysqd's uid */
	if (pid == getpid() && geteuid() != getuid())
		want &= ~F(EXE);
	size_t exe_len = 0;
	if (want & F(EXE)) {
		snprintf(path, sizeof(path), "%d/exe", (int)pid);
		n = readlinkat(s->procfd, path, s->exe, sizeof(s->exe));
		if (n >= 0 && (size_t)n < sizeof(s->exe)) {
			exe_len = (size_t)n;
			p->have |= F(EXE);
		}
	}
	if (want & F(ARGS)) {
		snprintf(path, sizeof(path), "%d/cmdline", (int)pid);
		n = read_cmdline(s->procfd, path, p);
		if (n == -ENOMEM)
			return -ENOMEM;
		if (gone(n))
			return 1;
		if (n >= 0) {
			p->have |= F(ARGS);
			any = 1;
		}
	}
	if ((want & F(FDS)) && count_fds(s, pid, &p->fds) == 0)
		p->have |= F(FDS);
	if ((want & F(IO)) && read_io(s, pid, p) == 0)
		p->have |= F(IO);
	ssize_t cg_len = (want & F(CGROUP)) ? read_cgroup(s, pid) : -1;
	if (cg_len >= 0)
		p->have |= F(CGROUP);
	if (!any && check_exists) {
		struct stat st;
		snprintf(path, sizeof(path), "%d", (int)pid);
		if (fstatat(s->procfd, path, &st, 0) < 0 && (errno == ENOENT || errno == ESRCH))
			return 1;
	}
	return sq_proc_own_strings(p, s->exe, exe_len, s->cgroup,
	                           cg_len >= 0 ? (size_t)cg_len : 0);
}

static int scan_open(struct scan *s, unsigned fields, int64_t uid_filter)
{
	memset(s, 0, offsetof(struct scan, p));
	memset(&s->p, 0, sizeof(s->p));
	s->fields = fields | F(PID);
	s->uid_filter = uid_filter;
	long tck = sysconf(_SC_CLK_TCK);
	s->tick_ns = 1e9 / (double)(tck > 0 ? tck : 100);
	long pg = sysconf(_SC_PAGESIZE);
	s->page = pg > 0 ? (uint64_t)pg : 4096;
	struct timespec rt, bt;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	s->boot_time = (double)(rt.tv_sec - bt.tv_sec) + (double)(rt.tv_nsec - bt.tv_nsec) / 1e9;
	s->uptime = (double)bt.tv_sec + (double)bt.tv_nsec / 1e9;
	s->procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return s->procfd < 0 ? -errno : 0;
}

static void scan_close(struct scan *s)
{
	sq_proc_release(&s->p);
	if (s->procfd >= 0)
		close(s->procfd);
}

/* A /proc entry name that is a pid, or -1. */
static pid_t pid_of(const char *name)
{
	long long v = 0;
	if (!*name)
		return -1;
	for (const char *c = name; *c; c++) {
		if (*c < '0' || *c > '9' || v > INT_MAX / 10)
			return -1;
		v = v * 10 + (*c - '0');
	}
	return v > 0 && v <= INT_MAX ? (pid_t)v : -1;
}

/*
 * Big scans are shared out: the pid list is cut into chunks of SQ_PROC_CHUNK
 * pids, and a few threads take the next chunk whenever they are free (so a
 * slow process, or a thread the machine is not running right now, does not
 * hold up the rest) and hand each process to the sink from that thread.
 * /proc reads are mostly the kernel formatting text, so this scales with
 * cores.  Helper threads are created by the calling thread and so start with
 * ITS credentials (clone(2) copies the creating task's), i.e. the caller's
 * when sysqd runs a request as the caller; each checks that before reading.
 */

struct shared {
	const pid_t *pids;
	size_t n;
	int check_exists;
	const struct sq_proc_sink *sink;
	atomic_size_t next;     /* the next chunk to take */
	atomic_int stop;        /* someone failed or the sink said stop */
};

struct worker {
	struct shared *sh;
	struct scan *s;
	int rc;
	uid_t euid, ruid;       /* the creator's: a helper must match them */
	pthread_t th;
	int started;
};

static void work(struct worker *w)
{
	struct shared *sh = w->sh;
	size_t nchunks = (sh->n + SQ_PROC_CHUNK - 1) / SQ_PROC_CHUNK;
	for (;;) {
		size_t c = atomic_fetch_add(&sh->next, 1);
		if (c >= nchunks || atomic_load(&sh->stop))
			return;
		size_t lo = c * SQ_PROC_CHUNK;
		size_t hi = lo + SQ_PROC_CHUNK < sh->n ? lo + SQ_PROC_CHUNK : sh->n;
		for (size_t i = lo; i < hi; i++) {
			int r1 = read_one(w->s, sh->pids[i], sh->check_exists);
			if (r1 == 0)
				r1 = sh->sink->proc(&w->s->p, c, sh->sink->arg);
			else if (r1 == 1)
				r1 = 0;
			if (r1 != 0) {
				w->rc = r1;
				atomic_store(&sh->stop, 1);
				return;
			}
		}
	}
}

static void *helper(void *arg)
{
	struct worker *w = arg;
	if (geteuid() != w->euid || getuid() != w->ruid) {
		w->rc = -EPERM; /* never read as anybody but the caller */
		atomic_store(&w->sh->stop, 1);
		return NULL;
	}
	work(w);
	return NULL;
}

static size_t split_count(size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t k = cpus > 0 ? (size_t)cpus : 1;
	if (k > SQ_PROC_SPLIT_MAX)
		k = SQ_PROC_SPLIT_MAX;
	if (k > n / SQ_PROC_SPLIT_MIN)
		k = n / SQ_PROC_SPLIT_MIN;
	return k ? k : 1;
}

static int scan_list(struct scan *s0, const pid_t *pids, size_t n, int check_exists,
                     const struct sq_proc_sink *sink)
{
	size_t nchunks = (n + SQ_PROC_CHUNK - 1) / SQ_PROC_CHUNK;
	int rc = sink->begin ? sink->begin(nchunks, sink->arg) : 0;
	if (rc != 0)
		return rc;
	struct shared sh = { .pids = pids, .n = n, .check_exists = check_exists, .sink = sink };
	atomic_init(&sh.next, 0);
	atomic_init(&sh.stop, 0);
	struct worker ws[SQ_PROC_SPLIT_MAX];
	memset(ws, 0, sizeof(ws));
	size_t k = sink->parallel ? split_count(n) : 1, nw = 0;
	for (; nw < k; nw++) {
		struct worker *w = &ws[nw];
		w->sh = &sh;
		w->euid = geteuid();
		w->ruid = getuid();
		if (nw == 0) {
			w->s = s0;
			continue;
		}
		w->s = malloc(sizeof(struct scan));
		if (!w->s)
			break; /* fewer helpers, that is all */
		memcpy(w->s, s0, offsetof(struct scan, p));
		memset(&w->s->p, 0, sizeof(w->s->p));
		w->started = pthread_create(&w->th, NULL, helper, w) == 0;
		if (!w->started) {
			free(w->s);
			break;
		}
	}
	work(&ws[0]);
	for (size_t j = 1; j < nw; j++) {
		pthread_join(ws[j].th, NULL);
		sq_proc_release(&ws[j].s->p);
		free(ws[j].s);
	}
	for (size_t j = 0; j < nw && rc == 0; j++)
		rc = ws[j].rc;
	return rc;
}

/*
 * sq_proc_scan on top of the chunked scan: processes are kept as records
 * per chunk (args and exe copied into per-chunk arenas), then replayed in
 * chunk order from the calling thread.  Small scans run on this thread
 * alone and go straight to the callback.
 */
struct rec {
	struct sq_proc p;       /* args/exe replaced by offsets into the arena */
	size_t args_off, exe_off, cgroup_off;
};

struct chunk {
	struct rec *recs;
	size_t nrec;
	char *arena;
	size_t alen, acap;
};

struct ordered {
	sq_proc_cb cb;
	void *arg;
	size_t max_held;
	atomic_size_t held;
	struct chunk *chunks;
	size_t nchunks;
};

static int ordered_begin(size_t nchunks, void *arg)
{
	struct ordered *o = arg;
	o->nchunks = nchunks;
	o->chunks = calloc(nchunks ? nchunks : 1, sizeof(*o->chunks));
	return o->chunks ? 0 : -ENOMEM;
}

static int arena_put(struct chunk *ch, const char *p, size_t n, size_t *off)
{
	*off = ch->alen;
	if (n == 0)
		return 0;
	if (ch->alen + n > ch->acap) {
		size_t cap = ch->acap ? ch->acap : 4096;
		while (cap < ch->alen + n)
			cap *= 2;
		char *a = realloc(ch->arena, cap);
		if (!a)
			return -ENOMEM;
		ch->arena = a;
		ch->acap = cap;
	}
	memcpy(ch->arena + ch->alen, p, n);
	ch->alen += n;
	return 0;
}

static int ordered_keep(const struct sq_proc *p, size_t chunk, void *arg)
{
	struct ordered *o = arg;
	struct chunk *ch = &o->chunks[chunk];
	size_t alen = (p->have & F(ARGS)) ? p->args_len : 0;
	size_t elen = (p->have & F(EXE)) ? p->exe_len : 0;
	size_t glen = (p->have & F(CGROUP)) ? p->cgroup_len : 0;
	size_t held = atomic_fetch_add(&o->held, sizeof(struct rec) + alen + elen + glen);
	if (o->max_held && held + sizeof(struct rec) + alen + elen + glen > o->max_held)
		return -E2BIG;
	if (!ch->recs) {
		ch->recs = malloc(SQ_PROC_CHUNK * sizeof(*ch->recs));
		if (!ch->recs)
			return -ENOMEM;
	}
	struct rec *r = &ch->recs[ch->nrec];
	r->p = *p;
	r->p.buf = NULL;
	r->p.cap = 0;
	r->p.args = r->p.exe = r->p.cgroup = NULL;
	if (arena_put(ch, p->args, alen, &r->args_off) < 0 ||
	    arena_put(ch, p->exe, elen, &r->exe_off) < 0 ||
	    arena_put(ch, p->cgroup, glen, &r->cgroup_off) < 0)
		return -ENOMEM;
	ch->nrec++;
	return 0;
}

static int direct(const struct sq_proc *p, size_t chunk, void *arg)
{
	struct ordered *o = arg;
	(void)chunk;
	return o->cb(p, o->arg);
}

static int scan_ordered(struct scan *s, const pid_t *pids, size_t n, int check_exists,
                        size_t max_held, sq_proc_cb cb, void *arg)
{
	struct ordered o = { .cb = cb, .arg = arg, .max_held = max_held };
	atomic_init(&o.held, 0);
	if (split_count(n) == 1) {
		struct sq_proc_sink one = { .proc = direct, .arg = &o };
		return scan_list(s, pids, n, check_exists, &one);
	}
	struct sq_proc_sink keep = { .begin = ordered_begin, .proc = ordered_keep, .arg = &o,
	                             .parallel = 1 };
	int rc = scan_list(s, pids, n, check_exists, &keep);
	for (size_t c = 0; c < o.nchunks && rc == 0; c++) {
		struct chunk *ch = &o.chunks[c];
		for (size_t i = 0; i < ch->nrec && rc == 0; i++) {
			struct sq_proc *p = &ch->recs[i].p;
			p->args = ch->arena ? ch->arena + ch->recs[i].args_off : NULL;
			p->exe = ch->arena ? ch->arena + ch->recs[i].exe_off : NULL;
			p->cgroup = ch->arena ? ch->arena + ch->recs[i].cgroup_off : NULL;
			rc = cb(p, arg);
		}
	}
	for (size_t c = 0; c < o.nchunks; c++) {
		free(o.chunks[c].recs);
		free(o.chunks[c].arena);
	}
	free(o.chunks);
	return rc;
}

/* Every pid in /proc, ascending (procfs lists them in pid order). */
static int list_pids(struct scan *s, pid_t **out, size_t *n)
{
	size_t cap = 1024;
	pid_t *v = malloc(cap * sizeof(*v));
	int dfd = dup(s->procfd);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!v || !d) {
		int err = v ? errno : ENOMEM;
		if (dfd >= 0 && !d)
			close(dfd);
		if (d)
			closedir(d);
		free(v);
		return -err;
	}
	struct dirent *e;
	*n = 0;
	while ((e = readdir(d)) != NULL) {
		pid_t pid = pid_of(e->d_name);
		if (pid < 0)
			continue;
		if (*n == cap) {
			pid_t *w = realloc(v, 2 * cap * sizeof(*v));
			if (!w) {
				closedir(d);
				free(v);
				return -ENOMEM;
			}
			v = w;
			cap *= 2;
		}
		v[(*n)++] = pid;
	}
	closedir(d);
	*out = v;
	return 0;
}

/* The pid list to scan, sorted (q->pids, or every pid in /proc). */
static int pid_list(struct scan *s, const struct sq_proc_query *q, pid_t **list, size_t *n)
{
	size_t npids = q->pids ? q->npids : 0;
	*list = NULL;
	*n = 0;
	if (!npids)
		return list_pids(s, list, n);
	pid_t *v = malloc(npids * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v, q->pids, npids * sizeof(*v));
	size_t k = sq_proc_sort_pids(v, npids), skip0 = 0;
	while (skip0 < k && v[skip0] <= 0) /* pids <= 0 sort first: drop them */
		skip0++;
	memmove(v, v + skip0, (k - skip0) * sizeof(*v));
	*list = v;
	*n = k - skip0;
	return 0;
}

static int scan_run(const struct sq_proc_query *q, const struct sq_proc_sink *sink,
                    sq_proc_cb cb, void *arg)
{
	struct scan *s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	int rc = scan_open(s, q->fields, q->by_uid ? (int64_t)q->uid : -1);
	pid_t *list = NULL;
	size_t n = 0;
	if (rc == 0)
		rc = pid_list(s, q, &list, &n);
	int check = q->pids && q->npids;
	if (rc == 0)
		rc = sink ? scan_list(s, list, n, check, sink)
		          : scan_ordered(s, list, n, check, q->max_held, cb, arg);
	free(list);
	scan_close(s);
	free(s);
	return rc;
}

int sq_proc_scan(const struct sq_proc_query *q, sq_proc_cb cb, void *arg)
{
	return scan_run(q, NULL, cb, arg);
}

int sq_proc_scan_chunked(const struct sq_proc_query *q, const struct sq_proc_sink *sink)
{
	return scan_run(q, sink, NULL, NULL);
}

/* One process at a time, for sq_proc_get (proc.c, proc_os.h). */
struct sq_proc_reader {
	struct scan s;
};

const size_t sq_proc_os_reader_size = sizeof(struct sq_proc_reader);

int sq_proc_os_open(struct sq_proc_reader *rd, unsigned fields)
{
	return scan_open(&rd->s, fields, -1);
}

struct sq_proc *sq_proc_os_proc(struct sq_proc_reader *rd)
{
	return &rd->s.p;
}

int sq_proc_os_read(struct sq_proc_reader *rd, pid_t pid)
{
	return read_one(&rd->s, pid, 1);
}

void sq_proc_os_close(struct sq_proc_reader *rd)
{
	scan_close(&rd->s);
}
