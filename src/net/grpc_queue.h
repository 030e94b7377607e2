// Internal to src/net: what the gRPC server and client share about completion queues.
//
// A server thread polls its own completion queue and runs request handlers on it. When a
// handler (through the pipeline) starts a client call — the otlp exporter forwarding data —
// the call is registered on that same queue, so its completion comes back to the thread that
// is already polling: no second thread has to wake up, and gRPC need not hand its poller role
// from one thread to another (which costs two futex hand-offs per request).
#pragma once

#include <grpcpp/completion_queue.h>

#include <mutex>

namespace sprout::net::internal {

// Anything whose address is used as a completion-queue tag.
class QueueTag {
 public:
  virtual ~QueueTag() = default;
  virtual void Proceed(bool ok) = 0;
};

// A server thread's queue, open for client calls until the server begins to shut it down.
struct ThreadQueue {
  grpc::CompletionQueue* cq = nullptr;
  std::mutex mu;  // held while a client call is registered, and while closing
  bool open = true;
};

// The queue polled by the current thread, or null on threads that do not poll one.
ThreadQueue*& CurrentThreadQueue();

// Polls `cq` until it is shut down and drained, dispatching every tag.
void RunQueue(grpc::CompletionQueue* cq);

}  // namespace sprout::net::internal
