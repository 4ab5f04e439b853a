/* SPDX-License-Identifier: ISC */
/*
 * harden_darwin.c - least privilege on macOS: no debugger attach
 * (PT_DENY_ATTACH; no core dumps: harden.c).  macOS has no capability sets to shed; the
 * launchd plist runs sysqd as root and it takes callers' identities per thread.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/ptrace.h>
#include <unistd.h>

#include "harden_os.h"
#include "sq_harden.h"

const char *sq_harden_summary(void)
{
	return "core dumps off; debugger attach denied";
}

int sq_harden_caps_for_caller(int caller_is_root)
{
	(void)caller_is_root; /* no capability sets on macOS */
	return 0;
}

int sq_harden_os_process(char *why, size_t whylen)
{
	if (geteuid() == 0 && ptrace(PT_DENY_ATTACH, 0, 0, 0) < 0) {
		snprintf(why, whylen, "PT_DENY_ATTACH: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
