# SPDX-License-Identifier: ISC
"""private_daemon.py - a sysqd on a private socket for the interop tests, and
the tree's python/ first on sys.path: the tests use the sysq package from
the source tree (python/sysq, what `make install` installs), no install
needed.  The package is the proof that any language's msgpack library can
speak to sysqd (it is plain msgpack-rpc over Debian's python3-msgpack)."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))


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
