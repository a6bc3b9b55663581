#include <ringcast/core/counters.hpp>

namespace ringcast {

std::string_view to_string(drop d) noexcept {
    return drop_names[static_cast<size_t>(d)];
}

std::string_view to_string(metric s) noexcept {
    return metric_names[static_cast<size_t>(s)];
}

} // namespace ringcast
