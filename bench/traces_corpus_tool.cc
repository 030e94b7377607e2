// traces_corpus_tool: writes the pinned trace corpus (bench/traces_corpus.h) as OTLP protobuf
// and prints its statistics.
//
//   traces_corpus_tool --spans 2000000 --out corpus.pb     # the file, then the statistics
//   traces_corpus_tool --spans 2000000 --out - | zstd -3 -c | wc -c   # statistics on stderr
//
// The file is the concatenation of the ExportTraceServiceRequest batches (--batch spans each,
// whole traces), which is itself one valid TracesData / ExportTraceServiceRequest message
// (repeated field 1, `resource_spans`, concatenates). "OTLP bytes" is its size. The statistics
// line is JSON.

#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "traces_corpus.h"

int main(int argc, char** argv) {
  CLI::App app{"writes the pinned span corpus as OTLP protobuf"};
  int64_t spans = 100000;
  int batch = 1000;
  uint64_t seed = 1;
  uint64_t start = 0;
  std::string out;
  app.add_option("--spans", spans, "spans to write (whole traces: the total may exceed it by < 40)")
      ->capture_default_str();
  app.add_option("--batch", batch, "spans per request (at least; whole traces)")
      ->capture_default_str();
  app.add_option("--seed", seed, "corpus seed")->capture_default_str();
  app.add_option("--start-time", start, "trace 0's start (Unix ns; 0: 2026-01-01T00:00:00Z)")
      ->capture_default_str();
  app.add_option("--out", out,
                 "file to write ('-': stdout, then statistics go to stderr; empty: none)");
  CLI11_PARSE(app, argc, argv);

  FILE* file = nullptr;
  if (out == "-") {
    file = stdout;
  } else if (!out.empty()) {
    file = std::fopen(out.c_str(), "wb");
    if (file == nullptr) {
      std::perror(out.c_str());
      return 1;
    }
  }
  sprout::bench::TracesCorpusOptions options;
  options.seed = seed;
  options.start_time_unix_nano = start;
  sprout::bench::TracesCorpus corpus(options);
  sprout::otlp::pb::trace_service::ExportTraceServiceRequest request;
  int64_t bytes = 0, attributes = 0, events = 0, links = 0, errors = 0, resources = 0;
  std::string buffer;
  while (corpus.spans() < spans) {
    corpus.NextBatch(static_cast<int>(std::min<int64_t>(batch, spans - corpus.spans())), &request);
    buffer.clear();
    request.SerializeToString(&buffer);
    bytes += static_cast<int64_t>(buffer.size());
    if (file != nullptr && std::fwrite(buffer.data(), 1, buffer.size(), file) != buffer.size()) {
      std::perror("write");
      return 1;
    }
    resources += request.resource_spans_size();
    for (const auto& rs : request.resource_spans()) {
      for (const auto& ss : rs.scope_spans()) {
        for (const auto& span : ss.spans()) {
          attributes += span.attributes_size();
          events += span.events_size();
          links += span.links_size();
          errors += span.status().code() == sprout::otlp::pb::trace::Status::STATUS_CODE_ERROR;
        }
      }
    }
  }
  if (file != nullptr && file != stdout && std::fclose(file) != 0) {
    std::perror(out.c_str());
    return 1;
  }
  if (file == stdout) std::fflush(stdout);
  const double n = static_cast<double>(corpus.spans());
  std::fprintf(
      file == stdout ? stderr : stdout,
      "{\"seed\": %llu, \"spans\": %lld, \"traces\": %lld, \"otlp_bytes\": %lld, "
      "\"bytes_per_span\": %.1f, \"spans_per_trace\": %.2f, \"attributes_per_span\": %.2f, "
      "\"events_per_span\": %.4f, \"links_per_span\": %.4f, \"error_spans\": %.4f, "
      "\"resource_spans_per_batch\": %.1f}\n",
      static_cast<unsigned long long>(seed), static_cast<long long>(corpus.spans()),
      static_cast<long long>(corpus.traces()), static_cast<long long>(bytes), bytes / n,
      n / static_cast<double>(corpus.traces()), attributes / n, events / n, links / n, errors / n,
      static_cast<double>(resources) / static_cast<double>((corpus.spans() + batch - 1) / batch));
  return 0;
}
