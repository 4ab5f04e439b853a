# SPDX-License-Identifier: ISC
"""test_hostile.py - hostile clients from Python: random bytes, truncated
frames, a frame cut in the middle and then silence, 100,000-deep nesting,
4 GiB length prefixes, wrong-typed params for every method sys.methods
lists, 1,000 concurrent connections, a client that never reads, and a
connect/disconnect storm.  After each: the daemon answers, the connections
are gone, and its RSS (from sys.stats) is back near the baseline."""
import os
import random
import re
import shutil
import socket
import subprocess
import time
import unittest

import msgpack

from private_daemon import Daemon  # first: the tree's python/ on sys.path
from sysq import Client

WAIT = 10.0          # generous deadline for conditions, never a timing claim
MAX_MESSAGE = 65536  # the daemon under test runs with this --max-message


def sanitized():
    """True when SQ_SYSQD is an ASan build: freed memory sits in ASan's
    quarantine, so RSS settles higher and later than in a release build."""
    with open(os.environ["SQ_SYSQD"], "rb") as f:
        return b"__asan_init" in f.read()


RSS_SLACK = (16 if sanitized() else 4) << 20


def raw(sock_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(WAIT)
    s.connect(sock_path)
    return s


def send_all(s, data):
    """Send what the daemon accepts; False once it has closed on us."""
    try:
        s.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False
    except socket.timeout:
        return False


def read_until_closed(s):
    """Every message the daemon sends until it closes the connection."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    msgs = []
    while True:
        try:
            data = s.recv(1 << 16)
        except ConnectionResetError:
            break
        if not data:
            break
        unpacker.feed(data)
        msgs.extend(unpacker)
    return msgs


def read_one(s):
    """The next message on a raw socket (the daemon must not close first)."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    while True:
        data = s.recv(1 << 16)
        if not data:
            raise ConnectionError("closed before a message")
        unpacker.feed(data)
        for m in unpacker:
            return m


def request(msgid, method, params=None):
    return msgpack.packb([0, msgid, method, [params] if params is not None else []],
                         use_bin_type=True)


class Hostile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # under ASan, freed memory waits in a quarantine (256 MiB by default)
        # and RSS only grows: keep it small so RSS means what it says
        cls.asan_options = os.environ.get("ASAN_OPTIONS")
        os.environ["ASAN_OPTIONS"] = (cls.asan_options or "") + ":quarantine_size_mb=1"
        args = ["--max-message", str(MAX_MESSAGE), "--max-output", "262144",
                "--max-inflight", "8", "--write-timeout", "1"]
        # 1,000 connections from one uid: lift a per-user limit where there is one
        usage = subprocess.run([os.environ["SQ_SYSQD"], "--help"], capture_output=True,
                               text=True, check=True).stdout
        if "--max-per-user" in usage:
            args += ["--max-per-user", "2000"]
        try:
            cls.d = Daemon(*args)
        finally:
            if cls.asan_options is None:
                del os.environ["ASAN_OPTIONS"]
            else:
                os.environ["ASAN_OPTIONS"] = cls.asan_options
        cls.addClassCleanup(cls.kill_daemon)  # runs even when setUpClass fails
        cls.by = Client(cls.d.sock)
        cls.by.s.settimeout(WAIT)
        # warm up (threads, arenas, a burst of connections) before the baseline
        for _ in range(200):
            cls.by.call("sys.stats")
        warm = [Client(cls.d.sock) for _ in range(100)]
        for c in warm:
            c.call("sys.ping")
            c.close()
        cls.wait_connections(1)
        cls.baseline = cls.by.call("sys.stats")["rss_bytes"]

    @classmethod
    def tearDownClass(cls):
        cls.by.close()
        rc = cls.d.stop()
        assert rc == 0, f"sysqd exited {rc}: {cls.d.log_text()}"

    @classmethod
    def kill_daemon(cls):
        if cls.d.proc.poll() is None:
            cls.d.proc.kill()
            cls.d.proc.wait()
        cls.d.log.close()
        shutil.rmtree(cls.d.dir, ignore_errors=True)  # stop() was not used

    @classmethod
    def wait_connections(cls, want):
        deadline = time.monotonic() + WAIT
        while True:
            n = cls.by.call("sys.stats")["connections"]
            if n == want or time.monotonic() > deadline:
                return n
            time.sleep(0.01)

    def healthy(self):
        """The daemon answers, only the bystander is left, RSS is near baseline."""
        self.assertEqual(self.by.call("sys.ping"), "pong")
        other = Client(self.d.sock)
        self.assertEqual(other.call("sys.ping"), "pong")
        other.close()
        self.assertEqual(self.wait_connections(1), 1, "connections left behind")
        deadline = time.monotonic() + WAIT
        while True:
            st = self.by.call("sys.stats")
            if st["rss_bytes"] <= self.baseline + RSS_SLACK or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        print(f"  rss {st['rss_bytes'] >> 20} MiB (baseline {self.baseline >> 20} MiB)", flush=True)
        self.assertLessEqual(st["rss_bytes"], self.baseline + RSS_SLACK,
                             f"rss {st['rss_bytes']} vs baseline {self.baseline}")
        self.assertEqual(st["inflight"], 1)  # this sys.stats itself

    def check_messages(self, msgs):
        """What a daemon sends to a hostile client is still well-formed."""
        for m in msgs:
            self.assertIsInstance(m, list)
            self.assertIn(m[0], (1, 2), m)
            if m[0] == 2:
                self.assertEqual(m[1], "sys.error")
                self.assertIn(m[2][0]["code"], ("EPROTO", "E2BIG"))
            elif m[2] is not None:
                self.assertIsInstance(m[2]["code"], str)
                self.assertIsInstance(m[2]["message"], str)

    # ---- garbage ------------------------------------------------------------------

    def test_random_bytes_from_several_clients(self):
        rng = random.Random(0x5157)
        clients = [raw(self.d.sock) for _ in range(8)]
        alive = [True] * len(clients)
        for i, s in enumerate(clients):
            if i % 2:  # a request head, so the garbage lands in the params
                alive[i] = send_all(s, b"\x94\x00\x01\xa8sys.ping")
        for _ in range(16):
            for i, s in enumerate(clients):
                chunk = bytes(rng.getrandbits(8) for _ in range(512))
                if i == 2:  # plausible container headers
                    chunk = bytes(0x80 | (b & 0x1f) if k % 2 == 0 else b
                                  for k, b in enumerate(chunk))
                if alive[i]:
                    alive[i] = send_all(s, chunk)
            self.assertEqual(self.by.call("sys.ping"), "pong")
        for s in clients:
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            self.check_messages(read_until_closed(s))
            s.close()
        self.healthy()

    def test_truncated_frames(self):
        frame = request(77, "sys.uname")
        for cut in range(1, len(frame)):
            # cut, a bystander is served meanwhile, then the rest: answered
            s = raw(self.d.sock)
            self.assertTrue(send_all(s, frame[:cut]))
            self.assertEqual(self.by.call("sys.ping"), "pong")
            self.assertTrue(send_all(s, frame[cut:]))
            reply = read_one(s)
            self.assertEqual(reply[:3], [1, 77, None])
            self.assertEqual(reply[3]["sysname"], "Linux")
            # cut, then hang up: the daemon just closes
            s2 = raw(self.d.sock)
            send_all(s2, frame[:cut])
            s2.shutdown(socket.SHUT_WR)
            self.assertEqual(read_until_closed(s2), [])
            s2.close()
            s.close()
        self.healthy()

    def test_frame_cut_in_the_middle_then_silence(self):
        silent = raw(self.d.sock)
        frame = request(5, "sys.ping", {"pad": "x" * 1000})
        self.assertTrue(send_all(silent, frame[:len(frame) // 2]))
        for _ in range(200):
            self.assertEqual(self.by.call("sys.ping"), "pong")
        st = self.by.call("sys.stats")
        self.assertGreaterEqual(st["connections"], 2)
        self.assertEqual(st["inflight"], 1)
        silent.close()
        self.healthy()

    def test_deep_nesting(self):
        for data, msgid in ((b"\x91" * 100000, None),
                            (b"\x81\x01" * 50000, None),
                            (b"\x94\x00\x09\xa8sys.ping" + b"\x91" * 100000, 9)):
            s = raw(self.d.sock)
            send_all(s, data)
            msgs = read_until_closed(s)
            s.close()
            self.assertEqual(len(msgs), 1, msgs)
            if msgid is None:
                self.assertEqual(msgs[0][:2], [2, "sys.error"])
                self.assertEqual(msgs[0][2][0]["code"], "E2BIG")
            else:
                self.assertEqual(msgs[0][:2], [1, msgid])
                self.assertEqual(msgs[0][2]["code"], "E2BIG")
        self.healthy()

    def test_huge_length_prefixes(self):
        heads = [b"\xc6\xff\xff\xff\xff", b"\xdb\xff\xff\xff\xff", b"\xdd\xff\xff\xff\xff",
                 b"\xdf\xff\xff\xff\xff", b"\xc9\xff\xff\xff\xff\x01",
                 b"\xda\xff\xff", b"\xde\xff\xff"]
        for head in heads:
            # alone: a notification; inside a request: a reply to its msgid
            for prefix, msgid in ((b"", None), (b"\x94\x00\xcd\x01\x00\xa8sys.ping\x91\x81\xa1x",
                                                256)):
                s = raw(self.d.sock)
                self.assertTrue(send_all(s, prefix + head))
                msgs = read_until_closed(s)  # answered without the 4 GiB
                s.close()
                self.assertEqual(len(msgs), 1, (head, msgs))
                if msgid is None:
                    self.assertEqual(msgs[0][2][0]["code"], "E2BIG", head)
                else:
                    self.assertEqual(msgs[0][:2], [1, msgid])
                    self.assertEqual(msgs[0][2]["code"], "E2BIG", head)
        self.healthy()

    # ---- params of every method ------------------------------------------------------

    @staticmethod
    def wrong_values(typ):
        """Values that are not of the param type described by `typ`."""
        t = typ.lower()
        if "any" in t:
            return []
        out = []
        if "bool" not in t:
            out.append(True)
        if not any(k in t for k in ("float", "double", "num")):
            out.append(1.5)
        if not any(k in t for k in ("int", "num", "float", "double")):
            out.append(12345)
        if not any(k in t for k in ("str", "path", "name", "bin", "byte", "text")):
            out.append("\u00e9x")
        if not any(k in t for k in ("[", "array", "list")):
            out.append([[1], {"a": None}])
        if not any(k in t for k in ("map", "obj", "dict")) and "{" not in t:
            out.append({"\x00": [True]})
        return out

    def test_wrong_params_for_every_method(self):
        c = Client(self.d.sock)
        c.s.settimeout(WAIT)
        methods = c.call("sys.methods")["methods"]
        self.assertGreaterEqual(len(methods), 5)
        junk = [5, "x", [], True, None, {}, {1: 2}, {"bogus\u00e9": 1}]
        tried = 0
        for m in methods:
            name = m["name"]
            expect = {"EINVAL"} if m["allowed"] else {"EINVAL", "EPERM"}
            cases = []
            # params that are not [] or [{...}]
            for j in junk:
                if j is None or j == {}:
                    continue  # [nil] and [{}] are valid "no params"
                cases.append([j])
            cases.append([{}, {}])
            cases.append([{"bogus": 1}])
            # every named param with values of the wrong type
            for pname, ptype in re.findall(r"(\w+)\??\s*:\s*([^,}]+)", m["params"]):
                for v in self.wrong_values(ptype):
                    cases.append([{pname: v}])
            for params in cases:
                msgid = c.next_id
                c.next_id += 1
                c.s.sendall(msgpack.packb([0, msgid, name, params], use_bin_type=True))
                reply = next(c.messages())
                self.assertEqual(reply[:2], [1, msgid], reply)
                self.assertIsNotNone(reply[2], f"{name} accepted params {params!r}")
                self.assertIn(reply[2]["code"], expect, f"{name} {params!r}: {reply[2]}")
                tried += 1
            # names that are not text come back as text in the message
            msgid = c.next_id
            c.next_id += 1
            c.s.sendall(b"\x94\x00" + msgpack.packb(msgid) + msgpack.packb(name)
                        + b"\x91\x81\xa3\xff\xfe\x01\x01")
            reply = next(c.messages())  # raw=False: a broken str would raise here
            self.assertIn(reply[2]["code"], expect)
            self.assertEqual(c.call("sys.ping"), "pong")
        self.assertGreaterEqual(tried, 8 * len(methods))
        c.close()
        self.healthy()

    # ---- many connections, slow readers ------------------------------------------------

    def test_a_thousand_concurrent_connections(self):
        clients = [raw(self.d.sock) for _ in range(1000)]
        for i, s in enumerate(clients):
            s.sendall(request(i, "sys.ping"))
        for i, s in enumerate(clients):
            self.assertEqual(read_one(s), [1, i, None, "pong"])
        self.assertGreaterEqual(self.by.call("sys.stats")["connections"], 1001)
        for s in clients:
            s.close()
        self.healthy()

    def test_a_client_that_never_reads(self):
        s = raw(self.d.sock)
        batch = b"".join(request(i, "sys.methods") for i in range(200))
        sent = 0
        while sent < 200000 and send_all(s, batch):  # ~12 KiB of replies each
            sent += 200
        self.assertLess(sent, 200000, "never cut off")
        deadline = time.monotonic() + WAIT
        while self.by.call("sys.stats")["slow_disconnects"] < 1:
            self.assertLess(time.monotonic(), deadline, "no slow disconnect counted")
            time.sleep(0.01)
        s.close()
        self.healthy()

    def test_connect_disconnect_storm(self):
        ping, stats = request(1, "sys.ping"), request(2, "sys.stats")
        for i in range(2000):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.d.sock)
            if i % 4 == 1:
                send_all(s, ping)
            elif i % 4 == 2:
                send_all(s, stats)
            elif i % 4 == 3:
                send_all(s, stats[:3])
            s.close()
            if i % 250 == 0:
                self.assertEqual(self.by.call("sys.ping"), "pong")
        self.healthy()


if __name__ == "__main__":
    unittest.main()
