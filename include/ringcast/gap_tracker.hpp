// Client side of gap repair (placeholder; see tests/unit/gap_tracker_test.cpp).
#pragma once
