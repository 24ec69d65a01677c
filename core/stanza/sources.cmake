# Sources of core/stanza, relative to core/.
list(APPEND PARLEY_CORE_SOURCES
  stanza/stanza_error.cpp
)
