# Sources of core/http, relative to core/.
list(APPEND PARLEY_CORE_SOURCES
  http/message.cpp
  http/server.cpp
)
