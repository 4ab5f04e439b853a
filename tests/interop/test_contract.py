# SPDX-License-Identifier: ISC
"""test_contract.py - the method contract as one source: sys.methods gives
each method's typed params, result shape and errors as data (and one method
with {"name": M}); sysqd refuses every request that does not fit its method's
params, as PROTOCOL.md section 2 says; and PROTOCOL.md and sysq-protocol(7)
agree with the table (mk/contract_docs.py, which `make docs` runs to write
their generated parts)."""
import os
import sys
import unittest

from private_daemon import Daemon  # first: the tree's python/ on sys.path
from sysq import Client, RemoteError

sys.path.insert(0, os.path.join(os.environ.get("SQ_TOP", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")), "mk"))
import contract_docs  # noqa: E402


class Contract(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()
        cls.c = Client(cls.d.sock)
        cls.methods = cls.c.call("sys.methods")["methods"]
        cls.by_name = {m["name"]: m for m in cls.methods}

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        rc = cls.d.stop()
        assert rc == 0, f"sysqd exited {rc}: {cls.d.log_text()}"

    def param(self, method, name):
        return next(p for p in self.by_name[method]["typed_params"] if p["name"] == name)

    # ---- sys.methods: the contract as data --------------------------------------------

    def test_every_method_has_typed_params_result_and_errors(self):
        self.assertGreaterEqual(len(self.methods), 20)
        for m in self.methods:
            self.assertIsInstance(m["typed_params"], list, m["name"])
            self.assertIsInstance(m["result"]["types"], list, m["name"])
            self.assertIn("EINVAL", m["errors"], m["name"])
            for p in m["typed_params"]:
                self.assertTrue(set(p["types"]) <= set(contract_docs.TYPE_ORDER), p)
                self.assertIsInstance(p["required"], bool, p)
            # the synopsis for people says what the data says
            self.assertEqual(contract_docs.params_text(m["typed_params"]), m["params"])

    def test_params_carry_types_ranges_defaults_and_values(self):
        t = self.param("fs.list", "timeout_ms")
        self.assertEqual((t["types"], t["required"], t["min"], t["max"], t["default"]),
                         (["int"], False, 1, 10000, 1000))
        self.assertIs(self.param("fs.list", "all")["default"], False)
        self.assertEqual(self.param("fs.stat", "path")["types"], ["str", "bin"])
        self.assertTrue(self.param("fs.stat", "path")["required"])
        self.assertEqual(self.param("xattr.set", "mode")["values"], ["create", "replace"])
        pids = self.param("watch.subscribe", "pids")
        self.assertEqual((pids["types"], pids["items"]["types"], pids["items"]["min"],
                          pids["max_items"]), (["array"], ["int"], 1, 1024))
        self.assertEqual(self.param("watch.subscribe", "topics")["items"]["values"],
                         ["mounts", "interfaces", "proc.exit", "proc.fork", "proc.exec"])
        ppid = self.param("watch.subscribe", "ppid")
        self.assertEqual((ppid["types"], ppid["required"], ppid["min"]), (["int"], False, 0))
        self.assertEqual(self.param("watch.subscribe", "comm")["types"], ["str", "bin"])
        self.assertEqual(self.param("watch.subscribe", "uid")["max"], 4294967294)
        mtu = self.param("net.mtu.set", "mtu")
        self.assertEqual((mtu["min"], mtu["max"]), (0, 2147483647))

    def test_result_shapes_name_their_keys(self):
        keys = {k["name"]: k for k in self.by_name["proc.get"]["result"]["keys"]}
        self.assertTrue(keys["pid"]["required"])
        self.assertFalse(keys["exe"]["required"], "absent when the OS hides it")
        self.assertEqual(keys["tty"]["types"], ["nil", "str"])
        mounts = self.by_name["fs.list"]["result"]["keys"][0]
        self.assertEqual(mounts["name"], "mounts")
        state = next(k for k in mounts["items"]["keys"] if k["name"] == "state")
        self.assertEqual(state["values"], ["ok", "stale", "error"])
        self.assertIn("ESRCH", self.by_name["proc.get"]["errors"])

    def test_one_method_by_name(self):
        one = self.c.call("sys.methods", {"name": "proc.signal"})["methods"]
        self.assertEqual(one, [self.by_name["proc.signal"]])
        with self.assertRaises(RemoteError) as e:
            self.c.call("sys.methods", {"name": "no.such\u00e9"})
        self.assertEqual(e.exception.code, "ENOENT")
        self.assertIn("no.such", e.exception.message)
        with self.assertRaises(RemoteError) as e:
            self.c.call("sys.methods", {"name": 5})
        self.assertEqual(e.exception.code, "EINVAL")
        self.assertIn("'name'", e.exception.message)

    # ---- the dispatcher checks every request against it --------------------------------

    def refused(self, method, params, code="EINVAL"):
        with self.assertRaises(RemoteError, msg=f"{method} {params!r} was accepted") as e:
            self.c.call(method, params)
        self.assertEqual(e.exception.code, code, f"{method} {params!r}: {e.exception}")
        return e.exception.message

    def minimal(self, m):
        """Params that pass the check: each required one with a value of its type
        (they may still fail in the method, never with a message about the others)."""
        out = {}
        for p in m["typed_params"]:
            if p["required"]:
                out[p["name"]] = self.good_value(p)
        return out

    def good_value(self, p):
        t = p["types"][0]
        if t == "int":
            return p.get("min", 1)
        if t == "str":
            return p.get("values", ["/nonexistent/sysq-contract"])[0]
        if t == "array":
            return [self.good_value(p["items"])] if "items" in p else []
        return {"bool": True, "bin": b"x"}.get(t)

    def test_every_param_is_checked_by_its_contract(self):
        tried = 0
        for m in self.methods:
            if not m["allowed"] or m["access"] == "root":
                continue
            base = self.minimal(m)
            msg = self.refused(m["name"], dict(base, bogus_param=1))
            self.assertIn("'bogus_param'", msg)
            tried += 1
            for p in m["typed_params"]:
                name = p["name"]
                if p["required"]:
                    msg = self.refused(m["name"], {k: v for k, v in base.items() if k != name})
                    self.assertIn(f"missing required param '{name}'", msg)
                    tried += 1
                msg = self.refused(m["name"], dict(base, **{name: {"k": 1}}))  # no param is a map
                self.assertIn(f"'{name}'", msg)
                tried += 1
                if "min" in p and p["min"] > -(2 ** 63):
                    msg = self.refused(m["name"], dict(base, **{name: p["min"] - 1}))
                    self.assertIn(f"param '{name}' out of range ({p['min']}..{p['max']})", msg)
                    tried += 1
                if "values" in p:
                    msg = self.refused(m["name"], dict(base, **{name: "no-such-value"}))
                    self.assertIn(f"param '{name}' must be one of", msg)
                    tried += 1
                items = p.get("items", {})
                if "min" in items:
                    msg = self.refused(m["name"], dict(base, **{name: [items["min"] - 1]}))
                    self.assertIn(f"param '{name}'[0] out of range", msg)
                    tried += 1
                if "max_items" in p:
                    msg = self.refused(m["name"], dict(base, **{name: [self.good_value(items)]
                                                                * (p["max_items"] + 1)}), "E2BIG")
                    self.assertIn(f"param '{name}'", msg)
                    tried += 1
        self.assertGreaterEqual(tried, 60)
        self.assertEqual(self.c.call("sys.ping"), "pong")

    # ---- the docs agree with it ----------------------------------------------------------

    def test_protocol_md_and_man_page_agree_with_sysqd(self):
        problems = contract_docs.run("check", os.environ["SQ_SYSQD"])
        self.assertEqual(problems, [], "\n" + "\n".join(problems))

    def test_the_check_catches_a_doc_that_disagrees(self):
        with open(contract_docs.PROTOCOL, encoding="utf-8") as f:
            md = f.read()
        methods = self.methods
        self.assertEqual(contract_docs.check_md(md, methods), [])
        broken = md.replace("| `timeout_ms` | int 1..10000 | 1000 |",
                            "| `timeout_ms` | int 1..10000 | 2000 |", 1)
        self.assertNotEqual(broken, md, "the fs.list table row moved: update this test")
        self.assertTrue(any("defaults to 1000" in p
                            for p in contract_docs.check_md(broken, methods)))
        broken = md.replace("| `ESRCH` | there is no such process |",
                            "| `ENOENT` | there is no such process |", 1)
        self.assertTrue(any("ENOENT" in p for p in contract_docs.check_md(broken, methods)))
        stale = [dict(m, params="{}") if m["name"] == "fs.list" else m for m in methods]
        _, problems = contract_docs.apply_md(md, methods)
        self.assertEqual(problems, [])
        self.assertNotEqual(contract_docs.apply_md(md, stale)[0], md,
                            "a changed contract changes the generated block")
        gone = [m for m in methods if m["name"] != "watch.unsubscribe"]
        self.assertTrue(any("watch.unsubscribe" in p
                            for p in contract_docs.apply_md(md, gone)[1]))


if __name__ == "__main__":
    unittest.main()
