// Every rng() call is sequenced (never two in one expression or argument list), so the
// traces are the same whatever the compiler: the checked-in v1 block depends on it.
//
// Test-only generators of traces for the block tests, the fuzzer's seeds and the size/speed
// measurement (not part of the library's API).
//
//   RandomTrace(rng, id, opts)  a trace exercising every field the format keeps: every AnyValue
//                               type (nested arrays/kvlists, empty values, KeyValues without a
//                               value), empty vs absent strings, unicode, dropped counts, events,
//                               links, several resources/scopes, parents elsewhere, odd IDs.
//   RealisticTrace(rng, id)     ~10 spans of a web service calling a database: ~8 attributes a
//                               span (http.method, http.route, http.status_code, user_agent,
//                               db.statement with varying literals, net.peer.name, ...), random
//                               8-byte span IDs, ~400 bytes of OTLP a span.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace sprout::traces::block::testing {

using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::ScopeSpans;
using opentelemetry::proto::trace::v1::Span;
using opentelemetry::proto::trace::v1::TracesData;

inline std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

inline std::string TraceId(std::mt19937_64& rng) { return RandomBytes(rng, 16); }

inline void RandomValue(std::mt19937_64& rng, AnyValue* v, int depth) {
  static const char* kStrings[] = {"", "a", "GET", "héllo wörld ✓", "/api/v1/users", "x\0y",
                                   "longer string value with spaces"};
  switch (rng() % (depth > 2 ? 6 : 8)) {
    case 0:
      v->set_string_value(kStrings[rng() % 7]);
      break;
    case 1:
      v->set_bool_value(rng() % 2 == 0);
      break;
    case 2:
    {
      const int64_t x = static_cast<int64_t>(rng());
      v->set_int_value(x >> (rng() % 64));
    }
      break;
    case 3:
      v->set_double_value(static_cast<double>(static_cast<int64_t>(rng() % 2000) - 1000) / 8.0);
      break;
    case 4:
      v->set_bytes_value(RandomBytes(rng, rng() % 5));
      break;
    case 5:
      break;  // empty AnyValue
    case 6: {
      auto* a = v->mutable_array_value();
      for (int i = static_cast<int>(rng() % 3); i > 0; --i) RandomValue(rng, a->add_values(), depth + 1);
      break;
    }
    default: {
      auto* l = v->mutable_kvlist_value();
      for (int i = static_cast<int>(rng() % 3); i > 0; --i) {
        KeyValue* kv = l->add_values();
        kv->set_key(absl::StrCat("k", rng() % 3));
        RandomValue(rng, kv->mutable_value(), depth + 1);
      }
      break;
    }
  }
}

inline void RandomAttrs(std::mt19937_64& rng,
                        google::protobuf::RepeatedPtrField<KeyValue>* attrs) {
  static const char* kKeys[] = {"service.name", "http.method", "k", "", "ключ", "n", "dup"};
  for (int i = static_cast<int>(rng() % 5); i > 0; --i) {
    KeyValue* kv = attrs->Add();
    kv->set_key(kKeys[rng() % 7]);
    if (rng() % 10 != 0) RandomValue(rng, kv->mutable_value(), 0);  // else: no value at all
  }
}

struct RandomOptions {
  int max_spans = 12;
};

