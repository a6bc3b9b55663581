#include <ringcast/gap_tracker.hpp>
