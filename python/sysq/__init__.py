# SPDX-License-Identifier: ISC
"""sysq - a client for sysqd, the system query daemon (msgpack-rpc over a
UNIX socket; PROTOCOL.md).  Needs msgpack (Debian: python3-msgpack).

    import sysq
    with sysq.connect() as c:            # the socket the sysq CLI would use
        c.call("sys.uname")              # a result, or raises sysq.RemoteError
        ids = [c.send("sys.ping") for _ in range(100)]   # pipelined
        results = [c.reply(i) for i in ids]
        with c.open("/etc/passwd") as f:  # file.read as a byte stream
            data = f.read()
        with c.watch(["interfaces"]) as events:          # watch.event maps
            for ev in events: ...
"""
from .client import Client, RemoteError
from .paths import ConnectError, socket_paths, system_socket_path, user_socket_path
from .stream import FileReader
from .watch import Watch

__all__ = ["connect", "Client", "RemoteError", "ConnectError", "FileReader", "Watch",
           "socket_paths", "system_socket_path", "user_socket_path"]


def connect(path=None):
    """A Client on path; without one, on the first socket that answers of
    $SYSQ_SOCKET, then the system socket (when it exists) and the per-user
    one, as the sysq CLI and libsysq's sysq_connect(NULL) try them.  Raises
    ConnectError naming every path tried and why each failed."""
    tried = []
    for p in socket_paths(path):
        try:
            return Client(p)
        except OSError as e:
            tried.append((p, e))
    raise ConnectError(tried)
