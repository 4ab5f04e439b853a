# SPDX-License-Identifier: ISC
"""paths.py - where sysqd listens, in the order clients try (lib/paths.c and
client/libsysq.c): the given path or $SYSQ_SOCKET alone; else the system
socket when something is there, then the per-user socket."""
import errno
import os
import sys


def system_socket_path():
    """/run/sysq/sysqd.sock; on macOS /var/run/sysqd.sock."""
    return "/var/run/sysqd.sock" if sys.platform == "darwin" else "/run/sysq/sysqd.sock"


def user_socket_path():
    """What a sysqd of this effective uid binds by default: the system socket
    for root, else $XDG_RUNTIME_DIR/sysq/sysqd.sock (when absolute), else
    /tmp/sysq-UID/sysqd.sock."""
    uid = os.geteuid()
    if uid == 0:
        return system_socket_path()
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if xdg.startswith("/"):
        return f"{xdg}/sysq/sysqd.sock"
    return f"/tmp/sysq-{uid}/sysqd.sock"


def socket_paths(path=None):
    """The sockets to try, in order."""
    if path is None:
        path = os.environ.get("SYSQ_SOCKET")
    if path:
        return [os.fspath(path)]
    out = []
    system = system_socket_path()
    if os.path.lexists(system):
        out.append(system)
    user = user_socket_path()
    if user not in out:
        out.append(user)
    return out


class ConnectError(OSError):
    """No socket answered; .tried is [(path, OSError)] in order."""

    def __init__(self, tried):
        self.tried = tried
        parts = [f"{p}: {e.strerror or e}" for p, e in tried]
        text = "cannot connect to " + "; nor to ".join(parts)
        last = tried[-1][1].errno if tried else errno.ENOENT
        if any(e.errno in (errno.ENOENT, errno.ECONNREFUSED) for _, e in tried):
            text += " (is sysqd running?)"
        super().__init__(last, text)

    def __str__(self):
        return self.strerror
