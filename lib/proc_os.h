/* SPDX-License-Identifier: ISC */
/*
 * proc_os.h - what lib/proc.c (portable: sq_proc_get, the caller's buffer
 * lent to the read and handed back) needs from proc_<os>.c: a reader of
 * one process at a time.  Private to lib/.
 */
#ifndef SQ_PROC_OS_H
#define SQ_PROC_OS_H

#include "sq_proc.h"

struct sq_proc_reader; /* proc_<os>.c's scan state, allocated by proc.c */
extern const size_t sq_proc_os_reader_size;

/* Make rd a reader of fields (pid is always read): 0, or a negative errno;
 * sq_proc_os_close it either way. */
int sq_proc_os_open(struct sq_proc_reader *rd, unsigned fields);
/* What it reads into; set its buf and cap first to lend it a buffer. */
struct sq_proc *sq_proc_os_proc(struct sq_proc_reader *rd);
/* Read pid: 0, 1 when there is no such process, or a negative errno. */
int sq_proc_os_read(struct sq_proc_reader *rd, pid_t pid);
/* Release what rd and its sq_proc hold (take a lent buffer back first). */
void sq_proc_os_close(struct sq_proc_reader *rd);

#endif
