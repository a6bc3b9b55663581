#include <ringcast/client/telemetry_views.hpp>

#include <ringcast/core/counters.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace ringcast {

namespace {

// Topics and subscribers listed by stats and top: the rest is one "... and N more" line.
constexpr size_t summary_topics = 10;
constexpr size_t summary_subscribers = 10;
constexpr size_t top_topics = 10;

bool printable(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// Cells printed in columns as wide as their widest cell, aligned as `align`
// says per column ('l' text, 'r' numbers; past its end, 'r'). An empty
// header prints no header line.
class text_table {
public:
    text_table(std::vector<std::string> header, std::string_view align) : _align(align) {
        if (!header.empty()) {
            _rows.push_back(std::move(header));
        }
    }

    void add(std::vector<std::string> row) { _rows.push_back(std::move(row)); }

    void render(std::string& out, std::string_view indent) const {
        std::vector<size_t> width;
        for (const auto& row : _rows) {
            width.resize(std::max(width.size(), row.size()), 0);
            for (size_t i = 0; i < row.size(); ++i) {
                width[i] = std::max(width[i], row[i].size());
            }
        }
        for (const auto& row : _rows) {
            std::string line(indent);
            for (size_t i = 0; i < row.size(); ++i) {
                const std::string pad(width[i] - row[i].size(), ' ');
                line += i == 0 ? "" : "  ";
                line += i < _align.size() && _align[i] == 'l' ? row[i] + pad : pad + row[i];
            }
            while (!line.empty() && line.back() == ' ') {
                line.pop_back();
            }
            out += line + "\n";
        }
    }

private:
    std::vector<std::vector<std::string>> _rows;
    std::string _align;
};

std::string format(const char* fmt, double v) {
    std::array<char, 64> b{};
    std::snprintf(b.data(), b.size(), fmt, v);
    return b.data();
}

std::string percent(double ratio) {
    return format("%.1f%%", 100 * ratio);
}

// 950.0, 12.3k, 4.5M: rates read at a glance.
std::string rate(double per_s) {
    if (per_s < 1e3) {
        return format("%.1f", per_s);
    }
    if (per_s < 1e6) {
        return format("%.1fk", per_s / 1e3);
    }
    if (per_s < 1e9) {
        return format("%.1fM", per_s / 1e6);
    }
    return format("%.1fG", per_s / 1e9);
}

std::string num(const json_value& v) {
    return v.is_number() ? std::to_string(v.as_u64()) : "-";
}

std::string_view drop_doc(std::string_view reason) {
    for (size_t i = 0; i < drop_count; ++i) {
        if (drop_names[i] == reason) {
            return drop_docs[i];
        }
    }
    return {};
}

// Topics of /ringcast/topics, most subscribers first, then highest seq.
std::vector<size_t> topics_by_subscribers(const json_value& topics) {
    std::vector<size_t> order(topics.size());
    for (size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const json_value& x = topics.at(a);
        const json_value& y = topics.at(b);
        if (x["subscribers"].as_u64() != y["subscribers"].as_u64()) {
            return x["subscribers"].as_u64() > y["subscribers"].as_u64();
        }
        return x["seq"].as_u64() > y["seq"].as_u64();
    });
    return order;
}

// Keys of /ringcast/stats shown in their own sections rather than as totals.
bool sectioned_stat(std::string_view key) {
    // malformed repeats drops.malformed; drops_total heads the drops section;
    // the mean frames per datagram has its own line.
    return key == "drops" || key == "mempools" || key == "malformed" || key == "drops_total" ||
           key == "frames_per_datagram" || key == "frames_per_datagram_milli";
}

void summarize_totals(std::string& out, const json_value& st) {
    out += "Totals\n";
    text_table t({}, "l");
    for (size_t i = 0; i < st.size(); ++i) {
        if (st.at(i).is_number() && !sectioned_stat(st.key(i))) {
            t.add({st.key(i), num(st.at(i))});
        }
    }
    t.render(out, "  ");
}

// "Frames per datagram: mean 3.25 (1: 120, 2_3: 40, ...)" when anything was delivered.
void summarize_datagrams(std::string& out, const json_value& st) {
    const json_value& hist = st["frames_per_datagram"];
    if (hist.size() == 0 || st["datagrams"].as_u64() == 0) {
        return;
    }
    out += "\nFrames per datagram: mean " +
           format("%.2f", static_cast<double>(st["frames_per_datagram_milli"].as_u64()) / 1000) + " (";
    for (size_t i = 0; i < hist.size(); ++i) {
        out += (i == 0 ? "" : ", ") + hist.key(i) + ": " + num(hist.at(i));
    }
    out += ")\n";
}

void summarize_drops(std::string& out, const json_value& st) {
    const json_value& drops = st["drops"];
    std::vector<size_t> order;
    for (size_t i = 0; i < drops.size(); ++i) {
        if (drops.at(i).as_u64() != 0) {
            order.push_back(i);
        }
    }
    if (order.empty()) {
        out += "\nDrops: none\n";
        return;
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return drops.at(a).as_u64() > drops.at(b).as_u64(); });
    out += "\nDrops: " + num(st["drops_total"]) + " in all\n";
    text_table t({"reason", "count", "meaning"}, "lrl");
    for (const size_t i : order) {
        t.add({drops.key(i), num(drops.at(i)), std::string(drop_doc(drops.key(i)))});
    }
    t.render(out, "  ");
}

