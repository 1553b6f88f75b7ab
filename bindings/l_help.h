/* bindings/l_help: introspection for people at a prompt. The one table of
 * help text (socket.help, the README's API list is checked against it),
 * readable renderings of values for the REPL, and the names that tab
 * completion offers. No line editing here: the module links no library. */
#ifndef LSOCK_L_HELP_H
#define LSOCK_L_HELP_H

#include <lua.h>

/* Puts help into the module table at the top of the stack. help(x) prints
 * on stdout what the table says about x (the module, a function, a
 * method, a name such as "recv" or "s:recv") and returns nothing. */
void lsockL_openhelp(lua_State *L);

/* Pushes a one-line readable rendering of the value at idx and returns
 * it: strings quoted and escaped, tables shallowly with their first
 * fields, anything with __tostring (sockets, errors) through it. May
 * raise (a __tostring that fails): call it in protected mode. */
const char *lsockL_repr(lua_State *L, int idx);

/* A lua_CFunction: completions(text) returns an array, sorted, of the
 * words that complete text: a global, a field after "a.b.", a method
 * after "v:" (through the value's metatable, as socket methods are).
 * Reads tables raw and calls no metamethod. */
int lsockL_completions(lua_State *L);

#endif
