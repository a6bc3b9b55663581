// build_deliveries on real mbufs: refcounts, chains, the copy fallback, an
// empty header pool, and every pool back at its idle count.
#include <ringcast/datapath/fanout.hpp>

#include <gtest/gtest.h>

#include <eal_env.hpp>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

using namespace ringcast;

namespace {

rte_mempool* g_frames = nullptr;
rte_mempool* g_headers = nullptr;

class fanout : public ::testing::Test {
protected:
    void SetUp() override {
        port.id.mac = {0x02, 0, 0, 0, 0, 1};
        port.id.ipv4 = 0xC0000201;
        port.id.udp_port = 7700;
        port.multi_seg_tx = true;
        port.rx_pool = g_frames;
        for (uint16_t i = 0; i < targets.size(); ++i) {
            targets[i] = delivery_target{{0x02, 0, 0, 0, 0, uint8_t(i)}, 0xC0000202, uint16_t(5000 + i)};
        }
    }
    void TearDown() override {
        EXPECT_EQ(rte_mempool_in_use_count(g_frames), 0u);
        EXPECT_EQ(rte_mempool_in_use_count(g_headers), 0u);
    }

    // A received frame, trimmed to `payload_len` bytes as the io lcore leaves it.
    rte_mbuf* frame(uint16_t payload_len) {
        rte_mbuf* m = rte_pktmbuf_alloc(g_frames);
        auto* p = rte_pktmbuf_append(m, payload_len);
        for (uint16_t i = 0; i < payload_len; ++i) {
            p[i] = char('a' + i % 26);
        }
        return m;
    }

    port_info port;
    std::array<delivery_target, 8> targets{};
    lcore_counters counters;
};

TEST_F(fanout, chains_a_header_to_the_shared_frame_and_raises_its_refcount_once_per_delivery) {
    rte_mbuf* f = frame(1000);
    const void* payload = rte_pktmbuf_mtod(f, void*);
    std::array<rte_mbuf*, 8> out{};
    const uint16_t n = build_deliveries(port, g_headers, f, targets, out, counters);
    ASSERT_EQ(n, 8);
    EXPECT_EQ(rte_mbuf_refcnt_read(f), 9);
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* h = out[i];
        EXPECT_EQ(h->next, f);
        EXPECT_EQ(h->nb_segs, 2);
        EXPECT_EQ(h->data_len, 42);
        EXPECT_EQ(h->pkt_len, 1042u);
        EXPECT_EQ(rte_pktmbuf_mtod(h->next, void*), payload) << "payload must not be copied";
        const auto* b = rte_pktmbuf_mtod(h, const uint8_t*);
        EXPECT_EQ(b[5], i);                        // destination MAC
        EXPECT_EQ((b[36] << 8) | b[37], 5000 + i); // UDP destination port
        EXPECT_EQ((b[38] << 8) | b[39], 8 + 1000); // UDP length
    }
    EXPECT_EQ(counters.get(metric::copy_fallbacks), 0u);
    rte_pktmbuf_free_bulk(out.data(), n);
    EXPECT_EQ(rte_mbuf_refcnt_read(f), 1);
    rte_pktmbuf_free(f);
}

TEST_F(fanout, copies_header_and_frame_into_one_segment_without_multi_segment_tx) {
    port.multi_seg_tx = false;
    rte_mbuf* f = frame(64);
    std::array<rte_mbuf*, 3> out{};
    const uint16_t n = build_deliveries(port, g_headers, f, std::span{targets.data(), 3}, out, counters);
    ASSERT_EQ(n, 3);
    EXPECT_EQ(rte_mbuf_refcnt_read(f), 1);
    for (rte_mbuf* m : out) {
        EXPECT_EQ(m->nb_segs, 1);
        EXPECT_EQ(m->pkt_len, 42u + 64u);
        EXPECT_EQ(std::memcmp(rte_pktmbuf_mtod_offset(m, void*, 42), rte_pktmbuf_mtod(f, void*), 64), 0);
    }
    EXPECT_EQ(counters.get(metric::copy_fallbacks), 3u);
    rte_pktmbuf_free_bulk(out.data(), n);
    rte_pktmbuf_free(f);
}

TEST_F(fanout, builds_nothing_and_leaves_the_refcount_when_the_header_pool_is_empty) {
    std::vector<rte_mbuf*> hog(rte_mempool_avail_count(g_headers));
    ASSERT_EQ(rte_pktmbuf_alloc_bulk(g_headers, hog.data(), static_cast<unsigned>(hog.size())), 0);
    rte_mbuf* f = frame(64);
    std::array<rte_mbuf*, 8> out{};
    EXPECT_EQ(build_deliveries(port, g_headers, f, targets, out, counters), 0);
    EXPECT_EQ(rte_mbuf_refcnt_read(f), 1);
    rte_pktmbuf_free(f);
    rte_pktmbuf_free_bulk(hog.data(), static_cast<unsigned>(hog.size()));
}

TEST_F(fanout, works_on_an_indirect_view_of_part_of_a_datagram) {
    rte_mbuf* whole = frame(300);
    rte_mbuf* view = rte_pktmbuf_clone(whole, g_headers);
    ASSERT_NE(view, nullptr);
    rte_pktmbuf_adj(view, 100);
    rte_pktmbuf_trim(view, 100);
    EXPECT_EQ(rte_mbuf_refcnt_read(whole), 2);
    std::array<rte_mbuf*, 2> out{};
    ASSERT_EQ(build_deliveries(port, g_headers, view, std::span{targets.data(), 2}, out, counters), 2);
    EXPECT_EQ(out[0]->pkt_len, 142u);
    EXPECT_EQ(rte_pktmbuf_mtod(out[0]->next, char*)[0], 'a' + 100 % 26);
    rte_pktmbuf_free(view);
    rte_pktmbuf_free(whole);
    // The chains still hold the view, and the view the datagram.
    EXPECT_EQ(rte_mbuf_refcnt_read(whole), 1);
    rte_pktmbuf_free_bulk(out.data(), 2);
}

} // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    const ringcast::test_support::eal_env eal("fanout_test", "128", "0@0");
    if (!eal.ok()) {
        return 1;
    }
    // No per-lcore cache: in-use counts are exact.
    g_frames = rte_pktmbuf_pool_create("frames", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    g_headers = rte_pktmbuf_pool_create("headers", 255, 0, 0, RTE_PKTMBUF_HEADROOM + 128, 0);
    const int rc = RUN_ALL_TESTS();
    rte_mempool_free(g_headers);
    rte_mempool_free(g_frames);
    return rc;
}
