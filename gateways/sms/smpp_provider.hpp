#pragma once
// The `smpp` provider of the SMS gateway: an SMPP 3.4 client (ESME) bound as a transceiver to
// one SMSC. Out: submit_sm; in: deliver_sm with texts and delivery receipts.

#include "config/config.hpp"
#include "gateways/sms/provider.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <string>

namespace parley::gateways::sms {

/// The provider of one [[gateway]] with kind = "sms" and provider = "smpp". Reads the
/// password from the environment when password_env names a variable; the error names one
/// that is not set.
///
/// The connection: bind_transceiver, then enquire_link when the SMSC has been quiet for
/// enquire_link_seconds (and enquire_link_resp to the SMSC's own), unbind on stop and
/// unbind_resp to the SMSC's, generic_nack for PDUs we cannot read or do not serve. A lost or
/// refused bind is retried with exponential backoff and jitter (reconnect_min_ms ..
/// reconnect_max_ms). At most `window` requests are unanswered at once.
///
/// Out: one submit_sm per part (GSM-7 as data_coding 0, else UCS-2; 153/67 units per part with
/// a concatenation UDH); the first part's message_id is the provider id. ESME_RTHROTTLED and
/// ESME_RMSGQFUL pause all submits (throttle_backoff_ms, doubling) and fail the send as
/// transient with that retry time; other refusals are permanent, except ESME_RSYSERR.
///
/// In: a deliver_sm is answered only after the gateway delivered or stored it: ESME_ROK, or
/// ESME_RX_T_APPN while storage is down (the SMSC redelivers), ESME_RX_R_APPN for a number
/// nobody owns. Parts of a concatenated SMS are answered together once the whole text is
/// delivered; parts still missing after reassembly_timeout_seconds are given up and what
/// arrived is delivered with a gap marker. Delivery receipts (esm_class 0x04) become
/// delivery reports, matched by receipted_message_id (or the id: of their text).
boost::system::result<std::shared_ptr<Provider>, std::string> make_smpp_provider(const config::GatewayConfig& settings);

} // namespace parley::gateways::sms
