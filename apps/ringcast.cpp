// ringcast: the command-line client of the appliance over kernel sockets.
// sub, pub and ping speak RCP/1 over UDP (or TCP, --tcp) through
// ringcast::client; stats
// and top read the appliance's DPDK telemetry socket. Exit status: 0 ok, 1
// runtime failure, 2 usage error.
#include <ringcast/client.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <getopt.h>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/ioctl.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace ringcast;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr std::string_view usage_text = R"(Usage: ringcast <command> [options] [arguments]

Commands:
    sub   [options] TOPIC...        Subscribe; print "SEQ TOPIC PAYLOAD" per message, in seq order
                                    per topic, gaps repaired by NACK; at exit one line on stderr:
                                    "ringcast sub: N messages, R repaired, L lost, D duplicates"
    pub   [options] TOPIC MESSAGE   Publish MESSAGE
    ping  [options]                 Send PINGs; print each round-trip time
    stats [options] [COMMAND]       Summarize counters, drops, pools, lcores, ports, topics and
                                    subscribers; with COMMAND print that telemetry command's
                                    JSON ("/" lists the commands)
    top   [options]                 Live view, redrawn in place: lcore busy and packet rates,
                                    ring depths, topics by message rate, drops by reason

Server Options (sub, pub, ping):
    -s, --server <addr[:port]>      Appliance address (default: 192.0.2.1:7700)
        --tcp                       Speak RCP/1 over one TCP connection to that address instead of
                                    UDP datagrams: the connection is the subscriber, with no lease;
                                    the appliance closing or resetting it ends the command with
                                    status 1 (default: UDP)
    -k, --token <token>             Say HELLO with this token first (an [[identity]]'s, where the
                                    appliance has rcp.require_auth); default: $RINGCAST_TOKEN, which
                                    keeps it out of the process list; neither: no HELLO

Subscribe Options:
    -n, --count <n>                 Exit after n messages (default: 0, no limit)
    -t, --timeout <seconds>         Exit when no message came for this long (default: 0, never)
        --replay-from <seq>         Subscribe with REPLAY: the retained messages of each TOPIC from
                                    topic seq <seq> on, then live ones (default: live only)
        --no-repair                 Print messages as they arrive: no reordering, no NACKs, ERR
                                    GAP_LOST printed like any ERR, and 0 repaired, lost and
                                    duplicates in the summary line (default: repair)

Publish Options:
    -n, --count <n>                 Messages to send; with n > 1 the i-th is "MESSAGE i" (default: 1)
    -r, --rate <per second>         Messages per second (default: 0, as fast as possible)
    -q, --qos <0|1|2>               0: fire and forget; 1: each message waits for its ACK, resent
                                    with backoff (50 ms, doubling, 6 sends in all), exit status 1
                                    when none comes; 2: as 1, and a resent one is delivered once
                                    (default: 0)
        --retain                    Keep the message as the topic's last value, for new subscribers

Ping Options:
    -n, --count <n>                 PINGs to send (default: 1)
    -i, --interval <seconds>        Pause between PINGs (default: 1)
    -t, --timeout <seconds>         Wait for each PONG (default: 1)

Telemetry Options (stats, top):
    -f, --file-prefix <prefix>      ringcastd's EAL --file-prefix (default: ringcast)
    -S, --socket <path>             Telemetry socket path, instead of the one -f names

Stats Options:
    -j, --json                      Print /ringcast/stats as JSON instead of the summary

Top Options:
    -i, --interval <seconds>        Time between refreshes, at least 0.1 (default: 1)
    -n, --count <n>                 Exit after n refreshes (default: 0, until Ctrl-C or
                                    until ringcastd exits, both with status 0)

Common Options:
    -h, --help                      Show this message

Payloads that are not printable ASCII are printed as 0x and hex.
Exit status: 0 ok, 1 runtime failure, 2 usage error.
)";

constexpr std::string_view default_server = "192.0.2.1";
constexpr std::string_view default_prefix = "ringcast";
constexpr std::string_view default_stats_command = "/ringcast/stats";
// Long options without a short one.
enum long_only : int {
    opt_replay_from = 256,
    opt_no_repair,
    opt_retain,
    opt_tcp,
};
// sub and ping wake at least this often to notice Ctrl-C.
constexpr auto stop_check = 200ms;
// pub without a rate hands the client this many messages at a time to pack.
constexpr size_t pub_chunk = 256;
// Each refresh of top costs ringcastd's main lcore four telemetry replies.
constexpr double min_top_interval = 0.1;

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct help_requested {};

