/* bindings/l_help: socket.help and its text, the REPL's value printer and
 * its completion candidates (see l_help.h). The entries below are the only
 * help text; spec/help_spec.lua checks them against the README's method
 * table and the module's functions, so keep the three in step. */
#include "l_help.h"

#include <ctype.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "l_error.h"
#include "l_file.h"
#include "l_select.h"
#include "l_socket.h"
#include "l_task.h"

/* What an entry describes: a module function, a socket method, a method of
 * a makefile object, of a task or of an epoll object, a module value. */
enum { K_FUNC, K_METHOD, K_FILE, K_TASK, K_EPOLL, K_VALUE };

typedef struct Entry {
  int kind;
  const char *group; /* heading in help(socket) */
  const char *name;
  const char *sig;
  const char *text;
} Entry;

static const char G_CREATE[] = "Creating sockets";
static const char G_NAMES[] = "Names and addresses";
static const char G_CONV[] = "Conversions";
static const char G_TIME[] = "Timeouts and time";
static const char G_TASKS[] = "Tasks and readiness";
static const char G_OTHER[] = "Other";

static const Entry entries[] = {
    /* ---- module functions ---- */
    {K_FUNC, G_CREATE, "socket", "socket.socket([family [, type [, proto]]])",
     "Makes a socket; defaults AF_INET, SOCK_STREAM, 0. It takes the module "
     "default timeout (socket.getdefaulttimeout()). help(\"s:\") lists its "
     "methods."},
    {K_FUNC, G_CREATE, "socketpair",
     "socket.socketpair([family [, type [, proto]]])",
     "Returns two connected sockets, AF_UNIX and SOCK_STREAM by default: the "
     "quickest way to get a peer to talk to."},
    {K_FUNC, G_CREATE, "fromfd", "socket.fromfd(fd, family, type [, proto])",
     "Returns a socket on a duplicate of descriptor fd, which stays the "
     "caller's to close."},
    {K_FUNC, G_CREATE, "create_connection",
     "socket.create_connection(host, port [, timeout [, src_host, src_port]])",
     "Resolves host and connects to each address in turn until one answers; "
     "returns the connected socket. The third argument may be an options "
     "table: timeout, source_host, source_port, happy_eyeballs_delay."},
    {K_FUNC, G_CREATE, "create_server",
     "socket.create_server(host, port [, opts])",
     "Returns a socket bound to host, port and listening; opts: family, "
     "backlog, reuse_port, dualstack_ipv6."},
    {K_FUNC, G_CREATE, "close", "socket.close(fd)",
     "Closes a bare descriptor, such as one that recvmsg or recv_fds handed "
     "over."},
    {K_FUNC, G_CREATE, "send_fds",
     "socket.send_fds(sock, buffers, fds [, flags [, addr...]])",
     "Sends the strings in buffers and the descriptors in fds over an AF_UNIX "
     "socket (sendmsg with one SCM_RIGHTS item); returns the bytes sent."},
    {K_FUNC, G_CREATE, "recv_fds",
     "socket.recv_fds(sock, bufsize, maxfds [, flags])",
     "Receives data and at most maxfds descriptors; returns data, fds, "
     "msg_flags, addr... The descriptors are the caller's to close."},
    {K_FUNC, G_CREATE, "has_dualstack_ipv6", "socket.has_dualstack_ipv6()",
     "Returns true when an AF_INET6 socket can also take IPv4 connections "
     "(create_server's dualstack_ipv6)."},
    {K_FUNC, G_NAMES, "getaddrinfo",
     "socket.getaddrinfo(host, port [, family [, type [, proto [, flags]]]])",
     "Resolves host and port; returns an array of {family=, type=, proto=, "
     "canonname=, addr={...}}, addr holding the address values as the socket "
     "methods take them. Raises a gaierror when the name is unknown."},
    {K_FUNC, G_NAMES, "getnameinfo", "socket.getnameinfo(flags, addr...)",
     "Returns host, service for a numeric address (NI_* flags)."},
    {K_FUNC, G_NAMES, "gethostname", "socket.gethostname()",
     "Returns this machine's host name."},
    {K_FUNC, G_NAMES, "gethostbyname", "socket.gethostbyname(name)",
     "Returns an IPv4 address of name, as text."},
    {K_FUNC, G_NAMES, "gethostbyname_ex", "socket.gethostbyname_ex(name)",
     "Returns name, aliases, addresses (the last two arrays) for a host name; "
     "raises an herror when there is none."},
    {K_FUNC, G_NAMES, "gethostbyaddr", "socket.gethostbyaddr(ip)",
     "Returns name, aliases, addresses (the last two arrays) for an address; "
     "raises an herror when there is none."},
    {K_FUNC, G_NAMES, "getservbyname", "socket.getservbyname(name [, proto])",
     "Returns the port number of a service name such as \"http\"."},
    {K_FUNC, G_NAMES, "getservbyport", "socket.getservbyport(port [, proto])",
     "Returns the service name of a port number."},
    {K_FUNC, G_NAMES, "getprotobyname", "socket.getprotobyname(name)",
     "Returns the number of a protocol name such as \"tcp\"."},
    {K_FUNC, G_CONV, "inet_aton", "socket.inet_aton(text)",
     "Returns a dotted IPv4 address packed in 4 bytes; EINVAL for no address."},
    {K_FUNC, G_CONV, "inet_ntoa", "socket.inet_ntoa(packed)",
     "Returns the dotted text of a 4-byte packed IPv4 address."},
    {K_FUNC, G_CONV, "inet_pton", "socket.inet_pton(family, text)",
     "Returns an AF_INET or AF_INET6 address packed in 4 or 16 bytes."},
    {K_FUNC, G_CONV, "inet_ntop", "socket.inet_ntop(family, packed)",
     "Returns the text of a 4- or 16-byte packed address."},
    {K_FUNC, G_CONV, "htons", "socket.htons(n)",
     "Returns a 16-bit integer in network byte order (0-65535)."},
    {K_FUNC, G_CONV, "ntohs", "socket.ntohs(n)",
     "Returns a 16-bit integer in host byte order (0-65535)."},
    {K_FUNC, G_CONV, "htonl", "socket.htonl(n)",
     "Returns a 32-bit integer in network byte order (0-4294967295)."},
    {K_FUNC, G_CONV, "ntohl", "socket.ntohl(n)",
     "Returns a 32-bit integer in host byte order (0-4294967295)."},
    {K_FUNC, G_CONV, "CMSG_LEN", "socket.CMSG_LEN(n)",
     "Returns the length of an ancillary item holding n bytes of data, "
     "without trailing padding (as Python's)."},
    {K_FUNC, G_CONV, "CMSG_SPACE", "socket.CMSG_SPACE(n)",
     "Returns the ancillary buffer size an item of n bytes of data needs, "
     "padding included: for recvmsg's ancbufsize."},
    {K_FUNC, G_CONV, "mreq", "socket.mreq(group [, interface])",
     "Returns the value for IP_ADD_MEMBERSHIP and IP_DROP_MEMBERSHIP: the "
     "group and an interface address (default any) or index."},
    {K_FUNC, G_CONV, "mreq6", "socket.mreq6(group [, ifindex])",
     "Returns the value for IPV6_JOIN_GROUP and IPV6_LEAVE_GROUP; ifindex 0 "
     "(the default) lets the kernel choose."},
    {K_FUNC, G_TIME, "getdefaulttimeout", "socket.getdefaulttimeout()",
     "Returns the timeout new sockets take: nil (blocking) or seconds."},
    {K_FUNC, G_TIME, "setdefaulttimeout", "socket.setdefaulttimeout(t)",
     "Sets the timeout new sockets take: nil blocking, 0 non-blocking, t > 0 "
     "seconds. Sockets that exist keep theirs."},
    {K_FUNC, G_TIME, "monotonic", "socket.monotonic()",
     "Returns seconds, as a float, from a monotonic clock: for timing."},
    {K_FUNC, G_TASKS, "select",
     "socket.select(rlist, wlist, xlist [, timeout])",
     "Like Python's select.select: waits until some of the sockets, file "
     "objects or descriptors in the lists are ready or timeout seconds pass; "
     "returns three arrays of the ready ones. Suspends only the calling task."},
    {K_FUNC, G_TASKS, "epoll", "socket.epoll([sizehint [, flags]])",
     "Like Python's select.epoll: an epoll object (ep:register, ep:modify, "
     "ep:unregister, ep:poll, ep:close, ep:fileno, ep.closed) for servers "
     "that track many sockets without a task each."},
    {K_FUNC, G_TASKS, "spawn", "socket.spawn(fn, ...)",
     "Returns a task that will run fn(...) when the loop runs: any socket call "
     "in it that would block suspends only that task. At the REPL the loop "
     "turns while the prompt waits, so a server task answers the next line."},
    {K_FUNC, G_TASKS, "run", "socket.run()",
     "Runs the loop until no task is left; raises the error of a task that "
     "failed with nobody joining it. The interpreter calls it after a script."},
    {K_FUNC, G_TASKS, "sleep", "socket.sleep(seconds)",
     "Suspends the task, or outside tasks waits while the loop runs them."},
    {K_FUNC, G_TASKS, "current_task", "socket.current_task()",
     "Returns the task running now, or nil in the main code."},
    {K_FUNC, G_OTHER, "trace", "socket.trace(false | true | \"hex\")",
     "Prints each socket operation on stderr: the socket, the call, its "
     "arguments, its result or error, bytes and time; \"hex\" adds a hex dump "
     "of the data."},
    {K_FUNC, G_OTHER, "help", "help([x])",
     "Prints help: on the module (help(socket)) its functions and constants by "
     "group; on a function, a method or a name (help(s.recv), help(\"recv\")) "
     "its signature and what it does."},
    {K_VALUE, G_OTHER, "has_ipv6", "socket.has_ipv6",
     "true when an AF_INET6 socket can be made."},
    {K_VALUE, G_OTHER, "error", "socket.error",
     "The metatable of error objects: e.kind (\"error\", \"timeout\", "
     "\"gaierror\", \"herror\", \"policy\"), e.errno, e.name, e.message, e.op "
     "and tostring(e), one line such as "
     "\"connect 127.0.0.1:1: [ECONNREFUSED] Connection refused\"."},

    /* ---- socket methods ---- */
    {K_METHOD, NULL, "bind", "s:bind(addr...)",
     "Binds the socket to a local address: host, port for AF_INET (port 0 "
     "picks a free one; read it back with getsockname), a path for AF_UNIX. "
     "Returns nothing."},
    {K_METHOD, NULL, "listen", "s:listen([backlog])",
     "Makes a bound stream socket accept connections; the backlog defaults "
     "to min(SOMAXCONN, 128). Returns nothing."},
    {K_METHOD, NULL, "accept", "s:accept()",
     "Waits for a connection on a listening socket; returns conn, addr...: a "
     "new socket (with the default timeout) and the peer's address."},
    {K_METHOD, NULL, "connect", "s:connect(addr...)",
     "Connects to a remote address, resolving a host name first; returns "
     "nothing and raises on failure (ECONNREFUSED, a timeout...)."},
    {K_METHOD, NULL, "connect_ex", "s:connect_ex(addr...)",
     "Like connect but returns 0 or an errno integer (EINPROGRESS on a "
     "non-blocking socket) instead of raising; name-resolution failures still "
     "raise."},
    {K_METHOD, NULL, "recv", "s:recv(bufsize [, flags])",
     "Receives at most bufsize bytes and returns them as a string; \"\" means "
     "the peer closed its end (orderly end of stream). Blocks until data "
     "comes or the socket's timeout passes."},
    {K_METHOD, NULL, "recvfrom", "s:recvfrom(bufsize [, flags])",
     "Receives at most bufsize bytes; returns data, addr...: the bytes and "
     "the sender's address (datagram sockets)."},
    {K_METHOD, NULL, "send", "s:send(data [, flags])",
     "Sends data and returns the number of bytes sent, which may be fewer "
     "than #data; sendall sends everything."},
    {K_METHOD, NULL, "sendall", "s:sendall(data [, flags])",
     "Sends every byte of data, waiting as needed; returns nothing, or raises "
     "(the timeout counts over the whole call)."},
    {K_METHOD, NULL, "sendto", "s:sendto(data, [flags,] addr...)",
     "Sends a datagram to addr; returns the number of bytes sent."},
    {K_METHOD, NULL, "sendmsg",
     "s:sendmsg(buffers [, ancdata [, flags [, addr...]]])",
     "Sends the strings in the array buffers as one message, with ancillary "
     "data (an array of {level, type, data}); returns the bytes sent."},
    {K_METHOD, NULL, "recvmsg", "s:recvmsg(bufsize [, ancbufsize [, flags]])",
     "Receives one message; returns data, ancdata, msg_flags, addr..., "
     "ancdata an array of {level, type, data}. Descriptors received are the "
     "caller's."},
    {K_METHOD, NULL, "sendfile", "s:sendfile(file [, offset [, count]])",
     "Sends the contents of a Lua io file (from offset, count bytes or to the "
     "end) with sendfile(2); returns the bytes sent."},
    {K_METHOD, NULL, "shutdown", "s:shutdown(how)",
     "Shuts down one or both directions: SHUT_RD, SHUT_WR or SHUT_RDWR. "
     "Returns nothing; the descriptor stays open."},
    {K_METHOD, NULL, "close", "s:close()",
     "Closes the socket (its descriptor closes once no makefile object holds "
     "it); closing twice is fine. Returns nothing."},
    {K_METHOD, NULL, "getsockname", "s:getsockname()",
     "Returns the socket's own address, e.g. host, port."},
    {K_METHOD, NULL, "getpeername", "s:getpeername()",
     "Returns the address of the connected peer; ENOTCONN when there is none."},
    {K_METHOD, NULL, "setsockopt", "s:setsockopt(level, optname, value)",
     "Sets an option (SOL_SOCKET, SO_REUSEADDR, ...); value is an integer, a "
     "boolean or a string of raw bytes. Returns nothing."},
    {K_METHOD, NULL, "getsockopt", "s:getsockopt(level, optname [, buflen])",
     "Returns an option's value as an integer, or with buflen as a string of "
     "at most buflen (1-1024) raw bytes."},
    {K_METHOD, NULL, "settimeout", "s:settimeout(t)",
     "Sets the timeout of blocking operations: nil blocks, 0 makes the socket "
     "non-blocking, t > 0 raises a timeout error after t seconds."},
    {K_METHOD, NULL, "gettimeout", "s:gettimeout()",
     "Returns the timeout in seconds, or nil when the socket blocks."},
    {K_METHOD, NULL, "setblocking", "s:setblocking(flag)",
     "setblocking(true) is settimeout(nil), setblocking(false) (or 0) is "
     "settimeout(0). Returns nothing."},
    {K_METHOD, NULL, "getblocking", "s:getblocking()",
     "Returns true unless the timeout is 0."},
    {K_METHOD, NULL, "fileno", "s:fileno()",
     "Returns the descriptor, or -1 once closed."},
    {K_METHOD, NULL, "dup", "s:dup()",
     "Returns a new socket on a new descriptor for the same socket, with the "
     "same timeout."},
    {K_METHOD, NULL, "detach", "s:detach()",
     "Returns the descriptor and leaves the object closed without closing "
     "it: the caller owns the descriptor now."},
    {K_METHOD, NULL, "makefile", "s:makefile([mode [, buffering]])",
     "Returns a file object with io's methods (read, write, lines, flush, "
     "close, setvbuf) over the socket; mode \"r\", \"w\", \"rw\" or \"r+\", "
     "buffering as Python's (0 none, 1 line, n bytes)."},

    /* ---- makefile objects and tasks ---- */
    {K_FILE, NULL, "read", "f:read(...)",
     "Reads with io's formats (\"l\", \"L\", \"a\", \"n\", a byte count); "
     "returns nil at end of stream."},
    {K_FILE, NULL, "write", "f:write(...)",
     "Writes strings and numbers; returns the file."},
    {K_FILE, NULL, "lines", "f:lines(...)",
     "Returns an iterator reading with the given formats (default \"l\")."},
    {K_FILE, NULL, "flush", "f:flush()",
     "Sends what is buffered; returns the file."},
    {K_FILE, NULL, "close", "f:close()",
     "Closes the file object; the descriptor closes with its last holder. "
     "Returns true."},
    {K_FILE, NULL, "setvbuf", "f:setvbuf(mode [, size])",
     "Sets buffering: \"no\", \"line\" or \"full\"."},
    {K_FILE, NULL, "seek", "f:seek(...)",
     "Raises an error: a socket cannot seek."},
    {K_TASK, NULL, "join", "task:join([timeout])",
     "Waits for the task; returns its results or raises its error."},
    {K_TASK, NULL, "status", "task:status()",
     "Returns the task's state as a string."},
    {K_EPOLL, NULL, "register", "ep:register(fd [, eventmask])",
     "Watches fd (a socket, file object or descriptor) for eventmask, "
     "EPOLLIN | EPOLLPRI | EPOLLOUT by default."},
    {K_EPOLL, NULL, "modify", "ep:modify(fd, eventmask)",
     "Changes the events watched for a registered fd."},
    {K_EPOLL, NULL, "unregister", "ep:unregister(fd)", "Stops watching fd."},
    {K_EPOLL, NULL, "poll", "ep:poll([timeout [, maxevents]])",
     "Waits up to timeout seconds (nil or negative: no limit) and returns an "
     "array of {fd, events} pairs, empty if the time ran out. Suspends only "
     "the calling task."},
    {K_EPOLL, NULL, "close", "ep:close()",
     "Closes the epoll descriptor; closing twice is fine."},
    {K_EPOLL, NULL, "fileno", "ep:fileno()",
     "Returns the epoll descriptor, -1 once closed."},
};

