/* SPDX-License-Identifier: ISC */
/*
 * methods.c - THE method table (as data, like tmux's cmd_entry list or
 * Redis's command table) with each method's contract (typed params, result
 * shape, errors: the one source for the params check, sys.methods and the
 * generated parts of the docs), and the access rules that read it.
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
#include "watcher.h"

/* ---- contracts: params, result shapes, errors --------------------------- */

#define END { 0 }
#define PID_MAX 2147483647 /* pid_t is 32 bits on both OSes */

static const struct sq_field no_params[] = { END };

/* scalars, for arrays' elements and result keys */
static const struct sq_field t_int = { .types = SQ_T_INT };
static const struct sq_field t_str = { .types = SQ_T_STR };
static const struct sq_field t_text = { .types = SQ_T_STR | SQ_T_BIN };
static const struct sq_field t_map = { .types = SQ_T_MAP };
static const struct sq_field t_pid = { .types = SQ_T_INT, .ranged = true, .min = 1, .max = PID_MAX };

#define KEY(n, t) { .name = n, .types = (t), .required = true }
#define OPTKEY(n, t) { .name = n, .types = (t) }
#define LIST(n, item) { .name = n, .types = SQ_T_ARRAY, .required = true, .items = &(item) }

static const char *const e_params[] = { "EINVAL", NULL };

/* sys.* */
static const struct sq_field k_peer[] = {
	KEY("uid", SQ_T_INT), KEY("gid", SQ_T_INT), LIST("groups", t_int), KEY("pid", SQ_T_INT), END,
};
static const struct sq_field k_hello[] = {
	KEY("server", SQ_T_STR), KEY("version", SQ_T_STR), KEY("protocol", SQ_T_INT),
	KEY("os", SQ_T_STR), { .name = "peer", .types = SQ_T_MAP, .required = true, .keys = k_peer },
	LIST("methods", t_str), END,
};
static const struct sq_field r_hello = { .types = SQ_T_MAP, .keys = k_hello };
static const struct sq_field r_pong = { .types = SQ_T_STR };
static const struct sq_field k_uname[] = {
	KEY("sysname", SQ_T_STR), KEY("nodename", SQ_T_STR), KEY("release", SQ_T_STR),
	KEY("version", SQ_T_STR), KEY("machine", SQ_T_STR), END,
};
static const struct sq_field r_uname = { .types = SQ_T_MAP, .keys = k_uname };

static const char *const access_values[] = { "any", "as-caller", "root", NULL };
static const char *const runs_values[] = { "loop", "pool", "async", NULL };
static const struct sq_field k_method[] = {
	KEY("name", SQ_T_STR), KEY("summary", SQ_T_STR), KEY("params", SQ_T_STR),
	LIST("typed_params", t_map), KEY("result", SQ_T_MAP), LIST("errors", t_str),
	{ .name = "access", .types = SQ_T_STR, .required = true, .values = access_values },
	{ .name = "runs_on", .types = SQ_T_STR, .required = true, .values = runs_values },
	KEY("allowed", SQ_T_BOOL), END,
};
static const struct sq_field t_method = { .types = SQ_T_MAP, .keys = k_method };
static const struct sq_field k_methods[] = { LIST("methods", t_method), END };
static const struct sq_field r_methods = { .types = SQ_T_MAP, .keys = k_methods };
static const struct sq_field p_methods[] = {
	{ .name = "name", .types = SQ_T_STR }, END,
};
static const char *const e_methods[] = { "EINVAL", "ENOENT", NULL };

static const struct sq_field k_stats[] = {
	KEY("uptime_s", SQ_T_FLOAT),
	KEY("connections", SQ_T_INT), KEY("connections_total", SQ_T_INT),
	KEY("connections_rejected", SQ_T_INT), KEY("connections_rejected_per_user", SQ_T_INT),
	KEY("requests", SQ_T_INT), KEY("errors", SQ_T_INT), KEY("inflight", SQ_T_INT),
	KEY("proto_errors", SQ_T_INT), KEY("oversize", SQ_T_INT),
	KEY("slow_disconnects", SQ_T_INT), KEY("read_pauses", SQ_T_INT),
	KEY("output_pauses", SQ_T_INT), KEY("bytes_in", SQ_T_INT), KEY("bytes_out", SQ_T_INT),
	KEY("threads", SQ_T_INT), KEY("open_fds", SQ_T_INT), KEY("rss_bytes", SQ_T_INT),
	KEY("prober_threads", SQ_T_INT), KEY("stale_mounts", SQ_T_INT),
	KEY("limits", SQ_T_MAP), KEY("transfers", SQ_T_MAP), KEY("engine", SQ_T_MAP),
	KEY("watch", SQ_T_MAP), END,
};
static const struct sq_field r_stats = { .types = SQ_T_MAP, .keys = k_stats };

