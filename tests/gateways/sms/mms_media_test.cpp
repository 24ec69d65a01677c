#include "gateways/sms/mms_media.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace parley::gateways::sms;

TEST_CASE("MMS media: extensions for carrier media types") {
  CHECK(extension_for("image/jpeg") == ".jpg");
  CHECK(extension_for("IMAGE/PNG") == ".png");
  CHECK(extension_for("image/gif; charset=binary") == ".gif");
  CHECK(extension_for("video/3gpp") == ".3gp");
  CHECK(extension_for("video/mp4") == ".mp4");
  CHECK(extension_for("audio/amr") == ".amr");
  CHECK(extension_for("text/vcard") == ".vcf");
  CHECK(extension_for("text/x-vcard") == ".vcf");
  CHECK(extension_for("application/pdf") == ".pdf");
  CHECK(extension_for("application/x-unknown") == ".bin");
  CHECK(extension_for("") == ".bin");
  CHECK(extension_for("not a type") == ".bin");
}

TEST_CASE("MMS media: the stored type prefers the signed declaration") {
  CHECK(media_content_type("image/jpeg", "application/octet-stream") == "image/jpeg");
  CHECK(media_content_type("", "Image/PNG; q=1") == "image/png");
  CHECK(media_content_type("bogus", "video/mp4") == "video/mp4");
  CHECK(media_content_type("", "") == "application/octet-stream");
  CHECK(media_content_type("a/b/c", "x y") == "application/octet-stream");
}

TEST_CASE("MMS media: file names from the media URL") {
  const std::string twilio = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME0123abc";
  CHECK(media_filename(twilio, 0, "image/jpeg") == "ME0123abc.jpg");
  CHECK(media_filename("https://m.example/photo.png?sig=x#y", 0, "image/jpeg") == "photo.jpg");
  CHECK(media_filename("https://m.example/dir/", 2, "video/mp4") == "dir.mp4");
  CHECK(media_filename("https://m.example", 2, "video/mp4") == "media-3.mp4");
  CHECK(media_filename("https://m.example/..%2F..%2Fetc", 0, "text/plain") == "2F.txt");
  CHECK(media_filename("https://m.example/%20/", 1, "x/y") == "20.bin");
  CHECK(media_filename("https://m.example/...", 0, "image/gif") == "media-1.gif");
  CHECK(media_filename("https://m.example/" + std::string(200, 'a'), 0, "image/png") == std::string(64, 'a') + ".png");
}

TEST_CASE("MMS media: the note for a medium that did not come") {
  CHECK(missing_media_note(1, 3, "image/jpeg", "HTTP 404") ==
        "[MMS attachment 2 of 3 (image/jpeg) not received: HTTP 404]");
  CHECK(missing_media_note(0, 1, "", "") == "[MMS attachment 1 of 1 not received]");
}