#define NENTRIES (sizeof entries / sizeof entries[0])

/* ---- finding an entry ---- */

static const Entry *byname(int kind, const char *name) {
  for (size_t i = 0; i < NENTRIES; i++)
    if ((kind < 0 || entries[i].kind == kind) &&
        strcmp(entries[i].name, name) == 0)
      return &entries[i];
  return NULL;
}

/* "recv", "s:recv", "s.recv", "socket.spawn", "f:read", "task:join". */
static const Entry *bytext(const char *t) {
  static const struct {
    const char *prefix;
    int kind;
  } pre[] = {{"socket.", K_FUNC}, {"lsock.", K_FUNC}, {"s:", K_METHOD},
             {"s.", K_METHOD},    {"f:", K_FILE},     {"task:", K_TASK},
             {"ep:", K_EPOLL}};
  for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
    size_t n = strlen(pre[i].prefix);
    if (strncmp(t, pre[i].prefix, n) == 0) {
      const Entry *e = byname(pre[i].kind, t + n);
      if (e == NULL && pre[i].kind == K_FUNC)
        e = byname(K_VALUE, t + n);
      return e;
    }
  }
  /* A bare name: socket methods first, as help("close") most likely means
   * the socket's. */
  const Entry *e = byname(K_METHOD, t);
  return e ? e : byname(-1, t);
}

