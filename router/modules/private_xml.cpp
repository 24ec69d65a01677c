#include "router/modules/private_xml.hpp"

#include "core/async/worker_pool.hpp"
#include "core/stanza/stanza_error.hpp"
#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "core/xml/serializer.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"

#include <chrono>
#include <utility>
#include <vector>

namespace parley::router::modules {

namespace asio = boost::asio;
namespace ns = core::xml::ns;
using core::stanza::stanza_errc;
using core::xml::Element;

namespace {

constexpr std::string_view vcard_key = "vcard";
/// The longest key: a namespace and an element name are short; the store indexes keys.
constexpr std::size_t max_private_key = 1024;

/// One XEP-0049 fragment's key: its namespace and element name.
std::string private_key(const Element& el) {
  return "private " + std::string(el.ns()) + " " + std::string(el.name());
}

storage::Timestamp now() {
  return std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
}

/// XEP-0049 §3: the jabber:* namespaces (jabber:client, jabber:iq:private itself ...) are
/// reserved and cannot hold private data.
bool reserved(std::string_view ns) {
  return ns.empty() || ns.starts_with("jabber:") || ns == core::xml::ns::client;
}

Element error(const Element& iq, stanza_errc condition, std::string_view text) {
  return core::stanza::make_error(iq, condition, text);
}

} // namespace

asio::awaitable<Element> answer_private(storage::Storage& storage, core::async::WorkerPool& workers, Element iq,
                                        std::string user) {
  const std::string_view type = iq.attribute("type").value_or("");
  const Element* query = iq.child("query", ns::private_storage);
  std::vector<const Element*> items;
  if (query != nullptr) {
    for (const Element& child : query->children()) {
      items.push_back(&child);
    }
  }
  if (query == nullptr || items.empty()) {
    // §2.3: a request names at least one fragment; an empty get is a bad format.
    co_return error(iq, type == "get" ? stanza_errc::bad_request : stanza_errc::not_acceptable,
                    "the query needs a child element in a namespace of its own");
  }
  for (const Element* item : items) {
    if (reserved(item->ns())) {
      co_return error(iq, stanza_errc::not_acceptable, "the namespace " + std::string(item->ns()) + " is reserved");
    }
    if (private_key(*item).size() > max_private_key) {
      co_return error(iq, stanza_errc::not_acceptable, "the namespace and element name are too long");
    }
  }
  if (type == "get") {
    if (items.size() != 1) {
      co_return error(iq, stanza_errc::not_acceptable, "a get asks for one namespace");
    }
    const Element asked = *items.front();
    auto job = [&storage, user, key = private_key(asked)] { return storage.private_xml().get(user, key); };
    auto stored = co_await workers.run(std::move(job));
    if (!stored && stored.error() != storage::storage_errc::not_found) {
      co_return error(iq, stanza_errc::internal_server_error, "storage is unavailable");
    }
    auto result = core::stanza::make_result(iq);
    auto& out = result.add_child(Element("query", std::string(ns::private_storage)));
    auto parsed = stored ? core::xml::parse_element(*stored) : boost::system::result<Element>(Element());
    if (stored && parsed) {
      out.add_child(std::move(*parsed));
    } else {
      // Nothing stored: the empty element asked for (§2.2).
      out.add_child(Element(std::string(asked.name()), std::string(asked.ns())));
    }
    co_return result;
  }
  std::vector<std::pair<std::string, std::string>> fragments;
  for (const Element* item : items) {
    std::string xml = core::xml::serialize(*item);
    if (xml.size() > max_private_fragment) {
      co_return error(iq, stanza_errc::not_acceptable, "a fragment may be at most 512 KiB");
    }
    fragments.emplace_back(private_key(*item), std::move(xml));
  }
  auto job = [&storage, user, fragments]() -> boost::system::result<void> {
    const auto at = now();
    for (const auto& [key, xml] : fragments) {
      if (auto put = storage.private_xml().put(user, key, xml, at); !put) {
        return put.error();
      }
    }
    return {};
  };
  auto stored = co_await workers.run(std::move(job));
  if (!stored) {
    co_return error(iq, stanza_errc::internal_server_error, "storage is unavailable");
  }
  co_return core::stanza::make_result(iq);
}

asio::awaitable<Element> answer_vcard(storage::Storage& storage, core::async::WorkerPool& workers, Element iq,
                                      std::string owner, bool own) {
  const std::string_view type = iq.attribute("type").value_or("");
  const Element* vcard = iq.child("vCard", ns::vcard);
  if (vcard == nullptr) {
    co_return error(iq, stanza_errc::bad_request, "the payload is <vCard xmlns='vcard-temp'/>");
  }
  if (type == "set") {
    if (!own) {
      co_return error(iq, stanza_errc::forbidden, "only its owner may change a vCard");
    }
    std::string xml = core::xml::serialize(*vcard);
    if (xml.size() > max_private_fragment) {
      co_return error(iq, stanza_errc::not_acceptable, "a vCard may be at most 512 KiB");
    }
    auto job = [&storage, owner, xml = std::move(xml)] {
      return storage.private_xml().put(owner, vcard_key, xml, now());
    };
    auto stored = co_await workers.run(std::move(job));
    if (!stored) {
      co_return error(iq, stanza_errc::internal_server_error, "storage is unavailable");
    }
    co_return core::stanza::make_result(iq);
  }
  auto job = [&storage, owner] { return storage.private_xml().get(owner, vcard_key); };
  auto stored = co_await workers.run(std::move(job));
  if (!stored && stored.error() != storage::storage_errc::not_found) {
    co_return error(iq, stanza_errc::internal_server_error, "storage is unavailable");
  }
  auto result = core::stanza::make_result(iq);
  auto parsed = stored ? core::xml::parse_element(*stored) : boost::system::result<Element>(Element());
  if (stored && parsed) {
    result.add_child(std::move(*parsed));
  } else {
    // XEP-0054 §3.1: no vCard yet is an empty one.
    result.add_child(Element("vCard", std::string(ns::vcard)));
  }
  co_return result;
}

} // namespace parley::router::modules
