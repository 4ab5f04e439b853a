/* SPDX-License-Identifier: ISC */
/*
 * proc_known.h - what sysqd last read of each live process it saw fork or
 * exec, kept until its exit, for the events of a process gone by the time
 * they are handled (watch_proc.c).  At most PROC_KNOWN_MAX processes (a
 * table under 4 MiB); beyond, a process is simply not remembered.
 */
#ifndef SQ_PROC_KNOWN_H
#define SQ_PROC_KNOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sq_procev.h"

#define PROC_KNOWN_MAX (1u << 15)

/* creds: a snapshot was read; else only the ppid (from the fork) is known. */
struct known {
	pid_t pid;                       /* 0: a free slot */
	pid_t ppid;                      /* -1: unknown */
	bool creds, caps;
	uid_t uid[3], owner;
	gid_t gid[3];
	uint8_t comm_len;
	char comm[16];
};

struct known_table {
	struct known *v;
	size_t n, cap;                   /* cap: 0 or a power of two */
};

struct known *known_find(const struct known_table *t, pid_t pid);
/* pid's entry (a new one: zeroed, ppid -1), or NULL when full or out of memory. */
struct known *known_put(struct known_table *t, pid_t pid);
void known_drop(struct known_table *t, pid_t pid);
/* What a snapshot says, into k (creds set). */
void known_set(struct known *k, const struct sq_procsnap *s);
void known_clear(struct known_table *t);

#endif