// Set by SIGINT/SIGTERM; the loops of sub and ping poll it.
std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "read and written from a signal handler");

void on_signal(int) {
    stop_requested = true;
}

// Without SA_RESTART, so a blocked poll() returns and the loop sees the flag.
void catch_stop_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

struct server_address {
    std::string addr{default_server};
    uint16_t port = rcp_default_port;

    [[nodiscard]] std::string str() const { return addr + ":" + std::to_string(port); }
};

uint64_t parse_count(const char* name, std::string_view s) {
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) {
        throw usage_error(std::string(name) + ": not a count: '" + std::string(s) + "'");
    }
    return v;
}

double parse_non_negative(const char* name, std::string_view s) {
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(v) || v < 0) {
        throw usage_error(std::string(name) + ": not a number >= 0: '" + std::string(s) + "'");
    }
    return v;
}

std::chrono::milliseconds to_ms(double seconds) {
    return std::chrono::milliseconds(static_cast<int64_t>(std::llround(seconds * 1000)));
}

server_address parse_server(std::string_view s) {
    server_address a;
    const size_t colon = s.rfind(':');
    a.addr = std::string(s.substr(0, colon));
    if (colon != std::string_view::npos) {
        const uint64_t port = parse_count("--server port", s.substr(colon + 1));
        if (port == 0 || port > 65535) {
            throw usage_error("--server: port out of range: '" + std::string(s) + "'");
        }
        a.port = static_cast<uint16_t>(port);
    }
    in_addr probe{};
    if (inet_pton(AF_INET, a.addr.c_str(), &probe) != 1) {
        throw usage_error("--server: not an IPv4 address: '" + std::string(s) + "'");
    }
    return a;
}

void check_topic(std::string_view topic) {
    if (topic.empty() || topic.size() > max_topic_len) {
        throw usage_error("TOPIC must be 1 to 255 bytes: '" + std::string(topic) + "'");
    }
}

// Every option of every command, once: getopt's tables for a command are
// made from the entries that name it.
struct cli_option {
    const char* name;
    int id; // the short letter, or a long_only value
    bool takes_value;
    std::string_view commands; // the commands that take it, space-separated
};
constexpr cli_option cli_options[] = {
    {"server", 's', true, "sub pub ping"},
    {"token", 'k', true, "sub pub ping"},
    {"tcp", opt_tcp, false, "sub pub ping"},
    {"count", 'n', true, "sub pub ping top"},
    {"timeout", 't', true, "sub ping"},
    {"replay-from", opt_replay_from, true, "sub"},
    {"no-repair", opt_no_repair, false, "sub"},
    {"rate", 'r', true, "pub"},
    {"qos", 'q', true, "pub"},
    {"retain", opt_retain, false, "pub"},
    {"interval", 'i', true, "ping top"},
    {"file-prefix", 'f', true, "stats top"},
    {"socket", 'S', true, "stats top"},
    {"json", 'j', false, "stats"},
    {"help", 'h', false, "sub pub ping stats top"},
};

bool names_command(std::string_view commands, std::string_view cmd) {
    for (size_t at = 0; at < commands.size();) {
        const size_t end = std::min(commands.find(' ', at), commands.size());
        if (commands.substr(at, end - at) == cmd) {
            return true;
        }
        at = end + 1;
    }
    return false;
}

struct telemetry_target {
    std::string prefix{default_prefix};
    std::string socket_path; // empty: the one `prefix` names

    [[nodiscard]] std::string path() const {
        return socket_path.empty() ? telemetry_socket_path(prefix) : socket_path;
    }
};

// What a command line says, whichever command it is for: a command reads
// the options cli_options gives it, with its own default where one is absent.
struct command_line {
    std::vector<std::string> operands;
    server_address server;
    std::string token; // HELLO's; empty: none
    bool tcp = false;
    std::optional<uint64_t> count;
    std::optional<double> timeout_s;
    std::optional<double> interval_s;
    double rate = 0;
    std::optional<uint64_t> replay_from;
    uint8_t qos = 0;
    bool repair = true;
    bool retain = false;
    bool json = false;
    telemetry_target target;
};

