# SPDX-License-Identifier: ISC
"""test_pyclient.py - the Python package sysq (python/sysq): the sockets
connect() tries, in the order libsysq and the CLI try them (compared with
the CLI's own message as uid 65534); call, errors and pipelining; open()
as a byte stream (several chunks, offset/length, "size": nil, a transfer
closed early, a file that shrank, a dishonest end); watch() as an
iterator."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

from private_daemon import Daemon  # first: the tree's python/ on sys.path
import sysq
from sysq import RemoteError
from test_file import CHUNK, FakeDaemon, content, pk

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SYSQ = os.environ.get("SQ_SYSQ", "")


class SocketOrder(unittest.TestCase):
    def env(self, **kw):
        env = {k: v for k, v in os.environ.items() if k not in ("SYSQ_SOCKET", "XDG_RUNTIME_DIR")}
        env.update(kw)
        return mock.patch.dict(os.environ, env, clear=True)

    def system(self, exists):
        real = os.path.lexists
        sysp = sysq.system_socket_path()
        return mock.patch("os.path.lexists", lambda p: exists if p == sysp else real(p))

    def test_path_then_env_alone(self):
        with self.env(SYSQ_SOCKET="/e/s.sock"), self.system(True):
            self.assertEqual(sysq.socket_paths("/p/s.sock"), ["/p/s.sock"])
            self.assertEqual(sysq.socket_paths(), ["/e/s.sock"])

    def test_system_socket_when_it_exists_then_the_per_user_one(self):
        sysp = sysq.system_socket_path()
        self.assertEqual(sysp, "/var/run/sysqd.sock" if sys.platform == "darwin"
                         else "/run/sysq/sysqd.sock")
        with mock.patch("os.geteuid", return_value=65534):
            with self.env(XDG_RUNTIME_DIR="/run/user/65534"), self.system(True):
                self.assertEqual(sysq.socket_paths(),
                                 [sysp, "/run/user/65534/sysq/sysqd.sock"])
            with self.env(), self.system(False):
                self.assertEqual(sysq.socket_paths(), ["/tmp/sysq-65534/sysqd.sock"])
            with self.env(XDG_RUNTIME_DIR="relative"), self.system(False):
                self.assertEqual(sysq.socket_paths(), ["/tmp/sysq-65534/sysqd.sock"])
        with mock.patch("os.geteuid", return_value=0), self.env(), self.system(True):
            self.assertEqual(sysq.socket_paths(), [sysp])  # root's own is the system one

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv") and SYSQ,
                         "SKIPPED: needs root, setpriv and SQ_SYSQ")
    def test_the_same_paths_as_the_cli_as_uid_65534(self):
        env = {"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": "/nonexistent-sysq-xdg"}
        run = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        cli = subprocess.run(run + [SYSQ, "hello"], env=env, capture_output=True, text=True)
        self.assertEqual(cli.returncode, 3, cli.stderr)
        code = ("import sys; sys.path.insert(0, %r); import sysq\n"
                "try:\n    sysq.connect()\nexcept sysq.ConnectError as e:\n"
                "    print(e)\n" % os.environ.get("SQ_PYTHON_DIR", os.path.join(TOP, "python")))
        py = subprocess.run(run + ["/usr/bin/python3", "-c", code], env=env, cwd="/",
                            capture_output=True, text=True)
        self.assertEqual(py.returncode, 0, py.stderr)
        self.assertIn("/nonexistent-sysq-xdg/sysq/sysqd.sock", py.stdout)
        # the CLI says "sysq: cannot connect to A: why; nor to B: why (...)"
        self.assertIn(py.stdout.strip(), cli.stderr)


class Counting:
    """A socket that counts its sendall calls."""

    def __init__(self, s):
        self.s, self.writes = s, 0

    def sendall(self, data):
        self.writes += 1
        return self.s.sendall(data)

    def __getattr__(self, name):
        return getattr(self.s, name)


class Calls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()
        cls.dir = tempfile.mkdtemp(prefix="sysq-pyclient.")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)
        rc = cls.d.stop()
        assert rc == 0, f"sysqd exited {rc}: {cls.d.log_text()}"

    def connect(self):
        c = sysq.connect(self.d.sock)
        self.addCleanup(c.close)
        return c

    def test_connect_by_env_and_the_error_naming_every_path(self):
        with mock.patch.dict(os.environ, {"SYSQ_SOCKET": self.d.sock}):
            with sysq.connect() as c:
                self.assertEqual(c.path, self.d.sock)
                self.assertEqual(c.call("sys.ping"), "pong")
        missing = os.path.join(self.dir, "none.sock")
        with self.assertRaises(sysq.ConnectError) as e:
            sysq.connect(missing)
        self.assertIn(f"cannot connect to {missing}: ", str(e.exception))
        self.assertIn("is sysqd running?", str(e.exception))
        self.assertEqual([p for p, _ in e.exception.tried], [missing])

    def test_call_and_symbolic_errors(self):
        c = self.connect()
        self.assertEqual(c.call("sys.uname")["sysname"], os.uname().sysname)
        with self.assertRaises(RemoteError) as e:
            c.call("no.such.method")
        self.assertEqual(e.exception.code, "ENOSYS")
        self.assertEqual(c.call("proc.get", {"pid": os.getpid()})["pid"], os.getpid())

    def test_pipelining_replies_taken_in_any_order(self):
        c = self.connect()
        ids = [c.send("sys.ping") for _ in range(300)]
        c.s = Counting(c.s)
        self.assertEqual([c.reply(i) for i in reversed(ids)], ["pong"] * 300)
        self.assertEqual(c.s.writes, 1, "300 requests in one write")
        c.s = c.s.s
        out = c.pipeline([("sys.ping", None), ("sys.ping", {"bad": 1}), ("sys.uname", None)])
        self.assertEqual(out[0], "pong")
        self.assertIsInstance(out[1], RemoteError)
        self.assertEqual(out[1].code, "EINVAL")
        self.assertIn("machine", out[2])

    def file(self, name, data):
        p = os.path.join(self.dir, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def test_open_reads_a_byte_stream(self):
        c = self.connect()
        data = content(2 * CHUNK + 5, 3)
        p = self.file("big", data)
        with c.open(p) as f:
            self.assertEqual((f.size, f.file_size, f.offset), (len(data), len(data), 0))
            got = b""
            while True:
                piece = f.read(100_000)
                if not piece:
                    break
                got += piece
        self.assertEqual(got, data)
        self.assertEqual(c.read_file(p, offset=CHUNK - 2, length=7), data[CHUNK - 2:CHUNK + 5])
        self.assertEqual(c.read_file(self.file("empty", b"")), b"")
        with self.assertRaises(RemoteError) as e:
            c.open(os.path.join(self.dir, "missing"))
        self.assertEqual(e.exception.code, "ENOENT")

    @unittest.skipUnless(os.path.exists("/proc/version"), "SKIPPED: no /proc/version")
    def test_size_nil_reads_to_the_end(self):
        c = self.connect()
        with c.open("/proc/version") as f:
            self.assertIsNone(f.size)
            got = f.read()
        with open("/proc/version", "rb") as f:
            self.assertEqual(got, f.read())

    def test_a_stream_closed_early_leaves_the_connection_usable(self):
        c = self.connect()
        data = content(3 * CHUNK, 5)
        p = self.file("closed-early", data)
        f = c.open(p)
        self.assertEqual(f.read(10), data[:10])
        small = c.open(self.file("small", b"hello"))
        f.close()  # the rest of its chunks are dropped as they come
        self.assertEqual(c.call("sys.ping"), "pong")
        self.assertEqual(small.read(), b"hello")
        self.assertEqual(c.read_file(p), data)
        self.assertEqual(c.call("sys.ping"), "pong")
        self.assertFalse(c._pending, "nothing of the closed stream is left over")

    def test_watch_is_an_iterator_of_events(self):
        c = self.connect()
        kid = subprocess.Popen(["sleep", "30"])
        try:
            with c.watch(["proc.exit"], pids=[kid.pid]) as events:
                self.assertGreater(events.subscription, 0)
                self.assertIsNone(events.next(timeout=0.2))
                kid.kill()
                kid.wait()
                ev = next(iter(events))
                self.assertEqual((ev["topic"], ev["event"], ev["pid"]),
                                 ("proc.exit", "exited", kid.pid))
            self.assertEqual(list(events), [], "a closed watch yields nothing")
            self.assertEqual(c.call("sys.ping"), "pong")
        finally:
            kid.kill()
            kid.wait()


class StreamEdges(unittest.TestCase):
    """What a real sysqd sends only when a file changes under it."""

    def read(self, script):
        fake = FakeDaemon(script)
        try:
            with sysq.connect(fake.sock) as c, c.open("/some/file") as f:
                got = b""
                try:
                    while True:
                        piece = f.read(3)
                        if not piece:
                            return got, None
                        got += piece
                except (RemoteError, ConnectionError) as e:
                    return got, e
        finally:
            fake.close()

    def test_a_shrunk_file_gives_its_real_bytes_then_the_error(self):
        got, err = self.read(lambda msgid: (
            pk([1, msgid, None, {"size": 10, "offset": 0, "chunk": CHUNK, "file_size": 10}]) +
            pk([2, "file.data", [{"msgid": msgid, "data": b"real" + bytes(6)}]]) +
            pk([2, "file.end", [{"msgid": msgid, "bytes": 4, "error": {
                "code": "ENODATA", "message": "file shrank during the transfer"}}]])))
        self.assertEqual(got, b"real")
        self.assertIsInstance(err, RemoteError)
        self.assertEqual(err.code, "ENODATA")

    def test_an_end_claiming_other_bytes_than_came_is_an_error(self):
        got, err = self.read(lambda msgid: (
            pk([1, msgid, None, {"size": 4, "offset": 0, "chunk": CHUNK}]) +
            pk([2, "file.data", [{"msgid": msgid, "data": b"abcd"}]]) +
            pk([2, "file.end", [{"msgid": msgid, "bytes": 9, "error": None}]])))
        self.assertIsInstance(err, RemoteError)
        self.assertEqual(err.code, "EPROTO")

    def test_a_connection_lost_mid_chunk_is_an_error(self):
        whole = pk([2, "file.data", [{"msgid": 1, "data": b"x" * 100}]])
        got, err = self.read(lambda msgid: (
            pk([1, msgid, None, {"size": 100, "offset": 0, "chunk": CHUNK}]) + whole[:60]))
        self.assertEqual(got, b"")
        self.assertIsInstance(err, ConnectionError)


if __name__ == "__main__":
    unittest.main()
