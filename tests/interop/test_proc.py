# SPDX-License-Identifier: ISC
"""test_proc.py - the process table from Python's msgpack with raw=False:
a comm that is not UTF-8 must arrive as bytes (bin), a UTF-8 one with a
newline and parentheses as str, and nothing may make the unpacker choke
on a broken str.  Also proc.signal from Python, refused for pid 0."""
import os
import signal
import subprocess
import sys
import unittest

from private_daemon import Daemon  # first: the tree's python/ on sys.path
from sysq import Client, RemoteError

CHILD = r"""
import os, sys, time
name = bytes.fromhex(sys.argv[1])
with open('/proc/self/comm', 'wb') as f:   # sets our comm, newline included
    f.write(name)
sys.stdout.write('r'); sys.stdout.flush()
time.sleep(60)
"""


def start_named(name):
    p = subprocess.Popen([sys.executable, "-c", CHILD, name.hex()],
                         stdout=subprocess.PIPE)
    assert p.stdout.read(1) == b"r"
    return p


class Proc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not sys.platform.startswith("linux"):
            raise unittest.SkipTest("SKIPPED: sets comm through /proc/self/comm")
        cls.d = Daemon()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        assert rc == 0, f"sysqd exited {rc}: {cls.d.log_text()}"

    def test_comm_is_str_or_bin_never_broken(self):
        bad = b"\xff) (\n\x80"
        good = "é) b\n(c".encode()
        kids = [start_named(bad), start_named(good)]
        try:
            c = Client(self.d.sock)
            r = c.call("proc.list", {"pid": [k.pid for k in kids],
                                     "fields": ["comm", "args", "ppid"]})
            got = {p["pid"]: p for p in r["procs"]}
            self.assertEqual(got[kids[0].pid]["comm"], bad)       # bytes
            self.assertEqual(got[kids[1].pid]["comm"], good.decode())  # str
            for k in kids:
                self.assertEqual(got[k.pid]["ppid"], os.getpid())
                self.assertEqual(got[k.pid]["args"][0], sys.executable)
            # the whole table decodes with raw=False as well
            every = c.call("proc.list")["procs"]
            self.assertIn(os.getpid(), {p["pid"] for p in every})
            c.close()
        finally:
            for k in kids:
                k.kill()
                k.wait()
                k.stdout.close()

    def test_signal_and_refusals(self):
        k = subprocess.Popen(["sleep", "60"])
        try:
            c = Client(self.d.sock)
            r = c.call("proc.signal", {"pid": k.pid, "signal": "SIGTERM"})
            self.assertEqual(r["name"], "TERM")
            self.assertEqual(k.wait(timeout=10), -signal.SIGTERM)
            for bad in ({"pid": 0, "signal": "TERM"}, {"pid": -1, "signal": 9},
                        {"pid": k.pid, "signal": "NOPE"}):
                with self.assertRaises(RemoteError) as e:
                    c.call("proc.signal", bad)
                self.assertEqual(e.exception.code, "EINVAL")
            with self.assertRaises(RemoteError) as e:
                c.call("proc.get", {"pid": k.pid})   # reaped: gone
            self.assertEqual(e.exception.code, "ESRCH")
            c.close()
        finally:
            if k.poll() is None:
                k.kill()
                k.wait()


if __name__ == "__main__":
    unittest.main()
