# Sources of parley_storage, relative to storage/.
list(APPEND PARLEY_STORAGE_SOURCES
  storage_errc.cpp
  roster_item.cpp
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
)
