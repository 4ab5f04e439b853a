/*
 * methods.c - THE method table (as data, like tmux's cmd_entry list or
 * Redis's command table) and the access rules that read it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "handlers.h"
#include "methods.h"
#include "policy.h"
#include "sq_ident.h"
#include "sq_peer.h"

const struct sq_method sq_methods[] = {
	{ "sys.hello", m_sys_hello, SQ_RUN_LOOP, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "server identity, protocol version, the caller as the kernel sees it, "
	  "and the methods it may call", "{}" },
	{ "sys.ping", m_sys_ping, SQ_RUN_LOOP, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "answers \"pong\"", "{}" },
	{ "sys.uname", m_sys_uname, SQ_RUN_LOOP, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "uname(2): sysname, nodename, release, version, machine", "{}" },
	{ "sys.methods", m_sys_methods, SQ_RUN_LOOP, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "every method with its summary, params and whether the caller may call it", "{}" },
	{ "sys.stats", m_sys_stats, SQ_RUN_ASYNC, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "the daemon's own counters, limits and resource use", "{}" },
	{ "net.list", m_net_list, SQ_RUN_POOL, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "network interfaces: name, index, MTU, flags, MAC, addresses", "{}" },
	{ "net.mtu.get", m_net_mtu_get, SQ_RUN_POOL, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "an interface's MTU", "{name: str}" },
	{ "net.mtu.set", m_net_mtu_set, SQ_RUN_POOL, SQ_ACCESS_ROOT, SQ_AS_DAEMON,
	  "change an interface's MTU (logged); answers the new and previous MTU",
	  "{name: str, mtu: int 68..65536}" },
	{ "file.read", m_file_read, SQ_RUN_ASYNC, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "stream a regular file, opened as the caller: a response announcing the size, "
	  "then file.data bin chunks (sendfile), then file.end",
	  "{path: str, offset?: int, length?: int, nofollow?: bool}" },
	{ "fs.list", m_fs_list, SQ_RUN_ASYNC, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "mounted file systems with usage; a hung one is reported \"stale\" in time",
	  "{timeout_ms?: int 1..10000 = 1000, all?: bool = false}" },
	{ "fs.stat", m_fs_stat, SQ_RUN_ASYNC, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "the file system holding a path, looked up as the caller",
	  "{path: str|bin, timeout_ms?: int 1..10000 = 1000}" },
	{ "xattr.list", m_xattr_list, SQ_RUN_POOL, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "names of a file's extended attributes, as the caller",
	  "{path: str, nofollow?: bool}" },
	{ "xattr.get", m_xattr_get, SQ_RUN_POOL, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "one extended attribute's value (bin), as the caller",
	  "{path: str, name: str, nofollow?: bool}" },
	{ "xattr.set", m_xattr_set, SQ_RUN_POOL, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "set an extended attribute, as the caller",
	  "{path: str, name: str, value: bin|str, mode?: \"create\"|\"replace\", nofollow?: bool}" },
	{ "xattr.remove", m_xattr_remove, SQ_RUN_POOL, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "remove an extended attribute, as the caller",
	  "{path: str, name: str, nofollow?: bool}" },
	{ "proc.list", m_proc_list, SQ_RUN_POOL, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "the process table as the caller may see it",
	  "{pid?: [int], uid?: int, fields?: [str]}" },
	{ "proc.get", m_proc_get, SQ_RUN_POOL, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "one process (ESRCH when there is none)", "{pid: int, fields?: [str]}" },
	{ "proc.signal", m_proc_signal, SQ_RUN_POOL, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "kill(2) as the caller; pid <= 0 is refused", "{pid: int, signal: str|int}" },
	{ "watch.subscribe", m_watch_subscribe, SQ_RUN_ASYNC, SQ_ACCESS_ANY, SQ_AS_CALLER,
	  "push watch.event notifications on this connection: mounts, interfaces, "
	  "exits of pids the caller may see", "{topics: [\"mounts\"|\"interfaces\"|"
	  "\"proc.exit\"], pids?: [int] (proc.exit, max 1024)}" },
	{ "watch.unsubscribe", m_watch_unsubscribe, SQ_RUN_LOOP, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "end a subscription of this connection", "{subscription: int}" },
};
const size_t sq_nmethods = sizeof(sq_methods) / sizeof(sq_methods[0]);

const struct sq_method *sq_method_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sq_nmethods; i++)
		if (strlen(sq_methods[i].name) == len &&
		    memcmp(sq_methods[i].name, name, len) == 0)
			return &sq_methods[i];
	return NULL;
}

int sq_method_allowed(const struct sq_method *m, const struct sq_cred *cred,
                      const char **why)
{
	static char reason[320]; /* loop thread only */
	const struct sq_policy *p = sq_policy_current();
	int line = 0;
	int verdict = sq_policy_decide(p, m, cred, &line);

	if (verdict == 1) {
		snprintf(reason, sizeof(reason), "denied by the policy (%s line %d)",
		         sq_policy_source(p), line);
		*why = reason;
		return -EPERM;
	}
	switch (m->access) {
	case SQ_ACCESS_ANY:
		return 0;
	case SQ_ACCESS_AS_CALLER:
		/* an unprivileged daemon cannot become the caller: lending its own
		 * identity to another uid would make it a confused deputy, and no
		 * policy line can change that */
		if (sq_ident_can_switch() || cred->uid == geteuid())
			return 0;
		*why = "this sysqd is not root and serves path and process operations "
		       "only to its own uid";
		return -EPERM;
	case SQ_ACCESS_ROOT:
		if (cred->uid == 0 || verdict == 2)
			return 0;
		*why = "only root may do this, unless the policy grants it";
		return -EPERM;
	}
	*why = "unknown access rule";
	return -EPERM;
}
