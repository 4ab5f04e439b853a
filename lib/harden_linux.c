/*
 * harden_linux.c - least privilege on Linux.
 *
 * Capabilities, in two sets:
 *   base (effective whenever sysqd acts as itself):
 *     CAP_SETUID, CAP_SETGID  a worker thread takes the caller's uid/gid/groups
 *                             (sq_ident) for every path and process operation;
 *     CAP_NET_ADMIN           net.mtu.set (a root-only method);
 *     CAP_DAC_READ_SEARCH     statfs of every mount point, whatever the modes
 *                             of the directories above it (fs.list);
 *   root caller (effective only on a worker thread acting for a peer the
 *   kernel says is uid 0, so root gets through sysqd what it could do itself):
 *     CAP_DAC_OVERRIDE, CAP_FOWNER  files and xattrs of any owner,
 *     CAP_SYS_ADMIN                 trusted.* xattrs,
 *     CAP_KILL                      signals to any process,
 *     CAP_SYS_PTRACE                /proc/PID/exe and the like of any process.
 * Everything else leaves the bounding and permitted sets; inheritable is
 * empty.  Also: not dumpable (no core, no ptrace by others), RLIMIT_CORE 0.
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

static const int base_caps[] = { CAP_SETUID, CAP_SETGID, CAP_NET_ADMIN,
                                 CAP_DAC_READ_SEARCH };
static const int root_caller_caps[] = { CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_SYS_ADMIN,
                                        CAP_KILL, CAP_SYS_PTRACE };
static int hardened;

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int kept(int cap)
{
	for (size_t i = 0; i < NELEM(base_caps); i++)
		if (base_caps[i] == cap)
			return 1;
	for (size_t i = 0; i < NELEM(root_caller_caps); i++)
		if (root_caller_caps[i] == cap)
			return 1;
	return 0;
}

static void add_caps(struct __user_cap_data_struct *d, const int *caps, size_t n,
                     int permitted, int effective)
{
	for (size_t i = 0; i < n; i++) {
		unsigned idx = (unsigned)caps[i] / 32, bit = 1u << ((unsigned)caps[i] % 32);
		if (permitted)
			d[idx].permitted |= bit;
		if (effective)
			d[idx].effective |= bit;
	}
}

/* This thread's capability sets: permitted = base + root caller; effective
 * = base, plus the root-caller set when root_caller. */
static int set_caps(int root_caller)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	add_caps(data, base_caps, NELEM(base_caps), 1, 1);
	add_caps(data, root_caller_caps, NELEM(root_caller_caps), 1, root_caller);
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

int sq_harden_caps_for_caller(int caller_is_root)
{
	if (!hardened)
		return 0;
	return set_caps(caller_is_root);
}

const char *sq_harden_summary(void)
{
	return geteuid() == 0 ? "capabilities: setuid setgid net_admin dac_read_search; "
	                        "dac_override fowner sys_admin kill sys_ptrace only for "
	                        "root callers; not dumpable"
	                      : "unprivileged: no capabilities; core dumps off";
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
	int rc = set_caps(0);
	if (rc < 0) {
		snprintf(why, whylen, "capset: %s", strerror(-rc));
		return rc;
	}
	hardened = 1;
	return 0;
}
