#include <ringcast/bridge/subject_map.hpp>

#include <ringcast/core/topic.hpp>

#include <span>

namespace ringcast {
namespace {

constexpr size_t max_filter_len = 255;

// Walks a subject or filter token by token: '.' separates, empty tokens show.
class tokens {
public:
    explicit tokens(std::string_view s) noexcept : _rest(s), _done(s.empty()) {}

    bool next(std::string_view& t) noexcept {
        if (_done) {
            return false;
        }
        const size_t dot = _rest.find('.');
        t = _rest.substr(0, dot);
        if (dot == std::string_view::npos) {
            _done = true;
        } else {
            _rest.remove_prefix(dot + 1);
        }
        return true;
    }

private:
    std::string_view _rest;
    bool _done;
};

// A token that can stand as one topic level as it is.
bool level_ok(std::string_view t) noexcept {
    if (t.empty()) {
        return false;
    }
    for (const char ch : t) {
        switch (ch) {
        case '/': case '+': case '#': case '\0': case ' ': case '\t': case '\r': case '\n': case '\f': case '\v':
            return false;
        default:
            break;
        }
    }
    return true;
}

bool is_wildcard(std::string_view t) noexcept { return t == "*" || t == ">"; }

// Tokens of `filter` before its first wildcard.
size_t literal_head(std::string_view filter) noexcept {
    tokens f(filter);
    std::string_view t;
    size_t n = 0;
    while (f.next(t) && !is_wildcard(t)) {
        ++n;
    }
    return n;
}

bool matches(std::string_view filter, std::string_view subject) noexcept {
    tokens f(filter);
    tokens s(subject);
    std::string_view ft;
    std::string_view st;
    while (f.next(ft)) {
        if (!s.next(st)) {
            return false;
        }
        if (ft == ">") {
            return true;
        }
        if (ft != "*" && ft != st) {
            return false;
        }
    }
    return !s.next(st);
}

std::span<const std::byte> bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

} // namespace

std::string check_forward_rule(const forward_rule& rule) {
    if (rule.filter.empty()) {
        return "the subject filter is empty";
    }
    if (rule.filter.size() > max_filter_len) {
        return "the subject filter is over " + std::to_string(max_filter_len) + " bytes";
    }
    tokens f(rule.filter);
    std::string_view t;
    size_t head_len = 0; // bytes the literal head maps to without a prefix
    bool in_head = true;
    bool after_tail = false;
    while (f.next(t)) {
        if (after_tail) {
            return "'>' must be the subject filter's last token";
        }
        if (t == ">") {
            after_tail = true;
        }
        if (is_wildcard(t)) {
            in_head = false;
            continue;
        }
        if (!level_ok(t)) {
            return "token \"" + std::string(t) +
                   "\" cannot be a ringcast topic level (empty, or with '/', '+', '#', NUL or white space)";
        }
        if (in_head) {
            head_len += t.size() + (head_len == 0 ? 0 : 1);
        }
    }
    if (!rule.prefix.empty()) {
        const topic_check c = check_pub_topic(bytes(rule.prefix), max_filter_len);
        if (c == topic_check::reserved) {
            return "topic_prefix \"" + rule.prefix + "\" starts with '$', which RCP/1 reserves";
        }
        if (c != topic_check::ok) {
            return "topic_prefix \"" + rule.prefix + "\" is not a ringcast topic (" + std::string(to_string(c)) + ")";
        }
        return "";
    }
    if (rule.filter.front() == '$' && head_len > 0) {
        return "subjects under \"" + rule.filter + "\" would map to '$' topics, which RCP/1 reserves: give a topic_prefix";
    }
    return "";
}

std::string_view to_string(map_status s) noexcept {
    switch (s) {
    case map_status::ok: return "ok";
    case map_status::no_match: return "no_match";
    case map_status::bad_token: return "bad_token";
    case map_status::too_long: return "too_long";
    case map_status::reserved: return "reserved";
    }
    return "?";
}

map_status map_subject(const forward_rule& rule, std::string_view subject, std::string& out, size_t max_len) {
    if (!matches(rule.filter, subject)) {
        return map_status::no_match;
    }
    out.assign(rule.prefix);
    const size_t skip = rule.prefix.empty() ? 0 : literal_head(rule.filter);
    tokens s(subject);
    std::string_view t;
    for (size_t i = 0; s.next(t); ++i) {
        if (!level_ok(t)) {
            return map_status::bad_token;
        }
        if (i < skip) {
            continue;
        }
        if (!out.empty()) {
            out.push_back('/');
        }
        out.append(t);
    }
    if (out.size() > max_len) {
        return map_status::too_long;
    }
    if (out.front() == '$') {
        return map_status::reserved;
    }
    return map_status::ok;
}

std::string topic_filter_of(const forward_rule& rule) {
    std::string out = rule.prefix;
    const size_t skip = rule.prefix.empty() ? 0 : literal_head(rule.filter);
    tokens f(rule.filter);
    std::string_view t;
    for (size_t i = 0; f.next(t); ++i) {
        if (i < skip) {
            continue;
        }
        if (!out.empty()) {
            out.push_back('/');
        }
        out.append(t == "*" ? "+" : t == ">" ? "#" : t);
    }
    return out;
}

bool subjects_overlap(std::string_view a, std::string_view b) noexcept {
    tokens ta(a);
    tokens tb(b);
    std::string_view x;
    std::string_view y;
    for (;;) {
        const bool more_a = ta.next(x);
        const bool more_b = tb.next(y);
        if (!more_a || !more_b) {
            // '>' wants at least one token: "a" and "a.>" share nothing.
            return more_a == more_b;
        }
        if (x == ">" || y == ">") {
            return true;
        }
        if (x != "*" && y != "*" && x != y) {
            return false;
        }
    }
}

} // namespace ringcast