inline TracesData RandomTrace(std::mt19937_64& rng, const std::string& id,
                              RandomOptions opts = {}) {
  TracesData td;
  std::vector<std::string> span_ids;
  const int groups = 1 + static_cast<int>(rng() % 3);
  uint64_t base = 1700000000000000000ULL + rng() % 1000000000000ULL;
  for (int g = 0; g < groups; ++g) {
    ResourceSpans* rs = td.add_resource_spans();
    if (rng() % 8 != 0) {
      auto* r = rs->mutable_resource();
      KeyValue* kv = r->add_attributes();
      kv->set_key("service.name");
      kv->mutable_value()->set_string_value(absl::StrCat("svc-", rng() % 4));
      RandomAttrs(rng, r->mutable_attributes());
      if (rng() % 4 == 0) r->set_dropped_attributes_count(static_cast<uint32_t>(rng() % 5));
      if (rng() % 10 == 0) r->add_entity_refs()->set_type("service");
    }
    if (rng() % 3 == 0) rs->set_schema_url("https://opentelemetry.io/schemas/1.21.0");
    for (int sg = static_cast<int>(rng() % 3); sg >= 0; --sg) {
      ScopeSpans* ss = rs->add_scope_spans();
      if (rng() % 5 != 0) {
        auto* sc = ss->mutable_scope();
        sc->set_name(absl::StrCat("lib", rng() % 3));
        if (rng() % 2) sc->set_version("1.2.3");
        RandomAttrs(rng, sc->mutable_attributes());
        if (rng() % 5 == 0) sc->set_dropped_attributes_count(3);
      }
      if (rng() % 4 == 0) ss->set_schema_url("scope-schema");
      for (int n = static_cast<int>(rng() % (opts.max_spans / 2 + 1)); n > 0; --n) {
        Span* s = ss->add_spans();
        s->set_trace_id(id);
        std::string sid = RandomBytes(rng, rng() % 20 == 0 ? rng() % 10 : 8);
        s->set_span_id(sid);
        switch (rng() % 6) {
          case 0:
            break;  // root
          case 1:
            s->set_parent_span_id(RandomBytes(rng, 8));  // elsewhere
            break;
          case 2:
            if (rng() % 2) s->set_parent_span_id(std::string(8, '\0'));
            break;
          default:
            if (!span_ids.empty()) s->set_parent_span_id(span_ids[rng() % span_ids.size()]);
        }
        span_ids.push_back(sid);
        if (rng() % 7 == 0) {
          s->set_name("");
        } else {
          const uint64_t op = rng() % 5;
          s->set_name(absl::StrCat("op-", op, rng() % 9 == 0 ? "✓" : ""));
        }
        s->set_kind(static_cast<Span::SpanKind>(rng() % 6));
        const uint64_t st = base + rng() % 1000000000;
        s->set_start_time_unix_nano(st);
        s->set_end_time_unix_nano(rng() % 15 == 0 ? st - rng() % 1000 : st + rng() % 100000000);
        if (rng() % 3 == 0) s->set_trace_state("rojo=00f067aa0ba902b7");
        if (rng() % 2) s->set_flags(static_cast<uint32_t>(rng() % 0x400));
        RandomAttrs(rng, s->mutable_attributes());
        if (rng() % 4 == 0) s->set_dropped_attributes_count(static_cast<uint32_t>(rng() % 9));
        if (rng() % 5 == 0) s->set_dropped_events_count(2);
        if (rng() % 6 == 0) s->set_dropped_links_count(1);
        if (rng() % 2) {
          auto* stt = s->mutable_status();
          stt->set_code(static_cast<opentelemetry::proto::trace::v1::Status::StatusCode>(rng() % 3));
          if (rng() % 2) stt->set_message(rng() % 2 ? "boom" : "");
        }
        for (int e = static_cast<int>(rng() % 3); e > 0; --e) {
          auto* ev = s->add_events();
          ev->set_time_unix_nano(st + rng() % 1000 - 10);
          ev->set_name(rng() % 2 ? "exception" : "");
          RandomAttrs(rng, ev->mutable_attributes());
          if (rng() % 4 == 0) ev->set_dropped_attributes_count(1);
        }
        for (int l = static_cast<int>(rng() % 3); l > 0; --l) {
          auto* ln = s->add_links();
          ln->set_trace_id(rng() % 2 ? id : RandomBytes(rng, rng() % 3 == 0 ? 0 : 16));
          ln->set_span_id(RandomBytes(rng, 8));
          if (rng() % 3 == 0) ln->set_trace_state("k=v");
          if (rng() % 2) ln->set_flags(1);
          RandomAttrs(rng, ln->mutable_attributes());
          if (rng() % 4 == 0) ln->set_dropped_attributes_count(4);
        }
      }
    }
  }
  return td;
}

