#include <ringcast/retention.hpp>

#include <gtest/gtest.h>
