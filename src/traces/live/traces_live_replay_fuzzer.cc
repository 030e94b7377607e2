// libFuzzer target for the live set's WAL replay and its byte-level split (tests/fuzz/README.md):
// any bytes either fail with an error or give a live set / split that agrees with protobuf;
// never a crash, hang or allocation beyond a small multiple of the input.
//
// The input's first byte picks the mode: bit 0x80 clear is mode A, set is mode B.
//
// Mode A, the input is a traces WAL directory (traces/wal/wal_fuzz_input.h: flags byte, segment
// files behind markers, CRCs optionally fixed). TenantTraces::Open either fails or opens; then:
//  - TraceIds() entries are 16 bytes, strictly ascending in memcmp order, as many as live_traces();
//  - FindTrace of each finds the trace, and every span of it carries that trace ID;
//  - a forced StartFlush gives one job: traces strictly ascending by ID, the same IDs, each
//    trace's spans those FindTrace returned, job.spans the sum over its traces (job.bytes is the
//    merged stored bytes, the re-serialized size only for canonical input: not compared);
//  - CompleteFlush(ok) empties the set, and a re-Open of the directory finds nothing;
//  - a new Push is found (with exactly its spans), also after another re-Open.
//
// Mode B, the bytes after the first are given to SplitSerialized, (1) as one ResourceSpans and
// (2) as the ResourceSpans of a TracesData (ResourceSpansOf). When protobuf parses the same
// bytes, the split succeeds and agrees with SplitByTrace over the parsed message: same trace IDs
// in the same order, same span count per trace, same invalid-span count; every group parses as a
// ResourceSpans whose spans all carry its trace; MergeSerializedGroups of each trace's chunk
// parses as a TracesData with at most that many spans, all of that trace. Whatever protobuf says,
// a successful split's chunks and groups lie in its buffer and add up, and merging them does not
// crash. Both modes also check the span bounds kept from the bytes against protobuf's reading
// of the spans (TraceIdsStartingIn in mode A, the split's per group and trace in mode B), that a
// Snapshot reads every trace as FindTrace does, and that a projected trace parses with the same
// spans.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "storage/fault_injection_env.h"
#include "traces/live/span_bytes.h"
#include "traces/live/tenant_traces.h"
#include "traces/wal/wal_fuzz_input.h"

namespace live = sprout::traces::live;
namespace twal = sprout::traces::wal;
namespace tpb = opentelemetry::proto::trace::v1;

namespace {

constexpr char kDir[] = "/tenant/wal";
constexpr uint8_t kModeSplit = 0x80;
const absl::Time kNow = absl::FromUnixSeconds(1700000000);

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "traces_live_replay_fuzzer: %s\n", what);
  std::abort();
}

live::TenantTracesOptions Options(uint8_t flags) {
  live::TenantTracesOptions o;
  o.wal.sync = sprout::storage::SyncPolicy::kManual;
  o.wal.segment_size = (flags & twal::fuzz::kSmallSegments) != 0 ? 256 : 64 << 20;
  o.clock = [] { return kNow; };
  return o;
}

int64_t SpansOf(const tpb::TracesData& td, const std::string& id) {
  int64_t n = 0;
  for (const tpb::ResourceSpans& rs : td.resource_spans()) {
    for (const tpb::ScopeSpans& ss : rs.scope_spans()) {
      for (const tpb::Span& s : ss.spans()) {
        if (s.trace_id() != id) Fail("a span of another trace");
        ++n;
      }
    }
  }
  return n;
}

std::unique_ptr<live::TenantTraces> MustOpen(sprout::storage::Env* env, uint8_t flags,
                                             const char* what) {
  absl::StatusOr<std::unique_ptr<live::TenantTraces>> t =
      live::TenantTraces::Open(env, kDir, Options(flags));
  if (!t.ok()) {
    std::fprintf(stderr, "%s\n", t.status().ToString().c_str());
    Fail(what);
  }
  return *std::move(t);
}

// The span bounds of a parsed trace, as the store's TimeRange reads them.
live::SpanTimes TimesOf(const tpb::TracesData& td) {
  live::SpanTimes times;
  for (const tpb::ResourceSpans& rs : td.resource_spans()) {
    for (const tpb::ScopeSpans& ss : rs.scope_spans()) {
      for (const tpb::Span& s : ss.spans()) {
        times.Add(s.start_time_unix_nano(), s.end_time_unix_nano());
      }
    }
  }
  return times;
}

