#include <ringcast/bridge/stats_socket.hpp>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace ringcast {

namespace {

[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

// DPDK's telemetry clients read at most this much per reply.
constexpr size_t max_output_len = 16384;

} // namespace

stats_socket::stats_socket(std::string path, std::function<std::string()> stats)
    : _path(std::move(path)), _stats(std::move(stats)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (_path.size() >= sizeof(addr.sun_path)) {
        errno = ENAMETOOLONG;
        fail("stats socket path");
    }
    std::memcpy(addr.sun_path, _path.c_str(), _path.size() + 1);
    _listen = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (_listen < 0) {
        fail("socket");
    }
    ::unlink(_path.c_str());
    if (::bind(_listen, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
        const int e = errno;
        ::close(_listen);
        errno = e;
        fail("bind");
    }
    if (::listen(_listen, 8) != 0) {
        fail("listen");
    }
    _stop_fd = eventfd(0, EFD_CLOEXEC);
    if (_stop_fd < 0) {
        fail("eventfd");
    }
    _thread = std::thread([this] { serve(); });
}

stats_socket::~stats_socket() {
    const uint64_t one = 1;
    (void)!::write(_stop_fd, &one, sizeof(one));
    _thread.join();
    ::close(_listen);
    ::close(_stop_fd);
    ::unlink(_path.c_str());
}

void stats_socket::serve() {
    for (;;) {
        pollfd fds[2] = {{_listen, POLLIN, 0}, {_stop_fd, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
            return;
        }
        if ((fds[1].revents & POLLIN) != 0) {
            return;
        }
        if ((fds[0].revents & POLLIN) != 0) {
            const int fd = ::accept4(_listen, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd >= 0) {
                answer(fd);
                ::close(fd);
            }
        }
    }
}

// One client at a time, as a scrape is: greeting, then commands until it goes.
void stats_socket::answer(int fd) {
    const std::string hello = "{\"version\": \"ringcast-bridge\", \"pid\": " + std::to_string(::getpid()) +
                              ", \"max_output_len\": " + std::to_string(max_output_len) + "}";
    if (::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL) < 0) {
        return;
    }
    char buf[1024];
    for (;;) {
        pollfd fds[2] = {{fd, POLLIN, 0}, {_stop_fd, POLLIN, 0}};
        if (::poll(fds, 2, 5000) <= 0 || (fds[1].revents & POLLIN) != 0) {
            return; // an idle client does not hold the socket
        }
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            return;
        }
        std::string cmd(buf, static_cast<size_t>(n));
        if (const size_t comma = cmd.find(','); comma != std::string::npos) {
            cmd.resize(comma); // "/cmd,param": no command here takes one
        }
        std::string reply;
        if (cmd == "/") {
            reply = R"({"/": ["/", "/info", "/bridge/stats"]})";
        } else if (cmd == "/info") {
            reply = "{\"/info\": {\"version\": \"ringcast-bridge\", \"output_buffer_len\": " +
                    std::to_string(max_output_len) + "}}";
        } else if (cmd == "/bridge/stats") {
            reply = "{\"/bridge/stats\": " + _stats() + "}";
        } else {
            reply = "{}"; // what DPDK answers an unknown command
        }
        if (::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) {
            return;
        }
    }
}

} // namespace ringcast
