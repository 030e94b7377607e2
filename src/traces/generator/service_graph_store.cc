#include "traces/generator/service_graph_store.h"

#include <charconv>
#include <cmath>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sprout::traces::generator {

namespace {

using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::resource::v1::Resource;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::Span;
using opentelemetry::proto::trace::v1::Status;
using Attributes = google::protobuf::RepeatedPtrField<KeyValue>;

const KeyValue* FindIn(const Attributes& attrs, std::string_view key) {
  for (const KeyValue& kv : attrs) {
    if (kv.key() == key) return &kv;
  }
  return nullptr;
}

// Tempo's FindAttributeValue(key, resource, span): the resource's attributes first.
bool FindValue(std::string_view key, const Attributes& first, const Attributes* second,
               std::string* out) {
  const KeyValue* kv = FindIn(first, key);
  if (kv == nullptr && second != nullptr) kv = FindIn(*second, key);
  if (kv == nullptr) return false;
  *out = StringifyAnyValue(kv->value());
  return true;
}

double DiffSeconds(uint64_t start, uint64_t end) {
  if (start > end) return 0;  // Tempo: no underflow, 0
  return static_cast<double>(end - start) / 1e9;
}

double DurationSeconds(const Span& span) {
  return DiffSeconds(span.start_time_unix_nano(), span.end_time_unix_nano());
}

// Tempo's GetSpanMultiplier: a double value > 0 on the span, then on the resource → 1/value.
double SpanMultiplier(std::string_view key, const Span& span, const Resource& res) {
  if (key.empty()) return 1;
  for (const Attributes* attrs : {&span.attributes(), &res.attributes()}) {
    for (const KeyValue& kv : *attrs) {
      if (kv.key() != key) continue;
      double v = kv.value().value_case() == AnyValue::kDoubleValue ? kv.value().double_value() : 0;
      if (v > 0) return 1.0 / v;
    }
  }
  return 1;
}

bool Failed(const Span& span) { return span.status().code() == Status::STATUS_CODE_ERROR; }

bool IsClient(Span::SpanKind k) {
  return k == Span::SPAN_KIND_CLIENT || k == Span::SPAN_KIND_PRODUCER;
}
bool IsServer(Span::SpanKind k) {
  return k == Span::SPAN_KIND_SERVER || k == Span::SPAN_KIND_CONSUMER;
}

// The pairing key: the trace ID's length, the trace ID, then the second ID (span or parent).
std::string MakeKey(const std::string& trace_id, const std::string& second) {
  std::string key;
  key.reserve(1 + trace_id.size() + second.size());
  key.push_back(static_cast<char>(trace_id.size() & 0xff));
  key.append(trace_id);
  key.append(second);
  return key;
}

std::string SideKey(const std::string& key, bool client) {
  return absl::StrCat(key, client ? "\x01" : "\x02");
}

}  // namespace

ServiceGraphStore::ServiceGraphStore(ServiceGraphConfig config) : config_(std::move(config)) {}

std::string ServiceGraphStore::PeerValue(const Span& span) const {
  for (const std::string& key : config_.peer_attributes) {
    if (const KeyValue* kv = FindIn(span.attributes(), key)) return StringifyAnyValue(kv->value());
  }
  return "";
}

void ServiceGraphStore::UpdateDimensions(Open* o, const Resource& res, const Span& span,
                                         Side side) {
  Edge& e = o->edge;
  const size_t n = config_.dimensions.size();
  e.client_dimensions.resize(n);
  e.server_dimensions.resize(n);
  e.dimensions.resize(n);
  for (size_t i = 0; i < n; ++i) {
    std::string v;
    if (!FindValue(config_.dimensions[i], span.attributes(), &res.attributes(), &v)) continue;
    (side == Side::kClient ? e.client_dimensions : e.server_dimensions)[i] = v;
    e.dimensions[i] = std::move(v);
  }
}

