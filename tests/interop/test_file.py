# SPDX-License-Identifier: ISC
"""test_file.py - file.read read by a stock msgpack.Unpacker (the framing in
PROTOCOL.md section 11, message by message), and `sysq get` end to end: against
sysqd, and against a fake daemon that sends a short or broken transfer, to prove
the CLI never leaves OUT looking complete when it is not."""
import os
import pty
import re
import select
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import unittest

import msgpack

from private_daemon import Daemon  # first: the tree's python/ on sys.path
from sysq import Client, RemoteError

CHUNK = 1 << 20
SYSQ = os.environ.get("SQ_SYSQ", "")


def content(n, seed=0):
    """n deterministic bytes without a period that divides CHUNK."""
    block = bytes((i * 7 + seed + (i >> 8)) % 251 for i in range(65521))
    return (block * (n // len(block) + 1))[:n]


def read_transfer(c, msgid):
    """Every message of transfer msgid as it came: (response, [chunks], end)."""
    resp, chunks = None, []
    for msg in c.messages():
        if msg[0] == 1 and msg[1] == msgid:
            resp = msg
            if msg[2] is not None:
                return resp, chunks, None
        elif msg[0] == 2 and msg[1] == "file.data" and msg[2][0]["msgid"] == msgid:
            chunks.append(msg)
        elif msg[0] == 2 and msg[1] == "file.end" and msg[2][0]["msgid"] == msgid:
            return resp, chunks, msg
    raise ConnectionError("connection closed mid-transfer")


class FileRead(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()
        cls.dir = tempfile.mkdtemp(prefix="sysq-interop-file.")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)
        rc = cls.d.stop()
        log = cls.d.log_text()
        assert rc == 0, f"sysqd exited {rc}: {log}"

    def file(self, name, data):
        p = os.path.join(self.dir, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def test_framing_message_by_message(self):
        c = Client(self.d.sock)
        for n in (0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 5):
            data = content(n, n % 13)
            p = self.file(f"f{n}", data)
            msgid = c.send("file.read", {"path": p})
            resp, chunks, end = read_transfer(c, msgid)
            # [1, msgid, nil, {size, offset, chunk, file_size}]
            self.assertEqual(len(resp), 4)
            self.assertIsNone(resp[2])
            # st_size 0 may be a pseudo file: "size": nil, read to file.end
            size = n if n else None
            self.assertEqual(resp[3], {"size": size, "offset": 0, "chunk": CHUNK, "file_size": size})
            # [2, "file.data", [{"msgid": id, "data": bin}]], chunk by chunk
            sizes = [len(m[2][0]["data"]) for m in chunks]
            want = [min(CHUNK, n - i) for i in range(0, n, CHUNK)]
            self.assertEqual(sizes, want)
            for m in chunks:
                self.assertEqual(len(m), 3)
                self.assertEqual(set(m[2][0]), {"msgid", "data"})
                self.assertIsInstance(m[2][0]["data"], bytes)  # bin, not str
            self.assertEqual(b"".join(m[2][0]["data"] for m in chunks), data)
            # [2, "file.end", [{"msgid": id, "bytes": n, "error": nil}]]
            self.assertEqual(end, [2, "file.end", [{"msgid": msgid, "bytes": n, "error": None}]])
        self.assertEqual(c.call("sys.ping"), "pong")
        c.close()

    def test_ranges(self):
        data = content(3 * CHUNK + 11)
        p = self.file("r", data)
        c = Client(self.d.sock)
        for off, length in ((0, 0), (CHUNK - 3, 6), (10, None), (len(data), None),
                            (len(data) - 4, 1000), (5, 2 * CHUNK)):
            params = {"path": p, "offset": off}
            if length is not None:
                params["length"] = length
            resp, chunks, end = read_transfer(c, c.send("file.read", params))
            want = data[off:off + length] if length is not None else data[off:]
            self.assertEqual(resp[3]["size"], len(want))
            self.assertEqual(resp[3]["offset"], off)
            self.assertEqual(b"".join(m[2][0]["data"] for m in chunks), want)
            self.assertEqual(end[2][0]["bytes"], len(want))
        with self.assertRaises(RemoteError) as e:
            c.call("file.read", {"path": p, "offset": len(data) + 1})
        self.assertEqual(e.exception.code, "EINVAL")
        c.close()

    def test_refusals_are_symbolic(self):
        fifo = os.path.join(self.dir, "fifo")
        os.mkfifo(fifo)
        c = Client(self.d.sock)
        for path, code in ((self.dir, "EISDIR"), (fifo, "ENOTSUP"), ("/dev/null", "ENOTSUP"),
                           (os.path.join(self.dir, "none"), "ENOENT"), ("rel/ative", "EINVAL")):
            with self.assertRaises(RemoteError) as e:
                c.call("file.read", {"path": path})
            self.assertEqual(e.exception.code, code, path)
        link = os.path.join(self.dir, "link")
        os.symlink(self.file("target", b"x"), link)
        with self.assertRaises(RemoteError) as e:
            c.call("file.read", {"path": link, "nofollow": True})
        self.assertEqual(e.exception.code, "ELOOP")
        c.close()

    def test_pipelined_ping_is_answered_and_the_stream_stays_whole(self):
        data = content(6 * CHUNK, 3)
        p = self.file("piped", data)
        c = Client(self.d.sock)
        pack = msgpack.Packer(use_bin_type=True)
        c.s.sendall(pack.pack([0, 1, "file.read", [{"path": p}]]) +
                    pack.pack([0, 2, "sys.ping", []]))
        got, pong, end = bytearray(), None, None
        for msg in c.messages():
            if msg[0] == 1 and msg[1] == 2:
                pong = msg[3]
            elif msg[0] == 2 and msg[1] == "file.data":
                got += msg[2][0]["data"]
            elif msg[0] == 2 and msg[1] == "file.end":
                end = msg[2][0]
                break
        self.assertEqual(pong, "pong")
        self.assertEqual(bytes(got), data)
        self.assertEqual(end, {"msgid": 1, "bytes": len(data), "error": None})
        c.close()


def run_get(sock, *args, cwd=None):
    return subprocess.run([SYSQ, "-s", sock, "get", *args], capture_output=True, cwd=cwd,
                          timeout=60)


@unittest.skipUnless(SYSQ, "SKIPPED: SQ_SYSQ does not name the sysq binary")
class GetCommand(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()
        cls.dir = tempfile.mkdtemp(prefix="sysq-interop-get.")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)
        rc = cls.d.stop()
        log = cls.d.log_text()
        assert rc == 0, f"sysqd exited {rc}: {log}"

    def setUp(self):
        self.out_dir = tempfile.mkdtemp(dir=self.dir)

    def leftovers(self):
        return sorted(os.listdir(self.out_dir))

    def test_get_to_a_file_and_to_stdout(self):
        data = content(3 * CHUNK + 99, 5)
        src = os.path.join(self.dir, "src")
        with open(src, "wb") as f:
            f.write(data)
        out = os.path.join(self.out_dir, "copy")
        r = run_get(self.d.sock, src, "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"", "quiet when stderr is not a terminal")
        with open(out, "rb") as f:
            self.assertEqual(f.read(), data)
        umask = os.umask(0)
        os.umask(umask)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o666 & ~umask)
        self.assertEqual(self.leftovers(), ["copy"])
        r = run_get(self.d.sock, src, "--offset", "1K", "--length=1048577")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, data[1024:1024 + 1048577])
        # a relative PATH is the caller's, not the daemon's
        r = run_get(self.d.sock, "src", "--length", "10", cwd=self.dir)
        self.assertEqual((r.returncode, r.stdout), (0, data[:10]), r.stderr)

    def test_get_is_byte_exact_by_splice_and_by_copy(self):
        """Output to a file, to stdout as a file and to /dev/null takes the
        splice path (-v counts the payload bytes spliced); to a pipe the
        copy path; every size around the chunk comes out byte for byte."""
        def moved(stderr):
            m = re.search(rb"(\d+) bytes written; payload: (\d+) spliced, (\d+) copied", stderr)
            self.assertIsNotNone(m, stderr)
            return tuple(int(x) for x in m.groups())
        for size in (0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 12345):
            data = content(size, size % 7)
            src = os.path.join(self.dir, "exact")
            with open(src, "wb") as f:
                f.write(data)
            out = os.path.join(self.out_dir, "copy")
            r = run_get(self.d.sock, src, "-v", "-o", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, "rb") as f:
                self.assertTrue(f.read() == data, f"-o FILE, {size} bytes")
            written, spliced, copied = moved(r.stderr)
            self.assertEqual((written, spliced + copied), (size, size))
            if size >= CHUNK:  # what came with another message's read is copied
                self.assertGreater(spliced, size // 2, f"{size} bytes: {r.stderr}")
            os.unlink(out)
            with open(out, "wb") as f:  # stdout a regular file: spliced too
                r = subprocess.run([SYSQ, "-s", self.d.sock, "get", "-v", src], stdout=f,
                                   stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, "rb") as f:
                self.assertTrue(f.read() == data, f"stdout a file, {size} bytes")
            if size >= CHUNK:
                self.assertGreater(moved(r.stderr)[1], 0)
            os.unlink(out)
            r = run_get(self.d.sock, src, "-v", "-o", os.devnull)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(moved(r.stderr)[0], size)
            if size >= CHUNK:
                self.assertGreater(moved(r.stderr)[1], 0)
            r = run_get(self.d.sock, src, "-v")  # stdout a pipe: copied
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout == data, f"stdout a pipe, {size} bytes")
            self.assertEqual(moved(r.stderr), (size, 0, size))

    def test_a_failed_get_leaves_out_alone(self):
        out = os.path.join(self.out_dir, "copy")
        r = run_get(self.d.sock, os.path.join(self.dir, "missing"), "-o", out)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"ENOENT", r.stderr)
        self.assertEqual(self.leftovers(), [])
        with open(out, "wb") as f:
            f.write(b"previous")
        r = run_get(self.d.sock, self.dir, "-o", out)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"EISDIR", r.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"previous")
        self.assertEqual(self.leftovers(), ["copy"])

    def test_usage_errors_exit_2(self):
        for args in ((), ("a", "b"), ("a", "--offset", "-1"), ("a", "--length", "1X"),
                     ("a", "--bogus")):
            self.assertEqual(run_get(self.d.sock, *args).returncode, 2, args)

    def test_progress_bar_on_a_terminal(self):
        data = content(2 * CHUNK + 1)
        src = os.path.join(self.dir, "bar")
        with open(src, "wb") as f:
            f.write(data)
        master, slave = pty.openpty()
        p = subprocess.Popen([SYSQ, "-s", self.d.sock, "get", src, "-o", os.devnull],
                             stderr=slave, stdout=subprocess.DEVNULL)
        os.close(slave)
        text = b""
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            text += chunk
        os.close(master)
        self.assertEqual(p.wait(timeout=30), 0)
        self.assertIn(b"100%", text)
        self.assertIn(b"2.0M", text)  # bytes
        self.assertIn(b"/s", text)     # rate
        self.assertIn(b"in ", text)    # elapsed, once done


