// Wildcard filters ('+' one level, '#' the rest) indexed as a level trie, so
// matching a topic costs in proportion to its depth, not to the number of
// filters. Fixed capacity, sized at start-up; owned by one worker lcore.
// Node ids of terminal nodes (where a filter ends) are stable while the
// filter is held, so callers keep per-filter data in arrays indexed by them.
#pragma once

#include <ringcast/hash_index.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ringcast {

class filter_trie {
public:
    // Room for `max_nodes` nodes (one per distinct filter level prefix, plus
    // the root); levels of at most `max_level_len` bytes.
    filter_trie(uint32_t max_nodes, uint32_t max_level_len);

    // Takes one reference on the filter (valid per check_filter, no $share
    // prefix), inserting its levels as needed. Returns its terminal node, or
    // no_id when the nodes ran out (then nothing changed).
    [[nodiscard]] uint32_t acquire(std::span<const std::byte> filter) noexcept;
    // Drops one reference taken by acquire; frees the nodes no filter needs.
    void release(uint32_t node) noexcept;
    // The terminal node of a held filter, or no_id.
    [[nodiscard]] uint32_t find(std::span<const std::byte> filter) const noexcept;

    // Calls f(node) once for every held filter that matches `topic` (a valid
    // PUB topic). MQTT rules: '+' matches exactly one level, '#' matches any
    // number of levels including none ("a/#" matches "a").
    template <class F> void match(std::span<const std::byte> topic, F&& f) const noexcept;

    [[nodiscard]] uint32_t capacity() const noexcept { return static_cast<uint32_t>(_nodes.size()); }
    [[nodiscard]] uint32_t nodes_in_use() const noexcept;
    [[nodiscard]] bool empty() const noexcept { return _filters == 0; }

private:
    // Implementation detail, filled in by src/filter_trie.cpp.
    struct node;
    std::vector<node>* _unused = nullptr;
    std::vector<int> _nodes;
    uint32_t _filters = 0;
};

} // namespace ringcast
