#pragma once
// Handlers::blocking: a storage call on the worker pool, resumed on the caller's executor.

#include "core/async/worker_pool.hpp"
#include "server/admin/detail/handlers.hpp"

namespace parley::server::admin::detail {

template <class Fn> auto Handlers::blocking(Fn fn) { return ctx_.workers.run(std::move(fn)); }

} // namespace parley::server::admin::detail
