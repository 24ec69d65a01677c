// parleyctl: administration from the command line, in the manner of prosodyctl/ejabberdctl.
// It works on the configured database directly (SQLite in WAL mode allows this while parleyd
// runs).

#include "config/loader.hpp"
#include "core/jid/jid.hpp"
#include "router/modules/registration.hpp"
#include "storage/sqlite/open.hpp"

#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

constexpr std::string_view usage = R"(usage: parleyctl [--config FILE] COMMAND

commands:
  check-config FILE                 validate a configuration file
  user add JID [--password PW]      create a user (password read from stdin if not given)
  user passwd JID [--password PW]   set a user's password
  user delete JID (or del)          delete a user and everything stored for them
  user list                         list users
  user exists JID                   exit 0 if the user exists, 1 if not

JID is user@host, or just user for the first configured host.
)";

using parley::config::Config;

int fail(const std::string& message) {
  std::cerr << "parleyctl: " << message << '\n';
  return 1;
}

std::optional<parley::core::jid::Jid> user_jid(const Config& config, const std::string& text) {
  auto jid = text.find('@') == std::string::npos ? parley::core::jid::Jid::make(text, config.hosts.front())
                                                 : parley::core::jid::Jid::parse(text);
  if (!jid || jid->local().empty() || !jid->is_bare()) {
    return std::nullopt;
  }
  for (const auto& host : config.hosts) {
    if (host == jid->domain()) {
      return *jid;
    }
  }
  return std::nullopt;
}

std::optional<std::vector<parley::storage::ScramCredentials>> credentials_for(const std::string& password) {
  auto creds = parley::router::modules::make_credentials(password);
  if (!creds) {
    std::cerr << "parleyctl: " << creds.error().message << '\n';
    return std::nullopt;
  }
  return std::move(*creds);
}

std::optional<std::string> read_password(const std::vector<std::string>& args, std::size_t from) {
  for (std::size_t i = from; i + 1 < args.size(); ++i) {
    if (args[i] == "--password") {
      return args[i + 1];
    }
  }
  std::string line;
  if (!std::getline(std::cin, line) || line.empty()) {
    return std::nullopt;
  }
  return line;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::optional<std::string> config_file;
  if (args.size() >= 2 && args[0] == "--config") {
    config_file = args[1];
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << usage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "check-config") {
    if (args.size() != 2) {
      return fail("check-config needs a file");
    }
    auto result = parley::config::load_file(args[1]);
    for (const auto& e : result.errors) {
      std::cerr << e.to_string() << '\n';
    }
    if (!result.ok()) {
      return 2;
    }
    std::cout << args[1] << ": ok\n";
    return 0;
  }

  Config config = parley::config::embedded_default();
  if (config_file) {
    auto result = parley::config::load_file(*config_file);
    if (!result.ok()) {
      for (const auto& e : result.errors) {
        std::cerr << e.to_string() << '\n';
      }
      return 2;
    }
    config = std::move(*result.config);
  }
  std::filesystem::path db = config.storage.sqlite_path;
  if (db.is_relative()) {
    db = std::filesystem::absolute(config.data_dir) / db;
  }
  std::error_code ec;
  std::filesystem::create_directories(db.parent_path(), ec);
  auto opened = parley::storage::sqlite::open(db);
  if (!opened) {
    return fail("cannot open " + db.string() + ": " + opened.error().message());
  }
  auto& storage = **opened;

  if (args[0] != "user" || args.size() < 2) {
    std::cerr << usage;
    return 2;
  }
  const std::string& verb = args[1];
  if (verb == "list") {
    std::string after;
    for (;;) {
      auto page = storage.users().list_users(after, 500);
      if (!page) {
        return fail(page.error().message());
      }
      for (const auto& name : *page) {
        std::cout << name << '\n';
      }
      if (page->size() < 500) {
        return 0;
      }
      after = page->back();
    }
  }
  if (args.size() < 3) {
    return fail(verb + " needs a JID");
  }
  auto jid = user_jid(config, args[2]);
  if (!jid) {
    return fail("'" + args[2] + "' is not a user JID on a host this server serves");
  }
  const std::string username(jid->local());
  if (verb == "add" || verb == "passwd") {
    auto password = read_password(args, 3);
    if (!password) {
      return fail("no password given (use --password or write it on stdin)");
    }
    auto creds = credentials_for(*password);
    if (!creds) {
      return 1;
    }
    auto r = verb == "add" ? storage.users().create_user(username, *creds)
                           : storage.users().set_credentials(username, *creds);
    if (!r) {
      return fail(std::string(jid->bare_string()) + ": " + r.error().message());
    }
    std::cout << (verb == "add" ? "created " : "password changed for ") << jid->bare_string() << '\n';
    return 0;
  }
  if (verb == "delete" || verb == "del") {
    auto r = storage.users().delete_user(username);
    if (!r) {
      return fail(std::string(jid->bare_string()) + ": " + r.error().message());
    }
    std::cout << "deleted " << jid->bare_string() << '\n';
    return 0;
  }
  if (verb == "exists") {
    auto r = storage.users().user_exists(username);
    if (!r) {
      return fail(r.error().message());
    }
    return *r ? 0 : 1;
  }
  std::cerr << usage;
  return 2;
}
