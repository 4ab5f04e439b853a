/* SPDX-License-Identifier: ISC */
/*
 * net_mtu.c - the MTU through SIOCGIFMTU / SIOCSIFMTU on a datagram socket,
 * the same ioctls on Linux and macOS.  What differs (how the control socket
 * is made, what errno an unknown name gives) comes from net_<os>.c through
 * net_os.h.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_os.h"
#include "sq_net.h"

/* name has passed sq_net_check_name: it fits, with its NUL, and has no ':'
 * (Linux would cut "lo:x" to "lo") */
static void ifreq_for(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	memcpy(ifr->ifr_name, name, strlen(name));
}

int sq_net_get_mtu(int fd, const char *name, int *mtu)
{
	struct ifreq ifr;
	ifreq_for(&ifr, name);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
		return sq_net_ioctl_errno(errno);
	*mtu = ifr.ifr_mtu;
	return 0;
}

/* A control socket for name's ioctls: its fd, or a negative errno (a bad
 * name, no socket). */
static int socket_for(const char *name)
{
	int rc = sq_net_check_name(name, strlen(name));
	return rc < 0 ? rc : sq_net_ctl_socket();
}

int sq_net_mtu_get(const char *name, int *mtu)
{
	int fd = socket_for(name);
	if (fd < 0)
		return fd;
	int rc = sq_net_get_mtu(fd, name, mtu);
	close(fd);
	return rc;
}

int sq_net_mtu_set(const char *name, int mtu, int *previous, int *now)
{
	struct ifreq ifr;
	int fd = socket_for(name);
	if (fd < 0)
		return fd;
	int rc = sq_net_get_mtu(fd, name, previous);
	if (rc == 0) {
		ifreq_for(&ifr, name);
		ifr.ifr_mtu = mtu;
		if (ioctl(fd, SIOCSIFMTU, &ifr) < 0)
			rc = sq_net_ioctl_errno(errno);
		else if (sq_net_get_mtu(fd, name, now) < 0)
			*now = mtu; /* it was set; the interface went away since */
	}
	close(fd);
	return rc;
}
