# SPDX-License-Identifier: ISC
"""stream.py - file.read as a binary stream (PROTOCOL.md section 11): the
response, file.data chunks, file.end.  A chunk is handed out only once the
next message of its transfer has come: a chunk is zero-padded past the real
bytes only when it is the last one and file.end says so (a file that
shrank, a read error), and then only file.end's "bytes" are given out, after
which reading raises RemoteError.  "size": nil (procfs and the like) means
"read to file.end": size is then None."""
import io

from .client import RemoteError


def _of(msgid):
    def match(m):
        return (m[0] == 2 and m[1] in ("file.data", "file.end") and m[2] and
                isinstance(m[2][0], dict) and m[2][0].get("msgid") == msgid)
    return match


class FileReader(io.RawIOBase):
    """Attributes from the response: size (None when the kernel does not tell
    the length), offset, chunk, file_size."""

    def __init__(self, client, msgid):
        super().__init__()
        self._c = client
        self._id = msgid
        self._ended = True  # until the response is in
        r = client.reply(msgid)
        self.size = r.get("size")
        self.offset = r.get("offset")
        self.chunk = r.get("chunk")
        self.file_size = r.get("file_size")
        self._ended = False
        self._held = b""          # the last chunk, not yet known to be all real
        self._out = memoryview(b"")  # released, not yet read
        self._released = 0
        self._error = None

    def readable(self):
        return True

    def _next(self):
        msg = self._c.take(_of(self._id))
        p = msg[2][0]
        if msg[1] == "file.data":
            self._out = memoryview(self._held)
            self._released += len(self._held)
            self._held = bytes(p.get("data") or b"")
            return
        claimed = p.get("bytes") if isinstance(p.get("bytes"), int) else -1
        came = self._released + len(self._held)
        real = max(0, min(len(self._held), claimed - self._released))
        self._out = memoryview(self._held)[:real]
        self._held = b""
        self._ended = True
        if p.get("error") is not None:
            self._error = RemoteError.from_map(p["error"])
        elif claimed != came or self.size not in (None, claimed):
            self._error = RemoteError("EPROTO", f"file.end says {claimed} bytes, "
                                      f"{came} came, {self.size} were announced")

    def readinto(self, b):
        while not self._out and not self._ended:
            self._next()
        if self._out:
            n = min(len(b), len(self._out))
            b[:n] = self._out[:n]
            self._out = self._out[n:]
            return n
        if self._error is not None:
            err, self._error = self._error, None
            raise err
        return 0

    def readall(self):
        parts = []
        while True:
            while not self._out and not self._ended:
                self._next()
            if not self._out:
                break
            parts.append(bytes(self._out))
            self._out = memoryview(b"")
        if self._error is not None:
            err, self._error = self._error, None
            raise err
        return b"".join(parts)

    def close(self):
        """Before the end: the rest of the transfer is dropped as it comes."""
        if not self.closed and not self._ended:
            self._ended = True
            self._c.discard(_of(self._id))
            self._c._dropping.add(self._id)
        super().close()
