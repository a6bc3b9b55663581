#include <ringcast/filter_trie.hpp>

#include <gtest/gtest.h>
