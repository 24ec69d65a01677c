# Sources of gateways/sms (absolute, so the includer's directory does not matter): text
# encoding and segmenting, UDH and reassembly, the SMPP 3.4 PDU codec and delivery receipts,
# Twilio request signatures, phone numbers. No Asio; needs parley_core (crypto for Twilio).
list(APPEND PARLEY_SMS_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/sms_errc.cpp
  ${CMAKE_CURRENT_LIST_DIR}/encoding.cpp
  ${CMAKE_CURRENT_LIST_DIR}/udh.cpp
  ${CMAKE_CURRENT_LIST_DIR}/reassembly.cpp
  ${CMAKE_CURRENT_LIST_DIR}/smpp_errc.cpp
  ${CMAKE_CURRENT_LIST_DIR}/smpp_pdu.cpp
  ${CMAKE_CURRENT_LIST_DIR}/delivery_receipt.cpp
  ${CMAKE_CURRENT_LIST_DIR}/twilio_signature.cpp
  ${CMAKE_CURRENT_LIST_DIR}/phone_errc.cpp
  ${CMAKE_CURRENT_LIST_DIR}/phone_number.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mms_media.cpp
)
