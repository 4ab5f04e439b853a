/* SPDX-License-Identifier: ISC */
/*
 * sq_harden.h - least privilege for the daemon process, applied once at
 * start before any thread exists: no core dumps (they would carry other
 * users' data), no debugger attach, and on Linux only the capabilities
 * sysqd actually uses.
 */
#ifndef SQ_HARDEN_H
#define SQ_HARDEN_H

#include <stddef.h>

/* 0, or a negative errno with what failed in why (why may stay empty). */
int sq_harden_process(char *why, size_t whylen);
/* On a worker thread about to act for a caller (after sq_harden_process):
 * the capabilities a root caller would have itself, or only sysqd's base
 * set.  0, or a negative errno.  No-op where there are no capabilities. */
int sq_harden_caps_for_caller(int caller_is_root);
/* A short description of what is kept, for the log ("caps: setuid,...") */
const char *sq_harden_summary(void);

#endif
