#pragma once
// Typed configuration. Every default here is the embedded default that `parleyd` runs with
// when started without --config; config/parley.example.toml documents each key.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::config {

enum class LogFormat { text, json };

struct LogConfig {
  /// trace | debug | info | warn | error | critical | off
  std::string level = "info";
  LogFormat format = LogFormat::text;
};

struct TlsConfig {
  /// PEM certificate chain and private key. Both empty: a self-signed pair is generated on
  /// first start under `<data_dir>/tls/` and reused afterwards.
  std::string certificate;
  std::string key;
};

enum class C2sTls {
  required, ///< STARTTLS offered and required before authentication (default)
  optional, ///< STARTTLS offered, plaintext authentication allowed (loopback tests only)
  disabled  ///< no STARTTLS offered (loopback tests only)
};

struct C2sConfig {
  std::string address = "127.0.0.1";
  std::uint16_t port = 5222;
  C2sTls tls = C2sTls::required;
  /// XEP-0368 direct TLS port; 0 disables it.
  std::uint16_t direct_tls_port = 0;
  /// XEP-0198: how long a dropped session may be resumed; 0 turns resumption off.
  std::uint32_t sm_resume_timeout_seconds = 300;
  /// Open client connections allowed from one IP address.
  std::uint32_t max_connections_per_ip = 100;
  /// Failed authentications allowed from one IP address per minute; past it, new attempts
  /// from that address are refused until the minute is over.
  std::uint32_t max_auth_failures_per_ip = 10;
  /// XEP-0077 in-band registration of new accounts (password changes are always allowed).
  bool allow_registration = false;
};

struct HttpConfig {
  std::string address = "127.0.0.1";
  std::uint16_t port = 5280;
  std::size_t max_body_bytes = 1024 * 1024;
};

/// The admin REST API (/api/v1) and what parleyctl needs to reach it.
struct AdminConfig {
  /// A listener of its own for the API (say, on an internal interface); port 0 serves the
  /// API on the [http] listener instead.
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;
  /// parleyctl: the server's base URL ("http://127.0.0.1:5280"); empty: derived from the
  /// listener above or from [http]. $PARLEY_API_URL wins over it.
  std::string url;
  /// parleyctl: a file holding the API token; $PARLEY_API_TOKEN wins over it.
  std::string token_file;
};

struct LimitsConfig {
  /// RFC 6120 §13.12: the largest stanza accepted after authentication.
  std::size_t max_stanza_bytes = 256 * 1024;
  /// The largest stanza accepted before authentication.
  std::size_t max_stanza_bytes_unauthenticated = 16 * 1024;
  /// The deepest element nesting inside one stanza.
  std::size_t max_depth = 64;
  /// The most attributes (including namespace declarations) on one element.
  std::size_t max_attributes = 64;
  /// Seconds an unauthenticated stream may stay open.
  std::uint32_t unauthenticated_timeout_seconds = 60;
};

enum class StorageBackend { sqlite, postgres };

struct StorageConfig {
  StorageBackend backend = StorageBackend::sqlite;
  /// SQLite database file; a relative path is taken relative to `data_dir`.
  std::string sqlite_path = "parley.db";
  /// libpq connection string (keyword=value or postgresql:// URI) for backend "postgres".
  std::string postgres_dsn;
  /// The name of an environment variable holding the PostgreSQL password, so that it need
  /// not be in the file; empty for none (libpq's own PGPASSWORD and ~/.pgpass still apply).
  std::string postgres_password_env;
  /// Connections the PostgreSQL pool opens at most.
  std::uint32_t postgres_connections = 8;
  /// Threads in the worker pool that runs blocking storage calls.
  std::uint32_t workers = 4;
  /// Offline messages kept per user before new ones are refused.
  std::uint32_t offline_quota = 1000;
};

/// Who decides whether a password is right and whether a user exists.
enum class AuthBackend {
  internal, ///< the storage's own accounts, with SCRAM credentials (default)
  http      ///< an external HTTP service (in the style of Prosody's mod_auth_http)
};

