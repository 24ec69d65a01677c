#include "router/auth/http_auth_protocol.hpp"

#include <chrono>

namespace parley::router::auth {

namespace {

std::string_view trim(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

std::string endpoint(std::string_view base, std::string_view method) {
  while (base.ends_with('/')) {
    base.remove_suffix(1);
  }
  std::string url(base);
  url += '/';
  url += method;
  return url;
}

/// A short, printable excerpt of a body for the log.
std::string excerpt(std::string_view body) {
  std::string out;
  for (const char c : body.substr(0, 40)) {
    const auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte >= 0x7f) ? '?' : c;
  }
  return body.size() > 40 ? out + "..." : out;
}

} // namespace

core::http::ClientRequest make_http_auth_request(HttpAuthCall call, const config::AuthConfig& config,
                                                 std::string_view token, std::string_view user, std::string_view domain,
                                                 std::string_view password) {
  core::http::ClientRequest request;
  std::vector<std::pair<std::string, std::string>> fields = {{"user", std::string(user)},
                                                             {"server", std::string(domain)}};
  if (call == HttpAuthCall::check_password) {
    fields.emplace_back("pass", std::string(password));
    request.method = "POST";
    request.url = endpoint(config.url, "check_password");
    request.body = core::http::form_urlencoded(fields);
    request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  } else {
    request.method = "GET";
    request.url = endpoint(config.url, "user_exists") + "?" + core::http::form_urlencoded(fields);
  }
  if (!token.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + std::string(token));
  }
  request.headers.emplace_back("Accept", "text/plain");
  request.timeout = std::chrono::seconds(config.timeout_seconds);
  // "true" or "false"; anything long is not an answer.
  request.max_response_bytes = 4096;
  return request;
}

HttpAuthReading read_http_auth_response(HttpAuthCall call, const core::http::ClientResult& result) {
  if (!result) {
    return {Answer::unavailable,
            std::string(core::http::to_string(result.error().kind)) + ": " + result.error().message};
  }
  const unsigned status = result->status;
  if (status >= 200 && status <= 299) {
    const std::string_view body = trim(result->body);
    if (body == "true") {
      return {Answer::yes, {}};
    }
    if (body == "false") {
      return {Answer::no, {}};
    }
    return {Answer::unavailable, "status " + std::to_string(status) + " with a body that is neither true nor false: '" +
                                     excerpt(body) + "'"};
  }
  if (call == HttpAuthCall::check_password && (status == 401 || status == 403)) {
    return {Answer::no, {}};
  }
  if (call == HttpAuthCall::user_exists && status == 404) {
    return {Answer::no, {}};
  }
  return {Answer::unavailable, "status " + std::to_string(status)};
}

} // namespace parley::router::auth
