// parleyctl: administration from the command line, in the manner of prosodyctl/ejabberdctl.
// It works on the configured database directly (SQLite in WAL mode and PostgreSQL both allow
// this while parleyd runs).

#include "config/loader.hpp"
#include "core/jid/jid.hpp"
#include "router/modules/registration.hpp"
#include "server/admin/tokens.hpp"
#include "server/parleyctl_api.hpp"
#include "server/storage_setup.hpp"
#include "storage/copy.hpp"
#include "storage/postgres/open.hpp"
#include "storage/sqlite/open.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <chrono>
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
  token create --scope admin|read [--description TEXT]
                                    create an admin API token (printed once)
  token list                        list API tokens
  token revoke ID                   revoke an API token
  storage migrate                   apply pending schema migrations to the configured storage
  storage copy --from SRC --to DST  copy everything stored (users, credentials, rosters, offline
                                    messages, work queues) into an empty storage

SRC and DST are sqlite:PATH, postgres:DSN or a postgresql:// URI; the one left out is the
configured storage. A PostgreSQL password may come from $PARLEY_POSTGRES_PASSWORD.

JID is user@host, or just user for the first configured host. The user, token and storage
commands work on the configured database directly, with or without a running server.

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

/// `storage migrate` and `storage copy`.
int storage_command(const std::vector<std::string>& args, const parley::server::StorageTarget& configured) {
  using parley::server::describe;
  using parley::server::open_storage;
  if (args.size() >= 2 && args[1] == "migrate" && args.size() == 2) {
    // Opening applies whatever migrations are pending.
    auto opened = open_storage(configured);
    if (!opened) {
      return fail(opened.error());
    }
    const int version = configured.backend == parley::config::StorageBackend::postgres
                            ? parley::storage::postgres::latest_schema_version()
                            : parley::storage::sqlite::latest_schema_version();
    std::cout << describe(configured) << ": schema version " << version << '\n';
    return 0;
  }
  if (args.size() >= 2 && args[1] == "copy") {
    std::optional<parley::server::StorageTarget> from;
    std::optional<parley::server::StorageTarget> to;
    for (std::size_t i = 2; i < args.size(); ++i) {
      if ((args[i] == "--from" || args[i] == "--to") && i + 1 < args.size()) {
        (args[i] == "--from" ? from : to) = parley::server::target_from_spec(args[i + 1]);
        ++i;
      } else {
        return fail("storage copy: unexpected argument '" + args[i] + "'");
      }
    }
    if (!from && !to) {
      return fail("storage copy needs --from or --to (the other side defaults to the configured storage)");
    }
    if (!from) {
      from = configured;
    }
    if (!to) {
      to = configured;
    }
    auto source = open_storage(*from);
    if (!source) {
      return fail(source.error());
    }
    auto target = open_storage(*to);
    if (!target) {
      return fail(target.error());
    }
    std::cout << "copying " << describe(*from) << " to " << describe(*to) << '\n';
    auto counts = parley::storage::copy_all(**source, **target);
    if (!counts) {
      if (counts.error() == parley::storage::storage_errc::conflict) {
        return fail("the target already holds users, work items, tokens, registrations, webhooks, rooms, opt-outs, "
                    "block lists, message archives, private XML or PEP nodes; copy only into an empty storage");
      }
      return fail("copy failed: " + counts.error().message());
    }
    std::cout << "copied " << counts->users << " users, " << counts->credentials << " credentials, "
              << counts->roster_items << " roster items, " << counts->offline_messages << " offline messages, "
              << counts->work_items << " work items (" << counts->work_events << " events), " << counts->tokens
              << " API tokens, " << counts->registrations << " registrations, " << counts->hooks << " webhooks, "
              << counts->rooms << " chat rooms, " << counts->opt_outs << " SMS opt-outs, " << counts->blocks
              << " blocked JIDs, " << counts->archived << " archived messages, " << counts->archive_prefs
              << " archiving preferences, " << counts->private_xml << " private XML fragments, " << counts->pep_nodes
              << " PEP nodes (" << counts->pep_items << " items)\n";
    return 0;
  }
  std::cerr << usage;
  return 2;
}

/// `token create|list|revoke`: on storage, so that the first token can be made at all.
int token_command(const std::vector<std::string>& args, parley::storage::Storage& storage) {
  const std::string verb = args.size() > 1 ? args[1] : "";
  if (verb == "create") {
    std::string scope;
    std::string description;
    for (std::size_t i = 2; i + 1 < args.size(); i += 2) {
      if (args[i] == "--scope") {
        scope = args[i + 1];
      } else if (args[i] == "--description") {
        description = args[i + 1];
      } else {
        return fail("token create: unexpected argument '" + args[i] + "'");
      }
    }
    if (!parley::server::admin::valid_scope(scope)) {
      return fail("token create needs --scope admin or --scope read");
    }
    auto minted = parley::server::admin::mint_token(
        scope, description, std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now()));
    if (auto r = storage.tokens().create(minted.stored); !r) {
      return fail("cannot store the token: " + r.error().message());
    }
    std::cerr << "token " << minted.stored.id << " (scope " << scope
              << ") created; it is shown once, keep it safe:\n";
    std::cout << minted.presented << '\n';
    return 0;
  }
  if (verb == "list") {
    auto tokens = storage.tokens().list();
    if (!tokens) {
      return fail(tokens.error().message());
    }
    for (const auto& t : *tokens) {
      std::cout << t.id << "  " << t.scope << "  " << t.description << '\n';
    }
    return 0;
  }
  if (verb == "revoke" && args.size() == 3) {
    if (auto r = storage.tokens().revoke(args[2]); !r) {
      return fail("token " + args[2] + ": " + r.error().message());
    }
    std::cout << "revoked " << args[2] << '\n';
    return 0;
  }
  return fail("token create|list|revoke; see parleyctl --help");
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::optional<std::string> config_file;
  if (args.size() >= 2 && args[0] == "--config") {
    config_file = args[1];
    args.erase(args.begin(), args.begin() + 2);
  }
  bool json_output = false;
  if (auto found = std::find(args.begin(), args.end(), "--json"); found != args.end()) {
    json_output = true;
    args.erase(found);
  }
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << usage << parley::server::ctl::api_usage();
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
  auto configured = parley::server::target_of(config);
  if (!configured) {
    return fail(configured.error());
  }
  if (args[0] == "storage") {
    return storage_command(args, *configured);
  }
  if (parley::server::ctl::is_api_command(args[0])) {
    return parley::server::ctl::run_api_command(config, args, json_output);
  }
  auto opened = parley::server::open_storage(*configured);
  if (!opened) {
    return fail(opened.error());
  }
  auto& storage = **opened;

  if (args[0] == "token") {
    return token_command(args, storage);
  }
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
