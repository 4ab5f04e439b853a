/* SPDX-License-Identifier: ISC */
/*
 * sq_os.h - small facts that differ per OS: its wire name and the system
 * socket path (os_<os>.c).
 */
#ifndef SQ_OS_H
#define SQ_OS_H

/* "linux" or "darwin", as sys.hello reports it. */
const char *sq_os_name(void);
/* Where root's sysqd listens: /run/sysq/sysqd.sock or /var/run/sysqd.sock. */
const char *sq_system_socket_path(void);

#endif
