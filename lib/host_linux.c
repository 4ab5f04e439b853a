/* SPDX-License-Identifier: ISC */
/*
 * host_linux.c - the host's totals from /proc: uptime, stat (CPU times,
 * boot time, forks, context switches, runnable and blocked), loadavg (load
 * and the number of threads), meminfo, pressure/{cpu,memory,io}, and the
 * number of processes (the numeric entries of /proc).  The files stay open
 * (kept_open) and each is read whole with one pread at offset 0, then parsed
 * in place; a file that is not there leaves its figures out.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dents_linux.h"
#include "sq_host.h"

/* The files sys.host reads, in the order they are parsed. */
enum kept_file {
	K_UPTIME, K_LOADAVG, K_STAT, K_MEMINFO, K_PSI_CPU, K_PSI_MEMORY, K_PSI_IO, K_FILES
};
static const char *const kept_paths[K_FILES] = {
	"/proc/uptime", "/proc/loadavg", "/proc/stat", "/proc/meminfo",
	"/proc/pressure/cpu", "/proc/pressure/memory", "/proc/pressure/io",
};

/* Their descriptors, opened on first use and kept for the process's life,
 * as top(1) keeps /proc/stat: procfs makes such a file's text anew at every
 * read from offset 0 (seq_file), so a pread at 0 gives the figures of now
 * and saves the path walk, the open and the close, which cost as much as
 * the read.  pread keeps no file position: threads share the descriptors.
 * A file that is not there (a kernel without PSI) is remembered as absent;
 * another error (EMFILE) is tried again at the next reading.  The
 * descriptors (at most 8 with the /proc one below) are the process's own,
 * within the reserve of daemon/fdshare.h. */
#define KEPT_UNOPENED (-2)
#define KEPT_ABSENT   (-1)
static _Atomic int kept_fd[K_FILES] = {
	KEPT_UNOPENED, KEPT_UNOPENED, KEPT_UNOPENED, KEPT_UNOPENED,
	KEPT_UNOPENED, KEPT_UNOPENED, KEPT_UNOPENED,
};

/* The kept descriptor of file i: >= 0, or a negative errno (-ENOENT for one
 * that is not there). */
static int kept_open(enum kept_file i)
{
	int fd = atomic_load_explicit(&kept_fd[i], memory_order_acquire);
	if (fd >= 0)
		return fd;
	if (fd == KEPT_ABSENT)
		return -ENOENT;
	fd = open(kept_paths[i], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		int unopened = KEPT_UNOPENED;
		if (e == ENOENT)
			atomic_compare_exchange_strong(&kept_fd[i], &unopened, KEPT_ABSENT);
		return -e;
	}
	int unopened = KEPT_UNOPENED;
	if (!atomic_compare_exchange_strong(&kept_fd[i], &unopened, fd)) {
		close(fd); /* another thread opened it first */
		return unopened;
	}
	return fd;
}

/* The whole of kept file i into *buf (grown from *cap as needed; NUL-
 * terminated): one pread at 0 when it fits.  Its length, or a negative
 * errno. */
