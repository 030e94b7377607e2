# The service-graph pairing store and the service-graphs processor (issue 13): Tempo's
# service-graphs edge logic, and the edges turned into registry series. Included from
# src/traces/generator/CMakeLists.txt (see README.md).
sprout_library(traces_service_graph
  SRCS ${CMAKE_CURRENT_LIST_DIR}/service_graph_store.cc
  DEPS sprout_base sprout_proto absl::flat_hash_map absl::strings absl::synchronization absl::time)

sprout_test(traces_service_graph_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/service_graph_store_test.cc
  DEPS sprout_traces_service_graph)

sprout_library(traces_service_graphs
  SRCS ${CMAKE_CURRENT_LIST_DIR}/service_graphs.cc
  DEPS sprout_traces_service_graph sprout_traces_generator absl::status absl::statusor
       absl::strings absl::synchronization absl::time)

sprout_test(traces_service_graphs_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/service_graphs_test.cc
  DEPS sprout_traces_service_graphs)
