# SPDX-License-Identifier: ISC
"""test_xattr.py - xattr.* from Python's msgpack: a binary value (NUL bytes,
non-UTF-8) set as bin comes back as the same bytes (Python bytes, i.e. bin),
the name list, ENOATTR for a missing attribute, and the kernel's own view
of the value (os.getxattr) matching the daemon's."""
import errno
import os
import shutil
import tempfile
import unittest

from private_daemon import Daemon  # first: the tree's python/ on sys.path
from sysq import Client, RemoteError


def user_xattrs_work(path):
    probe = os.path.join(path, ".probe")
    open(probe, "wb").close()
    try:
        os.setxattr(probe, "user.sq-probe", b"1")
        return None
    except OSError as e:
        return os.strerror(e.errno)
    finally:
        os.unlink(probe)


class Xattr(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None
        cls.dir = tempfile.mkdtemp(prefix="sysq-xattr-py.", dir=base)
        cls.why = user_xattrs_work(cls.dir)
        if cls.why and base:  # tmpfs before Linux 6.6: try /tmp
            shutil.rmtree(cls.dir)
            cls.dir = tempfile.mkdtemp(prefix="sysq-xattr-py.")
            cls.why = user_xattrs_work(cls.dir)
        cls.d = Daemon()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)
        assert rc == 0, f"sysqd exited {rc}: {cls.d.log_text()}"

    def setUp(self):
        if self.why:
            self.skipTest(f"SKIPPED: user.* extended attributes do not work here ({self.why})")
        self.c = Client(self.d.sock)

    def tearDown(self):
        self.c.close()

    def test_binary_value_round_trip(self):
        f = os.path.join(self.dir, "py-bin")
        open(f, "wb").close()
        value = b"\x00py\x00\xff\xfe\x80\xc3\x28 bytes\x00"
        self.assertEqual(self.c.call("xattr.set", {"path": f, "name": "user.py", "value": value}), {})
        got = self.c.call("xattr.get", {"path": f, "name": "user.py"})["value"]
        self.assertIsInstance(got, bytes)  # bin on the wire, not str
        self.assertEqual(got, value)
        self.assertEqual(os.getxattr(f, "user.py"), value)
        self.assertEqual(self.c.call("xattr.list", {"path": f})["names"], ["user.py"])

    def test_str_value_and_modes(self):
        f = os.path.join(self.dir, "py-modes")
        open(f, "wb").close()
        self.c.call("xattr.set", {"path": f, "name": "user.t", "value": "h\u00e9", "mode": "create"})
        self.assertEqual(os.getxattr(f, "user.t"), "h\u00e9".encode())
        with self.assertRaises(RemoteError) as e:
            self.c.call("xattr.set", {"path": f, "name": "user.t", "value": b"x", "mode": "create"})
        self.assertEqual(e.exception.code, "EEXIST")
        self.c.call("xattr.remove", {"path": f, "name": "user.t"})
        with self.assertRaises(OSError) as oe:
            os.getxattr(f, "user.t")
        self.assertEqual(oe.exception.errno, errno.ENODATA)
        with self.assertRaises(RemoteError) as e:
            self.c.call("xattr.get", {"path": f, "name": "user.t"})
        self.assertEqual(e.exception.code, "ENOATTR")
        with self.assertRaises(RemoteError) as e:
            self.c.call("xattr.set", {"path": f, "name": "user.t", "value": b"x", "mode": "replace"})
        self.assertEqual(e.exception.code, "ENOATTR")


if __name__ == "__main__":
    unittest.main()
