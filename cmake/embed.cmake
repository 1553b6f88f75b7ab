# Embedding: the shared and static libraries a host links (only lsock_*
# and luaopen_lsock exported), and what `cmake --install` places: the
# interpreter and its man page, the libraries, lsock.h, the module for
# stock Lua, lsock.pc and the lsockConfig.cmake package.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(LSOCK_LUA_CMOD "${CMAKE_INSTALL_LIBDIR}/lua/5.4" CACHE STRING
    "Where lsock.so goes for stock Lua (relative to the prefix or absolute)")

foreach(kind SHARED STATIC)
  string(TOLOWER ${kind} k)
  add_library(lsock_${k} ${kind} ${core_src} ${bind_src})
  target_include_directories(lsock_${k}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/bindings>
           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE ${PROJECT_SOURCE_DIR}/core ${CMAKE_BINARY_DIR}/gen)
  target_link_libraries(lsock_${k} PUBLIC PkgConfig::LUA Threads::Threads)
  set_target_properties(lsock_${k} PROPERTIES OUTPUT_NAME lsock
                        EXPORT_NAME ${k})
endforeach()
set_target_properties(lsock_shared PROPERTIES
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
  PUBLIC_HEADER ${PROJECT_SOURCE_DIR}/bindings/lsock.h)
# The plain name lsock::lsock is the shared library.
add_library(lsock::lsock ALIAS lsock_shared)

option(LSOCK_MODULE_ONLY "Install only lsock.so for stock Lua (LuaRocks)"
       OFF)
install(TARGETS lsock_module LIBRARY DESTINATION ${LSOCK_LUA_CMOD})
if(NOT LSOCK_MODULE_ONLY)
install(TARGETS lsock RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS lsock_shared lsock_static EXPORT lsockTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/doc/lsock.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

configure_file(${PROJECT_SOURCE_DIR}/cmake/lsock.pc.in
               ${CMAKE_BINARY_DIR}/lsock.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/lsock.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(EXPORT lsockTargets NAMESPACE lsock::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lsock)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/lsockConfig.cmake.in
  ${CMAKE_BINARY_DIR}/lsockConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lsock)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/lsockConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/lsockConfig.cmake
              ${CMAKE_BINARY_DIR}/lsockConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lsock)
endif()

# The worked example host, built against the build tree.
add_executable(lsock_host examples/host/host.c)
target_link_libraries(lsock_host PRIVATE lsock::lsock)

# Two states side by side, one under a network policy.
add_executable(lsock_policy_test spec/embed/policy.c)
target_link_libraries(lsock_policy_test PRIVATE lsock_static)
add_test(NAME embed_policy COMMAND lsock_policy_test)

# Tests: the exported symbols, and the example built against an install.
if(NOT LSOCK_SANITIZE AND NOT LSOCK_COVERAGE)
  add_test(NAME embed_symbols
           COMMAND sh ${PROJECT_SOURCE_DIR}/spec/embed/symbols.sh
                   $<TARGET_FILE:lsock_shared> $<TARGET_FILE:lsock_module>)
  add_test(NAME embed_install
           COMMAND sh ${PROJECT_SOURCE_DIR}/spec/embed/install.sh
                   ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR})
  set_tests_properties(embed_install PROPERTIES TIMEOUT 600)
endif()
add_test(NAME embed_host COMMAND lsock_host
         ${PROJECT_SOURCE_DIR}/examples/host/serve.lua)
set_tests_properties(embed_host PROPERTIES TIMEOUT 60
  PASS_REGULAR_EXPRESSION "host: done, .* ticks, echo ok, policy refused")