client_options options_of(const command_line& cl) {
    client_options o;
    o.token = cl.token;
    o.transport = cl.tcp ? transport_kind::tcp : transport_kind::udp;
    return o;
}

// Runs getopt_long over argv (argv[0] is the command name) with the
// command's options from cli_options.
command_line parse_command_line(int argc, char** argv) {
    const std::string cmd = argv[0];
    std::string shorts = ":"; // a missing value is reported as ':'
    std::vector<option> longs;
    for (const cli_option& o : cli_options) {
        if (!names_command(o.commands, cmd)) {
            continue;
        }
        longs.push_back({o.name, o.takes_value ? required_argument : no_argument, nullptr, o.id});
        if (o.id < 256) {
            shorts += static_cast<char>(o.id);
            shorts += o.takes_value ? ":" : "";
        }
    }
    longs.push_back({nullptr, 0, nullptr, 0});
    opterr = 0; // our messages, with the exit status 2
    optind = 1;
    command_line cl;
    if (const char* t = std::getenv("RINGCAST_TOKEN"); t != nullptr && names_command("sub pub ping", cmd)) {
        cl.token = t;
    }
    for (;;) {
        const int c = getopt_long(argc, argv, shorts.c_str(), longs.data(), nullptr);
        if (c == -1) {
            break;
        }
        const std::string_view arg = optarg != nullptr ? optarg : "";
        switch (c) {
        case 'h':
            throw help_requested{};
        case ':':
            throw usage_error(cmd + ": option '" + argv[optind - 1] + "' needs a value");
        case '?': {
            const std::string bad = optopt != 0 ? std::string("-") + char(optopt) : argv[optind - 1];
            throw usage_error(cmd + ": unknown option '" + bad + "'");
        }
        case 'k':
            cl.token = std::string(arg);
            break;
        case 's':
            cl.server = parse_server(arg);
            break;
        case 'n':
            cl.count = parse_count("--count", arg);
            break;
        case 't':
            cl.timeout_s = parse_non_negative("--timeout", arg);
            break;
        case 'i':
            cl.interval_s = parse_non_negative("--interval", arg);
            break;
        case 'r':
            cl.rate = parse_non_negative("--rate", arg);
            break;
        case 'q': {
            const uint64_t qos = parse_count("--qos", arg);
            if (qos > 2) {
                throw usage_error("--qos: 0, 1 or 2, not '" + std::string(arg) + "'");
            }
            cl.qos = static_cast<uint8_t>(qos);
            break;
        }
        case opt_replay_from:
            cl.replay_from = parse_count("--replay-from", arg);
            break;
        case opt_no_repair:
            cl.repair = false;
            break;
        case opt_retain:
            cl.retain = true;
            break;
        case opt_tcp:
            cl.tcp = true;
            break;
        case 'f':
            cl.target.prefix = arg;
            break;
        case 'S':
            cl.target.socket_path = arg;
            break;
        case 'j':
            cl.json = true;
            break;
        }
    }
    cl.operands.assign(argv + optind, argv + argc);
    return cl;
}


// Says on stderr why a request failed.
void report(const request_result& r, const std::string& what, const server_address& server,
            std::chrono::milliseconds timeout) {
    switch (r.status) {
    case request_status::ok:
        break;
    case request_status::refused:
        std::fprintf(stderr, "ringcast: %s refused: %s (%s)\n", what.c_str(),
                     std::string(to_string(r.code)).c_str(), display(r.payload).c_str());
        break;
    case request_status::timeout:
        std::fprintf(stderr, "ringcast: %s: no reply from %s within %lld ms\n", what.c_str(),
                     server.str().c_str(), static_cast<long long>(timeout.count()));
        break;
    case request_status::io_error:
    case request_status::closed:
        std::fprintf(stderr, "ringcast: %s: %s: %s\n", what.c_str(), server.str().c_str(),
                     r.error.message().c_str());
        break;
    }
}

