// libFuzzer: the topic and filter grammar (core/topic) against a plain
// reference written from DESIGN.md §2 and the MQTT matching rules, the
// wildcard trie (core/filter_trie) against the reference matcher, and the
// ACL's filter_covers (core/access_policy) against what the filters match.
// The input is a filter, a 0 byte, then a topic (no 0 byte: the topic is
// empty); the topic is also taken as a second filter.
#include "fuzz_check.hpp"

#include <ringcast/core/access_policy.hpp>
#include <ringcast/core/filter_trie.hpp>
#include <ringcast/core/topic.hpp>
#include <ringcast/core/wire.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace ringcast;
using fuzz::text;

constexpr std::string_view share_prefix = "$share/";

std::vector<std::string_view> levels_of(std::string_view s) {
    std::vector<std::string_view> out;
    size_t from = 0;
    for (;;) {
        const size_t slash = s.find('/', from);
        out.push_back(s.substr(from, slash == std::string_view::npos ? std::string_view::npos : slash - from));
        if (slash == std::string_view::npos) {
            return out;
        }
        from = slash + 1;
    }
}

// Non-empty levels without NUL; with `wildcards`, '+' and '#' only as whole
// levels and '#' only last, else none at all.
bool ref_levels_ok(std::string_view s, bool wildcards, bool& wildcard) {
    wildcard = false;
    const auto levels = levels_of(s);
    for (size_t i = 0; i < levels.size(); ++i) {
        const std::string_view l = levels[i];
        if (l.empty() || l.find('\0') != std::string_view::npos) {
            return false;
        }
        if (l.find_first_of("+#") == std::string_view::npos) {
            continue;
        }
        if (!wildcards || (l != "+" && l != "#") || (l == "#" && i + 1 != levels.size())) {
            return false;
        }
        wildcard = true;
    }
    return true;
}

bool ref_pub_ok(std::string_view t, size_t max_len) {
    bool wildcard = false;
    return !t.empty() && t.size() <= max_len && t[0] != '$' && ref_levels_ok(t, false, wildcard);
}

struct ref_filter {
    bool ok = false;
    std::string_view group;
    std::string_view filter;
    bool wildcard = false;
};

ref_filter ref_parse_filter(std::string_view s, size_t max_len) {
    ref_filter r;
    if (s.empty() || s.size() > max_len) {
        return r;
    }
    r.filter = s;
    if (s[0] == '$') {
        if (!s.starts_with(share_prefix)) {
            return r;
        }
        const std::string_view rest = s.substr(share_prefix.size());
        const size_t slash = rest.find('/');
        if (slash == std::string_view::npos) {
            return r;
        }
        r.group = rest.substr(0, slash);
        r.filter = rest.substr(slash + 1);
        if (r.group.empty() || r.group.find_first_of(std::string_view("+#\0", 3)) != std::string_view::npos ||
            r.filter.empty() || r.filter[0] == '$') {
            return r;
        }
    }
    r.ok = ref_levels_ok(r.filter, true, r.wildcard);
    return r;
}

// MQTT: '+' one whole level, '#' (last) the rest and the parent; a filter
// starting with a wildcard never matches a topic starting with '$'.
bool ref_matches(std::string_view filter, std::string_view topic) {
    const auto f = levels_of(filter);
    const auto t = levels_of(topic);
    if (topic.starts_with('$') && (f[0] == "+" || f[0] == "#")) {
        return false;
    }
    for (size_t i = 0; i < f.size(); ++i) {
        if (f[i] == "#") {
            return true;
        }
        if (i >= t.size() || (f[i] != "+" && f[i] != t[i])) {
            return false;
        }
    }
    return f.size() == t.size();
}

// Topics that `filter` matches and that tell `pattern` apart: each '+' a
// level `pattern` does not have, '#' that level once and |pattern| + 1
// times, and its parent (when '#' is not the whole filter).
std::vector<std::string> instances(std::string_view filter, std::string_view pattern) {
    size_t longest = 0;
    for (const std::string_view l : levels_of(pattern)) {
        longest = std::max(longest, l.size());
    }
    const std::string fresh(longest + 1, 'z');
    const auto f = levels_of(filter);
    std::string stem;
    for (const std::string_view l : f) {
        if (l == "#") {
            break;
        }
        stem += stem.empty() ? "" : "/";
        stem += l == "+" ? fresh : std::string(l);
    }
    if (f.back() != "#") {
        return {stem};
    }
    std::vector<std::string> out;
    if (!stem.empty()) {
        out.push_back(stem);
    }
    std::string tail = stem;
    for (size_t i = 0; i <= levels_of(pattern).size(); ++i) {
        tail += tail.empty() ? "" : "/";
        tail += fresh;
        out.push_back(tail);
    }
    return out;
}

// filter_covers(a, b): whatever `b` matches, `a` matches (what an ACL's
// subscribe filter allows); both filters proper.
void check_covers(std::span<const std::byte> a, std::span<const std::byte> b, bool b_wildcard) {
    const bool covers = filter_covers(a, b);
    RC_FUZZ_CHECK(filter_covers(a, a) && filter_covers(b, b));
    if (!b_wildcard) {
        // A filter without wildcards is one topic.
        RC_FUZZ_CHECK(covers == ref_matches(text(a), text(b)));
    }
    if (covers) {
        for (const std::string& t : instances(text(b), text(a))) {
            RC_FUZZ_CHECK(ref_matches(text(b), t)); // the instances are b's
            RC_FUZZ_CHECK(ref_matches(text(a), t));
        }
    }
}

