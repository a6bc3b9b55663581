#include <ringcast/core/access_policy.hpp>

#include <ringcast/core/topic.hpp>

#include <cstring>
#include <string_view>

namespace ringcast {

namespace {

// The next level of `s` from `pos` (to the next '/' or the end); moves `pos`
// past it and its '/'. `pos` past the end means no level is left.
std::span<const std::byte> next_level(std::span<const std::byte> s, size_t& pos) noexcept {
    size_t end = pos;
    while (end < s.size() && s[end] != std::byte{'/'}) {
        ++end;
    }
    const auto level = s.subspan(pos, end - pos);
    pos = end + 1;
    return level;
}

bool is(std::span<const std::byte> level, char c) noexcept {
    return level.size() == 1 && level[0] == std::byte(c);
}

std::span<const std::byte> bytes(const std::string& s) noexcept {
    return std::as_bytes(std::span(s.data(), s.size()));
}

uint64_t digest_prefix(const sha256_digest& d) noexcept {
    uint64_t v = 0;
    std::memcpy(&v, d.data(), sizeof(v));
    return v;
}

} // namespace

bool filter_covers(std::span<const std::byte> pattern, std::span<const std::byte> filter) noexcept {
    size_t p = 0;
    size_t f = 0;
    for (;;) {
        const bool p_done = p > pattern.size();
        const bool f_done = f > filter.size();
        if (p_done) {
            return f_done;
        }
        const auto pl = next_level(pattern, p);
        if (is(pl, '#')) {
            return true; // the rest, and the parent: "a/#" covers "a"
        }
        if (f_done) {
            return false;
        }
        const auto fl = next_level(filter, f);
        if (is(fl, '#')) {
            return false; // only '#' covers '#'
        }
        if (is(pl, '+')) {
            continue; // one level, whatever the filter has there ('+' too)
        }
        if (is(fl, '+') || pl.size() != fl.size() || std::memcmp(pl.data(), fl.data(), pl.size()) != 0) {
            return false;
        }
    }
}

bool identity::may_publish(std::span<const std::byte> topic) const noexcept {
    for (const std::string& prefix : publish) {
        if (prefix.size() <= topic.size() && std::memcmp(prefix.data(), topic.data(), prefix.size()) == 0) {
            return true;
        }
    }
    return false;
}

bool identity::may_subscribe(std::span<const std::byte> filter) const noexcept {
    for (const std::string& pattern : subscribe) {
        if (filter_covers(bytes(pattern), filter)) {
            return true;
        }
    }
    return false;
}

access_policy::access_policy(const config& cfg, uint32_t generation)
    : source_subscriptions(cfg.limits.source_subscriptions), source_topics_per_s(cfg.limits.source_topics_per_s),
      err_per_s(cfg.rcp.err_per_s), err_global_per_s(cfg.rcp.err_global_per_s), _required(cfg.rcp.require_auth),
      _generation(generation) {
    for (const identity_config& c : cfg.identities) {
        identity id{.name = c.name, .digest = c.token_sha256, .key = 0, .publish = c.publish,
                    .subscribe = c.subscribe};
        std::string keyed = c.name;
        keyed += '\0';
        keyed.append(reinterpret_cast<const char*>(c.token_sha256.data()), c.token_sha256.size());
        id.key = topic_hash(bytes(keyed));
        _by_key.emplace(id.key, static_cast<uint32_t>(_identities.size()));
        // Tokens are distinct (parse_config); their digests' first 8 bytes
        // are too but for a 2^-64 chance, in which the later one would not bind.
        _by_digest.emplace(digest_prefix(id.digest), static_cast<uint32_t>(_identities.size()));
        _identities.push_back(std::move(id));
    }
}

uint32_t access_policy::authenticate(std::span<const std::byte> token) const noexcept {
    const sha256_digest d = sha256(token);
    const auto it = _by_digest.find(digest_prefix(d));
    if (it == _by_digest.end()) {
        return no_identity;
    }
    return digests_equal(d, _identities[it->second].digest) ? it->second : no_identity;
}

uint32_t access_policy::find(uint64_t key) const noexcept {
    const auto it = _by_key.find(key);
    return it == _by_key.end() ? no_identity : it->second;
}

} // namespace ringcast