/* sys.host: every key optional (what the OS does not give is absent) */
static const struct sq_field t_float = { .types = SQ_T_FLOAT };
#define CPU_MODES OPTKEY("user", SQ_T_FLOAT), OPTKEY("nice", SQ_T_FLOAT), \
	OPTKEY("system", SQ_T_FLOAT), OPTKEY("idle", SQ_T_FLOAT), OPTKEY("iowait", SQ_T_FLOAT), \
	OPTKEY("irq", SQ_T_FLOAT), OPTKEY("softirq", SQ_T_FLOAT), OPTKEY("steal", SQ_T_FLOAT)
static const struct sq_field k_cpu_total[] = { CPU_MODES, END };
static const struct sq_field k_cpu_one[] = { KEY("cpu", SQ_T_INT), CPU_MODES, END };
static const struct sq_field t_cpu_one = { .types = SQ_T_MAP, .keys = k_cpu_one };
static const struct sq_field k_memory[] = {
	OPTKEY("total", SQ_T_INT), OPTKEY("available", SQ_T_INT), OPTKEY("free", SQ_T_INT),
	OPTKEY("buffers", SQ_T_INT), OPTKEY("cached", SQ_T_INT), OPTKEY("shared", SQ_T_INT), END,
};
static const struct sq_field k_swap[] = { OPTKEY("total", SQ_T_INT), OPTKEY("free", SQ_T_INT), END };
static const struct sq_field k_psi_line[] = {
	KEY("avg10", SQ_T_FLOAT), KEY("avg60", SQ_T_FLOAT), KEY("avg300", SQ_T_FLOAT),
	KEY("total_us", SQ_T_INT), END,
};
static const struct sq_field k_psi[] = {
	{ .name = "some", .types = SQ_T_MAP, .keys = k_psi_line },
	{ .name = "full", .types = SQ_T_MAP, .keys = k_psi_line }, END,
};
static const struct sq_field k_pressure[] = {
	{ .name = "cpu", .types = SQ_T_MAP, .keys = k_psi },
	{ .name = "memory", .types = SQ_T_MAP, .keys = k_psi },
	{ .name = "io", .types = SQ_T_MAP, .keys = k_psi }, END,
};
static const struct sq_field k_host[] = {
	OPTKEY("uptime_s", SQ_T_FLOAT), OPTKEY("boot_time", SQ_T_FLOAT),
	{ .name = "load", .types = SQ_T_ARRAY, .items = &t_float },
	{ .name = "cpu", .types = SQ_T_MAP, .keys = k_cpu_total },
	{ .name = "cpus", .types = SQ_T_ARRAY, .items = &t_cpu_one },
	{ .name = "memory", .types = SQ_T_MAP, .keys = k_memory },
	{ .name = "swap", .types = SQ_T_MAP, .keys = k_swap },
	OPTKEY("procs", SQ_T_INT), OPTKEY("threads", SQ_T_INT), OPTKEY("procs_running", SQ_T_INT),
	OPTKEY("procs_blocked", SQ_T_INT), OPTKEY("forks", SQ_T_INT),
	OPTKEY("context_switches", SQ_T_INT),
	{ .name = "pressure", .types = SQ_T_MAP, .keys = k_pressure }, END,
};
static const struct sq_field r_host = { .types = SQ_T_MAP, .keys = k_host };
static const char *const e_host[] = { "EINVAL", "ENOENT", NULL };

