/* SPDX-License-Identifier: ISC */
/*
 * os_darwin.c - macOS's answers to sq_os.h: its name and the socket path
 * the launchd plist's SockPathName names too.
 */
#include "sq_os.h"

const char *sq_os_name(void)
{
	return "darwin";
}

const char *sq_system_socket_path(void)
{
	return "/var/run/sysqd.sock";
}
