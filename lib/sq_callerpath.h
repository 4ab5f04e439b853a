/* SPDX-License-Identifier: ISC */
/*
 * sq_callerpath.h - the one place that opens a path a caller named.  The
 * thread already runs as the caller, so the kernel decides access; what
 * this adds is that the path is never resolved through sysqd's own
 * process: the kernel lets a thread into its own descriptors and /proc
 * entry whoever it acts for, so /proc/self/fd/N, /dev/fd/N, /dev/stdin,
 * /proc/PID/cwd or /proc/self/environ would hand a caller sysqd's files.
 */
#ifndef SQ_CALLERPATH_H
#define SQ_CALLERPATH_H

#include <stdbool.h>
#include <sys/stat.h>

/*
 * Open path with open(2) flags (O_CLOEXEC is added; O_NOFOLLOW as open(2)
 * has it; on Linux O_PATH | O_NOFOLLOW opens a final symlink itself, on
 * macOS O_SYMLINK does).  No magic link (a process's descriptors, cwd,
 * root, exe: /proc/PID/fd/N, /dev/fd/N, ...) is followed on the way, and
 * nothing inside sysqd's own /proc/PID (or a thread's) is opened.
 * Linux: openat2(2) with RESOLVE_NO_MAGICLINKS; where the kernel has no
 * openat2 (before 5.6, or under valgrind), a walk of the path one component
 * at a time that follows ordinary links itself and no link on procfs.
 * Returns the descriptor or a negative errno: -EXDEV for such a path
 * (sq_callerpath_strerror says why), else the open's error.
 */
int sq_callerpath_open(const char *path, int flags);

/* Tests: 1 makes Linux walk the path even where openat2 exists. */
void sq_callerpath_force_walk(int on);

/* stat (lstat with nofollow) of a caller's path, by the same rules. */
int sq_callerpath_stat(const char *path, bool nofollow, struct stat *st);

/* strerror(-rc), saying what the two refusals above mean. */
const char *sq_callerpath_strerror(int rc);

#endif
