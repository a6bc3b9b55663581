#include <ringcast/core/lease_table.hpp>

namespace ringcast {

lease_table::lease_table(const lease_params& p)
    : _p(p), _sources(p.max_sources), _live(p.max_sources, false), _index(p.max_sources),
      _free(p.max_sources) {}

source_record* lease_table::touch(const endpoint& ep, uint64_t now) noexcept {
    const uint64_t h = endpoint_hash(ep);
    uint32_t id = _index.find(h, [&](uint32_t i) { return _sources[i].ep == ep; });
    if (id == no_id) {
        id = _free.take();
        if (id == no_id) {
            return nullptr;
        }
        _sources[id] =
            source_record{.ep = ep, .err_bucket = token_bucket(_p.err_per_s, _p.err_per_s, _p.hz, now)};
        _live[id] = true;
        _index.insert(h, id);
        ++_n;
    }
    _sources[id].last_seen = now;
    return &_sources[id];
}

void lease_table::remove(uint32_t id) noexcept {
    const endpoint ep = _sources[id].ep;
    _index.erase(endpoint_hash(ep), [&](uint32_t i) { return i == id; });
    _live[id] = false;
    _free.give(id);
    --_n;
}

void lease_table::forget(const endpoint& ep) noexcept {
    const uint32_t id = _index.find(endpoint_hash(ep), [&](uint32_t i) { return _sources[i].ep == ep; });
    if (id != no_id) {
        remove(id);
    }
}

size_t lease_table::expire(uint64_t now, uint32_t budget, std::span<endpoint> lapsed) noexcept {
    size_t n = 0;
    const auto cap = static_cast<uint32_t>(_sources.size());
    for (uint32_t seen = 0; seen < budget && seen < cap && n < lapsed.size(); ++seen) {
        const uint32_t id = _cursor;
        _cursor = _cursor + 1 == cap ? 0 : _cursor + 1;
        if (!_live[id] || now - _sources[id].last_seen < _p.lease_ticks) {
            continue;
        }
        if (_sources[id].has_subs) {
            lapsed[n++] = _sources[id].ep;
        }
        remove(id);
    }
    return n;
}

} // namespace ringcast
