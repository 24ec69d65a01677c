#pragma once
// The wire protocol between Parley and an external authentication service, after Prosody's
// mod_auth_http: {url}/METHOD with the parameters user, server and (for passwords) pass.
//
//   POST {url}/check_password   application/x-www-form-urlencoded: user, server, pass
//   GET  {url}/user_exists?user=...&server=...
//
// Unlike mod_auth_http, check_password is a POST: the password stays out of URLs, and so
// out of the service's access logs. The answer is a 2xx whose body is "true" or "false"
// (surrounding whitespace ignored). 401 and 403 also mean "false" for check_password, 404
// for user_exists. Anything else (no answer in time, no connection, 5xx, another status, a
// different body) means the service cannot say: a login then fails temporarily, never
// succeeds.

#include "config/config.hpp"
#include "core/http/client.hpp"
#include "router/auth/user_directory.hpp"

#include <string>
#include <string_view>

namespace parley::router::auth {

enum class HttpAuthCall { check_password, user_exists };

/// What a response says, and for `unavailable` why (for the log; never holds the password).
struct HttpAuthReading {
  Answer answer = Answer::unavailable;
  std::string problem;
};

/// The request for one call. `token`, when not empty, goes out as `Authorization: Bearer`.
core::http::ClientRequest make_http_auth_request(HttpAuthCall call, const config::AuthConfig& config,
                                                 std::string_view token, std::string_view user, std::string_view domain,
                                                 std::string_view password = {});

HttpAuthReading read_http_auth_response(HttpAuthCall call, const core::http::ClientResult& result);

} // namespace parley::router::auth
