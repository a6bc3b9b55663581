// The text views `ringcast stats` and `ringcast top` print, made from
// telemetry replies already read and parsed (json_value): no socket and no
// clock here, so they are tested on canned JSON. A reply that is missing or
// null shows as an empty section, never as an error.
#pragma once

#include <ringcast/client/json.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace ringcast {

// What `ringcast stats` summarizes: the value under each command's name.
struct stats_replies {
    json_value stats;       // /ringcast/stats
    json_value config;      // /ringcast/config
    json_value lcores;      // /ringcast/lcores
    json_value ports;       // /ringcast/ports
    json_value topics;      // /ringcast/topics
    json_value subscribers; // /ringcast/subscribers
    json_value tcp;         // /ringcast/tcp
    json_value mqtt;        // /ringcast/mqtt
};

// Totals, drops by reason with their meaning, mempools, lcores, ports, top
// topics and top subscribers, TCP-lite, MQTT, as aligned text sections.
[[nodiscard]] std::string stats_summary(const stats_replies& r);

// One look at the appliance for `ringcast top`; rates come from two of them.
struct top_sample {
    std::chrono::steady_clock::time_point at;
    json_value stats;
    json_value lcores;
    json_value ports;
    json_value topics;
    json_value tcp;
    json_value mqtt;
};

// One screen of `ringcast top`: totals and their rates since `prev` (none on
// the first frame), TCP-lite connections, MQTT sessions, lcores, ports, topics by message
// rate, drops by rate.
// `prefix`, `interval_s` and `clock` (the time of day) go in its first line.
[[nodiscard]] std::string top_frame(const top_sample& cur, const top_sample* prev, std::string_view prefix,
                                    double interval_s, std::string_view clock);

// A payload or topic for a terminal: as it is when printable ASCII, else "0x" and hex.
[[nodiscard]] std::string display(std::string_view bytes);

} // namespace ringcast
