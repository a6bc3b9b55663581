// The EAL command line ringcastd builds from its config. Start-up only.
#pragma once

#include <ringcast/config.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace ringcast {

// True when /proc/meminfo shows free hugepages and /proc/mounts a hugetlbfs
// mount. Takes the files' text so it can be tested.
[[nodiscard]] bool hugepages_usable(std::string_view meminfo, std::string_view mounts);

// Reads /proc/meminfo and /proc/mounts.
[[nodiscard]] bool hugepages_usable();

// argv[0] first. Hugepages: --huge-unlink when used (no rtemap file is left
// behind), else "--no-huge -m MB". hugepage_mode::on without usable
// hugepages throws std::runtime_error.
[[nodiscard]] std::vector<std::string> build_eal_args(const config& cfg, bool hugepages_available,
                                                      std::string_view argv0 = "ringcastd");

} // namespace ringcast
