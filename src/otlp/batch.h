// Batch<S>: one OTLP export request flowing through a pipeline.
//
// A batch received from the wire keeps the bytes it came in and is decoded only when a
// component asks for the message (request() or mutable_request()); a pipeline that only moves
// data (otlp receiver → otlp exporter) never decodes it and forwards the original bytes. The
// receiver validates the bytes first (ScanRequest), which guarantees the later decode succeeds.
// Should bytes that were vouched for (FromTrustedWire) not parse after all, the batch reads as
// an empty request with no items, never a partly parsed one, and decode_status() says so.
// Decoding happens at most once per batch and lands on its own protobuf arena (parsing many
// small messages into an arena is several times cheaper than heap allocation).
//
// A Batch is a cheap, copyable handle: copies share the request, and mutable_request() copies
// it first when it is shared (copy-on-write). A fan-out hands the same request to every branch,
// and only a branch that changes data pays for a copy.
//
// Thread-safety: request(), wire() and item_count() may be called from several threads at once
// (the decode is synchronised). mutable_request() must only be called by the thread that owns
// this handle; it never changes a request another handle can see.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "google/protobuf/arena.h"
#include "otlp/signal.h"
#include "otlp/wire_scan.h"

namespace sprout::otlp {

template <Signal S>
class Batch {
 public:
  using Request = typename SignalTraits<S>::Request;

  // An empty request.
  Batch() : rep_(std::make_shared<Rep>()) { rep_->item_count.store(0, std::memory_order_relaxed); }

  // Validates `wire` (see ScanRequest) and keeps it undecoded; no arena is made until a
  // component asks for the message.
  static absl::StatusOr<Batch> Parse(std::string wire) {
    ASSIGN_OR_RETURN(const int64_t items, ScanRequest(S, wire));
    Batch batch;
    batch.rep_->wire = std::move(wire);
    batch.rep_->has_wire = true;
    batch.rep_->item_count.store(items, std::memory_order_relaxed);
    return batch;
  }

  // Bytes already known to encode a valid request with `items` items (for example the
  // concatenation of other batches' wire(): repeated fields concatenate), kept undecoded
  // without scanning them again. The caller vouches for the bytes.
  static Batch FromTrustedWire(std::string wire, int64_t items) {
    Batch batch;
    batch.rep_->wire = std::move(wire);
    batch.rep_->has_wire = true;
    batch.rep_->item_count.store(items, std::memory_order_relaxed);
    return batch;
  }

  // Appends the protobuf encoding to *out: the received bytes while unchanged, otherwise the
  // serialized message.
  void AppendWire(std::string* out) const {
    if (rep_->has_wire) {
      out->append(rep_->wire);
    } else {
      request().AppendToString(out);
    }
  }

  // The decoded request (decoded now if this is the first use).
  const Request& request() const {
    Decode();
    return *rep_->request;
  }

  // The request for changing: decoded if needed, copied first when another handle shares it.
  // The received bytes no longer describe it afterwards.
  Request* mutable_request() {
    Decode();
    if (rep_.use_count() > 1) {
      auto copy = std::make_shared<Rep>();
      copy->MakeMessage();
      copy->request->CopyFrom(*rep_->request);
      copy->decoded.store(true, std::memory_order_release);
      rep_ = std::move(copy);
    } else {
      // Another thread may just have dropped the last other handle after reading the request;
      // its reads must happen before our writes.
      std::atomic_thread_fence(std::memory_order_acquire);
    }
    rep_->has_wire = false;
    rep_->wire = std::string();
    rep_->item_count.store(-1, std::memory_order_relaxed);
    return rep_->request;
  }

  // The protobuf encoding as received, while nothing has changed the request.
  std::optional<std::string_view> wire() const {
    if (!rep_->has_wire) return std::nullopt;
    return std::string_view(rep_->wire);
  }

  // Spans, data points or log records (cached until the next mutable_request()).
  int64_t item_count() const {
    int64_t n = rep_->item_count.load(std::memory_order_relaxed);
    if (n < 0) {
      n = CountItems(request());
      rep_->item_count.store(n, std::memory_order_relaxed);
    }
    return n;
  }

  // Whether the message has been built (decoded, or created by a component).
  bool decoded() const { return rep_->decoded.load(std::memory_order_acquire); }

  // OK, or Internal when the received bytes did not parse (a broken FromTrustedWire promise):
  // the request then reads as empty and item_count() as 0. Decodes first if needed.
  absl::Status decode_status() const {
    Decode();
    if (!rep_->decode_failed) return absl::OkStatus();
    return absl::InternalError(absl::StrCat("OTLP ", SignalTraits<S>::kName, " batch of ",
                                            rep_->wire.size(),
                                            " bytes did not decode although it was validated"));
  }

  // True when both handles share one request (for tests of copy-on-write).
  bool SharesWith(const Batch& other) const { return rep_ == other.rep_; }

 private:
  struct Rep {
    void MakeMessage() {
      google::protobuf::ArenaOptions options;
      options.start_block_size = 4096;
      options.max_block_size = 64 * 1024;
      arena = std::make_unique<google::protobuf::Arena>(options);
      request = google::protobuf::Arena::CreateMessage<Request>(arena.get());
    }
    std::unique_ptr<google::protobuf::Arena> arena;
    Request* request = nullptr;  // owned by `arena`, made on first use
    std::string wire;            // the received encoding, while has_wire
    bool has_wire = false;
    bool decode_failed = false;  // written before `decoded` is released
    std::mutex decode_mu;
    std::atomic<bool> decoded{false};
    std::atomic<int64_t> item_count{-1};
  };

  void Decode() const {
    if (rep_->decoded.load(std::memory_order_acquire)) return;
    std::lock_guard<std::mutex> lock(rep_->decode_mu);
    if (rep_->decoded.load(std::memory_order_relaxed)) return;
    rep_->MakeMessage();
    // ScanRequest accepted these bytes (or the caller of FromTrustedWire vouched for them), so
    // the parser accepts them too. If it does not, nothing partly parsed may flow on.
    if (rep_->has_wire &&
        !rep_->request->ParseFromArray(rep_->wire.data(), static_cast<int>(rep_->wire.size()))) {
      rep_->request->Clear();
      rep_->decode_failed = true;
      rep_->item_count.store(0, std::memory_order_relaxed);
    }
    rep_->decoded.store(true, std::memory_order_release);
  }

  std::shared_ptr<Rep> rep_;
};

using TracesBatch = Batch<Signal::kTraces>;
using MetricsBatch = Batch<Signal::kMetrics>;
using LogsBatch = Batch<Signal::kLogs>;

}  // namespace sprout::otlp
