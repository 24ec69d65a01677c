# Sources of core/jid, relative to core/. The fuzz build compiles exactly these files, so they
# may depend on libidn, Boost headers and the standard library only.
list(APPEND PARLEY_CORE_SOURCES
  jid/jid.cpp
  jid/jid_errc.cpp
  jid/escaping.cpp
  jid/detail/prep.cpp
  jid/detail/ip_literal.cpp
  jid/detail/utf8.cpp
)
