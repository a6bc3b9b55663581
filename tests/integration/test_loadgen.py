#!/usr/bin/env python3
"""A short smoke run of the bench path: ringcast-loadgen (DPDK, net_af_packet
on the client side of the bed, --no-huge) drives ringcastd, and what the
load generator counts agrees with the appliance's own telemetry."""

import json
import os
import shutil
import subprocess
import tempfile

import testbed as tb
from testbed import delta

TOPICS, SUBSCRIBERS, COUNT = 2, 3, 3000


class LoadgenSmoke(tb.DaemonTestCase):

    def run_loadgen(self, *args):
        prefix = f"rc-lg-{os.getpid()}"
        tb.on_cleanup(shutil.rmtree, f"/var/run/dpdk/{prefix}", True)
        out = tempfile.mkdtemp(prefix="rc-lg.")
        tb.on_cleanup(shutil.rmtree, out, True)
        result = os.path.join(out, "result.jsonl")
        loadgen = os.path.join(tb.Paths.build_root(), "apps", "ringcast-loadgen")
        # The appliance polls on CPU 0; the load generator gets the other one.
        cpu = 1 if os.cpu_count() > 1 else 0
        r = self.bed.cli(loadgen, f"--lcores=0@{cpu}", "--no-huge", "-m", "256", "--no-pci",
                         "--file-prefix", prefix, "--vdev", f"net_af_packet0,iface={self.bed.if_cli}",
                         "--", "--json", result, "--quiet", *args, timeout=60)
        self.assertEqual(r.returncode, 0, f"loadgen failed:\n{r.stdout}\n{r.stderr}")
        with open(result) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 1)
        return json.loads(lines[0]), r.stdout

    def test_10_loadgen_counts_agree_with_telemetry(self):
        before = self.daemon.stats()
        res, text = self.run_loadgen("--topics", str(TOPICS), "--subscribers", str(SUBSCRIBERS),
                                     "--count", str(COUNT), "--rate", "20000", "--duration", "10",
                                     "--scenario", "smoke")
        after = self.daemon.wait_stats(lambda st: delta(st, before, "deliveries") >= res["delivered"])
        self.assertEqual(res["published"], COUNT, text)
        self.assertEqual(delta(after, before, "pub_frames"), res["published"])
        self.assertEqual(delta(after, before, "deliveries"), res["delivered"])
        self.assertEqual(res["delivered"], COUNT * SUBSCRIBERS, text)
        self.assertEqual((res["lost"], res["reordered"], res["duplicates"]), (0, 0, 0), text)
        self.assertGreater(res["p50_us"], 0)
        self.assertLessEqual(res["p50_us"], res["p99_us"])
        self.assertLessEqual(res["p99_us"], res["max_us"])
        # Its subscribers said BYE at the end.
        self.assertEqual(after["subscriptions"], before["subscriptions"])
        # What it counts of datagrams agrees with the appliance's.
        self.assertEqual(res["rx_datagrams"], delta(after, before, "datagrams"), text)
        self.assertEqual(res["latency"], "every message")

    def test_20_batched_publishing_comes_back_coalesced(self):
        # 8 PUBs per datagram, as fast as it can: each worker burst holds
        # several messages for each subscriber, and they leave together.
        before = self.daemon.stats()
        res, text = self.run_loadgen("--topics", "1", "--subscribers", str(SUBSCRIBERS), "--batch", "8",
                                     "--count", str(COUNT), "--rate", "0", "--duration", "10",
                                     "--scenario", "smoke_batched")
        after = self.daemon.wait_stats(lambda st: delta(st, before, "deliveries") >= res["delivered"])
        self.assertEqual(res["delivered"], COUNT * SUBSCRIBERS, text)
        self.assertEqual((res["lost"], res["reordered"], res["duplicates"]), (0, 0, 0), text)
        self.assertEqual(res["rx_datagrams"], delta(after, before, "datagrams"), text)
        self.assertGreater(res["frames_per_datagram"], 1.5, text)
        self.assertAlmostEqual(res["frames_per_datagram"],
                               delta(after, before, "deliveries") / delta(after, before, "datagrams"), places=3)


if __name__ == "__main__":
    tb.main()
