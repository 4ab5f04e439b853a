/* SPDX-License-Identifier: ISC */
/*
 * activation.c - the portable half of socket activation: checking that a
 * descriptor handed over by a service manager is something sysqd can serve
 * (a listening AF_UNIX stream socket) and naming where it is bound.  The
 * per-manager halves are activation_linux.c and activation_darwin.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "activation.h"

static const char *family_name(int family)
{
	switch (family) {
	case AF_UNIX: return "AF_UNIX";
	case AF_INET: return "AF_INET";
	case AF_INET6: return "AF_INET6";
	default: return "another family";
	}
}

static const char *type_name(int type)
{
	switch (type) {
	case SOCK_STREAM: return "SOCK_STREAM";
	case SOCK_DGRAM: return "SOCK_DGRAM";
	case SOCK_SEQPACKET: return "SOCK_SEQPACKET";
	default: return "another type";
	}
}

int sq_activation_check_fd(int fd, char *path, size_t pathlen, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "descriptor %d is not open: %s", fd, strerror(e));
		return -e;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "descriptor %d is not a socket", fd);
		return -ENOTSOCK;
	}

	/* getsockname gives the family and the path in one call, on both OSes
	 * (macOS has no SO_DOMAIN) */
	struct sockaddr_un sa;
	socklen_t salen = sizeof(sa);
	memset(&sa, 0, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) {
		int e = errno;
		snprintf(err, errlen, "descriptor %d: getsockname: %s", fd, strerror(e));
		return -e;
	}
	if (sa.sun_family != AF_UNIX) {
		snprintf(err, errlen, "descriptor %d is an %s socket, not AF_UNIX", fd,
		         family_name(sa.sun_family));
		return -EAFNOSUPPORT;
	}

	int type = 0;
	socklen_t len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
		int e = errno;
		snprintf(err, errlen, "descriptor %d: SO_TYPE: %s", fd, strerror(e));
		return -e;
	}
	if (type != SOCK_STREAM) {
		snprintf(err, errlen, "descriptor %d is a %s socket, not SOCK_STREAM", fd,
		         type_name(type));
		return -EPROTOTYPE;
	}

	int listening = 0;
	len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0) {
		int e = errno;
		snprintf(err, errlen, "descriptor %d: SO_ACCEPTCONN: %s", fd, strerror(e));
		return -e;
	}
	if (!listening) {
		snprintf(err, errlen, "descriptor %d is a socket that is not listening "
		         "(a connection, or listen() was never called)", fd);
		return -EINVAL;
	}

	/* the path, for the log: sun_path may lack its NUL when it fills the field */
	size_t off = offsetof(struct sockaddr_un, sun_path);
	size_t n = salen > off ? (size_t)salen - off : 0;
	if (n > sizeof(sa.sun_path))
		n = sizeof(sa.sun_path);
	if (n == 0 || (sa.sun_path[0] == '\0' && n == 1)) {
		snprintf(path, pathlen, "%s", "");
	} else if (sa.sun_path[0] == '\0') { /* Linux abstract name */
		snprintf(path, pathlen, "@%.*s", (int)(n - 1), sa.sun_path + 1);
	} else {
		snprintf(path, pathlen, "%.*s", (int)strnlen(sa.sun_path, n), sa.sun_path);
	}
	return 0;
}