/* sys.sysctl.* */
static const struct sq_field t_sysctl_name = { .types = SQ_T_STR, .no_nul = true };
static const struct sq_field p_sysctl_get[] = {
	{ .name = "names", .types = SQ_T_ARRAY, .items = &t_sysctl_name, .max_items = 4096 },
	{ .name = "prefix", .types = SQ_T_STR, .no_nul = true }, END,
};
static const struct sq_field k_sysctl[] = {
	KEY("name", SQ_T_STR), OPTKEY("value", SQ_T_INT | SQ_T_ARRAY | SQ_T_STR | SQ_T_BIN),
	OPTKEY("error", SQ_T_STR), END,
};
static const struct sq_field t_sysctl = { .types = SQ_T_MAP, .keys = k_sysctl };
static const struct sq_field k_sysctl_get[] = { LIST("sysctls", t_sysctl), END };
static const struct sq_field r_sysctl_get = { .types = SQ_T_MAP, .keys = k_sysctl_get };
static const char *const e_sysctl_get[] = {
	"EINVAL", "ENOENT", "EACCES", "EPERM", "EISDIR", "E2BIG", "EIO", NULL,
};
static const struct sq_field p_sysctl_set[] = {
	{ .name = "name", .types = SQ_T_STR, .required = true, .no_nul = true },
	{ .name = "value", .types = SQ_T_INT | SQ_T_STR | SQ_T_BIN | SQ_T_ARRAY, .required = true,
	  .items = &t_int, .max_items = 64 },
	END,
};
static const struct sq_field k_sysctl_set[] = {
	KEY("name", SQ_T_STR), KEY("previous", SQ_T_INT | SQ_T_ARRAY | SQ_T_STR | SQ_T_BIN),
	OPTKEY("value", SQ_T_INT | SQ_T_ARRAY | SQ_T_STR | SQ_T_BIN), END,
};
static const struct sq_field r_sysctl_set = { .types = SQ_T_MAP, .keys = k_sysctl_set };
static const char *const e_sysctl_set[] = {
	"EINVAL", "ENOENT", "EACCES", "EPERM", "EISDIR", "E2BIG", "ERANGE", "EBUSY", "EIO",
	"EOPNOTSUPP", "ENODEV", NULL,
};

/* net.* */
#define P_IFNAME { \
	.name = "name", .types = SQ_T_STR | SQ_T_BIN, .required = true, .no_nul = true, \
}
static const char *const family_values[] = { "inet", "inet6", NULL };
static const struct sq_field k_addr[] = {
	{ .name = "family", .types = SQ_T_STR, .required = true, .values = family_values },
	KEY("addr", SQ_T_STR), KEY("prefixlen", SQ_T_INT), END,
};
static const struct sq_field t_addr = { .types = SQ_T_MAP, .keys = k_addr };
static const struct sq_field k_if_stats[] = {
	OPTKEY("rx_bytes", SQ_T_INT), OPTKEY("rx_packets", SQ_T_INT), OPTKEY("rx_errors", SQ_T_INT),
	OPTKEY("rx_dropped", SQ_T_INT), OPTKEY("rx_multicast", SQ_T_INT),
	OPTKEY("tx_bytes", SQ_T_INT), OPTKEY("tx_packets", SQ_T_INT), OPTKEY("tx_errors", SQ_T_INT),
	OPTKEY("tx_dropped", SQ_T_INT), OPTKEY("tx_multicast", SQ_T_INT),
	OPTKEY("collisions", SQ_T_INT), END,
};
static const struct sq_field k_if[] = {
	KEY("name", SQ_T_STR | SQ_T_BIN), KEY("index", SQ_T_INT),
	KEY("mtu", SQ_T_INT | SQ_T_NIL), LIST("flags", t_str),
	KEY("mac", SQ_T_STR | SQ_T_NIL), LIST("addrs", t_addr),
	{ .name = "stats", .types = SQ_T_MAP, .keys = k_if_stats },
	OPTKEY("operstate", SQ_T_STR), OPTKEY("carrier", SQ_T_BOOL),
	OPTKEY("min_mtu", SQ_T_INT), OPTKEY("max_mtu", SQ_T_INT), END,
};
static const struct sq_field t_if = { .types = SQ_T_MAP, .keys = k_if };
static const struct sq_field k_net_list[] = { LIST("interfaces", t_if), END };
static const struct sq_field r_net_list = { .types = SQ_T_MAP, .keys = k_net_list };
static const struct sq_field p_mtu_get[] = { P_IFNAME, END };
static const struct sq_field k_mtu[] = { KEY("mtu", SQ_T_INT), END };
static const struct sq_field r_mtu_get = { .types = SQ_T_MAP, .keys = k_mtu };
static const char *const e_mtu_get[] = { "EINVAL", "ENODEV", NULL };
/* any MTU an int holds: the interface's own range is checked in the handler
 * where the kernel tells it (IFLA_MIN_MTU..IFLA_MAX_MTU), else by the kernel */
