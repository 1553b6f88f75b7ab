-- luarocks make: builds the lsock module for stock Lua 5.4 with CMake.
rockspec_format = "3.0"
package = "lsock"
version = "0.1.0-1"
source = {
  url = "git+file://.",
}
description = {
  summary = "Python-style sockets for Lua 5.4, with an event loop",
  detailed = [[
    lsock's socket object follows Python's socket module in Lua's calling
    conventions; blocking-style code runs concurrently as tasks.
  ]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    LSOCK_LUA_CMOD = "$(LIBDIR)",
    LSOCK_MODULE_ONLY = "ON",
  },
}
