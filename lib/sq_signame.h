/* SPDX-License-Identifier: ISC */
/*
 * sq_signame.h - signal names <-> numbers, the same on every OS (signame.c).
 *
 * The wire and the CLI name signals ("TERM", "SIGTERM", "term"), because
 * Linux and macOS number most of them differently; numbers are accepted
 * too, meaning this OS's numbering.
 */
#ifndef SQ_SIGNAME_H
#define SQ_SIGNAME_H

#include <stddef.h>

/* The signal for "TERM", "SIGTERM", "sigterm", "15", "0", or (Linux)
 * "RTMIN+2"; -EINVAL when this OS has no such signal.  len bytes of s. */
int sq_signal_parse(const char *s, size_t len);
/* A number this OS can send (0 included: the existence check), or -EINVAL. */
int sq_signal_check(long long sig);
/* "TERM" for SIGTERM (no "SIG" prefix), "RTMIN+2", or NULL when unnamed. */
const char *sq_signal_name(int sig, char *buf, size_t size);
/* The largest signal number this OS has. */
int sq_signal_max(void);

#endif
