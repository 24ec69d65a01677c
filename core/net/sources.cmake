# Sources of core/net, relative to core/.
list(APPEND PARLEY_CORE_SOURCES
  net/tcp_listener.cpp
)
