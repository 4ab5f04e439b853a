/* SPDX-License-Identifier: ISC */
/*
 * self_darwin.c - own threads, RSS and open descriptors on macOS through
 * proc_pidinfo (PROC_PIDTASKINFO and PROC_PIDLISTFDS).
 */
#include <errno.h>
#include <libproc.h>
#include <sys/proc_info.h>
#include <unistd.h>

#include "sq_self.h"

int sq_self_read(struct sq_self *s)
{
	struct proc_taskinfo ti;

	s->threads = -1;
	s->open_fds = -1;
	s->rss_bytes = 0;
	int n = proc_pidinfo(getpid(), PROC_PIDTASKINFO, 0, &ti, sizeof(ti));
	if (n != (int)sizeof(ti))
		return -errno;
	s->threads = ti.pti_threadnum;
	s->rss_bytes = ti.pti_resident_size;
	int bytes = proc_pidinfo(getpid(), PROC_PIDLISTFDS, 0, NULL, 0);
	if (bytes > 0)
		s->open_fds = bytes / (int)PROC_PIDLISTFD_SIZE;
	return 0;
}
