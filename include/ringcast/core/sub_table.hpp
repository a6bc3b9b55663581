// A worker's subscription table: the topics it owns, its subscribers, and the
// filters joining them, in fixed-capacity arrays sized at start-up. Filters
// are exact topics (only on the topic's owning worker), wildcard filters
// (indexed in a level trie, on every worker) and shared groups
// ($share/GROUP/FILTER) of either. Owned and touched by one worker lcore
// only; never allocates after construction.
//
// A topic record holds the topic's seq, so it outlives its subscribers: the
// worker forgets a topic (forget_topic) once nothing refers to it and it has
// been idle, which keeps seqs continuous for wildcard subscribers and for
// subscribers that come and go.
#pragma once

#include <ringcast/core/filter_trie.hpp>
#include <ringcast/core/hash_index.hpp>
#include <ringcast/core/net.hpp>
#include <ringcast/core/token_bucket.hpp>
#include <ringcast/core/topic.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

struct rte_mbuf;

namespace ringcast {

struct sub_limits {
    uint32_t topics = 65536;
    uint32_t subscriptions = 262144; // exact ones
    uint32_t subscribers = 65536;
    uint32_t topic_len = 255;
    uint32_t filters = 16384; // wildcard filters and shared-group memberships; the trie gets 2x+16 nodes
    uint32_t groups = 4096;
};

struct topic_record {
    uint64_t hash = 0;
    uint64_t seq = 0;              // last seq given to a message
    uint64_t last_active = 0;      // time of the last SUB, UNSUB or PUB (idle sweep)
    rte_mbuf* last_value = nullptr; // RETAIN: one reference, owned by the worker
    uint32_t first = no_id;        // first plain exact subscription
    uint32_t groups = no_id;       // first shared group on this exact topic
    uint32_t n_subs = 0;           // plain exact subscriptions
    uint32_t keep = 0;             // R: messages retained
    uint32_t idle_prev = no_id;    // in the unused list (no subscription, no group), oldest first
    uint32_t idle_next = no_id;
    uint16_t len = 0;
    bool live = false;
    bool unused = false; // on the unused list
};

// What a subscriber got and lost, for /ringcast/subscribers.
struct subscriber_stats {
    uint64_t deliveries = 0;
    uint64_t drops = 0; // every reason below, and pool_empty
    uint64_t rate_capped = 0;
    uint64_t injected_loss = 0;
    uint64_t nack_limited = 0;
    uint64_t nacks_served = 0; // messages retransmitted for its NACKs
    uint64_t replayed = 0;     // messages replayed at SUB (REPLAY or retained value)

    // Telemetry sums a subscriber's records on several workers.
    subscriber_stats& operator+=(const subscriber_stats& o) noexcept {
        deliveries += o.deliveries;
        drops += o.drops;
        rate_capped += o.rate_capped;
        injected_loss += o.injected_loss;
        nack_limited += o.nack_limited;
        nacks_served += o.nacks_served;
        replayed += o.replayed;
        return *this;
    }
};

struct subscriber_record {
    endpoint ep;
    mac_addr mac{};
    uint32_t first = no_id; // first subscription of this subscriber
    uint32_t n_subs = 0;
    uint64_t stamp = 0;         // last message it was given, so overlapping filters deliver once
    uint64_t plan = 0;          // the coalescer's plan its open datagram belongs to (coalesce.hpp)
    uint32_t plan_datagram = 0; // that datagram, within the plan
    token_bucket delivery_cap;  // optional per-subscriber rate cap
    token_bucket repair;        // NACK and REPLAY service
    token_bucket new_topics;    // topics its SUBs may create (limits.source_topics_per_s)
    uint64_t identity = 0;      // identity::key its last SUB came with (0: none)
    subscriber_stats stats;
};

struct group_record {
    uint64_t hash = 0;       // of the name and the filter
    uint32_t target = no_id; // topic id, or trie node when wildcard
    uint32_t first = no_id;  // member subscriptions
    uint32_t cursor = no_id; // member that gets the next message
    uint32_t n_members = 0;
    uint32_t prev = no_id, next = no_id; // in its target's group list
    uint16_t name_len = 0;
    bool wildcard = false;
};

enum class sub_result : uint8_t {
    added,
    exists,
    removed,
    not_found,
    topic_limit,
    subscription_limit,
    subscriber_limit,
    filter_limit,
    group_limit,
};

struct sub_outcome {
    sub_result result = sub_result::not_found;
    uint32_t subscriber = no_id;
    uint32_t topic = no_id; // the exact topic of a plain exact filter
    bool wildcard = false;
    bool shared = false;
};

class sub_table {
public:
    explicit sub_table(const sub_limits& lim);