struct AuthConfig {
  AuthBackend backend = AuthBackend::internal;
  /// backend "http": the service's base URL; Parley calls {url}/check_password and
  /// {url}/user_exists.
  std::string url;
  /// Timeout of one call to the service; past it, the login fails temporarily.
  std::uint32_t timeout_seconds = 5;
  /// How long a "yes" is remembered (a password only as a salted hash); 0 remembers nothing.
  std::uint32_t cache_seconds = 60;
  /// The service may be on loopback, private or link-local addresses (it usually is).
  bool allow_private_addresses = false;
  /// The name of an environment variable holding a token sent as `Authorization: Bearer`;
  /// empty for none.
  std::string auth_token_env;
};

/// Multi-user chat (XEP-0045): one service per domain, with rooms at room@domain.
struct MucConfig {
  bool enabled = true;
  /// The service's domain. Empty: "conference." followed by each of [server] hosts, one
  /// service per host.
  std::string domain;
  /// The service's name in service discovery.
  std::string name = "Chatrooms";
  /// Most occupants of one room; also the limit of a room whose owner set none.
  std::uint32_t max_occupants = 200;
  /// Most groupchat messages a room keeps for new occupants (its history length is capped
  /// at this).
  std::uint32_t max_history = 100;
  /// Most rooms one service holds at once; past it, creating a room is refused.
  std::uint32_t max_rooms = 10000;
};

/// What a user's archive keeps when they set no preferences (XEP-0313 §6).
enum class ArchiveDefault {
  always, ///< every 1:1 message with a body
  never,  ///< nothing, unless the user asks
  roster  ///< messages with contacts in the user's roster
};

/// Message archives (XEP-0313): one per user for 1:1 chat (gateway contacts included), one per
/// chat room for its groupchat messages.
struct ArchiveConfig {
  bool enabled = true;
  ArchiveDefault default_mode = ArchiveDefault::always;
  /// Messages older than this are deleted; 0 keeps them for ever.
  std::uint32_t retention_days = 365;
  /// Most messages one query page returns (a client's <max/> is capped at this).
  std::uint32_t max_page = 250;
  /// Whether chat rooms keep archives (occupants are told with status code 170).
  bool rooms = true;
};

/// HTTP File Upload (XEP-0363): a service at its own domain that hands local users upload
/// slots on the [http] listener. Files live under `<data_dir>/upload/`.
struct UploadConfig {
  bool enabled = true;
  /// The service's domain. Empty: "upload." followed by the first of [server] hosts that is a
  /// name (not an IP literal); with none, no service.
  std::string domain;
  /// The largest file a slot is given for (ejabberd's default, 100 MiB).
  std::uint64_t max_file_size = 100ULL * 1024 * 1024;
  /// MIME types a file may have: "image/png", or "image/*" for a whole top-level type. Empty:
  /// any type.
  std::vector<std::string> allowed_types;
  /// Uploaded files older than this are deleted; 0 keeps them for ever.
  std::uint32_t expire_after_days = 30;
  /// The base URL clients reach the [http] listener at ("https://xmpp.example.com"), as the
  /// start of every slot URL. Empty: http://[http] address:port.
  std::string public_url;
};

/// What a gateway turns messages into.
enum class GatewayKind { webhook, sms, email };

/// Who carries the SMS of a `sms` gateway.
enum class SmsProvider {
  twilio, ///< Twilio's Messages API, or a Twilio-compatible one at another base_url
  kannel, ///< Kannel's smsbox: sendsms out, an sms-service get-url or post-url in
  smpp,   ///< an SMSC over SMPP 3.4, bound as a transceiver
};

/// [gateway.twilio] of a `sms` gateway with provider = "twilio".
struct TwilioConfig {
  /// The account (HTTP basic user and the {Sid} of /2010-04-01/Accounts/{Sid}/Messages.json).
  std::string account_sid;
  /// The auth token: basic password, and the key of X-Twilio-Signature on callbacks.
  std::string auth_token;
  /// Or the name of an environment variable holding it.
  std::string auth_token_env;
  /// Where the API is; tests and Twilio-compatible providers point it elsewhere.
  std::string base_url = "https://api.twilio.com";
};

