/* SPDX-License-Identifier: ISC */
/*
 * activation_darwin.c - launchd's side of service management: the listening
 * socket launchd created from the plist's Sockets -> Listeners entry
 * (launch_activate_socket(3), macOS 10.10+).  launchd has no readiness
 * protocol, so the notify calls do nothing here.
 */
#include <errno.h>
#include <fcntl.h>
#include <launch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "activation.h"

/* the key under Sockets in launchd/com.sysq.sysqd.plist */
#define SQ_LAUNCHD_SOCKET "Listeners"

int sq_activation_get(struct sq_activation *a, char *err, size_t errlen)
{
	int *fds = NULL;
	size_t cnt = 0;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	err[0] = '\0';

	int rc = launch_activate_socket(SQ_LAUNCHD_SOCKET, &fds, &cnt);
	if (rc == ESRCH)
		return 0; /* not started by launchd: listen ourselves */
	a->managed = true;
	a->manager = "launchd";
	if (rc == ENOENT) {
		/* a launchd job whose plist has no Sockets entry: listen ourselves */
		snprintf(a->note, sizeof(a->note), "launchd passed no '%s' socket; "
		         "listening on the configured path", SQ_LAUNCHD_SOCKET);
		return 0;
	}
	if (rc != 0) {
		snprintf(err, errlen, "launch_activate_socket(\"%s\"): %s", SQ_LAUNCHD_SOCKET,
		         strerror(rc));
		return -rc;
	}
	if (cnt == 0) {
		free(fds);
		snprintf(err, errlen, "launchd passed no descriptor for '%s'", SQ_LAUNCHD_SOCKET);
		return -ENOENT;
	}

	/* one SockPathName gives one socket; nothing sysqd starts inherits it */
	for (size_t i = 1; i < cnt; i++)
		close(fds[i]);
	int fd = fds[0];
	free(fds);
	int fl = fcntl(fd, F_GETFD);
	if (fl >= 0)
		fcntl(fd, F_SETFD, fl | FD_CLOEXEC);

	char why[160];
	rc = sq_activation_check_fd(fd, a->path, sizeof(a->path), why, sizeof(why));
	if (rc < 0) {
		close(fd);
		snprintf(err, errlen, "the socket launchd passed cannot be served: %s", why);
		return rc;
	}
	if (cnt > 1)
		snprintf(a->note, sizeof(a->note), "launchd passed %zu sockets for '%s'; "
		         "serving the first", cnt, SQ_LAUNCHD_SOCKET);
	a->fd = fd;
	return 0;
}

void sq_notify_init(void)
{
}

int sq_notify(const char *state)
{
	(void)state;
	return 0;
}

int sq_notify_status(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}
