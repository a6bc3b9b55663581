#include <ringcast/filter_trie.hpp>