/* Pushes the table of methods behind a metatable's __index: the table
 * itself, or the first upvalue of a C function (the socket's mm_index).
 * Pushes nil when there is none. */
static void pushmethods(lua_State *L, const char *tname) {
  luaL_getmetatable(L, tname);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return;
  }
  lua_getfield(L, -1, "__index"); /* mt, index */
  lua_remove(L, -2);
  if (lua_iscfunction(L, -1)) {
    if (lua_getupvalue(L, -1, 1) == NULL)
      lua_pushnil(L);
    lua_remove(L, -2);
  }
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_pushnil(L);
  }
}

/* The module table, as require left it. */
static void pushmodule(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "lsock");
  lua_remove(L, -2);
}

/* The name under which table t (a stack index) holds value v, or NULL. */
static const char *keyof(lua_State *L, int t, int v) {
  const char *found = NULL;
  if (!lua_istable(L, t))
    return NULL;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_rawequal(L, -1, v)) {
      found = lua_tostring(L, -2); /* anchored by t */
      lua_pop(L, 2);
      break;
    }
    lua_pop(L, 1);
  }
  return found;
}

/* The entry for a function value: a module function, or a method of a
 * socket, a makefile object or a task. */
static const Entry *byfunction(lua_State *L, int v) {
  static const struct {
    const char *tname;
    int kind;
  } holders[] = {{LSOCK_SOCKET, K_METHOD},
                 {LSOCK_FILE, K_FILE},
                 {LSOCK_TASK, K_TASK},
                 {LSOCK_EPOLL, K_EPOLL}};
  const Entry *e = NULL;
  const char *k;
  pushmodule(L);
  if ((k = keyof(L, lua_gettop(L), v)) != NULL)
    e = byname(K_FUNC, k);
  lua_pop(L, 1);
  for (size_t i = 0; e == NULL && i < sizeof holders / sizeof holders[0]; i++) {
    pushmethods(L, holders[i].tname);
    if ((k = keyof(L, lua_gettop(L), v)) != NULL)
      e = byname(holders[i].kind, k);
    lua_pop(L, 1);
  }
  return e;
}

