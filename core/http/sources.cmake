# Sources of core/http, relative to core/.
list(APPEND PARLEY_CORE_SOURCES
  http/message.cpp
  http/server.cpp
)
# The HTTP client (libcurl multi interface on the io_context) and its address policy.
list(APPEND PARLEY_CORE_SOURCES
  http/client.cpp
  http/detail/address_policy.cpp
)
# parley_core is created after this file is included; link libcurl once it exists.
cmake_language(DEFER CALL target_link_libraries parley_core PRIVATE PkgConfig::CURL)
