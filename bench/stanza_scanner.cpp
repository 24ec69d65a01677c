#include "bench/stanza_scanner.hpp"

#include <cstring>

namespace parley::bench {

namespace {

constexpr auto npos = std::string_view::npos;

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/// Index past the '>' that ends the tag opened at `pos`, skipping quoted values; npos if the
/// tag is not complete in `text`.
std::size_t scan_tag(std::string_view text, std::size_t pos) {
  char quote = 0;
  for (std::size_t i = pos + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      return i + 1;
    }
  }
  return npos;
}

/// For "<?", "<!--" and "<![CDATA[" at `pos`: the index past their terminator, npos when it
/// is not buffered yet, or 0 when `pos` starts none of them (a 0 can never be a valid end).
/// `incomplete` is set when too little is buffered to tell.
std::size_t skip_special(std::string_view text, std::size_t pos, bool& incomplete, bool& bad) {
  incomplete = false;
  bad = false;
  const std::string_view rest = text.substr(pos);
  auto until = [&](std::string_view terminator, std::size_t skip) -> std::size_t {
    const std::size_t end = text.find(terminator, pos + skip);
    return end == npos ? npos : end + terminator.size();
  };
  if (rest.size() < 2) {
    incomplete = true;
    return npos;
  }
  if (rest[1] == '?') {
    return until("?>", 2);
  }
  if (rest[1] != '!') {
    return 0;
  }
  if (rest.starts_with("<!--")) {
    return until("-->", 4);
  }
  if (rest.starts_with("<![CDATA[")) {
    return until("]]>", 9);
  }
  if (rest.size() < 9) {
    incomplete = true;
    return npos;
  }
  bad = true; // a DTD or something else a stream must not contain (RFC 6120 §11.1)
  return npos;
}

/// Whether `text` at `pos` holds `name` followed by a character that ends a tag name.
bool name_at(std::string_view text, std::size_t pos, std::string_view name) {
  if (text.compare(pos, name.size(), name) != 0) {
    return false;
  }
  const std::size_t after = pos + name.size();
  return after < text.size() && (is_space(text[after]) || text[after] == '>' || text[after] == '/');
}

} // namespace

char* StanzaScanner::prepare(std::size_t n) {
  if (consumed_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + consumed_, size_ - consumed_);
    size_ -= consumed_;
    consumed_ = 0;
  }
  if (buffer_.size() < size_ + n) {
    buffer_.resize(size_ + n);
  }
  return buffer_.data() + size_;
}

void StanzaScanner::commit(std::size_t n) {
  size_ += n;
}

StanzaScanner::Event StanzaScanner::next() {
  if (failed_) {
    return {Kind::error, {}};
  }
  const std::string_view buf(buffer_.data(), size_);
  std::size_t pos = consumed_;
  auto need_more = [&](std::size_t keep_from) {
    consumed_ = keep_from;
    if (buf.size() - keep_from > max_element_) {
      failed_ = true;
      return Event{Kind::error, "element too large"};
    }
    return Event{};
  };
  for (;;) {
    // Text between top-level items (whitespace keep-alives) carries nothing for us.
    pos = buf.find('<', pos);
    if (pos == npos) {
      consumed_ = buf.size();
      return {};
    }
    bool incomplete = false;
    bool bad = false;
    const std::size_t special = skip_special(buf, pos, incomplete, bad);
    if (bad) {
      failed_ = true;
      return {Kind::error, "unexpected markup"};
    }
    if (incomplete) {
      return need_more(pos);
    }
    if (special == npos) {
      return need_more(pos);
    }
    if (special != 0) {
      pos = special;
      continue;
    }
    if (buf[pos + 1] == '/') {
      const std::size_t end = scan_tag(buf, pos);
      if (end == npos) {
        return need_more(pos);
      }
      consumed_ = end;
      if (!in_stream_) {
        failed_ = true;
        return {Kind::error, "end tag before the stream header"};
      }
      in_stream_ = false;
      return {Kind::close, buf.substr(pos, end - pos)};
    }
    if (!in_stream_) {
      const std::size_t end = scan_tag(buf, pos);
      if (end == npos) {
        return need_more(pos);
      }
      consumed_ = end;
      in_stream_ = true;
      return {Kind::header, buf.substr(pos, end - pos)};
    }
    // A top-level element: follow its nesting until the matching end tag.
    std::size_t depth = 0;
    std::size_t p = pos;
    for (;;) {
      p = buf.find('<', p);
      if (p == npos) {
        return need_more(pos);
      }
      const std::size_t skipped = skip_special(buf, p, incomplete, bad);
      if (bad) {
        failed_ = true;
        return {Kind::error, "unexpected markup"};
      }
      if (incomplete || skipped == npos) {
        return need_more(pos);
      }
      if (skipped != 0) {
        p = skipped;
        continue;
      }
      const std::size_t end = scan_tag(buf, p);
      if (end == npos) {
        return need_more(pos);
      }
      if (buf[p + 1] == '/') {
        if (depth == 0) {
          failed_ = true;
          return {Kind::error, "unbalanced end tag"};
        }
        --depth;
      } else if (buf[end - 2] != '/') {
        ++depth;
      }
      p = end;
      if (depth == 0) {
        consumed_ = end;
        return {Kind::element, buf.substr(pos, end - pos)};
      }
    }
  }
}

