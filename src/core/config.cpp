#include <ringcast/core/config.hpp>
#include <ringcast/core/sha256.hpp>
#include <ringcast/core/topic.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <tuple>
#include <utility>

namespace ringcast {

namespace {

// Debian's DPDK 22.11 is built with RTE_MAX_LCORE = 128.
constexpr uint32_t max_lcore = 128;
// A token is a HELLO's payload: a bound keeps the digest cheap and the frame small.
constexpr size_t max_token_len = 255;
constexpr size_t max_identity_name_len = 64;
// Loss injection drops live deliveries on purpose. Named here because the key
// is refused by name anywhere but [debug]: a test switch must never take
// effect, or pass as a mere typo, in a production table.
constexpr std::string_view debug_only_key = "inject_loss";
// More than half lost shows nothing about repair that half does not, and
// would have retransmissions outnumber live deliveries.
constexpr double max_inject_loss = 0.5;

enum class must : uint8_t {
    be_in_range,
    be_power_of_two, // ring and descriptor counts: DPDK masks indices with size - 1
};

std::string_view type_name(toml::node_type t) {
    switch (t) {
    case toml::node_type::table:
        return "a table";
    case toml::node_type::array:
        return "an array";
    case toml::node_type::string:
        return "a string";
    case toml::node_type::integer:
        return "an integer";
    case toml::node_type::floating_point:
        return "a floating-point number";
    case toml::node_type::boolean:
        return "a boolean";
    case toml::node_type::date:
        return "a date";
    case toml::node_type::time:
        return "a time";
    case toml::node_type::date_time:
        return "a date-time";
    case toml::node_type::none:
        break;
    }
    return "nothing";
}

std::string quote(std::string_view s) {
    std::string q;
    q.reserve(s.size() + 2);
    q += '"';
    q += s;
    q += '"';
    return q;
}

// The shortest text that reads back as `v`: 0.6, not 0.599999.
std::string shortest(double v) {
    char buf[32];
    return std::string(buf, std::to_chars(buf, buf + sizeof(buf), v).ptr);
}

// Control characters as TOML writes them (\u0000), so a message never
// carries a raw NUL or escape sequence to the terminal.
std::string escaped(std::string_view s) {
    std::string out;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

std::string indexed(std::string_view name, size_t i) {
    return std::string(name) + "[" + std::to_string(i) + "]";
}

class error_sink {
public:
    explicit error_sink(std::string_view path) : _path(path) {}

    // Schema walk for known_config_keys(): every key looked up is recorded,
    // and tables the text lacks are read as empty, so the readers that parse
    // are also the one list of keys.
    void record_keys(std::vector<std::string>& keys) { _keys = &keys; }
    bool recording() const { return _keys != nullptr; }
    void record(std::string key) {
        if (std::find(_keys->begin(), _keys->end(), key) == _keys->end()) {
            _keys->push_back(std::move(key));
        }
    }

    // A zero position (line 0) means "no position": to_string() leaves it out.
    void add(const toml::source_position& where, std::string message) {
        _errors.push_back(config_error{_path, where.line, where.column, std::move(message)});
    }

    // In file order, errors without a position last, so a reader fixes them top down.
    std::vector<config_error> take() {
        std::stable_sort(_errors.begin(), _errors.end(), [](const config_error& a, const config_error& b) {
            return std::tuple(a.line == 0, a.line, a.column) < std::tuple(b.line == 0, b.line, b.column);
        });
        return std::move(_errors);
    }

private:
    std::string _path;
    std::vector<config_error> _errors;
    std::vector<std::string>* _keys = nullptr;
};

// One TOML table being read. Each key looked up is marked as known, so what
// is left at the end is reported as unknown without listing the keys twice.
// A key that is absent leaves its field at the struct's default.
class section {
public:
    section(error_sink& sink, const toml::table& table, std::string name, toml::source_position where)
        : _sink(sink), _table(table), _name(std::move(name)), _where(where) {}

    std::string full(std::string_view key) const {
        return _name.empty() ? std::string(key) : _name + "." + std::string(key);
    }

    bool has(std::string_view key) const { return _table.contains(key); }

    // The node at `key` when present and of type `want` (any type for
    // node_type::none); a wrong type is reported, a missing one only when required.
    const toml::node* take(std::string_view key, toml::node_type want, bool required = false) {
        _known.emplace_back(key);
        if (_sink.recording()) {
            _sink.record(full(key));
        }
        const toml::node* n = _table.get(key);
        if (n == nullptr) {
            if (required) {
                fail(key, "missing (required)");
            }
            return nullptr;
        }
        if (want != toml::node_type::none && n->type() != want) {
            type_error(*n, full(key), want);
            return nullptr;
        }
        return n;
    }

    // Reports "<section>.<key>: <what>" at the key's value, else at `near`'s
    // value, else at the table header.
    void fail(std::string_view key, std::string_view what, std::string_view near = {}) {
        const toml::node* at = _table.get(key);
        if (at == nullptr && !near.empty()) {
            at = _table.get(near);
        }
        _sink.add(at != nullptr ? at->source().begin : _where, full(key) + ": " + std::string(what));
    }

    template <class T>
    void integer(std::string_view key, T& out, uint64_t min, uint64_t max, must rule = must::be_in_range) {
        static_assert(std::is_unsigned_v<T>);
        if (const toml::node* n = take(key, toml::node_type::none)) {
            if (const auto v = check_uint(*n, full(key), min, max, rule)) {
                out = static_cast<T>(*v);
            }
        }
    }

    // A fraction 0..max, written as a float (an integer is accepted too, so
    // "0" is not a type error), stored in parts per million.
    void fraction_ppm(std::string_view key, uint32_t& out, double max) {
        const toml::node* n = take(key, toml::node_type::none);
        if (n == nullptr) {
            return;
        }
        double v = 0;
        if (n->is_floating_point()) {
            v = n->as_floating_point()->get();
        } else if (n->is_integer()) {
            v = static_cast<double>(n->as_integer()->get());
        } else {
            type_error(*n, full(key), toml::node_type::floating_point);
            return;
        }
        if (!(v >= 0.0 && v <= max)) { // NaN fails too
            _sink.add(n->source().begin,
                      full(key) + ": must be between 0.0 and " + shortest(max) + ", got " + shortest(v));
            return;
        }
        out = static_cast<uint32_t>(std::lround(v * 1e6));
    }

    // A table whose keys are names, refused when `bad_name(name)` returns a
    // reason, and whose values are integers min..max. `out` gets every pair
    // only when all are good, in file order.
    template <class BadName>
    void named_integers(std::string_view key, std::vector<std::pair<std::string, uint32_t>>& out,
                        uint64_t min, uint64_t max, BadName bad_name) {
        const toml::node* n = take(key, toml::node_type::table);
        if (n == nullptr) {
            return;
        }
        std::vector<std::pair<std::string, uint32_t>> values;
        bool ok = true;
        for (const auto& [name, value] : *n->as_table()) {
            const std::string entry = full(key) + "." + quote(escaped(name.str()));
            if (const std::string reason = bad_name(name.str()); !reason.empty()) {
                _sink.add(name.source().begin, entry + ": " + reason);
                ok = false;
            } else if (const auto v = check_uint(value, entry, min, max, must::be_in_range)) {
                values.emplace_back(std::string(name.str()), static_cast<uint32_t>(*v));
            } else {
                ok = false;
            }
        }
        if (ok) {
            out = std::move(values);
        }
    }

    void boolean(std::string_view key, bool& out) {
        if (const toml::node* n = take(key, toml::node_type::boolean)) {
            out = n->as_boolean()->get();
        }
    }

    // A string turned into T by `parse` (std::optional<T>(std::string_view));
    // `expected` says what was wanted when it returns nullopt.
    template <class T, class Parse>
    bool string_as(std::string_view key, T& out, std::string_view expected, Parse parse,
                   bool required = false) {
        const toml::node* n = take(key, toml::node_type::string, required);
        if (n == nullptr) {
            return false;
        }
        const std::string& text = n->as_string()->get();
        auto v = parse(std::string_view(text));
        if (!v) {
            _sink.add(n->source().begin,
                      full(key) + ": expected " + std::string(expected) + ", got " + quote(text));
            return false;
        }
        out = std::move(*v);
        return true;
    }

    // Non-empty strings: an empty one would end EAL's option parsing.
    void strings(std::string_view key, std::vector<std::string>& out) {
        const toml::array* a = array(key);
        if (a == nullptr) {
            return;
        }
        std::vector<std::string> values;
        for (size_t i = 0; i < a->size(); ++i) {
            const toml::node& e = (*a)[i];
            if (!e.is_string()) {
                type_error(e, indexed(full(key), i), toml::node_type::string);
            } else if (e.as_string()->get().empty()) {
                _sink.add(e.source().begin, indexed(full(key), i) + ": must not be empty");
            } else {
                values.push_back(e.as_string()->get());
            }
        }
        if (values.size() == a->size()) {
            out = std::move(values);
        }
    }

    // A non-empty list of distinct lcore ids.
    void lcores(std::string_view key, std::vector<uint32_t>& out) {
        const toml::array* a = array(key);
        if (a == nullptr) {
            return;
        }
        if (a->empty()) {
            fail(key, "must list at least one lcore");
            return;
        }
        std::vector<uint32_t> ids;
        bool ok = true;
        for (size_t i = 0; i < a->size(); ++i) {
            const std::string name = indexed(full(key), i);
            const auto id = check_uint((*a)[i], name, 0, max_lcore - 1, must::be_in_range);
            if (!id) {
                ok = false;
            } else if (std::find(ids.begin(), ids.end(), *id) != ids.end()) {
                _sink.add((*a)[i].source().begin,
                          name + ": lcore " + std::to_string(*id) + " is listed twice");
                ok = false;
            } else {
                ids.push_back(static_cast<uint32_t>(*id));
            }
        }
        if (ok) {
            out = std::move(ids);
        }
    }

    // Reads the sub-table at `key` with `read(section&)`, then rejects what it left.
    template <class Read> void table(std::string_view key, Read read) {
        if (const toml::node* n = take(key, toml::node_type::table)) {
            section s(_sink, *n->as_table(), full(key), n->source().begin);
            read(s);
            s.reject_unknown();
        } else if (_sink.recording()) {
            const toml::table empty;
            section s(_sink, empty, full(key), _where);
            read(s);
        }
    }

    void reject_unknown() {
        for (const auto& [key, node] : _table) {
            if (std::find(_known.begin(), _known.end(), key.str()) != _known.end()) {
                continue;
            }
            if (key.str() == debug_only_key) {
                _sink.add(key.source().begin,
                          full(key.str()) + ": only accepted in [debug] (a switch for tests and demos)");
            } else {
                _sink.add(key.source().begin,
                          full(key.str()) + (node.is_table() ? ": unknown table" : ": unknown key"));
            }
        }
    }

    error_sink& sink() { return _sink; }

private:
    const toml::array* array(std::string_view key) {
        const toml::node* n = take(key, toml::node_type::array);
        return n != nullptr ? n->as_array() : nullptr;
    }

    void type_error(const toml::node& n, const std::string& name, toml::node_type want) {
        _sink.add(n.source().begin, name + ": expected " + std::string(type_name(want)) + ", got " +
                                        std::string(type_name(n.type())));
    }

    // The one place integers are checked, for keys and array elements alike.
    std::optional<uint64_t> check_uint(const toml::node& n, const std::string& name, uint64_t min,
                                       uint64_t max, must rule) {
        if (!n.is_integer()) {
            type_error(n, name, toml::node_type::integer);
            return std::nullopt;
        }
        const int64_t v = n.as_integer()->get();
        const bool in_range = v >= 0 && static_cast<uint64_t>(v) >= min && static_cast<uint64_t>(v) <= max;
        if (!in_range || (rule == must::be_power_of_two && !std::has_single_bit(static_cast<uint64_t>(v)))) {
            _sink.add(n.source().begin, name + ": must be " +
                                            (rule == must::be_power_of_two ? "a power of two " : "") +
                                            "between " + std::to_string(min) + " and " + std::to_string(max) +
                                            ", got " + std::to_string(v));
            return std::nullopt;
        }
        return static_cast<uint64_t>(v);
    }

    error_sink& _sink;
    const toml::table& _table;
    std::string _name;
    toml::source_position _where;
    std::vector<std::string> _known;
};

// Strict a.b.c.d: four decimal parts 0..255 without leading zeros, which
// inet_aton would read as octal.
std::optional<uint32_t> parse_ipv4(std::string_view s) {
    uint32_t addr = 0;
    for (int part = 0; part < 4; ++part) {
        if (part > 0) {
            if (s.empty() || s.front() != '.') {
                return std::nullopt;
            }
            s.remove_prefix(1);
        }
        size_t digits = 0;
        uint32_t v = 0;
        while (digits < s.size() && digits < 4 && s[digits] >= '0' && s[digits] <= '9') {
            v = v * 10 + static_cast<uint32_t>(s[digits] - '0');
            ++digits;
        }
        if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s.front() == '0')) {
            return std::nullopt;
        }
        addr = addr << 8 | v;
        s.remove_prefix(digits);
    }
    if (!s.empty()) {
        return std::nullopt;
    }
    return addr;
}

// A port's own address: not 0/8, loopback, multicast, or 240/4 (which holds
// the broadcast address), none of which a host may answer ARP for.
std::optional<uint32_t> parse_unicast_ipv4(std::string_view s) {
    const auto addr = parse_ipv4(s);
    if (!addr) {
        return std::nullopt;
    }
    const uint32_t first = *addr >> 24;
    if (first == 0 || first == 127 || first >= 224) {
        return std::nullopt;
    }
    return addr;
}

// The prefix names files under /var/run/dpdk and hugetlbfs, and the
// telemetry socket directory: keep it to characters safe in a path.
std::optional<std::string> parse_file_prefix(std::string_view s) {
    const auto safe = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-';
    };
    if (s.empty() || !std::all_of(s.begin(), s.end(), safe)) {
        return std::nullopt;
    }
    return std::string(s);
}

