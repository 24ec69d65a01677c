#pragma once

namespace parley::storage::sqlite::detail {

/// False on an I/O thread. Every store call starts with `assert(off_io_thread())`: blocking
/// there would stall every connection that thread serves. Kept out of line so that the store
/// sources do not pull in Asio.
bool off_io_thread() noexcept;

} // namespace parley::storage::sqlite::detail
