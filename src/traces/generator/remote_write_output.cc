#include "traces/generator/remote_write_output.h"

#include <openssl/sha.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/go_duration.h"
#include "base/status.h"
#include "net/compression.h"
#include "net/tenant.h"
#include "remotewrite/client.h"
#include "remotewrite/wal.h"
#include "remotewrite/wal_sender.h"
#include "traces/config/traces_config.h"

namespace sprout::traces::generator {
namespace {

constexpr char kOrgIdHeader[] = "X-Scope-OrgID";

std::string JoinPath(const std::string& a, const std::string& b) {
  if (a.empty() || a.back() == '/') return a + b;
  return a + "/" + b;
}

// A secret file as Prometheus reads it: the whole file, surrounding whitespace trimmed.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics_generator.storage.remote_write: cannot read ", what, " ", path));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(buffer.str()));
}

// A secret written inline, or read from `file` when one is set (the file wins).
absl::StatusOr<std::string> Secret(const std::string& value, const std::string& file,
                                   const std::string& what) {
  if (file.empty()) return value;
  return ReadSecretFile(file, what);
}

// The Authorization header of an entry ("" when it has no credentials).
absl::StatusOr<std::string> Authorization(const traces::RemoteWriteConfig& rw) {
  if (!rw.basic_auth_username.empty() || !rw.basic_auth_password.empty() ||
      !rw.basic_auth_password_file.empty()) {
    absl::StatusOr<std::string> password =
        Secret(rw.basic_auth_password, rw.basic_auth_password_file, "basic_auth.password_file");
    if (!password.ok()) return password.status();
    return absl::StrCat("Basic ",
                        absl::Base64Escape(absl::StrCat(rw.basic_auth_username, ":", *password)));
  }
  if (!rw.authorization_credentials.empty() || !rw.authorization_credentials_file.empty()) {
    absl::StatusOr<std::string> credentials =
        Secret(rw.authorization_credentials, rw.authorization_credentials_file,
               "authorization.credentials_file");
    if (!credentials.ok()) return credentials.status();
    const std::string type =
        rw.authorization_type.empty() ? std::string("Bearer") : rw.authorization_type;
    return absl::StrCat(type, " ", *credentials);
  }
  return std::string();
}

struct Counts {
  int64_t samples = 0;
  int64_t exemplars = 0;
  int64_t histograms = 0;
};

// What a delivered request carried (the WAL holds the encoded request only).
Counts CountBody(std::string_view body) {
  Counts counts;
  absl::StatusOr<std::string> raw = net::Decompress(net::Codec::kSnappy, body, 1 << 30);
  prometheus::WriteRequest request;
  if (!raw.ok() || !request.ParseFromString(*raw)) return counts;
  for (const prometheus::TimeSeries& series : request.timeseries()) {
    counts.samples += series.samples_size();
    counts.exemplars += series.exemplars_size();
    counts.histograms += series.histograms_size();
  }
  return counts;
}

}  // namespace

struct RemoteWriteOutput::Endpoint {
  std::string tenant;
  std::string remote_name;
  std::string url;
  log::Logger logger;
  // Destroyed in reverse order: the sender (which uses the others) first.
  std::unique_ptr<remotewrite::Client> client;
  std::unique_ptr<remotewrite::Wal> wal;
  std::unique_ptr<remotewrite::WalSender> sender;

  std::atomic<int64_t> samples_written{0};
  std::atomic<int64_t> exemplars_written{0};
  std::atomic<int64_t> histograms_written{0};
  std::atomic<int64_t> samples_sent{0};
  std::atomic<int64_t> exemplars_sent{0};
  std::atomic<int64_t> histograms_sent{0};
  std::atomic<int64_t> requests_sent{0};
  std::atomic<int64_t> requests_failed{0};
  std::atomic<int64_t> requests_dropped{0};
  std::atomic<int64_t> wal_writes_failed{0};
  std::atomic<int64_t> wal_bytes_written{0};
  std::atomic<int64_t> wal_repaired_bytes{0};
  std::atomic<int64_t> wal_repaired_records{0};
  std::atomic<bool> closing{false};  // requests cut short now are not failures worth a warning

  // Delivers what the WAL holds until `deadline`, then stops everything; the rest stays in the
  // WAL for the next start.
  void Close(absl::Time deadline) {
    client->Stop(deadline);
    if (sender != nullptr) sender->Drain(deadline);
    closing = true;
    client->Close();  // ends a request in flight now
    if (sender != nullptr) {
      if (absl::Status committed = sender->Stop(); !committed.ok()) {
        logger.Warn("Committing the WAL's cursor failed",
                    {{"error", std::string(committed.message())}});
      }
    }
    wal->Close();
  }
};