/// [gateway.kannel] of a `sms` gateway with provider = "kannel".
struct KannelConfig {
  /// smsbox's sendsms interface: "http://127.0.0.1:13013/cgi-bin/sendsms".
  std::string sendsms_url;
  /// A sendsms-user of smsbox (give it max-messages > 1 and concatenation = true).
  std::string username;
  std::string password;
  /// Or the name of an environment variable holding the password.
  std::string password_env;
  /// The `secret` query parameter every request from Kannel must carry (the sms-service's
  /// get-url or post-url, and the dlr-url Parley sets): letters, digits, '.', '_', '~', '-'.
  std::string inbound_secret;
  /// Or the name of an environment variable holding it.
  std::string inbound_secret_env;
  /// The smsc-id to route through (sendsms `smsc`); empty: Kannel's routing decides.
  std::string smsc;
};

/// [gateway.smpp] of a `sms` gateway with provider = "smpp": one transceiver bind to an SMSC.
struct SmppConfig {
  /// The SMSC's address (host name or IP literal) and port.
  std::string host;
  std::uint16_t port = 2775;
  /// The bind's credentials (SMPP 3.4 §4.1.5): at most 15 and 8 characters.
  std::string system_id;
  std::string password;
  /// Or the name of an environment variable holding the password.
  std::string password_env;
  /// The bind's system_type (at most 12 characters), and the service_type of each submit_sm.
  std::string system_type;
  std::string service_type;
  /// Requests sent and not yet answered at once (submit_sm, enquire_link).
  std::uint32_t window = 10;
  /// An enquire_link after this long without traffic from the SMSC.
  std::uint32_t enquire_link_seconds = 30;
  /// A request unanswered this long fails; an unanswered bind or enquire_link ends the connection.
  std::uint32_t response_timeout_seconds = 10;
  /// Reconnecting after a lost or refused bind: the first delay, doubled (with jitter) up to the last.
  std::uint32_t reconnect_min_ms = 1000;
  std::uint32_t reconnect_max_ms = 60000;
  /// After ESME_RTHROTTLED or ESME_RMSGQFUL: the pause before submitting again, doubled per
  /// repeat up to throttle_max_ms.
  std::uint32_t throttle_backoff_ms = 1000;
  std::uint32_t throttle_max_ms = 60000;
  /// TON and NPI of source_addr (our numbers) and destination_addr; 1/1 is international E.164.
  std::uint8_t source_ton = 1;
  std::uint8_t source_npi = 1;
  std::uint8_t destination_ton = 1;
  std::uint8_t destination_npi = 1;
  /// Ask the SMSC for delivery receipts (registered_delivery 1).
  bool delivery_receipts = true;
  /// Parts of an inbound concatenated SMS wait this long for the rest.
  std::uint32_t reassembly_timeout_seconds = 120;
};

/// What an SMS gateway does with keyword messages from a phone (CTIA-style STOP, START and
/// HELP): [gateway.keywords] for every number, [[gateway.number]] for one. Matching is on the
/// whole text, trimmed, case-insensitively.
struct SmsKeywords {
  /// false: keywords are ordinary messages, passed on to the owner.
  bool enabled = true;
  /// The sender opts out of messages from the number: outbound messages to it are refused
  /// until it sends a start keyword.
  std::vector<std::string> stop = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"};
  std::vector<std::string> start = {"START", "UNSTOP", "YES"};
  std::vector<std::string> help = {"HELP", "INFO"};
  /// The automatic answers, sent from the number; empty: none.
  std::string stop_reply =
      "You are unsubscribed and will get no more messages from this number. Reply START to resubscribe.";
  std::string start_reply = "You are resubscribed. Reply STOP to unsubscribe.";
  std::string help_reply = "Reply STOP to unsubscribe, START to resubscribe.";
};