static const struct sq_field p_mtu_set[] = {
	P_IFNAME,
	{ .name = "mtu", .types = SQ_T_INT, .required = true, .ranged = true, .min = 0,
	  .max = 2147483647, .note = "the interface's own range is checked after this one" },
	END,
};
static const struct sq_field k_mtu_set[] = { KEY("mtu", SQ_T_INT), KEY("previous", SQ_T_INT), END };
static const struct sq_field r_mtu_set = { .types = SQ_T_MAP, .keys = k_mtu_set };
static const char *const e_mtu_set[] = { "EINVAL", "ENODEV", "EPERM", NULL };

/* net.sockets */
static const char *const sock_family_values[] = { "inet", "inet6", "unix", NULL };
static const struct sq_field t_sock_family = { .types = SQ_T_STR, .values = sock_family_values };
static const char *const sock_proto_values[] = { "tcp", "udp", "unix", NULL };
static const struct sq_field t_sock_proto = { .types = SQ_T_STR, .values = sock_proto_values };
static const char *const sock_state_values[] = {
	"established", "syn-sent", "syn-recv", "fin-wait-1", "fin-wait-2", "time-wait", "closed",
	"close-wait", "last-ack", "listen", "closing", "new-syn-recv", NULL,
};
static const struct sq_field t_sock_state = { .types = SQ_T_STR, .values = sock_state_values };
static const struct sq_field p_sockets[] = {
	{ .name = "family", .types = SQ_T_ARRAY, .items = &t_sock_family, .max_items = 3 },
	{ .name = "protocol", .types = SQ_T_ARRAY, .items = &t_sock_proto, .max_items = 3 },
	{ .name = "state", .types = SQ_T_ARRAY, .items = &t_sock_state, .max_items = 12 },
	{ .name = "listening", .types = SQ_T_BOOL, .has_default = true, .def = 0 },
	{ .name = "port", .types = SQ_T_INT, .ranged = true, .min = 0, .max = 65535 },
	{ .name = "local_port", .types = SQ_T_INT, .ranged = true, .min = 0, .max = 65535 },
	{ .name = "remote_port", .types = SQ_T_INT, .ranged = true, .min = 0, .max = 65535 },
	{ .name = "uid", .types = SQ_T_INT, .ranged = true, .min = 0, .max = 4294967294 },
	{ .name = "pid", .types = SQ_T_INT, .ranged = true, .min = 1, .max = PID_MAX },
	{ .name = "owners", .types = SQ_T_BOOL, .has_default = true, .def = 0 },
	{ .name = "info", .types = SQ_T_BOOL, .has_default = true, .def = 1 },
	END,
};
static const struct sq_field k_sockets[] = { KEY("batch", SQ_T_INT), KEY("owners", SQ_T_BOOL), END };
static const struct sq_field r_sockets = { .types = SQ_T_MAP, .keys = k_sockets };
static const char *const e_sockets[] = {
	"EINVAL", "EPERM", "ESRCH", "EACCES", "EAGAIN", "EPROTONOSUPPORT", NULL,
};

/* file.read */
#define P_PATH { \
	.name = "path", .types = SQ_T_STR | SQ_T_BIN, .required = true, .no_nul = true, \
}
#define P_NOFOLLOW { \
	.name = "nofollow", .types = SQ_T_BOOL, .has_default = true, .def = 0, \
}
static const struct sq_field p_read[] = {
	P_PATH,
	{ .name = "offset", .types = SQ_T_INT, .ranged = true, .min = 0, .max = INT64_MAX,
	  .has_default = true, .def = 0 },
	{ .name = "length", .types = SQ_T_INT, .ranged = true, .min = 0, .max = INT64_MAX },
	P_NOFOLLOW, END,
};
static const struct sq_field k_read[] = {
	/* nil: the kernel does not tell the length (procfs, sysfs, st_size 0) */
	KEY("size", SQ_T_INT | SQ_T_NIL), KEY("offset", SQ_T_INT), KEY("chunk", SQ_T_INT),
	KEY("file_size", SQ_T_INT | SQ_T_NIL), END,
};
static const struct sq_field r_read = { .types = SQ_T_MAP, .keys = k_read };
static const char *const e_read[] = {
	"EINVAL", "ENOENT", "ENOTDIR", "ENAMETOOLONG", "ELOOP", "EACCES", "EXDEV", "EISDIR",
	"ENOTSUP", "EAGAIN", NULL,
};

