# SPDX-License-Identifier: ISC
"""watch.py - a watch.subscribe subscription as an iterator of its
watch.event maps (PROTOCOL.md section 12), including "dropped" ones.  The
iteration ends when sysqd closes the connection; close() unsubscribes."""
import socket


class Watch:
    def __init__(self, client, topics, pids=None):
        self._c = client
        params = {"topics": list(topics)}
        if pids is not None:
            params["pids"] = list(pids)
        self.subscription = client.call("watch.subscribe", params)["subscription"]
        self.closed = False

    def _match(self, m):
        return (m[0] == 2 and m[1] == "watch.event" and m[2] and
                isinstance(m[2][0], dict) and m[2][0].get("subscription") == self.subscription)

    def __iter__(self):
        return self

    def __next__(self):
        if self.closed:
            raise StopIteration
        try:
            return self._c.take(self._match)[2][0]
        except ConnectionError:
            raise StopIteration from None

    def next(self, timeout=None):
        """The next event, or None when none came within timeout seconds."""
        try:
            return self._c.take(self._match, timeout)[2][0]
        except (TimeoutError, socket.timeout):
            return None

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            self._c.call("watch.unsubscribe", {"subscription": self.subscription})
        except (OSError, ConnectionError):
            pass  # the connection is gone, and the subscription with it
        self._c.discard(self._match)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
