# Sources of gateways/webhook (absolute, so the includer's directory does not matter).
# Needs parley_core (crypto, JIDs) and nlohmann_json::nlohmann_json (private: no public
# header includes it).
list(APPEND PARLEY_WEBHOOK_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/signature_errc.cpp
  ${CMAKE_CURRENT_LIST_DIR}/signing.cpp
  ${CMAKE_CURRENT_LIST_DIR}/inbound_parse.cpp
  ${CMAKE_CURRENT_LIST_DIR}/outbound_payload.cpp
  ${CMAKE_CURRENT_LIST_DIR}/detail/text.cpp
  ${CMAKE_CURRENT_LIST_DIR}/detail/templates.cpp
)
