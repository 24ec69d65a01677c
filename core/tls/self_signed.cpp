#include "core/tls/self_signed.hpp"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <system_error>

namespace parley::core::tls {

namespace {

template <auto Fn> struct Deleter {
  template <class T> void operator()(T* p) const noexcept { Fn(p); }
};
using PKeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using FilePtr = std::unique_ptr<FILE, Deleter<std::fclose>>;

std::string openssl_error(std::string_view what) {
  std::string out(what);
  if (unsigned long code = ERR_get_error(); code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    out += ": ";
    out += buf;
  }
  ERR_clear_error();
  return out;
}

bool add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

} // namespace

boost::system::result<CertificateFiles, Failure>
ensure_self_signed(const std::filesystem::path& dir, const std::vector<std::string>& hosts) {
  CertificateFiles files{dir / "cert.pem", dir / "key.pem"};
  std::error_code ec;
  if (std::filesystem::exists(files.certificate, ec) && std::filesystem::exists(files.key, ec)) {
    return files;
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Failure{"cannot create " + dir.string() + ": " + ec.message()};
  }
  if (hosts.empty()) {
    return Failure{std::string("no host to put in the certificate")};
  }

  PKeyPtr key(EVP_EC_gen("P-256"));
  if (!key) {
    return Failure{openssl_error("EC key generation failed")};
  }
  X509Ptr cert(X509_new());
  if (!cert) {
    return Failure{openssl_error("X509_new failed")};
  }
  X509_set_version(cert.get(), 2); // X.509 v3
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) {
    return Failure{openssl_error("RAND_bytes failed")};
  }
  serial[0] &= 0x7f; // keep the serial positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("Parley self-signed"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(hosts.front().c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);

  std::string san;
  for (const auto& host : hosts) {
    if (!san.empty()) {
      san += ',';
    }
    san += "DNS:" + host;
  }
  if (!add_extension(cert.get(), NID_subject_alt_name, san) ||
      !add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(cert.get(), NID_key_usage, "critical,digitalSignature") ||
      !add_extension(cert.get(), NID_ext_key_usage, "serverAuth")) {
    return Failure{openssl_error("adding certificate extensions failed")};
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return Failure{openssl_error("signing the certificate failed")};
  }

  // Write the key first, readable by its owner only; the certificate last, so that a crash in
  // between leaves no certificate without its key (the next start generates both again).
  const auto key_tmp = files.key.string() + ".tmp";
  {
    FilePtr f(std::fopen(key_tmp.c_str(), "wb"));
    if (!f) {
      return Failure{"cannot write " + key_tmp};
    }
    std::filesystem::permissions(key_tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::replace, ec);
    if (PEM_write_PrivateKey(f.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
      return Failure{openssl_error("writing the private key failed")};
    }
  }
  std::filesystem::rename(key_tmp, files.key, ec);
  if (ec) {
    return Failure{"cannot rename " + key_tmp + ": " + ec.message()};
  }
  const auto cert_tmp = files.certificate.string() + ".tmp";
  {
    FilePtr f(std::fopen(cert_tmp.c_str(), "wb"));
    if (!f) {
      return Failure{"cannot write " + cert_tmp};
    }
    if (PEM_write_X509(f.get(), cert.get()) != 1) {
      return Failure{openssl_error("writing the certificate failed")};
    }
  }
  std::filesystem::rename(cert_tmp, files.certificate, ec);
  if (ec) {
    return Failure{"cannot rename " + cert_tmp + ": " + ec.message()};
  }
  return files;
}

} // namespace parley::core::tls