struct RemoteWriteOutput::Tenant {
  std::vector<std::unique_ptr<Endpoint>> endpoints;  // one per remote_write entry
};

BackoffConfig RemoteWriteOutputOptions::DefaultRetry() {
  BackoffConfig retry;
  retry.enabled = true;
  retry.initial_interval = absl::Milliseconds(30);
  retry.randomization_factor = 0;
  retry.multiplier = 2;
  retry.max_interval = absl::Seconds(5);
  retry.max_elapsed_time = absl::ZeroDuration();
  return retry;
}

std::string RemoteWriteOutput::EntryDirectory(const traces::RemoteWriteConfig& entry) {
  if (!entry.name.empty()) return entry.name;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(entry.url.data()), entry.url.size(), digest);
  return absl::StrCat(
      "url-", absl::BytesToHexString(std::string(reinterpret_cast<const char*>(digest), 8)));
}

std::vector<std::pair<std::string, std::string>> RemoteWriteOutput::TenantHeaders(
    const traces::RemoteWriteConfig& entry, const std::map<std::string, std::string>& overrides,
    std::string_view tenant, bool add_org_id_header) {
  // The entry's headers, those of the tenant's overrides replacing one of the same name.
  std::map<std::string, std::string> headers = entry.headers;
  for (const auto& [k, v] : overrides) headers[k] = v;
  if (add_org_id_header && tenant != traces::TracesConfig::kSingleTenant) {
    bool present = false;
    for (auto it = headers.begin(); it != headers.end();) {
      if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(it->first), kOrgIdHeader)) {
        if (!it->second.empty()) {
          present = true;  // kept as configured
          ++it;
          continue;
        }
        it = headers.erase(it);  // empty: replaced by the tenant
        continue;
      }
      ++it;
    }
    if (!present) headers[kOrgIdHeader] = std::string(tenant);
  }
  return {headers.begin(), headers.end()};
}

absl::StatusOr<std::unique_ptr<RemoteWriteOutput>> RemoteWriteOutput::Create(
    const traces::GeneratorConfig& config, const traces::GeneratorOverrides& overrides,
    RemoteWriteOutputOptions options) {
  if (config.storage_path.empty()) {
    return absl::FailedPreconditionError(
        "no metrics_generator.storage.path configured, metrics generator will be disabled");
  }
  if (options.env == nullptr) options.env = storage::Env::Default();
  std::unique_ptr<RemoteWriteOutput> output(
      new RemoteWriteOutput(config, overrides, std::move(options)));
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < config.remote_write.size(); ++i) {
    const traces::RemoteWriteConfig& rw = config.remote_write[i];
    const std::string dir = EntryDirectory(rw);
    if (dir == "." || dir == ".." || absl::StrContains(dir, '/') || absl::StrContains(dir, '\0')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metrics_generator.storage.remote_write[", i, "]: name '", rw.name,
          "' cannot be a directory name (it names the entry's WAL under storage.path)"));
    }
    if (auto [it, inserted] = seen.emplace(dir, i); !inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics_generator.storage.remote_write[", i,
                       "]: duplicate remote write configs are "
                       "not allowed: entries ",
                       it->second, " and ", i, " share the WAL directory '", dir,
                       "' (the same name, or the same url without a name)"));
    }
    absl::StatusOr<std::string> authorization = Authorization(rw);
    if (!authorization.ok()) return authorization.status();
    output->dirs_.push_back(dir);
    output->authorization_.push_back(std::move(*authorization));
    if (!rw.tls_server_name.empty()) {
      output->options_.logger.Warn(
          "metrics_generator.storage.remote_write: tls_config.server_name is not supported by "
          "sprout yet; the URL's host is verified",
          {{"url", rw.url}});
    }
  }
  // Restart: reopen the WALs of every tenant that has one for a configured entry, so that what
  // was not delivered before is sent even if the tenant writes nothing more.
  storage::Env* env = output->options_.env;
  if (!config.remote_write.empty()) {
    absl::StatusOr<bool> exists = env->IsDirectory(config.storage_path);
    if (exists.ok() && *exists) {
      absl::StatusOr<std::vector<std::string>> tenants = env->ListDir(config.storage_path);
      if (!tenants.ok()) return tenants.status();
      for (const std::string& tenant : *tenants) {
        const std::string tenant_dir = JoinPath(config.storage_path, tenant);
        absl::StatusOr<bool> is_dir = env->IsDirectory(tenant_dir);
        if (!is_dir.ok() || !*is_dir) continue;
        bool has_wal = false;
        for (const std::string& dir : output->dirs_) {
          absl::StatusOr<bool> wal_dir = env->IsDirectory(JoinPath(tenant_dir, dir));
          has_wal = has_wal || (wal_dir.ok() && *wal_dir);
        }
        if (!has_wal || tenant.empty() || !net::ValidateTenantId(tenant).ok()) continue;
        absl::StatusOr<Tenant*> opened = output->GetOrOpenTenant(tenant);
        if (!opened.ok()) return opened.status();
      }
    }
  }
  return output;
}