void summarize_mempools(std::string& out, const json_value& st) {
    const json_value& pools = st["mempools"];
    if (pools.size() == 0) {
        return;
    }
    out += "\nMempools\n";
    text_table t({"pool", "in_use", "size", "used"}, "l");
    for (size_t i = 0; i < pools.size(); ++i) {
        const json_value& p = pools.at(i);
        const uint64_t size = p["size"].as_u64();
        t.add({pools.key(i), num(p["in_use"]), num(p["size"]),
               size == 0 ? "-"
                         : percent(static_cast<double>(p["in_use"].as_u64()) / static_cast<double>(size))});
    }
    t.render(out, "  ");
}

void summarize_lcores(std::string& out, const json_value& lcores) {
    if (lcores.size() == 0) {
        return;
    }
    out += "\nLcores\n";
    text_table t({"lcore", "role", "packets", "bursts", "deliveries", "busy", "ring_depth"}, "ll");
    for (size_t i = 0; i < lcores.size(); ++i) {
        const json_value& l = lcores.at(i);
        t.add({lcores.key(i), l["role"].as_string(), num(l["packets"]), num(l["bursts"]),
               num(l["deliveries"]), percent(static_cast<double>(l["busy_permille"].as_u64()) / 1000),
               num(l["ring_depth"])});
    }
    t.render(out, "  ");
    out += "  (busy: share of loop time spent on work since start)\n";
}

std::string link_text(const json_value& p) {
    if (!p.find("link_up")) {
        return "link unknown";
    }
    if (p["link_up"].as_u64() == 0) {
        return "link down";
    }
    const uint64_t mbps = p["speed_mbps"].as_u64();
    return mbps == 0 ? "link up" : "link up " + std::to_string(mbps) + " Mb/s";
}

void summarize_ports(std::string& out, const json_value& ports) {
    if (ports.size() == 0) {
        return;
    }
    out += "\nPorts\n";
    for (size_t i = 0; i < ports.size(); ++i) {
        const json_value& p = ports.at(i);
        std::string line = "  " + ports.key(i);
        if (!p["driver"].as_string().empty()) {
            line += " (" + p["driver"].as_string() + ")";
        }
        line += "  " + link_text(p) + "  mac " + p["mac"].as_string() + "  " + p["ipv4"].as_string() + ":" +
                num(p["udp_port"]) + (p["multi_seg_tx"].as_u64() != 0 ? "  zero-copy TX" : "  copy TX");
        out += line + "\n";
        if (p.find("ipackets") != nullptr) {
            out += "    rx " + num(p["ipackets"]) + " packets " + num(p["ibytes"]) + " bytes, missed " +
                   num(p["imissed"]) + ", errors " + num(p["ierrors"]) + ", no mbuf " + num(p["rx_nombuf"]) +
                   "\n";
            out += "    tx " + num(p["opackets"]) + " packets " + num(p["obytes"]) + " bytes, errors " +
                   num(p["oerrors"]) + "\n";
        }
        if (p.find("xdp_prog_id") != nullptr) {
            out += "    xdp program " + num(p["xdp_prog_id"]) + ": " + num(p["xdp_redirected"]) +
                   " redirected, " + num(p["xdp_passed"]) + " passed to the kernel\n";
        }
    }
}

