/* SPDX-License-Identifier: ISC */
/*
 * log.h - sysqd's logging: one line per event to stderr (foreground, or
 * systemd's journal with <N> priority prefixes) or syslog (launchd, or
 * started with nowhere to write).  sq_log_init picks; see log.c for the rules.
 */
#ifndef SQ_LOG_H
#define SQ_LOG_H

#include <stdbool.h>

enum sq_log_level { SQ_LOG_ERR, SQ_LOG_WARN, SQ_LOG_NOTICE, SQ_LOG_INFO, SQ_LOG_DEBUG };
/* What --log asked for. */
enum sq_log_dest { SQ_LOG_AUTO, SQ_LOG_STDERR, SQ_LOG_SYSLOG };

/* verbosity: 0 notices and worse, 1 info, 2 debug.  under_launchd: the
 * service manager says so (auto then means syslog). */
void sq_log_init(int verbosity, enum sq_log_dest dest, bool under_launchd);
/* Where lines go now: "stderr", "journal" (stderr read by journald) or "syslog". */
const char *sq_log_where(void);
void sq_log(enum sq_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int sq_log_enabled(enum sq_log_level level);

#endif