inline TracesData RealisticTrace(std::mt19937_64& rng, const std::string& id) {
  static const char* kRoutes[] = {"/api/users/{id}", "/api/orders", "/api/cart/{id}/items",
                                  "/health", "/api/search", "/api/products/{sku}"};
  static const char* kMethods[] = {"GET", "GET", "GET", "POST", "PUT", "DELETE"};
  static const char* kServices[] = {"frontend", "checkout", "cart", "catalog", "users"};
  static const char* kAgents[] = {
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Safari/605.1.15",
      "okhttp/4.12.0", "curl/8.4.0"};
  TracesData td;
  const uint64_t t0 = 1700000000000000000ULL + (rng() % 3600000000000ULL);
  const int nspans = 6 + static_cast<int>(rng() % 9);
  const char* svc = kServices[rng() % 5];
  ResourceSpans* rs = td.add_resource_spans();
  auto* res = rs->mutable_resource();
  auto add_str = [](google::protobuf::RepeatedPtrField<KeyValue>* a, const char* k,
                    std::string v) {
    KeyValue* kv = a->Add();
    kv->set_key(k);
    kv->mutable_value()->set_string_value(std::move(v));
  };
  auto add_int = [](google::protobuf::RepeatedPtrField<KeyValue>* a, const char* k, int64_t v) {
    KeyValue* kv = a->Add();
    kv->set_key(k);
    kv->mutable_value()->set_int_value(v);
  };
  add_str(res->mutable_attributes(), "service.name", svc);
  add_str(res->mutable_attributes(), "service.version", "1.4.2");
  add_str(res->mutable_attributes(), "host.name", absl::StrCat("pod-", svc, "-", rng() % 3));
  add_str(res->mutable_attributes(), "telemetry.sdk.language", "java");
  ScopeSpans* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("io.opentelemetry.http");
  ss->mutable_scope()->set_version("1.32.0");
  std::string root_id;
  std::vector<std::string> ids;
  for (int i = 0; i < nspans; ++i) {
    Span* s = ss->add_spans();
    s->set_trace_id(id);
    std::string sid = RandomBytes(rng, 8);
    s->set_span_id(sid);
    if (i > 0) s->set_parent_span_id(ids[rng() % ids.size()]);
    ids.push_back(sid);
    const uint64_t st = t0 + static_cast<uint64_t>(i) * 1000000 + rng() % 500000;
    s->set_start_time_unix_nano(st);
    s->set_end_time_unix_nano(st + 100000 + rng() % 20000000);
    auto* a = s->mutable_attributes();
    const int route = static_cast<int>(rng() % 6);
    if (i == 0 || rng() % 3 == 0) {
      s->set_kind(i == 0 ? Span::SPAN_KIND_SERVER : Span::SPAN_KIND_CLIENT);
      s->set_name(absl::StrCat(kMethods[route], " ", kRoutes[route]));
      add_str(a, "http.method", kMethods[route]);
      add_str(a, "http.route", kRoutes[route]);
      add_str(a, "http.target", absl::StrCat(kRoutes[route], "?id=", rng() % 100000));
      add_int(a, "http.status_code", rng() % 20 == 0 ? 500 : 200);
      add_str(a, "user_agent.original", kAgents[rng() % 4]);
      const uint64_t net = rng() % 4;
      add_str(a, "net.peer.name", absl::StrCat("10.0.", net, ".", rng() % 250));
      add_int(a, "net.peer.port", 8080);
      add_str(a, "http.scheme", "https");
    } else {
      s->set_kind(Span::SPAN_KIND_CLIENT);
      s->set_name("SELECT orders");
      add_str(a, "db.system", "postgresql");
      add_str(a, "db.name", "shop");
      const uint64_t customer = rng() % 1000000;
      const uint64_t month = 1 + rng() % 9;
      const uint64_t day = rng() % 10;
      add_str(a, "db.statement",
              absl::StrCat("SELECT id, total, status FROM orders WHERE customer_id = ", customer,
                           " AND created_at > '2024-0", month, "-1", day, "'"));
      add_str(a, "db.user", "app");
      add_str(a, "net.peer.name", "postgres.internal");
      add_int(a, "net.peer.port", 5432);
      add_str(a, "db.operation", "SELECT");
      add_int(a, "thread.id", 40 + static_cast<int64_t>(rng() % 16));
    }
    if (rng() % 20 == 0) s->mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
  }
  return td;
}

}  // namespace sprout::traces::block::testing