void summarize_topics(std::string& out, const json_value& topics) {
    out += "\nTop topics";
    if (topics.size() == 0) {
        out += ": none\n";
        return;
    }
    out += "\n";
    text_table t({"topic", "subscribers", "seq", "worker"}, "lrrl");
    const std::vector<size_t> order = topics_by_subscribers(topics);
    for (size_t k = 0; k < std::min(order.size(), summary_topics); ++k) {
        const json_value& e = topics.at(order[k]);
        t.add({display(e["topic"].as_string()), num(e["subscribers"]), num(e["seq"]),
               "lcore" + num(e["worker_lcore"])});
    }
    t.render(out, "  ");
    if (order.size() > summary_topics) {
        out += "  ... and " + std::to_string(order.size() - summary_topics) + " more\n";
    }
}

// Subscribers of /ringcast/subscribers (each with its "address" A.B.C.D:PORT;
// the "identities" entry is not one), most deliveries first.
void summarize_subscribers(std::string& out, const json_value& subs) {
    std::vector<size_t> order;
    for (size_t i = 0; i < subs.size(); ++i) {
        if (subs.at(i)["address"].is_string()) {
            order.push_back(i);
        }
    }
    out += "\nTop subscribers";
    if (order.empty()) {
        out += ": none\n";
        return;
    }
    out += "\n";
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return subs.at(a)["deliveries"].as_u64() > subs.at(b)["deliveries"].as_u64();
    });
    static constexpr std::string_view columns[] = {"filters",       "deliveries",  "drops",
                                                   "nacks_served",  "replayed",    "rate_capped",
                                                   "injected_loss", "nack_limited"};
    std::vector<std::string> header{"subscriber"};
    header.insert(header.end(), std::begin(columns), std::end(columns));
    text_table t(std::move(header), "l");
    for (size_t k = 0; k < std::min(order.size(), summary_subscribers); ++k) {
        const json_value& e = subs.at(order[k]);
        std::vector<std::string> row{e["address"].as_string()};
        for (const std::string_view col : columns) {
            row.push_back(num(e[col]));
        }
        t.add(std::move(row));
    }
    t.render(out, "  ");
    if (order.size() > summary_subscribers) {
        out += "  ... and " + std::to_string(order.size() - summary_subscribers) + " more\n";
    }
}

// TCP-lite's connections by state (the states that have any), then its
// handshakes, retransmissions and resets since start.
std::string tcp_connections_line(const json_value& tcp) {
    std::string line = "tcp connections " + num(tcp["connections"]);
    const json_value& states = tcp["states"];
    std::string by_state;
    for (size_t i = 0; i < states.size(); ++i) {
        if (states.at(i).as_u64() != 0) {
            by_state += (by_state.empty() ? "" : ", ") + states.key(i) + " " + num(states.at(i));
        }
    }
    return by_state.empty() ? line : line + " (" + by_state + ")";
}

void summarize_tcp(std::string& out, const json_value& tcp) {
    if (!tcp.is_object() || tcp["enabled"].as_u64() == 0) {
        return;
    }
    out += "\nTCP-lite on port " + num(tcp["port"]) + "\n  " + tcp_connections_line(tcp) + "\n";
    out += "  syns " + num(tcp["syns"]) + "  established " + num(tcp["established"]) + "  closed " +
           num(tcp["closed"]) + "  reset by peers " + num(tcp["resets_received"]) + "  aborted " +
           num(tcp["aborted"]) + "  resets sent " + num(tcp["resets_sent"]) + "\n";
    out += "  retransmits " + num(tcp["retransmits"]) + " (fast " + num(tcp["fast_retransmits"]) + ", timeouts " +
           num(tcp["timeouts"]) + ")  zero-window probes " + num(tcp["zero_window_probes"]) +
           "  slow consumers: " + num(tcp["tcp_slow_consumer"]) + " deliveries dropped, " +
           num(tcp["slow_consumer_closes"]) + " closed\n";
}

