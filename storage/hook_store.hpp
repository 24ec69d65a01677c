#pragma once

#include "storage/offline_message.hpp"

#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace parley::storage {

/// A webhook created through the admin API (hooks from the configuration file are not
/// stored). The fields mirror config::WebhookConfig. The secrets are kept as given: the server
/// needs them to sign and to check signatures, so they cannot be hashed.
struct StoredHook {
  /// The webhook gateway's domain.
  std::string domain;
  /// The hook's name: NAME@domain and POST /hooks/NAME.
  std::string name;
  std::string url;
  std::string secret;
  bool github_signature = false;
  std::string inbound_secret;
  std::string recipient;
  std::string template_name = "auto";
  Timestamp created;
  Timestamp updated;

  friend bool operator==(const StoredHook&, const StoredHook&) = default;
};

/// Webhooks managed at run time. Threading: every call blocks on I/O; worker pool only.
/// No call throws. invalid_argument for an empty domain or name.
class HookStore {
public:
  virtual ~HookStore() = default;

  /// Stores a new hook. conflict if (domain, name) is taken.
  virtual boost::system::result<void> create(const StoredHook& hook) = 0;
  /// Replaces every field of the existing hook (domain, name) but `created`; not_found if none.
  virtual boost::system::result<void> update(const StoredHook& hook) = 0;
  /// not_found if none.
  virtual boost::system::result<StoredHook> get(std::string_view domain, std::string_view name) = 0;
  /// The hooks of `domain` by ascending name; an empty `domain` lists every hook by
  /// (domain, name).
  virtual boost::system::result<std::vector<StoredHook>> list(std::string_view domain) = 0;
  /// not_found if none.
  virtual boost::system::result<void> remove(std::string_view domain, std::string_view name) = 0;
};

} // namespace parley::storage
