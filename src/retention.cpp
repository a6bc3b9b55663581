#include <ringcast/retention.hpp>
