// ringcast: the command-line client of the appliance over kernel sockets.
// sub, pub and ping speak RCP/1 over UDP through ringcast::client; stats
// reads the appliance's DPDK telemetry socket. Exit status: 0 ok, 1 runtime
// failure, 2 usage error.
#include <ringcast/client.hpp>
#include <ringcast/telemetry_client.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <getopt.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace ringcast;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr std::string_view usage_text = R"(Usage: ringcast <command> [options] [arguments]

Commands:
    sub   [options] TOPIC...        Subscribe; print "SEQ TOPIC PAYLOAD" per message
    pub   [options] TOPIC MESSAGE   Publish MESSAGE (QoS 0)
    ping  [options]                 Send PINGs; print each round-trip time
    stats [options] [COMMAND]       Print a telemetry command's JSON (default: /ringcast/stats;
                                    "/" lists the commands)

Server Options (sub, pub, ping):
    -s, --server <addr[:port]>      Appliance UDP address (default: 192.0.2.1:7700)

Subscribe Options:
    -n, --count <n>                 Exit after n messages (default: 0, no limit)
    -t, --timeout <seconds>         Exit when no message came for this long (default: 0, never)

Publish Options:
    -n, --count <n>                 Messages to send; with n > 1 the i-th is "MESSAGE i" (default: 1)
    -r, --rate <per second>         Messages per second (default: 0, as fast as possible)

Ping Options:
    -n, --count <n>                 PINGs to send (default: 1)
    -i, --interval <seconds>        Pause between PINGs (default: 1)
    -t, --timeout <seconds>         Wait for each PONG (default: 1)

Stats Options:
    -f, --file-prefix <prefix>      ringcastd's EAL --file-prefix (default: ringcast)
    -S, --socket <path>             Telemetry socket path, instead of the one -f names

Common Options:
    -h, --help                      Show this message

Payloads that are not printable ASCII are printed as 0x and hex.
Exit status: 0 ok, 1 runtime failure, 2 usage error.
)";

constexpr std::string_view default_server = "192.0.2.1";
constexpr std::string_view default_prefix = "ringcast";
constexpr std::string_view default_stats_command = "/ringcast/stats";
// sub and ping wake at least this often to notice Ctrl-C.
constexpr auto stop_check = 200ms;
// pub without a rate hands the client this many messages at a time to pack.
constexpr size_t pub_chunk = 256;

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

double parse_seconds(const char* name, std::string_view s) {
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

// Runs getopt_long over argv (argv[0] is the command name), calling
// on_option(short_name, argument) for each option; returns the operands.
template <class OnOption>
std::vector<std::string> parse_options(int argc, char** argv, const char* shorts, const option* longs,
                                       OnOption&& on_option) {
    opterr = 0; // our messages, with the exit status 2
    optind = 1;
    for (;;) {
        const int c = getopt_long(argc, argv, shorts, longs, nullptr);
        if (c == -1) {
            break;
        }
        const std::string cmd = argv[0];
        if (c == 'h') {
            throw help_requested{};
        }
        if (c == ':') {
            throw usage_error(cmd + ": option '" + argv[optind - 1] + "' needs a value");
        }
        if (c == '?') {
            const std::string bad = optopt != 0 ? std::string("-") + char(optopt) : argv[optind - 1];
            throw usage_error(cmd + ": unknown option '" + bad + "'");
        }
        on_option(c, std::string_view(optarg != nullptr ? optarg : ""));
    }
    return {argv + optind, argv + argc};
}

bool printable(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
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
        std::fprintf(stderr, "ringcast: %s: %s: %s\n", what.c_str(), server.str().c_str(),
                     r.error.message().c_str());
        break;
    }
}