std::string mqtt_sessions_line(const json_value& m) {
    return "mqtt sessions " + num(m["sessions_connected"]) + " connected, " + num(m["sessions_offline"]) +
           " offline  in flight " + num(m["in_flight"]) + "  queued " + num(m["queued"]);
}

void summarize_mqtt(std::string& out, const json_value& m) {
    if (!m.is_object() || m["enabled"].as_u64() == 0) {
        return;
    }
    out += "\nMQTT on port " + num(m["port"]) + "\n  " + mqtt_sessions_line(m) + "\n";
    out += "  connects " + num(m["connects"]) + " (refused " + num(m["connects_refused"]) + ", resumed " +
           num(m["sessions_resumed"]) + ")  takeovers " + num(m["takeovers"]) + "  disconnects " +
           num(m["disconnects"]) + "  wills sent " + num(m["wills_sent"]) + "\n";
    out += "  publish in " + num(m["publish_in"]) + " (refused " + num(m["publish_refused"]) + ")  out " +
           num(m["publish_out"]) + " (redelivered " + num(m["redelivered"]) + ", not sent " + num(m["not_sent"]) +
           ")  queue drops " + num(m["queue_dropped"]) + " + " + num(m["queue_full"]) + " full\n";
    out += "  closed for: keep-alive " + num(m["keep_alive_expiries"]) + "  protocol errors " +
           num(m["protocol_errors"]) + "  too large " + num(m["too_large"]) + "  answer timeouts " +
           num(m["ack_timeouts"]) + "\n";
}

} // namespace

std::string stats_summary(const stats_replies& r) {
    std::string out;
    if (r.config.is_object()) {
        out += "ringcastd " + r.config["path"].as_string() + "  file prefix " +
               r.config["file_prefix"].as_string() + "  UDP port " + num(r.config["udp_port"]) + "  lease " +
               num(r.config["lease_s"]) + " s\n\n";
    }
    summarize_totals(out, r.stats);
    summarize_datagrams(out, r.stats);
    summarize_drops(out, r.stats);
    summarize_mempools(out, r.stats);
    summarize_lcores(out, r.lcores);
    summarize_ports(out, r.ports);
    summarize_topics(out, r.topics);
    summarize_subscribers(out, r.subscribers);
    summarize_tcp(out, r.tcp);
    summarize_mqtt(out, r.mqtt);
    return out;
}

namespace {

// Per second between the same counter in two samples; nothing on the first
// sample, where the counter is new, or where it went backwards.
std::optional<double> per_second(const json_value& now, const json_value* before, double dt) {
    if (before == nullptr || !now.is_number() || !before->is_number() || dt <= 0 ||
        now.as_u64() < before->as_u64()) {
        return std::nullopt;
    }
    return static_cast<double>(now.as_u64() - before->as_u64()) / dt;
}

std::string rate_text(std::optional<double> r) {
    return r ? rate(*r) : "-";
}

// (*obj)[key], or nothing when there is no obj or no such member: the same
// counter in the previous sample, which the first sample lacks.
const json_value* member(const json_value* obj, std::string_view key) {
    return obj != nullptr ? obj->find(key) : nullptr;
}

} // namespace

