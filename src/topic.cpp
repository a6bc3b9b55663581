#include <ringcast/topic.hpp>

#include <array>
#include <cstring>

namespace ringcast {

namespace {

constexpr auto slash = std::byte{'/'};

// Checks what both topics and filters share; `allow_wildcard` decides
// whether '+' and '#' may stand as whole levels.
topic_check check_levels(std::span<const std::byte> t, size_t max_len, bool allow_wildcard,
                         bool& has_wildcard) noexcept {
    has_wildcard = false;
    if (t.empty()) {
        return topic_check::empty;
    }
    if (t.size() > max_len) {
        return topic_check::too_long;
    }
    size_t level_start = 0;
    for (size_t i = 0; i <= t.size(); ++i) {
        if (i < t.size() && t[i] != slash) {
            const auto c = t[i];
            if (c == std::byte{0}) {
                return topic_check::nul;
            }
            if (c == std::byte{'+'} || c == std::byte{'#'}) {
                if (!allow_wildcard) {
                    return topic_check::wildcard;
                }
                const bool alone = i == level_start && (i + 1 == t.size() || t[i + 1] == slash);
                if (!alone || (c == std::byte{'#'} && i + 1 != t.size())) {
                    return topic_check::bad_wildcard;
                }
                has_wildcard = true;
            }
            continue;
        }
        if (i == level_start) {
            return topic_check::empty_level;
        }
        level_start = i + 1;
    }
    return topic_check::ok;
}

} // namespace

topic_check check_pub_topic(std::span<const std::byte> topic, size_t max_len) noexcept {
    bool wildcard = false;
    if (!topic.empty() && topic[0] == std::byte{'$'}) {
        return topic_check::reserved;
    }
    return check_levels(topic, max_len, false, wildcard);
}

topic_check check_filter(std::span<const std::byte> filter, size_t max_len, bool& has_wildcard) noexcept {
    if (!filter.empty() && filter[0] == std::byte{'$'}) {
        has_wildcard = false;
        // $share/GROUP/FILTER is the one '$' form; shared groups come with
        // the messaging-semantics work, so it is refused as reserved for now.
        return topic_check::reserved;
    }
    return check_levels(filter, max_len, true, has_wildcard);
}

std::string_view to_string(topic_check c) noexcept {
    static constexpr std::array<std::string_view, 8> names = {"ok",
                                                              "empty topic",
                                                              "topic too long",
                                                              "NUL in topic",
                                                              "reserved '$' topic",
                                                              "wildcard in topic",
                                                              "misplaced wildcard",
                                                              "empty topic level"};
    return names[static_cast<size_t>(c)];
}

uint64_t topic_hash(std::span<const std::byte> topic) noexcept {
    // Eight bytes a step, multiply-xorshift mixing; the length seeds it so
    // that "a" and "a\0" (not a valid topic anyway) differ.
    constexpr uint64_t k1 = 0x9e3779b97f4a7c15ULL;
    constexpr uint64_t k2 = 0xbf58476d1ce4e5b9ULL;
    uint64_t h = topic.size() * k1;
    size_t i = 0;
    for (; i + 8 <= topic.size(); i += 8) {
        uint64_t w;
        std::memcpy(&w, topic.data() + i, 8);
        h = (h ^ w) * k2;
        h ^= h >> 31;
    }
    if (i < topic.size()) {
        uint64_t w = 0;
        std::memcpy(&w, topic.data() + i, topic.size() - i);
        h = (h ^ w) * k2;
        h ^= h >> 31;
    }
    h = (h ^ (h >> 29)) * k1;
    return h ^ (h >> 32);
}

} // namespace ringcast
