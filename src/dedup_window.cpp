#include <ringcast/dedup_window.hpp>
