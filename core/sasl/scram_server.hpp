#pragma once

#include "core/sasl/scram_credentials.hpp"

#include <boost/system/result.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace parley::core::sasl {

/// Why an exchange failed; each maps to the RFC 6120 §6.5 SASL failure condition named.
enum class SaslFailure {
  malformed_request,      ///< <malformed-request/>
  not_authorized,         ///< <not-authorized/> (wrong proof, unknown user)
  invalid_authzid,        ///< <invalid-authzid/>
  encryption_required,    ///< <encryption-required/>
  invalid_mechanism,      ///< <invalid-mechanism/>
  temporary_auth_failure, ///< <temporary-auth-failure/>
  /// <not-authorized/> too, but the client merely asked for a channel-binding type this
  /// stream does not offer (slixmpp asks for tls-unique, which TLS 1.3 lacks): no password
  /// was tried, so it costs no delay and counts as no failed attempt.
  unsupported_channel_binding,
};

std::string_view wire_name(SaslFailure failure) noexcept;
inline std::ostream& operator<<(std::ostream& os, SaslFailure failure) { return os << wire_name(failure); }

/// Channel binding data the transport offers; an empty type means none (plaintext).
struct ChannelBinding {
  std::string type; ///< "tls-exporter" or "tls-server-end-point"
  std::string data; ///< raw bytes
};

/// Server side of one SCRAM exchange (RFC 5802, RFC 7677), with or without -PLUS.
/// Not thread-safe; lives on its session's strand. The credential lookup in between is the
/// caller's: after `client_first` it fetches the user's secrets (storage, on the worker pool)
/// and hands them to `server_first` (or nullopt for an unknown user, which still produces a
/// plausible challenge so that user existence is not revealed).
class ScramServer {
public:
  /// `plus`: the mechanism chosen was SCRAM-*-PLUS. `offered_bindings`: the channel binding
  /// types this transport supports (empty over plaintext). `refuse_y_flag`: treat a client's
  /// "y" flag (it supports channel binding but believes the server does not) as a downgrade
  /// attack and refuse it, as RFC 5802 §6 asks when the server did advertise -PLUS.
  ScramServer(ScramHash hash, bool plus, std::vector<ChannelBinding> offered_bindings, bool refuse_y_flag);

  /// Parses client-first-message. Returns the username (saslname decoded, not yet prepared).
  boost::system::result<std::string, SaslFailure> client_first(std::string_view message);
  /// The authorization identity the client asked for ("" when none).
  const std::string& authzid() const noexcept { return authzid_; }
  /// Builds server-first-message from the user's secrets (nullopt: unknown user).
  std::string server_first(const std::optional<ScramSecrets>& secrets);
  /// Checks client-final-message; on success returns server-final-message ("v=...").
  boost::system::result<std::string, SaslFailure> client_final(std::string_view message);

  /// For tests: a fixed server nonce instead of a random one.
  void set_server_nonce_for_test(std::string nonce) { test_nonce_ = std::move(nonce); }

private:
  ScramHash hash_;
  bool plus_;
  std::vector<ChannelBinding> offered_;
  bool refuse_y_flag_;
  std::string gs2_header_;
  std::string cb_type_;
  std::string authzid_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;
  std::optional<ScramSecrets> secrets_;
  std::string test_nonce_;
};

/// RFC 4616 PLAIN: "[authzid] NUL authcid NUL passwd". Returns {authzid, authcid, password}.
struct PlainCredentials {
  std::string authzid;
  std::string authcid;
  std::string password;
};
boost::system::result<PlainCredentials, SaslFailure> parse_plain(std::string_view message);

/// Checks a password against stored secrets (for PLAIN). CPU-heavy: worker pool.
bool verify_password(ScramHash hash, const ScramSecrets& secrets, std::string_view prepared_password);

} // namespace parley::core::sasl
