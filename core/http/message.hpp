#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::core::http {

/// One parsed HTTP request as a handler sees it. Header names are lower-cased.
struct Request {
  std::string method;                 ///< "GET", "POST", ...
  std::string target;                 ///< as sent: path plus query
  std::string path;                   ///< percent-decoded path without the query
  std::string query;                  ///< raw query string without '?'
  std::vector<std::pair<std::string, std::string>> headers;
  std::map<std::string, std::string, std::less<>> params; ///< from `{name}` segments of the route
  std::string body;
  /// A route with RouteOptions::body_to_file: the file the body was written to (`body` stays
  /// empty). The handler owns it from then on: it renames or removes it.
  std::string body_file;
  std::string remote_address;

  /// The first header with this (lower-case) name.
  std::optional<std::string_view> header(std::string_view lower_name) const;
};

/// A response a handler produces.
struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Set: the body is this file, streamed from disk (`body` is ignored; Content-Length is the
  /// file's size). A file that cannot be opened any more answers 404.
  std::string body_file;

  static Response json(unsigned status, std::string body);
  /// RFC 9457 problem details. `type` is a stable URI reference naming the error.
  static Response problem(unsigned status, std::string_view type, std::string_view title,
                          std::string_view detail = {});
};

/// Name/value pairs in the order sent.
using FormFields = std::vector<std::pair<std::string, std::string>>;

/// Decodes an application/x-www-form-urlencoded body or a query string (WHATWG URL §5.1:
/// '+' is a space, %XX a byte); empty pairs are skipped. nullopt for a malformed
/// percent-encoding. The values are bytes: check UTF-8 where it matters.
std::optional<FormFields> parse_form(std::string_view text);

/// The value of the first field named `name`.
std::optional<std::string_view> form_field(const FormFields& fields, std::string_view name);

/// Escapes a string for inclusion in a JSON string literal (without the quotes).
std::string json_escape(std::string_view text);

} // namespace parley::core::http