/// [[gateway.number]]: settings of one number of an SMS gateway.
struct SmsNumberConfig {
  /// E.164.
  std::string number;
  SmsKeywords keywords;
};

/// The keys of a [[gateway]] of kind "sms".
struct SmsConfig {
  SmsProvider provider = SmsProvider::twilio;
  /// Users register the number they send from themselves (XEP-0077 with the gateway).
  bool self_registration = true;
  /// The operator's numbers (E.164) users may register themselves; empty: any number that
  /// nobody holds yet. Administrators assign any number through the admin API.
  std::vector<std::string> numbers;
  /// Messages per second through the provider (the account's limit), and from any one of our
  /// numbers (a US long code takes about 1); 0: no limit. Messages wait their turn.
  double rate_per_second = 0;
  double number_rate_per_second = 0;
  /// A second provider, tried at once when the first fails transiently (timeout, 5xx,
  /// throttled, not bound); its own table ([gateway.kannel], ...) must be given too.
  std::optional<SmsProvider> failover;
  /// STOP/START/HELP: for every number, and per number.
  SmsKeywords keywords;
  std::vector<SmsNumberConfig> number_settings;
  /// ISO 3166-1 alpha-2 code ("US", "GB") of the country whose national numbers users may
  /// type without the country code; empty: international numbers only (+CC..., 00CC...).
  std::string default_country;
  /// The base URL at which the provider reaches this server's [http] listener, as the
  /// provider sees it ("https://xmpp.example.com"); callback URLs are built from it and
  /// Twilio's signatures are computed over them.
  std::string public_url;
  TwilioConfig twilio;
  KannelConfig kannel;
  SmppConfig smpp;
};

/// One webhook of a `webhook` gateway: the contact NAME@domain.
struct WebhookConfig {
  /// The localpart of its JID (NAME@domain) and the NAME of POST /hooks/NAME.
  std::string name;
  /// Outbound: messages to NAME@domain are POSTed here (http or https); empty: inbound only.
  std::string url;
  /// Signing secret for outbound POSTs (Standard Webhooks; "whsec_" + base64, or raw text).
  std::string secret;
  /// Or the name of an environment variable holding it.
  std::string secret_env;
  /// Also sign outbound POSTs GitHub-style (X-Hub-Signature-256).
  bool github_signature = false;
  /// Inbound: the secret a POST must carry, as a bearer token or as the key of its HMAC
  /// signature (Standard Webhooks or X-Hub-Signature-256); empty: no inbound hook.
  std::string inbound_secret;
  /// Or the name of an environment variable holding it.
  std::string inbound_secret_env;
  /// Inbound: who gets messages that do not name a recipient (Slack-style, text, templates).
  std::string recipient;
  /// Inbound into a chat room (a recipient on a [muc] domain): the nick its messages appear
  /// from (room@service/NICK); empty: the hook's name.
  std::string nick;
  /// Inbound body format: "auto", "github", "alertmanager", "grafana", "json", "text".
  std::string template_name = "auto";
};

/// STARTTLS towards the smarthost (smtp:// URLs; smtps:// is TLS from the start).
enum class SmtpTls {
  none,          ///< never
  opportunistic, ///< when the server offers it
  required,      ///< or fail (transiently: the message is retried)
};

/// [gateway.smtp] of an `email` gateway: the smarthost that outbound mail is submitted to.
struct SmtpOutConfig {
  /// "smtp://mail.example.com:587" (submission, STARTTLS) or "smtps://mail.example.com:465";
  /// empty: the gateway sends no mail (inbound only).
  std::string url;
  SmtpTls tls = SmtpTls::required;
  /// SMTP AUTH; empty username: none.
  std::string username;
  std::string password;
  /// Or the name of an environment variable holding the password.
  std::string password_env;
  /// CA certificates to verify the smarthost with; empty: the system's.
  std::string ca_file;
  /// false: accept any certificate (a smarthost on loopback with a self-signed one).
  bool verify_peer = true;
  /// The EHLO name; empty: the gateway's domain.
  std::string helo_name;
  /// Submissions in flight at once (each on a thread of the gateway's own).
  std::uint32_t connections = 4;
};

