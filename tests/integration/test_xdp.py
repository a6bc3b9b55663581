#!/usr/bin/env python3
"""AF_XDP with ringcast's XDP steering program (build/bpf/xdp_steer.o): the
appliance serves RCP/1, ARP and ping for 192.0.2.1 over net_af_xdp, while a
kernel address on the same interface (192.0.2.3) still answers ping, which
proves the program passes what the appliance does not serve. net_af_xdp has
no multi-segment TX in DPDK 22.11, so fan-out takes the counted copy path."""

import os
import unittest

import testbed as tb
from testbed import delta

KERNEL_ADDR = "192.0.2.3"


class AfXdp(tb.DaemonTestCase):

    @classmethod
    def setUpClass(cls):
        cls.xdp_prog = os.path.join(tb.Paths.build_root(), "bpf", "xdp_steer.o")
        if not os.path.exists(cls.xdp_prog):
            raise unittest.SkipTest(f"{cls.xdp_prog} not built")
        super().setUpClass()
        cls.bed.app("ip", "addr", "add", f"{KERNEL_ADDR}/24", "dev", cls.bed.if_app, check=True)

    def port(self):
        ports = self.daemon.telemetry("/ringcast/ports")
        self.assertEqual(len(ports), 1)
        return next(iter(ports.values()))

    def test_10_the_steering_program_is_ours_and_configured(self):
        p = self.port()
        self.assertEqual(p["driver"], "net_af_xdp")
        self.assertGreater(p["xdp_prog_id"], 0, "ringcastd did not find its XDP program on the interface")
        self.assertEqual(p["multi_seg_tx"], 0)

    def test_20_kernel_address_and_appliance_both_answer_ping(self):
        before = self.port()
        stats_before = self.daemon.stats()
        kernel = self.bed.cli("ping", "-c", "3", "-W", "1", KERNEL_ADDR)
        self.assertEqual(kernel.returncode, 0, f"the kernel's own address lost its traffic:\n{kernel.stdout}")
        appliance = self.bed.cli("ping", "-c", "3", "-W", "1", "192.0.2.1")
        self.assertEqual(appliance.returncode, 0, f"appliance did not answer ping:\n{appliance.stdout}")
        after = self.port()
        stats_after = self.daemon.stats()
        self.assertEqual(delta(stats_after, stats_before, "icmp_replies"), 3,
                         "the kernel address's pings must not reach the appliance")
        self.assertGreaterEqual(after["xdp_passed"] - before["xdp_passed"], 3)
        self.assertGreaterEqual(after["xdp_redirected"] - before["xdp_redirected"], 3)

    def test_30_pub_sub_over_af_xdp_takes_the_copy_path(self):
        subs = [self.subscriber("xdp/t") for _ in range(2)]
        before = self.daemon.stats()
        payloads = [f"over af_xdp {i}".encode() for i in range(50)]
        tb.publish(self.client(), "xdp/t", payloads)
        for s in subs:
            self.assert_stream(s.collect(50), "xdp/t", payloads)
        after = self.daemon.wait_stats(lambda st: delta(st, before, "deliveries") >= 100)
        self.assertEqual(delta(after, before, "deliveries"), 100)
        self.assertEqual(delta(after, before, "copy_fallbacks"), 100)


if __name__ == "__main__":
    tb.main()
