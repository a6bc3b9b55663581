#include <ringcast/core/filter_trie.hpp>

#include <cstring>
#include <stdexcept>

namespace ringcast {

namespace {

bool is_level(std::span<const std::byte> level, char c) noexcept {
    return level.size() == 1 && level[0] == static_cast<std::byte>(c);
}

// Calls f(level, last) for each '/'-separated level; stops when f returns false.
template <class F> void for_each_level(std::span<const std::byte> filter, F&& f) noexcept {
    size_t start = 0;
    for (size_t i = 0; i <= filter.size(); ++i) {
        if (i == filter.size() || filter[i] == std::byte{'/'}) {
            if (!f(filter.subspan(start, i - start), i == filter.size())) {
                return;
            }
            start = i + 1;
        }
    }
}

} // namespace

filter_trie::filter_trie(uint32_t max_nodes, uint32_t max_level_len)
    : _nodes(max_nodes), _levels(size_t{max_nodes} * max_level_len), _level_stride(max_level_len),
      _children(max_nodes), _free(max_nodes) {
    if (max_nodes == 0) {
        throw std::invalid_argument("filter_trie: max_nodes must be at least 1 (the root)");
    }
    (void)_free.take(); // the root: ids are handed out lowest first
}

uint32_t filter_trie::nodes_in_use() const noexcept {
    return capacity() - _free.available();
}

uint32_t filter_trie::child(uint32_t parent, std::span<const std::byte> level) const noexcept {
    if (is_level(level, '+')) {
        return _nodes[parent].plus;
    }
    if (is_level(level, '#')) {
        return _nodes[parent].hash;
    }
    return exact_child(parent, level, topic_hash(level));
}

uint32_t filter_trie::acquire(std::span<const std::byte> filter) noexcept {
    if (filter.empty()) {
        return no_id;
    }
    // First count the nodes to add and check every level, so that a refusal
    // changes nothing.
    bool fits = true;
    uint32_t missing = 0;
    uint32_t n = root;
    for_each_level(filter, [&](std::span<const std::byte> level, bool last) {
        // A '#' node must stay a leaf: match reports it without looking.
        if (level.size() > _level_stride || (is_level(level, '#') && !last)) {
            fits = false;
            return false;
        }
        if (missing == 0) {
            const uint32_t c = child(n, level);
            if (c != no_id) {
                n = c;
                return true;
            }
        }
        ++missing;
        return true;
    });
    if (!fits || missing > _free.available()) {
        return no_id;
    }
    n = root;
    for_each_level(filter, [&](std::span<const std::byte> level, bool) {
        uint32_t c = child(n, level);
        if (c == no_id) {
            c = _free.take();
            _nodes[c] = node{.parent = n};
            if (is_level(level, '+')) {
                _nodes[n].plus = c;
            } else if (is_level(level, '#')) {
                _nodes[n].hash = c;
            } else {
                _nodes[c].len = static_cast<uint32_t>(level.size());
                std::memcpy(_levels.data() + size_t{c} * _level_stride, level.data(), level.size());
                _children.insert(child_key(n, topic_hash(level)), c);
                ++_nodes[n].n_exact;
            }
        }
        n = c;
        return true;
    });
    ++_nodes[n].terminal;
    ++_filters;
    return n;
}

void filter_trie::release(uint32_t id) noexcept {
    if (id == root || id >= capacity() || _nodes[id].terminal == 0) {
        return;
    }
    --_nodes[id].terminal;
    --_filters;
    // Free bottom-up every node that neither ends a filter nor leads to one.
    while (id != root) {
        const node& n = _nodes[id];
        if (n.terminal != 0 || n.n_exact != 0 || n.plus != no_id || n.hash != no_id) {
            break;
        }
        const uint32_t p = n.parent;
        if (_nodes[p].plus == id) {
            _nodes[p].plus = no_id;
        } else if (_nodes[p].hash == id) {
            _nodes[p].hash = no_id;
        } else {
            const std::span<const std::byte> level{_levels.data() + size_t{id} * _level_stride, n.len};
            (void)_children.erase(child_key(p, topic_hash(level)), [&](uint32_t c) { return c == id; });
            --_nodes[p].n_exact;
        }
        _nodes[id] = node{};
        _free.give(id);
        id = p;
    }
}

size_t filter_trie::text(uint32_t id, std::span<std::byte, 255> out) const noexcept {
    // Levels from the node up to the root, written back to front.
    size_t pos = out.size();
    for (uint32_t n = id; n != root && n < capacity(); n = _nodes[n].parent) {
        const uint32_t p = _nodes[n].parent;
        static constexpr std::byte plus[] = {std::byte{'+'}};
        static constexpr std::byte hash[] = {std::byte{'#'}};
        const std::span<const std::byte> level = _nodes[p].plus == n   ? std::span<const std::byte>(plus)
                                                 : _nodes[p].hash == n ? std::span<const std::byte>(hash)
                                                                       : std::span<const std::byte>(
                                                                             _levels.data() + size_t{n} * _level_stride,
                                                                             _nodes[n].len);
        const size_t need = level.size() + (pos == out.size() ? 0 : 1);
        if (need > pos) {
            break; // longer than a filter can be: not a node in use
        }
        if (pos != out.size()) {
            out[--pos] = std::byte{'/'};
        }
        pos -= level.size();
        std::memcpy(out.data() + pos, level.data(), level.size());
    }
    const size_t len = out.size() - pos;
    std::memmove(out.data(), out.data() + pos, len);
    return len;
}

uint32_t filter_trie::find(std::span<const std::byte> filter) const noexcept {
    if (filter.empty()) {
        return no_id;
    }
    uint32_t n = root;
    for_each_level(filter, [&](std::span<const std::byte> level, bool) {
        n = child(n, level);
        return n != no_id;
    });
    return n != no_id && _nodes[n].terminal != 0 ? n : no_id;
}

} // namespace ringcast
