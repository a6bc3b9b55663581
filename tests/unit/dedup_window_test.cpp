#include <ringcast/dedup_window.hpp>

#include <gtest/gtest.h>
