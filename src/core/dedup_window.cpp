#include <ringcast/core/dedup_window.hpp>

namespace ringcast {

namespace {

uint64_t mix(uint64_t h) noexcept {
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

// Mixed after each field rather than xored together, so that no simple
// relation between seq and topic hash (such as both off by one bit) collides.
uint64_t key_hash(const dedup_key& k) noexcept {
    return mix(mix(endpoint_hash(k.source) ^ k.pub_seq) ^ k.topic_hash);
}

bool same_key(const dedup_key& a, const dedup_key& b) noexcept {
    return a.source == b.source && a.pub_seq == b.pub_seq && a.topic_hash == b.topic_hash;
}

} // namespace

dedup_window::dedup_window(uint32_t capacity, uint64_t window_ticks)
    : _ring(capacity), _index(capacity), _window(window_ticks) {}

void dedup_window::pop_oldest() noexcept {
    const uint32_t slot = _head;
    _index.erase(key_hash(_ring[slot].key), [&](uint32_t id) { return id == slot; });
    _head = _head + 1 == _ring.size() ? 0 : _head + 1;
    --_n;
}

void dedup_window::expire(uint64_t now) noexcept {
    // Written as a difference so that a window near UINT64_MAX cannot overflow.
    while (_n != 0 && now - _ring[_head].at >= _window) {
        pop_oldest();
    }
}

uint64_t dedup_window::find(const dedup_key& k, uint64_t now) noexcept {
    expire(now);
    const uint32_t slot = _index.find(key_hash(k), [&](uint32_t id) { return same_key(_ring[id].key, k); });
    return slot == no_id ? 0 : _ring[slot].topic_seq;
}

bool dedup_window::record(const dedup_key& k, uint64_t topic_seq, uint64_t now) noexcept {
    expire(now);
    if (_ring.empty()) {
        return _window != 0; // nothing can be kept: the record is lost inside its window
    }
    const uint64_t h = key_hash(k);
    // A key already held keeps its slot, so the ring stays in time order; only
    // its topic seq is replaced.
    const uint32_t held = _index.find(h, [&](uint32_t id) { return same_key(_ring[id].key, k); });
    if (held != no_id) {
        _ring[held].topic_seq = topic_seq;
        return false;
    }
    // expire() left only entries inside their window, so a victim here is early.
    const bool early = _n == _ring.size();
    if (early) {
        pop_oldest();
    }
    uint32_t slot = _head + _n;
    if (slot >= _ring.size()) {
        slot -= static_cast<uint32_t>(_ring.size());
    }
    _ring[slot] = entry{.key = k, .topic_seq = topic_seq, .at = now};
    _index.insert(h, slot);
    ++_n;
    return early;
}

} // namespace ringcast
