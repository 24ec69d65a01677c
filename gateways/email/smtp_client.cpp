#include "gateways/email/smtp_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>

namespace parley::gateways::email {

namespace {

/// libcurl wants curl_global_init before any other call. core/http/client.cpp does the same
/// with its own once-flag; libcurl counts the calls, so whichever runs first initialises and
/// the other only adds to the count (neither calls curl_global_cleanup).
CURLcode global_init() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

constexpr std::size_t longest_kept_line = 4096;

/// The server's side of the conversation, as libcurl shows it to the debug callback: keeps
/// the last complete reply, a multi-line one joined by spaces.
class ReplyRecorder {
public:
  void feed(std::string_view chunk) {
    for (const char c : chunk) {
      if (c == '\n') {
        line(partial_);
        partial_.clear();
      } else if (partial_.size() < longest_kept_line) {
        partial_ += c;
      }
    }
  }

  int code() const { return code_; }
  const std::string& reply() const { return reply_; }

private:
  void line(std::string_view text) {
    if (text.ends_with('\r')) {
      text.remove_suffix(1);
    }
    // RFC 5321 §4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF
    if (text.size() < 3 || !std::all_of(text.begin(), text.begin() + 3, [](char c) { return c >= '0' && c <= '9'; })) {
      return;
    }
    const int code = (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
    const bool more = text.size() > 3 && text[3] == '-';
    append_printable(pending_, text.size() > 4 ? text.substr(4) : std::string_view());
    if (more) {
      return;
    }
    std::string full = std::to_string(code);
    if (!pending_.empty()) {
      full += ' ';
      full += pending_;
    }
    pending_.clear();
    // The answer to our QUIT says nothing about the mail.
    if (code == 221) {
      return;
    }
    code_ = code;
    reply_ = std::move(full);
  }

  /// The reply may end up in a stanza: printable ASCII only.
  static void append_printable(std::string& out, std::string_view text) {
    if (!out.empty() && !text.empty()) {
      out += ' ';
    }
    for (const char c : text) {
      if (out.size() >= longest_kept_line) {
        break;
      }
      const auto octet = static_cast<unsigned char>(c);
      out += octet >= 0x20 && octet < 0x7F ? c : (c == '\t' ? ' ' : '?');
    }
  }

  std::string partial_;
  std::string pending_;
  int code_ = 0;
  std::string reply_;
};

int on_debug(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN) {
    return 0;
  }
  try {
    static_cast<ReplyRecorder*>(user)->feed(std::string_view(data, size));
  } catch (...) { // No exception crosses libcurl; a lost reply text only makes the report vaguer.
  }
  return 0;
}

struct Upload {
  std::string_view rest;
};

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const std::size_t n = std::min(size * count, upload->rest.size());
  std::copy_n(upload->rest.data(), n, buffer);
  upload->rest.remove_prefix(n);
  return n;
}

/// An envelope address libcurl can put between <> without the command changing meaning.
bool is_safe_address(std::string_view address) {
  return std::all_of(address.begin(), address.end(), [](char c) {
    const auto octet = static_cast<unsigned char>(c);
    return octet > 0x20 && octet != 0x7F && c != '<' && c != '>';
  });
}

/// The URL with `helo_name` as its path, which libcurl sends in EHLO (percent-decoded).
std::string url_with_helo(const std::string& url, std::string_view helo_name) {
  if (helo_name.empty()) {
    return url;
  }
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) {
    return url; // libcurl reports the malformed URL
  }
  std::string out = url.substr(0, url.find('/', scheme + 3));
  out += '/';
  static constexpr std::string_view hex = "0123456789ABCDEF";
  for (const char c : helo_name) {
    const auto octet = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += hex[octet >> 4];
      out += hex[octet & 0x0F];
    }
  }
  return out;
}

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

SmtpSendResult failure(SmtpSendResult::Outcome outcome, std::string reply) {
  SmtpSendResult result;
  result.outcome = outcome;
  result.reply = std::move(reply);
  return result;
}