// "SEQ TOPIC PAYLOAD", or "SEQ TOPIC" for an empty payload.
void print_message(const message& m) {
    std::string line = std::to_string(m.seq) + " " + m.topic;
    if (!m.payload.empty()) {
        line += " " + display(m.payload);
    }
    std::puts(line.c_str());
}

int run_sub(const command_line& cl) {
    const server_address& server = cl.server;
    const uint64_t count = cl.count.value_or(0);
    const double idle_s = cl.timeout_s.value_or(0);
    const std::optional<uint64_t> replay_from = cl.replay_from;
    const bool repair = cl.repair;
    const std::vector<std::string>& topics = cl.operands;
    if (topics.empty()) {
        throw usage_error("sub: no TOPIC");
    }
    for (const auto& t : topics) {
        check_topic(t);
    }

    catch_stop_signals();
    client c(server.addr, server.port, options_of(cl));
    for (const auto& t : topics) {
        const request_result r = replay_from ? c.subscribe_replay(t, *replay_from) : c.subscribe(t);
        if (!r.ok()) {
            report(r, "SUB " + t, server, default_request_timeout);
            // Filters already active would otherwise linger until their lease lapses.
            (void)c.bye();
            return 1;
        }
    }
    // A reader at the end of a pipe sees each message as it comes.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    const auto idle = to_ms(idle_s);
    auto last = steady::now();
    uint64_t got = 0;
    const auto take = [&](const message& m) {
        if (m.code == op::msg) {
            print_message(m);
            ++got;
            last = steady::now();
        } else if (m.code == op::err) {
            std::fprintf(stderr, "ringcast: ERR %s seq %llu: %s\n", std::string(to_string(m.error())).c_str(),
                         static_cast<unsigned long long>(m.seq), display(m.payload).c_str());
        }
    };
    while (!stop_requested && (count == 0 || got < count)) {
        auto slice = std::chrono::duration_cast<std::chrono::milliseconds>(stop_check);
        if (idle_s > 0) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(last + idle - steady::now());
            if (left <= 0ms) {
                break;
            }
            slice = std::min(slice, left);
        }
        if (const std::optional<message> m = repair ? c.receive_ordered(slice) : c.receive(slice)) {
            take(*m);
        } else if (c.closed()) {
            break;
        }
    }
    if (repair) {
        // What waits behind a gap still open was received: print it, and count the gap lost.
        c.give_up_gaps();
        while (count == 0 || got < count) {
            const std::optional<message> m = c.receive_ordered(0ms);
            if (!m) {
                break;
            }
            take(*m);
        }
    }
    (void)c.bye();
    if (c.closed()) {
        std::fprintf(stderr, "ringcast: sub: %s: %s\n", server.str().c_str(),
                     c.close_reason().message().c_str());
    }
    const gap_counters& n = c.repair_counters();
    std::fprintf(stderr, "ringcast sub: %llu messages, %llu repaired, %llu lost, %llu duplicates\n",
                 static_cast<unsigned long long>(got), static_cast<unsigned long long>(n.repaired),
                 static_cast<unsigned long long>(n.lost), static_cast<unsigned long long>(n.duplicates));
    return c.closed() ? 1 : 0;
}

// Says on stderr why an acknowledged PUB failed.
void report_pub(const publish_result& r, const std::string& topic, unsigned qos, const server_address& server,
                const retry_policy& retry) {
    if (r.status != request_status::timeout) {
        report(r, "PUB " + topic + " (QoS " + std::to_string(qos) + ")", server, default_request_timeout);
        return;
    }
    auto waited = 0ms;
    for (uint32_t i = 0; i < r.attempts; ++i) {
        waited += retry.first_wait * (1 << i);
    }
    std::fprintf(stderr, "ringcast: PUB %s (QoS %u): no ACK from %s after %u sends over %lld ms\n",
                 topic.c_str(), qos, server.str().c_str(), r.attempts,
                 static_cast<long long>(waited.count()));
}

