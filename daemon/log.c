/* SPDX-License-Identifier: ISC */
/*
 * log.c - sysqd's logger.  Plain lines with a level word on stderr, lines
 * with a "<N>" priority prefix when stderr is systemd's journal stream
 * (journald adds the time and the name), or syslog(3) with the matching
 * priority.  Threads may log: each line is one write(2) or one syslog call.
 * Control characters in a message become '?': one event is one line.
 *
 * --log auto (the default) chooses:
 *   - launchd started us: syslog (macOS's unified log; the plist's
 *     StandardErrorPath still catches anything written before or past it);
 *   - stderr is the journal stream named by $JOURNAL_STREAM: journal;
 *   - stderr is closed or /dev/null (detached by an init script): syslog;
 *   - otherwise stderr: a terminal, or a file or pipe whoever started
 *     sysqd reads (runit, s6, docker, `sysqd 2>log`).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

enum { TO_STDERR, TO_JOURNAL, TO_SYSLOG };

static int max_level = SQ_LOG_NOTICE;
static int to = TO_STDERR;

/* $JOURNAL_STREAM is "device:inode" of the stream systemd connected to
 * stdout/stderr; it only counts if fd 2 is still that stream. */
static bool stderr_is_journal(const struct stat *st)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	char extra;
	if (!e || sscanf(e, "%llu:%llu%c", &dev, &ino, &extra) != 2)
		return false;
	return (unsigned long long)st->st_dev == dev && (unsigned long long)st->st_ino == ino;
}

static bool is_dev_null(const struct stat *st)
{
	struct stat null;
	return S_ISCHR(st->st_mode) && stat("/dev/null", &null) == 0 &&
	       S_ISCHR(null.st_mode) && st->st_rdev == null.st_rdev;
}

void sq_log_init(int verbosity, enum sq_log_dest dest, bool under_launchd)
{
	struct stat st;
	bool open2 = fstat(STDERR_FILENO, &st) == 0;

	max_level = SQ_LOG_NOTICE + verbosity;
	if (dest == SQ_LOG_SYSLOG)
		to = TO_SYSLOG;
	else if (open2 && stderr_is_journal(&st))
		to = TO_JOURNAL;
	else if (dest == SQ_LOG_STDERR)
		to = TO_STDERR;
	else if (under_launchd || !open2 || is_dev_null(&st))
		to = TO_SYSLOG;
	else
		to = TO_STDERR;
	if (to == TO_SYSLOG)
		openlog("sysqd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

const char *sq_log_where(void)
{
	return to == TO_SYSLOG ? "syslog" : to == TO_JOURNAL ? "journal" : "stderr";
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
	/* one event, one line: bytes a client chose (param names, values) must
	 * not start a forged line of their own */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (to == TO_SYSLOG) {
		syslog(prio[level], "%s", line);
		return;
	}
	char out[1100];
	int n = to == TO_JOURNAL
	        ? snprintf(out, sizeof(out), "<%d>%s\n", prio[level], line)
	        : snprintf(out, sizeof(out), "sysqd: %s: %s\n", words[level], line);
	if (n > (int)sizeof(out) - 1) {
		n = (int)sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	ssize_t w = write(STDERR_FILENO, out, (size_t)n);
	(void)w;
}
