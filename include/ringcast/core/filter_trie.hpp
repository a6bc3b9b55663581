// Wildcard filters ('+' one level, '#' the rest) indexed as a level trie, so
// matching a topic costs in proportion to its depth, not to the number of
// filters. Fixed capacity, sized at start-up; owned by one worker lcore.
// Node ids of terminal nodes (where a filter ends) are stable while the
// filter is held, so callers keep per-filter data in arrays indexed by them.
#pragma once

#include <ringcast/core/hash_index.hpp>
#include <ringcast/core/topic.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace ringcast {

class filter_trie {
public:
    // Room for `max_nodes` nodes (one per distinct filter level prefix, plus
    // the root); levels of at most `max_level_len` bytes. Memory is
    // max_nodes * (24 + max_level_len) bytes plus the child index.
    filter_trie(uint32_t max_nodes, uint32_t max_level_len);

    // Takes one reference on the filter (valid per parse_filter, no $share
    // prefix), inserting its levels as needed. Returns its terminal node, or
    // no_id when the nodes ran out or a level is longer than max_level_len
    // (then nothing changed). Control path of the owning lcore.
    [[nodiscard]] uint32_t acquire(std::span<const std::byte> filter) noexcept;
    // Drops one reference taken by acquire; frees the nodes no filter needs.
    // A node holding no reference is left alone.
    void release(uint32_t node) noexcept;
    // The terminal node of a held filter, or no_id.
    [[nodiscard]] uint32_t find(std::span<const std::byte> filter) const noexcept;
    // The filter a node in use stands for, written to `out`; returns its length.
    [[nodiscard]] size_t text(uint32_t node, std::span<std::byte, 255> out) const noexcept;

    // Calls f(node) once for every held filter that matches `topic` (a valid
    // PUB topic). MQTT rules: '+' matches exactly one level, '#' matches any
    // number of levels including none ("a/#" matches "a"). Never allocates;
    // a topic longer than 255 bytes (the wire's limit) matches nothing.
    // Cost: about 10 nodes visited for a 3-5 level topic, 165-210 ns at 10 k
    // filters, 205-255 ns at 100 k, under 1 ns with none (2.1 GHz VM, shared;
    // taskset -c 1 build/bench/filter_trie_bench).
    template <class F> void match(std::span<const std::byte> topic, F&& f) const noexcept;

    [[nodiscard]] uint32_t capacity() const noexcept { return static_cast<uint32_t>(_nodes.size()); }
    [[nodiscard]] uint32_t nodes_in_use() const noexcept;
    [[nodiscard]] bool empty() const noexcept { return _filters == 0; }

private:
    // The wire's topic_len field is one byte.
    static constexpr size_t max_topic_len = 255;
    static constexpr uint32_t root = 0;

    struct node {
        uint32_t parent = no_id;
        uint32_t plus = no_id; // the '+' child
        uint32_t hash = no_id; // the '#' child: always terminal, never a parent
        uint32_t terminal = 0; // references on the filter ending here
        uint32_t n_exact = 0;  // children found through _children
        uint32_t len = 0;      // bytes of this level in _levels
    };

    // A node reached with `depth` levels of the topic consumed.
    struct step {
        uint32_t node;
        uint32_t depth;
    };

    // Key of the exact child of `parent` whose level has topic_hash `level_hash`.
    static uint64_t child_key(uint32_t parent, uint64_t level_hash) noexcept {
        uint64_t h = level_hash + (uint64_t{parent} + 1) * 0x9e3779b97f4a7c15ULL;
        h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ULL;
        return h ^ (h >> 32);
    }
    [[nodiscard]] uint32_t exact_child(uint32_t parent, std::span<const std::byte> level,
                                       uint64_t level_hash) const noexcept {
        return _children.find(child_key(parent, level_hash), [&](uint32_t id) {
            const node& c = _nodes[id];
            return c.parent == parent && c.len == level.size() &&
                   std::memcmp(_levels.data() + size_t{id} * _level_stride, level.data(), level.size()) == 0;
        });
    }
    // The existing child of `parent` for one filter level, or no_id.
    [[nodiscard]] uint32_t child(uint32_t parent, std::span<const std::byte> level) const noexcept;

    std::vector<node> _nodes;
    std::vector<std::byte> _levels; // level bytes, _level_stride per node id
    size_t _level_stride;
    hash_index _children;
    id_pool _free;
    uint32_t _filters = 0; // references held, over all filters
};

template <class F> void filter_trie::match(std::span<const std::byte> topic, F&& f) const noexcept {
    if (_filters == 0 || topic.size() > max_topic_len) {
        return;
    }
    // Split and hash the levels once: several nodes may look up the same level.
    // At most max_topic_len + 1 levels (all empty, not a valid topic, but safe).
    std::array<uint32_t, max_topic_len + 2> start; // start[levels] = size + 1
    std::array<uint64_t, max_topic_len + 1> hash;
    uint32_t levels = 0;
    start[0] = 0;
    const auto size = static_cast<uint32_t>(topic.size());
    for (uint32_t i = 0; i <= size; ++i) {
        if (i == size || topic[i] == std::byte{'/'}) {
            hash[levels] = topic_hash(topic.subspan(start[levels], i - start[levels]));
            start[++levels] = i + 1;
        }
    }
    // Depth-first; each step pushes at most two children and pops one, so at
    // most one step per depth waits: levels + 1 entries.
    std::array<step, max_topic_len + 2> stack;
    size_t top = 0;
    stack[top++] = step{root, 0};
    while (top != 0) {
        const step s = stack[--top];
        const node& n = _nodes[s.node];
        if (n.hash != no_id) {
            f(n.hash); // '#' matches what is left, even nothing
        }
        if (s.depth == levels) {
            if (n.terminal != 0) {
                f(s.node);
            }
            continue;
        }
        if (n.plus != no_id) {
            stack[top++] = step{n.plus, s.depth + 1};
        }
        if (n.n_exact != 0) {
            const auto level = topic.subspan(start[s.depth], start[s.depth + 1] - 1 - start[s.depth]);
            const uint32_t c = exact_child(s.node, level, hash[s.depth]);
            if (c != no_id) {
                stack[top++] = step{c, s.depth + 1};
            }
        }
    }
}

} // namespace ringcast
