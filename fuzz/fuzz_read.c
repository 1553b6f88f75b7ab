/* fuzz/fuzz_read: a libFuzzer harness for the makefile read formats
 * (bindings/l_file.c: line splitting, byte counts, "a", io's numeral reader
 * for "n") through the real module: each input is written into one end of
 * a socketpair, which is then shut for writing, and read back through
 * s:makefile("r", buffering) with a list of formats until the end.
 * Input: byte 0 picks the buffering (none, line, full, full with a 3-byte
 * buffer); byte 1 the number of formats per read (1-8); then one byte per
 * format ('n', 'l', 'L', 'a' or a count 0-15); the rest is the data. When
 * every format keeps the bytes it reads ("L", counts, "a") and one of them
 * consumes some, the results must put the data back together exactly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lsock.h"

static const char chunk[] =
    "local socket = require 'lsock'\n"
    "return function(data, buffering, fmts, lossless)\n"
    "  local a, b = socket.socketpair()\n"
    "  a:sendall(data)\n"
    "  a:shutdown(socket.SHUT_WR)\n"
    "  local f = b:makefile('r', buffering)\n"
    "  local got = {}\n"
    "  for _ = 1, #data + 2 do\n"
    "    local r = table.pack(f:read(table.unpack(fmts)))\n"
    "    if r[1] == nil then break end\n"
    "    for i = 1, r.n do\n"
    "      if type(r[i]) == 'string' then got[#got + 1] = r[i] end\n"
    "    end\n"
    "  end\n"
    "  f:close() a:close() b:close()\n"
    "  if lossless and table.concat(got) ~= data then\n"
    "    error('lost or changed bytes')\n"
    "  end\n"
    "end\n";

static lua_State *L;
static int fn; /* registry reference of the function above */

static void setup(void) {
  L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "lsock", luaopen_lsock, 0);
  lua_pop(L, 1);
  if (luaL_loadbuffer(L, chunk, sizeof chunk - 1, "=fuzz_read") != LUA_OK ||
      lua_pcall(L, 0, 1, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_read: %s\n", lua_tostring(L, -1));
    abort();
  }
  fn = luaL_ref(L, LUA_REGISTRYINDEX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const int buffering[] = {0, 1, -1, 3};
  int lossless = 1, consumes = 0; /* read(0) alone never advances */
  if (!L)
    setup();
  if (size < 2)
    return 0;
  int nf = data[1] % 8 + 1;
  if (size < 2 + (size_t)nf)
    return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, fn);
  lua_pushlstring(L, (const char *)data + 2 + nf, size - 2 - nf);
  lua_pushinteger(L, buffering[data[0] % 4]);
  lua_createtable(L, nf, 0);
  for (int i = 0; i < nf; i++) {
    uint8_t c = data[2 + i];
    switch (c % 20) {
    case 16:
      lua_pushliteral(L, "n");
      lossless = 0;
      break;
    case 17:
      lua_pushliteral(L, "l");
      lossless = 0;
      break;
    case 18:
      lua_pushliteral(L, "L");
      consumes = 1;
      break;
    case 19:
      lua_pushstring(L, c & 0x80 ? "*a" : "a");
      consumes = 1;
      break;
    default:
      lua_pushinteger(L, c % 20);
      consumes |= c % 20 > 0;
      break;
    }
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushboolean(L, lossless && consumes);
  if (lua_pcall(L, 4, 0, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_read: %s\n", luaL_tolstring(L, -1, NULL));
    abort();
  }
  lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}
