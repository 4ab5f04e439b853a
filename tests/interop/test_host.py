# SPDX-License-Identifier: ISC
"""test_host.py - sys.host, net.list's counters and proc.get's cpu_percent
against psutil (Debian's python3-psutil), which reads the same kernel
figures its own way.  Tolerances: constants (memory and swap totals, boot
time, CPU count) must be equal; moving figures are compared with psutil's
readings taken just before and just after the call (a counter between the
two, a gauge within what it moved plus 1%)."""
import os
import sys
import unittest

from private_daemon import Daemon  # first: the tree's python/ on sys.path
from sysq import Client

try:
    import psutil
except ImportError:
    psutil = None


def as_proc_loadavg(load):
    """A load from getloadavg(3) (sysinfo's exact fixed point) as
    /proc/loadavg prints it: the kernel adds FIXED_1/200 (10 of 2048, not
    10.24) and cuts to two decimals, so 8.9150390625 reads 8.91, not
    Python's round() 8.92; and 1.84 is the double strtod makes of "1.84"."""
    fixed = round(load * 2048) + 2048 // 200
    # the text, read as sysqd reads it (strtod), not 1 + 84 / 100
    return float(f"{fixed >> 11}.{((fixed & 2047) * 100) >> 11:02d}")


class Host(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if psutil is None:
            raise unittest.SkipTest("SKIPPED: needs python3-psutil (mk/deps.sh test)")
        if not sys.platform.startswith("linux"):
            raise unittest.SkipTest("SKIPPED: compares with Linux's psutil")
        cls.d = Daemon()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        assert rc == 0, f"sysqd exited {rc}: {cls.d.log_text()}"

    def setUp(self):
        self.c = Client(self.d.sock)

    def tearDown(self):
        self.c.close()

    def test_constants_equal_psutils(self):
        h = self.c.call("sys.host")
        self.assertEqual(h["memory"]["total"], psutil.virtual_memory().total)
        self.assertEqual(h["swap"]["total"], psutil.swap_memory().total)
        self.assertEqual(int(h["boot_time"]), int(psutil.boot_time()))
        self.assertEqual(len(h["cpus"]), psutil.cpu_count(logical=True))

    def test_cpu_times_lie_between_psutils_readings(self):
        before = psutil.cpu_times()
        h = self.c.call("sys.host")
        after = psutil.cpu_times()
        # psutil's user and nice exclude guest time; /proc/stat's (and
        # sys.host's) include it: compare the modes both mean alike
        for mode in ("system", "idle", "irq", "softirq", "steal"):
            got = h["cpu"][mode]
            self.assertGreaterEqual(got + 1e-6, getattr(before, mode), mode)
            self.assertLessEqual(got, getattr(after, mode) + 1e-6, mode)

    def test_load_and_memory_within_their_movement(self):
        la0, vm0 = os.getloadavg(), psutil.virtual_memory()
        h = self.c.call("sys.host")
        la1, vm1 = os.getloadavg(), psutil.virtual_memory()
        for i in range(3):
            self.assertIn(h["load"][i], (as_proc_loadavg(la0[i]), as_proc_loadavg(la1[i]),
                                         la0[i], la1[i]))
        for key, attr in (("available", "available"), ("free", "free"),
                          ("buffers", "buffers"), ("cached", "cached"), ("shared", "shared")):
            lo = min(getattr(vm0, attr), getattr(vm1, attr)) * 0.99
            hi = max(getattr(vm0, attr), getattr(vm1, attr)) * 1.01 + 4096
            if key == "cached":  # psutil adds SReclaimable to Cached
                lo = 0
            self.assertTrue(lo <= h["memory"][key] <= hi, f"{key}: {h['memory'][key]} not in {lo}..{hi}")

    def test_interface_counters_between_psutils_readings(self):
        before = psutil.net_io_counters(pernic=True)
        r = self.c.call("net.list")
        after = psutil.net_io_counters(pernic=True)
        pairs = (("rx_bytes", "bytes_recv"), ("tx_bytes", "bytes_sent"),
                 ("rx_packets", "packets_recv"), ("tx_packets", "packets_sent"),
                 ("rx_errors", "errin"), ("tx_errors", "errout"),
                 ("rx_dropped", "dropin"), ("tx_dropped", "dropout"))
        seen = 0
        for ifp in r["interfaces"]:
            name = ifp["name"]
            if name not in before or name not in after or "stats" not in ifp:
                continue
            seen += 1
            for ours, theirs in pairs:
                # psutil reads /proc/net/dev: 64-bit counters, as IFLA_STATS64
                self.assertGreaterEqual(ifp["stats"][ours], getattr(before[name], theirs),
                                        f"{name} {ours}")
                self.assertLessEqual(ifp["stats"][ours], getattr(after[name], theirs),
                                     f"{name} {ours}")
        self.assertGreater(seen, 0, "no interface in common")

    def test_cpu_percent_of_a_process_as_ps_computes_it(self):
        # pid 1: old, so psutil's create_time (boot time in whole seconds
        # plus the start tick) is off by at most 1 s of a long life
        p = psutil.Process(1)
        t0, life0 = p.cpu_times(), psutil.time.time() - p.create_time()
        got = self.c.call("proc.get", {"pid": 1, "fields": ["cpu_percent"]})
        t1, life1 = p.cpu_times(), psutil.time.time() - p.create_time()
        lo = (t0.user + t0.system) / (life1 + 1) * 100
        hi = (t1.user + t1.system) / (life0 - 1) * 100 if life0 > 1 else float("inf")
        self.assertTrue(lo <= got["cpu_percent"] <= hi, f"{got['cpu_percent']} not in {lo}..{hi}")

if __name__ == "__main__":
    unittest.main()