static ssize_t kept_read(enum kept_file i, char **buf, size_t *cap)
{
	int fd = kept_open(i);
	if (fd < 0)
		return fd;
	for (;;) {
		if (*cap < 8192) {
			char *nb = realloc(*buf, 8192);
			if (!nb)
				return -ENOMEM;
			*buf = nb;
			*cap = 8192;
		}
		ssize_t n = pread(fd, *buf, *cap - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if ((size_t)n < *cap - 1) {
			(*buf)[n] = '\0';
			return n;
		}
		/* filled: the file may be longer; read it again, whole, into twice as much */
		char *nb = realloc(*buf, *cap * 2);
		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap *= 2;
	}
}

static uint64_t num(const char **p)
{
	uint64_t v = 0;
	while (**p == ' ' || **p == '\t')
		(*p)++;
	while (**p >= '0' && **p <= '9')
		v = v * 10 + (uint64_t)(*(*p)++ - '0');
	return v;
}

static bool at_digit(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return *p >= '0' && *p <= '9';
}

/* "cpu  1 2 3 ..." or "cpu3 ...": the modes present, as seconds */
static void cpu_line(const char *p, struct sq_host_cpu *c, double hz)
{
	for (unsigned m = 0; m < SQ_CPU_NMODES && at_digit(p); m++) {
		c->s[m] = (double)num(&p) / hz;
		c->have |= 1u << m;
	}
}

static int parse_stat(struct sq_host *h, char *text, double hz)
{
	size_t ncpu = 0, cap = 0;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		const char *p;
		if (strncmp(line, "cpu", 3) == 0) {
			if (line[3] == ' ') {
				h->cpu.id = -1;
				cpu_line(line + 3, &h->cpu, hz);
				continue;
			}
			p = line + 3;
			if (!at_digit(p))
				continue;
			int id = (int)num(&p);
			if (ncpu == cap) {
				cap = cap ? cap * 2 : 8;
				struct sq_host_cpu *nc = realloc(h->cpus, cap * sizeof(*nc));
				if (!nc)
					return -ENOMEM;
				h->cpus = nc;
			}
			memset(&h->cpus[ncpu], 0, sizeof(h->cpus[ncpu]));
			h->cpus[ncpu].id = id;
			cpu_line(p, &h->cpus[ncpu], hz);
			ncpu++;
		} else if (strncmp(line, "btime ", 6) == 0) {
			p = line + 6;
			h->boot_time = (double)num(&p);
			h->have |= SQ_HOST_BOOT;
		} else {
			static const struct { const char *key; unsigned c; } k[] = {
				{ "processes ", SQ_COUNT_FORKS }, { "ctxt ", SQ_COUNT_CTXT },
				{ "procs_running ", SQ_COUNT_RUNNING },
				{ "procs_blocked ", SQ_COUNT_BLOCKED },
			};
			for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
				size_t n = strlen(k[i].key);
				if (strncmp(line, k[i].key, n) == 0) {
					p = line + n;
					h->count[k[i].c] = num(&p);
					h->count_have |= 1u << k[i].c;
				}
			}
		}
	}
	h->ncpus = ncpu;
	return 0;
}

static void parse_meminfo(struct sq_host *h, char *text)
{
	const unsigned all = (1u << SQ_MEM_N) - 1u;
	static const struct { const char *key; unsigned f; } k[] = {
		{ "MemTotal:", SQ_MEM_TOTAL }, { "MemAvailable:", SQ_MEM_AVAILABLE },
		{ "MemFree:", SQ_MEM_FREE }, { "Buffers:", SQ_MEM_BUFFERS },
		{ "Cached:", SQ_MEM_CACHED }, { "Shmem:", SQ_MEM_SHARED },
		{ "SwapTotal:", SQ_MEM_SWAP_TOTAL }, { "SwapFree:", SQ_MEM_SWAP_FREE },
	};
	for (char *line = text, *next; line && *line && h->mem_have != all; line = next) {
		next = strchr(line, '\n');
		if (next)
			next++;
		for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
			size_t n = strlen(k[i].key);
			if (strncmp(line, k[i].key, n) != 0)
				continue;
			const char *p = line + n;
			uint64_t v = num(&p);
			while (*p == ' ')
				p++;
			if (strncmp(p, "kB", 2) == 0)
				v *= 1024;
			h->mem[k[i].f] = v;
			h->mem_have |= 1u << k[i].f;
			break;
		}
	}
}

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" */
static void psi_line(const char *p, struct sq_psi_line *l)
{
	char *end;
	const char *a10 = strstr(p, "avg10="), *a60 = strstr(p, "avg60=");
	const char *a300 = strstr(p, "avg300="), *tot = strstr(p, "total=");
	if (!a10 || !a60 || !a300 || !tot)
		return;
	l->avg10 = strtod(a10 + 6, &end);
	l->avg60 = strtod(a60 + 6, &end);
	l->avg300 = strtod(a300 + 7, &end);
	tot += 6;
	l->total_us = num(&tot);
	l->have = 1;
}