// Checks the ID list; returns each trace's span count from FindTrace.
std::map<std::string, int64_t> CheckReads(const live::TenantTraces& t) {
  const std::vector<std::string> ids = t.TraceIds();
  if (ids.size() != t.live_traces() + t.pending_traces() + t.flushing_traces()) {
    Fail("TraceIds and the set sizes disagree");
  }
  std::map<std::string, int64_t> spans;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i].size() != 16) Fail("a trace ID not 16 bytes");
    if (i > 0 && std::memcmp(ids[i - 1].data(), ids[i].data(), 16) >= 0) {
      Fail("TraceIds not strictly ascending");
    }
    std::optional<tpb::TracesData> td = t.FindTrace(ids[i]);
    if (!td.has_value()) Fail("a listed trace is not found");
    spans[ids[i]] = SpansOf(*td, ids[i]);
    // The kept span bounds list the trace for a range holding its first start and one holding
    // its last end.
    const live::SpanTimes times = TimesOf(*td);
    if (times.empty()) Fail("a listed trace has no span");
    const auto listed = [&](uint64_t start, uint64_t end) {
      const std::vector<std::string> in = t.TraceIdsStartingIn(start, end);
      return std::binary_search(in.begin(), in.end(), ids[i]);
    };
    if (!listed(times.start, times.start + 1) || !listed(times.end, UINT64_MAX)) {
      Fail("TraceIdsStartingIn misses a trace whose bounds meet the range");
    }
    if (times.start > 0 && listed(0, times.start)) Fail("listed for a range before it");
    if (times.end < UINT64_MAX && listed(times.end + 1, UINT64_MAX)) {
      Fail("listed for a range after it");
    }
  }
  if (t.TraceIdsStartingIn(0, UINT64_MAX) != ids) Fail("TraceIdsStartingIn(all) is not TraceIds");
  // A snapshot reads every trace as FindTrace does; projected, it parses.
  const live::TraceParts parts = t.Snapshot(ids);
  if (parts.size() != ids.size()) Fail("Snapshot lost a trace");
  tpb::TracesData td;
  const std::vector<std::string> keys = {"service.name"};
  const live::Projection projection{keys, keys};
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts.trace_id(i) != ids[i]) Fail("Snapshot out of order");
    int64_t bytes = 0;
    if (!parts.Read(i, &td, &bytes).ok()) Fail("a snapshot trace does not read");
    if (td.SerializeAsString() != t.FindTrace(ids[i])->SerializeAsString()) {
      Fail("a snapshot trace differs from FindTrace's");
    }
    if (!parts.Read(i, &td, &bytes, &projection).ok()) Fail("a projected read fails");
    if (SpansOf(td, ids[i]) != spans[ids[i]]) Fail("a projected read lost spans");
  }
  return spans;
}