    // `f` is what parse_filter made of a filter within the limit; `now`
    // stamps the topic's activity; an exact topic created here keeps `keep`
    // messages. The subscriber record is created when new (its buckets are
    // the caller's to set: outcome.subscriber, n_subs == 1).
    [[nodiscard]] sub_outcome subscribe(const filter_spec& f, const endpoint& ep, const mac_addr& mac,
                                        uint64_t now, uint32_t keep = 0) noexcept;
    [[nodiscard]] sub_result unsubscribe(const filter_spec& f, const endpoint& ep, uint64_t now) noexcept;
    // BYE or a lapsed lease: drops every subscription of `ep`; returns how many.
    uint32_t remove_subscriber(const endpoint& ep) noexcept;
    // Whether `ep` holds exactly this subscription.
    [[nodiscard]] bool holds(const filter_spec& f, const endpoint& ep) const noexcept;
    // Drops each subscription of subscriber `sid` whose filter proper (a
    // $share's FILTER) keep(std::span<const std::byte>) refuses; returns how
    // many went. The record goes with the last one. Control path (a reload).
    template <class Keep> uint32_t prune_subscriber(uint32_t sid, Keep&& keep) noexcept {
        std::array<std::byte, 255> buf;
        uint32_t dropped = 0;
        for (uint32_t s = _subscribers[sid].first; s != no_id;) {
            const uint32_t next = _subs[s].s_next;
            if (!keep(std::span<const std::byte>(buf.data(), filter_text(s, buf)))) {
                unlink(s);
                ++dropped;
            }
            s = next;
        }
        return dropped;
    }

    // The oldest topic no subscription or group refers to for which
    // reclaimable(topic id) holds, looking at up to `budget` of them; no_id
    // when none. Those looked at and refused go to the back of the line.
    template <class Reclaimable> [[nodiscard]] uint32_t oldest_unused(uint32_t budget, Reclaimable&& reclaimable) noexcept {
        for (; budget > 0 && _unused_head != no_id; --budget) {
            const uint32_t id = _unused_head;
            if (reclaimable(id)) {
                return id;
            }
            unlist_unused(id);
            list_unused(id);
        }
        return no_id;
    }
    // A PUB's mark on the topic: active now, so last in line for reclaim.
    void touch_topic(uint32_t id, uint64_t now) noexcept {
        _topics[id].last_active = now;
        if (_topics[id].unused && _unused_tail != id) {
            unlist_unused(id);
            list_unused(id);
        }
    }

    [[nodiscard]] uint32_t find_topic(std::span<const std::byte> topic, uint64_t hash) const noexcept;
    // The topic's record, created when missing (no_id when the table is full).
    [[nodiscard]] uint32_t ensure_topic(std::span<const std::byte> topic, uint64_t hash, uint32_t keep) noexcept;
    // Frees a topic nothing refers to (no subscription, group, retained
    // message or last value: the caller checks the latter two).
    void forget_topic(uint32_t id) noexcept;
    [[nodiscard]] bool topic_in_use(uint32_t id) const noexcept {
        return _topics[id].n_subs != 0 || _topics[id].groups != no_id;
    }
    [[nodiscard]] uint32_t find_subscriber(const endpoint& ep) const noexcept;

    [[nodiscard]] topic_record& topic(uint32_t id) noexcept { return _topics[id]; }
    [[nodiscard]] const topic_record& topic(uint32_t id) const noexcept { return _topics[id]; }
    [[nodiscard]] std::string_view topic_name(uint32_t id) const noexcept {
        return {_names.data() + size_t{id} * _name_stride, _topics[id].len};
    }
    [[nodiscard]] subscriber_record& subscriber(uint32_t id) noexcept { return _subscribers[id]; }
    [[nodiscard]] const subscriber_record& subscriber(uint32_t id) const noexcept { return _subscribers[id]; }

    // Whether some wildcard filter (plain or shared) matches the topic.
    [[nodiscard]] bool wildcard_match(std::span<const std::byte> topic) const noexcept {
        bool any = false;
        if (!_trie.empty()) {
            _trie.match(topic, [&](uint32_t) { any = true; });
        }
        return any;
    }

    // Everything a message on `topic` (record `tid`, or no_id) reaches:
    // plain(subscriber_record&) once per subscriber with a matching plain
    // filter, however many match, and shared(uint32_t group) once per
    // matching group; the two kinds of call interleave.
    template <class Plain, class Shared>
    void for_each_target(uint32_t tid, std::span<const std::byte> topic, Plain&& plain, Shared&& shared) noexcept {
        const uint64_t stamp = ++_stamp;
        if (tid != no_id) {
            for (uint32_t s = _topics[tid].first; s != no_id; s = _subs[s].t_next) {
                subscriber_record& r = _subscribers[_subs[s].subscriber];
                r.stamp = stamp;
                plain(r);
            }
            for (uint32_t g = _topics[tid].groups; g != no_id; g = _groups[g].next) {
                shared(g);
            }
        }
        if (_trie.empty()) {
            return;
        }
        _trie.match(topic, [&](uint32_t node) {
            for (uint32_t s = _node_first[node]; s != no_id; s = _subs[s].t_next) {
                subscriber_record& r = _subscribers[_subs[s].subscriber];
                if (r.stamp != stamp) {
                    r.stamp = stamp;
                    plain(r);
                }
            }
            for (uint32_t g = _node_groups[node]; g != no_id; g = _groups[g].next) {
                shared(g);
            }
        });
    }