RemoteWriteOutput::RemoteWriteOutput(const traces::GeneratorConfig& config,
                                     const traces::GeneratorOverrides& overrides,
                                     RemoteWriteOutputOptions options)
    : config_(config), overrides_(overrides), options_(std::move(options)) {}

RemoteWriteOutput::~RemoteWriteOutput() { Close(absl::Now()); }

absl::StatusOr<std::unique_ptr<RemoteWriteOutput::Endpoint>> RemoteWriteOutput::OpenEndpoint(
    const std::string& tenant, size_t entry) {
  const traces::RemoteWriteConfig& rw = config_.remote_write[entry];
  auto endpoint = std::make_unique<Endpoint>();
  endpoint->tenant = tenant;
  endpoint->remote_name = dirs_[entry];
  endpoint->url = rw.url;
  endpoint->logger = options_.logger.With(
      {{"tenant", tenant}, {"remote_name", endpoint->remote_name}, {"url", rw.url}});
  Endpoint* ep = endpoint.get();

  remotewrite::ClientOptions client_options;
  client_options.endpoint = rw.url;
  client_options.headers = TenantHeaders(rw, overrides_.remote_write_headers, tenant,
                                         config_.remote_write_add_org_id_header);
  if (!authorization_[entry].empty()) {
    client_options.headers.emplace_back("Authorization", authorization_[entry]);
  }
  client_options.timeout = rw.remote_timeout;
  client_options.retry = options_.retry;
  client_options.retry_on_429 = false;  // Prometheus' default (queue_config.retry_on_http_429)
  client_options.http.ca_file = rw.tls_ca_file;
  client_options.http.cert_file = rw.tls_cert_file;
  client_options.http.key_file = rw.tls_key_file;
  client_options.http.insecure_skip_verify = rw.tls_insecure_skip_verify;
  client_options.http.proxy_url = rw.proxy_url;
  client_options.http.user_agent = options_.user_agent;
  client_options.http.max_idle_connections = 1;
  remotewrite::ClientHooks hooks;
  hooks.on_attempt = [ep] { ep->requests_sent.fetch_add(1, std::memory_order_relaxed); };
  hooks.on_retry = [ep](const std::string& error, absl::Duration delay) {
    ep->requests_failed.fetch_add(1, std::memory_order_relaxed);
    if (ep->closing) return;  // cancelled by Close: stays in the WAL
    ep->logger.Warn("Failed to send batch, retrying",
                    {{"error", error}, {"interval", FormatGoDuration(delay)}});
  };
  hooks.on_refused = [ep](const std::string& error) {
    ep->requests_failed.fetch_add(1, std::memory_order_relaxed);
    ep->requests_dropped.fetch_add(1, std::memory_order_relaxed);
    ep->logger.Error("non-recoverable error, dropping the request", {{"error", error}});
  };
  absl::StatusOr<std::unique_ptr<remotewrite::Client>> client =
      remotewrite::Client::Create(std::move(client_options), std::move(hooks));
  if (!client.ok()) {
    return absl::Status(client.status().code(),
                        absl::StrCat("metrics_generator.storage.remote_write (", rw.url,
                                     "): ", client.status().message()));
  }
  endpoint->client = std::move(*client);

  remotewrite::WalOptions wal_options;
  wal_options.env = options_.env;
  wal_options.directory = JoinPath(JoinPath(config_.storage_path, tenant), dirs_[entry]);
  wal_options.max_size = options_.wal_max_size_bytes;
  wal_options.on_damage = [ep](const storage::LogDamage& damage) {
    ep->wal_repaired_bytes.fetch_add(static_cast<int64_t>(damage.bytes), std::memory_order_relaxed);
    ep->wal_repaired_records.fetch_add(static_cast<int64_t>(damage.records),
                                       std::memory_order_relaxed);
    ep->logger.Warn("The WAL was damaged: data was skipped or cut off",
                    {{"reason", damage.reason},
                     {"file", damage.file},
                     {"offset", damage.offset},
                     {"bytes", damage.bytes},
                     {"records", damage.records}});
  };
  absl::StatusOr<std::unique_ptr<remotewrite::Wal>> wal = remotewrite::Wal::Open(wal_options);
  if (!wal.ok()) return wal.status();
  endpoint->wal = std::move(*wal);

  remotewrite::WalSenderOptions sender_options;
  sender_options.name = "metrics-generator remote write";
  sender_options.senders = 1;
  sender_options.commit_interval = options_.commit_interval;
  sender_options.truncate_interval = options_.truncate_interval;
  remotewrite::WalSender::Callbacks callbacks;
  callbacks.on_read_failure = [ep](const absl::Status& status, absl::Duration retry) {
    ep->logger.Error(
        "Reading the WAL failed. Will retry after interval.",
        {{"error", std::string(status.message())}, {"interval", FormatGoDuration(retry)}});
  };
  callbacks.on_commit_failure = [ep](const absl::Status& status) {
    ep->logger.Warn(
        "Committing the WAL's cursor failed (what was delivered since may be sent again)",
        {{"error", std::string(status.message())}});
  };
  auto send = [ep](const remotewrite::WalEntry& entry) {
    remotewrite::SendResult result = ep->client->Send(entry.body(), /*until_stopped=*/true);
    if (result.status.ok()) {
      const Counts counts = CountBody(entry.body());
      ep->samples_sent.fetch_add(counts.samples, std::memory_order_relaxed);
      ep->exemplars_sent.fetch_add(counts.exemplars, std::memory_order_relaxed);
      ep->histograms_sent.fetch_add(counts.histograms, std::memory_order_relaxed);
      return remotewrite::SendOutcome::kDelivered;
    }
    return result.permanent ? remotewrite::SendOutcome::kDropped
                            : remotewrite::SendOutcome::kStopped;
  };
  endpoint->sender = std::make_unique<remotewrite::WalSender>(
      endpoint->wal.get(), sender_options, std::move(send), std::move(callbacks));
  if (absl::Status started = endpoint->sender->Start(); !started.ok()) {
    endpoint->sender.reset();
    endpoint->wal->Close();
    return started;
  }
  return endpoint;
}

