// Fuzzes what an MTA (or anyone who can connect) sends to the email gateway's SMTP/LMTP
// listener: every line as a command, and the whole input as a DATA section. Any input must
// give a command or an error reply, never a crash, a read out of bounds or a hang; the DATA
// reader must give the same message however the bytes are cut into pieces.

#include "gateways/email/smtp_protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace parley::gateways::email;

void check_command(std::string_view line) {
  const auto parsed = parse_command(line);
  if (!parsed) {
    const auto& reply = parsed.error();
    const auto wire = reply.to_wire();
    if (reply.code < 500 || reply.code > 599 || wire.size() < 5 || wire.substr(wire.size() - 2) != "\r\n" ||
        wire.find_first_of("\r\n") != wire.size() - 2) {
      __builtin_trap(); // an error reply must be one clean 5xx line
    }
    return;
  }
  const auto& command = *parsed;
  if (line.size() > max_command_line) {
    __builtin_trap();
  }
  if (command.verb == SmtpVerb::mail || command.verb == SmtpVerb::rcpt) {
    // Nothing that could break a log line or a reply may get through in an address.
    if (command.address.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      __builtin_trap();
    }
    if (command.verb == SmtpVerb::rcpt && command.address.empty()) {
      __builtin_trap(); // RCPT TO:<> is no recipient
    }
  }
  SmtpReply echo{250, "2.0.0", command.argument, {command.address}};
  const auto wire = echo.to_wire();
  std::size_t crs = 0;
  std::size_t lfs = 0;
  for (const char c : wire) {
    crs += c == '\r' ? 1 : 0;
    lfs += c == '\n' ? 1 : 0;
  }
  if (crs != 2 || lfs != 2) {
    __builtin_trap(); // two lines, no more: text cannot smuggle a reply in
  }
}

struct DataResult {
  std::size_t consumed = 0;
  bool done = false;
  bool too_large = false;
  std::string message;
};

DataResult read_data(std::string_view input, std::size_t max_bytes, std::string_view chunk_sizes) {
  DataReader reader(max_bytes);
  DataResult result;
  std::size_t next_size = 0;
  while (result.consumed < input.size() && !reader.done()) {
    std::size_t size = input.size();
    if (!chunk_sizes.empty()) {
      size = static_cast<unsigned char>(chunk_sizes[next_size++ % chunk_sizes.size()]) % 64 + 1;
    }
    const auto piece = input.substr(result.consumed, size);
    const auto n = reader.feed(piece);
    if (n > piece.size() || (n < piece.size() && !reader.done())) {
      __builtin_trap(); // it stops early only at the terminator
    }
    result.consumed += n;
  }
  if (reader.done() && reader.feed(input) != 0) {
    __builtin_trap();
  }
  result.done = reader.done();
  result.too_large = reader.too_large();
  result.message = reader.take();
  if (result.too_large ? !result.message.empty() : result.message.size() > max_bytes) {
    __builtin_trap();
  }
  return result;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  std::string_view rest = input;
  while (!rest.empty()) {
    const auto lf = rest.find('\n');
    auto line = rest.substr(0, lf);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    check_command(line);
    rest.remove_prefix(lf == std::string_view::npos ? rest.size() : lf + 1);
  }

  // The size limit and the chunk sizes come from the input too.
  const std::size_t max_bytes = size == 0 ? 0 : static_cast<std::size_t>(data[0]) * 4;
  const auto whole = read_data(input, max_bytes, {});
  const auto pieces = read_data(input, max_bytes, input.substr(0, 16));
  if (whole.consumed != pieces.consumed || whole.done != pieces.done || whole.too_large != pieces.too_large ||
      whole.message != pieces.message) {
    __builtin_trap(); // cut differently, read differently
  }
  // Unstuffing only removes: the message is never longer than what was consumed.
  if (whole.message.size() > whole.consumed) {
    __builtin_trap();
  }
  return 0;
}