/* fs.* */
#define P_TIMEOUT { \
	.name = "timeout_ms", .types = SQ_T_INT, .ranged = true, .min = 1, .max = 10000, \
	.has_default = true, .def = 1000, \
}
static const struct sq_field p_fs_list[] = {
	P_TIMEOUT, { .name = "all", .types = SQ_T_BOOL, .has_default = true, .def = 0 }, END,
};
static const char *const state_values[] = { "ok", "stale", "error", NULL };
static const struct sq_field k_fs[] = {
	KEY("mountpoint", SQ_T_STR | SQ_T_BIN | SQ_T_NIL), KEY("source", SQ_T_STR | SQ_T_BIN | SQ_T_NIL),
	KEY("fstype", SQ_T_STR | SQ_T_BIN | SQ_T_NIL), LIST("options", t_text),
	KEY("readonly", SQ_T_BOOL), KEY("block_size", SQ_T_INT | SQ_T_NIL),
	KEY("total_bytes", SQ_T_INT | SQ_T_NIL), KEY("free_bytes", SQ_T_INT | SQ_T_NIL),
	KEY("avail_bytes", SQ_T_INT | SQ_T_NIL), KEY("files", SQ_T_INT | SQ_T_NIL),
	KEY("files_free", SQ_T_INT | SQ_T_NIL),
	{ .name = "state", .types = SQ_T_STR, .required = true, .values = state_values },
	OPTKEY("error", SQ_T_STR), END,
};
static const struct sq_field t_fs = { .types = SQ_T_MAP, .keys = k_fs };
static const struct sq_field k_fs_list[] = { LIST("mounts", t_fs), END };
static const struct sq_field r_fs_list = { .types = SQ_T_MAP, .keys = k_fs_list };
static const char *const e_fs_list[] = { "EINVAL", "ETIMEDOUT", NULL };
static const struct sq_field p_fs_stat[] = { P_PATH, P_TIMEOUT, END };
static const char *const e_fs_stat[] = {
	"EINVAL", "ENOENT", "EACCES", "ENOTDIR", "ELOOP", "ENAMETOOLONG", "ENOTCONN", "EIO",
	"EXDEV", "ETIMEDOUT", NULL,
};

/* xattr.* */
#define P_XNAME { \
	.name = "name", .types = SQ_T_STR | SQ_T_BIN, .required = true, .no_nul = true, \
}
static const struct sq_field p_xlist[] = { P_PATH, P_NOFOLLOW, END };
static const struct sq_field p_xget[] = { P_PATH, P_XNAME, P_NOFOLLOW, END };
static const char *const mode_values[] = { "create", "replace", NULL };
static const struct sq_field p_xset[] = {
	P_PATH, P_XNAME,
	{ .name = "value", .types = SQ_T_STR | SQ_T_BIN, .required = true },
	{ .name = "mode", .types = SQ_T_STR, .values = mode_values },
	P_NOFOLLOW, END,
};
static const struct sq_field k_xlist[] = { LIST("names", t_text), END };
static const struct sq_field r_xlist = { .types = SQ_T_MAP, .keys = k_xlist };
static const struct sq_field k_xget[] = { KEY("value", SQ_T_BIN), END };
static const struct sq_field r_xget = { .types = SQ_T_MAP, .keys = k_xget };
static const struct sq_field r_empty = { .types = SQ_T_MAP, .keys = no_params };
#define XATTR_PATH_ERRORS "EINVAL", "ENOENT", "ENOTDIR", "ELOOP", "ENAMETOOLONG", "EACCES", \
	"EPERM", "ENOTSUP", "ENOSYS", "EXDEV"
