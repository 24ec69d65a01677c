#pragma once
// HTTP File Upload (XEP-0363): the service at its own domain (upload.example.com) that hands
// local users slots, and the HTTP routes those slots point at.
//
// Slots are stateless: the PUT URL carries the size, type and expiry it allows and an
// HMAC-SHA256 over them with a secret kept under the data directory, so a slot stays good
// across a restart. Files are stored as <data_dir>/upload/files/SLOT/NAME, SLOT being 128
// random bits, with the Content-Type beside them in SLOT/.type.

#include "config/config.hpp"
#include "router/domain_handler.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace parley::core::http {
class Server;
}

namespace parley::router {
class Router;
}

namespace parley::router::upload {

/// The service's domain: [upload] domain, or "upload." + the first of [server] hosts that is a
/// name; empty when [upload] enabled = false or no host is a name.
std::string service_domain(const config::Config& config);

/// The base URL of slot URLs: [upload] public_url, or http://ADDRESS:PORT of [http] (the first
/// host instead of an unspecified address such as 0.0.0.0).
std::string public_base_url(const config::Config& config);

/// How long a slot's PUT URL is good for.
inline constexpr std::chrono::seconds slot_lifetime{300};

/// The service of one domain, registered with the router as its handler.
///
/// Threading: on_stanza runs on the sender's strand and only computes (no I/O). The HTTP
/// handlers run on the connection's executor and touch the disk only for small metadata
/// (creating a slot directory, one rename, reading a .type file); the body itself is streamed
/// to disk by the HTTP server. expire_now() blocks: run it on the worker pool.
class UploadService final : public DomainHandler {
public:
  /// `router` outlives the service. `root` is <data_dir>/upload.
  UploadService(Router& router, std::string domain, const config::UploadConfig& config, std::string base_url,
                std::filesystem::path root, std::string secret);
  ~UploadService() override;
  UploadService(const UploadService&) = delete;
  UploadService& operator=(const UploadService&) = delete;

  /// Reads (or creates once) the secret and the storage directory under `data_dir`, then makes
  /// the service. Blocks: start-up only.
  static boost::system::result<std::shared_ptr<UploadService>> open(Router& router, const config::Config& config,
                                                                      const std::filesystem::path& data_dir);

  boost::asio::awaitable<Disposition> on_stanza(core::xml::Element stanza) override;

  /// Adds PUT and GET (HEAD) /upload/{slot}/{name}; call before the server starts.
  void install(core::http::Server& http);

  /// Stores a file that did not come through a slot (media an SMS gateway re-hosts) as
  /// SLOT/NAME with its type beside it, like an upload, and returns the GET URL it is served
  /// at. `filename` is sanitised; `key` (such as provider message id + index) decides SLOT, so
  /// that storing the same key again replaces the file under the same URL; empty: a random
  /// slot. Refused (with the reason) past max_file_size, for a type not in allowed_types, or
  /// when the disk fails. Blocks (the disk): run it on the worker pool; any thread.
  boost::system::result<std::string, std::string> store(std::string_view bytes, std::string_view filename,
                                                        std::string_view content_type, std::string_view key);

  /// [upload] max_file_size.
  std::uint64_t max_file_size() const noexcept;

  /// Deletes files older than [upload] expire_after_days and what failed uploads left behind.
  /// Returns how many slots went. Blocks (the disk): run it on the worker pool.
  std::size_t expire_now();

  const std::string& domain() const noexcept;

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace parley::router::upload
