# SPDX-License-Identifier: ISC
"""sysq_client.py - a minimal msgpack-rpc client for sysqd in plain Python
(Debian's python3-msgpack), and a helper that starts a private sysqd.  It is
the proof that any language's msgpack library can speak to sysqd."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import msgpack


class Daemon:
    """A sysqd on a private socket, stopped (and checked) by stop()."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="sysq-interop.")
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, "sysqd.sock")
        self.log = open(os.path.join(self.dir, "sysqd.log"), "wb")
        binary = os.environ["SQ_SYSQD"]
        self.proc = subprocess.Popen([binary, "-s", self.sock, "-v", *args],
                                     stderr=self.log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    probe.connect(self.sock)
                    return
                finally:
                    probe.close()
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("sysqd exited at start")
                time.sleep(0.01)
        raise RuntimeError("sysqd did not start")

    def stop(self):
        """SIGTERM, wait, and remove the private directory (the log's text
        stays available through log_text())."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=20)
        self.log.close()
        self._log = self.log_text()
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc

    def log_text(self):
        if getattr(self, "_log", None) is not None:
            return self._log
        with open(os.path.join(self.dir, "sysqd.log"), "rb") as f:
            return f.read().decode(errors="replace")


class RemoteError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
        self.next_id = 1

    def close(self):
        self.s.close()

    def send(self, method, params=None):
        msgid = self.next_id
        self.next_id += 1
        self.s.sendall(msgpack.packb([0, msgid, method, [params] if params else []],
                                     use_bin_type=True))
        return msgid

    def messages(self):
        """Yield every message the daemon sends, reading as needed."""
        while True:
            for msg in self.unpacker:
                yield msg
            data = self.s.recv(1 << 16)
            if not data:
                return
            self.unpacker.feed(data)

    def call(self, method, params=None):
        msgid = self.send(method, params)
        for msg in self.messages():
            if msg[0] == 1 and msg[1] == msgid:
                if msg[2] is not None:
                    raise RemoteError(msg[2]["code"], msg[2]["message"])
                return msg[3]
        raise ConnectionError("connection closed before the reply")