void ServiceGraphStore::UpdateClient(Open* o, const Resource& res, const Span& span,
                                     std::string_view service, bool producer) {
  Edge& e = o->edge;
  e.trace_id = absl::BytesToHexString(span.trace_id());
  e.connection_type = producer ? std::string(kConnectionMessagingSystem) : "";
  e.client_service = std::string(service);
  e.client_seconds = DurationSeconds(span);
  e.client_end_unix_nano = span.end_time_unix_nano();
  e.failed = e.failed || Failed(span);
  UpdateDimensions(o, res, span, Side::kClient);
  e.span_multiplier = SpanMultiplier(config_.span_multiplier_key, span, res);
  // Tempo keeps the previous peer when this span has none.
  if (std::string peer = PeerValue(span); !peer.empty()) e.client_peer = std::move(peer);

  // A database request: one span, completed from the client side.
  std::string db_name;
  bool is_db = false;
  for (const std::string& attr : config_.database_name_attributes) {
    if (FindValue(attr, span.attributes(), &res.attributes(), &db_name)) {
      is_db = true;
      break;
    }
  }
  if (!is_db) return;
  e.connection_type = std::string(kConnectionDatabase);
  e.server_seconds = DurationSeconds(span);
  std::string name;
  if (FindValue("peer.service", span.attributes(), &res.attributes(), &name) ||
      FindValue("server.address", span.attributes(), &res.attributes(), &name)) {
    e.server_service = std::move(name);
    return;
  }
  if (FindValue("network.peer.address", span.attributes(), &res.attributes(), &name)) {
    std::string port;
    if (FindValue("network.peer.port", span.attributes(), &res.attributes(), &port)) {
      absl::StrAppend(&name, ":", port);
    }
    e.server_service = std::move(name);
    return;
  }
  if (!db_name.empty()) e.server_service = std::move(db_name);
}

void ServiceGraphStore::UpdateServer(Open* o, const Resource& res, const Span& span,
                                     std::string_view service, bool consumer) {
  Edge& e = o->edge;
  e.trace_id = absl::BytesToHexString(span.trace_id());
  e.connection_type = consumer ? std::string(kConnectionMessagingSystem) : "";
  e.server_service = std::string(service);
  e.server_seconds = DurationSeconds(span);
  e.server_start_unix_nano = span.start_time_unix_nano();
  e.failed = e.failed || Failed(span);
  UpdateDimensions(o, res, span, Side::kServer);
  e.span_multiplier = SpanMultiplier(config_.span_multiplier_key, span, res);
  if (std::string peer = PeerValue(span); !peer.empty()) e.server_peer = std::move(peer);
}

Edge ServiceGraphStore::Finish(Open* o) {
  Edge e = std::move(o->edge);
  e.messaging_system_seconds = DiffSeconds(e.client_end_unix_nano, e.server_start_unix_nano);
  return e;
}

std::vector<Edge> ServiceGraphStore::AddSpans(const ResourceSpans& rs, absl::Time now) {
  std::vector<Edge> done;
  const KeyValue* svc = FindIn(rs.resource().attributes(), "service.name");
  if (svc == nullptr) return done;
  const std::string service = StringifyAnyValue(svc->value());

  absl::MutexLock lock(&mu_);
  for (const auto& ss : rs.scope_spans()) {
    for (const Span& span : ss.spans()) {
      const bool client = IsClient(span.kind());
      if (!client && !IsServer(span.kind())) continue;
      const std::string& second = client ? span.span_id() : span.parent_span_id();
      std::string key = MakeKey(span.trace_id(), second);

      auto apply = [&](Open* o) {
        if (client) {
          UpdateClient(o, rs.resource(), span, service, span.kind() == Span::SPAN_KIND_PRODUCER);
        } else {
          UpdateServer(o, rs.resource(), span, service, span.kind() == Span::SPAN_KIND_CONSUMER);
        }
      };
      auto complete = [](const Open& o) {
        return !o.edge.client_service.empty() && !o.edge.server_service.empty();
      };

      if (auto it = open_.find(key); it != open_.end()) {
        Open* o = &*it->second;
        apply(o);
        if (complete(*o)) {
          done.push_back(Finish(o));
          order_.erase(it->second);
          open_.erase(it);
        }
        continue;
      }
      // A counterpart of this side was dropped by the filter: the edge is dropped too.
      if (dropped_sides_.contains(SideKey(key, !client))) {
        ++dropped_edges_;
        continue;
      }
      Open fresh;
      fresh.key = key;
      fresh.expires = now + config_.wait;
      fresh.root = second.empty();
      apply(&fresh);
      if (complete(fresh)) {
        ++edges_;
        done.push_back(Finish(&fresh));
        continue;
      }
      if (static_cast<int64_t>(order_.size()) >= config_.max_items) {
        ++dropped_spans_;
        continue;
      }
      ++edges_;
      order_.push_back(std::move(fresh));
      open_.emplace(std::move(key), std::prev(order_.end()));
    }
  }
  return done;
}

