#include <ringcast/core/topic.hpp>

#include <algorithm>
#include <array>
#include <cstring>

namespace ringcast {

namespace {

constexpr auto slash = std::byte{'/'};
constexpr auto dollar = std::byte{'$'};
constexpr std::string_view share_prefix = "$share/";
static_assert(share_prefix.size() == filter_spec::share_prefix_len);

bool starts_with(std::span<const std::byte> s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && std::memcmp(s.data(), prefix.data(), prefix.size()) == 0;
}

// The end of the level starting at `from`: the next '/' or the end.
size_t level_end(std::span<const std::byte> s, size_t from) noexcept {
    while (from < s.size() && s[from] != slash) {
        ++from;
    }
    return from;
}

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

// "$share/GROUP/FILTER" -> FILTER; a plain filter as it is.
std::span<const std::byte> filter_proper(std::span<const std::byte> filter) noexcept {
    if (!starts_with(filter, share_prefix)) {
        return filter;
    }
    const auto rest = filter.subspan(share_prefix.size());
    return rest.subspan(std::min(level_end(rest, 0) + 1, rest.size()));
}

} // namespace

topic_check check_pub_topic(std::span<const std::byte> topic, size_t max_len) noexcept {
    bool wildcard = false;
    if (!topic.empty() && topic[0] == dollar) {
        return topic_check::reserved;
    }
    return check_levels(topic, max_len, false, wildcard);
}

topic_check parse_filter(std::span<const std::byte> text, size_t max_len, filter_spec& out) noexcept {
    out = filter_spec{{}, text, 0, false};
    if (text.empty() || text[0] != dollar) {
        const topic_check c = check_levels(text, max_len, true, out.wildcard);
        out.hash = c == topic_check::ok && !out.wildcard ? topic_hash(text) : 0;
        return c;
    }
    if (!starts_with(text, share_prefix)) {
        return topic_check::reserved;
    }
    if (text.size() > max_len) {
        return topic_check::too_long;
    }
    const auto rest = text.subspan(share_prefix.size());
    size_t g = 0;
    for (; g < rest.size() && rest[g] != slash; ++g) {
        if (rest[g] == std::byte{0}) {
            return topic_check::nul;
        }
        if (rest[g] == std::byte{'+'} || rest[g] == std::byte{'#'}) {
            return topic_check::bad_share;
        }
    }
    // An empty GROUP, or nothing after it: "$share//a", "$share/g", "$share/g/".
    if (g == 0 || g + 1 >= rest.size()) {
        return topic_check::bad_share;
    }
    const auto inner = rest.subspan(g + 1);
    if (inner[0] == dollar) {
        return topic_check::reserved; // no "$share/g/$SYS/x", no nested $share
    }
    bool wildcard = false;
    const topic_check c = check_levels(inner, max_len, true, wildcard);
    if (c == topic_check::ok) {
        out = filter_spec{rest.first(g), inner, wildcard ? 0 : topic_hash(inner), wildcard};
    }
    return c;
}

bool filter_matches(std::span<const std::byte> filter, std::span<const std::byte> topic) noexcept {
    filter = filter_proper(filter);
    if (!filter.empty() && !topic.empty() && topic[0] == dollar &&
        (filter[0] == std::byte{'+'} || filter[0] == std::byte{'#'})) {
        return false;
    }
    // Positions past the end (size + 1) mean every level was consumed.
    size_t f = 0;
    size_t t = 0;
    while (f <= filter.size()) {
        const size_t f_end = level_end(filter, f);
        const auto level = filter.subspan(f, f_end - f);
        if (level.size() == 1 && level[0] == std::byte{'#'}) {
            return true;
        }
        if (t > topic.size()) {
            return false;
        }
        const size_t t_end = level_end(topic, t);
        const bool plus = level.size() == 1 && level[0] == std::byte{'+'};
        if (!plus && !std::ranges::equal(level, topic.subspan(t, t_end - t))) {
            return false;
        }
        f = f_end + 1;
        t = t_end + 1;
    }
    return t > topic.size();
}

std::string_view to_string(topic_check c) noexcept {
    static constexpr std::array<std::string_view, 9> names = {"ok",
                                                              "empty topic",
                                                              "topic too long",
                                                              "NUL in topic",
                                                              "reserved '$' topic",
                                                              "wildcard in topic",
                                                              "misplaced wildcard",
                                                              "empty topic level",
                                                              "bad $share/GROUP/FILTER"};
    static_assert(names.size() == static_cast<size_t>(topic_check::bad_share) + 1);
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
