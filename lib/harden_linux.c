/* SPDX-License-Identifier: ISC */
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
 * empty.  Under a service manager that granted fewer (systemd's
 * CapabilityBoundingSet=), sysqd keeps what it was given and does without
 * the rest; the start-up log line says which.  Also: not dumpable (no core,
 * no ptrace by others); RLIMIT_CORE 0 is harden.c's.
 */
#include <errno.h>
#include <stdint.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harden_os.h"
#include "sq_harden.h"

static const int base_caps[] = { CAP_SETUID, CAP_SETGID, CAP_NET_ADMIN,
                                 CAP_DAC_READ_SEARCH };
static const int root_caller_caps[] = { CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_SYS_ADMIN,
                                        CAP_KILL, CAP_SYS_PTRACE };
static const char *const cap_names[] = {
	[CAP_SETUID] = "setuid", [CAP_SETGID] = "setgid", [CAP_NET_ADMIN] = "net_admin",
	[CAP_DAC_READ_SEARCH] = "dac_read_search", [CAP_DAC_OVERRIDE] = "dac_override",
	[CAP_FOWNER] = "fowner", [CAP_SYS_ADMIN] = "sys_admin", [CAP_KILL] = "kill",
	[CAP_SYS_PTRACE] = "sys_ptrace",
};
static int hardened;
static uint32_t had[2];          /* permitted set when sysqd started */
static char summary[400] = "unprivileged: no capabilities; core dumps off";

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

static int has(const uint32_t *set, int cap)
{
	return (set[(unsigned)cap / 32] >> ((unsigned)cap % 32)) & 1u;
}

/* Add the caps sysqd was given at start (a service manager's bounding set
 * may have left some out: then sysqd does without them). */
static void add_caps(struct __user_cap_data_struct *d, const int *caps, size_t n,
                     int effective)
{
	for (size_t i = 0; i < n; i++) {
		if (!has(had, caps[i]))
			continue;
		unsigned idx = (unsigned)caps[i] / 32, bit = 1u << ((unsigned)caps[i] % 32);
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
	add_caps(data, base_caps, NELEM(base_caps), 1);
	add_caps(data, root_caller_caps, NELEM(root_caller_caps), root_caller);
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

static void describe(const char *bounding_note)
{
	size_t n = (size_t)snprintf(summary, sizeof(summary), "capabilities:");
	for (size_t i = 0; i < NELEM(base_caps) && n < sizeof(summary); i++)
		if (has(had, base_caps[i]))
			n += (size_t)snprintf(summary + n, sizeof(summary) - n, " %s",
			                      cap_names[base_caps[i]]);
	if (n < sizeof(summary))
		n += (size_t)snprintf(summary + n, sizeof(summary) - n, "; for root callers:");
	size_t before = n;
	for (size_t i = 0; i < NELEM(root_caller_caps) && n < sizeof(summary); i++)
		if (has(had, root_caller_caps[i]))
			n += (size_t)snprintf(summary + n, sizeof(summary) - n, " %s",
			                      cap_names[root_caller_caps[i]]);
	if (n == before && n < sizeof(summary))
		n += (size_t)snprintf(summary + n, sizeof(summary) - n, " no more");
	if (n < sizeof(summary))
		snprintf(summary + n, sizeof(summary) - n, "; not dumpable%s", bounding_note);
}

int sq_harden_caps_for_caller(int caller_is_root)
{
	if (!hardened)
		return 0;
	return set_caps(caller_is_root);
}

const char *sq_harden_summary(void)
{
	return summary;
}

int sq_harden_os_process(char *why, size_t whylen)
{
	if (geteuid() != 0)
		return 0; /* nothing to drop; /proc/self must stay readable to us */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		snprintf(why, whylen, "PR_SET_DUMPABLE: %s", strerror(errno));
		return -errno;
	}
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct now[2];
	if (syscall(SYS_capget, &hdr, now) < 0) {
		snprintf(why, whylen, "capget: %s", strerror(errno));
		return -errno;
	}
	had[0] = now[0].permitted;
	had[1] = now[1].permitted;
	/* the bounding set can only shrink with CAP_SETPCAP, which a service
	 * manager may not have left us: then the permitted set alone limits */
	const char *note = "";
	for (int cap = 0; cap <= 63; cap++) {
		if (kept(cap) || prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno != EPERM) {
				snprintf(why, whylen, "PR_CAPBSET_DROP(%d): %s", cap, strerror(errno));
				return -errno;
			}
			note = "; bounding set left as given (no CAP_SETPCAP)";
			break;
		}
	}
	int rc = set_caps(0);
	if (rc < 0) {
		snprintf(why, whylen, "capset: %s", strerror(-rc));
		return rc;
	}
	describe(note);
	hardened = 1;
	return 0;
}
