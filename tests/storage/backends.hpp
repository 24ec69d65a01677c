#pragma once
// The backends the storage conformance suite runs on. Every TEST_CASE_TEMPLATE of the suite is
// instantiated once per type listed here; a new backend adds its fixture type to the list (see
// SqliteBackend for the members a fixture offers) and passes the same tests.

#include "tests/storage/postgres_backend.hpp"
#include "tests/storage/sqlite_backend.hpp"

#define PARLEY_STORAGE_BACKENDS                                                                   \
  ::parley::storage::testing::SqliteBackend, ::parley::storage::testing::PostgresBackend
