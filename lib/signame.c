/* SPDX-License-Identifier: ISC */
/*
 * signame.c - signal names <-> numbers (sq_signame.h), portable: each name
 * is compiled only where the OS defines it, so "PWR" is EINVAL on macOS and
 * "INFO" on Linux.  Aliases (IOT, CLD, POLL) follow the primary names so
 * sq_signal_name() gives the usual one.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sq_signame.h"

struct sig {
	const char *name;
	int num;
};

#define S(x) { #x, SIG##x },
static const struct sig table[] = {
	S(HUP) S(INT) S(QUIT) S(ILL) S(TRAP) S(ABRT) S(BUS) S(FPE) S(KILL)
	S(USR1) S(SEGV) S(USR2) S(PIPE) S(ALRM) S(TERM) S(CHLD) S(CONT) S(STOP)
	S(TSTP) S(TTIN) S(TTOU) S(URG) S(XCPU) S(XFSZ) S(VTALRM) S(PROF)
	S(WINCH) S(SYS)
#ifdef SIGSTKFLT
	S(STKFLT)
#endif
#ifdef SIGIO
	S(IO)
#endif
#ifdef SIGPWR
	S(PWR)
#endif
#ifdef SIGEMT
	S(EMT)
#endif
#ifdef SIGINFO
	S(INFO)
#endif
#ifdef SIGIOT
	S(IOT)
#endif
#ifdef SIGCLD
	S(CLD)
#endif
#ifdef SIGPOLL
	S(POLL)
#endif
};
#undef S
#define NTABLE (sizeof(table) / sizeof(table[0]))

int sq_signal_max(void)
{
#ifdef SIGRTMAX
	return SIGRTMAX;
#else
	return NSIG - 1;
#endif
}

int sq_signal_check(long long sig)
{
	return sig >= 0 && sig <= sq_signal_max() ? (int)sig : -EINVAL;
}

/* A decimal number of len bytes, or -1. */
static long long decimal(const char *s, size_t len)
{
	long long v = 0;
	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

#ifdef SIGRTMIN
/* "RTMIN", "RTMIN+n", "RTMAX", "RTMAX-n" (already without "SIG"). */
static int realtime(const char *s, size_t len)
{
	long long off = 0;
	int base, sign;
	if (len < 5)
		return -EINVAL;
	if (strncasecmp(s, "RTMIN", 5) == 0) {
		base = SIGRTMIN;
		sign = 1;
	} else if (strncasecmp(s, "RTMAX", 5) == 0) {
		base = SIGRTMAX;
		sign = -1;
	} else {
		return -EINVAL;
	}
	if (len > 5) {
		if (s[5] != (sign > 0 ? '+' : '-'))
			return -EINVAL;
		off = decimal(s + 6, len - 6);
		if (off < 0)
			return -EINVAL;
	}
	long long sig = base + sign * off;
	return sig >= SIGRTMIN && sig <= SIGRTMAX ? (int)sig : -EINVAL;
}
#endif

int sq_signal_parse(const char *s, size_t len)
{
	long long n = decimal(s, len);
	if (n >= 0)
		return sq_signal_check(n);
	if (len > 3 && strncasecmp(s, "SIG", 3) == 0) {
		s += 3;
		len -= 3;
	}
	for (size_t i = 0; i < NTABLE; i++)
		if (strlen(table[i].name) == len && strncasecmp(table[i].name, s, len) == 0)
			return table[i].num;
#ifdef SIGRTMIN
	return realtime(s, len);
#else
	return -EINVAL;
#endif
}

const char *sq_signal_name(int sig, char *buf, size_t size)
{
	for (size_t i = 0; i < NTABLE; i++)
		if (table[i].num == sig) {
			snprintf(buf, size, "%s", table[i].name);
			return buf;
		}
#ifdef SIGRTMIN
	if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
		if (sig == SIGRTMIN)
			snprintf(buf, size, "RTMIN");
		else
			snprintf(buf, size, "RTMIN+%d", sig - SIGRTMIN);
		return buf;
	}
#endif
	return NULL;
}
