# Sources of core/metrics, relative to core/: the Prometheus registry and its text format.
list(APPEND PARLEY_CORE_SOURCES
  metrics/histogram.cpp
  metrics/registry.cpp
  metrics/detail/text_format.cpp
)
