#include <ringcast/counters.hpp>

namespace ringcast {

std::string_view to_string(drop d) noexcept {
    return drop_names[static_cast<size_t>(d)];
}

std::string_view to_string(stat s) noexcept {
    return stat_names[static_cast<size_t>(s)];
}

} // namespace ringcast