absl::StatusOr<RemoteWriteOutput::Tenant*> RemoteWriteOutput::GetOrOpenTenant(
    std::string_view tenant) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = tenants_.find(tenant); it != tenants_.end()) return it->second.get();
  }
  // Opening (directory scan, WAL recovery, sender threads) runs outside mu_, so that Stats (a
  // /metrics scrape) and other tenants' Writes do not wait for it; open_mu_ makes one open at a
  // time, so a tenant's WALs are never opened twice.
  std::lock_guard<std::mutex> open_lock(open_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = tenants_.find(tenant); it != tenants_.end()) return it->second.get();
  }
  auto opened = std::make_unique<Tenant>();
  for (size_t i = 0; i < config_.remote_write.size(); ++i) {
    absl::StatusOr<std::unique_ptr<Endpoint>> endpoint = OpenEndpoint(std::string(tenant), i);
    if (!endpoint.ok()) {
      for (auto& done : opened->endpoints) done->Close(absl::Now());
      return endpoint.status();
    }
    opened->endpoints.push_back(std::move(*endpoint));
  }
  Tenant* out = opened.get();
  std::lock_guard<std::mutex> lock(mu_);
  tenants_.emplace(std::string(tenant), std::move(opened));
  return out;
}

absl::Status RemoteWriteOutput::Write(std::string_view tenant, prometheus::WriteRequest request) {
  // The tenant names a directory: Tempo's rule (not empty), and dskit's tenant ID characters.
  if (tenant.empty()) return absl::InvalidArgumentError("tenant cannot be empty");
  RETURN_IF_ERROR(net::ValidateTenantId(tenant));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return absl::FailedPreconditionError("the remote-write output is closed");
    if (config_.remote_write.empty()) return absl::OkStatus();
    ++writers_;  // Close waits for this Write (and the tenant it may open) to finish
  }
  const auto done = [this] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      --writers_;
    }
    writers_cv_.notify_all();
  };
  absl::StatusOr<Tenant*> opened = GetOrOpenTenant(tenant);
  if (!opened.ok()) {
    done();
    return opened.status();
  }
  Tenant* t = *opened;
  remotewrite::EncodeOptions encode;
  encode.max_series = options_.max_series_per_request;
  // The initial 0 samples of new series (Tempo's, at the end of the previous minute) go in
  // requests of their own, ahead of the collection's: after a restart they are older than what
  // the receiver holds for those series, and Prometheus refuses the whole request an out-of-order
  // sample is in (400, dropped) — alone, only they are lost, not the collection.
  prometheus::WriteRequest zeros = SplitInitialSamples(&request);
  std::vector<remotewrite::Encoded> parts;
  if (zeros.timeseries_size() > 0) parts.push_back(remotewrite::Encode(zeros, encode));
  parts.push_back(remotewrite::Encode(request, encode));
  absl::Status result;
  std::vector<remotewrite::WalRequest> requests;
  Counts counts;
  uint64_t bytes = 0;
  for (const remotewrite::Encoded& encoded : parts) {
    if (!encoded.errors.empty() && result.ok()) {
      result = absl::InternalError(encoded.errors.front());
    }
    for (const remotewrite::EncodedRequest& r : encoded.requests) {
      requests.push_back({0, 1, r.body});
      counts.samples += r.samples;
      counts.exemplars += r.exemplars;
      counts.histograms += r.histograms;
      bytes += r.body.size();
    }
  }
  const absl::Time now = absl::Now();
  for (const std::unique_ptr<Endpoint>& ep : t->endpoints) {
    if (requests.empty()) break;
    absl::Status appended = ep->wal->Append(requests, now);
    if (!appended.ok()) {
      ep->wal_writes_failed.fetch_add(1, std::memory_order_relaxed);
      if (result.ok()) {
        result = absl::Status(appended.code(),
                              absl::StrCat("remote write ", ep->remote_name, " (", ep->url,
                                           "): failed to write to the WAL: ", appended.message()));
      }
      continue;
    }
    ep->samples_written.fetch_add(counts.samples, std::memory_order_relaxed);
    ep->exemplars_written.fetch_add(counts.exemplars, std::memory_order_relaxed);
    ep->histograms_written.fetch_add(counts.histograms, std::memory_order_relaxed);
    ep->wal_bytes_written.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed);
  }
  done();
  return result;
}

