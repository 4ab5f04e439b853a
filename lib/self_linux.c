/* SPDX-License-Identifier: ISC */
/*
 * self_linux.c - own threads and RSS from this process's /proc/PID/stat
 * (read by lib/proc_linux.c), open descriptors from the size the kernel
 * reports for /proc/self/fd (Linux 6.2+), else by counting its entries.
 */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sq_proc.h"
#include "sq_self.h"

/* Threads and RSS as the process table reads them (lib/proc_linux.c's
 * parser of /proc/PID/stat, for this process). */
static int read_stat(struct sq_self *s)
{
	struct sq_proc p = { 0 };
	int rc = sq_proc_get(getpid(), SQ_PROC_BIT(SQ_PROC_THREADS) | SQ_PROC_BIT(SQ_PROC_RSS), &p);
	if (rc == 0) {
		s->threads = p.threads;
		s->rss_bytes = p.rss_bytes;
	}
	sq_proc_release(&p);
	return rc;
}

static int64_t count_fds(void)
{
	/* Since Linux 6.2 stat(2) on /proc/PID/fd gives the number of open
	 * descriptors as st_size: one call instead of a directory walk */
	struct stat st;
	if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0)
		return (int64_t)st.st_size;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	int64_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* not counting the descriptor of the scan itself */
}

int sq_self_read(struct sq_self *s)
{
	s->threads = -1;
	s->open_fds = -1;
	s->rss_bytes = 0;
	int rc = read_stat(s);
	int64_t fds = count_fds();
	if (fds >= 0)
		s->open_fds = fds;
	return rc < 0 ? rc : fds < 0 ? (int)fds : 0;
}
