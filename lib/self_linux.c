/*
 * self_linux.c - own threads and RSS from one read of /proc/self/stat, open
 * descriptors from the size the kernel reports for /proc/self/fd (Linux
 * 6.2+), else by counting its entries.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sq_self.h"

/* Fields 20 (num_threads) and 24 (rss, pages) of /proc/self/stat, counted
 * after the comm field's LAST ')' (comm may hold spaces and parentheses). */
static int read_stat(struct sq_self *s)
{
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int err = errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? -err : -EIO;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p++;
	/* p is at the space before field 3 (state) */
	for (int field = 3; field <= 24; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EIO;
		if (field == 20)
			s->threads = strtoll(p, NULL, 10);
		else if (field == 24) {
			long long pages = strtoll(p, NULL, 10);
			long psz = sysconf(_SC_PAGESIZE);
			s->rss_bytes = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
		}
		while (*p && *p != ' ')
			p++;
	}
	return 0;
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
