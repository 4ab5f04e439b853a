/* SPDX-License-Identifier: ISC */
/*
 * procev_load.c - the fork+exec load of the process-events bench
 * (bench/procev_bench.c runs it): WORKERS threads of this one process each
 * vfork and exec PROGRAM (bench/procev_true: no libc, no loader) and reap
 * it, paced together at RATE processes a second (0: as fast as they go),
 * for at most SECONDS and at most COUNT processes.  Every child's parent is
 * this process, so one `ppid` filter names them all.  It waits for a line
 * on stdin before it starts (the subscriber names its pid first), then
 * prints "made N in S s" and exits.
 *
 * usage: procev_load PROGRAM RATE SECONDS WORKERS [COUNT]
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *program;
static double rate, start_s, end_s;
static long long max_count;
static atomic_llong next_ticket, made;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	struct timespec ts = { (time_t)t, (long)((t - (double)(time_t)t) * 1e9) };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Takes tickets: the ith process is due at start + i / rate. */
static void *worker(void *arg)
{
	char *const argv[] = { (char *)program, NULL };
	char *const envp[] = { NULL };
	(void)arg;
	for (;;) {
		long long i = atomic_fetch_add(&next_ticket, 1);
		if (i >= max_count)
			break;
		double now = now_s();
		if (now >= end_s)
			break; /* behind the pace: the time is up all the same */
		if (rate > 0) {
			double due = start_s + (double)i / rate;
			if (due >= end_s)
				break;
			if (due > now)
				sleep_until(due);
		}
		pid_t p = vfork();
		if (p == 0) {
			execve(program, argv, envp);
			_exit(127);
		}
		int st;
		if (p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			atomic_fetch_add(&made, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: procev_load PROGRAM RATE SECONDS WORKERS [COUNT]\n");
		return 2;
	}
	program = argv[1];
	rate = atof(argv[2]);
	double secs = atof(argv[3]);
	int workers = atoi(argv[4]);
	max_count = argc > 5 ? atoll(argv[5]) : (long long)1e12;
	if (workers < 1 || workers > 64 || secs <= 0 || secs > 600 || rate < 0) {
		fprintf(stderr, "procev_load: WORKERS 1..64, SECONDS 0..600, RATE >= 0\n");
		return 2;
	}
	if (access(program, X_OK) < 0) {
		perror(program);
		return 1;
	}
	pthread_t th[64];
	char line[16];
	if (!fgets(line, sizeof(line), stdin))
		return 1; /* no go: the bench went away */
	start_s = now_s();
	end_s = start_s + secs;
	for (int i = 0; i < workers; i++)
		if (pthread_create(&th[i], NULL, worker, NULL) != 0) {
			workers = i;
			break;
		}
	for (int i = 0; i < workers; i++)
		pthread_join(th[i], NULL);
	printf("made %lld in %.3f s\n", (long long)atomic_load(&made), now_s() - start_s);
	return 0;
}
