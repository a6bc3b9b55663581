#include <ringcast/core/send_queue.hpp>

namespace ringcast {

send_queue_pool::send_queue_pool(uint32_t entries) : _entries(entries), _available(entries) {
    for (uint32_t i = entries; i-- > 0;) {
        _entries[i].next = _free;
        _free = i;
    }
}

bool send_queue_pool::push(send_queue& q, void* buf, uint32_t len, uint32_t skip) noexcept {
    if (_free == no_id) {
        return false;
    }
    const uint32_t i = _free;
    _free = _entries[i].next;
    --_available;
    _entries[i] = entry{buf, len, skip, no_id};
    if (q.tail == no_id) {
        q.head = i;
    } else {
        _entries[q.tail].next = i;
    }
    q.tail = i;
    ++q.entries;
    q.end_off += len;
    return true;
}

void send_queue_pool::give_back(uint32_t i) noexcept {
    _entries[i] = entry{nullptr, 0, 0, _free};
    _free = i;
    ++_available;
}

} // namespace ringcast
