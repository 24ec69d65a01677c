#pragma once
// The text of an SMSC delivery receipt (SMPP 3.4 Appendix B), carried in the short_message
// (or message_payload) of a deliver_sm whose esm_class says "SMSC delivery receipt":
//   id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...
// The format is informative only and SMSCs vary it, so the parser is lenient: keys in any
// case, in any order, extra keys ignored, dates with or without seconds. Pure function; any thread.

#include "gateways/sms/smpp_errc.hpp"
#include "gateways/sms/smpp_pdu.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::gateways::sms {

struct DeliveryReceipt {
  std::string id;                         ///< the message id the SMSC gave in submit_sm_resp (see below)
  std::optional<std::uint32_t> submitted; ///< sub:, when a decimal number
  std::optional<std::uint32_t> delivered; ///< dlvrd:, when a decimal number
  std::string submit_date;                ///< YYMMDDhhmm[ss], as sent
  std::string done_date;                  ///< YYMMDDhhmm[ss], as sent
  std::string stat;                       ///< DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD, ENROUTE
  std::optional<MessageState> state;      ///< `stat` understood; nullopt for a word not in Appendix B
  std::string err;                        ///< network-specific error code, as sent
  std::string text;                       ///< the start of the original message, up to the end
  bool operator==(const DeliveryReceipt&) const = default;
};

/// The state a stat: word names (Appendix B, case-insensitive), or nullopt.
std::optional<MessageState> message_state_from_stat(std::string_view stat) noexcept;

/// Parses a receipt text. `malformed_receipt` unless it has a non-empty id: and stat:.
/// Values run to the next key; text: runs to the end and may contain anything. The id is
/// what the SMSC wrote, which some SMSCs give in decimal while submit_sm_resp had it in hex:
/// prefer the receipted_message_id TLV when the deliver_sm carries one.
boost::system::result<DeliveryReceipt> parse_delivery_receipt(std::string_view text);

} // namespace parley::gateways::sms