/* ---- printing ---- */

static void out(const char *s) {
  fputs(s, stdout);
}

/* Prints s from column `col` wrapped at 76 columns, continuation lines
 * indented by `indent`. */
static void wrap(const char *s, int col, int indent) {
  while (*s) {
    size_t w = strcspn(s, " ");
    if (col > indent && col + 1 + (int)w > 76) {
      printf("\n%*s", indent, "");
      col = indent;
    } else if (col > indent) {
      out(" ");
      col++;
    }
    fwrite(s, 1, w, stdout);
    col += (int)w;
    s += w;
    while (*s == ' ')
      s++;
  }
  out("\n");
}

static void showentry(const Entry *e) {
  printf("%s\n", e->sig);
  out("  ");
  wrap(e->text, 2, 2);
}

/* The constants' group of a name: "AF_" for AF_INET, "EPOLL" for epoll's,
 * "E" for the errno names; NULL for a name that is not all capitals. */
static size_t constprefix(const char *k) {
  const char *u = strncmp(k, "EPOLL", 5) == 0 ? k + 4 : strchr(k, '_');
  for (const char *p = k; *p; p++)
    if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
      return 0;
  if (u != NULL && u != k)
    return (size_t)(u - k) + 1;
  return k[0] == 'E' ? 1 : strlen(k);
}