std::optional<hugepage_mode> parse_hugepage_mode(std::string_view s) {
    if (s == "auto") {
        return hugepage_mode::automatic;
    }
    if (s == "on") {
        return hugepage_mode::on;
    }
    if (s == "off") {
        return hugepage_mode::off;
    }
    return std::nullopt;
}

std::optional<std::string> non_empty(std::string_view s) {
    if (s.empty()) {
        return std::nullopt;
    }
    return std::string(s);
}

// Each reader below is the schema of one table: key, range, and (through
// the field it fills) the default.

void read_eal(section& s, eal_config& e) {
    s.integer("main_lcore", e.main_lcore, 0, max_lcore - 1);
    s.string_as("file_prefix", e.file_prefix, "a non-empty name of A-Z a-z 0-9 _ -", parse_file_prefix);
    s.string_as("hugepages", e.hugepages, "\"auto\", \"on\" or \"off\"", parse_hugepage_mode);
    s.integer("memory_mb", e.memory_mb, 64, 1'048'576);
    s.strings("vdevs", e.vdevs);
    s.strings("allow", e.allow);
    s.strings("args", e.args);
}

void read_lcores(section& s, lcore_config& l) {
    s.lcores("io", l.io);
    s.lcores("worker", l.worker);
}

// Returns which of device and ipv4 were read, for the duplicate checks.
std::pair<bool, bool> read_port(section& s, port_config& p) {
    const bool device = s.string_as("device", p.device, "a non-empty ethdev name", non_empty, true);
    const bool ipv4 = s.string_as("ipv4", p.ipv4, "a unicast dotted-quad IPv4 address such as \"192.0.2.1\"",
                                  parse_unicast_ipv4, true);
    s.integer("rx_desc", p.rx_desc, 64, 4096, must::be_power_of_two);
    s.integer("tx_desc", p.tx_desc, 64, 4096, must::be_power_of_two);
    s.boolean("verify_udp_checksum", p.verify_udp_checksum);
    return {device, ipv4};
}

