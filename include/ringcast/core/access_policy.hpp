// Who may do what: the identities of the config ([[identity]]), each with
// its token's SHA-256 and its ACL (topic prefixes it may publish to, filters
// it may subscribe under), whether a source must say HELLO first
// (rcp.require_auth), and the per-source limits that SIGHUP may change.
// Built on the control path from a valid config; read-only afterwards, so
// every lcore may share one, and a reload swaps in a new one.
#pragma once

#include <ringcast/core/config.hpp>
#include <ringcast/core/sha256.hpp>

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace ringcast {

inline constexpr uint32_t no_identity = UINT32_MAX;

struct identity {
    std::string name;
    sha256_digest digest{};
    // Stands for the name and the digest together: a source bound under it
    // stays bound across a reload only while neither changed.
    uint64_t key = 0;
    std::vector<std::string> publish;   // topic prefixes; "" is every topic
    std::vector<std::string> subscribe; // filters, valid per parse_filter, no $share

    // PUB (and what a publisher sends): the topic starts with a prefix.
    [[nodiscard]] bool may_publish(std::span<const std::byte> topic) const noexcept;
    // SUB, UNSUB and NACK: every topic `filter` (the filter proper of a
    // $share, a valid filter, or a PUB topic) can match is matched by one of
    // the ACL's filters.
    [[nodiscard]] bool may_subscribe(std::span<const std::byte> filter) const noexcept;
};

// Whether `pattern` matches every topic that `filter` matches, by MQTT
// rules; both valid per parse_filter, neither a $share.
[[nodiscard]] bool filter_covers(std::span<const std::byte> pattern, std::span<const std::byte> filter) noexcept;

class access_policy {
public:
    // `generation` numbers the policies of one run (the first is 1).
    access_policy(const config& cfg, uint32_t generation);

    [[nodiscard]] bool required() const noexcept { return _required; }
    // The identity whose token this is, or no_identity. The token's digest
    // picks the one candidate, which is then compared in constant time: what
    // the time can tell is whether some token has the digest of the one
    // sent, which only a preimage could use.
    [[nodiscard]] uint32_t authenticate(std::span<const std::byte> token) const noexcept;
    // The identity with this key (identity::key), or no_identity.
    [[nodiscard]] uint32_t find(uint64_t key) const noexcept;
    [[nodiscard]] const identity& at(uint32_t i) const noexcept { return _identities[i]; }
    [[nodiscard]] uint32_t size() const noexcept { return static_cast<uint32_t>(_identities.size()); }
    [[nodiscard]] uint32_t generation() const noexcept { return _generation; }

    // Per source: subscriptions held on one worker, and topics it may have a
    // worker create per second (burst the same); 0: no cap.
    uint32_t source_subscriptions = 0;
    uint32_t source_topics_per_s = 0;
    // ERR replies per source, and per io lcore over all sources, per second.
    uint32_t err_per_s = 0;
    uint32_t err_global_per_s = 0;

private:
    bool _required = false;
    uint32_t _generation = 0;
    std::vector<identity> _identities;
    std::unordered_map<uint64_t, uint32_t> _by_key;
    std::unordered_map<uint64_t, uint32_t> _by_digest; // on the digest's first 8 bytes
};

// Where the control thread publishes the current policy; each lcore adopts
// it and says which generation it holds, so the control thread knows when
// an older one is no longer read and may be freed.
struct policy_link {
    const std::atomic<const access_policy*>* latest = nullptr; // null: never reloaded (tests)
    std::atomic<uint32_t> held{0};
};

} // namespace ringcast