static int cmpstr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* By group, then by name: the errno names stay together around EAI_*. */
static int cmpconst(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  size_t px = constprefix(x), py = constprefix(y);
  int c = strncmp(x, y, px < py ? px : py);
  if (c == 0 && px != py)
    return px < py ? -1 : 1;
  return c != 0 ? c : strcmp(x, y);
}

/* Lists the constants of the module at index m, one group per paragraph
 * ("AF_*: AF_INET AF_INET6 ..."). The names are anchored by the module. */
static void showconstants(lua_State *L, int m) {
  size_t n = 0, cap = 64;
  const char **names = malloc(cap * sizeof *names);
  if (names == NULL)
    luaL_error(L, "not enough memory");
  lua_pushnil(L);
  while (lua_next(L, m)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    if (k && lua_type(L, -1) == LUA_TNUMBER && constprefix(k) > 0) {
      if (n == cap) {
        const char **more = realloc(names, 2 * cap * sizeof *names);
        if (more == NULL)
          break; /* list what fitted */
        names = more;
        cap *= 2;
      }
      names[n++] = k;
    }
    lua_pop(L, 1);
  }
  qsort(names, n, sizeof *names, cmpconst);
  out("\nConstants (socket.NAME; help(\"AF_\") lists a group with values):\n");
  for (size_t i = 0; i < n;) {
    size_t plen = constprefix(names[i]), j = i;
    luaL_Buffer b;
    while (j < n && constprefix(names[j]) == plen &&
           strncmp(names[j], names[i], plen) == 0)
      j++;
    luaL_buffinit(L, &b);
    for (size_t x = i; x < j; x++) {
      luaL_addstring(&b, names[x]);
      luaL_addchar(&b, ' ');
    }
    luaL_pushresult(&b);
    if (j - i == 1 && plen == strlen(names[i]))
      printf("  %s:", names[i]);
    else
      printf("  %.*s*:", (int)plen, names[i]);
    wrap(lua_tostring(L, -1), 80, 4); /* always starts a new line */
    lua_pop(L, 1);
    i = j;
  }
  free(names);
}

