#include "collector/configtls.h"

#include "base/status.h"
#include "config/decoder.h"

namespace sprout::collector {

std::optional<net::TlsServerSettings> DecodeTlsServer(config::Decoder& parent) {
  if (!parent.Has("tls")) return std::nullopt;
  config::Decoder t = parent.Child("tls");
  if (t.IsNull()) return std::nullopt;
  net::TlsServerSettings settings;
  t.Read("cert_file", &settings.cert_file);
  t.Read("cert_pem", &settings.cert_pem);
  t.Read("key_file", &settings.key_file);
  t.Read("key_pem", &settings.key_pem);
  t.Read("client_ca_file", &settings.client_ca_file);
  t.Read("client_ca_file_reload", &settings.client_ca_file_reload);
  t.Read("min_version", &settings.min_version);
  t.Read("max_version", &settings.max_version);
  t.Read("cipher_suites", &settings.cipher_suites);
  t.Read("reload_interval", &settings.reload_interval);
  t.Refuse({"ca_file", "ca_pem", "include_system_ca_certs_pool", "curve_preferences", "tpm"},
           "is not supported by sprout's TLS servers");
  if (absl::Status status = net::ValidateTlsServerSettings(settings); !status.ok()) {
    t.AddError("", SV(status.message()));
  }
  return settings;
}

}  // namespace sprout::collector
