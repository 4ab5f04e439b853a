# SPDX-License-Identifier: ISC
"""test_fs.py - fs.list and fs.stat from Python's msgpack, checked against
Python's own os.statvfs: the shape of every answer (str or bin mount
points, nil sizes for mounts without figures), and the figures of local
file systems agreeing exactly with an independent statvfs."""
import os
import shutil
import unittest

from private_daemon import Daemon  # first: the tree's python/ on sys.path
from sysq import Client, RemoteError

KEYS = {"mountpoint", "source", "fstype", "options", "readonly", "block_size",
        "total_bytes", "free_bytes", "avail_bytes", "files", "files_free", "state"}
SIZES = ("block_size", "total_bytes", "free_bytes", "avail_bytes", "files", "files_free")
# statvfs on these cannot hang (no network, no userspace server)
LOCAL = {"tmpfs", "ext2", "ext3", "ext4", "xfs", "btrfs", "devtmpfs", "vfat", "apfs", "hfs"}


def check_shape(test, m):
    test.assertEqual(set(m) - {"error"}, KEYS)
    test.assertIsInstance(m["mountpoint"], (str, bytes))
    test.assertIsInstance(m["source"], (str, bytes))
    test.assertIsInstance(m["fstype"], str)
    test.assertIsInstance(m["options"], list)
    test.assertIn(m["options"][0], ("rw", "ro"))
    test.assertIsInstance(m["readonly"], bool)
    if m["options"][0] == "ro":
        test.assertTrue(m["readonly"])
    test.assertIn(m["state"], ("ok", "stale", "error"))
    if m["state"] == "ok":
        test.assertNotIn("error", m)
        for k in SIZES:
            test.assertIsInstance(m[k], int)
        test.assertLessEqual(m["avail_bytes"], m["free_bytes"])
        test.assertLessEqual(m["free_bytes"], m["total_bytes"])
    else:
        test.assertRegex(m["error"], r"^E[A-Z0-9]+$")
        for k in SIZES:
            test.assertIsNone(m[k])


class Fs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        log = cls.d.log_text()
        shutil.rmtree(cls.d.dir, ignore_errors=True)
        assert rc == 0, f"sysqd exited {rc}: {log}"

    def test_every_answer_has_the_documented_shape(self):
        c = Client(self.d.sock)
        for params in (None, {"all": True}, {"timeout_ms": 5000}):
            mounts = c.call("fs.list", params)["mounts"]
            self.assertTrue(mounts)
            for m in mounts:
                check_shape(self, m)
        everything = c.call("fs.list", {"all": True})["mounts"]
        default = c.call("fs.list")["mounts"]
        self.assertGreaterEqual(len(everything), len(default))
        self.assertIn("proc", {m["fstype"] for m in everything})
        self.assertNotIn("proc", {m["fstype"] for m in default})
        c.close()

    def test_figures_agree_with_statvfs(self):
        c = Client(self.d.sock)
        checked = 0
        for m in c.call("fs.list")["mounts"]:
            if m["state"] != "ok" or m["fstype"] not in LOCAL:
                continue
            st = os.statvfs(m["mountpoint"])
            self.assertEqual(m["block_size"], st.f_frsize, m["mountpoint"])
            self.assertEqual(m["total_bytes"], st.f_blocks * st.f_frsize, m["mountpoint"])
            self.assertEqual(m["files"], st.f_files, m["mountpoint"])
            checked += 1
        self.assertGreater(checked, 0, "no local file system to compare")
        r = c.call("fs.stat", {"path": "/"})
        check_shape(self, r)
        st = os.statvfs("/")
        self.assertEqual(r["mountpoint"], "/")
        self.assertEqual(r["total_bytes"], st.f_blocks * st.f_frsize)
        c.close()

    def test_stat_errors_are_symbolic(self):
        c = Client(self.d.sock)
        with self.assertRaises(RemoteError) as e:
            c.call("fs.stat", {"path": "/nonexistent/sysq/interop"})
        self.assertEqual(e.exception.code, "ENOENT")
        with self.assertRaises(RemoteError) as e:
            c.call("fs.list", {"timeout_ms": 0})
        self.assertEqual(e.exception.code, "EINVAL")
        # a path given as bytes (bin) is a path too
        r = c.call("fs.stat", {"path": b"/"})
        self.assertEqual(r["mountpoint"], "/")
        c.close()


if __name__ == "__main__":
    unittest.main()