void ModeReplay(std::string_view data) {
  const twal::fuzz::FuzzInput in = twal::fuzz::ParseFuzzInput(data);
  sprout::storage::FaultInjectionEnv env;
  if (!twal::fuzz::UnpackFuzzInput(in, &env, kDir).ok()) Fail("cannot write the input's files");
  absl::StatusOr<std::unique_ptr<live::TenantTraces>> opened =
      live::TenantTraces::Open(&env, kDir, Options(in.flags));
  if (!opened.ok()) return;  // an error is a fine answer to a damaged WAL
  std::unique_ptr<live::TenantTraces> t = *std::move(opened);
  if (t->pending_traces() != 0 || t->flushing_traces() != 0) Fail("replay fills pending");
  const std::map<std::string, int64_t> spans = CheckReads(*t);

  absl::StatusOr<std::optional<live::FlushJob>> job =
      t->StartFlush(kNow, absl::Hours(1), 0, /*force=*/true);
  if (!job.ok()) {
    std::fprintf(stderr, "%s\n", job.status().ToString().c_str());
    Fail("a forced StartFlush failed");
  }
  if (spans.empty() != !job->has_value()) Fail("a job without traces, or no job with traces");
  if (job->has_value()) {
    const live::FlushJob& j = **job;
    if (j.traces.size() != spans.size()) Fail("the job has other traces than TraceIds");
    int64_t bytes = 0, total_spans = 0;  // bytes: re-serialized
    auto want = spans.begin();
    for (size_t i = 0; i < j.traces.size(); ++i) {
      const live::CutTrace& c = j.traces[i];
      if (c.trace_id != want->first) Fail("the job's traces are not TraceIds in order");
      opentelemetry::proto::trace::v1::TracesData trace;
      if (!j.ReadTrace(i, &trace).ok()) Fail("a job trace does not parse");
      const int64_t n = SpansOf(trace, c.trace_id);
      if (n != c.spans) Fail("a job trace's span count differs from its spans");
      if (n != want->second) Fail("a job trace's spans differ from FindTrace's");
      if (c.bytes <= 0 && n > 0) Fail("a job trace without bytes");
      bytes += static_cast<int64_t>(trace.ByteSizeLong());
      total_spans += n;
      ++want;
    }
    if (total_spans != j.spans) Fail("the job's span total does not add up");
    // job.bytes is the size of the merged stored bytes: the re-serialized size only for
    // canonical input (a WAL may hold e.g. a field twice), so no exact check here.
    if ((j.bytes > 0) != (bytes > 0)) Fail("the job's byte total");
    if (t->live_traces() != 0 || t->pending_traces() != 0) Fail("a forced flush left traces");
    if (!t->CompleteFlush(j, true).ok()) Fail("CompleteFlush(ok) failed");
    if (!t->TraceIds().empty()) Fail("traces left after CompleteFlush(ok)");
  }
  t.reset();
  t = MustOpen(&env, in.flags, "the flushed WAL does not reopen");
  if (!t->TraceIds().empty()) Fail("flushed traces replayed again");

  // A new push is found, also after a re-Open.
  tpb::ResourceSpans rs;
  rs.mutable_resource()->add_attributes()->set_key("service.name");
  tpb::ScopeSpans* ss = rs.add_scope_spans();
  ss->mutable_scope()->set_name("fuzz");
  const std::string id = "fuzz-trace-id-16";
  for (int i = 0; i < 3; ++i) {
    tpb::Span* s = ss->add_spans();
    s->set_trace_id(id);
    s->set_span_id(std::string(7, 's') + static_cast<char>('0' + i));
    s->set_name("op");
  }
  google::protobuf::RepeatedPtrField<tpb::ResourceSpans> request;
  *request.Add() = rs;
  absl::StatusOr<live::PushResult> pushed = t->Push(request);
  if (!pushed.ok() || pushed->accepted_spans != 3) Fail("a push after replay failed");
  if (!t->wal()->Sync().ok()) Fail("Sync failed");
  const std::map<std::string, int64_t> after = CheckReads(*t);
  if (after.size() != 1 || after.begin()->first != id || after.begin()->second != 3) {
    Fail("the pushed trace is not found as pushed");
  }
  t.reset();
  t = MustOpen(&env, in.flags, "the WAL does not reopen after a push");
  if (CheckReads(*t) != after) Fail("the pushed trace is not replayed as pushed");
}

