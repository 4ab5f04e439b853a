/* SPDX-License-Identifier: ISC */
/*
 * handlers.h - every method handler, by module (m_<group>.c).  The method
 * table in methods.c is the only caller.
 */
#ifndef SQ_HANDLERS_H
#define SQ_HANDLERS_H

struct sq_req;

/* m_sys.c */
int m_sys_hello(struct sq_req *r);
int m_sys_ping(struct sq_req *r);
int m_sys_uname(struct sq_req *r);
int m_sys_methods(struct sq_req *r);
int m_sys_stats(struct sq_req *r);
/* m_host.c */
int m_sys_host(struct sq_req *r);
/* m_sysctl.c */
int m_sys_sysctl_get(struct sq_req *r);
int m_sys_sysctl_set(struct sq_req *r);

/* m_net.c */
int m_net_list(struct sq_req *r);
int m_net_mtu_get(struct sq_req *r);
int m_net_mtu_set(struct sq_req *r);
/* m_sockets.c */
int m_net_sockets(struct sq_req *r);
/* m_file.c */
int m_file_read(struct sq_req *r);
/* m_fs.c */
int m_fs_list(struct sq_req *r);
int m_fs_stat(struct sq_req *r);
/* m_xattr.c */
int m_xattr_list(struct sq_req *r);
int m_xattr_get(struct sq_req *r);
int m_xattr_set(struct sq_req *r);
int m_xattr_remove(struct sq_req *r);
/* m_proc.c */
/* proc.list/proc.get's cpu_interval_ms: at most this long the worker waits
 * between its two samples (below the engine's stuck threshold) */
#define SQ_PROC_CPU_INTERVAL_MAX_MS 500
int m_proc_list(struct sq_req *r);
int m_proc_get(struct sq_req *r);
int m_proc_signal(struct sq_req *r);
/* m_watch.c */
int m_watch_subscribe(struct sq_req *r);
int m_watch_unsubscribe(struct sq_req *r);

#endif
