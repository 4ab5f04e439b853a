/*
 * harden_linux.c - least privilege on Linux.
 *
 * Kept capabilities, and why:
 *   CAP_SETUID, CAP_SETGID  a worker thread takes the caller's uid/gid/groups
 *                           (sq_ident) for every path and process operation;
 *   CAP_NET_ADMIN           net.mtu.set (a root-only method);
 *   CAP_DAC_READ_SEARCH     statfs of every mount point, whatever the modes of
 *                           the directories above it (fs.list runs as sysqd).
 * Everything else leaves the bounding, permitted, effective and inheritable
 * sets.  Signals and file access need no capability: they run as the caller.
 * Also: not dumpable (no core, no ptrace by others), RLIMIT_CORE 0.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sq_harden.h"

static const int keep[] = { CAP_SETUID, CAP_SETGID, CAP_NET_ADMIN, CAP_DAC_READ_SEARCH };

const char *sq_harden_summary(void)
{
	return geteuid() == 0 ? "capabilities kept: setuid setgid net_admin dac_read_search; "
	                        "not dumpable"
	                      : "unprivileged: no capabilities; core dumps off";
}

static int kept(int cap)
{
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (keep[i] == cap)
			return 1;
	return 0;
}

int sq_harden_process(char *why, size_t whylen)
{
	struct rlimit nocore = { 0, 0 };
	why[0] = '\0';
	if (setrlimit(RLIMIT_CORE, &nocore) < 0) {
		snprintf(why, whylen, "setrlimit(RLIMIT_CORE): %s", strerror(errno));
		return -errno;
	}
	if (geteuid() != 0)
		return 0; /* nothing to drop; /proc/self must stay readable to us */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		snprintf(why, whylen, "PR_SET_DUMPABLE: %s", strerror(errno));
		return -errno;
	}
	for (int cap = 0; cap <= 63; cap++) {
		if (kept(cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
			snprintf(why, whylen, "PR_CAPBSET_DROP(%d): %s", cap, strerror(errno));
			return -errno;
		}
	}
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		unsigned idx = (unsigned)keep[i] / 32, bit = 1u << ((unsigned)keep[i] % 32);
		data[idx].permitted |= bit;
		data[idx].effective |= bit;
	}
	if (syscall(SYS_capset, &hdr, data) < 0) {
		snprintf(why, whylen, "capset: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