/// [[gateway.user]] of an `email` gateway: one user's address and display name.
struct EmailUserConfig {
  /// The user's bare JID ("alice@example.com").
  std::string jid;
  /// Their address ("alice@example.org"): From of what they send, and where mail reaches them.
  std::string address;
  /// The display name of From; empty: none.
  std::string name;
};

/// How mail that comes in finds its user.
enum class EmailRecipients {
  localpart, ///< USER@address_domain is the user USER of user_host (and assigned addresses)
  address,   ///< only addresses assigned to a user ([[gateway.user]], the admin API)
};

/// The keys of a [[gateway]] of kind "email": contacts are mail addresses, escaped into a JID
/// localpart (XEP-0106: bob\40example.org@mail.example.com).
struct EmailConfig {
  /// The domain of the users' own addresses: USER@address_domain.
  std::string address_domain;
  EmailRecipients recipients = EmailRecipients::localpart;
  /// The [server] host whose users the gateway serves; empty: the first of hosts.
  std::string user_host;
  /// The Subject of a mail whose message has none and starts no reply.
  std::string default_subject = "Message from XMPP";
  /// The LMTP listener that the MTA delivers to (port 0: none).
  std::string lmtp_address = "127.0.0.1";
  std::uint16_t lmtp_port = 2424;
  /// A plain SMTP listener of its own (port 0: none): for an MTA without LMTP.
  std::string smtp_address = "127.0.0.1";
  std::uint16_t smtp_port = 0;
  /// The name in the listeners' greeting; empty: the gateway's domain.
  std::string hostname;
  /// Larger mail is refused (552) before and while it is sent.
  std::uint64_t max_message_bytes = 10ULL * 1024 * 1024;
  /// The text of one mail as a chat message is cut beyond this.
  std::uint32_t max_text_bytes = 64 * 1024;
  SmtpOutConfig smtp;
  std::vector<EmailUserConfig> users;
};

/// One [[gateway]]: a domain whose JIDs are reached through a gateway plugin.
struct GatewayConfig {
  std::string domain;
  GatewayKind kind = GatewayKind::webhook;
  /// The name shown in service discovery; empty: one derived from the kind.
  std::string name;
  /// Outbound HTTP may reach loopback, private and link-local addresses (tests, intranets).
  bool allow_private_addresses = false;
  /// Delivery attempts before a message goes to the dead letters.
  std::uint32_t max_attempts = 8;
  /// Age after which a message that still fails goes to the dead letters.
  std::uint32_t max_age_seconds = 86400;
  /// First retry delay; doubles per attempt (with jitter) up to retry_max_ms.
  std::uint32_t retry_base_ms = 2000;
  std::uint32_t retry_max_ms = 600000;
  /// Deliveries in flight at once per destination (one webhook, one number).
  std::uint32_t concurrency_per_destination = 4;
  /// Timeout of one outbound request.
  std::uint32_t timeout_seconds = 15;
  /// kind = "webhook": the hooks, from [[gateway.hook]].
  std::vector<WebhookConfig> hooks;
  /// kind = "sms": provider, numbers and callbacks.
  SmsConfig sms;
  /// kind = "email": addresses, the smarthost and the listeners.
  EmailConfig email;
};

struct Config {
  /// Domains served by this server (RFC 7622 domainparts).
  std::vector<std::string> hosts = {"localhost"};
  /// Where state lives (database, generated certificate); relative to the working directory.
  std::string data_dir = "parley-data";
  /// I/O threads; 0 means one per core.
  std::uint32_t io_threads = 0;
  LogConfig log;
  TlsConfig tls;
  C2sConfig c2s;
  HttpConfig http;
  AdminConfig admin;
  LimitsConfig limits;
  StorageConfig storage;
  AuthConfig auth;
  std::vector<GatewayConfig> gateways;
  MucConfig muc;
  ArchiveConfig archive;
  UploadConfig upload;
};

} // namespace parley::config
