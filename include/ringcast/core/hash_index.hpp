// A fixed-capacity open-addressing index from a 64-bit hash to a dense id.
// The caller stores the entries and says, through `eq(id)`, whether an id is
// the key it looks for. Sized once at start-up; never allocates afterwards.
#pragma once

#include <cstdint>
#include <vector>

namespace ringcast {

inline constexpr uint32_t no_id = UINT32_MAX;

class hash_index {
public:
    // Room for `max_entries` ids at a load factor of at most 1/2.
    explicit hash_index(uint32_t max_entries) {
        uint32_t cap = 16;
        while (cap < max_entries * 2ULL) {
            cap <<= 1;
        }
        _slots.assign(cap, slot{});
        _mask = cap - 1;
    }

    template <class Eq> [[nodiscard]] uint32_t find(uint64_t hash, Eq&& eq) const noexcept {
        const auto h = static_cast<uint32_t>(hash);
        for (uint32_t i = h & _mask;; i = (i + 1) & _mask) {
            const slot& s = _slots[i];
            if (s.id == no_id) {
                return no_id;
            }
            if (s.hash == h && eq(s.id)) {
                return s.id;
            }
        }
    }

    // The id must not be present; the caller keeps the count within max_entries.
    void insert(uint64_t hash, uint32_t id) noexcept {
        const auto h = static_cast<uint32_t>(hash);
        uint32_t i = h & _mask;
        while (_slots[i].id != no_id) {
            i = (i + 1) & _mask;
        }
        _slots[i] = slot{id, h};
    }

    // Removes the id matching `eq`; returns it, or no_id.
    template <class Eq> uint32_t erase(uint64_t hash, Eq&& eq) noexcept {
        const auto h = static_cast<uint32_t>(hash);
        uint32_t i = h & _mask;
        for (;; i = (i + 1) & _mask) {
            if (_slots[i].id == no_id) {
                return no_id;
            }
            if (_slots[i].hash == h && eq(_slots[i].id)) {
                break;
            }
        }
        const uint32_t id = _slots[i].id;
        // Backward-shift deletion: no tombstones, so probes stay short.
        for (uint32_t j = i;;) {
            j = (j + 1) & _mask;
            if (_slots[j].id == no_id) {
                break;
            }
            const uint32_t home = _slots[j].hash & _mask;
            const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays) {
                _slots[i] = _slots[j];
                i = j;
            }
        }
        _slots[i] = slot{};
        return id;
    }

private:
    struct slot {
        uint32_t id = no_id;
        uint32_t hash = 0; // low half of the key's hash, to skip most eq calls
    };
    std::vector<slot> _slots;
    uint32_t _mask = 0;
};

// A stack of free dense ids 0..n-1, handed out lowest first.
class id_pool {
public:
    explicit id_pool(uint32_t n) : _free(n) {
        for (uint32_t i = 0; i < n; ++i) {
            _free[i] = n - 1 - i;
        }
    }
    [[nodiscard]] uint32_t take() noexcept {
        if (_free.empty()) {
            return no_id;
        }
        const uint32_t id = _free.back();
        _free.pop_back(); // never reallocates: capacity stays n
        return id;
    }
    void give(uint32_t id) noexcept { _free.push_back(id); }
    [[nodiscard]] uint32_t available() const noexcept { return static_cast<uint32_t>(_free.size()); }
    [[nodiscard]] uint32_t capacity() const noexcept { return static_cast<uint32_t>(_free.capacity()); }

private:
    std::vector<uint32_t> _free;
};

} // namespace ringcast
