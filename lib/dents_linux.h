/* SPDX-License-Identifier: ISC */
/*
 * dents_linux.h - counting a directory's entries with raw getdents64, for
 * /proc (host_linux.c: processes; proc_linux.c: a process's descriptors).
 * Private to lib/.
 */
#ifndef SQ_DENTS_LINUX_H
#define SQ_DENTS_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The entries of the directory dirfd/path (openat) whose name keep
 * accepts, read into buf[size] (no allocation, no DIR stream): 0 with *out
 * set, or a negative errno. */
int sq_dents_count(int dirfd, const char *path, char *buf, size_t size,
                   bool (*keep)(const char *name), uint64_t *out);
/* The same through an open directory descriptor, from where it stands
 * (lseek it to 0 to count again); fd stays open. */
int sq_dents_count_fd(int fd, char *buf, size_t size, bool (*keep)(const char *name),
                      uint64_t *out);

#endif
