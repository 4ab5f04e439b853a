/* SPDX-License-Identifier: ISC */
/*
 * bench_stats.h - the clock and the median every bench program takes its
 * figures with.  Header-only (static inline): each bench C file is its own
 * program.
 */
#ifndef SQ_BENCH_STATS_H
#define SQ_BENCH_STATS_H

#include <stdlib.h>
#include <time.h>

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

#endif
