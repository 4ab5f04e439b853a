/* SPDX-License-Identifier: ISC */
/*
 * callerpath.c - the words for sq_callerpath_open's refusals, the same on
 * every system (the opening itself: callerpath_linux.c, callerpath_darwin.c).
 */
#include <errno.h>
#include <string.h>

#include "sq_callerpath.h"

const char *sq_callerpath_strerror(int rc)
{
	switch (rc) {
	case -EXDEV:
		return "the path goes through a process's descriptors (/proc/PID/fd, /dev/fd, "
		       "/dev/stdin, /proc/PID/cwd, ...) or into sysqd's own /proc entry, which "
		       "sysqd never follows for a caller";
	default:
		return strerror(-rc);
	}
}
