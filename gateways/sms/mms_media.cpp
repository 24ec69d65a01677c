#include "gateways/sms/mms_media.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace parley::gateways::sms {

namespace {

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

/// "type/subtype" lower-cased without parameters, or "" when `text` is not a media type.
std::string bare_type(std::string_view text) {
  text = text.substr(0, text.find(';'));
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  std::string out;
  for (const char c : text) {
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const auto slash = out.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == out.size() ||
      !std::all_of(out.begin(), out.end(), [](char c) { return c == '/' || token_char(c); }) ||
      out.find('/', slash + 1) != std::string::npos) {
    return {};
  }
  return out;
}

} // namespace

std::string_view extension_for(std::string_view content_type) {
  // The types Twilio accepts for MMS (its "accepted content types for media" list) and what
  // phones send besides.
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 40> table{{
      {"image/jpeg", ".jpg"},      {"image/jpg", ".jpg"},       {"image/pjpeg", ".jpg"},
      {"image/png", ".png"},       {"image/gif", ".gif"},       {"image/bmp", ".bmp"},
      {"image/webp", ".webp"},     {"image/heic", ".heic"},     {"image/heif", ".heif"},
      {"image/tiff", ".tiff"},     {"image/svg+xml", ".svg"},   {"audio/mpeg", ".mp3"},
      {"audio/mp3", ".mp3"},       {"audio/mp4", ".m4a"},       {"audio/aac", ".aac"},
      {"audio/amr", ".amr"},       {"audio/ogg", ".ogg"},       {"audio/opus", ".opus"},
      {"audio/wav", ".wav"},       {"audio/x-wav", ".wav"},     {"audio/webm", ".weba"},
      {"audio/3gpp", ".3gp"},      {"video/mp4", ".mp4"},       {"video/mpeg", ".mpeg"},
      {"video/quicktime", ".mov"}, {"video/3gpp", ".3gp"},      {"video/3gpp2", ".3g2"},
      {"video/webm", ".webm"},     {"video/h264", ".mp4"},      {"text/vcard", ".vcf"},
      {"text/x-vcard", ".vcf"},    {"text/directory", ".vcf"},  {"text/calendar", ".ics"},
      {"text/plain", ".txt"},      {"text/csv", ".csv"},        {"text/rtf", ".rtf"},
      {"text/richtext", ".rtx"},   {"application/pdf", ".pdf"}, {"application/vcard", ".vcf"},
      {"application/rtf", ".rtf"},
  }};
  const std::string type = bare_type(content_type);
  const auto it = std::find_if(table.begin(), table.end(), [&](const auto& entry) { return entry.first == type; });
  return it == table.end() ? std::string_view(".bin") : it->second;
}

std::string media_content_type(std::string_view declared, std::string_view served) {
  if (auto type = bare_type(declared); !type.empty()) {
    return type;
  }
  if (auto type = bare_type(served); !type.empty()) {
    return type;
  }
  return "application/octet-stream";
}

std::string media_filename(std::string_view url, std::size_t index, std::string_view content_type) {
  // The path only: no query or fragment, no trailing '/'.
  url = url.substr(0, url.find_first_of("?#"));
  while (!url.empty() && url.back() == '/') {
    url.remove_suffix(1);
  }
  std::string_view segment = url;
  if (const auto slash = url.rfind('/'); slash != std::string_view::npos) {
    segment = url.substr(slash + 1);
  }
  // A scheme and host alone ("https://host") name no file.
  if (url.find("://") != std::string_view::npos && url.find('/', url.find("://") + 3) == std::string_view::npos) {
    segment = {};
  }
  // An extension it has is replaced by the one of its type.
  if (const auto dot = segment.rfind('.'); dot != std::string_view::npos) {
    segment = segment.substr(0, dot);
  }
  std::string name;
  for (const char c : segment) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
      name += c;
    }
    if (name.size() == 64) {
      break;
    }
  }
  if (name.empty()) {
    name = "media-" + std::to_string(index + 1);
  }
  return name + std::string(extension_for(content_type));
}

std::string missing_media_note(std::size_t index, std::size_t total, std::string_view content_type,
                               std::string_view reason) {
  std::string note = "[MMS attachment " + std::to_string(index + 1) + " of " + std::to_string(total);
  if (!content_type.empty()) {
    note += " (" + std::string(content_type) + ")";
  }
  note += " not received";
  if (!reason.empty()) {
    note += ": " + std::string(reason);
  }
  return note + "]";
}

} // namespace parley::gateways::sms
