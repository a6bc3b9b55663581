#include <ringcast/core/retention.hpp>

#include <algorithm>

namespace ringcast {

retention_store::retention_store(uint32_t capacity, uint32_t max_topics)
    : _entries(capacity), _topics(max_topics) {
    for (uint32_t i = 0; i < capacity; ++i) {
        _entries[i].next = i + 1 == capacity ? nil : i + 1;
    }
    _free = capacity == 0 ? nil : 0;
}

rte_mbuf* retention_store::pop_oldest(uint32_t topic) noexcept {
    topic_list& t = _topics[topic];
    const uint32_t i = t.head;
    entry& e = _entries[i];
    t.head = e.next;
    if (t.head == nil) {
        t.tail = nil;
    }
    --t.count;
    (e.older == nil ? _oldest : _entries[e.older].newer) = e.newer;
    (e.newer == nil ? _newest : _entries[e.newer].older) = e.older;
    rte_mbuf* m = e.msg.m;
    e.msg = retained_msg{};
    e.next = _free;
    _free = i;
    --_size;
    return m;
}

retain_evictions retention_store::push(uint32_t topic, uint32_t keep, uint64_t seq, rte_mbuf* m,
                                       std::span<rte_mbuf*> evicted) noexcept {
    retain_evictions r;
    if (_entries.empty()) {
        evicted[0] = m;
        return retain_evictions{.n = 1, .by_cap = 1};
    }
    // Roll-over first: the topic's oldest goes anyway at `keep`, and the slot it
    // frees spares another topic's message that the cap would otherwise take.
    keep = std::max(keep, 1U);
    topic_list& t = _topics[topic];
    while (t.count >= keep && r.n < evicted.size()) {
        evicted[r.n++] = pop_oldest(topic);
    }
    if (_free == nil) {
        // The store-wide oldest is the oldest of its topic, since every topic
        // appends in the same time order as the age list.
        evicted[r.n++] = pop_oldest(_entries[_oldest].topic);
        ++r.by_cap;
    }
    const uint32_t i = _free;
    entry& e = _entries[i];
    _free = e.next;
    e = entry{.msg = {.m = m, .seq = seq}, .topic = topic, .next = nil, .older = _newest, .newer = nil};
    (_newest == nil ? _oldest : _entries[_newest].newer) = i;
    _newest = i;
    (t.tail == nil ? t.head : _entries[t.tail].next) = i;
    t.tail = i;
    ++t.count;
    ++_size;
    return r;
}

uint32_t retention_store::held(uint32_t topic) const noexcept {
    return _topics[topic].count;
}

uint64_t retention_store::first_seq(uint32_t topic) const noexcept {
    const uint32_t head = _topics[topic].head;
    return head == nil ? 0 : _entries[head].msg.seq;
}

} // namespace ringcast
