// How many messages a topic keeps for NACK and replay: retention.keep, or
// the keep of the longest retention.prefixes entry the topic starts with.
// Asked when a worker creates a topic record (a PUB or SUB to a new topic):
// one step per topic byte, whatever the number of prefixes, through a byte
// trie of the prefixes built at start-up. Read-only afterwards.
#pragma once

#include <ringcast/core/config.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ringcast {

class keep_policy {
public:
    keep_policy() = default; // keeps nothing
    keep_policy(uint32_t keep, std::span<const retention_prefix> prefixes);

    [[nodiscard]] uint32_t keep_for(std::span<const std::byte> topic) const noexcept;

private:
    struct edge {
        std::byte label;
        uint32_t child;
    };
    struct node {
        uint32_t first_edge = 0; // edges [first_edge, first_edge + n_edges), sorted by label
        uint32_t n_edges = 0;
        uint32_t keep = 0;
        bool ends_prefix = false;
    };

    uint32_t _keep = 0;
    std::vector<node> _nodes; // [0] is the root (the empty prefix); empty when there are no prefixes
    std::vector<edge> _edges;
};

} // namespace ringcast