/* help(socket): each group with its functions and one line about each. */
static void showmodule(lua_State *L) {
  static const char *const groups[] = {G_CREATE, G_NAMES, G_CONV,
                                       G_TIME,   G_TASKS, G_OTHER};
  int m;
  pushmodule(L);
  m = lua_gettop(L);
  out("lsock: sockets as in Python's socket module. help(x) on a function, "
      "a method\n(s.recv) or a name (\"recv\") says more.\n");
  for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
    printf("\n%s:\n", groups[g]);
    for (size_t i = 0; i < NENTRIES; i++) {
      const Entry *e = &entries[i];
      if (e->group != groups[g])
        continue;
      /* Entries ahead of their implementation stay out of the list. */
      int present = lua_getfield(L, m, e->name) != LUA_TNIL;
      lua_pop(L, 1);
      if (present || e->kind != K_FUNC || strcmp(e->name, "help") == 0)
        printf("  %s\n", e->sig);
    }
  }
  out("\nSocket methods (s = socket.socket()):\n  ");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (size_t i = 0; i < NENTRIES; i++)
    if (entries[i].kind == K_METHOD) {
      luaL_addstring(&b, "s:");
      luaL_addstring(&b, entries[i].name);
      luaL_addchar(&b, ' ');
    }
  luaL_pushresult(&b);
  wrap(lua_tostring(L, -1), 2, 2);
  lua_pop(L, 1);
  if (lua_istable(L, m))
    showconstants(L, m);
  lua_pop(L, 1);
}

/* help("AF_") or help("AF_INET"): the constants with that prefix. */
static int showconstgroup(lua_State *L, const char *prefix) {
  int found = 0;
  pushmodule(L);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pushnil(L);
  lua_newtable(L); /* module, nil-key, lines */
  lua_insert(L, -2);
  while (lua_next(L, -3)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    if (k && lua_isinteger(L, -1) && constprefix(k) > 0 &&
        strncmp(k, prefix, strlen(prefix)) == 0) {
      lua_pushfstring(L, "socket.%s = %I", k,
                      (LUAI_UACINT)lua_tointeger(L, -1));
      lua_rawseti(L, -4, ++found);
    }
    lua_pop(L, 1);
  }
  /* Sorted by name through C, not table.sort, which a script may replace. */
  const char **lines = found ? malloc((size_t)found * sizeof *lines) : NULL;
  for (int i = 0; lines && i < found; i++) {
    lua_rawgeti(L, -1, i + 1);
    lines[i] = lua_tostring(L, -1);
    lua_pop(L, 1); /* still anchored by the lines table */
  }
  if (lines)
    qsort(lines, (size_t)found, sizeof *lines, cmpstr);
  for (int i = 0; lines && i < found; i++)
    printf("%s\n", lines[i]);
  free(lines);
  lua_pop(L, 2);
  return found;
}

static int f_help(lua_State *L) {
  const Entry *e = NULL;
  int t = lua_type(L, 1);
  pushmodule(L);
  int ismodule = lua_gettop(L) >= 2 && lua_rawequal(L, 1, -1);
  lua_pop(L, 1);
  if (t == LUA_TNONE || t == LUA_TNIL || ismodule) {
    showmodule(L);
  } else if (t == LUA_TSTRING) {
    const char *name = lua_tostring(L, 1);
    if (strcmp(name, "s:") == 0 || strcmp(name, "socket") == 0 ||
        strcmp(name, "lsock") == 0) {
      showmodule(L);
    } else if ((e = bytext(name)) != NULL) {
      showentry(e);
    } else if (!showconstgroup(L, strncmp(name, "socket.", 7) == 0 ? name + 7
                                                                   : name)) {
      printf("no help for '%s'; help(socket) lists what there is\n", name);
    }
  } else if (t == LUA_TFUNCTION) {
    if ((e = byfunction(L, 1)) != NULL)
      showentry(e);
    else
      out("no help for this function (it is not lsock's)\n");
  } else if (lsockL_testsock(L, 1)) {
    printf("%s\n", luaL_tolstring(L, 1, NULL));
    out("A socket. Its methods (help(\"s:NAME\") for one):\n  ");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < NENTRIES; i++)
      if (entries[i].kind == K_METHOD) {
        luaL_addstring(&b, entries[i].name);
        luaL_addchar(&b, ' ');
      }
    luaL_pushresult(&b);
    wrap(lua_tostring(L, -1), 2, 2);
  } else {
    luaL_getmetatable(L, LSOCK_ERROR);
    int iserr = lua_getmetatable(L, 1) && lua_rawequal(L, -1, -2);
    if (iserr)
      showentry(byname(K_VALUE, "error"));
    else
      printf("no help for a %s value\n", luaL_typename(L, 1));
  }
  fflush(stdout);
  return 0;
}

void lsockL_openhelp(lua_State *L) {
  lua_pushcfunction(L, f_help);
  lua_setfield(L, -2, "help");
}

/* ---- the REPL's printer ---- */

#define MAXITEMS 12  /* fields shown of a table before "..." */
#define MAXNESTED 40 /* bytes shown of a string inside a table */