    // The group's next member, round-robin, for which accept(subscriber_record&)
    // holds; each member is tried once. nullptr when none accepts.
    template <class Accept> subscriber_record* pick(uint32_t group, Accept&& accept) noexcept {
        group_record& g = _groups[group];
        for (uint32_t tries = g.n_members; tries > 0; --tries) {
            const uint32_t s = g.cursor;
            g.cursor = _subs[s].t_next != no_id ? _subs[s].t_next : g.first;
            subscriber_record& r = _subscribers[_subs[s].subscriber];
            if (accept(r)) {
                return &r;
            }
        }
        return nullptr;
    }

    // Calls f(topic id) for every live topic: a scan of the whole capacity,
    // for the control path only (a wildcard SUB's history, shutdown).
    template <class F> void for_each_topic(F&& f) const noexcept {
        for (uint32_t id = 0; id < _topics.size(); ++id) {
            if (_topics[id].live) {
                f(id);
            }
        }
    }

    // Ids run below these; a topic id is in use when topic(id).live, a
    // subscriber id when subscriber(id).n_subs != 0 (for sliced scans).
    [[nodiscard]] uint32_t topic_capacity() const noexcept { return static_cast<uint32_t>(_topics.size()); }
    [[nodiscard]] uint32_t subscriber_capacity() const noexcept {
        return static_cast<uint32_t>(_subscribers.size());
    }
    [[nodiscard]] uint32_t topics() const noexcept { return _n_topics; }
    [[nodiscard]] uint32_t subscriptions() const noexcept { return _n_exact + _n_filters; }
    [[nodiscard]] uint32_t filters() const noexcept { return _n_filters; }
    [[nodiscard]] uint32_t groups() const noexcept { return _n_groups; }
    [[nodiscard]] uint32_t subscribers() const noexcept { return _n_subscribers; }

private:
    enum class kind : uint8_t { exact, wildcard, member };
    struct subscription {
        uint32_t target = no_id; // topic id, trie node or group id, by kind
        uint32_t subscriber = no_id;
        // Two doubly linked lists: the target's subscriptions, the subscriber's.
        uint32_t t_prev = no_id, t_next = no_id;
        uint32_t s_prev = no_id, s_next = no_id;
        kind k = kind::exact;
    };
    // Where a filter attaches: a topic or trie node, maybe through a group.
    struct place {
        kind k;
        uint32_t target;
    };

    uint32_t& list_head(kind k, uint32_t target) noexcept;
    uint32_t list_length(kind k, uint32_t target) const noexcept;
    uint32_t find_subscription(kind k, uint32_t target, uint32_t subscriber_id) const noexcept;
    uint32_t find_group(std::span<const std::byte> name, bool wildcard, uint32_t target, uint64_t hash) const noexcept;
    uint32_t new_topic(std::span<const std::byte> topic, uint64_t hash) noexcept;
    void link(kind k, uint32_t target, uint32_t subscriber_id) noexcept;
    void unlink(uint32_t sub_id) noexcept;
    void drop_group(uint32_t group) noexcept;
    // The filter proper a subscription stands for, in `out`; returns its length.
    size_t filter_text(uint32_t sub_id, std::span<std::byte, 255> out) const noexcept;
    uint32_t find_held(const filter_spec& f, uint32_t sid) const noexcept;
    void list_unused(uint32_t id) noexcept;
    void unlist_unused(uint32_t id) noexcept;
    // Puts the topic on the unused list or takes it off, as its references say.
    void relist(uint32_t id) noexcept;

    sub_limits _lim;
    size_t _name_stride;
    std::vector<topic_record> _topics;
    std::vector<char> _names; // topic bytes, _name_stride per topic id
    std::vector<subscriber_record> _subscribers;
    std::vector<subscription> _subs;
    std::vector<group_record> _groups;
    std::vector<char> _group_names; // _name_stride per group id
    filter_trie _trie;
    std::vector<uint32_t> _node_first;  // per trie node: plain wildcard subscriptions
    std::vector<uint32_t> _node_groups; // per trie node: shared groups
    std::vector<uint32_t> _node_n;      // per trie node: plain wildcard subscriptions
    hash_index _topic_index;
    hash_index _subscriber_index;
    hash_index _group_index;
    id_pool _free_topics;
    id_pool _free_subscribers;
    id_pool _free_subs;
    id_pool _free_groups;
    uint64_t _stamp = 0;
    uint32_t _unused_head = no_id;
    uint32_t _unused_tail = no_id;
    uint32_t _n_topics = 0;
    uint32_t _n_exact = 0;
    uint32_t _n_filters = 0;
    uint32_t _n_groups = 0;
    uint32_t _n_subscribers = 0;
};

} // namespace ringcast
