# Sources of core/xml, relative to core/. Depends on libxml2, Boost headers and std only: the
# fuzz build compiles these files on their own.
list(APPEND PARLEY_CORE_SOURCES
  xml/element.cpp
  xml/errc.cpp
  xml/parse.cpp
  xml/serializer.cpp
  xml/stream_header.cpp
  xml/stream_parser.cpp
)
