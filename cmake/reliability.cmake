# Reliability checks (issue 5), included at the end of CMakeLists.txt:
# - fault_signal_storm: blocking calls under a SIGALRM every millisecond,
#   from a C host (spec/c/sigstorm.c) that links the module and liblua;
# - valgrind_specs and valgrind_core_*: the busted specs and the C core
#   tests under valgrind memcheck, in the plain build only;
# - the `coverage` target of a -DLSOCK_COVERAGE=ON build: ctest, then gcovr's
#   line coverage of core/ and bindings/;
# - in a -DLSOCK_FUZZ=ON build (clang): the libFuzzer harnesses of fuzz/ and
#   a bounded run of each as a test (fuzz_addr, fuzz_read).

add_executable(sigstorm spec/c/sigstorm.c $<TARGET_OBJECTS:lsock_bind>)
target_include_directories(sigstorm PRIVATE ${PROJECT_SOURCE_DIR}/bindings)
target_link_libraries(sigstorm PRIVATE lsock_core PkgConfig::LUA m)
add_test(NAME fault_signal_storm COMMAND sigstorm)
set_tests_properties(fault_signal_storm PROPERTIES TIMEOUT 120)

# The specs valgrind runs: a list of paths under spec/, all of them by
# default (about a minute). Child processes that specs start are not traced.
set(LSOCK_VALGRIND_SPECS spec CACHE STRING
    "Spec files or directories that valgrind_specs runs")
find_program(VALGRIND valgrind)
if(VALGRIND AND BUSTED AND NOT LSOCK_SANITIZE AND NOT LSOCK_COVERAGE
   AND NOT LSOCK_FUZZ)
  # Errors and definitely or indirectly lost blocks fail the test (exit
  # status 99); Lua's still-reachable blocks at exit are not reported.
  # Nothing is suppressed. LSOCK_POOL=0 gives the state malloc's blocks,
  # which memcheck checks one by one, where the pool's chunks would hide
  # an overrun or a use after free (test_pool checks the pool itself).
  add_test(NAME valgrind_specs
           COMMAND ${VALGRIND} -q --error-exitcode=99 --leak-check=full
                   --show-leak-kinds=definite,indirect
                   --errors-for-leak-kinds=definite,indirect
                   --num-callers=30
                   $<TARGET_FILE:lsock> ${BUSTED} -o utfTerminal
                   ${LSOCK_VALGRIND_SPECS}
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(valgrind_specs PROPERTIES TIMEOUT 900
                       ENVIRONMENT "${spec_env};LSOCK_POOL=0")
  # The C core tests too (a few seconds).
  foreach(t ${core_tests})
    get_filename_component(name ${t} NAME_WE)
    add_test(NAME valgrind_core_${name}
             COMMAND ${VALGRIND} -q --error-exitcode=99 --leak-check=full
                     --show-leak-kinds=definite,indirect
                     --errors-for-leak-kinds=definite,indirect
                     $<TARGET_FILE:${name}>)
    set_tests_properties(valgrind_core_${name} PROPERTIES TIMEOUT 300)
  endforeach()
elseif(NOT VALGRIND AND NOT LSOCK_SANITIZE AND NOT LSOCK_COVERAGE
       AND NOT LSOCK_FUZZ)
  message(WARNING "valgrind not found: valgrind_specs will not run")
endif()

if(LSOCK_COVERAGE)
  find_program(GCOVR gcovr)
  if(GCOVR)
    set(src ${PROJECT_SOURCE_DIR})
    # Failing tests do not stop the report: it covers what ran.
    set(warn "echo coverage: some tests failed")
    add_custom_target(coverage
      COMMAND find ${CMAKE_BINARY_DIR} -name "*.gcda" -delete
      COMMAND sh -c "${CMAKE_CTEST_COMMAND} --output-on-failure || ${warn}"
      COMMAND ${GCOVR} --root ${src} --object-directory ${CMAKE_BINARY_DIR}
              --filter ${src}/core/ --filter ${src}/bindings/
              --exclude ${src}/core/tests/ --print-summary
      WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
      USES_TERMINAL VERBATIM)
  else()
    message(WARNING "gcovr not found: the coverage target is not defined")
  endif()
endif()

if(LSOCK_FUZZ)
  # Seconds each harness runs as a test; its corpus grows in the build
  # directory, seeded from fuzz/corpus/NAME; a finding fails the test and
  # leaves crash-* in the build directory.
  set(LSOCK_FUZZ_SECONDS 30 CACHE STRING "Seconds of each fuzz_* test")
  add_executable(fuzz_addr fuzz/fuzz_addr.c)
  target_link_libraries(fuzz_addr PRIVATE lsock_core)
  add_executable(fuzz_read fuzz/fuzz_read.c $<TARGET_OBJECTS:lsock_bind>)
  target_include_directories(fuzz_read PRIVATE ${PROJECT_SOURCE_DIR}/bindings)
  target_link_libraries(fuzz_read PRIVATE lsock_core PkgConfig::LUA m)
  foreach(f addr read)
    target_link_options(fuzz_${f} PRIVATE -fsanitize=fuzzer)
    file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/corpus/${f})
    add_test(NAME fuzz_${f}
             COMMAND fuzz_${f} -max_total_time=${LSOCK_FUZZ_SECONDS}
                     -max_len=2048 -print_final_stats=1
                     -artifact_prefix=${CMAKE_BINARY_DIR}/
                     ${CMAKE_BINARY_DIR}/corpus/${f}
                     ${PROJECT_SOURCE_DIR}/fuzz/corpus/${f}
             WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
    set_tests_properties(fuzz_${f} PROPERTIES
      TIMEOUT 600 ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1")
  endforeach()
endif()
