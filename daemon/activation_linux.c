/* SPDX-License-Identifier: ISC */
/*
 * activation_linux.c - systemd's side of service management, implemented
 * from its documented protocols without libsystemd: sockets passed as
 * LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES (sd_listen_fds(3): descriptors from 3
 * on, only for the process whose pid LISTEN_PID names) and readiness as
 * datagrams to $NOTIFY_SOCKET (sd_notify(3): a path, or '@' for an abstract
 * name).  systemd-socket-activate(1) and other launchers speak the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "activation.h"

#define LISTEN_FDS_START 3
/* sysqd serves one socket; the one it takes when given several */
#define SQ_FDNAME "sysqd"

/* A whole decimal number in [min, max], nothing else around it. */
static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The index of `want` in a colon-separated list of names, or -1. */
static long find_name(const char *names, const char *want, long n)
{
	size_t wl = strlen(want);
	const char *p = names;
	for (long i = 0; p && i < n; i++) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		if (len == wl && memcmp(p, want, wl) == 0)
			return i;
		p = colon ? colon + 1 : NULL;
	}
	return -1;
}

static void forget_listen_env(void)
{
	/* sd_listen_fds(3) with unset_environment: nothing sysqd starts later
	 * may believe these descriptors are meant for it */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

static int take_fds(struct sq_activation *a, char *err, size_t errlen)
{
	const char *spid = getenv("LISTEN_PID");
	const char *sfds = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	long pid, n;

	if (!spid)
		return 0;
	if (parse_long(spid, 1, LONG_MAX, &pid) < 0) {
		snprintf(err, errlen, "LISTEN_PID is not a pid: '%.40s'", spid);
		return -EINVAL;
	}
	if (pid != (long)getpid()) {
		/* meant for another process (inherited from a parent): not ours */
		snprintf(a->note, sizeof(a->note), "ignoring LISTEN_FDS: LISTEN_PID=%ld "
		         "is not this process (%ld)", pid, (long)getpid());
		return 0;
	}
	if (!sfds)
		return 0;
	if (parse_long(sfds, 1, INT_MAX - LISTEN_FDS_START, &n) < 0) {
		snprintf(err, errlen, "LISTEN_FDS is not a count of descriptors: '%.40s'", sfds);
		return -EINVAL;
	}
	for (long i = 0; i < n; i++) {
		int fd = LISTEN_FDS_START + (int)i;
		int fl = fcntl(fd, F_GETFD);
		if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
			int e = errno;
			snprintf(err, errlen, "LISTEN_FDS=%ld but descriptor %d: %s", n, fd,
			         strerror(e));
			return -e;
		}
	}

	long pick = 0;
	if (n > 1) {
		pick = names ? find_name(names, SQ_FDNAME, n) : -1;
		if (pick < 0) {
			snprintf(err, errlen, "%ld sockets passed (LISTEN_FDS) and none is named "
			         "'" SQ_FDNAME "' in LISTEN_FDNAMES (FileDescriptorName=" SQ_FDNAME
			         " in the socket unit)", n);
			return -EINVAL;
		}
	}
	int fd = LISTEN_FDS_START + (int)pick;
	char why[160];
	int rc = sq_activation_check_fd(fd, a->path, sizeof(a->path), why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "the socket passed by the service manager (LISTEN_FDS) "
		         "cannot be served: %s", why);
		return rc;
	}
	a->fd = fd;
	a->manager = "systemd";
	a->managed = true;
	return 0;
}

int sq_activation_get(struct sq_activation *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	a->fd = -1;
	err[0] = '\0';
	int rc = take_fds(a, err, errlen);
	forget_listen_env();
	if (!a->managed && getenv("INVOCATION_ID"))
		a->managed = true; /* a systemd service started without its socket */
	return rc;
}

/* ---- readiness: sd_notify(3) ---------------------------------------------- */

static struct sockaddr_un notify_addr;
static socklen_t notify_len;     /* 0: nobody to notify */
static int notify_unsupported;   /* NOTIFY_SOCKET names something we cannot reach */

void sq_notify_init(void)
{
	const char *e = getenv("NOTIFY_SOCKET");
	size_t len = e ? strlen(e) : 0;

	notify_len = 0;
	if (len >= 2 && len < sizeof(notify_addr.sun_path) && (e[0] == '/' || e[0] == '@')) {
		memset(&notify_addr, 0, sizeof(notify_addr));
		notify_addr.sun_family = AF_UNIX;
		memcpy(notify_addr.sun_path, e, len);
		if (e[0] == '@') {
			/* abstract: a leading NUL, and the length counts no terminator */
			notify_addr.sun_path[0] = '\0';
			notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
		} else {
			notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
		}
	} else if (e) {
		notify_unsupported = 1; /* e.g. "vsock:..." or a path too long */
	}
	unsetenv("NOTIFY_SOCKET");
}

int sq_notify(const char *state)
{
	if (notify_len == 0)
		return notify_unsupported ? -EAFNOSUPPORT : 0;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* MSG_DONTWAIT: the loop thread sends these; a stuck manager must not
	 * stop sysqd */
	ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
	                   (struct sockaddr *)&notify_addr, notify_len);
	int rc = n < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int sq_notify_status(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n = snprintf(line, sizeof(line), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* one assignment per line: a newline in the text would start another */
	for (char *p = line; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return sq_notify(line);
}
