/*
 * log.c - sysqd's logger.  Plain lines with a level word on stderr, or
 * syslog(3) with the matching priority.  Threads may log: each line is one
 * write(2) (stderr) or one syslog call.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static int max_level = SQ_LOG_NOTICE;
static int to_syslog;

void sq_log_init(int verbosity, int use_syslog)
{
	max_level = SQ_LOG_NOTICE + verbosity;
	to_syslog = use_syslog;
	if (to_syslog)
		openlog("sysqd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int sq_log_enabled(enum sq_log_level level)
{
	return (int)level <= max_level;
}

void sq_log(enum sq_log_level level, const char *fmt, ...)
{
	static const char *const words[] = { "error", "warning", "notice", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };
	char line[1024];
	va_list ap;

	if (!sq_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (to_syslog) {
		syslog(prio[level], "%s", line);
		return;
	}
	char out[1100];
	int n = snprintf(out, sizeof(out), "sysqd: %s: %s\n", words[level], line);
	if (n > (int)sizeof(out) - 1) {
		n = (int)sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	ssize_t w = write(STDERR_FILENO, out, (size_t)n);
	(void)w;
}
