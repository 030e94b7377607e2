#include "traces_corpus.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sprout::bench {
namespace {

namespace pb = otlp::pb;
using pb::trace::Span;

// FNV-1a 64 of the serialized one-trace batches of the first `traces` traces.
uint64_t HashFirstTraces(uint64_t seed, int traces) {
  TracesCorpusOptions options;
  options.seed = seed;
  TracesCorpus corpus(options);
  pb::trace_service::ExportTraceServiceRequest request;
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (int i = 0; i < traces; ++i) {
    corpus.NextBatch(1, &request);  // at least one span: exactly one whole trace
    hash = Fnv1a64(request.SerializeAsString(), hash);
  }
  return hash;
}

TEST(TracesCorpus, Fnv1a64KnownValues) {
  // The published FNV-1a 64 test vectors.
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

TEST(TracesCorpus, SameSeedSameBytesOtherSeedOtherBytes) {
  EXPECT_EQ(HashFirstTraces(1, 300), HashFirstTraces(1, 300));
  EXPECT_NE(HashFirstTraces(1, 300), HashFirstTraces(2, 300));
}

// The corpus is pinned: a change to the generator that changes its bytes must change this
// constant on purpose (and the figures in BENCHMARKS.md be measured again). Durations go
// through libm (log, exp, cos): another libm could change the last bits of a time.
TEST(TracesCorpus, PinnedBytes) {
  EXPECT_EQ(HashFirstTraces(1, 1000), 0x57b846f3449109fdULL)
      << std::hex << HashFirstTraces(1, 1000);
}

struct Stats {
  int64_t spans = 0, traces = 0, bytes = 0, attributes = 0;
  std::map<Span::SpanKind, int64_t> kinds;
  std::set<std::string> routes, user_agents, statements, services, trace_ids;
  std::map<int64_t, int64_t> status_codes;
  int64_t error_spans = 0, errors_with_stack = 0, links = 0, events = 0;
  int min_trace = 1 << 30, max_trace = 0;
};

const pb::common::AnyValue* Attr(const Span& span, const std::string& key) {
  for (const auto& kv : span.attributes()) {
    if (kv.key() == key) return &kv.value();
  }
  return nullptr;
}

TEST(TracesCorpus, StatisticsAndShape) {
  TracesCorpusOptions options;
  options.seed = 7;
  options.start_time_unix_nano = 1'800'000'000'000'000'000ULL;
  options.trace_interval_nanos = 1'000'000;
  TracesCorpus corpus(options);
  pb::trace_service::ExportTraceServiceRequest request;
  Stats st;
  while (corpus.spans() < 100000) {
    const int64_t first_trace = corpus.traces();
    corpus.NextBatch(1000, &request);
    ASSERT_GE(corpus.spans() - st.spans, 1000);
    ASSERT_LT(corpus.spans() - st.spans, 1040);
    st.bytes += static_cast<int64_t>(request.ByteSizeLong());
    // Spans of this batch by trace ID.
    std::map<std::string, std::vector<const Span*>> by_trace;
    for (const auto& rs : request.resource_spans()) {
      ASSERT_EQ(rs.resource().attributes(0).key(), "service.name");
      st.services.insert(rs.resource().attributes(0).value().string_value());
      ASSERT_GE(rs.resource().attributes_size(), 10);
      for (const auto& ss : rs.scope_spans()) {
        for (const auto& span : ss.spans()) {
          ++st.spans;
          by_trace[span.trace_id()].push_back(&span);
          st.attributes += span.attributes_size();
          ++st.kinds[span.kind()];
          st.links += span.links_size();
          st.events += span.events_size();
          ASSERT_EQ(span.trace_id().size(), 16u);
          ASSERT_EQ(span.span_id().size(), 8u);
          ASSERT_LT(span.start_time_unix_nano(), span.end_time_unix_nano());
          if (const auto* v = Attr(span, "http.route")) st.routes.insert(v->string_value());
          if (const auto* v = Attr(span, "user_agent.original"))
            st.user_agents.insert(v->string_value());
          if (const auto* v = Attr(span, "db.statement")) st.statements.insert(v->string_value());
          const auto* code = Attr(span, "http.status_code");
          if (code == nullptr) code = Attr(span, "http.response.status_code");
          if (code != nullptr && span.kind() == Span::SPAN_KIND_SERVER)
            ++st.status_codes[code->int_value()];
          if (span.status().code() == pb::trace::Status::STATUS_CODE_ERROR) {
            ++st.error_spans;
            for (const auto& ev : span.events()) {
              if (ev.name() == "exception" && ev.attributes_size() == 3 &&
                  ev.attributes(2).key() == "exception.stacktrace" &&
                  ev.attributes(2).value().string_value().size() > 200) {
                ++st.errors_with_stack;
              }
            }
          }
        }
      }
    }
    // Whole traces, in corpus order of IDs: the batch holds exactly traces first_trace.. .
    ASSERT_EQ(static_cast<int64_t>(by_trace.size()), corpus.traces() - first_trace);
    for (int64_t i = first_trace; i < corpus.traces(); ++i) {
      const std::string id = TracesCorpus::TraceId(options.seed, static_cast<uint64_t>(i));
      ASSERT_TRUE(by_trace.count(id)) << "trace " << i;
      const auto& spans = by_trace[id];
      ASSERT_TRUE(st.trace_ids.insert(id).second);
      st.min_trace = std::min<int>(st.min_trace, static_cast<int>(spans.size()));
      st.max_trace = std::max<int>(st.max_trace, static_cast<int>(spans.size()));
      std::map<std::string, const Span*> by_id;
      const Span* root = nullptr;
      for (const Span* s : spans) {
        ASSERT_TRUE(by_id.emplace(s->span_id(), s).second) << "duplicate span ID";
        if (s->parent_span_id().empty()) {
          ASSERT_EQ(root, nullptr) << "two roots";
          root = s;
        }
      }
      ASSERT_NE(root, nullptr);
      ASSERT_EQ(root->kind(), Span::SPAN_KIND_SERVER);
      // The root starts in the trace's slot of the timeline.
      const uint64_t slot =
          options.start_time_unix_nano + static_cast<uint64_t>(i) * options.trace_interval_nanos;
      ASSERT_GE(root->start_time_unix_nano(), slot);
      ASSERT_LT(root->start_time_unix_nano(), slot + options.trace_interval_nanos);
      for (const Span* s : spans) {
        if (s == root) continue;
        ASSERT_TRUE(by_id.count(s->parent_span_id())) << "parent not in the trace";
        const Span* p = by_id[s->parent_span_id()];
        if (s->kind() == Span::SPAN_KIND_CONSUMER) {
          ASSERT_EQ(p->kind(), Span::SPAN_KIND_PRODUCER);
          ASSERT_GE(s->start_time_unix_nano(), p->end_time_unix_nano());
          ASSERT_EQ(s->links_size(), 1);
          ASSERT_EQ(s->links(0).span_id(), p->span_id());
        } else {
          ASSERT_GE(s->start_time_unix_nano(), p->start_time_unix_nano());
          ASSERT_LE(s->end_time_unix_nano(), p->end_time_unix_nano());
        }
        if (p->kind() == Span::SPAN_KIND_CLIENT && s->kind() == Span::SPAN_KIND_SERVER) {
          // The callee's server span carries the route the client called.
          const auto* url = Attr(*p, "url.full");
          if (url == nullptr) url = Attr(*p, "http.url");
          const auto* path = Attr(*s, "url.path");
          if (path == nullptr) path = Attr(*s, "http.target");
          ASSERT_NE(url, nullptr);
          ASSERT_NE(path, nullptr);
          ASSERT_NE(url->string_value().find(path->string_value()), std::string::npos);
        }
      }
    }
  }
  st.traces = corpus.traces();
  const double n = static_cast<double>(st.spans);
  // The targets of the corpus's design (see traces_corpus.h).
  EXPECT_GE(st.bytes / n, 350.0);
  EXPECT_LE(st.bytes / n, 450.0);
  EXPECT_GE(n / st.traces, 8.5);
  EXPECT_LE(n / st.traces, 11.5);
  EXPECT_EQ(st.min_trace, 1);
  EXPECT_GE(st.max_trace, 30);
  EXPECT_LE(st.max_trace, 40);
  EXPECT_GE(st.attributes / n, 7.5);
  EXPECT_LE(st.attributes / n, 9.0);
  EXPECT_EQ(st.services.size(), 24u);
  EXPECT_GE(st.routes.size(), 50u);
  EXPECT_LE(st.routes.size(), 90u);
  EXPECT_GE(st.user_agents.size(), 25u);
  EXPECT_GE(st.statements.size(), 10000u);  // literals vary
  for (auto kind : {Span::SPAN_KIND_SERVER, Span::SPAN_KIND_CLIENT, Span::SPAN_KIND_INTERNAL,
                    Span::SPAN_KIND_PRODUCER, Span::SPAN_KIND_CONSUMER}) {
    EXPECT_GT(st.kinds[kind], st.spans / 100) << kind;
  }
  int64_t server = 0, s4xx = 0, s5xx = 0;
  for (const auto& [code, count] : st.status_codes) {
    server += count;
    if (code >= 400 && code < 500) s4xx += count;
    if (code >= 500) s5xx += count;
  }
  EXPECT_GT(st.status_codes[200], server * 8 / 10);
  EXPECT_GT(s4xx, server / 100);
  EXPECT_GT(s5xx, server / 500);
  EXPECT_GT(st.error_spans, 0);
  EXPECT_GT(st.errors_with_stack, st.error_spans / 3);  // client spans of 5xx carry no event
  EXPECT_GT(st.links, 0);
}

TEST(TracesCorpus, TraceIdsAreDistinctAndNonZero) {
  std::set<std::string> ids;
  for (uint64_t i = 0; i < 100000; ++i) {
    const std::string id = TracesCorpus::TraceId(3, i);
    ASSERT_EQ(id.size(), 16u);
    ASSERT_NE(id, std::string(16, '\0'));
    ASSERT_TRUE(ids.insert(id).second) << i;
  }
  EXPECT_NE(TracesCorpus::TraceId(3, 0), TracesCorpus::TraceId(4, 0));
}

}  // namespace
}  // namespace sprout::bench
