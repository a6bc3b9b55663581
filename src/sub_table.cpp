#include <ringcast/sub_table.hpp>

#include <cstring>

namespace ringcast {

sub_table::sub_table(const sub_limits& lim)
    : _lim(lim), _name_stride(lim.topic_len), _topics(lim.topics), _names(size_t{lim.topics} * lim.topic_len),
      _subscribers(lim.subscribers), _subs(lim.subscriptions), _topic_index(lim.topics),
      _subscriber_index(lim.subscribers), _free_topics(lim.topics), _free_subscribers(lim.subscribers),
      _free_subs(lim.subscriptions) {}

uint32_t sub_table::find_topic(std::span<const std::byte> topic, uint64_t hash) const noexcept {
    return _topic_index.find(hash, [&](uint32_t id) {
        return _topics[id].len == topic.size() &&
               std::memcmp(_names.data() + size_t{id} * _name_stride, topic.data(), topic.size()) == 0;
    });
}

uint32_t sub_table::find_subscriber(const endpoint& ep) const noexcept {
    return _subscriber_index.find(endpoint_hash(ep), [&](uint32_t id) { return _subscribers[id].ep == ep; });
}

uint32_t sub_table::find_subscription(uint32_t topic_id, uint32_t subscriber_id) const noexcept {
    // Walk the shorter of the two lists.
    if (_subscribers[subscriber_id].n_subs < _topics[topic_id].n_subs) {
        for (uint32_t s = _subscribers[subscriber_id].first; s != no_id; s = _subs[s].s_next) {
            if (_subs[s].topic == topic_id) {
                return s;
            }
        }
        return no_id;
    }
    for (uint32_t s = _topics[topic_id].first; s != no_id; s = _subs[s].t_next) {
        if (_subs[s].subscriber == subscriber_id) {
            return s;
        }
    }
    return no_id;
}

sub_result sub_table::subscribe(std::span<const std::byte> topic, uint64_t hash, const endpoint& ep,
                                const mac_addr& mac) noexcept {
    uint32_t tid = find_topic(topic, hash);
    uint32_t sid = find_subscriber(ep);
    if (tid != no_id && sid != no_id && find_subscription(tid, sid) != no_id) {
        _subscribers[sid].mac = mac;
        return sub_result::exists;
    }
    // Check every table before taking anything, so a refusal changes nothing.
    if (_free_subs.available() == 0) {
        return sub_result::subscription_limit;
    }
    if (tid == no_id && _free_topics.available() == 0) {
        return sub_result::topic_limit;
    }
    if (sid == no_id && _free_subscribers.available() == 0) {
        return sub_result::subscriber_limit;
    }
    if (tid == no_id) {
        tid = _free_topics.take();
        _topics[tid] = topic_record{.hash = hash, .len = static_cast<uint16_t>(topic.size())};
        std::memcpy(_names.data() + size_t{tid} * _name_stride, topic.data(), topic.size());
        _topic_index.insert(hash, tid);
        ++_n_topics;
    }
    if (sid == no_id) {
        sid = _free_subscribers.take();
        _subscribers[sid] = subscriber_record{.ep = ep};
        _subscriber_index.insert(endpoint_hash(ep), sid);
        ++_n_subscribers;
    }
    _subscribers[sid].mac = mac;

    const uint32_t id = _free_subs.take();
    subscription& s = _subs[id];
    s = subscription{
        .topic = tid, .subscriber = sid, .t_next = _topics[tid].first, .s_next = _subscribers[sid].first};
    if (s.t_next != no_id) {
        _subs[s.t_next].t_prev = id;
    }
    if (s.s_next != no_id) {
        _subs[s.s_next].s_prev = id;
    }
    _topics[tid].first = id;
    _subscribers[sid].first = id;
    ++_topics[tid].n_subs;
    ++_subscribers[sid].n_subs;
    ++_n_subs;
    return sub_result::added;
}

void sub_table::unlink(uint32_t id) noexcept {
    subscription& s = _subs[id];
    topic_record& t = _topics[s.topic];
    subscriber_record& r = _subscribers[s.subscriber];
    (s.t_prev != no_id ? _subs[s.t_prev].t_next : t.first) = s.t_next;
    if (s.t_next != no_id) {
        _subs[s.t_next].t_prev = s.t_prev;
    }
    (s.s_prev != no_id ? _subs[s.s_prev].s_next : r.first) = s.s_next;
    if (s.s_next != no_id) {
        _subs[s.s_next].s_prev = s.s_prev;
    }
    --_n_subs;
    _free_subs.give(id);
    if (--t.n_subs == 0) {
        _topic_index.erase(t.hash, [&](uint32_t tid) { return tid == s.topic; });
        _free_topics.give(s.topic);
        --_n_topics;
    }
    if (--r.n_subs == 0) {
        _subscriber_index.erase(endpoint_hash(r.ep), [&](uint32_t sid) { return sid == s.subscriber; });
        _free_subscribers.give(s.subscriber);
        --_n_subscribers;
    }
}

sub_result sub_table::unsubscribe(std::span<const std::byte> topic, uint64_t hash,
                                  const endpoint& ep) noexcept {
    const uint32_t tid = find_topic(topic, hash);
    const uint32_t sid = find_subscriber(ep);
    if (tid == no_id || sid == no_id) {
        return sub_result::not_found;
    }
    const uint32_t id = find_subscription(tid, sid);
    if (id == no_id) {
        return sub_result::not_found;
    }
    unlink(id);
    return sub_result::removed;
}

uint32_t sub_table::remove_subscriber(const endpoint& ep) noexcept {
    const uint32_t sid = find_subscriber(ep);
    if (sid == no_id) {
        return 0;
    }
    uint32_t n = _subscribers[sid].n_subs;
    // The last unlink frees the subscriber record itself.
    for (uint32_t left = n; left > 0; --left) {
        unlink(_subscribers[sid].first);
    }
    return n;
}

} // namespace ringcast
