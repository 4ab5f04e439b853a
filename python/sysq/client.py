# SPDX-License-Identifier: ISC
"""client.py - one connection to sysqd: requests are queued by send() and
written together (pipelining) when a reply is awaited or on flush(); what
the daemon sends is kept in arrival order until something takes it (a
reply by msgid, a transfer's chunks, a subscription's events)."""
import collections
import socket

import msgpack


class RemoteError(Exception):
    """sysqd answered with an error: .code ("EPERM", ...) and .message."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @classmethod
    def from_map(cls, err):
        if isinstance(err, dict):
            return cls(err.get("code", "EUNKNOWN"), err.get("message", ""))
        return cls("EUNKNOWN", repr(err))


class Client:
    """A connection to the sysqd listening on path (sysq.connect() finds it)."""

    def __init__(self, path):
        self.path = path
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.s.connect(path)
        except OSError:
            self.s.close()
            raise
        self.unpacker = msgpack.Unpacker(raw=False, strict_map_key=False,
                                         max_buffer_size=1 << 30)
        self.next_id = 1
        self._out = []
        self._pending = collections.deque()
        self._dropping = set()  # msgids of transfers closed before their end

    def close(self):
        self.s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- requests -------------------------------------------------------
    def send(self, method, params=None):
        """Queue a request; its msgid.  params: a map (or a whole params
        list); sent with the next flush() or when a reply is awaited."""
        msgid = self.next_id
        self.next_id += 1
        if isinstance(params, (list, tuple)):
            args = list(params)
        else:
            args = [params] if params else []
        self._out.append(msgpack.packb([0, msgid, method, args], use_bin_type=True))
        return msgid

    def flush(self):
        if self._out:
            data = b"".join(self._out)
            self._out.clear()
            self.s.sendall(data)

    def reply(self, msgid, timeout=None):
        """The result of request msgid; raises RemoteError for an error."""
        msg = self.take(lambda m: m[0] == 1 and m[1] == msgid, timeout, replies=True)
        if msg[2] is not None:
            raise RemoteError.from_map(msg[2])
        return msg[3]

    def call(self, method, params=None):
        return self.reply(self.send(method, params))

    def pipeline(self, calls):
        """[(method, params), ...] sent at once; their results in order, a
        RemoteError object (not raised) in place of each failed one."""
        ids = [self.send(m, p) for m, p in calls]
        out = []
        for i in ids:
            try:
                out.append(self.reply(i))
            except RemoteError as e:
                out.append(e)
        return out

    def open(self, path, offset=0, length=None, nofollow=False):
        """file.read as a binary stream (sysq.FileReader)."""
        from .stream import FileReader
        params = {"path": path}
        if offset:
            params["offset"] = offset
        if length is not None:
            params["length"] = length
        if nofollow:
            params["nofollow"] = True
        return FileReader(self, self.send("file.read", params))

    def read_file(self, path, **kw):
        with self.open(path, **kw) as f:
            return f.read()

    def watch(self, topics, pids=None):
        """watch.subscribe; its events as an iterator (sysq.Watch)."""
        from .watch import Watch
        return Watch(self, topics, pids)

    # ---- what the daemon sends ------------------------------------------
    def messages(self):
        """Every message not taken yet, in arrival order, reading as needed;
        ends when the daemon closes the connection."""
        self.flush()
        while True:
            while self._pending:
                yield self._pending.popleft()
            if not self._read():
                return

    def take(self, match, timeout=None, replies=False):
        """The first message match(msg) accepts, reading as needed.  Raises
        ConnectionError when the connection ends first (with replies, a
        sys.error notice, the daemon saying why it closes, as RemoteError),
        TimeoutError after timeout seconds."""
        self.flush()
        seen = 0
        old = self.s.gettimeout()
        try:
            self.s.settimeout(timeout)
            while True:
                for i in range(seen, len(self._pending)):
                    msg = self._pending[i]
                    if match(msg):
                        del self._pending[i]
                        return msg
                    if replies and msg[0] == 2 and msg[1] == "sys.error" and msg[2]:
                        del self._pending[i]
                        raise RemoteError.from_map(msg[2][0])
                seen = len(self._pending)
                if not self._read():
                    raise ConnectionError(f"sysqd closed the connection ({self.path})")
        finally:
            if self.s.fileno() >= 0:
                self.s.settimeout(old)

    def _read(self):
        data = self.s.recv(1 << 20)
        if not data:
            return False
        self.unpacker.feed(data)
        for msg in self.unpacker:
            if self._dropping and msg[0] == 2 and msg[1] in ("file.data", "file.end"):
                ref = msg[2][0].get("msgid") if msg[2] and isinstance(msg[2][0], dict) else None
                if ref in self._dropping:
                    if msg[1] == "file.end":
                        self._dropping.discard(ref)
                    continue
            self._pending.append(msg)
        return True

    def discard(self, match):
        """Drop the pending messages match(msg) accepts."""
        keep = [m for m in self._pending if not match(m)]
        self._pending.clear()
        self._pending.extend(keep)
