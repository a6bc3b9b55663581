#include <ringcast/client/json.hpp>

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace ringcast {

json_error::json_error(size_t offset, const std::string& reason)
    : std::runtime_error("JSON offset " + std::to_string(offset) + ": " + reason), _offset(offset) {}

uint64_t json_value::as_u64(uint64_t fallback) const noexcept {
    return _kind == kind::number && _is_u64 ? _u64 : fallback;
}

double json_value::as_double(double fallback) const noexcept {
    return _kind == kind::number ? _number : fallback;
}

bool json_value::as_bool(bool fallback) const noexcept {
    return _kind == kind::boolean ? _bool : fallback;
}

const std::string& json_value::as_string() const noexcept {
    static const std::string empty;
    return _kind == kind::string ? _string : empty;
}

const json_value* json_value::find(std::string_view name) const noexcept {
    if (_kind != kind::object) {
        return nullptr;
    }
    for (size_t i = 0; i < _keys.size(); ++i) {
        if (_keys[i] == name) {
            return &_items[i];
        }
    }
    return nullptr;
}

const json_value& json_value::operator[](std::string_view name) const noexcept {
    static const json_value null;
    const json_value* v = find(name);
    return v != nullptr ? *v : null;
}

// Recursive descent over the text; `_pos` is where the next token starts
// (after skip_blanks) and every error names it.
class json_parser {
public:
    explicit json_parser(std::string_view text) : _text(text) {}

    json_value document() {
        json_value v = value(0);
        skip_blanks();
        if (_pos != _text.size()) {
            fail("unexpected text after the value");
        }
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& reason) const { throw json_error(_pos, reason); }

    void skip_blanks() noexcept {
        while (_pos < _text.size() &&
               (_text[_pos] == ' ' || _text[_pos] == '\t' || _text[_pos] == '\n' || _text[_pos] == '\r')) {
            ++_pos;
        }
    }

    [[nodiscard]] char peek() {
        skip_blanks();
        if (_pos == _text.size()) {
            fail("unexpected end of input");
        }
        return _text[_pos];
    }

    void expect(char c) {
        if (peek() != c) {
            fail(std::string("expected '") + c + "'");
        }
        ++_pos;
    }

    void literal(std::string_view word) {
        if (_text.substr(_pos, word.size()) != word) {
            fail("unexpected character");
        }
        _pos += word.size();
    }

    json_value value(size_t depth) {
        if (depth >= json_max_depth) {
            fail("nested deeper than " + std::to_string(json_max_depth));
        }
        json_value v;
        const char c = peek();
        switch (c) {
        case '{':
            object(v, depth);
            break;
        case '[':
            array(v, depth);
            break;
        case '"':
            v._kind = json_value::kind::string;
            v._string = string();
            break;
        case 't':
            literal("true");
            v._kind = json_value::kind::boolean;
            v._bool = true;
            break;
        case 'f':
            literal("false");
            v._kind = json_value::kind::boolean;
            break;
        case 'n':
            literal("null");
            break;
        default:
            if (c == '-' || (c >= '0' && c <= '9')) {
                number(v);
            } else {
                fail("unexpected character");
            }
            break;
        }
        return v;
    }

    void object(json_value& v, size_t depth) {
        v._kind = json_value::kind::object;
        ++_pos; // '{'
        if (peek() == '}') {
            ++_pos;
            return;
        }
        for (;;) {
            if (peek() != '"') {
                fail("expected a member name");
            }
            v._keys.push_back(string());
            expect(':');
            v._items.push_back(value(depth + 1));
            if (peek() == '}') {
                ++_pos;
                return;
            }
            expect(',');
        }
    }

    void array(json_value& v, size_t depth) {
        v._kind = json_value::kind::array;
        ++_pos; // '['
        if (peek() == ']') {
            ++_pos;
            return;
        }
        for (;;) {
            v._items.push_back(value(depth + 1));
            if (peek() == ']') {
                ++_pos;
                return;
            }
            expect(',');
        }
    }

    // RFC 8259 grammar checked by hand: from_chars alone would take "01",
    // "1." or ".5".
    void number(json_value& v) {
        const size_t start = _pos;
        const auto digits = [&] {
            const size_t from = _pos;
            while (_pos < _text.size() && _text[_pos] >= '0' && _text[_pos] <= '9') {
                ++_pos;
            }
            return _pos - from;
        };
        bool integer = true;
        if (_text[_pos] == '-') {
            ++_pos;
        }
        const size_t int_start = _pos;
        const size_t n_int = digits();
        if (n_int == 0) {
            fail("a number needs digits");
        }
        if (n_int > 1 && _text[int_start] == '0') {
            _pos = int_start;
            fail("leading zero in a number");
        }
        if (_pos < _text.size() && _text[_pos] == '.') {
            integer = false;
            ++_pos;
            if (digits() == 0) {
                fail("digits expected after '.'");
            }
        }
        if (_pos < _text.size() && (_text[_pos] == 'e' || _text[_pos] == 'E')) {
            integer = false;
            ++_pos;
            if (_pos < _text.size() && (_text[_pos] == '+' || _text[_pos] == '-')) {
                ++_pos;
            }
            if (digits() == 0) {
                fail("digits expected in the exponent");
            }
        }
        const char* first = _text.data() + start;
        const char* last = _text.data() + _pos;
        v._kind = json_value::kind::number;
        const auto [end, ec] = std::from_chars(first, last, v._number);
        if (end != last || (ec != std::errc{} && ec != std::errc::result_out_of_range)) {
            _pos = start;
            fail("bad number");
        }
        if (ec == std::errc::result_out_of_range) {
            // Overflow to infinity or underflow to zero, as JSON parsers commonly do.
            v._number = std::strtod(std::string(first, last).c_str(), nullptr);
        }
        if (integer && _text[start] != '-') {
            const auto [u_end, u_ec] = std::from_chars(first, last, v._u64);
            v._is_u64 = u_ec == std::errc{} && u_end == last;
        } else if (integer && v._number == 0) {
            v._is_u64 = true; // "-0"
        }
    }

    [[nodiscard]] uint32_t hex4() {
        if (_text.size() - _pos < 4) {
            fail("\\u needs four hex digits");
        }
        uint32_t cp = 0;
        for (size_t i = 0; i < 4; ++i) {
            const char h = _text[_pos + i];
            cp <<= 4;
            if (h >= '0' && h <= '9') {
                cp |= static_cast<uint32_t>(h - '0');
            } else if (h >= 'a' && h <= 'f') {
                cp |= static_cast<uint32_t>(h - 'a' + 10);
            } else if (h >= 'A' && h <= 'F') {
                cp |= static_cast<uint32_t>(h - 'A' + 10);
            } else {
                _pos += i;
                fail("\\u needs four hex digits");
            }
        }
        _pos += 4;
        return cp;
    }

    static void append_utf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    // _pos is at the opening quote; returns the decoded text.
    std::string string() {
        ++_pos;
        std::string out;
        for (;;) {
            if (_pos == _text.size()) {
                fail("unterminated string");
            }
            const char c = _text[_pos];
            if (c == '"') {
                ++_pos;
                return out;
            }
            if (static_cast<unsigned char>(c) < 0x20) {
                fail("control character in a string");
            }
            if (c != '\\') {
                out += c;
                ++_pos;
                continue;
            }
            ++_pos;
            if (_pos == _text.size()) {
                fail("unterminated string");
            }
            const char e = _text[_pos++];
            switch (e) {
            case '"':
            case '\\':
            case '/':
                out += e;
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {
                uint32_t cp = hex4();
                if (cp >= 0xD800 && cp < 0xDC00) {
                    if (_text.substr(_pos, 2) != "\\u") {
                        fail("high surrogate without its low half");
                    }
                    _pos += 2;
                    const uint32_t low = hex4();
                    if (low < 0xDC00 || low >= 0xE000) {
                        fail("high surrogate without its low half");
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                } else if (cp >= 0xDC00 && cp < 0xE000) {
                    fail("low surrogate without its high half");
                }
                append_utf8(out, cp);
                break;
            }
            default:
                _pos -= 2; // at the backslash
                fail(std::string("unknown escape '\\") + e + "'");
            }
        }
    }

    std::string_view _text;
    size_t _pos = 0;
};

json_value parse_json(std::string_view text) {
    return json_parser(text).document();
}

} // namespace ringcast