static void addquoted(luaL_Buffer *b, const char *s, size_t len, size_t max) {
  size_t n = len > max ? max : len;
  luaL_addchar(b, '"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[8];
    switch (c) {
    case '"': luaL_addstring(b, "\\\""); break;
    case '\\': luaL_addstring(b, "\\\\"); break;
    case '\n': luaL_addstring(b, "\\n"); break;
    case '\r': luaL_addstring(b, "\\r"); break;
    case '\t': luaL_addstring(b, "\\t"); break;
    default:
      /* Bytes as \xHH (valid Lua), so a binary recv reads unambiguously;
       * UTF-8 text shows as bytes too, as Python shows bytes. */
      if (c < 32 || c >= 127) {
        snprintf(esc, sizeof esc, "\\x%02X", c);
        luaL_addstring(b, esc);
      } else {
        luaL_addchar(b, (char)c);
      }
    }
  }
  luaL_addchar(b, '"');
  if (n < len)
    luaL_addstring(b, "...");
}

static int isident(const char *s) {
  static const char *const reserved[] = {
      "and",      "break",  "do",   "else", "elseif", "end",  "false", "for",
      "function", "goto",   "if",   "in",   "local",  "nil",  "not",   "or",
      "repeat",   "return", "then", "true", "until",  "while"};
  if (!isalpha((unsigned char)*s) && *s != '_')
    return 0;
  for (const char *p = s; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '_')
      return 0;
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcmp(s, reserved[i]) == 0)
      return 0;
  return 1;
}

/* The name of a module table (package.loaded[name] == value at idx). */
static const char *modulename(lua_State *L, int idx) {
  const char *name;
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  name = keyof(L, lua_gettop(L), idx);
  lua_pop(L, 1); /* names are strings interned in the loaded table, which
                  * keeps them as long as the module stays loaded */
  return name;
}

/* Adds a value inside a table: scalars and anything with __tostring in
 * full, strings cut, tables and functions as their type. */
static void addnested(lua_State *L, luaL_Buffer *b, int idx) {
  size_t len;
  const char *s;
  switch (lua_type(L, idx)) {
  case LUA_TSTRING:
    s = lua_tolstring(L, idx, &len);
    addquoted(b, s, len, MAXNESTED);
    return;
  case LUA_TTABLE:
    if (!luaL_getmetafield(L, idx, "__tostring")) {
      luaL_addstring(b, "{...}");
      return;
    }
    lua_pop(L, 1);
    break;
  case LUA_TFUNCTION: luaL_addstring(b, "<function>"); return;
  default: break;
  }
  luaL_tolstring(L, idx, NULL); /* the buffer's box may sit above */
  luaL_addvalue(b);
}

/* {1, 2, family=2, type=1, ...}: the array part first, then string keys
 * in order, then any others; MAXITEMS in all. */
static void addtable(lua_State *L, luaL_Buffer *b, int t) {
  int shown = 0, more = 0;
  lua_Integer n = 0;
  size_t nkeys = 0;
  const char **keys;
  luaL_addchar(b, '{');
  while (shown < MAXITEMS) {
    if (lua_rawgeti(L, t, n + 1) == LUA_TNIL) {
      lua_pop(L, 1);
      break;
    }
    n++;
    if (shown++)
      luaL_addstring(b, ", ");
    addnested(L, b, lua_gettop(L));
    lua_pop(L, 1);
  }
  /* String keys, sorted; they stay anchored by t, which nothing modifies
   * while the printer runs. */
  keys = (const char **)lua_newuserdatauv(L, MAXITEMS * 64 * sizeof *keys, 0);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 &&
        lua_tointeger(L, -1) <= n)
      continue;
    if (lua_type(L, -1) == LUA_TSTRING && nkeys < MAXITEMS * 64)
      keys[nkeys++] = lua_tostring(L, -1);
    else
      more++;
  }
  qsort(keys, nkeys, sizeof *keys, cmpstr);
  for (size_t i = 0; i < nkeys; i++) {
    if (shown >= MAXITEMS) {
      more += (int)(nkeys - i);
      break;
    }
    if (shown++)
      luaL_addstring(b, ", ");
    if (isident(keys[i])) {
      luaL_addstring(b, keys[i]);
    } else {
      luaL_addchar(b, '[');
      addquoted(b, keys[i], strlen(keys[i]), MAXNESTED);
      luaL_addchar(b, ']');
    }
    luaL_addchar(b, '=');
    lua_pushstring(L, keys[i]);
    lua_rawget(L, t);
    addnested(L, b, lua_gettop(L));
    lua_pop(L, 1);
  }
  lua_pop(L, 1); /* keys */
  if (lua_rawgeti(L, t, n + 1) != LUA_TNIL && n >= MAXITEMS)
    more++; /* a longer array than shown */
  lua_pop(L, 1);
  if (more > 0)
    luaL_addstring(b, shown ? ", ..." : "...");
  luaL_addchar(b, '}');
}

const char *lsockL_repr(lua_State *L, int idx) {
  luaL_Buffer b;
  size_t len;
  const char *s;
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
  case LUA_TSTRING:
    s = lua_tolstring(L, idx, &len);
    luaL_buffinit(L, &b);
    addquoted(&b, s, len, len);
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
  case LUA_TTABLE:
    if (luaL_getmetafield(L, idx, "__tostring") != LUA_TNIL) {
      lua_pop(L, 1);
      break;
    }
    if ((s = modulename(L, idx)) != NULL)
      return lua_pushfstring(L, "<module \"%s\">", s);
    luaL_checkstack(L, 8, "too deep");
    luaL_buffinit(L, &b);
    addtable(L, &b, idx);
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
  default: break;
  }
  return luaL_tolstring(L, idx, NULL);
}