// Built once: each input leaves it as it found it (checked).
filter_trie& trie() {
    static filter_trie t(512, max_topic_len);
    return t;
}

void check_pub(std::span<const std::byte> t) {
    const topic_check c = check_pub_topic(t, max_topic_len);
    RC_FUZZ_CHECK((c == topic_check::ok) == ref_pub_ok(text(t), max_topic_len));
    RC_FUZZ_CHECK(!to_string(c).empty());
    if (!t.empty()) {
        // One byte short of room is never ok.
        RC_FUZZ_CHECK(check_pub_topic(t, t.size() - 1) != topic_check::ok);
    }
    if (c == topic_check::ok) {
        const uint64_t h = topic_hash(t);
        for (uint32_t n = 1; n <= 5; ++n) {
            RC_FUZZ_CHECK(topic_owner(h, n) < n);
        }
    }
}

// Returns whether `f` parsed; `spec` then holds its parts.
bool check_filter(std::span<const std::byte> f, filter_spec& spec) {
    const topic_check c = parse_filter(f, max_topic_len, spec);
    const ref_filter want = ref_parse_filter(text(f), max_topic_len);
    RC_FUZZ_CHECK((c == topic_check::ok) == want.ok);
    RC_FUZZ_CHECK(!to_string(c).empty());
    if (!f.empty()) {
        filter_spec short_spec;
        RC_FUZZ_CHECK(parse_filter(f, f.size() - 1, short_spec) != topic_check::ok);
    }
    if (c != topic_check::ok) {
        return false;
    }
    RC_FUZZ_CHECK(fuzz::within(spec.group, f) && fuzz::within(spec.filter, f));
    RC_FUZZ_CHECK(text(spec.group) == want.group && text(spec.filter) == want.filter);
    RC_FUZZ_CHECK(spec.shared() == !want.group.empty());
    RC_FUZZ_CHECK(spec.wildcard == want.wildcard);
    RC_FUZZ_CHECK(spec.hash == (spec.wildcard ? 0 : topic_hash(spec.filter)));
    if (spec.shared()) {
        RC_FUZZ_CHECK(spec.group.size() <= 255); // it travels as the ring item's group_len
    }
    // What a ring item carries gives the same spec back.
    const filter_spec again =
        filter_spec::of(f, static_cast<uint8_t>(spec.group.size()), spec.wildcard, spec.hash);
    RC_FUZZ_CHECK(fuzz::same(again.group, spec.group) && fuzz::same(again.filter, spec.filter));
    RC_FUZZ_CHECK(again.hash == spec.hash && again.wildcard == spec.wildcard);
    if (!spec.wildcard) {
        // A filter without wildcards is a topic, and matches just itself.
        RC_FUZZ_CHECK(check_pub_topic(spec.filter, max_topic_len) == topic_check::ok);
        RC_FUZZ_CHECK(filter_matches(f, spec.filter));
    }
    return true;
}

// The trie holds `spec.filter` (twice: references count) while `topic` is
// matched, and is as before once both are released.
void check_trie(const filter_spec& spec, std::span<const std::byte> topic, bool matches) {
    filter_trie& t = trie();
    const uint32_t before = t.nodes_in_use();
    const uint32_t node = t.acquire(spec.filter);
    RC_FUZZ_CHECK(node != no_id); // 255 bytes are at most 128 levels: the trie has room
    RC_FUZZ_CHECK(t.acquire(spec.filter) == node);
    RC_FUZZ_CHECK(t.find(spec.filter) == node);
    uint32_t hits = 0;
    t.match(topic, [&](uint32_t n) {
        RC_FUZZ_CHECK(n == node);
        ++hits;
    });
    RC_FUZZ_CHECK(hits == (matches ? 1U : 0U));
    t.release(node);
    RC_FUZZ_CHECK(t.find(spec.filter) == node);
    t.release(node);
    RC_FUZZ_CHECK(t.find(spec.filter) == no_id);
    RC_FUZZ_CHECK(t.empty() && t.nodes_in_use() == before);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto in = fuzz::input(data, size);
    const auto zero = std::find(in.begin(), in.end(), std::byte{0});
    const auto filter = in.first(static_cast<size_t>(zero - in.begin()));
    const auto topic = zero == in.end() ? std::span<const std::byte>{} : in.subspan(filter.size() + 1);

    check_pub(filter);
    check_pub(topic);
    filter_spec other;
    const bool topic_is_filter = check_filter(topic, other);
    filter_spec spec;
    if (!check_filter(filter, spec)) {
        return 0;
    }
    if (topic_is_filter) {
        check_covers(spec.filter, other.filter, other.wildcard);
        check_covers(other.filter, spec.filter, spec.wildcard);
    }
    // Any topic at all is safe to match (only the result is unspecified).
    const bool matches = filter_matches(filter, topic);
    bool wildcard = false;
    const bool matchable = !topic.empty() && topic.size() <= max_topic_len &&
                           ref_levels_ok(text(topic), false, wildcard);
    if (matchable) {
        RC_FUZZ_CHECK(matches == ref_matches(text(spec.filter), text(topic)));
        RC_FUZZ_CHECK(matches == filter_matches(spec.filter, topic)); // $share matches as its FILTER
        if (!spec.wildcard) {
            RC_FUZZ_CHECK(matches == std::ranges::equal(spec.filter, topic));
        }
    }
    if (check_pub_topic(topic, max_topic_len) == topic_check::ok) {
        check_trie(spec, topic, matches);
    }
    return 0;
}
