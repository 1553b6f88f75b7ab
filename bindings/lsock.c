/* bindings/lsock: luaopen_lsock, the module table and its constants.
 * The socket object lives in l_socket.c, errors in l_error.c, file objects
 * in l_file.c. */
#include "lsock.h"

#include <lauxlib.h>

#include "../core/clock.h"
#include "../core/consts.h"
#include "../core/err.h"
#include "l_create.h"
#include "l_error.h"
#include "l_file.h"
#include "l_help.h"
#include "l_msg.h"
#include "l_netdb.h"
#include "l_socket.h"
#include "l_select.h"
#include "l_task.h"
#include "l_trace.h"

/* socket.monotonic(): seconds from the clock deadlines use, for timing. */
static int f_monotonic(lua_State *L) {
  lua_pushnumber(L, (lua_Number)lsk_clock_now() / 1e9);
  return 1;
}

/* The socket constants come from core/consts, generated from the
 * platform's headers; the errno and EAI names from core/err. */
static void setconstants(lua_State *L) {
  for (int i = 0, n = lsk_const_count(); i < n; i++) {
    long long value;
    const char *name = lsk_const_entry(i, &value);
    lua_pushinteger(L, (lua_Integer)value);
    lua_setfield(L, -2, name);
  }
  /* Errno and EAI names; an alias never overwrites its canonical name's
   * entry, and both names are set. */
  for (int i = 0, n = lsk_err_count(); i < n; i++) {
    int value;
    const char *name = lsk_err_entry(i, &value);
    lua_pushinteger(L, value);
    lua_setfield(L, -2, name);
  }
}

LSOCK_API int luaopen_lsock(lua_State *L) {
  luaL_checkversion(L);
  /* Sized for the constants and the functions (a few dozen): filled
   * from empty, the table would be rehashed again and again on the way to
   * its 600-odd entries (about 2% of the interpreter's start). */
  lua_createtable(L, 0, lsk_const_count() + lsk_err_count() + 64);
  lsockL_openerror(L);
  lsockL_opensocket(L);
  lsockL_openfile(L);
  lsockL_opennetdb(L);
  lsockL_opentask(L);
  lsockL_openselect(L);
  lsockL_opentrace(L);
  lsockL_openmsg(L);
  lsockL_opencreate(L);
  lsockL_openhelp(L);
  setconstants(L);
  lua_pushcfunction(L, f_monotonic);
  lua_setfield(L, -2, "monotonic");
  lua_pushliteral(L, LSOCK_VERSION);
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
