// Differential fuzzing of RemoveItems: for any traces or logs request the scan accepts, cutting
// items out of the bytes must decode to the same message as editing the decoded request (the
// filter processor relies on the two being interchangeable).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

#include "otlp/signal.h"
#include "otlp/wire_filter.h"
#include "otlp/wire_scan.h"

namespace {

using namespace sprout::otlp;  // NOLINT

// The filter's rule, on the decoded message: drop flagged items, then empty scopes and resources.
template <typename Request, typename Resources, typename Scopes, typename Items>
void Edit(Request* request, const std::vector<bool>& drop, Resources resources, Scopes scopes,
          Items items) {
  size_t next = 0;
  auto* rs = resources(request);
  for (int r = 0; r < rs->size();) {
    auto* ss = scopes(rs->Mutable(r));
    for (int s = 0; s < ss->size();) {
      auto* is = items(ss->Mutable(s));
      for (int i = 0; i < is->size();) {
        if (drop[next++]) {
          is->DeleteSubrange(i, 1);
        } else {
          ++i;
        }
      }
      if (is->empty()) {
        ss->DeleteSubrange(s, 1);
      } else {
        ++s;
      }
    }
    if (ss->empty()) {
      rs->DeleteSubrange(r, 1);
    } else {
      ++r;
    }
  }
}

template <typename Request>
void Check(Signal signal, std::string_view wire, uint8_t seed) {
  auto items = ScanRequest(signal, wire);
  if (!items.ok()) return;
  std::vector<bool> drop(static_cast<size_t>(*items));
  for (size_t i = 0; i < drop.size(); ++i) drop[i] = ((i * 7 + seed) % 5) < (seed % 4);
  int64_t kept = -1;
  const auto cut = RemoveItems(signal, wire, drop, &kept);
  if (!cut.has_value()) {
    std::fprintf(stderr, "RemoveItems refused a request the scan accepted\n");
    std::abort();
  }
  Request expected;
  expected.ParseFromArray(wire.data(), static_cast<int>(wire.size()));
  if constexpr (std::is_same_v<Request, pb::trace_service::ExportTraceServiceRequest>) {
    Edit(
        &expected, drop, [](auto* r) { return r->mutable_resource_spans(); },
        [](auto* r) { return r->mutable_scope_spans(); },
        [](auto* s) { return s->mutable_spans(); });
  } else {
    Edit(
        &expected, drop, [](auto* r) { return r->mutable_resource_logs(); },
        [](auto* r) { return r->mutable_scope_logs(); },
        [](auto* s) { return s->mutable_log_records(); });
  }
  Request got;
  if (!got.ParseFromString(*cut) || CountItems(got) != kept ||
      got.SerializeAsString() != expected.SerializeAsString()) {
    std::fprintf(stderr, "cutting the bytes and editing the message disagree (kept %lld)\n",
                 static_cast<long long>(kept));
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);
  Check<pb::trace_service::ExportTraceServiceRequest>(Signal::kTraces, wire, data[0]);
  Check<pb::logs_service::ExportLogsServiceRequest>(Signal::kLogs, wire, data[0]);
  return 0;
}
