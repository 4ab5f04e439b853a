# SPDX-License-Identifier: ISC
"""test_net.py - net.list from Python's msgpack, checked against an
independent witness: `ip -j addr show` (iproute2) run inside the daemon's
private network namespace (unshare -n; nsenter to look in).  The namespace
has lo, a veth pair with IPv4, a peer address, a labelled alias and IPv6,
and an interface whose name is not UTF-8 (it must arrive as bin)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import private_daemon  # noqa: F401  (the tree's python/ on sys.path)
from sysq import Client, RemoteError

ODD = b"x\xffy"  # an interface name that is not UTF-8

SETUP = r"""
set -e
ip link set lo up
ip link add v0 type veth peer name v1
# no IPv6 autoconf: the address set must not change while we compare
ip link set v0 addrgenmode none
ip link set v1 addrgenmode none
ip link set v0 mtu 1400 up
ip link set v1 up
ip addr add 192.0.2.10/24 dev v0
ip addr add 192.0.2.77/24 dev v0 label v0:x
ip addr add 198.51.100.1 peer 198.51.100.2/32 dev v0
ip -6 addr add 2001:db8::10/64 dev v0 nodad
ip link add "$(printf 'x\377y')" type veth peer name v2
exec "$1" -s "$2" -v
"""

# ip's flag words for the ones the protocol reports ("running" has no
# direct ip word: it is IFF_RUNNING, which ip shows as LOWER_UP/operstate)
FLAG_WORDS = {"UP": "up", "LOOPBACK": "loopback", "BROADCAST": "broadcast",
              "MULTICAST": "multicast", "POINTOPOINT": "pointopoint"}


def listening(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(path)
            return True
        except OSError:
            return False


def name_bytes(n):
    return n if isinstance(n, bytes) else n.encode()


@unittest.skipUnless(os.geteuid() == 0, "SKIPPED: a network namespace needs root")
@unittest.skipUnless(shutil.which("unshare") and shutil.which("nsenter") and shutil.which("ip"),
                     "SKIPPED: needs unshare, nsenter (util-linux) and ip (iproute2)")
class NetInNamespace(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        probe = subprocess.run(["unshare", "-n", "true"], stderr=subprocess.PIPE)
        if probe.returncode != 0:
            raise unittest.SkipTest("SKIPPED: unshare -n: %s" % probe.stderr.decode(errors="replace"))
        cls.dir = tempfile.mkdtemp(prefix="sysq-interop-net.")
        cls.sock = os.path.join(cls.dir, "sysqd.sock")
        cls.logf = open(os.path.join(cls.dir, "sysqd.log"), "wb")
        cls.proc = subprocess.Popen(
            ["unshare", "-n", "sh", "-c", SETUP, "sh", os.environ["SQ_SYSQD"], cls.sock],
            stderr=cls.logf)
        deadline = time.monotonic() + 10
        while not listening(cls.sock):
            if cls.proc.poll() is not None or time.monotonic() > deadline:
                cls.stop()
                raise RuntimeError("the namespace set-up or sysqd failed: %s" % cls.log_tail)
            time.sleep(0.01)

    @classmethod
    def stop(cls):
        if cls.proc.poll() is None:
            cls.proc.send_signal(signal.SIGTERM)
        rc = cls.proc.wait(timeout=20)
        cls.logf.close()
        with open(os.path.join(cls.dir, "sysqd.log"), "rb") as f:
            cls.log_tail = f.read()[-500:].decode(errors="replace")
        shutil.rmtree(cls.dir, ignore_errors=True)
        return rc

    @classmethod
    def tearDownClass(cls):
        rc = cls.stop()
        assert rc == 0, f"sysqd exited {rc}"

    def ip(self, *args):
        out = subprocess.run(["nsenter", f"--net=/proc/{self.proc.pid}/ns/net", "ip", "-j", *args],
                             check=True, stdout=subprocess.PIPE).stdout
        return json.loads(out.decode("utf-8", "surrogateescape"))

    def test_list_matches_ip(self):
        c = Client(self.sock)
        got = c.call("net.list")["interfaces"]
        c.close()
        want = self.ip("addr", "show")
        self.assertEqual([i["index"] for i in got], sorted(i["index"] for i in got))
        by_name = {name_bytes(i["name"]): i for i in got}
        self.assertEqual(len(by_name), len(got))
        self.assertEqual(set(by_name),
                         {w["ifname"].encode("utf-8", "surrogateescape") for w in want})
        for w in want:
            name = w["ifname"].encode("utf-8", "surrogateescape")
            g = by_name[name]
            with self.subTest(interface=name):
                self.assertEqual(g["index"], w["ifindex"])
                self.assertEqual(g["mtu"], w["mtu"])
                mac = w.get("address")
                if mac in (None, "00:00:00:00:00:00") or len(mac) != 17:
                    self.assertIsNone(g["mac"])
                else:
                    self.assertEqual(g["mac"], mac)
                self.assertEqual({f for f in g["flags"] if f != "running"},
                                 {FLAG_WORDS[f] for f in w["flags"] if f in FLAG_WORDS})
                self.assertEqual(
                    sorted((a["family"], a["addr"], a["prefixlen"]) for a in g["addrs"]),
                    sorted((a["family"], a["local"], a["prefixlen"]) for a in w["addr_info"]))

    def test_the_namespace_as_set_up(self):
        c = Client(self.sock)
        got = {name_bytes(i["name"]): i for i in c.call("net.list")["interfaces"]}
        v0 = got[b"v0"]
        self.assertEqual(v0["mtu"], 1400)
        addrs = {(a["family"], a["addr"], a["prefixlen"]) for a in v0["addrs"]}
        self.assertIn(("inet", "192.0.2.77", 24), addrs, "the v0:x label is v0's")
        self.assertIn(("inet", "198.51.100.1", 32), addrs, "the local end of a peer address")
        self.assertIn(("inet6", "2001:db8::10", 64), addrs)
        self.assertNotIn(b"v0:x", got)
        self.assertIn("running", v0["flags"], "v0 and v1 are up: carrier")
        self.assertIn("loopback", got[b"lo"]["flags"])
        c.close()

    def test_a_name_that_is_not_utf8_comes_as_bin(self):
        c = Client(self.sock)
        names = [i["name"] for i in c.call("net.list")["interfaces"]]
        self.assertIn(ODD, names, "bin, so a strict UTF-8 decoder still reads the reply")
        self.assertTrue(all(isinstance(n, str) for n in names if n != ODD))
        # and bin is accepted back as a name
        self.assertEqual(c.call("net.mtu.get", {"name": ODD})["mtu"], 1500)
        with self.assertRaises(RemoteError) as e:
            c.call("net.mtu.get", {"name": b"x\xff"})
        self.assertEqual(e.exception.code, "ENODEV")
        self.assertIn("\\xff", e.exception.message)
        c.close()

    def test_set_answers_new_and_previous(self):
        c = Client(self.sock)
        before = self.ip("link", "show", "v1")[0]["mtu"]
        r = c.call("net.mtu.set", {"name": "v1", "mtu": before - 100})
        self.assertEqual(r, {"mtu": before - 100, "previous": before})
        self.assertEqual(self.ip("link", "show", "v1")[0]["mtu"], before - 100, "ip sees it")
        r = c.call("net.mtu.set", {"name": "v1", "mtu": before})
        self.assertEqual(r, {"mtu": before, "previous": before - 100})
        c.close()


if __name__ == "__main__":
    unittest.main()
