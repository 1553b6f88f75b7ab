/* bindings/l_state: new Lua states on the pool allocator (see l_state.h).
 * Lua's default allocator is realloc and free: for the strings, tables and
 * closures a script makes by the thousand, glibc's bookkeeping was a fifth
 * of the instructions of reading a line. */
#include "l_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/pool.h"

/* Only the state's thread calls the allocator, so the pool has no lock:
 * the loop's worker threads (core/loop.c) run name lookups on jobs made
 * with calloc, and free those with free, never Lua memory; the SIGINT
 * handler only sets a hook. */

/* Under ASan the state's blocks come from malloc, not the pool: ASan's
 * quarantine then catches a binding that uses a Lua string or userdata
 * after it was freed, which a pool reusing the block at once would hide.
 * The pool itself is checked under ASan, with its free blocks poisoned,
 * by core/tests/test_pool.c. */
static int usepool(void) {
  const char *v;
  if (LSK_POOL_ASAN)
    return 0;
  v = getenv("LSOCK_POOL");
  return v == NULL || strcmp(v, "0") != 0;
}

static void *plainalloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}

static int panic(lua_State *L) {
  const char *msg = lua_type(L, -1) == LUA_TSTRING
                        ? lua_tostring(L, -1)
                        : "error object is not a string";
  fprintf(stderr, "PANIC: unprotected error in call to Lua API (%s)\n", msg);
  fflush(stderr);
  return 0; /* Lua then aborts */
}

/* The warning state is which of the three functions is installed: off,
 * on at the start of a message, or on in the middle of one (its pieces
 * arrive with tocont set on all but the last). */
static void warn_off(void *ud, const char *msg, int tocont);
static void warn_on(void *ud, const char *msg, int tocont);

/* A control message ("@on", "@off"; others are ignored) is a whole
 * message of one piece starting with '@'. Returns 1 if msg was one. */
static int control(lua_State *L, const char *msg, int tocont) {
  if (tocont || msg[0] != '@')
    return 0;
  if (strcmp(msg, "@on") == 0)
    lua_setwarnf(L, warn_on, L);
  else if (strcmp(msg, "@off") == 0)
    lua_setwarnf(L, warn_off, L);
  return 1;
}

static void warn_off(void *ud, const char *msg, int tocont) {
  control((lua_State *)ud, msg, tocont);
}

static void warn_piece(void *ud, const char *msg, int tocont) {
  lua_State *L = (lua_State *)ud;
  fputs(msg, stderr);
  if (tocont) {
    lua_setwarnf(L, warn_piece, L);
    return;
  }
  fputc('\n', stderr);
  fflush(stderr);
  lua_setwarnf(L, warn_on, L);
}

static void warn_on(void *ud, const char *msg, int tocont) {
  if (control((lua_State *)ud, msg, tocont))
    return;
  fputs("Lua warning: ", stderr);
  warn_piece(ud, msg, tocont);
}

lua_State *lsockL_newstate(void) {
  lsk_pool *pool = NULL;
  lua_State *L;
  if (usepool() && lsk_pool_new(&pool) != 0)
    return NULL;
  L = pool ? lua_newstate(lsk_pool_realloc, pool)
           : lua_newstate(plainalloc, NULL);
  if (L == NULL) {
    /* Whatever lua_newstate took it gave back; the pool was not yet
     * freeing itself, so it is still here. */
    lsk_pool_free(pool);
    return NULL;
  }
  /* A host ends the state with lua_close alone: the pool goes with the
   * state's last block (its main block, the first it took). */
  if (pool)
    lsk_pool_autofree(pool);
  lua_atpanic(L, panic);
  lua_setwarnf(L, warn_off, L);
  return L;
}
