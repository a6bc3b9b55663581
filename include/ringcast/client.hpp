// The ringcast client library, for programs that talk to the appliance over
// kernel sockets: include this one header. Its modules live in
// <ringcast/client/...>: client (RCP/1 over UDP or TCP), gap_tracker (gap
// repair), telemetry_client and json (the DPDK telemetry socket),
// telemetry_views (the text views of `ringcast stats` and `ringcast top`),
// loadgen (the load generator's accounting). No DPDK here.
#pragma once

#include <ringcast/client/client.hpp>
#include <ringcast/client/gap_tracker.hpp>
#include <ringcast/client/json.hpp>
#include <ringcast/client/loadgen.hpp>
#include <ringcast/client/telemetry_client.hpp>
#include <ringcast/client/telemetry_views.hpp>
