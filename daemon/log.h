/*
 * log.h - sysqd's logging: one line per event to stderr (foreground,
 * systemd/journald) or syslog (detached).
 */
#ifndef SQ_LOG_H
#define SQ_LOG_H

enum sq_log_level { SQ_LOG_ERR, SQ_LOG_WARN, SQ_LOG_NOTICE, SQ_LOG_INFO, SQ_LOG_DEBUG };

void sq_log_init(int verbosity, int use_syslog);
void sq_log(enum sq_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int sq_log_enabled(enum sq_log_level level);

#endif
