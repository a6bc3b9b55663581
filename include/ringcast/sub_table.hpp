// A worker's exact-topic subscription table: topics, subscribers and the
// subscriptions joining them, in fixed-capacity arrays sized at start-up.
// Owned and touched by one worker lcore only; never allocates after
// construction. A topic lives while it has subscribers; its seq counts the
// messages it routed in that time.
#pragma once

#include <ringcast/hash_index.hpp>
#include <ringcast/net.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ringcast {

struct sub_limits {
    uint32_t topics = 65536;
    uint32_t subscriptions = 262144;
    uint32_t subscribers = 65536;
    uint32_t topic_len = 255;
};

struct topic_record {
    uint64_t hash = 0;
    uint64_t seq = 0;       // last seq given to a message
    uint32_t first = no_id; // first subscription of this topic
    uint32_t n_subs = 0;
    uint16_t len = 0;
};

struct subscriber_record {
    endpoint ep;
    mac_addr mac{};
    uint32_t first = no_id; // first subscription of this subscriber
    uint32_t n_subs = 0;
    uint64_t deliveries = 0;
    uint64_t drops = 0;
};

enum class sub_result : uint8_t {
    added,
    exists,
    removed,
    not_found,
    topic_limit,
    subscription_limit,
    subscriber_limit,
};

class sub_table {
public:
    explicit sub_table(const sub_limits& lim);

    // `hash` is topic_hash(topic); the topic is valid and within the limit.
    [[nodiscard]] sub_result subscribe(std::span<const std::byte> topic, uint64_t hash, const endpoint& ep,
                                       const mac_addr& mac) noexcept;
    [[nodiscard]] sub_result unsubscribe(std::span<const std::byte> topic, uint64_t hash,
                                         const endpoint& ep) noexcept;
    // BYE or a lapsed lease: drops every subscription of `ep`; returns how many.
    uint32_t remove_subscriber(const endpoint& ep) noexcept;

    [[nodiscard]] uint32_t find_topic(std::span<const std::byte> topic, uint64_t hash) const noexcept;
    [[nodiscard]] uint32_t find_subscriber(const endpoint& ep) const noexcept;

    [[nodiscard]] topic_record& topic(uint32_t id) noexcept { return _topics[id]; }
    [[nodiscard]] const topic_record& topic(uint32_t id) const noexcept { return _topics[id]; }
    [[nodiscard]] std::string_view topic_name(uint32_t id) const noexcept {
        return {_names.data() + size_t{id} * _name_stride, _topics[id].len};
    }
    [[nodiscard]] subscriber_record& subscriber(uint32_t id) noexcept { return _subscribers[id]; }
    [[nodiscard]] const subscriber_record& subscriber(uint32_t id) const noexcept { return _subscribers[id]; }

    // Calls f(subscriber_record&) once per subscriber of the topic.
    template <class F> void for_each_subscriber(uint32_t topic_id, F&& f) noexcept {
        for (uint32_t s = _topics[topic_id].first; s != no_id; s = _subs[s].t_next) {
            f(_subscribers[_subs[s].subscriber]);
        }
    }
    // Calls f(topic id) for every live topic (telemetry snapshots).
    template <class F> void for_each_topic(F&& f) const noexcept {
        for (uint32_t id = 0; id < _topics.size(); ++id) {
            if (_topics[id].n_subs != 0) {
                f(id);
            }
        }
    }
    template <class F> void for_each_subscriber_record(F&& f) const noexcept {
        for (uint32_t id = 0; id < _subscribers.size(); ++id) {
            if (_subscribers[id].n_subs != 0) {
                f(_subscribers[id]);
            }
        }
    }

    [[nodiscard]] uint32_t topics() const noexcept { return _n_topics; }
    [[nodiscard]] uint32_t subscriptions() const noexcept { return _n_subs; }
    [[nodiscard]] uint32_t subscribers() const noexcept { return _n_subscribers; }

private:
    struct subscription {
        uint32_t topic = no_id;
        uint32_t subscriber = no_id;
        // Two doubly linked lists: the topic's subscriptions, the subscriber's.
        uint32_t t_prev = no_id, t_next = no_id;
        uint32_t s_prev = no_id, s_next = no_id;
    };

    uint32_t find_subscription(uint32_t topic_id, uint32_t subscriber_id) const noexcept;
    void unlink(uint32_t sub_id) noexcept;

    sub_limits _lim;
    size_t _name_stride;
    std::vector<topic_record> _topics;
    std::vector<char> _names; // topic bytes, _name_stride per topic id
    std::vector<subscriber_record> _subscribers;
    std::vector<subscription> _subs;
    hash_index _topic_index;
    hash_index _subscriber_index;
    id_pool _free_topics;
    id_pool _free_subscribers;
    id_pool _free_subs;
    uint32_t _n_topics = 0;
    uint32_t _n_subs = 0;
    uint32_t _n_subscribers = 0;
};

} // namespace ringcast
