#include <ringcast/client/gap_tracker.hpp>

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <utility>

namespace ringcast {

namespace {

// NACKs per range per round, from its start: a gap longer than retention is
// mostly gone, and the GAP_LOST answering its first NACK says from where; a
// jump of millions of seqs must not become thousands of NACKs at once.
constexpr size_t nacks_per_range = 16;

} // namespace

gap_tracker::gap_tracker(const gap_tracker_options& opt) : _opt(opt) {
    if (opt.max_topics == 0 || opt.max_held == 0 || opt.nack_tries == 0 ||
        opt.nack_timeout <= std::chrono::milliseconds::zero()) {
        throw std::invalid_argument("gap_tracker_options: max_topics, max_held, nack_tries and "
                                    "nack_timeout must be above 0");
    }
}

bool gap_tracker::expect_from(std::string_view topic, uint64_t seq, gap_output& out) {
    // A topic has state once it has a baseline.
    if (_topics.contains(topic)) {
        return false;
    }
    topic_state& t = add(topic, out);
    // Topic seqs start at 1: a replay "from 0" means from the start.
    t.expected = t.next_unseen = std::max<uint64_t>(seq, 1);
    t.replay_pending = true;
    return true;
}

void gap_tracker::on_message(message m, clock::time_point now, gap_output& out) {
    const bool replayed = m.replayed();
    topic_state* tp;
    if (auto it = _topics.find(m.topic); it != _topics.end() && !replayed && m.seq == 1 && it->second.expected > 1) {
        // A live seq 1 after later ones: the topic started over at the
        // appliance (a restart, or the topic was forgotten while idle).
        // What was missing of the old stream will never come.
        forget(it->second, out);
    }
    if (const auto it = _topics.find(m.topic); it != _topics.end()) {
        tp = &it->second;
        touch(*tp);
    } else if (replayed) {
        // A retained last value: the history between it and the live stream
        // was not asked for, so it sets no baseline to NACK from.
        deliver(std::move(m), out);
        return;
    } else {
        tp = &add(m.topic, out);
        tp->expected = tp->next_unseen = m.seq;
    }
    topic_state& t = *tp;
    const uint64_t seq = m.seq;
    if (seq < t.expected || t.held.contains(seq)) {
        ++_counters.duplicates;
        return;
    }
    t.replay_pending = false;
    if (seq >= t.next_unseen) {
        if (seq > t.next_unseen) {
            add_gap(t, seq, now, out);
        }
        t.next_unseen = seq + 1;
    } else {
        // Below the highest seen, neither delivered nor held: missing, so
        // inside a gap (the last one starting at or below it).
        const auto g = std::prev(std::upper_bound(t.gaps.begin(), t.gaps.end(), seq,
                                                  [](uint64_t s, const gap& x) { return s < x.first; }));
        if (replayed) {
            ++_counters.repaired;
        }
        if (--g->missing == 0) {
            t.gaps.erase(g);
        }
    }
    if (seq == t.expected) {
        deliver(std::move(m), out);
        ++t.expected;
        release(t, out);
        return;
    }
    t.held.emplace(seq, std::move(m));
    ++_held;
    make_room(t, out);
}

void gap_tracker::on_gap_lost(std::string_view topic, uint64_t first_held, gap_output& out) {
    const auto it = _topics.find(topic);
    if (it == _topics.end()) {
        return;
    }
    topic_state& t = it->second;
    if (t.replay_pending) {
        // The replay asked for starts at first_held: nothing in between will come.
        if (first_held > t.expected) {
            _counters.lost += first_held - t.expected;
            t.expected = t.next_unseen = first_held;
        }
        return;
    }
    // Seqs from the highest seen up to first_held may still be on their way
    // (sent live, not retained): only what is known missing is given up.
    give_up_below(t, first_held, out);
}

void gap_tracker::poll(clock::time_point now, gap_output& out) {
    for (topic_state* t : _with_gaps) {
        // Older ranges fall due first, so giving up below the newest range
        // that is out of NACKs gives up only ranges out of NACKs.
        uint64_t spent_below = 0;
        for (const gap& g : t->gaps) {
            if (g.tries >= _opt.nack_tries && g.due <= now) {
                spent_below = g.end;
            }
        }
        if (spent_below != 0) {
            give_up_below(*t, spent_below, out);
        }
        for (gap& g : t->gaps) {
            if (g.due <= now) {
                send_nacks(*t, g, out);
                ++g.tries;
                g.backoff *= 2;
                g.due = now + g.backoff;
            }
        }
    }
    std::erase_if(_with_gaps, [](topic_state* t) {
        t->listed = !t->gaps.empty();
        return !t->listed;
    });
}

void gap_tracker::flush(gap_output& out) {
    for (topic_state* t : _with_gaps) {
        give_up_below(*t, t->next_unseen, out);
        t->listed = false;
    }
    _with_gaps.clear();
}

std::optional<gap_tracker::clock::time_point> gap_tracker::next_due() const {
    std::optional<clock::time_point> due;
    for (const topic_state* t : _with_gaps) {
        for (const gap& g : t->gaps) {
            due = due ? std::min(*due, g.due) : g.due;
        }
    }
    return due;
}

gap_tracker::topic_state& gap_tracker::add(std::string_view topic, gap_output& out) {
    if (_topics.size() >= _opt.max_topics) {
        forget(*_lru.front(), out);
    }
    const auto it = _topics.emplace(std::string(topic), topic_state{}).first;
    topic_state& t = it->second;
    t.name = &it->first;
    t.lru = _lru.insert(_lru.end(), &t);
    return t;
}

void gap_tracker::touch(topic_state& t) {
    _lru.splice(_lru.end(), _lru, t.lru);
}

void gap_tracker::forget(topic_state& t, gap_output& out) {
    give_up_below(t, t.next_unseen, out);
    if (t.listed) {
        std::erase(_with_gaps, &t);
    }
    _lru.erase(t.lru);
    _topics.erase(_topics.find(*t.name));
}

void gap_tracker::deliver(message&& m, gap_output& out) {
    ++_counters.delivered;
    out.released.push_back(std::move(m));
}

void gap_tracker::release(topic_state& t, gap_output& out) {
    while (!t.held.empty() && t.held.begin()->first == t.expected) {
        deliver(std::move(t.held.extract(t.held.begin()).mapped()), out);
        --_held;
        ++t.expected;
    }
}

void gap_tracker::add_gap(topic_state& t, uint64_t end, clock::time_point now, gap_output& out) {
    const auto timeout = std::chrono::duration_cast<clock::duration>(_opt.nack_timeout);
    const gap g{t.next_unseen, end, end - t.next_unseen, now, now + timeout, timeout, 1};
    send_nacks(t, g, out);
    t.gaps.push_back(g);
    if (!t.listed) {
        _with_gaps.push_back(&t);
        t.listed = true;
    }
}

void gap_tracker::send_nacks(const topic_state& t, const gap& g, gap_output& out) {
    // One NACK (or several of max_nack_count) per run of missing seqs: what
    // arrived inside the range is not asked for again.
    uint64_t from = std::max(g.first, t.expected);
    auto held = t.held.lower_bound(from);
    size_t sent = 0;
    while (from < g.end) {
        const uint64_t run_end = held != t.held.end() && held->first < g.end ? held->first : g.end;
        for (uint64_t s = from; s < run_end; s += max_nack_count) {
            if (sent == nacks_per_range) {
                return;
            }
            const auto count = static_cast<uint32_t>(std::min<uint64_t>(max_nack_count, run_end - s));
            out.nacks.push_back({*t.name, s, count});
            ++_counters.nacks_sent;
            ++sent;
        }
        from = run_end;
        while (held != t.held.end() && held->first == from) {
            ++held;
            ++from;
        }
    }
}

void gap_tracker::give_up_below(topic_state& t, uint64_t seq, gap_output& out) {
    // The first gap holds `expected`, so each pass gives up from there.
    while (!t.gaps.empty() && seq > t.expected) {
        gap& g = t.gaps.front();
        const uint64_t end = std::min(g.end, seq);
        // What arrived inside the range goes out in order; the rest is lost.
        uint64_t arrived = 0;
        while (!t.held.empty() && t.held.begin()->first < end) {
            deliver(std::move(t.held.extract(t.held.begin()).mapped()), out);
            --_held;
            ++arrived;
        }
        const uint64_t lost = end - t.expected - arrived;
        _counters.lost += lost;
        t.expected = end;
        if (end == g.end) {
            t.gaps.pop_front();
        } else {
            g.first = end;
            g.missing -= lost;
        }
        release(t, out);
    }
}

void gap_tracker::make_room(topic_state& t, gap_output& out) {
    while (_held > _opt.max_held) {
        // The oldest gap of any topic goes. Every held message waits behind a
        // gap, so one exists, and giving it up releases at least the message
        // that revealed it.
        topic_state* oldest = &t;
        for (topic_state* c : _with_gaps) {
            if (!c->gaps.empty() &&
                (oldest->gaps.empty() || c->gaps.front().found < oldest->gaps.front().found)) {
                oldest = c;
            }
        }
        give_up_below(*oldest, oldest->gaps.front().end, out);
    }
}

} // namespace ringcast
