#include <ringcast/gap_tracker.hpp>

#include <gtest/gtest.h>