std::vector<Edge> ServiceGraphStore::Expire(absl::Time now) {
  std::vector<Edge> out;
  absl::MutexLock lock(&mu_);
  while (!order_.empty() && now >= order_.front().expires) {
    Open& o = order_.front();
    Edge& e = o.edge;
    bool counted = false;
    if (e.client_service.empty()) {
      // A root server span: a request from outside (a peer attribute names it, else "user").
      if (o.root) {
        e.client_service = !e.server_peer.empty() ? e.server_peer : "user";
        e.connection_type = std::string(kConnectionVirtualNode);
        e.virtual_node = "client";
        out.push_back(Finish(&o));
        counted = true;
      }
    } else if (e.server_service.empty() && !e.client_peer.empty()) {
      // A call to something uninstrumented that the client span names.
      e.server_service = e.client_peer;
      e.connection_type = std::string(kConnectionVirtualNode);
      e.virtual_node = "server";
      out.push_back(Finish(&o));
      counted = true;
    }
    if (!counted) ++expired_edges_;
    open_.erase(o.key);
    order_.pop_front();
  }
  for (auto it = dropped_sides_.begin(); it != dropped_sides_.end();) {
    if (now >= it->second) {
      dropped_sides_.erase(it++);
    } else {
      ++it;
    }
  }
  return out;
}

void ServiceGraphStore::AddDroppedSpan(const Span& span, absl::Time now) {
  const bool client = IsClient(span.kind());
  if (!client && !IsServer(span.kind())) return;
  // A root server span has no client counterpart to drop.
  if (!client && span.parent_span_id().empty()) return;
  const std::string key = MakeKey(span.trace_id(), client ? span.span_id() : span.parent_span_id());
  absl::MutexLock lock(&mu_);
  if (auto it = open_.find(key); it != open_.end()) {
    const Edge& e = it->second->edge;
    const bool waiting_client = !e.client_service.empty();
    // Only an open edge of the other side is dropped.
    if (waiting_client != client) {
      order_.erase(it->second);
      open_.erase(it);
      ++dropped_edges_;
    }
  }
  std::string side = SideKey(key, client);
  if (auto it = dropped_sides_.find(side); it != dropped_sides_.end()) {
    it->second = now + config_.wait;
    return;
  }
  if (static_cast<int64_t>(dropped_sides_.size()) >= config_.max_items) {
    ++dropped_side_overflows_;
    return;
  }
  dropped_sides_.emplace(std::move(side), now + config_.wait);
}

uint64_t ServiceGraphStore::edges() const {
  absl::MutexLock lock(&mu_);
  return edges_;
}
uint64_t ServiceGraphStore::expired_edges() const {
  absl::MutexLock lock(&mu_);
  return expired_edges_;
}
uint64_t ServiceGraphStore::dropped_spans() const {
  absl::MutexLock lock(&mu_);
  return dropped_spans_;
}
uint64_t ServiceGraphStore::dropped_edges() const {
  absl::MutexLock lock(&mu_);
  return dropped_edges_;
}
uint64_t ServiceGraphStore::dropped_span_side_overflows() const {
  absl::MutexLock lock(&mu_);
  return dropped_side_overflows_;
}
size_t ServiceGraphStore::open_edges() const {
  absl::MutexLock lock(&mu_);
  return order_.size();
}

}  // namespace sprout::traces::generator
