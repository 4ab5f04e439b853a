# SPDX-License-Identifier: ISC
"""test_thirdparty.py - sysqd through msgpack-rpc client libraries nobody
here wrote: Go's github.com/ugorji/go/codec (codec.MsgpackSpecRpc over
net/rpc, Debian's golang-github-ugorji-go-codec-dev), sending strings the
old-spec way (raw) and as msgpack bin, and msgpack5rpc from npm with node.

tests/interop/thirdparty.sh builds and installs them outside the tree (it
fails the whole module, loudly, when it cannot); each test runs one
scenario of tests/interop/go/sysq-ugorji or tests/interop/node/
sysq-msgpack5rpc.js, which exit non-zero on the first check that fails,
and asserts the checks it expects were made.

ugorji's client reads a reply's error as a string and sysq's is a map
{code, message}: there an error reaches the caller as a decode error (and
net/rpc drops that client), so its error scenario also reads the reply with
the library's msgpack decoder to see the code.  Nor can that client take a
server notification, so watch and file.read are covered through node."""
import os
import shutil
import subprocess
import unittest

from private_daemon import Daemon  # first: the tree's python/ on sys.path
from sysq import Client

TOP = os.path.dirname(os.path.abspath(__file__))
RUN_TIMEOUT = 120  # seconds: a hung client, never a timing claim
TOOLS = {}


def setUpModule():
    r = subprocess.run([os.path.join(TOP, "thirdparty.sh")], capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("tests/interop/thirdparty.sh failed (exit %d):\n%s%s"
                           % (r.returncode, r.stdout, r.stderr))
    for line in r.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            TOOLS[key] = value
    for key in ("sysq-ugorji", "node_modules"):
        if key not in TOOLS:
            raise RuntimeError("thirdparty.sh did not say where %s is:\n%s" % (key, r.stdout))


class ThirdParty(unittest.TestCase):
    """A private sysqd per class; run() asserts a client's scenario passed."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        assert rc == 0, f"sysqd exited {rc}: {cls.d.log_text()}"

    def run_client(self, argv, expect_ok, env=None):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                           env=env)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, f"{' '.join(argv)} failed:\n{out}")
        oks = [ln for ln in r.stdout.splitlines() if ln.startswith("ok ")]
        for want in expect_ok:
            self.assertTrue(any(want in ln for ln in oks),
                            f"no 'ok ... {want}' from {' '.join(argv)}:\n{out}")
        # whatever the client did, sysqd still answers a new connection
        c = Client(self.d.sock)
        self.assertEqual(c.call("sys.ping"), "pong")
        c.close()
        return r.stdout


class UgorjiBin(ThirdParty):
    """ugorji with WriteExt and StringToRaw: method names, params keys and
    the notifications it writes are all msgpack bin."""
    strings = "bin"

    def go(self, scenario, *expect_ok):
        return self.run_client([TOOLS["sysq-ugorji"], "-socket", self.d.sock,
                                "-strings", self.strings, scenario], expect_ok)

    def test_calls(self):
        self.go("calls", "sys.ping", "sys.hello", "fs.stat with params")

    def test_errors(self):
        out = self.go("errors", "fs.stat -> ENOENT", "sys.ping -> EINVAL",
                      "no.such.method -> ENOSYS", "answers after the errors")
        if self.strings == "bin":
            self.assertIn("-> EINVAL", out.split("no.such.method -> ENOSYS")[1])

    def test_pipeline(self):
        self.go("pipeline", "1000 pipelined calls")

    def test_notifications_sent(self):
        self.go("notify", "notifications ignored")


class UgorjiRaw(UgorjiBin):
    """ugorji with the old spec (WriteExt off): strings go out as raw."""
    strings = "raw"


class Msgpack5rpc(ThirdParty):
    def node(self, scenario, *rest_and_oks, arg=None):
        node = shutil.which("node")
        self.assertIsNotNone(node, "node is not installed (mk/deps.sh test)")
        argv = [node, os.path.join(TOP, "node", "sysq-msgpack5rpc.js"), self.d.sock, scenario]
        if arg is not None:
            argv.append(arg)
        env = dict(os.environ, NODE_PATH=TOOLS["node_modules"])
        return self.run_client(argv, rest_and_oks, env=env)

    def test_calls(self):
        self.node("calls", "sys.ping", "sys.hello", "proc.get with params",
                  "a bin method name")

    def test_errors(self):
        self.node("errors", "fs.stat -> ENOENT", "sys.ping -> EINVAL",
                  "no.such.method -> ENOSYS", "bin 7379ff2e -> EINVAL",
                  "outlives the errors")

    def test_pipeline(self):
        self.node("pipeline", "1000 pipelined calls")

    def test_notifications_both_ways(self):
        self.node("notify", "our notifications ignored", "watch.event for pid")

    def test_file_read(self):
        # three chunks and a bit (chunk is 1 MiB today); random bytes
        path = os.path.join(self.d.dir, "payload")
        with open(path, "wb") as f:
            f.write(os.urandom(3 * 1048576 + 12345))
        os.chmod(path, 0o644)
        self.node("file.read", f"file.read {3 * 1048576 + 12345} bytes", arg=path)


if __name__ == "__main__":
    unittest.main()
