# Sources of gateways/email without Asio (absolute, so the includer's directory does not
# matter): MIME parsing (GMime), composing RFC 5322 mail, the SMTP/LMTP command and DATA
# parsers, and the addresses and stanzas of the gateway. Needs parley_core (jid, xml, stanza).
list(APPEND PARLEY_EMAIL_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/mail_parse.cpp
  ${CMAKE_CURRENT_LIST_DIR}/compose.cpp
  ${CMAKE_CURRENT_LIST_DIR}/smtp_protocol.cpp
  ${CMAKE_CURRENT_LIST_DIR}/email_stanzas.cpp
)
