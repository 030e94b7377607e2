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
# A libFuzzer target, built only with -DSPROUT_FUZZ=ON (clang). In a normal build with tests, a
# fuzzer that has a committed corpus (corpus/<name>/ next to its sources: seeds and every crash
# found so far) becomes <name>_replay, which runs each file once through the target, registered
# as the test fuzz_replay_<name> (label unit): no clang build is needed to check them.
function(sprout_fuzzer name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  if(NOT SPROUT_FUZZ)
    set(_corpus ${CMAKE_CURRENT_SOURCE_DIR}/corpus/${name})
    if(SPROUT_TESTS AND IS_DIRECTORY ${_corpus})
      add_executable(${name}_replay ${ARG_SRCS} ${PROJECT_SOURCE_DIR}/cmake/fuzz_replay_main.cc)
      target_link_libraries(${name}_replay PRIVATE ${ARG_DEPS})
      add_test(NAME fuzz_replay_${name} COMMAND ${name}_replay ${_corpus})
      set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS unit TIMEOUT 300)
    endif()
    return()
  endif()
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  set_property(GLOBAL APPEND PROPERTY SPROUT_FUZZERS ${name})
endfunction()