static const char *const e_xlist[] = { XATTR_PATH_ERRORS, "E2BIG", NULL };
static const char *const e_xget[] = { XATTR_PATH_ERRORS, "ENOATTR", "E2BIG", "ERANGE", NULL };
static const char *const e_xset[] = {
	XATTR_PATH_ERRORS, "ENOATTR", "EEXIST", "E2BIG", "ERANGE", "ENOSPC", "EDQUOT", "EROFS", NULL,
};
static const char *const e_xremove[] = { XATTR_PATH_ERRORS, "ENOATTR", "ERANGE", "EROFS", NULL };

/* proc.* */
#define P_FIELDS { \
	.name = "fields", .types = SQ_T_ARRAY, .items = &t_str, \
}
static const struct sq_field t_uid = {
	.types = SQ_T_INT, .ranged = true, .min = 0, .max = 4294967294LL,
};
/* two samples in the worker, which it holds meanwhile: bounded, and
 * counted against the caller's share of the engine like any job */
#define P_CPU_INTERVAL { \
	.name = "cpu_interval_ms", .types = SQ_T_INT, .ranged = true, .min = 1, \
	.max = SQ_PROC_CPU_INTERVAL_MAX_MS, \
	.note = "longer intervals: two readings of cpu_user_ns + cpu_system_ns", \
}
static const struct sq_field p_proc_list[] = {
	{ .name = "pid", .types = SQ_T_ARRAY, .items = &t_pid },
	{ .name = "uid", .types = SQ_T_INT, .ranged = true, .min = 0, .max = 4294967294LL },
	{ .name = "euid", .types = SQ_T_ARRAY, .items = &t_uid },
	{ .name = "comm", .types = SQ_T_ARRAY, .items = &t_text },
	P_FIELDS, P_CPU_INTERVAL, END,
};
#define PID_NOTE "kill(2)'s process-group and broadcast forms (pid <= 0) are refused"
#define P_PROC_PID { \
	.name = "pid", .types = SQ_T_INT, .required = true, .ranged = true, .min = 1, \
	.max = PID_MAX, .note = PID_NOTE, \
}
static const struct sq_field p_proc_get[] = { P_PROC_PID, P_FIELDS, P_CPU_INTERVAL, END };
static const struct sq_field p_proc_signal[] = {
	P_PROC_PID, { .name = "signal", .types = SQ_T_STR | SQ_T_INT, .required = true }, END,
};
static const struct sq_field k_proc_io[] = {
	OPTKEY("rchar", SQ_T_INT), OPTKEY("wchar", SQ_T_INT), OPTKEY("read_bytes", SQ_T_INT),
	OPTKEY("write_bytes", SQ_T_INT), END,
};
static const struct sq_field k_proc[] = {
	KEY("pid", SQ_T_INT), OPTKEY("ppid", SQ_T_INT), OPTKEY("pgid", SQ_T_INT),
	OPTKEY("sid", SQ_T_INT), OPTKEY("uid", SQ_T_INT), OPTKEY("euid", SQ_T_INT),
	OPTKEY("gid", SQ_T_INT), OPTKEY("state", SQ_T_STR), OPTKEY("comm", SQ_T_STR | SQ_T_BIN),
	{ .name = "args", .types = SQ_T_ARRAY, .items = &t_text },
	OPTKEY("args_truncated", SQ_T_BOOL), OPTKEY("exe", SQ_T_STR | SQ_T_BIN),
	OPTKEY("start_time", SQ_T_FLOAT), OPTKEY("cpu_user_ns", SQ_T_INT),
	OPTKEY("cpu_system_ns", SQ_T_INT), OPTKEY("rss_bytes", SQ_T_INT),
	OPTKEY("vsize_bytes", SQ_T_INT), OPTKEY("threads", SQ_T_INT), OPTKEY("nice", SQ_T_INT),
	OPTKEY("tty", SQ_T_STR | SQ_T_NIL), OPTKEY("cpu_percent", SQ_T_FLOAT),
	OPTKEY("fds", SQ_T_INT), OPTKEY("cgroup", SQ_T_STR | SQ_T_BIN),
	{ .name = "io", .types = SQ_T_MAP, .keys = k_proc_io }, END,
};
static const struct sq_field r_proc = { .types = SQ_T_MAP, .keys = k_proc };
static const struct sq_field k_procs[] = { LIST("procs", r_proc), END };
static const struct sq_field r_proc_list = { .types = SQ_T_MAP, .keys = k_procs };
static const char *const e_proc_list[] = { "EINVAL", "E2BIG", NULL };
static const char *const e_proc_get[] = { "EINVAL", "ESRCH", "E2BIG", NULL };
static const struct sq_field k_signal[] = {
	KEY("pid", SQ_T_INT), KEY("signal", SQ_T_INT), KEY("name", SQ_T_STR | SQ_T_NIL), END,
};
static const struct sq_field r_signal = { .types = SQ_T_MAP, .keys = k_signal };
static const char *const e_signal[] = { "EINVAL", "ESRCH", "EPERM", "EINTR", "ETIMEDOUT", NULL };