SmtpSendResult send(const SmtpClientSettings& settings, std::string_view mail_from, std::string_view recipient,
                    std::string_view data) {
  using Outcome = SmtpSendResult::Outcome;
  if (!is_safe_address(mail_from) || recipient.empty() || !is_safe_address(recipient)) {
    return failure(Outcome::permanent, "invalid envelope address");
  }
  if (const CURLcode init = global_init(); init != CURLE_OK) {
    return failure(Outcome::transient, std::string("curl_global_init failed: ") + curl_easy_strerror(init));
  }
  const std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    return failure(Outcome::transient, "curl_easy_init failed");
  }
  CURL* const handle = curl.get();
  const std::string url = url_with_helo(settings.url, settings.helo_name);
  const std::string from = '<' + std::string(mail_from) + '>';
  const std::unique_ptr<curl_slist, SlistDeleter> recipients(
      curl_slist_append(nullptr, ('<' + std::string(recipient) + '>').c_str()));
  if (!recipients) {
    return failure(Outcome::transient, "out of memory");
  }
  const long timeout = settings.timeout_seconds > 0 ? settings.timeout_seconds : 30;
  ReplyRecorder recorder;
  Upload upload{data};
  std::array<char, CURL_ERROR_SIZE> error{};

  // Options that cannot fail with these arguments except for lack of memory, which
  // curl_easy_perform then reports.
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error.data());
  curl_easy_setopt(handle, CURLOPT_VERBOSE, 1L); // the debug callback only runs in verbose mode
  curl_easy_setopt(handle, CURLOPT_DEBUGFUNCTION, &on_debug);
  curl_easy_setopt(handle, CURLOPT_DEBUGDATA, &recorder);
  curl_easy_setopt(handle, CURLOPT_USE_SSL,
                   settings.tls == SmtpClientSettings::Tls::none            ? static_cast<long>(CURLUSESSL_NONE)
                   : settings.tls == SmtpClientSettings::Tls::opportunistic ? static_cast<long>(CURLUSESSL_TRY)
                                                                            : static_cast<long>(CURLUSESSL_ALL));
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, settings.verify_peer ? 1L : 0L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, settings.verify_peer ? 2L : 0L);
  if (!settings.ca_file.empty()) {
    curl_easy_setopt(handle, CURLOPT_CAINFO, settings.ca_file.c_str());
  }
  if (!settings.username.empty()) {
    curl_easy_setopt(handle, CURLOPT_USERNAME, settings.username.c_str());
    curl_easy_setopt(handle, CURLOPT_PASSWORD, settings.password.c_str());
  }
  curl_easy_setopt(handle, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(handle, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(handle, CURLOPT_READFUNCTION, &on_read);
  curl_easy_setopt(handle, CURLOPT_READDATA, &upload);
  curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(data.size()));
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, timeout);
  curl_easy_setopt(handle, CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT, 3 * timeout);
  // One transaction per handle: close (and QUIT) at the end rather than keep the connection.
  curl_easy_setopt(handle, CURLOPT_FORBID_REUSE, 1L);

  const CURLcode code = curl_easy_perform(handle);
  SmtpSendResult result;
  result.code = recorder.code();
  if (code == CURLE_OK) {
    result.outcome = Outcome::sent;
    result.reply = recorder.reply();
    return result;
  }
  // RFC 5321 §4.2.1: 4yz is a transient, 5yz a permanent negative completion reply.
  if (recorder.code() >= 400 && recorder.code() < 600) {
    result.outcome = recorder.code() >= 500 ? Outcome::permanent : Outcome::transient;
    result.reply = recorder.reply();
    return result;
  }
  result.outcome = Outcome::transient;
  result.reply = curl_easy_strerror(code);
  if (error[0] != '\0') {
    result.reply += ": ";
    result.reply += error.data();
  }
  if (!recorder.reply().empty()) {
    result.reply += " (last reply: " + recorder.reply() + ")";
  }
  return result;
}

} // namespace

SmtpSendResult smtp_send(const SmtpClientSettings& settings, std::string_view mail_from, std::string_view recipient,
                         std::string_view data) {
  try {
    return send(settings, mail_from, recipient, data);
  } catch (...) { // std::bad_alloc from building strings; the caller retries later
    SmtpSendResult result;
    result.outcome = SmtpSendResult::Outcome::transient;
    result.reply = "out of memory";
    return result;
  }
}

} // namespace parley::gateways::email
