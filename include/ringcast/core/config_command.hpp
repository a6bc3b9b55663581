// The command line of a program that runs from one config file, and what
// it does before it serves: "-c FILE [--check] [-h]", the usage after a bad
// argument, every config error on stderr, "FILE: ok" for --check. ringcastd
// and ringcast-bridge share it, so both are driven and refuse alike.
// Start-up only.
#pragma once

#include <ringcast/core/config.hpp>

#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ringcast {

struct config_command {
    std::string path; // -c, --config
    bool check = false; // --check: validate and exit
};

// Reads argv into `cmd`. nullopt: go on; else the exit status to stop with
// now: 0 after -h (the usage on `out`), 2 after a bad or missing argument
// (why, and the usage, on `err`).
[[nodiscard]] std::optional<int> parse_config_command(std::string_view prog, int argc, const char* const* argv,
                                                      std::string_view usage, config_command& cmd,
                                                      std::FILE* out = stdout, std::FILE* err = stderr);

// After the file was read: its errors, one a line, on `err` (1), or with
// --check "PATH: ok" on `out` (0); nullopt: go on and serve.
[[nodiscard]] std::optional<int> finish_config_check(const config_command& cmd,
                                                     std::span<const config_error> errors,
                                                     std::FILE* out = stdout, std::FILE* err = stderr);

} // namespace ringcast
