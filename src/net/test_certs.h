// Test-only: certificates made on the fly with OpenSSL, for TLS tests of the servers and clients
// (library `sprout_net_test_certs`, linked by tests only).
//
// A TestCa is a self-signed CA (EC P-256); Issue() signs a leaf certificate for "localhost" and
// 127.0.0.1 (server and client use). Everything is PEM text; WriteTo() puts it in files.
//
// Thread-compatible.
#pragma once

#include <string>

namespace sprout::net::testing {

struct TestKeyPair {
  std::string cert_pem;
  std::string key_pem;
};

class TestCa {
 public:
  // `name`: the CA's common name (distinct CAs for "trusted" and "untrusted" tests).
  explicit TestCa(const std::string& name);
  const TestKeyPair& ca() const { return ca_; }
  // A certificate signed by this CA, with `common_name`, valid for localhost and 127.0.0.1.
  TestKeyPair Issue(const std::string& common_name) const;

 private:
  TestKeyPair ca_;
};

// Writes `content` to `path` (replacing it atomically: written beside it, then renamed), and
// aborts the test binary on failure.
void WriteFileOrDie(const std::string& path, const std::string& content);

// A fresh directory under the system's temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace sprout::net::testing
