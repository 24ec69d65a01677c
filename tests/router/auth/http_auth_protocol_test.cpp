#include "router/auth/http_auth_protocol.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

using namespace parley::router::auth;
namespace http = parley::core::http;

namespace {

parley::config::AuthConfig service(std::string url) {
  parley::config::AuthConfig config;
  config.backend = parley::config::AuthBackend::http;
  config.url = std::move(url);
  config.timeout_seconds = 3;
  return config;
}

std::string header(const http::ClientRequest& request, std::string_view name) {
  const auto found =
      std::find_if(request.headers.begin(), request.headers.end(), [&](const auto& h) { return h.first == name; });
  return found == request.headers.end() ? std::string("(absent)") : found->second;
}

http::ClientResult response(unsigned status, std::string body) {
  http::ClientResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

http::ClientResult failure(http::client_errc kind) {
  return http::ClientFailure{kind, "it failed"};
}

} // namespace

TEST_CASE("check_password is a form POST: the password stays out of the URL") {
  const auto testling = make_http_auth_request(HttpAuthCall::check_password, service("https://auth.example.com/xmpp/"),
                                               "", "alice", "example.com", "p&ss word=ü");
  CHECK(testling.method == "POST");
  CHECK(testling.url == "https://auth.example.com/xmpp/check_password");
  CHECK(testling.body == "user=alice&server=example.com&pass=p%26ss+word%3D%C3%BC");
  CHECK(header(testling, "Content-Type") == "application/x-www-form-urlencoded");
  CHECK(header(testling, "Authorization") == "(absent)");
  CHECK(testling.timeout == std::chrono::seconds(3));
}

TEST_CASE("user_exists is a GET with a query") {
  const auto testling = make_http_auth_request(HttpAuthCall::user_exists, service("http://10.0.0.1:8080/auth"), "t0ken",
                                               "bob", "example.com");
  CHECK(testling.method == "GET");
  CHECK(testling.url == "http://10.0.0.1:8080/auth/user_exists?user=bob&server=example.com");
  CHECK(testling.body.empty());
  CHECK(header(testling, "Authorization") == "Bearer t0ken");
}

TEST_CASE("reading the service's answer") {
  using enum HttpAuthCall;
  SUBCASE("2xx with true or false") {
    CHECK(read_http_auth_response(check_password, response(200, "true")).answer == Answer::yes);
    CHECK(read_http_auth_response(check_password, response(200, "true\r\n")).answer == Answer::yes);
    CHECK(read_http_auth_response(user_exists, response(204, " false ")).answer == Answer::no);
    CHECK(read_http_auth_response(check_password, response(200, "false")).answer == Answer::no);
  }
  SUBCASE("a 2xx that says neither is not an answer") {
    for (const char* body : {"", "yes", "TRUE", "{\"result\":true}", "true false"}) {
      INFO(body);
      const auto testling = read_http_auth_response(check_password, response(200, body));
      CHECK(testling.answer == Answer::unavailable);
      CHECK(testling.problem.find("neither true nor false") != std::string::npos);
    }
  }
  SUBCASE("refusals by status") {
    CHECK(read_http_auth_response(check_password, response(401, "")).answer == Answer::no);
    CHECK(read_http_auth_response(check_password, response(403, "")).answer == Answer::no);
    CHECK(read_http_auth_response(user_exists, response(404, "")).answer == Answer::no);
  }
  SUBCASE("everything else: the service cannot say, never a yes") {
    CHECK(read_http_auth_response(check_password, response(404, "true")).answer == Answer::unavailable);
    CHECK(read_http_auth_response(user_exists, response(401, "")).answer == Answer::unavailable);
    CHECK(read_http_auth_response(check_password, response(500, "true")).answer == Answer::unavailable);
    CHECK(read_http_auth_response(check_password, response(503, "")).answer == Answer::unavailable);
    CHECK(read_http_auth_response(check_password, response(302, "true")).answer == Answer::unavailable);
    CHECK(read_http_auth_response(check_password, response(429, "")).answer == Answer::unavailable);
    for (const auto kind : {http::client_errc::timeout, http::client_errc::connect, http::client_errc::dns,
                            http::client_errc::tls, http::client_errc::cancelled}) {
      const auto testling = read_http_auth_response(check_password, failure(kind));
      CHECK(testling.answer == Answer::unavailable);
      CHECK(testling.problem.find("it failed") != std::string::npos);
    }
  }
}
