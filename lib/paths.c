/* SPDX-License-Identifier: ISC */
/*
 * paths.c - default socket locations.  The only per-OS fact, the system
 * socket path, comes from sq_system_socket_path() in os_<os>.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sq_os.h"
#include "sq_paths.h"

static int fit(int n, size_t size)
{
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int sq_default_socket_path(char *buf, size_t size)
{
	if (geteuid() == 0)
		return fit(snprintf(buf, size, "%s", sq_system_socket_path()), size);
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && xdg[0] == '/')
		return fit(snprintf(buf, size, "%s/sysq/sysqd.sock", xdg), size);
	return fit(snprintf(buf, size, "/tmp/sysq-%u/sysqd.sock", (unsigned)geteuid()),
	           size);
}

int sq_prepare_socket_dir(const char *sock_path)
{
	char dir[4096];
	const char *slash = strrchr(sock_path, '/');
	if (!slash || slash == sock_path)
		return 0;
	size_t n = (size_t)(slash - sock_path);
	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, sock_path, n);
	dir[n] = '\0';

	int system = strcmp(sock_path, sq_system_socket_path()) == 0;
	if (mkdir(dir, system ? 0755 : 0700) < 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	/* a per-user directory somebody else made (e.g. in /tmp) is a trap */
	if (st.st_uid != geteuid())
		return -EPERM;
	return 0;
}
