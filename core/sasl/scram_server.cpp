#include "core/sasl/scram_server.hpp"

#include "core/sasl/crypto.hpp"

namespace parley::core::sasl {

std::string_view wire_name(SaslFailure failure) noexcept {
  switch (failure) {
  case SaslFailure::malformed_request: return "malformed-request";
  case SaslFailure::not_authorized: return "not-authorized";
  case SaslFailure::invalid_authzid: return "invalid-authzid";
  case SaslFailure::encryption_required: return "encryption-required";
  case SaslFailure::invalid_mechanism: return "invalid-mechanism";
  case SaslFailure::temporary_auth_failure: return "temporary-auth-failure";
  case SaslFailure::unsupported_channel_binding: return "not-authorized";
  }
  return "not-authorized";
}

namespace {

/// RFC 5802 §5.1 saslname: "=2C" is ',' and "=3D" is '='; any other '=' is malformed.
std::optional<std::string> decode_saslname(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == ',') {
      return std::nullopt;
    }
    if (in[i] != '=') {
      out += in[i];
      continue;
    }
    const auto rest = in.substr(i + 1, 2);
    if (rest == "2C") {
      out += ',';
    } else if (rest == "3D") {
      out += '=';
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  return out;
}

/// Splits "a=x,b=y" into attributes; each must be a letter, '=' and a value.
std::vector<std::pair<char, std::string_view>> split_attributes(std::string_view s) {
  std::vector<std::pair<char, std::string_view>> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto end = s.find(',', start);
    const auto part = s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (part.size() < 2 || part[1] != '=') {
      return {};
    }
    out.emplace_back(part[0], part.substr(2));
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return out;
}

bool printable_nonce(std::string_view nonce) {
  if (nonce.empty()) {
    return false;
  }
  for (const char c : nonce) {
    if (c < 0x21 || c > 0x7e || c == ',') {
      return false;
    }
  }
  return true;
}

} // namespace

ScramServer::ScramServer(ScramHash hash, bool plus, std::vector<ChannelBinding> offered_bindings, bool refuse_y_flag)
    : hash_(hash), plus_(plus), offered_(std::move(offered_bindings)), refuse_y_flag_(refuse_y_flag) {}

boost::system::result<std::string, SaslFailure> ScramServer::client_first(std::string_view message) {
  // gs2-header = gs2-cbind-flag "," [ authzid ] ","
  const auto first_comma = message.find(',');
  if (first_comma == std::string_view::npos) {
    return SaslFailure::malformed_request;
  }
  const auto second_comma = message.find(',', first_comma + 1);
  if (second_comma == std::string_view::npos) {
    return SaslFailure::malformed_request;
  }
  const std::string_view flag = message.substr(0, first_comma);
  const std::string_view authz = message.substr(first_comma + 1, second_comma - first_comma - 1);
  if (flag == "n") {
    if (plus_) {
      return SaslFailure::malformed_request;
    }
  } else if (flag == "y") {
    // RFC 5802 §6: the client supports channel binding but thinks the server does not. If the
    // caller knows that the client could have used an advertised type, that is a downgrade.
    if (plus_ || refuse_y_flag_) {
      return SaslFailure::not_authorized;
    }
  } else if (flag.starts_with("p=")) {
    if (!plus_) {
      return SaslFailure::malformed_request;
    }
    cb_type_ = std::string(flag.substr(2));
    bool known = false;
    for (const auto& b : offered_) {
      known = known || b.type == cb_type_;
    }
    if (!known) {
      return SaslFailure::unsupported_channel_binding;
    }
  } else {
    return SaslFailure::malformed_request;
  }
  if (!authz.empty()) {
    if (!authz.starts_with("a=")) {
      return SaslFailure::malformed_request;
    }
    auto decoded = decode_saslname(authz.substr(2));
    if (!decoded) {
      return SaslFailure::malformed_request;
    }
    authzid_ = std::move(*decoded);
  }
  gs2_header_ = std::string(message.substr(0, second_comma + 1));
  client_first_bare_ = std::string(message.substr(second_comma + 1));

  const auto attrs = split_attributes(client_first_bare_);
  // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
  if (attrs.size() < 2 || attrs[0].first != 'n' || attrs[1].first != 'r') {
    return SaslFailure::malformed_request;
  }
  auto username = decode_saslname(attrs[0].second);
  if (!username || username->empty() || !printable_nonce(attrs[1].second)) {
    return SaslFailure::malformed_request;
  }
  nonce_ = std::string(attrs[1].second);
  return std::move(*username);
}

std::string ScramServer::server_first(const std::optional<ScramSecrets>& secrets) {
  secrets_ = secrets;
  std::string salt;
  std::uint32_t iterations = default_iterations;
  if (secrets) {
    salt = secrets->salt;
    iterations = secrets->iterations;
  } else {
    // An unknown user gets a salt derived from the name, so repeated attempts look the same.
    salt = crypto::hash(ScramHash::sha256, "parley-unknown-user:" + client_first_bare_.substr(0, client_first_bare_.find(','))).substr(0, 16);
  }
  const std::string server_nonce =
      test_nonce_.empty() ? crypto::base64_encode(crypto::random_bytes(18)) : test_nonce_;
  nonce_ += server_nonce;
  server_first_ = "r=" + nonce_ + ",s=" + crypto::base64_encode(salt) + ",i=" + std::to_string(iterations);
  return server_first_;
}

boost::system::result<std::string, SaslFailure> ScramServer::client_final(std::string_view message) {
  // client-final-message = channel-binding "," nonce ["," extensions] "," proof
  const auto proof_pos = message.rfind(",p=");
  if (proof_pos == std::string_view::npos) {
    return SaslFailure::malformed_request;
  }
  const std::string_view without_proof = message.substr(0, proof_pos);
  const auto attrs = split_attributes(without_proof);
  if (attrs.size() < 2 || attrs[0].first != 'c' || attrs[1].first != 'r') {
    return SaslFailure::malformed_request;
  }
  auto cbind = crypto::base64_decode(attrs[0].second);
  auto proof = crypto::base64_decode(message.substr(proof_pos + 3));
  if (!cbind || !proof) {
    return SaslFailure::malformed_request;
  }
  std::string expected_cbind = gs2_header_;
  if (plus_) {
    for (const auto& b : offered_) {
      if (b.type == cb_type_) {
        expected_cbind += b.data;
      }
    }
  }
  if (!crypto::equal_constant_time(*cbind, expected_cbind)) {
    return SaslFailure::not_authorized;
  }
  if (attrs[1].second != nonce_) {
    return SaslFailure::not_authorized;
  }
  if (!secrets_) {
    return SaslFailure::not_authorized;
  }
  const std::string auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  const std::string client_signature = crypto::hmac(hash_, secrets_->stored_key, auth_message);
  if (proof->size() != client_signature.size()) {
    return SaslFailure::not_authorized;
  }
  std::string client_key(proof->size(), '\0');
  for (std::size_t i = 0; i < client_key.size(); ++i) {
    client_key[i] = static_cast<char>((*proof)[i] ^ client_signature[i]);
  }
  if (!crypto::equal_constant_time(crypto::hash(hash_, client_key), secrets_->stored_key)) {
    return SaslFailure::not_authorized;
  }
  return "v=" + crypto::base64_encode(crypto::hmac(hash_, secrets_->server_key, auth_message));
}

boost::system::result<PlainCredentials, SaslFailure> parse_plain(std::string_view message) {
  const auto first = message.find('\0');
  if (first == std::string_view::npos) {
    return SaslFailure::malformed_request;
  }
  const auto second = message.find('\0', first + 1);
  if (second == std::string_view::npos || message.find('\0', second + 1) != std::string_view::npos) {
    return SaslFailure::malformed_request;
  }
  PlainCredentials out;
  out.authzid = std::string(message.substr(0, first));
  out.authcid = std::string(message.substr(first + 1, second - first - 1));
  out.password = std::string(message.substr(second + 1));
  if (out.authcid.empty() || out.password.empty()) {
    return SaslFailure::malformed_request;
  }
  return out;
}

bool verify_password(ScramHash hash, const ScramSecrets& secrets, std::string_view prepared_password) {
  const ScramSecrets derived = derive_secrets(hash, prepared_password, secrets.salt, secrets.iterations);
  return crypto::equal_constant_time(derived.stored_key, secrets.stored_key);
}

} // namespace parley::core::sasl
