# Sources of core/tls, relative to core/.
list(APPEND PARLEY_CORE_SOURCES
  tls/self_signed.cpp
  tls/server_context.cpp
  tls/tls_stream.cpp
)