int run_pub(const command_line& cl) {
    const server_address& server = cl.server;
    const uint64_t count = cl.count.value_or(1);
    const double rate = cl.rate;
    const uint64_t qos = cl.qos;
    const uint8_t flag_bits = cl.retain ? flags::retain : 0;
    const std::vector<std::string>& operands = cl.operands;
    if (operands.size() != 2) {
        throw usage_error("pub: need TOPIC and MESSAGE");
    }
    const std::string& topic = operands[0];
    const std::string& text = operands[1];
    check_topic(topic);
    const auto payload_of = [&](uint64_t i) { return count > 1 ? text + " " + std::to_string(i) : text; };

    client c(server.addr, server.port, options_of(cl));
    const auto fail = [&](std::error_code ec) {
        std::fprintf(stderr, "ringcast: PUB %s: %s: %s\n", topic.c_str(), server.str().c_str(),
                     ec.message().c_str());
        return 1;
    };
    if (rate > 0 || qos > 0) {
        // One at a time: at a rate, or each waiting for its ACK.
        const retry_policy retry;
        const auto start = steady::now();
        for (uint64_t i = 1; i <= count; ++i) {
            if (rate > 0) {
                std::this_thread::sleep_until(start + std::chrono::duration<double>((i - 1) / rate));
            }
            if (qos == 0) {
                if (auto ec = c.publish(topic, as_bytes(payload_of(i)), flag_bits)) {
                    return fail(ec);
                }
                continue;
            }
            const publish_result r =
                c.publish_acked(topic, as_bytes(payload_of(i)), static_cast<uint8_t>(qos), flag_bits, retry);
            if (!r.ok()) {
                report_pub(r, topic, static_cast<unsigned>(qos), server, retry);
                return 1;
            }
        }
        return 0;
    }
    std::vector<std::string> payloads;
    std::vector<outgoing> batch;
    for (uint64_t first = 1; first <= count; first += pub_chunk) {
        const uint64_t last = std::min<uint64_t>(count, first + pub_chunk - 1);
        payloads.clear();
        for (uint64_t i = first; i <= last; ++i) {
            payloads.push_back(payload_of(i));
        }
        batch.clear();
        for (const auto& p : payloads) {
            batch.push_back({topic, as_bytes(p), flag_bits});
        }
        if (auto ec = c.publish_batch(batch)) {
            return fail(ec);
        }
    }
    return 0;
}

int run_ping(const command_line& cl) {
    const server_address& server = cl.server;
    const uint64_t count = cl.count.value_or(1);
    const double interval_s = cl.interval_s.value_or(1);
    const double timeout_s = cl.timeout_s.value_or(1);
    const std::vector<std::string>& operands = cl.operands;
    if (!operands.empty()) {
        throw usage_error("ping: unexpected argument '" + operands[0] + "'");
    }

    catch_stop_signals();
    client c(server.addr, server.port, options_of(cl));
    const auto timeout = to_ms(timeout_s);
    const auto interval =
        std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(interval_s));
    uint64_t replies = 0;
    double min_us = 0;
    double max_us = 0;
    double sum_us = 0;
    for (uint64_t i = 1; i <= count && !stop_requested; ++i) {
        if (i > 1) {
            const auto wake = steady::now() + interval;
            while (!stop_requested && steady::now() < wake) {
                std::this_thread::sleep_for(std::min<steady::duration>(stop_check, wake - steady::now()));
            }
        }
        const std::string payload = "ringcast ping " + std::to_string(i);
        const request_result r = c.ping(as_bytes(payload), timeout);
        const std::string what = "PING seq " + std::to_string(c.last_seq());
        if (!r.ok()) {
            report(r, what, server, timeout);
            if (r.status == request_status::closed) {
                break; // every later PING would fail the same way at once
            }
            continue;
        }
        if (r.payload != payload) {
            std::fprintf(stderr, "ringcast: %s: PONG echoed '%s', not '%s'\n", what.c_str(),
                         display(r.payload).c_str(), payload.c_str());
            continue;
        }
        const double us = std::chrono::duration<double, std::micro>(r.rtt).count();
        std::printf("PONG from %s seq=%llu rtt=%.1f us\n", server.str().c_str(),
                    static_cast<unsigned long long>(c.last_seq()), us);
        std::fflush(stdout);
        min_us = replies == 0 ? us : std::min(min_us, us);
        max_us = std::max(max_us, us);
        sum_us += us;
        ++replies;
    }
    if (count > 1) {
        std::printf("%llu/%llu PONGs", static_cast<unsigned long long>(replies),
                    static_cast<unsigned long long>(count));
        if (replies > 0) {
            std::printf(", rtt min/avg/max = %.1f/%.1f/%.1f us", min_us, sum_us / replies, max_us);
        }
        std::printf("\n");
    }
    return replies > 0 && !c.closed() ? 0 : 1;
}