static void parse_psi(struct sq_psi *s, char *text)
{
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, "some ", 5) == 0)
			psi_line(line + 5, &s->some);
		else if (strncmp(line, "full ", 5) == 0)
			psi_line(line + 5, &s->full);
	}
}

static bool is_pid(const char *name)
{
	return name[0] >= '1' && name[0] <= '9';
}

/* The numeric entries of /proc: one per process (threads are hidden).
 * Through a kept descriptor on /proc (opened on first use), rewound for each
 * count: a directory descriptor has one position, so one thread at a time
 * uses it, and a thread that finds it taken counts through its own. */
static pthread_mutex_t procdir_mu = PTHREAD_MUTEX_INITIALIZER;
static int procdir_fd = -1; /* under procdir_mu */

static int count_procs(uint64_t *out, char *buf, size_t size)
{
	if (pthread_mutex_trylock(&procdir_mu) != 0)
		return sq_dents_count(AT_FDCWD, "/proc", buf, size, is_pid, out);
	int rc;
	if (procdir_fd < 0)
		procdir_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procdir_fd < 0)
		rc = -errno;
	else if (lseek(procdir_fd, 0, SEEK_SET) < 0)
		rc = -errno;
	else
		rc = sq_dents_count_fd(procdir_fd, buf, size, is_pid, out);
	pthread_mutex_unlock(&procdir_mu);
	return rc;
}

int sq_host_read(struct sq_host *h)
{
	memset(h, 0, sizeof(*h));
	h->cpu.id = -1;
	long hz = sysconf(_SC_CLK_TCK);
	char *buf = NULL;
	size_t cap = 0;
	int any = 0, rc = 0;

	if (kept_read(K_UPTIME, &buf, &cap) > 0) {
		h->uptime_s = strtod(buf, NULL);
		h->have |= SQ_HOST_UPTIME;
		any++;
	}
	if (kept_read(K_LOADAVG, &buf, &cap) > 0) {
		char *p = buf, *end;
		for (int i = 0; i < 3; i++, p = end)
			h->load[i] = strtod(p, &end);
		h->have |= SQ_HOST_LOAD;
		/* "1/234": runnable / all scheduling entities (threads) */
		const char *slash = strchr(p, '/');
		if (slash) {
			slash++;
			h->count[SQ_COUNT_THREADS] = num(&slash);
			h->count_have |= 1u << SQ_COUNT_THREADS;
		}
		any++;
	}
	if (kept_read(K_STAT, &buf, &cap) > 0) {
		if ((rc = parse_stat(h, buf, hz > 0 ? (double)hz : 100.0)) < 0)
			goto out;
		any++;
	}
	if (kept_read(K_MEMINFO, &buf, &cap) > 0) {
		parse_meminfo(h, buf);
		any++;
	}
	for (unsigned i = 0; i < SQ_PSI_N; i++)
		if (kept_read((enum kept_file)(K_PSI_CPU + i), &buf, &cap) > 0)
			parse_psi(&h->psi[i], buf);
	if (cap < 32768) {
		char *nb = realloc(buf, 32768);
		if (!nb) {
			rc = -ENOMEM;
			goto out;
		}
		buf = nb;
		cap = 32768;
	}
	if (count_procs(&h->count[SQ_COUNT_PROCS], buf, cap) == 0)
		h->count_have |= 1u << SQ_COUNT_PROCS;
	rc = any ? 0 : -ENOENT;
out:
	free(buf);
	if (rc < 0)
		sq_host_free(h);
	return rc;
}

void sq_host_free(struct sq_host *h)
{
	free(h->cpus);
	h->cpus = NULL;
	h->ncpus = 0;
}