/* ---- completion ---- */

static const char *const keywords[] = {
    "and",      "break",  "do",   "else", "elseif", "end",  "false", "for",
    "function", "goto",   "if",   "in",   "local",  "nil",  "not",   "or",
    "repeat",   "return", "then", "true", "until",  "while"};

/* Pushes the table where the value at idx keeps its methods: the value
 * itself for a table, else its metatable's __index, a table or (sockets)
 * the first upvalue of a C function. Pushes nil when there is none. */
static void pushfields(lua_State *L, int idx) {
  if (lua_istable(L, idx)) {
    lua_pushvalue(L, idx);
    return;
  }
  if (!lua_getmetatable(L, idx)) {
    lua_pushnil(L);
    return;
  }
  lua_pushliteral(L, "__index");
  lua_rawget(L, -2); /* mt, index */
  lua_remove(L, -2);
  if (lua_iscfunction(L, -1)) {
    if (lua_getupvalue(L, -1, 1) == NULL)
      lua_pushnil(L);
    lua_remove(L, -2);
  }
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_pushnil(L);
  }
}

/* Adds to the set at `set` every key of the table at t (and of the tables
 * its metatables' __index chain holds) that starts with part and, when
 * onlyfn, holds a function. */
static void collect(lua_State *L, int set, int t, const char *part,
                    const char *head, int onlyfn) {
  size_t plen = strlen(part);
  for (int depth = 0; depth < 8 && lua_istable(L, t); depth++) {
    lua_pushnil(L);
    while (lua_next(L, t)) {
      if (lua_type(L, -2) == LUA_TSTRING &&
          (!onlyfn || lua_isfunction(L, -1))) {
        const char *k = lua_tostring(L, -2);
        if (strncmp(k, part, plen) == 0 && isident(k) &&
            (k[0] != '_' || part[0] == '_')) {
          lua_pushfstring(L, "%s%s", head, k);
          lua_pushboolean(L, 1);
          lua_rawset(L, set);
        }
      }
      lua_pop(L, 1);
    }
    /* Follow __index when it is a plain table (class-like objects). */
    if (!lua_getmetatable(L, t))
      break;
    lua_pushliteral(L, "__index");
    lua_rawget(L, -2);
    lua_remove(L, -2);
    if (!lua_istable(L, -1) || lua_rawequal(L, -1, t)) {
      lua_pop(L, 1);
      break;
    }
    lua_replace(L, t);
  }
}

int lsockL_completions(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  const char *sep = NULL, *p;
  int set, n = 0;
  for (p = text; *p; p++)
    if (*p == '.' || *p == ':')
      sep = p;
  lua_settop(L, 1);
  lua_newtable(L); /* text, set */
  set = 2;
  if (sep == NULL) {
    lua_pushglobaltable(L);
    collect(L, set, 3, text, "", 0);
    lua_pop(L, 1);
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
      if (strncmp(keywords[i], text, len) == 0) {
        lua_pushstring(L, keywords[i]);
        lua_pushboolean(L, 1);
        lua_rawset(L, set);
      }
  } else {
    /* Walks a.b.c from the globals, raw, so completing runs no code. */
    lua_pushglobaltable(L); /* text, set, value */
    for (p = text; p < sep;) {
      size_t w = strcspn(p, ".:");
      if (w == 0 || p + w > sep || (p + w < sep && p[w] == ':'))
        return lua_newtable(L), 1; /* "a..b", "a:b.c" */
      pushfields(L, 3);            /* text, set, value, fields */
      if (lua_isnil(L, -1))
        return lua_newtable(L), 1;
      lua_pushlstring(L, p, w);
      lua_rawget(L, -2);
      lua_replace(L, 3);
      lua_pop(L, 1);
      p += w + 1;
    }
    pushfields(L, 3); /* text, set, value, fields */
    lua_pushlstring(L, text, (size_t)(sep - text) + 1);
    collect(L, set, 4, sep + 1, lua_tostring(L, -1), *sep == ':');
    lua_settop(L, 2);
  }
  /* The set as a sorted array. */
  lua_newtable(L); /* text, set, array */
  lua_pushnil(L);
  while (lua_next(L, set)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, ++n);
  }
  {
    const char **a =
        (const char **)lua_newuserdatauv(L, (size_t)n * sizeof *a + 1, 0);
    for (int i = 0; i < n; i++) {
      lua_rawgeti(L, -2, i + 1);
      a[i] = lua_tostring(L, -1); /* anchored by the set */
      lua_pop(L, 1);
    }
    qsort(a, (size_t)n, sizeof *a, cmpstr);
    lua_newtable(L); /* text, set, array, box, sorted */
    for (int i = 0; i < n; i++) {
      lua_pushstring(L, a[i]);
      lua_rawseti(L, -2, i + 1);
    }
  }
  return 1;
}
