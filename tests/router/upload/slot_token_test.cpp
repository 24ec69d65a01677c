#include "router/upload/slot_token.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

using namespace parley::router::upload;

namespace {

SlotGrant grant() {
  SlotGrant g;
  g.path = "/upload/0123456789abcdef0123456789abcdef/cat.jpg";
  g.size = 12345;
  g.content_type = "image/jpeg";
  g.expires = 1700000000;
  return g;
}

const std::string secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

} // namespace

TEST_CASE("a signed grant verifies") {
  const std::string token = sign(secret, grant());
  CHECK(token.size() == 64);
  CHECK(verify(secret, grant(), token));
  CHECK(sign(secret, grant()) == token); // deterministic: nothing to remember
}

TEST_CASE("tampering with any field or the token fails verification") {
  const std::string token = sign(secret, grant());
  SlotGrant g = grant();
  g.path = "/upload/0123456789abcdef0123456789abcdef/cat.png";
  CHECK_FALSE(verify(secret, g, token));
  g = grant();
  g.size += 1;
  CHECK_FALSE(verify(secret, g, token));
  g = grant();
  g.content_type = "text/html";
  CHECK_FALSE(verify(secret, g, token));
  g = grant();
  g.expires += 3600;
  CHECK_FALSE(verify(secret, g, token));
  CHECK_FALSE(verify(secret + "x", grant(), token));
  std::string flipped = token;
  flipped[10] = flipped[10] == 'a' ? 'b' : 'a';
  CHECK_FALSE(verify(secret, grant(), flipped));
  CHECK_FALSE(verify(secret, grant(), token.substr(0, 63)));
  CHECK_FALSE(verify(secret, grant(), ""));
}

TEST_CASE("fields cannot be shifted into one another") {
  // size 1, type "23/x" must not sign like size 12, type "3/x".
  SlotGrant a = grant();
  a.size = 1;
  a.content_type = "23/x";
  SlotGrant b = grant();
  b.size = 12;
  b.content_type = "3/x";
  CHECK(sign(secret, a) != sign(secret, b));
}

TEST_CASE("filenames are sanitized") {
  CHECK(sanitize_filename("cat.jpg") == "cat.jpg");
  CHECK(sanitize_filename("My Holiday (1).JPG") == "My_Holiday__1_.JPG");
  CHECK(sanitize_filename("../../etc/passwd") == "passwd");
  CHECK(sanitize_filename("..\\..\\boot.ini") == "boot.ini");
  CHECK(sanitize_filename("..") == "");
  CHECK(sanitize_filename(".") == "");
  CHECK(sanitize_filename("") == "");
  CHECK(sanitize_filename("dir/") == "");
  CHECK(sanitize_filename(".hidden") == "hidden");
  CHECK(sanitize_filename("...x") == "x");
  CHECK(sanitize_filename("a\nb\0c") == "a_b");
  CHECK(sanitize_filename(std::string_view("a\0b", 3)) == "a_b");
  CHECK(sanitize_filename("Fot\xc3\xb3.png") == "Fot__.png");
  CHECK(sanitize_filename("%2e%2e") == "_2e_2e");
  const std::string longer = std::string(300, 'a') + ".tar.gz";
  const std::string cut = sanitize_filename(longer);
  CHECK(cut.size() == 100);
  CHECK(cut.ends_with(".gz"));
}

TEST_CASE("media types") {
  CHECK(media_type("image/png") == "image/png");
  CHECK(media_type("Text/Plain; charset=UTF-8") == "text/plain");
  CHECK(media_type(" application/vnd.oasis.opendocument.text ") == "application/vnd.oasis.opendocument.text");
  CHECK_FALSE(media_type("image"));
  CHECK_FALSE(media_type("/png"));
  CHECK_FALSE(media_type("image/"));
  CHECK_FALSE(media_type("image/png\nX: y"));
  CHECK_FALSE(media_type("a/b/c"));
  CHECK_FALSE(media_type(""));
}

TEST_CASE("random slot names") {
  const std::string a = random_hex(16);
  CHECK(a.size() == 32);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != random_hex(16));
}

TEST_CASE("the secret is made once and kept") {
  const auto dir = std::filesystem::temp_directory_path() / ("parley_upload_secret_" + random_hex(6));
  const auto file = dir / "upload" / "secret";
  const auto first = load_or_create_secret(file);
  REQUIRE(first);
  CHECK(first->size() == 64);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const auto again = load_or_create_secret(file);
  REQUIRE(again);
  CHECK(*again == *first);
  std::ofstream(file, std::ios::trunc) << "short\n";
  CHECK_FALSE(load_or_create_secret(file));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a keyed slot is stable per key and secret and looks like a random one") {
  const std::string testling = keyed_slot(secret, "sms.example.com\nMM1\n0");
  CHECK(testling.size() == 32);
  CHECK(testling.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(keyed_slot(secret, "sms.example.com\nMM1\n0") == testling);
  CHECK(keyed_slot(secret, "sms.example.com\nMM1\n1") != testling);
  CHECK(keyed_slot("another secret", "sms.example.com\nMM1\n0") != testling);
}
