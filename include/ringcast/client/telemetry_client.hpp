// Client of the DPDK telemetry socket (v2) that ringcastd serves its
// /ringcast/* commands on, as dpdk-telemetry.py is. Returns replies as the
// raw JSON text; no DPDK here.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace ringcast {

// DPDK's output buffer is 16 KiB; a reply that does not fit here is an error, not cut short.
inline constexpr size_t telemetry_max_reply = 64 * 1024;

// Where a DPDK process started with --file-prefix=`file_prefix` serves
// telemetry: <runtime dir>/dpdk/<prefix>/dpdk_telemetry.v2, the runtime dir
// being /var/run for root, else $XDG_RUNTIME_DIR, else /tmp (DPDK's
// eal_get_runtime_dir rule).
[[nodiscard]] std::string telemetry_socket_path(std::string_view file_prefix);

class telemetry_client {
public:
    // Connects (AF_UNIX, SOCK_SEQPACKET) and reads and discards the server's
    // JSON greeting. Throws std::system_error naming the call and the path.
    // `timeout` bounds each wait for a message from the server.
    explicit telemetry_client(const std::string& socket_path,
                              std::chrono::milliseconds timeout = std::chrono::milliseconds{2000});
    ~telemetry_client();
    telemetry_client(const telemetry_client&) = delete;
    telemetry_client& operator=(const telemetry_client&) = delete;

    // Sends one command ("/ringcast/stats", "/ethdev/stats,0") and returns
    // the reply message's JSON text as received. Throws std::system_error on
    // a send or receive failure, a timeout (ETIMEDOUT), a closed socket
    // (ECONNRESET) or a reply over telemetry_max_reply (EMSGSIZE).
    [[nodiscard]] std::string query(std::string_view command);

private:
    std::string read_message(const char* what);

    int _fd = -1;
    std::string _path;
};

// Indents JSON text for people: a newline and two spaces per level after
// each '{', '[' and ',', one space after ':', and input whitespace outside
// strings dropped. Tracks only nesting and strings (escapes included), so it
// never validates; empty objects and arrays stay "{}" and "[]".
[[nodiscard]] std::string pretty_json(std::string_view json);

} // namespace ringcast
