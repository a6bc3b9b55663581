// The EAL command line ringcastd builds from its config. Start-up only.
#pragma once

#include <ringcast/core/config.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast {

// True when /proc/meminfo shows at least `needed_mb` of free hugepage memory
// and /proc/mounts a hugetlbfs mount: with less, EAL would fail to start, so
// "auto" falls back to --no-huge. Takes the files' text so it can be tested.
[[nodiscard]] bool hugepages_usable(std::string_view meminfo, std::string_view mounts, uint64_t needed_mb);

// Reads /proc/meminfo and /proc/mounts.
[[nodiscard]] bool hugepages_usable(uint64_t needed_mb);

// argv[0] first. Hugepages: --huge-unlink when used (no rtemap file is left
// behind), else "--no-huge -m MB". hugepage_mode::on without usable
// hugepages throws std::runtime_error.
[[nodiscard]] std::vector<std::string> build_eal_args(const config& cfg, bool hugepages_available,
                                                      std::string_view argv0 = "ringcastd");

} // namespace ringcast