// ---- stats and top: the DPDK telemetry socket ----

// Says on stderr why the telemetry socket failed, with a hint when nothing serves it.
void report_telemetry_error(const std::system_error& e, const telemetry_target& target) {
    std::fprintf(stderr, "ringcast: %s\n", e.what());
    if (e.code() == std::errc::no_such_file_or_directory || e.code() == std::errc::connection_refused) {
        std::fprintf(stderr, "ringcast: is ringcastd running with file prefix '%s'?\n",
                     target.prefix.c_str());
    }
}

// What a reply holds under the command's name (without its parameter): null
// when ringcastd does not serve the command, as DPDK answers {"<command>":null}.
json_value query_value(telemetry_client& t, const std::string& command) {
    const std::string reply = t.query(command);
    try {
        return parse_json(reply)[command.substr(0, command.find(','))];
    } catch (const json_error& e) {
        throw std::runtime_error("telemetry " + command + ": " + e.what());
    }
}


int run_stats(const command_line& cl) {
    const telemetry_target& target = cl.target;
    const bool json = cl.json;
    const std::vector<std::string>& operands = cl.operands;
    if (operands.size() > 1) {
        throw usage_error("stats: one COMMAND at most");
    }
    if (!operands.empty() && (operands[0].empty() || operands[0][0] != '/')) {
        throw usage_error("stats: COMMAND starts with '/': '" + operands[0] + "'");
    }
    // A named command, or --json, prints JSON as the socket gave it.
    const bool raw = json || !operands.empty();
    const std::string command = operands.empty() ? std::string(default_stats_command) : operands[0];

    std::string reply;
    try {
        telemetry_client t(target.path());
        if (!raw) {
            const stats_replies replies{.stats = query_value(t, "/ringcast/stats"),
                                        .config = query_value(t, "/ringcast/config"),
                                        .lcores = query_value(t, "/ringcast/lcores"),
                                        .ports = query_value(t, "/ringcast/ports"),
                                        .topics = query_value(t, "/ringcast/topics"),
                                        .subscribers = query_value(t, "/ringcast/subscribers"),
                                        .tcp = query_value(t, "/ringcast/tcp"),
                                        .mqtt = query_value(t, "/ringcast/mqtt")};
            if (!replies.stats.is_object()) {
                throw std::runtime_error("telemetry /ringcast/stats: no answer (is this ringcastd?)");
            }
            const std::string summary = stats_summary(replies);
            std::fwrite(summary.data(), 1, summary.size(), stdout);
            return 0;
        }
        reply = t.query(command);
    } catch (const std::system_error& e) {
        report_telemetry_error(e, target);
        return 1;
    }
    std::printf("%s\n", pretty_json(reply).c_str());
    // DPDK answers a command it does not know with {"<command>":null}.
    const std::string name = command.substr(0, command.find(','));
    if (reply == "{\"" + name + "\":null}") {
        std::fprintf(stderr, "ringcast: unknown telemetry command %s ('ringcast stats /' lists them)\n",
                     name.c_str());
        return 1;
    }
    return 0;
}


// Nothing when /ringcast/stats has no answer: not ringcastd, or one that is
// shutting down (it detaches its telemetry before it closes the socket).
std::optional<top_sample> take_sample(telemetry_client& t) {
    top_sample s;
    s.stats = query_value(t, "/ringcast/stats");
    if (!s.stats.is_object()) {
        return std::nullopt;
    }
    s.lcores = query_value(t, "/ringcast/lcores");
    s.ports = query_value(t, "/ringcast/ports");
    s.topics = query_value(t, "/ringcast/topics");
    s.tcp = query_value(t, "/ringcast/tcp");
    s.mqtt = query_value(t, "/ringcast/mqtt");
    s.at = steady::now();
    return s;
}


// The time of day, for top's first line.
std::string clock_text() {
    std::array<char, 16> clock{};
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    std::strftime(clock.data(), clock.size(), "%H:%M:%S", &tm);
    return clock.data();
}

