# SPDX-License-Identifier: ISC
"""test_basics.py - sysqd from Python's msgpack: hello, errors, and 1,000
pipelined requests answered by msgid (possibly out of order)."""
import os
import unittest

from private_daemon import Daemon  # first: the tree's python/ on sys.path
from sysq import Client, RemoteError


class Basics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        assert rc == 0, f"sysqd exited {rc}: {cls.d.log_text()}"

    def test_hello_identity(self):
        c = Client(self.d.sock)
        r = c.call("sys.hello")
        self.assertEqual(r["server"], "sysqd")
        self.assertEqual(r["peer"]["uid"], os.getuid())
        self.assertEqual(r["peer"]["pid"], os.getpid())
        self.assertIn("sys.ping", r["methods"])
        c.close()

    def test_errors_are_symbolic(self):
        c = Client(self.d.sock)
        with self.assertRaises(RemoteError) as e:
            c.call("does.not.exist")
        self.assertEqual(e.exception.code, "ENOSYS")
        with self.assertRaises(RemoteError) as e:
            c.call("sys.ping", {"nonsense": True})
        self.assertEqual(e.exception.code, "EINVAL")
        self.assertEqual(c.call("sys.ping"), "pong")
        c.close()

    def test_pipeline_1000(self):
        c = Client(self.d.sock)
        ids = {c.send("sys.stats" if i % 7 == 0 else "sys.ping") for i in range(1000)}
        got = {}
        for msg in c.messages():
            self.assertEqual(msg[0], 1)
            self.assertIsNone(msg[2])
            self.assertNotIn(msg[1], got)
            got[msg[1]] = msg[3]
            if len(got) == 1000:
                break
        self.assertEqual(set(got), ids)
        self.assertEqual(sum(1 for v in got.values() if v == "pong"), 1000 - 143)
        c.close()


if __name__ == "__main__":
    unittest.main()
