#include "router/modules/registration.hpp"

#include "core/sasl/scram_credentials.hpp"
#include "core/xml/namespaces.hpp"

namespace parley::router::modules {

namespace ns = core::xml::ns;
using core::xml::Element;

boost::system::result<std::vector<storage::ScramCredentials>, core::Failure>
make_credentials(std::string_view password) {
  auto prepared = core::sasl::saslprep(password);
  if (!prepared) {
    return prepared.error();
  }
  std::vector<storage::ScramCredentials> out;
  for (auto hash : {core::sasl::ScramHash::sha1, core::sasl::ScramHash::sha256}) {
    auto secrets = core::sasl::derive_secrets(hash, *prepared, core::sasl::default_iterations);
    out.push_back({std::string(core::sasl::mechanism_name(hash)), std::move(secrets.salt), secrets.iterations,
                   std::move(secrets.stored_key), std::move(secrets.server_key)});
  }
  return {boost::system::in_place_value, std::move(out)};
}

Element registration_form(std::string_view registered_as) {
  Element query("query", std::string(ns::register_));
  if (!registered_as.empty()) {
    query.add_child(Element("registered", std::string(ns::register_)));
    query.add_child(Element("username", std::string(ns::register_))).add_text(registered_as);
    query.add_child(Element("password", std::string(ns::register_)));
    return query;
  }
  query.add_child(Element("instructions", std::string(ns::register_)))
      .add_text("Choose a username and password to register with this server.");
  query.add_child(Element("username", std::string(ns::register_)));
  query.add_child(Element("password", std::string(ns::register_)));
  return query;
}

Submission read_submission(const Element& query) {
  Submission out;
  if (const Element* u = query.child("username", ns::register_)) {
    out.username = u->text();
  }
  if (const Element* p = query.child("password", ns::register_)) {
    out.password = p->text();
  }
  out.remove = query.child("remove", ns::register_) != nullptr;
  return out;
}

} // namespace parley::router::modules
