// Topic names and filters: validation, the topic hash, and the worker that
// owns a topic. Shared by the io loop, the workers and the tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringcast {

enum class topic_check : uint8_t {
    ok,
    empty,
    too_long,
    nul,          // a NUL byte
    reserved,     // starts with '$' (PUB), or a '$' filter other than $share
    wildcard,     // '+' or '#' in a PUB topic
    bad_wildcard, // '+' or '#' not alone in its level, or '#' not last
    empty_level,  // "a//b", "/a", "a/" are allowed by MQTT but not by RCP/1
    bad_share,    // "$share/" without a GROUP level free of wildcards and a FILTER
};

// A PUB topic: 1..max_len bytes, no NUL, no wildcard, not starting with '$'.
[[nodiscard]] topic_check check_pub_topic(std::span<const std::byte> topic, size_t max_len) noexcept;

// A SUB/UNSUB filter taken apart once, where it is checked (the io lcore),
// and carried on from there: the worker and its tables never look at the
// text again.
struct filter_spec {
    std::span<const std::byte> group;  // GROUP of "$share/GROUP/FILTER"; empty for a plain filter
    std::span<const std::byte> filter; // the filter proper: FILTER of a $share, else the whole text
    uint64_t hash = 0;                 // topic_hash(filter) when it has no wildcard, else 0
    bool wildcard = false;             // '+' or '#' in `filter`

    [[nodiscard]] bool shared() const noexcept { return !group.empty(); }

    static constexpr size_t share_prefix_len = 7; // "$share/"
    // The spec of `text` again from its parts (what a ring item carries).
    [[nodiscard]] static filter_spec of(std::span<const std::byte> text, size_t group_len, bool wildcard,
                                        uint64_t hash) noexcept {
        if (group_len == 0) {
            return {{}, text, hash, wildcard};
        }
        return {text.subspan(share_prefix_len, group_len), text.subspan(share_prefix_len + group_len + 1), hash,
                wildcard};
    }
};

// A SUB/UNSUB filter: as a topic, but '+' may stand as a whole level and '#'
// as the whole last level. "$share/GROUP/FILTER" is the one '$' form: GROUP
// one non-empty level without wildcards, FILTER a filter not starting with
// '$'; `max_len` bounds the whole. When ok, `out` holds the parts.
[[nodiscard]] topic_check parse_filter(std::span<const std::byte> text, size_t max_len, filter_spec& out) noexcept;

// Reference matcher, MQTT rules: '+' one whole level, '#' as the last level
// matches the rest and the parent ("a/#" matches "a"); a filter starting with
// a wildcard does not match a topic starting with '$'; a $share filter
// matches what its FILTER matches. `filter` is valid per parse_filter.
// Used by tests and by control-path scans (never per message: workers match
// through filter_trie).
[[nodiscard]] bool filter_matches(std::span<const std::byte> filter,
                                  std::span<const std::byte> topic) noexcept;

[[nodiscard]] std::string_view to_string(topic_check c) noexcept;

// 64-bit hash of the topic bytes; the same on every lcore and every run.
[[nodiscard]] uint64_t topic_hash(std::span<const std::byte> topic) noexcept;

// The worker (0..n_workers-1) that owns a topic with this hash.
[[nodiscard]] inline uint32_t topic_owner(uint64_t hash, uint32_t n_workers) noexcept {
    // The high half: the table index uses the low bits of the same hash.
    const auto h = static_cast<uint32_t>(hash >> 32);
    return (n_workers & (n_workers - 1)) == 0 ? h & (n_workers - 1) : h % n_workers;
}

} // namespace ringcast
