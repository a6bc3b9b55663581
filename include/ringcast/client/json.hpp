// A small JSON reader for the tools: the ringcast CLI reads the replies of
// the DPDK telemetry socket with it. Whole-document parse into a tree; no
// writer, no DPDK, not for the hot path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast {

// A parse failure; what() reads "JSON offset N: reason".
class json_error : public std::runtime_error {
public:
    json_error(size_t offset, const std::string& reason);
    [[nodiscard]] size_t offset() const noexcept { return _offset; }

private:
    size_t _offset;
};

class json_value {
public:
    enum class kind : uint8_t { null, boolean, number, string, array, object };

    json_value() = default;

    [[nodiscard]] kind type() const noexcept { return _kind; }
    [[nodiscard]] bool is_null() const noexcept { return _kind == kind::null; }
    [[nodiscard]] bool is_number() const noexcept { return _kind == kind::number; }
    [[nodiscard]] bool is_string() const noexcept { return _kind == kind::string; }
    [[nodiscard]] bool is_array() const noexcept { return _kind == kind::array; }
    [[nodiscard]] bool is_object() const noexcept { return _kind == kind::object; }

    // The value as a number: `fallback` when it is not a number; as_u64 also
    // when it is negative or not an integer. Integers up to 2^64-1 are exact
    // (DPDK counters are u64, beyond a double's 53 bits).
    [[nodiscard]] uint64_t as_u64(uint64_t fallback = 0) const noexcept;
    [[nodiscard]] double as_double(double fallback = 0) const noexcept;
    [[nodiscard]] bool as_bool(bool fallback = false) const noexcept;
    // Empty when the value is not a string.
    [[nodiscard]] const std::string& as_string() const noexcept;

    // Elements of an array or members of an object, in document order; 0
    // for anything else.
    [[nodiscard]] size_t size() const noexcept { return _items.size(); }
    // The i-th element or member value; i < size().
    [[nodiscard]] const json_value& at(size_t i) const { return _items.at(i); }
    // The i-th member's name; i < size() of an object.
    [[nodiscard]] const std::string& key(size_t i) const { return _keys.at(i); }

    // The first member named `name`, or nullptr (also when not an object).
    [[nodiscard]] const json_value* find(std::string_view name) const noexcept;
    // As find, but a null value when absent, so lookups chain:
    // reply["/ringcast/stats"]["drops"]["malformed"].as_u64().
    [[nodiscard]] const json_value& operator[](std::string_view name) const noexcept;

private:
    friend class json_parser;

    kind _kind = kind::null;
    bool _bool = false;
    bool _is_u64 = false; // a non-negative integer that fits uint64_t
    uint64_t _u64 = 0;
    double _number = 0;
    std::string _string;
    std::vector<json_value> _items;
    std::vector<std::string> _keys; // objects: the name of each of _items
};

// Nesting deeper than this is refused, so hostile input cannot exhaust the stack.
inline constexpr size_t json_max_depth = 64;

// Parses one JSON document (RFC 8259: any value at the top, whitespace
// around it, nothing after it). \u escapes become UTF-8, surrogate pairs
// joined. Throws json_error at the first error.
[[nodiscard]] json_value parse_json(std::string_view text);

} // namespace ringcast