// On a terminal: the frame cut to the window, so that it never scrolls.
std::string fit_to_terminal(const std::string& frame) {
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0) {
        return frame;
    }
    std::string out;
    size_t lines = 0;
    for (size_t pos = 0; pos < frame.size() && lines + 1 < ws.ws_row; ++lines) {
        size_t end = frame.find('\n', pos);
        end = end == std::string::npos ? frame.size() : end;
        out.append(frame, pos, std::min<size_t>(end - pos, ws.ws_col));
        out += '\n';
        pos = end + 1;
    }
    return out;
}

int run_top(const command_line& cl) {
    const telemetry_target& target = cl.target;
    const double interval_s = cl.interval_s.value_or(1);
    const uint64_t count = cl.count.value_or(0);
    const std::vector<std::string>& operands = cl.operands;
    if (!operands.empty()) {
        throw usage_error("top: unexpected argument '" + operands[0] + "'");
    }
    if (interval_s < min_top_interval) {
        std::array<char, 16> least{};
        std::snprintf(least.data(), least.size(), "%.1f", min_top_interval);
        throw usage_error("top: --interval below " + std::string(least.data()) + " s");
    }

    catch_stop_signals();
    const bool tty = ::isatty(STDOUT_FILENO) == 1;
    const auto interval =
        std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(interval_s));
    std::optional<top_sample> prev;
    try {
        telemetry_client t(target.path());
        for (uint64_t i = 0; (count == 0 || i < count) && !stop_requested; ++i) {
            if (i > 0) {
                const auto wake = prev->at + interval;
                while (!stop_requested && steady::now() < wake) {
                    std::this_thread::sleep_for(std::min<steady::duration>(stop_check, wake - steady::now()));
                }
                if (stop_requested) {
                    break;
                }
            }
            std::optional<top_sample> cur = take_sample(t);
            if (!cur && prev) {
                std::fprintf(stderr,
                             "ringcast: ringcastd stopped answering /ringcast/stats (it is exiting)\n");
                return 0;
            }
            if (!cur) {
                throw std::runtime_error("telemetry /ringcast/stats: no answer (is this ringcastd?)");
            }
            const std::string frame =
                top_frame(*cur, prev ? &*prev : nullptr, target.prefix, interval_s, clock_text());
            // Home and clear, then the whole frame in one write: no flicker.
            const std::string text =
                tty ? "\x1b[H\x1b[2J" + fit_to_terminal(frame) : (i > 0 ? "\n" : "") + frame;
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fflush(stdout);
            prev = std::move(cur);
        }
    } catch (const std::system_error& e) {
        const bool gone =
            prev.has_value() && (e.code() == std::errc::connection_reset ||
                                 e.code() == std::errc::broken_pipe || e.code() == std::errc::not_connected);
        if (gone) {
            std::fprintf(stderr, "ringcast: ringcastd closed its telemetry socket (it exited)\n");
            return 0;
        }
        report_telemetry_error(e, target);
        return 1;
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fwrite(usage_text.data(), 1, usage_text.size(), stderr);
        return 2;
    }
    const std::string_view command = argv[1];
    try {
        if (command == "sub") {
            return run_sub(parse_command_line(argc - 1, argv + 1));
        }
        if (command == "pub") {
            return run_pub(parse_command_line(argc - 1, argv + 1));
        }
        if (command == "ping") {
            return run_ping(parse_command_line(argc - 1, argv + 1));
        }
        if (command == "stats") {
            return run_stats(parse_command_line(argc - 1, argv + 1));
        }
        if (command == "top") {
            return run_top(parse_command_line(argc - 1, argv + 1));
        }
        if (command == "-h" || command == "--help" || command == "help") {
            throw help_requested{};
        }
        throw usage_error("unknown command '" + std::string(command) + "'");
    } catch (const help_requested&) {
        std::fwrite(usage_text.data(), 1, usage_text.size(), stdout);
        return 0;
    } catch (const usage_error& e) {
        std::fprintf(stderr, "ringcast: %s\nRun 'ringcast --help' for usage.\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ringcast: %s\n", e.what());
        return 1;
    }
}
