/* SPDX-License-Identifier: ISC */
/*
 * activation.h - sysqd and its service manager: the listening socket a
 * manager hands over (systemd's LISTEN_FDS, launchd's launch_activate_socket)
 * and readiness notification (systemd's NOTIFY_SOCKET; launchd has none).
 * One API, one file per OS (activation_linux.c, activation_darwin.c), and
 * the portable checks in activation.c.  Without a manager, all of it is a no-op.
 */
#ifndef SQ_ACTIVATION_H
#define SQ_ACTIVATION_H

#include <stdbool.h>
#include <stddef.h>

struct sq_activation {
	int fd;               /* the inherited listening socket, or -1 */
	const char *manager;  /* "systemd", "launchd", or NULL (none seen) */
	bool managed;         /* started by a service manager (even without a socket) */
	char path[108];       /* where fd is bound ("@name" if abstract), for logs */
	char note[200];       /* something worth an INFO line ("" if not) */
};

/* Called once at start-up, before any thread exists.  Looks for a socket a
 * service manager passed to this process and checks it is a listening
 * AF_UNIX SOCK_STREAM socket (close-on-exec set, environment cleaned up).
 * 0 with a->fd == -1: nothing passed, listen yourself.  0 with a->fd >= 0:
 * serve that socket.  -errno with a message in err: the manager passed
 * something sysqd cannot serve; do not start. */
int sq_activation_get(struct sq_activation *a, char *err, size_t errlen);

/* Readiness protocol (systemd's sd_notify(3); no-ops elsewhere).  Call
 * sq_notify_init once at start-up: it takes NOTIFY_SOCKET out of the
 * environment so that nothing sysqd starts inherits it. */
void sq_notify_init(void);
/* Send "READY=1", "STOPPING=1", "RELOADING=1" ... (newline-separated
 * assignments).  0, -errno, or 0 when no manager listens.  Never blocks. */
int sq_notify(const char *state);
/* One "STATUS=<text>" line; the text is printf-formatted. */
int sq_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Portable (activation.c): 0 if fd is a listening AF_UNIX SOCK_STREAM
 * socket, its bound path then copied to path ("@name" abstract, "" unnamed);
 * otherwise -errno with err saying what fd is instead. */
int sq_activation_check_fd(int fd, char *path, size_t pathlen, char *err, size_t errlen);

#endif