std::string top_frame(const top_sample& cur, const top_sample* prev, std::string_view prefix,
                      double interval_s, std::string_view clock) {
    const double dt = prev != nullptr ? std::chrono::duration<double>(cur.at - prev->at).count() : 0;
    const json_value& st = cur.stats;
    const json_value* prev_stats = prev != nullptr ? &prev->stats : nullptr;
    const json_value* prev_lcores = prev != nullptr ? &prev->lcores : nullptr;
    const json_value* prev_ports = prev != nullptr ? &prev->ports : nullptr;
    const json_value* prev_topics = prev != nullptr ? &prev->topics : nullptr;
    std::string out;

    out += "ringcast top  " + std::string(prefix) + "  every " + format("%.1f", interval_s) + " s  " +
           std::string(clock) + "  (Ctrl-C quits)\n";
    const auto total_rate = [&](std::string_view key) {
        return rate_text(per_second(st[key], member(prev_stats, key), dt));
    };
    out += "rx " + total_rate("rx_packets") + " pkt/s  pub " + total_rate("pub_frames") + "/s  deliveries " +
           total_rate("deliveries") + "/s  tx " + total_rate("tx_packets") + " pkt/s  drops " +
           total_rate("drops_total") + "/s\n";
    out += "subscriptions " + num(st["subscriptions"]) + "  topics " + num(st["topics"]) + "  subscribers " +
           num(st["subscribers"]) + "  deliveries " + num(st["deliveries"]) + "  drops " +
           num(st["drops_total"]) + "\n";
    if (cur.tcp.is_object() && cur.tcp["enabled"].as_u64() != 0) {
        const json_value* prev_tcp = prev != nullptr ? &prev->tcp : nullptr;
        const auto tcp_rate = [&](std::string_view key) {
            return rate_text(per_second(cur.tcp[key], member(prev_tcp, key), dt));
        };
        out += tcp_connections_line(cur.tcp) + "  syns " + tcp_rate("syns") + "/s  retransmits " +
               tcp_rate("retransmits") + "/s  resets sent " + tcp_rate("resets_sent") + "/s  slow-consumer drops " +
               tcp_rate("tcp_slow_consumer") + "/s\n";
    }
    if (cur.mqtt.is_object() && cur.mqtt["enabled"].as_u64() != 0) {
        const json_value* prev_mqtt = prev != nullptr ? &prev->mqtt : nullptr;
        const auto mqtt_rate = [&](std::string_view key) {
            return rate_text(per_second(cur.mqtt[key], member(prev_mqtt, key), dt));
        };
        out += mqtt_sessions_line(cur.mqtt) + "  publish in " + mqtt_rate("publish_in") + "/s  out " +
               mqtt_rate("publish_out") + "/s  connects " + mqtt_rate("connects") + "/s\n";
    }
    const json_value& pools = st["mempools"];
    if (pools.size() > 0) {
        std::string line = "mempools in use:";
        for (size_t i = 0; i < pools.size(); ++i) {
            line += " " + pools.key(i) + " " + num(pools.at(i)["in_use"]) + "/" + num(pools.at(i)["size"]);
        }
        out += line + "\n";
    }

    // Busy over the interval where telemetry gives the cycle counts (their
    // deltas: per_second over 1), else its since-start ratio.
    bool busy_since_start = false;
    text_table lc({"LCORE", "ROLE", "BUSY", "RX PKT/S", "DELIV/S", "RING"}, "ll");
    for (size_t i = 0; i < cur.lcores.size(); ++i) {
        const std::string& name = cur.lcores.key(i);
        const json_value& l = cur.lcores.at(i);
        const auto busy = per_second(l["busy_cycles"], member(member(prev_lcores, name), "busy_cycles"), 1);
        const auto total =
            per_second(l["total_cycles"], member(member(prev_lcores, name), "total_cycles"), 1);
        std::string busy_text;
        if (busy && total && *total > 0) {
            busy_text = percent(*busy / *total);
        } else {
            busy_text = percent(static_cast<double>(l["busy_permille"].as_u64()) / 1000);
            busy_since_start = true;
        }
        lc.add({name, l["role"].as_string(), busy_text,
                rate_text(per_second(l["packets"], member(member(prev_lcores, name), "packets"), dt)),
                rate_text(per_second(l["deliveries"], member(member(prev_lcores, name), "deliveries"), dt)),
                num(l["ring_depth"])});
    }
    out += "\n";
    lc.render(out, "");
    if (busy_since_start) {
        out += "(BUSY: share of loop time on work since start)\n";
    }

    text_table pt({"PORT", "LINK", "RX PKT/S", "TX PKT/S", "RX MISSED", "ERRORS", "NO MBUF"}, "ll");
    for (size_t i = 0; i < cur.ports.size(); ++i) {
        const std::string& name = cur.ports.key(i);
        const json_value& p = cur.ports.at(i);
        const auto port_rate = [&](std::string_view key) {
            return rate_text(per_second(p[key], member(member(prev_ports, name), key), dt));
        };
        const std::string link = !p.find("link_up") ? "?" : p["link_up"].as_u64() != 0 ? "up" : "down";
        pt.add({name, link, port_rate("ipackets"), port_rate("opackets"), num(p["imissed"]),
                std::to_string(p["ierrors"].as_u64() + p["oerrors"].as_u64()), num(p["rx_nombuf"])});
    }
    out += "\n";
    pt.render(out, "");

    // Topics by message rate: the seq of a topic counts its messages.
    struct topic_row {
        size_t index;
        std::optional<double> msgs;
    };
    std::vector<topic_row> topics;
    for (size_t i = 0; i < cur.topics.size(); ++i) {
        topics.push_back({i, per_second(cur.topics.at(i)["seq"],
                                        member(member(prev_topics, cur.topics.key(i)), "seq"), dt)});
    }
    std::stable_sort(topics.begin(), topics.end(), [&](const topic_row& a, const topic_row& b) {
        if (a.msgs.value_or(-1) != b.msgs.value_or(-1)) {
            return a.msgs.value_or(-1) > b.msgs.value_or(-1);
        }
        return cur.topics.at(a.index)["seq"].as_u64() > cur.topics.at(b.index)["seq"].as_u64();
    });
    out += "\n";
    if (topics.empty()) {
        out += "TOPIC: none\n";
    } else {
        text_table tt({"TOPIC", "MSG/S", "SEQ", "SUBS"}, "l");
        for (size_t k = 0; k < std::min(topics.size(), top_topics); ++k) {
            const json_value& e = cur.topics.at(topics[k].index);
            tt.add({display(e["topic"].as_string()), rate_text(topics[k].msgs), num(e["seq"]),
                    num(e["subscribers"])});
        }
        tt.render(out, "");
        if (topics.size() > top_topics) {
            out += "... and " + std::to_string(topics.size() - top_topics) + " more\n";
        }
    }

    // Reasons that ever dropped anything, fastest first.
    const json_value& drops = st["drops"];
    struct drop_row {
        size_t index;
        std::optional<double> per_s;
    };
    std::vector<drop_row> dropped;
    for (size_t i = 0; i < drops.size(); ++i) {
        if (drops.at(i).as_u64() != 0) {
            dropped.push_back(
                {i, per_second(drops.at(i), member(member(prev_stats, "drops"), drops.key(i)), dt)});
        }
    }
    std::stable_sort(dropped.begin(), dropped.end(), [&](const drop_row& a, const drop_row& b) {
        if (a.per_s.value_or(0) != b.per_s.value_or(0)) {
            return a.per_s.value_or(0) > b.per_s.value_or(0);
        }
        return drops.at(a.index).as_u64() > drops.at(b.index).as_u64();
    });
    out += "\n";
    if (dropped.empty()) {
        out += "DROPS: none\n";
    } else {
        text_table dt_table({"DROP", "RATE/S", "TOTAL"}, "l");
        for (const drop_row& d : dropped) {
            dt_table.add({drops.key(d.index), rate_text(d.per_s), num(drops.at(d.index))});
        }
        dt_table.render(out, "");
    }
    return out;
}

std::string display(std::string_view payload) {
    if (printable(payload)) {
        return std::string(payload);
    }
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex = "0x";
    for (const char c : payload) {
        const auto b = static_cast<unsigned char>(c);
        hex += digits[b >> 4];
        hex += digits[b & 0x0f];
    }
    return hex;
}

} // namespace ringcast
