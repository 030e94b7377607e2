# The page at `/` of `sprout all` (index_page.h).
sprout_library(cmd_all_index_page
  SRCS index_page.cc
  DEPS absl::strings)

sprout_test(cmd_all_index_page_test
  SRCS index_page_test.cc
  DEPS sprout_cmd_all_index_page)