/* watch.* */
static const char *const topic_values[] = {
	"mounts", "interfaces", "proc.exit", "proc.fork", "proc.exec", NULL,
};
static const struct sq_field t_topic = { .types = SQ_T_STR, .values = topic_values };
static const struct sq_field p_subscribe[] = {
	{ .name = "topics", .types = SQ_T_ARRAY, .required = true, .items = &t_topic },
	{ .name = "pids", .types = SQ_T_ARRAY, .items = &t_pid, .max_items = SQ_WATCH_MAX_PIDS },
	{ .name = "uid", .types = SQ_T_INT, .ranged = true, .min = 0, .max = UINT32_MAX - 1 },
	{ .name = "ppid", .types = SQ_T_INT, .ranged = true, .min = 0, .max = INT32_MAX },
	{ .name = "comm", .types = SQ_T_STR | SQ_T_BIN },
	END,
};
static const struct sq_field k_sub[] = { KEY("subscription", SQ_T_INT), END };
static const struct sq_field r_sub = { .types = SQ_T_MAP, .keys = k_sub };
static const char *const e_subscribe[] = {
	"EINVAL", "E2BIG", "ESRCH", "EMFILE", "EPERM", "EAGAIN", NULL,
};
static const struct sq_field p_unsubscribe[] = {
	{ .name = "subscription", .types = SQ_T_INT, .required = true, .ranged = true,
	  .min = 1, .max = INT64_MAX },
	END,
};
static const char *const e_unsubscribe[] = { "EINVAL", "ENOENT", NULL };

const char *const sq_protocol_errors[] = {
	"EPROTO", "ENOSYS", "EINVAL", "EPERM", "E2BIG", "ETIMEDOUT", "EAGAIN", "ENOMEM",
	"ECANCELED", NULL,
};

/* ---- the table ------------------------------------------------------------ */

