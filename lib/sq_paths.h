/* SPDX-License-Identifier: ISC */
/*
 * sq_paths.h - where sysqd listens by default, shared by daemon and clients
 * so both agree without configuration.
 */
#ifndef SQ_PATHS_H
#define SQ_PATHS_H

#include <stddef.h>

/* Root: the system socket.  Others: $XDG_RUNTIME_DIR/sysq/sysqd.sock, or
 * /tmp/sysq-UID/sysqd.sock.  0, or -ENAMETOOLONG. */
int sq_default_socket_path(char *buf, size_t size);
/* Creates the parent directory of a socket path if missing (0755 for the
 * system one, 0700 otherwise) and checks a per-user one belongs to us. */
int sq_prepare_socket_dir(const char *sock_path);

#endif
