# The service-graph pairing store (issue 13): Tempo's service-graphs edge logic, no registry.
# Included from src/traces/generator/CMakeLists.txt once that exists (see README.md).
sprout_library(traces_service_graph
  SRCS ${CMAKE_CURRENT_LIST_DIR}/service_graph_store.cc
  DEPS sprout_proto absl::flat_hash_map absl::strings absl::synchronization absl::time)

sprout_test(traces_service_graph_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/service_graph_store_test.cc
  DEPS sprout_traces_service_graph)
