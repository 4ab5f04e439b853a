/*
 * self_linux.c - own threads and RSS from /proc/self/status, open
 * descriptors by counting /proc/self/fd.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sq_self.h"

int sq_self_read(struct sq_self *s)
{
	s->threads = -1;
	s->open_fds = -1;
	s->rss_bytes = 0;

	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return -errno;
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		if (sscanf(line, "Threads: %llu", &v) == 1)
			s->threads = (int64_t)v;
		else if (sscanf(line, "VmRSS: %llu kB", &v) == 1)
			s->rss_bytes = v * 1024u;
	}
	fclose(f);

	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	int64_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	s->open_fds = n - 1; /* not counting the descriptor of the scan itself */
	return 0;
}
