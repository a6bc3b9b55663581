#include <ringcast/core/tcp_conn.hpp>

#include <algorithm>

namespace ringcast {

namespace {

// Duplicate ACKs that trigger fast retransmit (RFC 5681 §3.2).
constexpr uint8_t dupack_threshold = 3;
// Data segments received before an ACK goes out without waiting (RFC 5681 §4.2).
constexpr uint8_t ack_every = 2;
constexpr uint32_t max_window_field = 0xffff;

uint64_t ticks(uint32_t ms, uint64_t hz) noexcept {
    // At least one tick, so that no timer is due the moment it is armed.
    return std::max<uint64_t>(1, uint64_t{ms} * hz / 1000);
}

tcp_timer_request& request(tcp_actions& out, tcp_timer k) noexcept {
    return out.timers[static_cast<size_t>(k)];
}

} // namespace

std::string_view to_string(tcp_state s) noexcept {
    switch (s) {
    case tcp_state::closed:
        return "closed";
    case tcp_state::established:
        return "established";
    case tcp_state::fin_wait_1:
        return "fin_wait_1";
    case tcp_state::fin_wait_2:
        return "fin_wait_2";
    case tcp_state::close_wait:
        return "close_wait";
    case tcp_state::closing:
        return "closing";
    case tcp_state::last_ack:
        return "last_ack";
    case tcp_state::time_wait:
        return "time_wait";
    }
    return "?";
}

tcp_params make_tcp_params(const tcp_config& cfg) noexcept {
    tcp_params p;
    p.cfg = cfg;
    while (p.wscale < tcp_max_wscale && (uint64_t{max_window_field} << p.wscale) < cfg.rcv_buf) {
        ++p.wscale;
    }
    p.rto_initial = ticks(cfg.rto_initial_ms, cfg.hz);
    p.rto_min = ticks(cfg.rto_min_ms, cfg.hz);
    p.rto_max = ticks(cfg.rto_max_ms, cfg.hz);
    p.delayed_ack = ticks(cfg.delayed_ack_ms, cfg.hz);
    p.time_wait = ticks(cfg.time_wait_ms, cfg.hz);
    p.fin_wait_2 = ticks(cfg.fin_wait_2_ms, cfg.hz);
    return p;
}

tcp_header syn_ack_for(const tcp_params& p, const tcp_segment_view& syn, const tcp_tuple& t,
                       const syn_cookie_secret& key, uint32_t counter) noexcept {
    const tcp_header& s = syn.hdr;
    tcp_header h;
    h.src_port = t.local_port;
    h.dst_port = t.peer_port;
    h.seq = make_syn_cookie(key, t, s.seq, s.mss, s.has_wscale, s.wscale, counter);
    h.ack = s.seq + 1;
    h.flags = tcp_flags::syn | tcp_flags::ack;
    // A SYN's window is never scaled (RFC 7323 §2.2).
    h.window = static_cast<uint16_t>(std::min(p.cfg.rcv_buf, max_window_field));
    h.mss = p.cfg.mss;
    h.has_wscale = s.has_wscale;
    h.wscale = s.has_wscale ? p.wscale : 0;
    return h;
}

std::optional<cookie_fields> accept_cookie(const tcp_segment_view& seg, const tcp_tuple& t,
                                           const syn_cookie_secret& key, uint32_t counter,
                                           uint32_t max_age) noexcept {
    const tcp_header& h = seg.hdr;
    if (!h.has(tcp_flags::ack) || h.has(tcp_flags::syn) || h.has(tcp_flags::rst)) {
        return std::nullopt;
    }
    return check_syn_cookie(key, t, h.ack, h.seq, counter, max_age);
}

std::optional<tcp_header> reset_for(const tcp_segment_view& seg) noexcept {
    const tcp_header& s = seg.hdr;
    if (s.has(tcp_flags::rst)) {
        return std::nullopt;
    }
    tcp_header h;
    h.src_port = s.dst_port;
    h.dst_port = s.src_port;
    if (s.has(tcp_flags::ack)) {
        h.seq = s.ack;
        h.flags = tcp_flags::rst;
    } else {
        h.seq = 0;
        h.ack = s.seq + seg.seq_len();
        h.flags = tcp_flags::rst | tcp_flags::ack;
    }
    return h;
}

void tcp_conn::open(const tcp_params& p, const tcp_tuple& t, const tcp_segment_view& ack,
                    const cookie_fields& syn, uint64_t now, tcp_actions& out) noexcept {
    *this = tcp_conn{};
    _p = &p;
    _tuple = t;
    _state = tcp_state::established;
    const uint32_t iss = ack.hdr.ack - 1; // the cookie
    const uint32_t irs = ack.hdr.seq - 1;
    // accept_cookie saw this ACK take the SYN-ACK: data starts at iss + 1.
    _snd_una = iss + 1;
    _snd_nxt = iss + 1;
    _snd_max = iss + 1;
    _snd_end = iss + 1;
    _snd_wl1 = irs; // older than the ACK's seq, so the ACK sets the window
    _snd_wl2 = iss + 1;
    _mss = std::min(syn.mss, p.cfg.mss);
    // Scaling both ways or neither (RFC 7323 §2.2).
    _snd_wscale = syn.has_wscale ? syn.wscale : 0;
    _rcv_wscale = syn.has_wscale ? p.wscale : 0;
    _cwnd = p.cfg.initial_cwnd * uint32_t{_mss};
    _ssthresh = UINT32_MAX;
    _rcv_nxt = irs + 1;
    _rcv_space = p.cfg.rcv_buf;
    _rcv_adv = _rcv_nxt + std::min(p.cfg.rcv_buf, max_window_field);
    _rto = p.rto_initial;
    _persist = p.rto_initial;
    out.established = true;
    on_segment(ack, now, out);
}

uint32_t tcp_conn::queued() const noexcept {
    return seq_lt(_snd_una, _snd_end) ? _snd_end - _snd_una : 0;
}

uint32_t tcp_conn::send(uint32_t bytes) noexcept {
    if (_fin_queued || (_state != tcp_state::established && _state != tcp_state::close_wait)) {
        return 0;
    }
    const uint32_t cap = _p->cfg.snd_queue;
    const uint32_t fit = std::min(bytes, cap - std::min(cap, queued()));
    _snd_end += fit;
    return fit;
}

uint16_t tcp_conn::window_field() const noexcept {
    return static_cast<uint16_t>(std::min(_rcv_space >> _rcv_wscale, max_window_field));
}

bool tcp_conn::push(uint32_t seq, uint8_t flags, uint32_t data_len, tcp_actions& out) noexcept {
    if (out.n_segments == tcp_actions::max_segments) {
        return false;
    }
    tcp_out_segment& s = out.segments[out.n_segments++];
    s = tcp_out_segment{};
    s.hdr.src_port = _tuple.local_port;
    s.hdr.dst_port = _tuple.peer_port;
    s.hdr.seq = seq;
    s.hdr.ack = _rcv_nxt;
    s.hdr.flags = flags | tcp_flags::ack;
    s.hdr.window = window_field();
    s.data_off = _una_off + (seq - _snd_una);
    s.data_len = data_len;
    // Every segment carries the cumulative ACK: nothing is owed any more.
    _ack_now = false;
    _segs_unacked = 0;
    _rcv_adv = _rcv_nxt + (uint32_t{s.hdr.window} << _rcv_wscale);
    if (armed(tcp_timer::delayed_ack)) {
        cancel(tcp_timer::delayed_ack, out);
    }
    return true;
}

void tcp_conn::flush_ack(tcp_actions& out) noexcept {
    if (_ack_now) {
        push(_snd_nxt, 0, 0, out);
    }
}

void tcp_conn::arm(tcp_timer k, uint64_t at, tcp_actions& out) noexcept {
    _timer_at[static_cast<size_t>(k)] = at;
    request(out, k) = {tcp_timer_request::op::arm, at};
}

void tcp_conn::cancel(tcp_timer k, tcp_actions& out) noexcept {
    if (armed(k)) {
        _timer_at[static_cast<size_t>(k)] = unarmed;
        request(out, k) = {tcp_timer_request::op::cancel, 0};
    }
}

void tcp_conn::finish(tcp_close_reason why, tcp_actions& out) noexcept {
    for (size_t k = 0; k < tcp_timer_kinds; ++k) {
        cancel(static_cast<tcp_timer>(k), out);
    }
    _state = tcp_state::closed;
    out.closed = true;
    out.reason = why;
}

void tcp_conn::send_reset(tcp_actions& out) noexcept {
    // RST|ACK: the ACK field, our rcv_nxt, lets the peer match it to the connection.
    push(_snd_nxt, tcp_flags::rst, 0, out);
}

void tcp_conn::abort(uint64_t, tcp_actions& out) noexcept {
    if (_state == tcp_state::closed) {
        return;
    }
    if (_state != tcp_state::time_wait) {
        send_reset(out);
    }
    finish(tcp_close_reason::aborted, out);
}

void tcp_conn::close(uint64_t now, tcp_actions& out) noexcept {
    if (_state == tcp_state::established) {
        _state = tcp_state::fin_wait_1;
    } else if (_state == tcp_state::close_wait) {
        _state = tcp_state::last_ack;
    } else {
        return;
    }
    _fin_queued = true;
    emit(now, out);
    flush_ack(out);
}

void tcp_conn::enter_time_wait(uint64_t now, tcp_actions& out) noexcept {
    _state = tcp_state::time_wait;
    cancel(tcp_timer::rto, out);
    cancel(tcp_timer::zero_window_probe, out);
    arm(tcp_timer::time_wait, now + _p->time_wait, out);
}

void tcp_conn::rtt_sample(uint64_t r) noexcept {
    // RFC 6298 §2, with alpha 1/8 and beta 1/4; clock granularity one tick.
    if (_srtt == 0) {
        _srtt = std::max<uint64_t>(r, 1);
        _rttvar = r / 2;
    } else {
        const uint64_t err = _srtt > r ? _srtt - r : r - _srtt;
        _rttvar = (3 * _rttvar + err) / 4;
        _srtt = std::max<uint64_t>((7 * _srtt + r) / 8, 1);
    }
    _rto = std::clamp(_srtt + std::max<uint64_t>(1, 4 * _rttvar), _p->rto_min, _p->rto_max);
}

bool tcp_conn::emit(uint64_t now, tcp_actions& out) noexcept {
    const bool sending = _state == tcp_state::established || _state == tcp_state::close_wait ||
                         _state == tcp_state::fin_wait_1 || _state == tcp_state::closing ||
                         _state == tcp_state::last_ack;
    if (!sending) {
        return false;
    }
    const uint32_t wnd = std::min(_snd_wnd, _cwnd);
    while (true) {
        const uint32_t unsent = seq_lt(_snd_nxt, _snd_end) ? _snd_end - _snd_nxt : 0;
        const bool fin_due = _fin_queued && _snd_nxt == _snd_end;
        if (unsent == 0 && !fin_due) {
            break;
        }
        uint32_t len = 0;
        if (unsent != 0) {
            const uint32_t room = wnd > flight() ? wnd - flight() : 0;
            len = std::min({unsent, uint32_t{_mss}, room});
            if (len == 0) {
                break; // window-limited
            }
        }
        // The FIN rides on the last data segment, and needs no window.
        const bool fin = _fin_queued && _snd_nxt + len == _snd_end;
        uint8_t flags = 0;
        if (len != 0 && len == unsent) {
            flags |= tcp_flags::psh;
        }
        if (fin) {
            flags |= tcp_flags::fin;
        }
        if (!push(_snd_nxt, flags, len, out)) {
            out.more = true;
            return true;
        }
        const uint32_t end = _snd_nxt + len + (fin ? 1u : 0u);
        const bool fresh = seq_geq(_snd_nxt, _snd_max);
        if (!fresh) {
            ++_stats.retransmits; // go-back-N after an RTO sends these again
        }
        if (_rtt_at == unarmed && fresh) {
            _rtt_seq = end;
            _rtt_at = now;
        }
        _snd_nxt = end;
        if (seq_gt(end, _snd_max)) {
            _snd_max = end;
        }
        if (!armed(tcp_timer::rto)) {
            arm(tcp_timer::rto, now + _rto, out);
        }
    }
    // Data waits behind a zero window with nothing in flight to draw an ACK:
    // the persist timer (RFC 9293 §3.8.6.1).
    const bool stalled = seq_lt(_snd_nxt, _snd_end) && _snd_wnd == 0 && _snd_una == _snd_max;
    if (stalled && !armed(tcp_timer::zero_window_probe) && !armed(tcp_timer::rto)) {
        arm(tcp_timer::zero_window_probe, now + _persist, out);
    }
    return false;
}

bool tcp_conn::poll_send(uint64_t now, tcp_actions& out) noexcept {
    const bool more = emit(now, out);
    flush_ack(out);
    return more;
}

void tcp_conn::retransmit_head(uint64_t now, tcp_actions& out) noexcept {
    // One segment from snd_una: data up to the MSS, with the FIN when it
    // follows that data and was sent before.
    const uint32_t data = seq_lt(_snd_una, _snd_end) ? _snd_end - _snd_una : 0;
    const uint32_t len = std::min(data, uint32_t{_mss});
    const bool fin = fin_sent() && len == data;
    if (len == 0 && !fin) {
        return;
    }
    if (!push(_snd_una, fin ? tcp_flags::fin : (len == data ? tcp_flags::psh : 0), len, out)) {
        return;
    }
    ++_stats.retransmits;
    _rtt_at = unarmed; // Karn: no sample from a retransmitted segment
    const uint32_t end = _snd_una + len + (fin ? 1u : 0u);
    if (seq_lt(_snd_nxt, end)) {
        _snd_nxt = end;
    }
    arm(tcp_timer::rto, now + _rto, out);
}

void tcp_conn::new_ack(uint32_t ack, uint64_t now, tcp_actions& out) noexcept {
    const uint32_t advance = ack - _snd_una;
    const uint32_t data = std::min(advance, queued());
    const bool fin_acked = fin_sent() && ack == _snd_end + 1;
    out.acked += data;
    _una_off += data;
    _snd_una = ack;
    if (seq_lt(_snd_nxt, _snd_una)) {
        _snd_nxt = _snd_una; // a probe byte or a go-back-N resend overtaken
    }
    _probing = false;
    if (_rtt_at != unarmed && seq_geq(ack, _rtt_seq)) {
        rtt_sample(now - _rtt_at);
        _rtt_at = unarmed;
    }
    // New data acknowledged: the backoff and the retry count start again (RFC 6298 §5.7).
    _retries = 0;
    _rto = _srtt != 0 ? std::clamp(_srtt + std::max<uint64_t>(1, 4 * _rttvar), _p->rto_min, _p->rto_max)
                      : _p->rto_initial;
    _persist = _rto;
    if (_in_recovery) {
        if (seq_geq(ack, _recover)) {
            _in_recovery = false;
            _cwnd = _ssthresh; // full ACK: deflate (RFC 6582 §3.2 step 3)
        } else {
            // Partial ACK: the next hole is at snd_una; resend it and stay in recovery.
            retransmit_head(now, out);
            _cwnd = _cwnd > data ? _cwnd - data + _mss : _mss;
        }
    } else if (_cwnd < _ssthresh) {
        _cwnd += std::min(data, uint32_t{_mss}); // slow start
    } else {
        _cwnd += std::max<uint32_t>(1, uint32_t{_mss} * _mss / _cwnd); // congestion avoidance
    }
    _dupacks = 0;
    if (_snd_una == _snd_max) {
        cancel(tcp_timer::rto, out);
    } else {
        arm(tcp_timer::rto, now + _rto, out); // RFC 6298 §5.3
    }
    if (fin_acked) {
        if (_state == tcp_state::fin_wait_1) {
            _state = tcp_state::fin_wait_2;
            arm(tcp_timer::time_wait, now + _p->fin_wait_2, out);
        } else if (_state == tcp_state::closing) {
            enter_time_wait(now, out);
        } else if (_state == tcp_state::last_ack) {
            finish(tcp_close_reason::normal, out);
        }
    }
}

bool tcp_conn::process_ack(const tcp_segment_view& seg, uint64_t now, tcp_actions& out) noexcept {
    const tcp_header& h = seg.hdr;
    if (seq_gt(h.ack, _snd_max)) {
        // Acknowledges what we never sent: ACK and drop it, data too, for it
        // may be blind injection (RFC 9293 §3.10.7.4, RFC 5961 §5.2).
        _ack_now = true;
        return false;
    }
    const uint32_t wnd = uint32_t{h.window} << _snd_wscale;
    const bool outstanding = _snd_una != _snd_max && !_probing;
    if (seq_gt(h.ack, _snd_una)) {
        new_ack(h.ack, now, out);
        if (_state == tcp_state::closed) {
            return true;
        }
    } else if (h.ack == _snd_una && seg.payload.empty() && !h.has(tcp_flags::fin) && wnd == _snd_wnd &&
               outstanding) {
        // A duplicate ACK (RFC 5681 §2): something after snd_una arrived, not it.
        _dupacks = static_cast<uint8_t>(std::min(_dupacks + 1, 255));
        if (_dupacks == dupack_threshold && !_in_recovery) {
            _ssthresh = std::max(flight() / 2, 2u * _mss);
            _recover = _snd_max;
            _in_recovery = true;
            ++_stats.fast_retransmits;
            retransmit_head(now, out);
            _cwnd = _ssthresh + dupack_threshold * uint32_t{_mss};
        } else if (_dupacks > dupack_threshold && _in_recovery) {
            _cwnd += _mss; // each further duplicate: one segment left the network
        }
    }
    // The window from the newest segment only (RFC 9293 §3.10.7.4, SND.WL1/WL2).
    if (seq_lt(_snd_wl1, h.seq) || (_snd_wl1 == h.seq && seq_leq(_snd_wl2, h.ack))) {
        const bool opened = _snd_wnd == 0 && wnd != 0;
        _snd_wnd = wnd;
        _snd_wl1 = h.seq;
        _snd_wl2 = h.ack;
        if (opened) {
            cancel(tcp_timer::zero_window_probe, out);
            if (_probing) {
                // The probe byte was not taken; it goes again as ordinary data.
                _probing = false;
                _snd_max = _snd_nxt;
            }
            _persist = _rto;
        }
    }
    if (wnd == 0 && _probing) {
        _retries = 0; // the peer answers its probes: alive, only not reading
    }
    return true;
}

void tcp_conn::process_data(const tcp_segment_view& seg, uint64_t now, tcp_actions& out) noexcept {
    const tcp_header& h = seg.hdr;
    const auto plen = static_cast<uint32_t>(seg.payload.size());
    // What rcv_nxt already covers (a retransmission overlapping new data) is skipped.
    const uint32_t skip = seq_lt(h.seq, _rcv_nxt) ? _rcv_nxt - h.seq : 0;
    if (seq_gt(h.seq, _rcv_nxt)) {
        // A hole before it: dropped, and the duplicate ACK tells the peer where.
        ++_stats.out_of_order;
        _ack_now = true;
        out.beyond_hole = plen != 0;
        return;
    }
    const uint32_t fresh = plen > skip ? plen - skip : 0;
    const uint32_t take = std::min(fresh, _rcv_space);
    if (take != 0) {
        out.deliver_off = skip;
        out.deliver_len = take;
        _rcv_nxt += take;
        _rcv_space -= take;
        if (take < fresh || ++_segs_unacked >= ack_every) {
            _ack_now = true;
        } else if (!armed(tcp_timer::delayed_ack)) {
            arm(tcp_timer::delayed_ack, now + _p->delayed_ack, out);
        }
    }
    // The FIN counts only in order, after every byte before it was taken.
    if (h.has(tcp_flags::fin) && h.seq + plen == _rcv_nxt) {
        _rcv_nxt += 1;
        _ack_now = true;
        out.peer_fin = true;
        if (_state == tcp_state::established) {
            _state = tcp_state::close_wait;
        } else if (_state == tcp_state::fin_wait_1) {
            // Our FIN not yet acknowledged (else process_ack made it FIN_WAIT_2).
            _state = tcp_state::closing;
        } else if (_state == tcp_state::fin_wait_2) {
            enter_time_wait(now, out);
        }
    }
}

void tcp_conn::on_time_wait_segment(const tcp_segment_view& seg, uint64_t now, tcp_actions& out) noexcept {
    const tcp_header& h = seg.hdr;
    if (h.has(tcp_flags::syn) && !h.has(tcp_flags::ack) && !h.has(tcp_flags::rst)) {
        if (seq_gt(h.seq, _rcv_nxt)) {
            // A new incarnation whose ISN is past everything of the old one
            // (RFC 6191 §2 without timestamps): the listener answers it.
            finish(tcp_close_reason::reused, out);
        } else {
            push(_snd_nxt, 0, 0, out); // an old duplicate: the last ACK again
        }
        return;
    }
    if (h.has(tcp_flags::rst)) {
        if (h.seq == _rcv_nxt) {
            finish(tcp_close_reason::reset_by_peer, out);
        }
        return;
    }
    if (h.has(tcp_flags::fin)) {
        // Our last ACK was lost and the FIN came again: ACK it, wait 2 MSL anew.
        push(_snd_nxt, 0, 0, out);
        arm(tcp_timer::time_wait, now + _p->time_wait, out);
    }
}

void tcp_conn::on_segment(const tcp_segment_view& seg, uint64_t now, tcp_actions& out) noexcept {
    if (_state == tcp_state::closed) {
        return;
    }
    if (_state == tcp_state::time_wait) {
        on_time_wait_segment(seg, now, out);
        return;
    }
    const tcp_header& h = seg.hdr;
    const uint32_t len = seg.seq_len();
    // Acceptable when some of it falls in [rcv_nxt, rcv_nxt + window) (RFC 9293 §3.10.7.4).
    const uint32_t wnd = _rcv_space;
    const bool acceptable = len == 0
                                ? (wnd == 0 ? h.seq == _rcv_nxt : h.seq - _rcv_nxt < wnd)
                                : (wnd != 0 && (h.seq - _rcv_nxt < wnd || h.seq + len - 1 - _rcv_nxt < wnd));
    // A bare FIN at rcv_nxt needs no room, and Linux sends one into a zero window.
    const bool bare_fin = wnd == 0 && h.seq == _rcv_nxt && seg.payload.empty() && h.has(tcp_flags::fin) &&
                          !h.has(tcp_flags::syn);
    // With the window closed, the peer's ACKs still count (its data cannot).
    const bool ack_only = !acceptable && wnd == 0 && h.seq == _rcv_nxt && !h.has(tcp_flags::rst) &&
                          !h.has(tcp_flags::syn);
    if (!acceptable && !bare_fin) {
        // A segment wholly before rcv_nxt (old duplicate) or past the window.
        if (h.has(tcp_flags::rst)) {
            return;
        }
        _ack_now = true;
        if (ack_only && h.has(tcp_flags::ack)) {
            process_ack(seg, now, out); // the segment is dropped either way
        }
        if (_state != tcp_state::closed) {
            emit(now, out);
            flush_ack(out);
        }
        return;
    }
    if (h.has(tcp_flags::rst)) {
        // RFC 5961 §3.2: exactly rcv_nxt resets; elsewhere in the window may be blind.
        if (h.seq == _rcv_nxt) {
            finish(tcp_close_reason::reset_by_peer, out);
        } else {
            ++_stats.challenge_acks;
            push(_snd_nxt, 0, 0, out);
        }
        return;
    }
    if (h.has(tcp_flags::syn)) {
        ++_stats.challenge_acks; // RFC 5961 §4: the peer must prove it is the peer
        push(_snd_nxt, 0, 0, out);
        return;
    }
    if (!h.has(tcp_flags::ack)) {
        return;
    }
    if (!process_ack(seg, now, out)) {
        flush_ack(out);
        return;
    }
    if (_state == tcp_state::closed) {
        return;
    }
    const bool reading = _state == tcp_state::established || _state == tcp_state::fin_wait_1 ||
                         _state == tcp_state::fin_wait_2;
    if (reading) {
        process_data(seg, now, out);
    } else if (len != 0) {
        _ack_now = true; // after the peer's FIN: nothing more is taken, but it is answered
    }
    emit(now, out);
    flush_ack(out);
}

void tcp_conn::consumed(uint32_t bytes, uint64_t now, tcp_actions& out) noexcept {
    if (_state == tcp_state::closed) {
        return;
    }
    _rcv_space = std::min(_p->cfg.rcv_buf, _rcv_space + bytes);
    // RFC 1122 §4.2.3.3: announce the window once its right edge can move
    // by min(half the buffer, one MSS); smaller steps would invite silly windows.
    const uint32_t edge = _rcv_nxt + (uint32_t{window_field()} << _rcv_wscale);
    const uint32_t step = std::min(_p->cfg.rcv_buf / 2, uint32_t{_p->cfg.mss});
    if (seq_gt(edge, _rcv_adv) && edge - _rcv_adv >= step) {
        _ack_now = true;
    }
    emit(now, out);
    flush_ack(out);
}

void tcp_conn::on_timer(tcp_timer kind, uint64_t now, tcp_actions& out) noexcept {
    auto& at = _timer_at[static_cast<size_t>(kind)];
    if (_state == tcp_state::closed || at == unarmed || now < at) {
        return; // stale: cancelled or moved since the caller armed it
    }
    at = unarmed;
    switch (kind) {
    case tcp_timer::rto:
        if (_snd_una == _snd_max) {
            return;
        }
        if (++_retries > _p->cfg.max_retries) {
            abort(now, out);
            return;
        }
        ++_stats.timeouts;
        // RFC 5681 §3.1 on loss by timeout, RFC 6298 §5.5-5.6 on the timer.
        _ssthresh = std::max((_snd_max - _snd_una) / 2, 2u * _mss);
        _cwnd = _mss;
        _in_recovery = false;
        _dupacks = 0;
        _rto = std::min(_rto * 2, _p->rto_max);
        _snd_nxt = _snd_una; // go back N: the rest follows as ACKs return
        retransmit_head(now, out);
        break;
    case tcp_timer::delayed_ack:
        _ack_now = true;
        flush_ack(out);
        break;
    case tcp_timer::zero_window_probe: {
        const bool stalled = seq_lt(_snd_nxt, _snd_end) && _snd_wnd == 0;
        if (!stalled) {
            return;
        }
        if (++_retries > _p->cfg.max_retries) {
            abort(now, out);
            return;
        }
        // One byte past the closed window: a peer that has room again takes it
        // and says so; one that has not re-ACKs with its zero window.
        if (push(_snd_una, 0, 1, out)) {
            ++_stats.zero_window_probes;
            _probing = true;
            if (seq_lt(_snd_max, _snd_una + 1)) {
                _snd_max = _snd_una + 1;
            }
        }
        // Backed off before re-arming, as the RTO is: the probes follow the
        // first at 1, 2, 4 ... times its interval, not 1, 1, 2.
        _persist = std::min(_persist * 2, _p->rto_max);
        arm(tcp_timer::zero_window_probe, now + _persist, out);
        break;
    }
    case tcp_timer::time_wait:
        if (_state == tcp_state::time_wait) {
            finish(tcp_close_reason::normal, out);
        } else if (_state == tcp_state::fin_wait_2) {
            send_reset(out); // the peer never closed its side
            finish(tcp_close_reason::aborted, out);
        }
        break;
    }
}

} // namespace ringcast
