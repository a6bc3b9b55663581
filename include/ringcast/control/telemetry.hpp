// The /ringcast/* commands of the DPDK telemetry socket. Callbacks run on
// DPDK's telemetry thread and only read: per-lcore counters (relaxed
// atomics) and the workers' published topic snapshots.
#pragma once

#include <ringcast/control/appliance.hpp>

namespace ringcast {

// Registers the commands (once per process) and points them at `app`;
// nullptr detaches them, waiting for any callback still reading, before the
// appliance goes away.
void attach_telemetry(const appliance* app);

} // namespace ringcast