void StanzaScanner::reset() {
  size_ = 0;
  consumed_ = 0;
  in_stream_ = false;
  failed_ = false;
}

std::string_view element_name(std::string_view element) {
  if (element.empty() || element.front() != '<') {
    return {};
  }
  std::size_t end = 1;
  while (end < element.size() && !is_space(element[end]) && element[end] != '>' && element[end] != '/') {
    ++end;
  }
  return element.substr(1, end - 1);
}

std::optional<std::string_view> attribute(std::string_view element, std::string_view name) {
  std::size_t i = 1 + element_name(element).size();
  while (i < element.size()) {
    while (i < element.size() && is_space(element[i])) {
      ++i;
    }
    if (i >= element.size() || element[i] == '>' || element[i] == '/') {
      return std::nullopt;
    }
    const std::size_t name_start = i;
    while (i < element.size() && element[i] != '=' && !is_space(element[i])) {
      ++i;
    }
    const std::string_view attr = element.substr(name_start, i - name_start);
    while (i < element.size() && (is_space(element[i]) || element[i] == '=')) {
      ++i;
    }
    if (i >= element.size() || (element[i] != '"' && element[i] != '\'')) {
      return std::nullopt;
    }
    const char quote = element[i];
    const std::size_t value_start = i + 1;
    const std::size_t value_end = element.find(quote, value_start);
    if (value_end == npos) {
      return std::nullopt;
    }
    if (attr == name) {
      return element.substr(value_start, value_end - value_start);
    }
    i = value_end + 1;
  }
  return std::nullopt;
}

namespace detail {

std::size_t find_start_tag(std::string_view element, std::string_view name, std::size_t from) {
  // Position 0 is the element's own start tag; only descendants count.
  std::size_t p = from == 0 ? 1 : from;
  for (;;) {
    p = element.find('<', p);
    if (p == npos) {
      return npos;
    }
    if (name_at(element, p + 1, name)) {
      return p;
    }
    ++p;
  }
}

std::string_view text_after(std::string_view element, std::size_t tag, std::string_view name, std::size_t& next) {
  const std::size_t open_end = scan_tag(element, tag);
  if (open_end == npos) {
    next = element.size();
    return {};
  }
  if (element[open_end - 2] == '/') {
    next = open_end;
    return {};
  }
  std::size_t p = open_end;
  for (;;) {
    p = element.find("</", p);
    if (p == npos) {
      next = element.size();
      return {};
    }
    if (name_at(element, p + 2, name)) {
      const std::size_t close_end = scan_tag(element, p);
      next = close_end == npos ? element.size() : close_end;
      return element.substr(open_end, p - open_end);
    }
    p += 2;
  }
}

} // namespace detail

bool has_child(std::string_view element, std::string_view name) {
  return detail::find_start_tag(element, name, 0) != npos;
}

std::string_view child_text(std::string_view element, std::string_view name) {
  const std::size_t tag = detail::find_start_tag(element, name, 0);
  if (tag == npos) {
    return {};
  }
  std::size_t next = 0;
  return detail::text_after(element, tag, name, next);
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    default: out += c;
    }
  }
  return out;
}

} // namespace parley::bench
