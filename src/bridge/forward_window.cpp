#include <ringcast/bridge/forward_window.hpp>

#include <algorithm>
#include <stdexcept>

namespace ringcast {

forward_window::forward_window(size_t capacity, const resend_policy& policy)
    : _capacity(capacity), _policy(policy) {
    if (capacity == 0) {
        throw std::invalid_argument("forward_window: capacity must be at least 1");
    }
}

bool forward_window::add(uint64_t seq, uint64_t token, clock::time_point now) {
    if (full() || seq <= _highest) {
        return false;
    }
    const clock::duration wait = _policy.first_wait;
    _entries.push_back(entry{seq, token, now + wait, wait, 1, false});
    _highest = seq;
    return true;
}

forward_window::entry* forward_window::find(uint64_t seq) noexcept {
    const auto it = std::lower_bound(_entries.begin(), _entries.end(), seq,
                                     [](const entry& e, uint64_t s) { return e.seq < s; });
    return it != _entries.end() && it->seq == seq ? &*it : nullptr;
}

void forward_window::retire_front(std::vector<uint64_t>& retired) {
    while (!_entries.empty() && _entries.front().acked) {
        retired.push_back(_entries.front().token);
        _entries.pop_front();
    }
}

bool forward_window::ack(uint64_t seq, std::vector<uint64_t>& retired) {
    entry* e = find(seq);
    if (e == nullptr || e->acked) {
        return false;
    }
    e->acked = true;
    retire_front(retired);
    return true;
}

void forward_window::expire(clock::time_point now, std::vector<uint64_t>& resend, std::vector<uint64_t>& given_up,
                            std::vector<uint64_t>& retired) {
    bool dropped = false;
    for (entry& e : _entries) {
        if (e.acked || now < e.due) {
            continue;
        }
        if (_policy.attempts != 0 && e.sends >= _policy.attempts) {
            given_up.push_back(e.token);
            e.sends = 0; // marks it for removal below
            dropped = true;
            continue;
        }
        e.wait = std::min<clock::duration>(e.wait * 2, _policy.max_wait);
        e.due = now + e.wait;
        ++e.sends;
        resend.push_back(e.token);
    }
    if (dropped) {
        std::erase_if(_entries, [](const entry& e) { return !e.acked && e.sends == 0; });
        retire_front(retired);
    }
}

forward_window::seen forward_window::redelivered(uint64_t seq, uint64_t token, uint64_t& old_token) noexcept {
    if (seq > _highest) {
        return seen::fresh;
    }
    if (entry* e = find(seq)) {
        old_token = e->token;
        e->token = token;
        return seen::pending;
    }
    return seen::retired;
}

uint64_t forward_window::resume_seq() const noexcept {
    if (!_entries.empty()) {
        return _entries.front().seq;
    }
    return _highest == 0 ? 0 : _highest + 1;
}

std::vector<uint64_t> forward_window::tokens() const {
    std::vector<uint64_t> out;
    out.reserve(_entries.size());
    for (const entry& e : _entries) {
        out.push_back(e.token);
    }
    return out;
}

} // namespace ringcast
