# Sources of parley_storage, relative to storage/.
list(APPEND PARLEY_STORAGE_SOURCES
  storage_errc.cpp
  roster_item.cpp
  copy.cpp
  validation.cpp
  work_queue.cpp
  sqlite/open.cpp
  sqlite/detail/connection.cpp
  sqlite/detail/database.cpp
  sqlite/detail/errors.cpp
  sqlite/detail/migrations.cpp
  sqlite/detail/offline_store.cpp
  sqlite/detail/roster_store.cpp
  sqlite/detail/statement.cpp
  sqlite/detail/thread_check.cpp
  sqlite/detail/transaction.cpp
  sqlite/detail/user_store.cpp
  sqlite/detail/work_queue.cpp
  sqlite/detail/seen_store.cpp
)
list(APPEND PARLEY_STORAGE_SOURCES
  postgres/open.cpp
  postgres/detail/connection.cpp
  postgres/detail/database.cpp
  postgres/detail/migrations.cpp
  postgres/detail/offline_store.cpp
  postgres/detail/roster_store.cpp
  postgres/detail/user_store.cpp
  postgres/detail/work_queue.cpp
  postgres/detail/seen_store.cpp
)
