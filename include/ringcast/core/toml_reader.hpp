// The TOML reading under every config file the binaries take (ringcastd's,
// ringcast-bridge's): a section reader that marks each key it looks up, so
// unknown keys are refused with their position, and one error sink that
// collects every error as "path:line:col: reason". Start-up only.
#pragma once

#include <ringcast/core/config.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace ringcast::toml_reader {

enum class must : uint8_t {
    be_in_range,
    be_power_of_two, // ring and descriptor counts: DPDK masks indices with size - 1
};

[[nodiscard]] std::string_view type_name(toml::node_type t);
[[nodiscard]] std::string quote(std::string_view s);
// The shortest text that reads back as `v`: 0.6, not 0.599999.
[[nodiscard]] std::string shortest(double v);
// Control characters as TOML writes them (\u0000), so a message never
// carries a raw NUL or escape sequence to the terminal.
[[nodiscard]] std::string escaped(std::string_view s);
[[nodiscard]] std::string indexed(std::string_view name, size_t i);

class error_sink {
public:
    explicit error_sink(std::string_view path) : _path(path) {}

    // A key refused by name anywhere but [debug] (a test switch must never
    // take effect, or pass as a mere typo, in a production table); empty: none.
    void set_debug_only_key(std::string_view key) { _debug_only_key = key; }
    std::string_view debug_only_key() const { return _debug_only_key; }

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
    std::string_view _debug_only_key;
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

    // Non-empty strings: an empty one would end EAL's option parsing. True
    // when `out` took the array.
    bool strings(std::string_view key, std::vector<std::string>& out) {
        const toml::array* a = array(key);
        if (a == nullptr) {
            return false;
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
        if (values.size() != a->size()) {
            return false;
        }
        out = std::move(values);
        return true;
    }

    // A non-empty list of distinct lcore ids.
    void lcores(std::string_view key, std::vector<uint32_t>& out, uint32_t max_lcore) {
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
            if (!_sink.debug_only_key().empty() && key.str() == _sink.debug_only_key()) {
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

// 0, or the errno of the failing call.
[[nodiscard]] int read_file(const std::string& path, std::string& text);

// toml++ says "Error while parsing ...": lower-cased, it reads on after our prefix.
[[nodiscard]] std::string lowered_first(std::string_view s);

// Parses `text` and hands the root table to read(sink, table); a TOML syntax
// error is one error at its position. Never throws.
template <class Read>
std::vector<config_error> read_toml(std::string_view text, std::string_view path, Read read,
                                    std::string_view debug_only_key = {}) {
    error_sink sink(path);
    sink.set_debug_only_key(debug_only_key);
    try {
        const toml::table table = toml::parse(text, path);
        read(sink, table);
    } catch (const toml::parse_error& e) {
        sink.add(e.source().begin, "invalid TOML: " + lowered_first(e.description()));
    }
    return sink.take();
}

// Every key read(sink, table) looks up, as "table.key", in schema order:
// the readers walked over an empty file, so the list cannot drift from them.
template <class Read> std::vector<std::string> known_keys(Read read) {
    std::vector<std::string> walked;
    error_sink sink("");
    sink.record_keys(walked);
    read(sink, toml::table{});
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


} // namespace ringcast::toml_reader