void RemoteWriteOutput::Close(absl::Time deadline) {
  std::vector<Endpoint*> endpoints;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    // Writes in progress finish their appends first.
    writers_cv_.wait(lock, [this] { return writers_ == 0; });
    for (auto& [name, tenant] : tenants_) {
      for (auto& ep : tenant->endpoints) endpoints.push_back(ep.get());
    }
  }
  // Every WAL drains at once, each until the same deadline.
  for (Endpoint* ep : endpoints) ep->client->Stop(deadline);
  for (Endpoint* ep : endpoints) {
    if (ep->sender != nullptr) ep->sender->Drain(deadline);
  }
  for (Endpoint* ep : endpoints) ep->Close(deadline);
  // The last counters stay readable; the WALs are released (their directories unlocked).
  std::map<std::string, std::unique_ptr<Tenant>, std::less<>> closed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    final_stats_ = StatsLocked();
    closed.swap(tenants_);
  }
}

std::vector<RemoteWriteEndpointStats> RemoteWriteOutput::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_ && tenants_.empty() ? final_stats_ : StatsLocked();
}

std::vector<RemoteWriteEndpointStats> RemoteWriteOutput::StatsLocked() const {
  std::vector<RemoteWriteEndpointStats> out;
  for (const auto& [name, tenant] : tenants_) {
    for (const auto& ep : tenant->endpoints) {
      RemoteWriteEndpointStats s;
      s.tenant = ep->tenant;
      s.remote_name = ep->remote_name;
      s.url = ep->url;
      s.samples_written = ep->samples_written.load(std::memory_order_relaxed);
      s.exemplars_written = ep->exemplars_written.load(std::memory_order_relaxed);
      s.histograms_written = ep->histograms_written.load(std::memory_order_relaxed);
      s.samples_sent = ep->samples_sent.load(std::memory_order_relaxed);
      s.exemplars_sent = ep->exemplars_sent.load(std::memory_order_relaxed);
      s.histograms_sent = ep->histograms_sent.load(std::memory_order_relaxed);
      s.requests_sent = ep->requests_sent.load(std::memory_order_relaxed);
      s.requests_failed = ep->requests_failed.load(std::memory_order_relaxed);
      s.requests_dropped = ep->requests_dropped.load(std::memory_order_relaxed);
      s.wal_writes_failed = ep->wal_writes_failed.load(std::memory_order_relaxed);
      s.wal_bytes_written = ep->wal_bytes_written.load(std::memory_order_relaxed);
      s.wal_size_bytes = ep->wal->size_bytes();
      s.wal_repaired_bytes = ep->wal_repaired_bytes.load(std::memory_order_relaxed);
      s.wal_repaired_records = ep->wal_repaired_records.load(std::memory_order_relaxed);
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace sprout::traces::generator
