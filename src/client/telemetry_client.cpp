#include <ringcast/client/telemetry_client.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <system_error>
#include <unistd.h>

namespace ringcast {

namespace {

std::system_error sys_error(int err, const std::string& what) {
    return {err, std::generic_category(), what};
}

} // namespace

std::string telemetry_socket_path(std::string_view file_prefix) {
    std::string dir = "/tmp";
    if (::getuid() == 0) {
        dir = "/var/run";
    } else if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr) {
        dir = xdg;
    }
    return dir + "/dpdk/" + std::string(file_prefix) + "/dpdk_telemetry.v2";
}

telemetry_client::telemetry_client(const std::string& socket_path, std::chrono::milliseconds timeout)
    : _path(socket_path) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(sa.sun_path)) {
        throw sys_error(ENAMETOOLONG, "telemetry socket path " + socket_path);
    }
    std::memcpy(sa.sun_path, socket_path.c_str(), socket_path.size() + 1);

    _fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (_fd < 0) {
        throw sys_error(errno, "socket(AF_UNIX, SOCK_SEQPACKET)");
    }
    try {
        // A stuck or foreign server must not hang the CLI: every read gives up after `timeout`.
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
        const timeval tv{static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
        if (::setsockopt(_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
            throw sys_error(errno, "setsockopt(SO_RCVTIMEO)");
        }
        if (::connect(_fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
            throw sys_error(errno, "connect(" + _path + ")");
        }
        // The greeting ({"version", "pid", "max_output_len"}) says nothing a reply needs.
        (void)read_message("greeting");
    } catch (...) {
        ::close(_fd);
        throw;
    }
}

telemetry_client::~telemetry_client() {
    ::close(_fd);
}

std::string telemetry_client::query(std::string_view command) {
    for (;;) {
        if (::send(_fd, command.data(), command.size(), MSG_NOSIGNAL) >= 0) {
            break;
        }
        if (errno != EINTR) {
            throw sys_error(errno, "send(" + _path + ", " + std::string(command) + ")");
        }
    }
    return read_message("reply");
}

std::string telemetry_client::read_message(const char* what) {
    std::string buf(telemetry_max_reply, '\0');
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n;
    do {
        n = ::recvmsg(_fd, &msg, 0);
    } while (n < 0 && errno == EINTR);
    const std::string call = std::string("recv(") + _path + ", " + what + ")";
    if (n < 0) {
        throw sys_error(errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno, call);
    }
    if (n == 0) {
        throw sys_error(ECONNRESET, call);
    }
    // SEQPACKET cuts an oversized message silently unless the flag is checked.
    if ((msg.msg_flags & MSG_TRUNC) != 0) {
        throw sys_error(EMSGSIZE, call);
    }
    buf.resize(static_cast<size_t>(n));
    return buf;
}

std::string pretty_json(std::string_view json) {
    constexpr std::string_view blanks = " \t\r\n";
    std::string out;
    out.reserve(json.size() * 2);
    size_t depth = 0;
    bool in_string = false;
    bool escaped = false;
    const auto newline = [&] {
        out += '\n';
        out.append(2 * depth, ' ');
    };
    for (size_t i = 0; i < json.size(); ++i) {
        const char c = json[i];
        if (in_string) {
            out += c;
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        switch (c) {
        case '"':
            in_string = true;
            out += c;
            break;
        case '{':
        case '[': {
            out += c;
            const size_t next = json.find_first_not_of(blanks, i + 1);
            if (next != std::string_view::npos && json[next] == (c == '{' ? '}' : ']')) {
                out += json[next];
                i = next;
            } else {
                ++depth;
                newline();
            }
            break;
        }
        case '}':
        case ']':
            depth = depth > 0 ? depth - 1 : 0;
            newline();
            out += c;
            break;
        case ',':
            out += c;
            newline();
            break;
        case ':':
            out += ": ";
            break;
        case ' ':
        case '\t':
        case '\r':
        case '\n':
            break;
        default:
            out += c;
            break;
        }
    }
    return out;
}

} // namespace ringcast
