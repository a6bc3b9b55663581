#include <ringcast/core/keep_policy.hpp>

#include <algorithm>
#include <map>
#include <memory>

namespace ringcast {

namespace {

// The trie while it is built: nodes by pointer, children ordered by byte.
struct build_node {
    std::map<std::byte, std::unique_ptr<build_node>> children;
    uint32_t keep = 0;
    bool ends_prefix = false;
};

} // namespace

keep_policy::keep_policy(uint32_t keep, std::span<const retention_prefix> prefixes) : _keep(keep) {
    if (prefixes.empty()) {
        return;
    }
    build_node root;
    for (const retention_prefix& p : prefixes) {
        build_node* n = &root;
        for (const char c : p.prefix) {
            auto& child = n->children[std::byte(c)];
            if (!child) {
                child = std::make_unique<build_node>();
            }
            n = child.get();
        }
        // A prefix given twice: the later one wins, as a later TOML key would.
        n->keep = p.keep;
        n->ends_prefix = true;
    }
    // Breadth first, so each node's edges are contiguous and in byte order.
    std::vector<const build_node*> order{&root};
    for (size_t i = 0; i < order.size(); ++i) {
        const build_node& b = *order[i];
        node n{.first_edge = static_cast<uint32_t>(_edges.size()),
               .n_edges = static_cast<uint32_t>(b.children.size()),
               .keep = b.keep,
               .ends_prefix = b.ends_prefix};
        for (const auto& [label, child] : b.children) {
            _edges.push_back(edge{label, static_cast<uint32_t>(order.size())});
            order.push_back(child.get());
        }
        _nodes.push_back(n);
    }
}

uint32_t keep_policy::keep_for(std::span<const std::byte> topic) const noexcept {
    if (_nodes.empty()) {
        return _keep;
    }
    uint32_t keep = _nodes[0].ends_prefix ? _nodes[0].keep : _keep;
    uint32_t at = 0;
    for (const std::byte c : topic) {
        const node& n = _nodes[at];
        const auto first = _edges.begin() + n.first_edge;
        const auto last = first + n.n_edges;
        const auto e =
            std::lower_bound(first, last, c, [](const edge& x, std::byte b) { return x.label < b; });
        if (e == last || e->label != c) {
            break;
        }
        at = e->child;
        if (_nodes[at].ends_prefix) {
            keep = _nodes[at].keep;
        }
    }
    return keep;
}

} // namespace ringcast