class FakeDaemon:
    """A socket that answers one file.read with a scripted byte stream."""

    def __init__(self, script):
        self.dir = tempfile.mkdtemp(prefix="sysq-fake.")
        self.sock = os.path.join(self.dir, "fake.sock")
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.sock)
        self.srv.listen(1)
        self.script = script
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        conn, _ = self.srv.accept()
        unpacker = msgpack.Unpacker(raw=False)
        while True:
            data = conn.recv(65536)
            if not data:
                return
            unpacker.feed(data)
            for req in unpacker:
                conn.sendall(self.script(req[1]))
                conn.close()
                return

    def close(self):
        self.srv.close()
        self.t.join(5)
        shutil.rmtree(self.dir)


def pk(obj):
    return msgpack.packb(obj, use_bin_type=True)


@unittest.skipUnless(SYSQ, "SKIPPED: SQ_SYSQ does not name the sysq binary")
class GetAgainstAFakeDaemon(unittest.TestCase):
    def setUp(self):
        self.out_dir = tempfile.mkdtemp(prefix="sysq-fake-out.")
        self.out = os.path.join(self.out_dir, "OUT")

    def tearDown(self):
        shutil.rmtree(self.out_dir)

    def get(self, script, *extra):
        fake = FakeDaemon(script)
        try:
            return run_get(fake.sock, "/some/file", *extra)
        finally:
            fake.close()

    @staticmethod
    def shrunk(msgid):
        # 10 bytes announced, the file shrank: 4 real bytes, then padding
        return (pk([1, msgid, None, {"size": 10, "offset": 0, "chunk": CHUNK, "file_size": 10}]) +
                pk([2, "file.data", [{"msgid": msgid, "data": b"real" + bytes(6)}]]) +
                pk([2, "file.end", [{"msgid": msgid, "bytes": 4, "error": {
                    "code": "ENODATA", "message": "file shrank during the transfer"}}]]))

    def test_honest_stream_is_written_whole(self):
        def ok(msgid):
            return (pk([1, msgid, None, {"size": 6, "offset": 0, "chunk": 4}]) +
                    pk([2, "file.data", [{"msgid": msgid, "data": b"abcd"}]]) +
                    pk([2, "file.data", [{"msgid": msgid, "data": b"ef"}]]) +
                    pk([2, "file.end", [{"msgid": msgid, "bytes": 6, "error": None}]]))
        r = self.get(ok, "-o", self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.out, "rb") as f:
            self.assertEqual(f.read(), b"abcdef")

    def test_short_transfer_to_out_leaves_nothing(self):
        r = self.get(self.shrunk, "-o", self.out)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"short transfer: 4 of 10 bytes: ENODATA", r.stderr)
        self.assertEqual(os.listdir(self.out_dir), [])

    def test_short_transfer_to_stdout_writes_only_real_bytes(self):
        r = self.get(self.shrunk)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, b"real")

    def test_connection_lost_mid_bin(self):
        def cut(msgid):
            whole = pk([2, "file.data", [{"msgid": msgid, "data": b"x" * 100}]])
            return pk([1, msgid, None, {"size": 100, "offset": 0, "chunk": CHUNK}]) + whole[:60]
        r = self.get(cut, "-o", self.out)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"lost the connection", r.stderr)
        self.assertEqual(os.listdir(self.out_dir), [])

    @staticmethod
    def big_shrunk(msgid):
        # 3 MiB announced in 1 MiB chunks: the second is CHUNK + 100 real
        # bytes then padding, and file.end says so
        data = content(3 * CHUNK, 1)
        return (pk([1, msgid, None, {"size": 3 * CHUNK, "offset": 0, "chunk": CHUNK,
                                     "file_size": 3 * CHUNK}]) +
                pk([2, "file.data", [{"msgid": msgid, "data": data[:CHUNK]}]]) +
                pk([2, "file.data", [{"msgid": msgid, "data": data[CHUNK:CHUNK + 100] +
                                      bytes(CHUNK - 100)}]]) +
                pk([2, "file.end", [{"msgid": msgid, "bytes": CHUNK + 100, "error": {
                    "code": "ENODATA", "message": "file shrank during the transfer"}}]]))

    def get_to_stdout_file(self, script):
        fake = FakeDaemon(script)
        try:
            with open(self.out, "wb") as f:
                r = subprocess.run([SYSQ, "-s", fake.sock, "get", "-v", "/some/file"], stdout=f,
                                   stderr=subprocess.PIPE, timeout=60)
        finally:
            fake.close()
        with open(self.out, "rb") as f:
            return r, f.read()

    def test_a_padded_chunk_is_cut_back_by_splice_and_by_copy(self):
        real = content(3 * CHUNK, 1)[:CHUNK + 100]
        r, got = self.get_to_stdout_file(self.big_shrunk)  # spliced, then cut back
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"short transfer: %d of %d bytes: ENODATA" % (CHUNK + 100, 3 * CHUNK),
                      r.stderr)
        self.assertRegex(r.stderr, rb"payload: [1-9]\d* spliced")
        self.assertTrue(got == real, f"{len(got)} bytes")
        os.unlink(self.out)
        r = self.get(self.big_shrunk)  # a pipe: held back, copied
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stdout == real, f"{len(r.stdout)} bytes")
        r = self.get(self.big_shrunk, "-o", self.out)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(os.listdir(self.out_dir), [])

    def test_connection_lost_mid_payload_by_splice_and_by_copy(self):
        data = content(3 * CHUNK, 2)
        def cut(msgid):
            second = pk([2, "file.data", [{"msgid": msgid, "data": data[CHUNK:2 * CHUNK]}]])
            return (pk([1, msgid, None, {"size": 3 * CHUNK, "offset": 0, "chunk": CHUNK}]) +
                    pk([2, "file.data", [{"msgid": msgid, "data": data[:CHUNK]}]]) +
                    second[:CHUNK // 2])
        for extra in (("-o", self.out), ("-o", os.devnull)):
            r = self.get(cut, *extra)
            self.assertEqual(r.returncode, 1, extra)
            self.assertIn(b"lost the connection", r.stderr)
            self.assertEqual(os.listdir(self.out_dir), [])
        r, got = self.get_to_stdout_file(cut)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"lost the connection", r.stderr)
        self.assertTrue(data.startswith(got), "only real bytes, none past the cut")
        r = self.get(cut)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(data.startswith(r.stdout))

    def test_end_claiming_more_than_was_sent_is_refused(self):
        def liar(msgid):
            return (pk([1, msgid, None, {"size": 4, "offset": 0, "chunk": CHUNK}]) +
                    pk([2, "file.data", [{"msgid": msgid, "data": b"abcd"}]]) +
                    pk([2, "file.end", [{"msgid": msgid, "bytes": 9, "error": None}]]))
        r = self.get(liar, "-o", self.out)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(os.listdir(self.out_dir), [])

    def test_a_chunk_over_the_announced_size_is_refused(self):
        # the response's "chunk" bounds every file.data: a stream of unknown
        # size (procfs) to a pipe is held a chunk at a time, so a daemon
        # claiming more must not make the CLI take it
        def over(msgid):
            return (pk([1, msgid, None, {"size": None, "offset": 0, "chunk": 4}]) +
                    pk([2, "file.data", [{"msgid": msgid, "data": b"abcdefgh"}]]) +
                    pk([2, "file.end", [{"msgid": msgid, "bytes": 8, "error": None}]]))

        def huge(msgid):  # a bin32 header claiming 3 GiB, and nothing after it
            head = pk([2, "file.data", [{"msgid": msgid, "data": b""}]])[:-2]  # less c4 00
            return (pk([1, msgid, None, {"size": None, "offset": 0, "chunk": CHUNK}]) +
                    head + b"\xc6" + (3 << 30).to_bytes(4, "big"))
        for script in (over, huge):
            for extra in ((), ("-o", self.out)):
                r = self.get(script, *extra)
                self.assertEqual(r.returncode, 1, (script.__name__, extra, r.stderr))
                self.assertIn(b"larger than the chunk", r.stderr, (script.__name__, extra))
                self.assertEqual(r.stdout, b"")
                self.assertEqual(os.listdir(self.out_dir), [])


if __name__ == "__main__":
    unittest.main()
