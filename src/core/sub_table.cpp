#include <ringcast/core/sub_table.hpp>
#include <ringcast/core/topic.hpp>

#include <algorithm>
#include <cstring>

namespace ringcast {

namespace {

uint64_t group_hash(std::span<const std::byte> name, bool wildcard, uint32_t target) noexcept {
    uint64_t h = topic_hash(name) ^ ((uint64_t{target} << 1 | uint64_t{wildcard}) * 0x9e3779b97f4a7c15ULL);
    return h ^ (h >> 29);
}

// Trie nodes: a filter of several levels needs one per level; twice the
// filter count covers the usual shapes, which share their upper levels.
uint32_t trie_nodes(const sub_limits& lim) noexcept {
    return lim.filters * 2 + 16;
}

} // namespace

sub_table::sub_table(const sub_limits& lim)
    : _lim(lim), _name_stride(lim.topic_len), _topics(lim.topics), _names(size_t{lim.topics} * lim.topic_len),
      _subscribers(lim.subscribers), _subs(size_t{lim.subscriptions} + lim.filters), _groups(lim.groups),
      _group_names(size_t{lim.groups} * lim.topic_len), _trie(trie_nodes(lim), lim.topic_len),
      _node_first(_trie.capacity(), no_id), _node_groups(_trie.capacity(), no_id), _node_n(_trie.capacity(), 0),
      _topic_index(lim.topics), _subscriber_index(lim.subscribers), _group_index(lim.groups),
      _free_topics(lim.topics), _free_subscribers(lim.subscribers),
      _free_subs(lim.subscriptions + lim.filters), _free_groups(lim.groups) {}

uint32_t sub_table::find_topic(std::span<const std::byte> topic, uint64_t hash) const noexcept {
    return _topic_index.find(hash, [&](uint32_t id) {
        return _topics[id].len == topic.size() &&
               std::memcmp(_names.data() + size_t{id} * _name_stride, topic.data(), topic.size()) == 0;
    });
}

uint32_t sub_table::find_subscriber(const endpoint& ep) const noexcept {
    return _subscriber_index.find(endpoint_hash(ep), [&](uint32_t id) { return _subscribers[id].ep == ep; });
}

uint32_t sub_table::find_group(std::span<const std::byte> name, bool wildcard, uint32_t target,
                               uint64_t hash) const noexcept {
    return _group_index.find(hash, [&](uint32_t id) {
        const group_record& g = _groups[id];
        return g.target == target && g.wildcard == wildcard && g.name_len == name.size() &&
               std::memcmp(_group_names.data() + size_t{id} * _name_stride, name.data(), name.size()) == 0;
    });
}

uint32_t sub_table::new_topic(std::span<const std::byte> topic, uint64_t hash) noexcept {
    const uint32_t id = _free_topics.take();
    _topics[id] = topic_record{.hash = hash, .len = static_cast<uint16_t>(topic.size()), .live = true};
    std::memcpy(_names.data() + size_t{id} * _name_stride, topic.data(), topic.size());
    _topic_index.insert(hash, id);
    ++_n_topics;
    list_unused(id); // until a subscription or group refers to it
    return id;
}

void sub_table::list_unused(uint32_t id) noexcept {
    topic_record& t = _topics[id];
    t.idle_prev = _unused_tail;
    t.idle_next = no_id;
    (_unused_tail != no_id ? _topics[_unused_tail].idle_next : _unused_head) = id;
    _unused_tail = id;
    t.unused = true;
}

void sub_table::unlist_unused(uint32_t id) noexcept {
    topic_record& t = _topics[id];
    (t.idle_prev != no_id ? _topics[t.idle_prev].idle_next : _unused_head) = t.idle_next;
    (t.idle_next != no_id ? _topics[t.idle_next].idle_prev : _unused_tail) = t.idle_prev;
    t.idle_prev = t.idle_next = no_id;
    t.unused = false;
}

void sub_table::relist(uint32_t id) noexcept {
    const bool unused = !topic_in_use(id);
    if (unused && !_topics[id].unused) {
        list_unused(id);
    } else if (!unused && _topics[id].unused) {
        unlist_unused(id);
    }
}

uint32_t sub_table::ensure_topic(std::span<const std::byte> topic, uint64_t hash, uint32_t keep) noexcept {
    if (const uint32_t id = find_topic(topic, hash); id != no_id) {
        return id;
    }
    if (_free_topics.available() == 0) {
        return no_id;
    }
    const uint32_t id = new_topic(topic, hash);
    _topics[id].keep = keep;
    return id;
}

void sub_table::forget_topic(uint32_t id) noexcept {
    if (_topics[id].unused) {
        unlist_unused(id);
    }
    topic_record& t = _topics[id];
    _topic_index.erase(t.hash, [&](uint32_t tid) { return tid == id; });
    t = topic_record{};
    _free_topics.give(id);
    --_n_topics;
}

uint32_t& sub_table::list_head(kind k, uint32_t target) noexcept {
    switch (k) {
    case kind::exact:
        return _topics[target].first;
    case kind::wildcard:
        return _node_first[target];
    case kind::member:
        break;
    }
    return _groups[target].first;
}

uint32_t sub_table::list_length(kind k, uint32_t target) const noexcept {
    switch (k) {
    case kind::exact:
        return _topics[target].n_subs;
    case kind::wildcard:
        return _node_n[target];
    case kind::member:
        break;
    }
    return _groups[target].n_members;
}

uint32_t sub_table::find_subscription(kind k, uint32_t target, uint32_t subscriber_id) const noexcept {
    // Walk the shorter of the two lists.
    if (_subscribers[subscriber_id].n_subs < list_length(k, target)) {
        for (uint32_t s = _subscribers[subscriber_id].first; s != no_id; s = _subs[s].s_next) {
            if (_subs[s].k == k && _subs[s].target == target) {
                return s;
            }
        }
        return no_id;
    }
    for (uint32_t s = const_cast<sub_table*>(this)->list_head(k, target); s != no_id; s = _subs[s].t_next) {
        if (_subs[s].subscriber == subscriber_id) {
            return s;
        }
    }
    return no_id;
}

sub_outcome sub_table::subscribe(const filter_spec& f, const endpoint& ep, const mac_addr& mac, uint64_t now,
                                 uint32_t keep) noexcept {
    sub_outcome out;
    out.shared = f.shared();
    out.wildcard = f.wildcard;

    // Find what exists; nothing is created until every limit is checked.
    uint32_t target = out.wildcard ? _trie.find(f.filter) : find_topic(f.filter, f.hash);
    uint32_t group = no_id;
    uint64_t ghash = 0;
    if (out.shared && target != no_id) {
        ghash = group_hash(f.group, out.wildcard, target);
        group = find_group(f.group, out.wildcard, target, ghash);
    }
    uint32_t sid = find_subscriber(ep);
    const kind k = out.shared ? kind::member : out.wildcard ? kind::wildcard : kind::exact;
    const uint32_t list = out.shared ? group : target;
    if (list != no_id && sid != no_id && find_subscription(k, list, sid) != no_id) {
        _subscribers[sid].mac = mac;
        out.result = sub_result::exists;
        out.subscriber = sid;
        out.topic = out.wildcard || out.shared ? no_id : target;
        return out;
    }

    if (_free_subs.available() == 0 ||
        (k == kind::exact ? _n_exact >= _lim.subscriptions : _n_filters >= _lim.filters)) {
        out.result = k == kind::exact ? sub_result::subscription_limit : sub_result::filter_limit;
        return out;
    }
    if (sid == no_id && _free_subscribers.available() == 0) {
        out.result = sub_result::subscriber_limit;
        return out;
    }
    if (!out.wildcard && target == no_id && _free_topics.available() == 0) {
        out.result = sub_result::topic_limit;
        return out;
    }
    if (out.shared && group == no_id && _free_groups.available() == 0) {
        out.result = sub_result::group_limit;
        return out;
    }
    // A trie reference for each plain wildcard subscription and each group on
    // a wildcard filter; taking it is the last step that can fail.
    const bool needs_node = out.wildcard && (!out.shared || group == no_id);
    if (needs_node) {
        target = _trie.acquire(f.filter);
        if (target == no_id) {
            out.result = sub_result::filter_limit;
            return out;
        }
    }

    if (!out.wildcard) {
        if (target == no_id) {
            target = new_topic(f.filter, f.hash);
            _topics[target].keep = keep;
        }
        _topics[target].last_active = now;
    }
    if (out.shared && group == no_id) {
        ghash = group_hash(f.group, out.wildcard, target);
        group = _free_groups.take();
        uint32_t& head = out.wildcard ? _node_groups[target] : _topics[target].groups;
        _groups[group] = group_record{.hash = ghash,
                                      .target = target,
                                      .next = head,
                                      .name_len = static_cast<uint16_t>(f.group.size()),
                                      .wildcard = out.wildcard};
        if (head != no_id) {
            _groups[head].prev = group;
        }
        head = group;
        std::memcpy(_group_names.data() + size_t{group} * _name_stride, f.group.data(), f.group.size());
        _group_index.insert(ghash, group);
        ++_n_groups;
        if (!out.wildcard) {
            relist(target);
        }
    }
    if (sid == no_id) {
        sid = _free_subscribers.take();
        _subscribers[sid] = subscriber_record{};
        _subscribers[sid].ep = ep;
        _subscriber_index.insert(endpoint_hash(ep), sid);
        ++_n_subscribers;
    }
    _subscribers[sid].mac = mac;
    link(k, out.shared ? group : target, sid);
    out.result = sub_result::added;
    out.subscriber = sid;
    out.topic = k == kind::exact ? target : no_id;
    return out;
}

void sub_table::link(kind k, uint32_t target, uint32_t sid) noexcept {
    const uint32_t id = _free_subs.take();
    uint32_t& head = list_head(k, target);
    subscription& s = _subs[id];
    s = subscription{
        .target = target, .subscriber = sid, .t_next = head, .s_next = _subscribers[sid].first, .k = k};
    if (s.t_next != no_id) {
        _subs[s.t_next].t_prev = id;
    }
    if (s.s_next != no_id) {
        _subs[s.s_next].s_prev = id;
    }
    head = id;
    _subscribers[sid].first = id;
    ++_subscribers[sid].n_subs;
    switch (k) {
    case kind::exact:
        ++_topics[target].n_subs;
        ++_n_exact;
        relist(target);
        break;
    case kind::wildcard:
        ++_node_n[target];
        ++_n_filters;
        break;
    case kind::member: {
        group_record& g = _groups[target];
        if (g.cursor == no_id) {
            g.cursor = id;
        }
        ++g.n_members;
        ++_n_filters;
        break;
    }
    }
}

void sub_table::unlink(uint32_t id) noexcept {
    subscription& s = _subs[id];
    subscriber_record& r = _subscribers[s.subscriber];
    if (s.k == kind::member && _groups[s.target].cursor == id) {
        // The next member in line keeps its turn.
        _groups[s.target].cursor = s.t_next != no_id ? s.t_next : _groups[s.target].first;
    }
    (s.t_prev != no_id ? _subs[s.t_prev].t_next : list_head(s.k, s.target)) = s.t_next;
    if (s.t_next != no_id) {
        _subs[s.t_next].t_prev = s.t_prev;
    }
    (s.s_prev != no_id ? _subs[s.s_prev].s_next : r.first) = s.s_next;
    if (s.s_next != no_id) {
        _subs[s.s_next].s_prev = s.s_prev;
    }
    _free_subs.give(id);
    switch (s.k) {
    case kind::exact:
        --_topics[s.target].n_subs;
        --_n_exact;
        relist(s.target);
        break;
    case kind::wildcard:
        --_node_n[s.target];
        --_n_filters;
        _trie.release(s.target);
        break;
    case kind::member:
        --_n_filters;
        if (--_groups[s.target].n_members == 0) {
            drop_group(s.target);
        }
        break;
    }
    if (--r.n_subs == 0) {
        _subscriber_index.erase(endpoint_hash(r.ep), [&](uint32_t sid) { return sid == s.subscriber; });
        _free_subscribers.give(s.subscriber);
        --_n_subscribers;
    }
}

void sub_table::drop_group(uint32_t id) noexcept {
    group_record& g = _groups[id];
    uint32_t& head = g.wildcard ? _node_groups[g.target] : _topics[g.target].groups;
    (g.prev != no_id ? _groups[g.prev].next : head) = g.next;
    if (g.next != no_id) {
        _groups[g.next].prev = g.prev;
    }
    if (g.wildcard) {
        _trie.release(g.target);
    }
    _group_index.erase(g.hash, [&](uint32_t gid) { return gid == id; });
    const bool on_topic = !g.wildcard;
    const uint32_t topic = g.target;
    g = group_record{};
    _free_groups.give(id);
    --_n_groups;
    if (on_topic) {
        relist(topic);
    }
}

uint32_t sub_table::find_held(const filter_spec& f, uint32_t sid) const noexcept {
    uint32_t target = f.wildcard ? _trie.find(f.filter) : find_topic(f.filter, f.hash);
    if (sid == no_id || target == no_id) {
        return no_id;
    }
    kind k = f.wildcard ? kind::wildcard : kind::exact;
    if (f.shared()) {
        target = find_group(f.group, f.wildcard, target, group_hash(f.group, f.wildcard, target));
        if (target == no_id) {
            return no_id;
        }
        k = kind::member;
    }
    return find_subscription(k, target, sid);
}

bool sub_table::holds(const filter_spec& f, const endpoint& ep) const noexcept {
    return find_held(f, find_subscriber(ep)) != no_id;
}

sub_result sub_table::unsubscribe(const filter_spec& f, const endpoint& ep, uint64_t now) noexcept {
    const uint32_t id = find_held(f, find_subscriber(ep));
    if (id == no_id) {
        return sub_result::not_found;
    }
    if (!f.wildcard) {
        const uint32_t tid = find_topic(f.filter, f.hash);
        _topics[tid].last_active = now;
    }
    unlink(id);
    return sub_result::removed;
}

size_t sub_table::filter_text(uint32_t sub_id, std::span<std::byte, 255> out) const noexcept {
    const subscription& s = _subs[sub_id];
    uint32_t target = s.target;
    bool wildcard = s.k == kind::wildcard;
    if (s.k == kind::member) {
        target = _groups[target].target;
        wildcard = _groups[s.target].wildcard;
    }
    if (wildcard) {
        return _trie.text(target, out);
    }
    const std::string_view name = topic_name(target);
    std::memcpy(out.data(), name.data(), name.size());
    return name.size();
}

uint32_t sub_table::remove_subscriber(const endpoint& ep) noexcept {
    const uint32_t sid = find_subscriber(ep);
    if (sid == no_id) {
        return 0;
    }
    const uint32_t n = _subscribers[sid].n_subs;
    // The last unlink frees the subscriber record itself.
    for (uint32_t left = n; left > 0; --left) {
        unlink(_subscribers[sid].first);
    }
    return n;
}

} // namespace ringcast
