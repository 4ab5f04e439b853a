/* SPDX-License-Identifier: ISC */
/*
 * harden.c - the portable half of sq_harden.h: no core dumps (they would
 * carry other users' data), then the OS's own steps (harden_<os>.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "harden_os.h"
#include "sq_harden.h"

int sq_harden_process(char *why, size_t whylen)
{
	struct rlimit nocore = { 0, 0 };
	why[0] = '\0';
	if (setrlimit(RLIMIT_CORE, &nocore) < 0) {
		int e = errno;
		snprintf(why, whylen, "setrlimit(RLIMIT_CORE): %s", strerror(e));
		return -e;
	}
	return sq_harden_os_process(why, whylen);
}