int run_sub(int argc, char** argv) {
    server_address server;
    uint64_t count = 0;
    double idle_s = 0;
    static const option longs[] = {
        {"server", required_argument, nullptr, 's'},
        {"count", required_argument, nullptr, 'n'},
        {"timeout", required_argument, nullptr, 't'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    const auto topics = parse_options(argc, argv, ":s:n:t:h", longs, [&](int c, std::string_view arg) {
        switch (c) {
        case 's':
            server = parse_server(arg);
            break;
        case 'n':
            count = parse_count("--count", arg);
            break;
        case 't':
            idle_s = parse_seconds("--timeout", arg);
            break;
        }
    });
    if (topics.empty()) {
        throw usage_error("sub: no TOPIC");
    }
    for (const auto& t : topics) {
        check_topic(t);
    }

    catch_stop_signals();
    client c(server.addr, server.port);
    for (const auto& t : topics) {
        const request_result r = c.subscribe(t);
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
    while (!stop_requested && (count == 0 || got < count)) {
        auto slice = std::chrono::duration_cast<std::chrono::milliseconds>(stop_check);
        if (idle_s > 0) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(last + idle - steady::now());
            if (left <= 0ms) {
                break;
            }
            slice = std::min(slice, left);
        }
        const std::optional<message> m = c.receive(slice);
        if (!m) {
            continue;
        }
        if (m->code == op::msg) {
            std::string line = std::to_string(m->seq) + " " + m->topic;
            if (!m->payload.empty()) {
                line += " " + display(m->payload);
            }
            std::puts(line.c_str());
            ++got;
            last = steady::now();
        } else if (m->code == op::err) {
            std::fprintf(stderr, "ringcast: ERR %s seq %llu: %s\n",
                         std::string(to_string(m->error())).c_str(), static_cast<unsigned long long>(m->seq),
                         display(m->payload).c_str());
        }
    }
    (void)c.bye();
    return 0;
}

int run_pub(int argc, char** argv) {
    server_address server;
    uint64_t count = 1;
    double rate = 0;
    static const option longs[] = {
        {"server", required_argument, nullptr, 's'},
        {"count", required_argument, nullptr, 'n'},
        {"rate", required_argument, nullptr, 'r'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    const auto operands = parse_options(argc, argv, ":s:n:r:h", longs, [&](int c, std::string_view arg) {
        switch (c) {
        case 's':
            server = parse_server(arg);
            break;
        case 'n':
            count = parse_count("--count", arg);
            break;
        case 'r':
            rate = parse_seconds("--rate", arg);
            break;
        }
    });
    if (operands.size() != 2) {
        throw usage_error("pub: need TOPIC and MESSAGE");
    }
    const std::string& topic = operands[0];
    const std::string& text = operands[1];
    check_topic(topic);
    const auto payload_of = [&](uint64_t i) { return count > 1 ? text + " " + std::to_string(i) : text; };

    client c(server.addr, server.port);
    const auto fail = [&](std::error_code ec) {
        std::fprintf(stderr, "ringcast: PUB %s: %s: %s\n", topic.c_str(), server.str().c_str(),
                     ec.message().c_str());
        return 1;
    };
    if (rate > 0) {
        const auto start = steady::now();
        for (uint64_t i = 1; i <= count; ++i) {
            std::this_thread::sleep_until(start + std::chrono::duration<double>((i - 1) / rate));
            if (auto ec = c.publish(topic, as_bytes(payload_of(i)))) {
                return fail(ec);
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
            batch.push_back({topic, as_bytes(p), 0});
        }
        if (auto ec = c.publish_batch(batch)) {
            return fail(ec);
        }
    }
    return 0;
}

int run_ping(int argc, char** argv) {
    server_address server;
    uint64_t count = 1;
    double interval_s = 1;
    double timeout_s = 1;
    static const option longs[] = {
        {"server", required_argument, nullptr, 's'},   {"count", required_argument, nullptr, 'n'},
        {"interval", required_argument, nullptr, 'i'}, {"timeout", required_argument, nullptr, 't'},
        {"help", no_argument, nullptr, 'h'},           {nullptr, 0, nullptr, 0},
    };
    const auto operands = parse_options(argc, argv, ":s:n:i:t:h", longs, [&](int c, std::string_view arg) {
        switch (c) {
        case 's':
            server = parse_server(arg);
            break;
        case 'n':
            count = parse_count("--count", arg);
            break;
        case 'i':
            interval_s = parse_seconds("--interval", arg);
            break;
        case 't':
            timeout_s = parse_seconds("--timeout", arg);
            break;
        }
    });
    if (!operands.empty()) {
        throw usage_error("ping: unexpected argument '" + operands[0] + "'");
    }

    catch_stop_signals();
    client c(server.addr, server.port);
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
    return replies > 0 ? 0 : 1;
}

int run_stats(int argc, char** argv) {
    std::string prefix(default_prefix);
    std::string socket_path;
    static const option longs[] = {
        {"file-prefix", required_argument, nullptr, 'f'},
        {"socket", required_argument, nullptr, 'S'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    const auto operands = parse_options(argc, argv, ":f:S:h", longs, [&](int c, std::string_view arg) {
        switch (c) {
        case 'f':
            prefix = arg;
            break;
        case 'S':
            socket_path = arg;
            break;
        }
    });
    if (operands.size() > 1) {
        throw usage_error("stats: one COMMAND at most");
    }
    const std::string command = operands.empty() ? std::string(default_stats_command) : operands[0];
    if (command.empty() || command[0] != '/') {
        throw usage_error("stats: COMMAND starts with '/': '" + command + "'");
    }
    if (socket_path.empty()) {
        socket_path = telemetry_socket_path(prefix);
    }

    std::string reply;
    try {
        telemetry_client t(socket_path);
        reply = t.query(command);
    } catch (const std::system_error& e) {
        std::fprintf(stderr, "ringcast: %s\n", e.what());
        if (e.code() == std::errc::no_such_file_or_directory || e.code() == std::errc::connection_refused) {
            std::fprintf(stderr, "ringcast: is ringcastd running with file prefix '%s'?\n", prefix.c_str());
        }
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

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fwrite(usage_text.data(), 1, usage_text.size(), stderr);
        return 2;
    }
    const std::string_view command = argv[1];
    try {
        if (command == "sub") {
            return run_sub(argc - 1, argv + 1);
        }
        if (command == "pub") {
            return run_pub(argc - 1, argv + 1);
        }
        if (command == "ping") {
            return run_ping(argc - 1, argv + 1);
        }
        if (command == "stats") {
            return run_stats(argc - 1, argv + 1);
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
