# Sources of core/sasl, relative to core/.
list(APPEND PARLEY_CORE_SOURCES
  sasl/crypto.cpp
  sasl/scram_credentials.cpp
  sasl/scram_server.cpp
)