const struct sq_method sq_methods[] = {
	{ "sys.hello", m_sys_hello, SQ_RUN_LOOP, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "server identity, protocol version, the caller as the kernel sees it, "
	  "and the methods it may call", no_params, &r_hello, e_params },
	{ "sys.ping", m_sys_ping, SQ_RUN_LOOP, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "answers \"pong\"", no_params, &r_pong, e_params },
	{ "sys.uname", m_sys_uname, SQ_RUN_LOOP, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "what uname(2) says: sysname, nodename, release, version, machine", no_params, &r_uname,
	  e_params },
	{ "sys.methods", m_sys_methods, SQ_RUN_LOOP, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "every method (or the one named) with its summary, typed params, result shape, "
	  "errors and whether the caller may call it", p_methods, &r_methods, e_methods },
	{ "sys.stats", m_sys_stats, SQ_RUN_ASYNC, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "the daemon's own counters, limits and resource use", no_params, &r_stats, e_params },
	{ "sys.host", m_sys_host, SQ_RUN_POOL, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "the host's totals: uptime, boot time, load, CPU times in seconds (all and each "
	  "CPU), memory and swap in bytes, process and thread counts, pressure (Linux)",
	  no_params, &r_host, e_host },
	{ "sys.sysctl.get", m_sys_sysctl_get, SQ_RUN_POOL, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "kernel parameters by name, or all under a prefix, read as the caller; "
	  "typed as the kernel types them", p_sysctl_get, &r_sysctl_get, e_sysctl_get },
	{ "sys.sysctl.set", m_sys_sysctl_set, SQ_RUN_ASYNC, SQ_ACCESS_ROOT, SQ_AS_DAEMON,
	  "change a kernel parameter (root, or whom the policy grants the key; logged); "
	  "answers the previous value", p_sysctl_set, &r_sysctl_set, e_sysctl_set },
	{ "net.list", m_net_list, SQ_RUN_POOL, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "network interfaces: name, index, MTU, flags, MAC, addresses, counters, "
	  "operational state, carrier, MTU range", no_params,
	  &r_net_list, e_params },
	{ "net.mtu.get", m_net_mtu_get, SQ_RUN_POOL, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "an interface's MTU", p_mtu_get, &r_mtu_get, e_mtu_get },
	{ "net.mtu.set", m_net_mtu_set, SQ_RUN_POOL, SQ_ACCESS_ROOT, SQ_AS_DAEMON,
	  "change an interface's MTU (logged); answers the new and previous MTU",
	  p_mtu_set, &r_mtu_set, e_mtu_set },
	{ "net.sockets", m_net_sockets, SQ_RUN_ASYNC, SQ_ACCESS_ANY, SQ_AS_CALLER,
	  "the kernel's sockets (TCP, UDP, UNIX) with TCP figures and, asked, their owners as "
	  "the caller may see them: a response, net.sockets.batch notifications, net.sockets.end",
	  p_sockets, &r_sockets, e_sockets },
	{ "file.read", m_file_read, SQ_RUN_ASYNC, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "stream a regular file, opened as the caller: a response announcing the size, "
	  "then file.data bin chunks (sendfile), then file.end", p_read, &r_read, e_read },
	{ "fs.list", m_fs_list, SQ_RUN_ASYNC, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "mounted file systems with usage; a hung one is reported \"stale\" in time",
	  p_fs_list, &r_fs_list, e_fs_list },
	{ "fs.stat", m_fs_stat, SQ_RUN_ASYNC, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "the file system holding a path, looked up as the caller", p_fs_stat, &t_fs,
	  e_fs_stat },
	{ "xattr.list", m_xattr_list, SQ_RUN_POOL, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "names of a file's extended attributes, as the caller", p_xlist, &r_xlist, e_xlist },
	{ "xattr.get", m_xattr_get, SQ_RUN_POOL, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "one extended attribute's value (bin), as the caller", p_xget, &r_xget, e_xget },
	{ "xattr.set", m_xattr_set, SQ_RUN_POOL, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "set an extended attribute, as the caller", p_xset, &r_empty, e_xset },
	{ "xattr.remove", m_xattr_remove, SQ_RUN_POOL, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "remove an extended attribute, as the caller", p_xget, &r_empty, e_xremove },
	{ "proc.list", m_proc_list, SQ_RUN_POOL, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "the process table as the caller may see it", p_proc_list, &r_proc_list, e_proc_list },
	{ "proc.get", m_proc_get, SQ_RUN_POOL, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "one process (ESRCH when there is none)", p_proc_get, &r_proc, e_proc_get },
	{ "proc.signal", m_proc_signal, SQ_RUN_POOL, SQ_ACCESS_AS_CALLER, SQ_AS_CALLER,
	  "kill(2) as the caller; pid <= 0 is refused", p_proc_signal, &r_signal, e_signal },
	{ "watch.subscribe", m_watch_subscribe, SQ_RUN_ASYNC, SQ_ACCESS_ANY, SQ_AS_CALLER,
	  "push watch.event notifications on this connection: mounts, interfaces, "
	  "forks, execs and exits of the processes the caller may see", p_subscribe, &r_sub,
	  e_subscribe },
	{ "watch.unsubscribe", m_watch_unsubscribe, SQ_RUN_LOOP, SQ_ACCESS_ANY, SQ_AS_DAEMON,
	  "end a subscription of this connection", p_unsubscribe, &r_sub, e_unsubscribe },
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
	enum sq_policy_verdict verdict = sq_policy_decide(p, m, cred, &line);

	if (verdict == SQ_POLICY_DENY) {
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
		if (sq_ident_can_act_as(cred->uid))
			return 0;
		*why = SQ_IDENT_REFUSAL("path and process operations");
		return -EPERM;
	case SQ_ACCESS_ROOT:
		if (cred->uid == 0 || verdict == SQ_POLICY_ALLOW)
			return 0;
		*why = "only root may do this, unless the policy grants it";
		return -EPERM;
	}
	*why = "unknown access rule";
	return -EPERM;
}
