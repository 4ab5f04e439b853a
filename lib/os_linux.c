/* SPDX-License-Identifier: ISC */
/*
 * os_linux.c - Linux's answers to sq_os.h: its name and systemd's /run.
 */
#include "sq_os.h"

const char *sq_os_name(void)
{
	return "linux";
}

const char *sq_system_socket_path(void)
{
	return "/run/sysq/sysqd.sock";
}
