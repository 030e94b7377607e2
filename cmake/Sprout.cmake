# Helpers that give every folder under src/ the same shape: one library, tests beside the code.

# sprout_library(<name> SRCS ... DEPS ...)
# A static library named sprout_<name>; includes are rooted at src/ ("base/status.h").
function(sprout_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_library(sprout_${name} STATIC ${ARG_SRCS})
  target_include_directories(sprout_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(sprout_${name} PUBLIC ${ARG_DEPS})
endfunction()

# sprout_test(<name> SRCS ... DEPS ...)
# A GoogleTest binary; each test case becomes its own CTest test (label "unit") so that
# `ctest -j` spreads them over the cores. Discovery happens when tests run, not at build time.
function(sprout_test name)
  if(NOT SPROUT_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS unit TIMEOUT 120
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endfunction()

# sprout_fuzzer(<name> SRCS ... DEPS ...)
# A libFuzzer target, built only with -DSPROUT_FUZZ=ON (clang).
function(sprout_fuzzer name)
  if(NOT SPROUT_FUZZ)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  set_property(GLOBAL APPEND PROPERTY SPROUT_FUZZERS ${name})
endfunction()
