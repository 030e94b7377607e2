# The `sprout all` configuration (sprout.yaml): the sections handed to the roles' decoders.
sprout_library(cmd_all_config
  SRCS all_config.cc
  DEPS sprout_collector sprout_traces_config sprout_metrics_config sprout_config sprout_base
       yaml-cpp absl::status absl::statusor absl::strings absl::time)

sprout_test(cmd_all_config_test
  SRCS all_config_test.cc
  DEPS sprout_cmd_all_config)
