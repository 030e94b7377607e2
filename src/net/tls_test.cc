#include "net/tls.h"

#include "gtest/gtest.h"

namespace sprout::net {
namespace {

TlsServerSettings WithFiles() {
  TlsServerSettings s;
  s.cert_file = "server.crt";
  s.key_file = "server.key";
  return s;
}

TEST(TlsSettingsTest, VersionsAsTheProtocolNumbersThem) {
  EXPECT_EQ(*ParseTlsVersion("1.0", 0), 0x0301);
  EXPECT_EQ(*ParseTlsVersion("1.3", 0), 0x0304);
  EXPECT_EQ(*ParseTlsVersion("", 0x0303), 0x0303);
  EXPECT_EQ(ParseTlsVersion("1.4", 0).status().message(), "unsupported TLS version: \"1.4\"");
}

TEST(TlsSettingsTest, ServerNeedsCertificateAndKey) {
  EXPECT_TRUE(ValidateTlsServerSettings(WithFiles()).ok());
  TlsServerSettings none;
  EXPECT_EQ(ValidateTlsServerSettings(none).message(),
            "TLS configuration must include both certificate and key for server connections");
  TlsServerSettings only_cert;
  only_cert.cert_pem = "x";
  EXPECT_EQ(ValidateTlsServerSettings(only_cert).message(),
            "TLS configuration must include both certificate and key (CertFile/CertPem and "
            "KeyFile/KeyPem)");
  TlsServerSettings both = WithFiles();
  both.cert_pem = "x";
  EXPECT_EQ(ValidateTlsServerSettings(both).message(),
            "provide either certificate file or PEM, but not both");
}

TEST(TlsSettingsTest, VersionOrder) {
  TlsServerSettings s = WithFiles();
  s.min_version = "1.5";
  EXPECT_EQ(ValidateTlsServerSettings(s).message(),
            "invalid TLS min_version: unsupported TLS version: \"1.5\"");
  s.min_version = "1.3";
  s.max_version = "1.2";
  EXPECT_EQ(ValidateTlsServerSettings(s).message(),
            "invalid TLS configuration: min_version cannot be greater than max_version");
  s.max_version = "";
  EXPECT_TRUE(ValidateTlsServerSettings(s).ok());
}

}  // namespace
}  // namespace sprout::net