void read_mempool(section& s, mempool_config& m) {
    s.integer("mbufs", m.mbufs, 1023, 16'777'215);
    s.integer("cache", m.cache, 0, 512);
    s.integer("headers", m.headers, 1023, 16'777'215);
    s.integer("indirect", m.indirect, 255, 16'777'215);
    // The one cache size serves every pool, and rte_mempool_create refuses a
    // cache whose flush threshold (cache * 3 / 2) exceeds the pool.
    const std::pair<std::string_view, uint32_t> pools[] = {
        {"mbufs", m.mbufs}, {"headers", m.headers}, {"indirect", m.indirect}};
    for (const auto& [key, size] : pools) {
        if (m.cache * 3 / 2 > size) {
            s.fail("cache",
                   std::to_string(m.cache) + " is too large for mempool." + std::string(key) + " = " +
                       std::to_string(size) + " (DPDK needs cache * 1.5 <= pool size): at most " +
                       std::to_string((2 * size + 1) / 3),
                   key);
        }
    }
}

void read_rings(section& s, ring_config& r) {
    s.integer("size", r.size, 64, 65'536, must::be_power_of_two);
}

void read_rcp(section& s, rcp_config& r) {
    s.integer("udp_port", r.udp_port, 1, 65'535);
    s.integer("lease_s", r.lease_s, 1, 86'400);
    s.boolean("require_auth", r.require_auth);
    s.integer("err_per_s", r.err_per_s, 0, 1'000'000);
    s.integer("err_global_per_s", r.err_global_per_s, 0, 10'000'000);
}

void read_limits(section& s, limits_config& l) {
    s.integer("topics", l.topics, 1, 16'777'216);
    s.integer("subscriptions", l.subscriptions, 1, 67'108'864);
    s.integer("subscribers", l.subscribers, 1, 16'777'216);
    s.integer("topic_len", l.topic_len, 1, 255);
    s.integer("filters", l.filters, 1, 16'777'216);
    s.integer("groups", l.groups, 1, 16'777'216);
    s.integer("topic_idle_s", l.topic_idle_s, 1, 86'400);
    s.integer("delivery_rate", l.delivery_rate, 0, 100'000'000);
    s.integer("delivery_burst", l.delivery_burst, 1, 16'777'216);
    s.integer("source_subscriptions", l.source_subscriptions, 0, 67'108'864);
    s.integer("source_topics_per_s", l.source_topics_per_s, 0, 16'777'216);
}

std::optional<std::string> parse_identity_name(std::string_view s) {
    const auto safe = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-' || c == '.';
    };
    if (s.empty() || s.size() > max_identity_name_len || !std::all_of(s.begin(), s.end(), safe)) {
        return std::nullopt;
    }
    return std::string(s);
}

// Why a non-empty topic prefix (retention.prefixes, identity.publish) is
// refused, or "" when it is good. A prefix must be the start of some valid
// PUB topic: that topic checked with one more byte appended is exactly the
// prefix's own check ("md/" is fine, "/md" and "a//" could never match).
std::string bad_topic_prefix(std::string_view prefix, uint32_t topic_len) {
    if (prefix.size() > topic_len) {
        return "longer than limits.topic_len = " + std::to_string(topic_len) + " bytes";
    }
    std::string topic(prefix);
    topic += 'x';
    const topic_check c = check_pub_topic(std::as_bytes(std::span(topic)), topic.size());
    return c == topic_check::ok ? std::string{} : "not the start of a valid topic: " + std::string(to_string(c));
}

// A publish ACL entry: "" (every topic) or the start of a valid topic.
std::string bad_publish_prefix(std::string_view prefix, uint32_t topic_len) {
    return prefix.empty() ? std::string{} : bad_topic_prefix(prefix, topic_len);
}

// A subscribe ACL entry: a filter, not a $share (groups are the subscriber's choice).
std::string bad_subscribe_filter(std::string_view filter, uint32_t topic_len) {
    filter_spec spec;
    const topic_check c = parse_filter(std::as_bytes(std::span(filter)), topic_len, spec);
    if (c != topic_check::ok) {
        return "not a valid filter: " + std::string(to_string(c));
    }
    if (spec.shared()) {
        return "a $share filter; list the filter alone (any group may use it)";
    }
    return {};
}

// Strings each refused when `bad(s)` gives a reason; empty strings allowed.
template <class Bad>
void acl_list(section& s, std::string_view key, std::vector<std::string>& out, Bad bad) {
    const toml::node* n = s.take(key, toml::node_type::array);
    if (n == nullptr) {
        return;
    }
    const toml::array& a = *n->as_array();
    std::vector<std::string> values;
    for (size_t i = 0; i < a.size(); ++i) {
        const std::string name = indexed(s.full(key), i);
        if (!a[i].is_string()) {
            s.sink().add(a[i].source().begin, name + ": expected a string, got " + std::string(type_name(a[i].type())));
            continue;
        }
        const std::string& v = a[i].as_string()->get();
        if (const std::string reason = bad(v); !reason.empty()) {
            s.sink().add(a[i].source().begin, name + ": " + reason + ", got " + quote(escaped(v)));
            continue;
        }
        values.push_back(v);
    }
    if (values.size() == a.size()) {
        out = std::move(values);
    }
}

// Returns whether a digest was read, for the duplicate check.
bool read_identity(section& s, identity_config& id, uint32_t topic_len) {
    s.string_as("name", id.name, "a name of 1 to 64 A-Z a-z 0-9 _ - .", parse_identity_name, true);
    bool have = false;
    if (s.has("token") && s.has("token_sha256")) {
        s.fail("token", "give token or token_sha256, not both");
    }
    if (const toml::node* n = s.take("token", toml::node_type::string)) {
        const std::string& token = n->as_string()->get();
        if (token.empty() || token.size() > max_token_len) {
            // The token is a secret: say how long it is, never what it is.
            s.fail("token", "must be 1 to " + std::to_string(max_token_len) + " bytes, got " +
                                std::to_string(token.size()));
        } else {
            id.token_sha256 = sha256(std::as_bytes(std::span(token)));
            have = true;
        }
    }
    have = s.string_as("token_sha256", id.token_sha256, "64 hex digits (sha256sum of the token)", digest_from_hex) ||
           have;
    if (!have && !s.has("token") && !s.has("token_sha256") && !s.sink().recording()) {
        s.fail("token_sha256", "missing: give token_sha256 (or token)", "name");
    }
    acl_list(s, "publish", id.publish, [&](std::string_view p) { return bad_publish_prefix(p, topic_len); });
    acl_list(s, "subscribe", id.subscribe, [&](std::string_view f) { return bad_subscribe_filter(f, topic_len); });
    return have;
}

void read_identities(section& root, std::vector<identity_config>& out, uint32_t topic_len) {
    if (root.sink().recording()) {
        (void)root.take("identity", toml::node_type::array);
        const toml::table empty;
        section s(root.sink(), empty, "identity", toml::source_position{});
        identity_config id;
        (void)read_identity(s, id, topic_len);
        return;
    }
    const toml::node* n = root.take("identity", toml::node_type::array);
    if (n == nullptr) {
        return;
    }
    const toml::array& tables = *n->as_array();
    if (tables.size() > max_identities) {
        root.fail("identity", "at most " + std::to_string(max_identities) + " [[identity]] tables, got " +
                                  std::to_string(tables.size()));
        return;
    }
    for (size_t i = 0; i < tables.size(); ++i) {
        const toml::node& e = tables[i];
        const std::string name = indexed("identity", i);
        if (!e.is_table()) {
            root.sink().add(e.source().begin, name + ": expected a table, got " + std::string(type_name(e.type())));
            continue;
        }
        section s(root.sink(), *e.as_table(), name, e.source().begin);
        identity_config id;
        const bool have = read_identity(s, id, topic_len);
        s.reject_unknown();
        for (const identity_config& other : out) {
            if (!id.name.empty() && other.name == id.name) {
                s.fail("name", "duplicate identity name " + quote(id.name));
            }
            if (have && other.token_sha256 == id.token_sha256) {
                // A HELLO must name one identity.
                s.fail(s.has("token") ? "token" : "token_sha256", "same token as identity " + quote(other.name));
            }
        }
        out.push_back(std::move(id));
    }
}

std::string bad_retention_prefix(std::string_view prefix, uint32_t topic_len) {
    if (prefix.empty()) {
        return "must not be empty (retention.keep is the default for every topic)";
    }
    return bad_topic_prefix(prefix, topic_len);
}

void read_retention(section& s, retention_config& r, uint32_t topic_len) {
    s.integer("keep", r.keep, 0, 1'048'576);
    std::vector<std::pair<std::string, uint32_t>> prefixes;
    s.named_integers("prefixes", prefixes, 0, 1'048'576,
                     [&](std::string_view p) { return bad_retention_prefix(p, topic_len); });
    for (auto& [prefix, keep] : prefixes) {
        r.prefixes.push_back(retention_prefix{std::move(prefix), keep});
    }
    s.integer("max_messages", r.max_messages, 0, 16'777'216);
    s.integer("last_values", r.last_values, 0, 16'777'216);
    // Per-topic rings draw from the global cap: with none, nothing is kept.
    if (r.max_messages == 0) {
        if (r.keep > 0) {
            s.fail("keep", "needs retention.max_messages > 0", "max_messages");
        }
        for (const retention_prefix& p : r.prefixes) {
            if (p.keep > 0) {
                s.fail("prefixes", quote(p.prefix) + " = " + std::to_string(p.keep) +
                                       " needs retention.max_messages > 0");
            }
        }
    }
}

void read_qos(section& s, qos_config& q) {
    s.integer("dedup_window_ms", q.dedup_window_ms, 1, 3'600'000);
    s.integer("dedup_entries", q.dedup_entries, 1, 16'777'216);
}

void read_repair(section& s, repair_config& r) {
    s.integer("nack_rate", r.nack_rate, 0, 100'000'000);
    s.integer("nack_burst", r.nack_burst, 1, 16'777'216);
}

void read_tx(section& s, tx_config& t) {
    s.boolean("coalesce", t.coalesce);
    s.integer("mtu", t.mtu, 576, max_mtu);
    s.integer("copy_below", t.copy_below, 0, max_mtu);
}

std::optional<slow_consumer_policy> parse_slow_consumer(std::string_view s) {
    if (s == "drop") {
        return slow_consumer_policy::drop;
    }
    if (s == "close") {
        return slow_consumer_policy::close;
    }
    return std::nullopt;
}

void read_tcp(section& s, tcp_lite_config& t) {
    s.boolean("enabled", t.enabled);
    s.integer("port", t.port, 1, 65'535);
    s.integer("connections", t.connections, 1, 1'048'576);
    s.integer("time_wait", t.time_wait, 1, 1'048'576);
    s.integer("send_queue", t.send_queue, 4096, 1 << 30);
    s.integer("queue_entries", t.queue_entries, 64, 1 << 26);
    s.integer("receive_buffer", t.receive_buffer, 4096, 1 << 30);
    s.string_as("slow_consumer", t.slow_consumer, "\"drop\" or \"close\"", parse_slow_consumer);
    s.integer("idle_timeout_s", t.idle_timeout_s, 0, 86'400 * 7);
    s.integer("rto_initial_ms", t.rto_initial_ms, 200, 60'000);
    s.integer("max_retries", t.max_retries, 1, 30);
    s.integer("delayed_ack_ms", t.delayed_ack_ms, 1, 500);
    s.integer("time_wait_ms", t.time_wait_ms, 1, 240'000);
    if (t.time_wait > t.connections) {
        s.fail("time_wait", "must not exceed tcp.connections (" + std::to_string(t.connections) + ")");
    }
}

void read_debug(section& s, debug_config& d) {
    s.fraction_ppm(debug_only_key, d.inject_loss_ppm, max_inject_loss);
}

// A retained message holds an mbuf of a receive pool and, for a frame of a
// multi-frame datagram, an indirect mbuf too. Capped at half of each pool,
// retention can never starve the receive path it depends on. Checked on the
// whole file, since either table may be absent and keep its defaults.
void check_retention_fits_pools(error_sink& sink, const toml::table& table, const config& cfg) {
    const uint64_t held = uint64_t{cfg.retention.max_messages} + cfg.retention.last_values;
    const std::pair<std::string_view, uint32_t> pools[] = {{"mbufs", cfg.mempool.mbufs},
                                                           {"indirect", cfg.mempool.indirect}};
    for (const auto& [key, size] : pools) {
        if (2 * held <= size) {
            continue;
        }
        // At the retention keys when written, else at the pool's size.
        const toml::node* near[] = {table["retention"]["max_messages"].node(),
                                    table["retention"]["last_values"].node(), table["mempool"][key].node(),
                                    table["retention"].node()};
        const auto at =
            std::find_if(std::begin(near), std::end(near), [](const toml::node* n) { return n != nullptr; });
        sink.add(at != std::end(near) ? (*at)->source().begin : toml::source_position{},
                 "retention.max_messages + retention.last_values: " + std::to_string(held) +
                     " is more than half of mempool." + std::string(key) + " = " + std::to_string(size) +
                     " (at most " + std::to_string(size / 2) +
                     "): retained messages hold these mbufs, and the receive path needs the rest");
    }
}

void read_ports(section& root, std::vector<port_config>& ports) {
    if (root.sink().recording()) {
        // Schema walk: one empty [[port]] table, its keys named "port.KEY".
        (void)root.take("port", toml::node_type::array);
        const toml::table empty;
        section s(root.sink(), empty, "port", toml::source_position{});
        port_config p;
        (void)read_port(s, p);
        return;
    }
    if (!root.has("port")) {
        root.fail("port", "at least one [[port]] table is required");
        return;
    }
    const toml::node* n = root.take("port", toml::node_type::array);
    if (n == nullptr) {
        return;
    }
    const toml::array& tables = *n->as_array();
    if (tables.empty() || tables.size() > max_ports) {
        root.fail("port", "must have 1 to " + std::to_string(max_ports) + " [[port]] tables, got " +
                              std::to_string(tables.size()));
        return;
    }
    std::vector<size_t> read_from; // for each entry of `ports`, its index in the file
    for (size_t i = 0; i < tables.size(); ++i) {
        const toml::node& e = tables[i];
        const std::string name = indexed("port", i);
        if (!e.is_table()) {
            root.sink().add(e.source().begin,
                            name + ": expected a table, got " + std::string(type_name(e.type())));
            continue;
        }
        section s(root.sink(), *e.as_table(), name, e.source().begin);
        port_config p;
        const auto [device_ok, ipv4_ok] = read_port(s, p);
        s.reject_unknown();
        for (size_t j = 0; j < ports.size(); ++j) {
            const std::string other = indexed("port", read_from[j]);
            if (device_ok && ports[j].device == p.device) {
                s.fail("device", "duplicate of " + other + ".device " + quote(p.device));
            }
            if (ipv4_ok && ports[j].ipv4 == p.ipv4) {
                s.fail("ipv4", "duplicate of " + other + ".ipv4 " + quote(format_ipv4(p.ipv4)));
            }
        }
        ports.push_back(std::move(p));
        read_from.push_back(i);
    }
}

void read_root(error_sink& sink, const toml::table& table, config& cfg) {
    // The root's "header" is the whole file: a missing key there has no line.
    section root(sink, table, "", toml::source_position{});
    root.table("eal", [&](section& s) { read_eal(s, cfg.eal); });
    root.table("lcores", [&](section& s) { read_lcores(s, cfg.lcores); });
    read_ports(root, cfg.ports);
    root.table("mempool", [&](section& s) { read_mempool(s, cfg.mempool); });
    root.table("rings", [&](section& s) { read_rings(s, cfg.rings); });
    root.table("rcp", [&](section& s) { read_rcp(s, cfg.rcp); });
    root.table("limits", [&](section& s) { read_limits(s, cfg.limits); });
    // After [limits]: ACL prefixes and filters are checked against limits.topic_len.
    read_identities(root, cfg.identities, cfg.limits.topic_len);
    if (cfg.rcp.require_auth && cfg.identities.empty()) {
        sink.add(table["rcp"]["require_auth"].node() != nullptr ? table["rcp"]["require_auth"].node()->source().begin
                                                                : toml::source_position{},
                 "rcp.require_auth: needs at least one [[identity]] table, or nobody could get in");
    }
    // After [limits]: prefixes are checked against limits.topic_len.
    root.table("retention", [&](section& s) { read_retention(s, cfg.retention, cfg.limits.topic_len); });
    root.table("qos", [&](section& s) { read_qos(s, cfg.qos); });
    root.table("repair", [&](section& s) { read_repair(s, cfg.repair); });
    root.table("tx", [&](section& s) { read_tx(s, cfg.tx); });
    root.table("tcp", [&](section& s) { read_tcp(s, cfg.tcp); });
    root.table("debug", [&](section& s) { read_debug(s, cfg.debug); });
    root.reject_unknown();
    check_retention_fits_pools(sink, table, cfg);
}

// 0, or the errno of the failing call.
int read_file(const std::string& path, std::string& text) {
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (f == nullptr) {
        return errno;
    }
    char buf[16384];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof(buf), f.get())) > 0) {
        text.append(buf, n);
    }
    // fopen succeeds on a directory; the read is what fails, with EISDIR.
    return std::ferror(f.get()) != 0 ? errno : 0;
}

} // namespace

std::string config_error::to_string() const {
    if (line == 0) {
        return path + ": " + message;
    }
    return path + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

config_result parse_config(std::string_view text, std::string_view path) {
    config_result result;
    result.cfg.path = std::string(path);
    error_sink sink(path);
    try {
        const toml::table table = toml::parse(text, path);
        read_root(sink, table, result.cfg);
    } catch (const toml::parse_error& e) {
        // toml++ says "Error while parsing ...": lower-cased, it reads on after our prefix.
        std::string reason(e.description());
        if (!reason.empty()) {
            reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
        }
        sink.add(e.source().begin, "invalid TOML: " + reason);
    }
    result.errors = sink.take();
    return result;
}

config_result load_config(const std::string& path) {
    std::string text;
    if (const int err = read_file(path, text); err != 0) {
        config_result result;
        result.cfg.path = path;
        result.errors.push_back(config_error{path, 0, 0, std::string("cannot read: ") + std::strerror(err)});
        return result;
    }
    return parse_config(text, path);
}

std::vector<std::string> known_config_keys() {
    std::vector<std::string> walked;
    error_sink sink("");
    sink.record_keys(walked);
    config cfg;
    read_root(sink, toml::table{}, cfg);
    // Table names were looked up too; a key is what no other key extends.
    std::vector<std::string> keys;
    for (const std::string& k : walked) {
        const std::string prefix = k + ".";
        const bool is_table = std::any_of(walked.begin(), walked.end(),
                                          [&](const std::string& o) { return o.starts_with(prefix); });
        if (!is_table) {
            keys.push_back(k);
        }
    }
    return keys;
}

std::string restart_needed(const config& a, const config& b) {
    std::string out;
    const auto differs = [&](bool same, std::string_view table) {
        if (!same) {
            out += out.empty() ? "" : ", ";
            out += table;
        }
    };
    differs(a.eal == b.eal, "[eal]");
    differs(a.lcores == b.lcores, "[lcores]");
    differs(a.ports == b.ports, "[[port]]");
    differs(a.mempool == b.mempool, "[mempool]");
    differs(a.rings == b.rings, "[rings]");
    differs(a.rcp == b.rcp, "[rcp]");
    differs(a.identities == b.identities, "[[identity]]");
    differs(a.limits == b.limits, "[limits]");
    differs(a.retention == b.retention, "[retention]");
    differs(a.qos == b.qos, "[qos]");
    differs(a.repair == b.repair, "[repair]");
    differs(a.tx == b.tx, "[tx]");
    differs(a.tcp == b.tcp, "[tcp]");
    differs(a.debug == b.debug, "[debug]");
    return out;
}

std::string format_ipv4(uint32_t host_order) {
    return std::to_string(host_order >> 24) + "." + std::to_string(host_order >> 16 & 0xff) + "." +
           std::to_string(host_order >> 8 & 0xff) + "." + std::to_string(host_order & 0xff);
}

} // namespace ringcast