// Checks a successful split against itself (and, when protobuf parsed the input, against
// SplitByTrace of the parsed ResourceSpans).
void CheckSplit(const live::SplitResult& split,
                const std::vector<const tpb::ResourceSpans*>* parsed) {
  const size_t size = split.data->size();
  size_t next_group = 0;
  for (const live::SplitTrace& st : split.traces) {
    if (st.offset > size || st.size > size - st.offset) Fail("a chunk outside the buffer");
    if (st.first_group != next_group || st.group_count == 0) Fail("groups out of order");
    next_group += st.group_count;
    if (next_group > split.groups.size()) Fail("more groups than the result has");
    int64_t bytes = 0, spans = 0;
    live::SpanTimes trace_times;
    for (size_t g = st.first_group; g < next_group; ++g) {
      const live::SplitResult::Group& group = split.groups[g];
      if (group.offset < st.offset || group.offset > st.offset + st.size ||
          group.size > st.offset + st.size - group.offset) {
        Fail("a group outside its chunk");
      }
      bytes += static_cast<int64_t>(group.size);
      spans += group.spans;
      if (parsed != nullptr) {
        tpb::ResourceSpans rs;
        const std::string_view gb = split.group(g);
        if (!rs.ParseFromArray(gb.data(), static_cast<int>(gb.size()))) {
          Fail("a group of parsable input does not parse");
        }
        tpb::TracesData td;
        *td.add_resource_spans() = std::move(rs);
        if (SpansOf(td, live::TraceKeyString(st.id)) != group.spans) Fail("group span count");
        const live::SpanTimes times = TimesOf(td);
        if (times.start != group.times.start || times.end != group.times.end) {
          Fail("a group's span bounds differ from protobuf's");
        }
        trace_times.Add(times);
      }
    }
    if (bytes != st.bytes || spans != st.spans) Fail("a trace's groups do not add up");
    const std::string_view chunk = split.chunk(st);
    const std::string_view chunks[] = {chunk, chunk};  // the second time: all duplicates
    absl::StatusOr<std::string> merged = live::MergeSerializedGroups(chunks);
    if (!merged.ok()) Fail("a split chunk does not merge");
    if (parsed != nullptr) {
      tpb::TracesData td;
      if (!td.ParseFromString(*merged)) Fail("merged groups of parsable input do not parse");
      const int64_t n = SpansOf(td, live::TraceKeyString(st.id));
      if (n > st.spans || (st.spans > 0 && n == 0)) Fail("merged span count");
      if (trace_times.start != st.times.start || trace_times.end != st.times.end) {
        Fail("a trace's span bounds differ from protobuf's");
      }
      // Projected, the merged trace still parses, with the same spans.
      std::string projected;
      const std::vector<std::string> keys = {"service.name", "k"};
      if (!live::ProjectSerializedTraces(*merged, live::Projection{keys, keys}, &projected).ok()) {
        Fail("a merged trace of parsable input does not project");
      }
      tpb::TracesData pt;
      if (!pt.ParseFromString(projected)) Fail("a projected trace does not parse");
      if (SpansOf(pt, live::TraceKeyString(st.id)) != n) Fail("projected span count");
    }
  }
  if (next_group != split.groups.size()) Fail("groups of no trace");
  if (parsed == nullptr) return;

  // Against protobuf: SplitByTrace over the parsed ResourceSpans, in input order.
  std::vector<std::string> order;
  std::map<std::string, int64_t> spans;
  int64_t invalid = 0;
  for (const tpb::ResourceSpans* rs : *parsed) {
    for (const tpb::ScopeSpans& ss : rs->scope_spans()) {
      for (const tpb::Span& s : ss.spans()) {
        if (s.trace_id().size() == 16 && spans.find(s.trace_id()) == spans.end()) {
          order.push_back(s.trace_id());
          spans[s.trace_id()] = 0;
        }
      }
    }
    for (const auto& [id, part] : live::SplitByTrace(*rs, &invalid)) {
      for (const tpb::ScopeSpans& ss : part.scope_spans()) spans[id] += ss.spans_size();
    }
  }
  if (invalid != split.invalid_spans) Fail("invalid span counts differ from protobuf's");
  if (order.size() != split.traces.size()) Fail("trace counts differ from protobuf's");
  for (size_t i = 0; i < order.size(); ++i) {
    if (live::TraceKeyString(split.traces[i].id) != order[i]) Fail("trace order differs");
    if (split.traces[i].spans != spans[order[i]]) Fail("span counts differ from protobuf's");
  }
}

void ModeSplit(std::string_view bytes) {
  {  // (1) the bytes as one ResourceSpans
    tpb::ResourceSpans rs;
    const bool parses = rs.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
    const std::string_view one[] = {bytes};
    absl::StatusOr<live::SplitResult> split = live::SplitSerialized(one);
    if (parses && !split.ok()) Fail("protobuf parses a ResourceSpans that SplitSerialized refuses");
    const std::vector<const tpb::ResourceSpans*> parsed = {&rs};
    if (split.ok()) CheckSplit(*split, parses ? &parsed : nullptr);
  }
  {  // (2) the bytes as a TracesData
    tpb::TracesData td;
    const bool parses = td.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
    absl::StatusOr<std::vector<std::string_view>> views = live::ResourceSpansOf(bytes);
    if (!views.ok()) {
      if (parses) Fail("protobuf parses a TracesData that ResourceSpansOf refuses");
      return;
    }
    if (parses && views->size() != static_cast<size_t>(td.resource_spans_size())) {
      Fail("ResourceSpansOf counts other ResourceSpans than protobuf");
    }
    absl::StatusOr<live::SplitResult> split = live::SplitSerialized(*views);
    if (parses && !split.ok()) Fail("protobuf parses a TracesData that SplitSerialized refuses");
    std::vector<const tpb::ResourceSpans*> parsed;
    for (const tpb::ResourceSpans& rs : td.resource_spans()) parsed.push_back(&rs);
    if (split.ok()) CheckSplit(*split, parses ? &parsed : nullptr);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (size > 0 && (data[0] & kModeSplit) != 0) {
    ModeSplit(in.substr(1));
  } else {
    ModeReplay(in);
  }
  return 0;
}
