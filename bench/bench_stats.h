/* SPDX-License-Identifier: ISC */
/*
 * bench_stats.h - the clock, the median and the CPU reading every bench
 * program takes its figures with.  Header-only (static inline): each bench C file is its own
 * program.
 */
#ifndef SQ_BENCH_STATS_H
#define SQ_BENCH_STATS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* CLOCK_MONOTONIC in microseconds */
static inline double bn_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* qsort's comparison of doubles, ascending */
static inline int bn_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median of v[0..n) (n > 0); sorts v in place. */
static inline double bn_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bn_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The CPU time pid used so far (utime + stime of /proc/PID/stat, all its
 * threads), in seconds; -1 when it cannot be read (pid <= 0, not Linux). */
static inline double bn_cpu_s(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = pid > 0 ? fopen(path, "re") : NULL;
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
	unsigned long long ut, st;
	/* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	                 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

#endif
