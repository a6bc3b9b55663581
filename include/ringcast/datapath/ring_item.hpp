// What an io lcore hands a worker over their ring: the frame's mbuf and
// everything the io lcore learnt while it checked the frame (op, flags,
// lengths, the topic hash, a SUB's $share split and wildcard bit), so the
// worker never parses a frame again; for a SUB, who the source is. 48
// bytes, copied by value.
#pragma once

#include <ringcast/core/net.hpp>
#include <ringcast/core/topic.hpp>
#include <ringcast/core/wire.hpp>

#include <rte_mbuf.h>

#include <cstdint>

namespace ringcast {

enum class item_kind : uint8_t {
    frame, // `m` holds exactly one RCP frame (SUB, UNSUB, PUB or NACK)
    // The same SUB or UNSUB of a wildcard filter to every worker, one mbuf
    // reference each (see broadcast.hpp).
    all_workers,
    bye,    // the source said BYE: drop its subscriptions
    lapsed, // the source's lease lapsed: the same
    // The io lcore adopted a new access policy: check every subscription
    // against it. Items before this one were checked under an older one.
    policy,
};

struct ring_item {
    rte_mbuf* m = nullptr; // owned by the ring item; null for bye/lapsed. Trimmed to the frame.
    uint64_t hash = 0;     // the topic's hash; for a SUB or UNSUB, its filter_spec::hash
    endpoint src;
    mac_addr src_mac{};
    item_kind kind = item_kind::frame;
    op code = op::pub;
    uint32_t payload_len = 0;
    uint8_t flags = 0;
    uint8_t topic_len = 0;
    uint8_t group_len = 0; // SUB/UNSUB of "$share/GROUP/FILTER": GROUP's length, else 0
    bool wildcard = false; // SUB/UNSUB: the filter proper has '+' or '#'
    uint64_t identity = 0; // SUB: identity::key of the source (0: none, authentication off)
};
static_assert(sizeof(ring_item) == 48);

// The item's frame, from the fields the io lcore filled: no second parse
// (seq is read where the header keeps it).
[[nodiscard]] inline frame_view frame_of(const ring_item& item) noexcept {
    const std::span<const std::byte> f{rte_pktmbuf_mtod(item.m, const std::byte*),
                                       rte_pktmbuf_data_len(item.m)};
    return frame_view{.code = item.code,
                      .flags = item.flags,
                      .seq = load_be<uint64_t>(f, frame_off::seq),
                      .topic = f.subspan(frame_off::topic, item.topic_len),
                      .payload = f.subspan(frame_off::topic + item.topic_len, item.payload_len),
                      .offset = 0,
                      .size = static_cast<uint32_t>(f.size())};
}

// A SUB or UNSUB item's filter, as parse_filter made it on the io lcore.
[[nodiscard]] inline filter_spec filter_of(const ring_item& item, const frame_view& f) noexcept {
    return filter_spec::of(f.topic, item.group_len, item.wildcard, item.hash);
}

} // namespace ringcast
