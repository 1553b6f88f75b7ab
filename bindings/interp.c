/* bindings/interp.c: the lsock interpreter, a drop-in for lua(1) 5.4.
 * Same options, `arg` table, exit codes and REPL, with the lsock module
 * built in (require "lsock") and bound to the global `socket`. The REPL
 * adds line editing, history and completion (libedit or readline, loaded
 * when it starts at a terminal), readable values, help, and tasks that run
 * while the prompt waits. */

#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "../core/wait.h"
#include "l_help.h"
#include "l_state.h"
#include "l_task.h"
#include "l_trace.h"
#include "lsock.h"

/* CMake defines LSOCK_EDITLINE or LSOCK_READLINE when it found the library
 * (LSOCK_LINEEDIT), and LSOCK_EDITLIB, its soname. The library is not
 * linked but loaded by the REPL: linked, libedit and what it needs
 * (libtinfo, libbsd, libmd) would load at every start, script or not. */
#if defined(LSOCK_EDITLINE) || defined(LSOCK_READLINE)
#include <dlfcn.h>
#define LINEEDIT 1
#else
#define LINEEDIT 0
#endif

#define PROGNAME "lsock"
#define PROMPT1 "> "
#define PROMPT2 ">> "

#define HISTORY_VAR "LSOCK_HISTORY"   /* the history file; "" for none */
#define HISTORY_FILE ".lsock_history" /* in $HOME otherwise */
#define HISTORY_MAX 1000

#define INIT_VAR "LUA_INIT"
#define INIT_VAR_VERSIONED INIT_VAR LUA_VERSUFFIX

/* What the loader reports for a chunk that ended too early: the REPL then
 * asks for more lines instead of failing. */
#define EOFMARK "<eof>"
#define EOFMARK_LEN (sizeof(EOFMARK) - 1)

/* Bits returned by collectargs. */
enum { OPT_I = 1, OPT_V = 2, OPT_EXEC = 4, OPT_NOENV = 8, OPT_TRACE = 16 };
#define BAD_OPTION (-1)

/* Prefix for error reports; NULL inside the REPL, where lua(1) prints the
 * bare message. */
static const char *progname = PROGNAME;

/* The state a SIGINT should stop: the one inside docall. */
static lua_State *running = NULL;

/* Set by every SIGINT the interpreter catches; the REPL reads and clears
 * it to tell a ^C from other errors and other ends of input. */
static volatile sig_atomic_t sigint_seen = 0;

/* The REPL's input was cut by a ^C: the entry is dropped, not run. */
static int input_cancelled = 0;

static void message(const char *who, const char *msg) {
  if (who != NULL)
    fprintf(stderr, "%s: ", who);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}

static void print_version(void) {
  fputs(PROGNAME " " LSOCK_VERSION " (" LUA_RELEASE ")\n", stdout);
  fflush(stdout);
}

static void print_usage(const char *bad) {
  if (bad[1] == 'e' || bad[1] == 'l')
    fprintf(stderr, "%s: '%s' needs argument\n", PROGNAME, bad);
  else
    fprintf(stderr, "%s: unrecognized option '%s'\n", PROGNAME, bad);
  fputs("usage: " PROGNAME " [options] [script [args]]\n"
        "Available options are:\n"
        "  -e stat   run the Lua statement 'stat'\n"
        "  -i        enter interactive mode after running 'script'\n"
        "  -l mod    require module 'mod' into global 'mod'\n"
        "  -l g=mod  require module 'mod' into global 'g'\n"
        "  -v        print version information\n"
        "  -E        ignore environment variables (LUA_INIT, LUA_PATH...)\n"
        "  -W        turn warnings on\n"
        "  --trace   print every socket call on stderr (socket.trace)\n"
        "  --        stop handling options\n"
        "  -         stop handling options and run stdin\n",
        stderr);
  fflush(stderr);
}

/* Pushes a string describing the value at `idx` and returns it. A table or
 * userdata with __tostring (every lsock error object) is shown through it;
 * the metamethod runs under lua_pcall because this also serves msghandler,
 * which must not raise. */
static const char *tomessage(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER) {
    lua_pushvalue(L, idx);
    return lua_tostring(L, -1); /* converts the copy, not the original */
  }
  if (luaL_getmetafield(L, idx, "__tostring") != LUA_TNIL) {
    lua_pushvalue(L, idx); /* __tostring, value */
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
      return lua_tostring(L, -1);
    lua_pop(L, 1); /* a failed or non-string __tostring: describe the type */
  }
  return lua_pushfstring(L, "(error object is a %s value)",
                         luaL_typename(L, idx));
}

/* Prints the error on top of the stack and pops it. */
static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    message(progname, tomessage(L, -1));
    lua_pop(L, 2); /* the message and the error value */
  }
  return status;
}

/* The handler of every protected call: adds a traceback to the message. It
 * runs on top of the failing frame, where an error or a yield would lose the
 * original error: tomessage's lua_pcall has no continuation, so even a
 * __tostring that yields only fails there. */
static int msghandler(lua_State *L) {
  const char *msg = tomessage(L, 1);
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Runs when the hook set by on_sigint fires: between two instructions the
 * state is consistent, so raising here is safe, unlike in the handler. One
 * ^C is one error: if a socket call already raised "interrupted!" for it and
 * cleared the flag, there is nothing left to raise. Clearing it here keeps a
 * later, unrelated EINTR in the same call from looking like a ^C. */
static void interrupt_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  if (lsk_interrupted) {
    lsk_interrupted = 0;
    luaL_error(L, "interrupted!");
  }
}

static void set_handler(int sig, void (*handler)(int)) {
  struct sigaction sa;
  sa.sa_handler = handler;
  /* No SA_RESTART: a poll blocked in a socket call must see EINTR to notice
   * lsk_interrupted. */
  sa.sa_flags = 0;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

/* Only flags are set here (lua_sethook is safe to call from a handler). The
 * hook fires in Lua code; lsk_interrupted stops a socket call blocked in C,
 * which no hook would reach. */
static void on_sigint(int sig) {
  int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  set_handler(sig, SIG_DFL); /* a second ^C kills the process for good */
  lsk_interrupted = 1;
  sigint_seen = 1;
  lua_sethook(running, interrupt_hook, mask, 1);
  /* A task in a runaway loop runs on its own thread, which the hook on
   * the main one never reaches. */
  lua_State *task = lsockL_resuming;
  if (task)
    lua_sethook(task, interrupt_hook, mask, 1);
}

/* Calls the function below `narg` arguments with msghandler, ^C turned into
 * an "interrupted!" error for the duration of the call. The SIGINT handler
 * in place before (the REPL's, or the default) comes back after it. */
static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  int status;
  struct sigaction old;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base); /* msghandler, f, args... */
  running = L;
  lsk_interrupted = 0;
  sigaction(SIGINT, NULL, &old);
  set_handler(SIGINT, on_sigint);
  status = lua_pcall(L, narg, nres, base);
  sigaction(SIGINT, &old, NULL);
  /* A ^C that came as the call was ending left the hook armed; it must not
   * fire in the next REPL line. */
  if (lua_gethook(L) == interrupt_hook)
    lua_sethook(L, NULL, 0, 0);
  lua_remove(L, base);
  return status;
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK)
    status = docall(L, 0, 0);
  return report(L, status);
}

/* A NULL name reads stdin. */
static int dofile(lua_State *L, const char *name) {
  return dochunk(L, luaL_loadfile(L, name));
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -l mod sets global mod; -l g=mod sets global g. */
static int dolibrary(lua_State *L, const char *spec) {
  const char *eq = strchr(spec, '=');
  const char *mod = eq != NULL ? eq + 1 : spec;
  size_t glen = eq != NULL ? (size_t)(eq - spec) : strlen(spec);
  const char *glob = lua_pushlstring(L, spec, glen); /* gname */
  int status;
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);   /* gname, require, mod */
  status = docall(L, 1, 1); /* gname, module */
  if (status == LUA_OK)
    lua_setglobal(L, glob);
  report(L, status);
  lua_pop(L, 1); /* gname, still referenced by glob until now */
  return status;
}

/* Makes require "lsock" return the built-in module, so a stray lsock.so on
 * package.cpath can never load a second copy, and binds it to `socket`. */
static int openlsock(lua_State *L) {
  int status;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_lsock);
  lua_setfield(L, -2, "lsock");
  lua_pop(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lsock");
  status = docall(L, 1, 1);
  if (status == LUA_OK) {
    lua_getfield(L, -1, "help"); /* module, help */
    lua_setglobal(L, "help");
    lua_setglobal(L, "socket");
  }
  return report(L, status);
}

/* LUA_INIT_5_4 wins over LUA_INIT; "@file" runs a file, anything else is
 * code, named after the variable it came from. */
static int luainit(lua_State *L) {
  const char *name = "=" INIT_VAR_VERSIONED;
  const char *init = getenv(name + 1);
  if (init == NULL) {
    name = "=" INIT_VAR;
    init = getenv(name + 1);
  }
  if (init == NULL)
    return LUA_OK;
  if (init[0] == '@')
    return dofile(L, init + 1);
  return dostring(L, init, name);
}

/* Scans the options up to the script name, as lua(1) does. Returns the OPT_*
 * bits, or BAD_OPTION with *script at the offending word. Otherwise *script
 * is the index of the script ("-" for stdin), or argc when there is none. */
static int collectargs(char **argv, int *script) {
  int opts = 0;
  int i;
  *script = 0;
  if (argv[0] == NULL)
    return 0;
  for (i = 1; argv[i] != NULL; i++) {
    const char *a = argv[i];
    *script = i;
    if (a[0] != '-' || a[1] == '\0') /* the script, or "-" for stdin */
      return opts;
    switch (a[1]) {
    case '-':
      if (strcmp(a, "--trace") == 0) { /* lsock's own: trace from the start */
        opts |= OPT_TRACE;
        break;
      }
      if (a[2] != '\0')
        return BAD_OPTION;
      *script = i + 1;
      return opts;
    case 'e':
    case 'l':
      if (a[1] == 'e')
        opts |= OPT_EXEC;
      if (a[2] == '\0') {
        /* The value is the next word, which must not look like an option
         * (lua(1) rejects "-e -x" the same way). */
        if (argv[i + 1] == NULL || argv[i + 1][0] == '-')
          return BAD_OPTION;
        i++;
      }
      break;
    case 'i':
    case 'v':
    case 'E':
    case 'W':
      if (a[2] != '\0')
        return BAD_OPTION;
      if (a[1] == 'i')
        opts |= OPT_I | OPT_V; /* the REPL opens with the version banner */
      else if (a[1] == 'v')
        opts |= OPT_V;
      else if (a[1] == 'E')
        opts |= OPT_NOENV;
      break;
    default: return BAD_OPTION;
    }
  }
  *script = i;
  return opts;
}

/* Runs -e, -l and -W in command-line order, so that -W only affects what
 * follows it. Stops at the first failure. */
static int runargs(lua_State *L, char **argv, int n) {
  int i;
  for (i = 1; i < n; i++) {
    int opt = argv[i][1];
    const char *val;
    int status;
    if (opt == 'W')
      lua_warning(L, "@on", 0);
    if (opt != 'e' && opt != 'l')
      continue;
    val = argv[i][2] != '\0' ? argv[i] + 2 : argv[++i];
    if (opt == 'e')
      status = dostring(L, val, "=(command line)");
    else
      status = dolibrary(L, val);
    if (status != LUA_OK)
      return 0;
  }
  return 1;
}

/* arg[0] is the script, the interpreter and its options get negative
 * indices, the script's own arguments positive ones. Without a script the
 * interpreter is arg[0]. */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  int i;
  if (script >= argc)
    script = 0;
  lua_createtable(L, argc > script ? argc - script - 1 : 0, script + 1);
  for (i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* Pushes arg[1..#arg] as the script's `...`. LUA_INIT, -e or -l may have
 * replaced `arg`, hence the check. */
static int pushargs(lua_State *L) {
  int t, n, i;
  if (lua_getglobal(L, "arg") != LUA_TTABLE)
    luaL_error(L, "'arg' is not a table");
  t = lua_gettop(L);
  n = (int)luaL_len(L, t);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (i = 1; i <= n; i++)
    lua_rawgeti(L, t, i);
  lua_remove(L, t);
  return n;
}

/* argv[0] is the script name. "-" reads stdin, unless it came after "--":
 * then it is a file named "-", as in lua(1). */
static int runscript(lua_State *L, char **argv) {
  const char *name = argv[0];
  int status;
  if (strcmp(name, "-") == 0 && strcmp(argv[-1], "--") != 0)
    name = NULL;
  status = luaL_loadfile(L, name);
  if (status == LUA_OK) {
    int n = pushargs(L);
    status = docall(L, n, 0);
  }
  return report(L, status);
}

/* socket.run(): the tasks the code spawned run to their end, and a task
 * that failed with nobody joining it fails the program. */
static int runtasks(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "lsock");
  lua_getfield(L, -1, "run");
  lua_remove(L, -2);
  lua_remove(L, -2);
  return report(L, docall(L, 0, 0));
}

/* ---- reading input: the loop turns while the prompt waits ---- */

/* Whether the REPL reads a terminal: then it edits lines (when the line
 * editor loads) and prints values readably. Piped input gets lua(1)'s plain
 * behaviour, so scripted sessions print what lua -i prints. */
static int interactive = 0;

/* The state the line editor's callbacks use (they take no argument). */
static lua_State *replL = NULL;

/* The REPL's SIGINT handler while no call runs: reading a line. */
static void on_prompt_sigint(int sig) {
  (void)sig;
  sigint_seen = 1;
}

/* Whether stdin has input to read now. */
static int inputready(void) {
  struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN, .revents = 0};
  return poll(&p, 1, 0) > 0;
}

static int waitinput_(lua_State *L) {
  /* While tasks run, the wait is the event loop's, which reports input as
   * it comes (edge-triggered): input already there (typed ahead, or left
   * by GNU readline's own read-ahead) would never be reported, and the
   * prompt would hang. Such input gets a wait that has already expired:
   * the tasks have one turn, then the read goes ahead. */
  lsk_deadline d = inputready() ? lsk_deadline_after(0) : LSK_NEVER;
  /* Errors other than ^C (epoll refusing a regular file, say) only mean
   * that waiting is not possible: the read that follows then blocks. */
  lsockL_waitfd(L, NULL, STDIN_FILENO, LSK_WANT_READ, d, NULL, 0);
  return 0;
}

/* Waits until stdin is readable while the event loop runs the tasks, so a
 * task spawned at the prompt serves while the user types. Returns 0, or
 * -1 when a ^C came first (the input is then cancelled). */
static int waitinput(lua_State *L) {
  int status;
  if (sigint_seen)
    return -1;
  lua_pushcfunction(L, waitinput_);
  status = docall(L, 0, 0);
  if (status != LUA_OK) {
    if (sigint_seen) {
      lua_pop(L, 1);
      return -1;
    }
    report(L, status);
  }
  return sigint_seen ? -1 : 0;
}

#if LINEEDIT
/* Whether the line editor reads the REPL's lines. */
static int editing = 0;

/* The part of the readline API the REPL uses, which libedit and GNU
 * readline both export with these types (editline/readline.h,
 * readline/readline.h), found by dlsym. add_history returns an int in
 * libedit and nothing in readline; the REPL ignores it. */
typedef char *compentry_fn(const char *text, int state);
typedef char **completion_fn(const char *text, int start, int end);

static struct {
  char *(*readline)(const char *prompt);
#if defined(LSOCK_EDITLINE)
  int (*add_history)(const char *line);
#else
  void (*add_history)(const char *line);
#endif
  void (*using_history)(void);
  void (*stifle_history)(int max);
  int (*read_history)(const char *path);
  int (*write_history)(const char *path);
  char **(*completion_matches)(const char *text, compentry_fn *next);
  /* Variables: the library's own, written through these pointers. */
  const char **readline_name;
  int (**getc_function)(FILE *f);
  int *catch_signals;
  completion_fn **attempted_completion_function;
  const char **basic_word_break_characters;
  char **completer_word_break_characters;
  int *attempted_completion_over;
  int *completion_append_character;
} ed;

/* Stores the address of `name` in *slot, a pointer of any type: POSIX
 * gives function and data pointers one representation, which dlsym relies
 * on. Returns 0 when the library lacks the name. */
static int findsym(void *lib, const char *name, void *slot) {
  void *p = dlsym(lib, name);
  memcpy(slot, &p, sizeof p);
  return p != NULL;
}

/* Loads the line editor and fills `ed`. Returns 0 when it is not installed
 * or lacks part of the API; the REPL then reads plain lines. Once loaded
 * it stays loaded: the REPL runs once, and the process ends after it. */
static int openedit(void) {
  void *lib = dlopen(LSOCK_EDITLIB, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL)
    return 0;
  if (findsym(lib, "readline", &ed.readline) &&
      findsym(lib, "add_history", &ed.add_history) &&
      findsym(lib, "using_history", &ed.using_history) &&
      findsym(lib, "stifle_history", &ed.stifle_history) &&
      findsym(lib, "read_history", &ed.read_history) &&
      findsym(lib, "write_history", &ed.write_history) &&
      findsym(lib, "rl_completion_matches", &ed.completion_matches) &&
      findsym(lib, "rl_readline_name", &ed.readline_name) &&
      findsym(lib, "rl_getc_function", &ed.getc_function) &&
      findsym(lib, "rl_catch_signals", &ed.catch_signals) &&
      findsym(lib, "rl_attempted_completion_function",
              &ed.attempted_completion_function) &&
      findsym(lib, "rl_basic_word_break_characters",
              &ed.basic_word_break_characters) &&
      findsym(lib, "rl_completer_word_break_characters",
              &ed.completer_word_break_characters) &&
      findsym(lib, "rl_attempted_completion_over",
              &ed.attempted_completion_over) &&
      findsym(lib, "rl_completion_append_character",
              &ed.completion_append_character))
    return 1;
  dlclose(lib);
  return 0;
}

/* Reads one byte after waiting for it; EOF at end of input, or on ^C with
 * input_cancelled set. */
static int readbyte(void) {
  unsigned char c;
  for (;;) {
    ssize_t r;
    if (waitinput(replL) != 0) {
      input_cancelled = 1;
      return EOF;
    }
    r = read(STDIN_FILENO, &c, 1);
    if (r == 1)
      return c;
    if (r == 0 || (errno != EINTR && errno != EAGAIN))
      return EOF;
  }
}

/* The line editor reads through this hook, so tasks run between keys.
 * libedit's readline takes the hook's int as a whole character, hence
 * UTF-8 is decoded here; GNU readline wants the bytes. */
static int getc_hook(FILE *f) {
  int c = readbyte();
  (void)f;
#if defined(LSOCK_EDITLINE)
  if (c >= 0xC0 && c < 0xF8) {
    int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
    int cp = c & (0x3F >> more);
    while (more-- > 0) {
      int d = readbyte();
      if (d == EOF)
        return EOF;
      cp = (cp << 6) | (d & 0x3F);
    }
    c = cp;
  }
#endif
  return c;
}

/* Tab completion: the candidates come from lsockL_completions, run under
 * lua_pcall so that nothing can raise through the library's frames. */
static char **cands = NULL;
static int ncands = 0;

static void freecands(void) {
  for (int i = 0; i < ncands; i++)
    free(cands[i]);
  free(cands);
  cands = NULL;
  ncands = 0;
}

static void findcands(const char *text) {
  lua_State *L = replL;
  int top = lua_gettop(L);
  freecands();
  lua_pushcfunction(L, lsockL_completions);
  lua_pushstring(L, text);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
    int n = (int)lua_rawlen(L, -1);
    cands = calloc((size_t)n + 1, sizeof *cands);
    for (int i = 1; cands != NULL && i <= n; i++) {
      lua_rawgeti(L, -1, i);
      if ((cands[ncands] = strdup(lua_tostring(L, -1))) != NULL)
        ncands++;
      lua_pop(L, 1);
    }
  }
  lua_settop(L, top);
}

/* The generator ed.completion_matches calls: state 0 starts a new word,
 * each call hands over one malloc'd match. */
static char *nextcand(const char *text, int state) {
  static int i;
  if (state == 0) {
    findcands(text);
    i = 0;
  }
  return i < ncands ? strdup(cands[i++]) : NULL;
}

static char **complete(const char *text, int start, int end) {
  (void)start;
  (void)end;
  *ed.attempted_completion_over = 1;      /* never fall back to file names */
  *ed.completion_append_character = '\0'; /* "socket." goes on with a dot */
  return ed.completion_matches(text, nextcand);
}

/* Word breaks without '.' and ':', so "socket.AF_I" is one word. */
static char wordbreak[] = " \t\n\"'`@$><=;|&{}()[],+-*/%^~#";

/* The history file: $LSOCK_HISTORY ("" for none), else ~/.lsock_history.
 * Its name stays in the registry while the REPL runs. */
static const char *histpath = NULL;

static void findhistory(lua_State *L) {
  const char *env = getenv(HISTORY_VAR), *home = getenv("HOME");
  if (env != NULL)
    lua_pushstring(L, env);
  else if (home != NULL && home[0] != '\0')
    lua_pushfstring(L, "%s/%s", home, HISTORY_FILE);
  else
    lua_pushliteral(L, "");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, HISTORY_VAR);
  histpath = lua_tostring(L, -1)[0] != '\0' ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1);
}

static void initedit(lua_State *L) {
  *ed.readline_name = PROGNAME;
  *ed.getc_function = getc_hook;
  *ed.catch_signals = 0; /* ^C is ours: on_prompt_sigint, docall's handler */
  *ed.attempted_completion_function = complete;
  *ed.basic_word_break_characters = wordbreak; /* libedit reads this one */
  *ed.completer_word_break_characters = wordbreak;
  ed.using_history();
  ed.stifle_history(HISTORY_MAX);
  findhistory(L);
  if (histpath != NULL)
    ed.read_history(histpath);
}

static void doneedit(void) {
  freecands();
  histpath = NULL;
}

/* Reads a line with the editor into a malloc'd string, NULL at end. */
static char *editline(const char *prompt) {
  char *line = ed.readline(prompt);
  if (line != NULL && line[0] != '\0' && !input_cancelled) {
    ed.add_history(line);
    /* Written at once, so a session that dies keeps what it typed. */
    if (histpath != NULL)
      ed.write_history(histpath);
  }
  return line;
}
#endif

/* Pushes the prompt as a string; _PROMPT and _PROMPT2 may hold any value
 * that tostring accepts. */
static const char *get_prompt(lua_State *L, int firstline) {
  const char *p;
  if (lua_getglobal(L, firstline ? "_PROMPT" : "_PROMPT2") == LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushstring(L, firstline ? PROMPT1 : PROMPT2);
  }
  p = luaL_tolstring(L, -1, NULL);
  lua_remove(L, -2);
  return p;
}

/* Reads a line with fgets from unbuffered stdin (set up by doREPL), so
 * that no input hides in a stdio buffer while the loop waits on the
 * descriptor. A line is read whole however long it is. */
static int plainline(lua_State *L) {
  char chunk[512];
  luaL_Buffer b;
  int got = 0;
  luaL_buffinit(L, &b);
  for (;;) {
    size_t len;
    if (waitinput(L) != 0) {
      input_cancelled = 1;
      break;
    }
    if (fgets(chunk, sizeof chunk, stdin) == NULL) {
      if (ferror(stdin) && errno == EINTR && !sigint_seen) {
        clearerr(stdin);
        continue;
      }
      break;
    }
    len = strlen(chunk);
    got = 1;
    if (len > 0 && chunk[len - 1] == '\n') {
      luaL_addlstring(&b, chunk, len - 1);
      break;
    }
    luaL_addlstring(&b, chunk, len);
  }
  luaL_pushresult(&b);
  if (!got || input_cancelled) {
    lua_pop(L, 1);
    return 0;
  }
  return 1;
}

/* Prompts, then pushes one input line without its newline; returns 0 (and
 * pushes nothing) at end of input or when a ^C cancelled it. */
static int pushline(lua_State *L, int firstline) {
  const char *prompt = get_prompt(L, firstline);
  if (input_cancelled) {
    lua_pop(L, 1);
    return 0;
  }
#if LINEEDIT
  if (editing) {
    char *line = editline(prompt);
    lua_pop(L, 1); /* the prompt */
    if (line == NULL || input_cancelled) {
      free(line);
      return 0;
    }
    lua_pushstring(L, line);
    free(line);
  } else
#endif
  {
    fputs(prompt, stdout);
    fflush(stdout);
    lua_pop(L, 1);
    if (!plainline(L))
      return 0;
  }
  /* "=expr" is the 5.1-era shorthand for "return expr"; lua 5.4 keeps it. */
  if (firstline && lua_tostring(L, -1)[0] == '=') {
    lua_pushfstring(L, "return %s", lua_tostring(L, -1) + 1);
    lua_remove(L, -2);
  }
  return 1;
}

static int incomplete(lua_State *L, int status) {
  size_t len;
  const char *msg;
  if (status != LUA_ERRSYNTAX)
    return 0;
  msg = lua_tolstring(L, -1, &len);
  return len >= EOFMARK_LEN && strcmp(msg + len - EOFMARK_LEN, EOFMARK) == 0;
}

/* Compiles "return <line>" so that an expression prints its value. Leaves
 * the line and, on success, the chunk above it. */
static int addreturn(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *code = lua_pushfstring(L, "return %s;", line); /* line, code */
  int status = luaL_loadbuffer(L, code, strlen(code), "=stdin");
  if (status == LUA_OK)
    lua_remove(L, -2); /* line, chunk */
  else
    lua_pop(L, 2); /* line */
  return status;
}

/* Compiles the text at index 1 as a statement, reading more lines while the
 * only problem is that it ended too early. Leaves the chunk or the error
 * above the text; at end of input mid-statement, that error is reported. */
static int multiline(lua_State *L) {
  for (;;) {
    size_t len;
    const char *code = lua_tolstring(L, 1, &len);
    int status = luaL_loadbuffer(L, code, len, "=stdin"); /* code, chunk */
    if (!incomplete(L, status) || !pushline(L, 0))
      return status;
    lua_remove(L, -2); /* code, line: the <eof> error is moot now */
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3); /* code .. "\n" .. line */
  }
}

/* Reads and compiles one REPL entry. Returns -1 at end of input, -2 when a
 * ^C cancelled it, else the load status with the chunk or the error
 * message alone on the stack. */
static int loadline(lua_State *L) {
  int status;
  lua_settop(L, 0);
  if (!pushline(L, 1))
    return input_cancelled ? -2 : -1;
  status = addreturn(L);
  if (status != LUA_OK)
    status = multiline(L);
  if (input_cancelled)
    return -2;
  lua_remove(L, 1); /* the source text */
  return status;
}

/* Replaces each argument by its readable rendering. */
static int reprall(lua_State *L) {
  int n = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    lsockL_repr(L, i);
    lua_replace(L, i);
  }
  return n;
}

/* Prints whatever the entry returned through the global print, so that a
 * script that replaces print changes the REPL too; at a terminal each
 * value goes through lsockL_repr first ("a" quoted, tables with fields). */
static void printresults(lua_State *L) {
  int n = lua_gettop(L);
  int status = LUA_OK;
  if (n == 0)
    return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  if (interactive) {
    lua_pushcfunction(L, reprall);
    lua_insert(L, 1);
    status = lua_pcall(L, n, n, 0);
  }
  if (status == LUA_OK) {
    lua_getglobal(L, "print");
    lua_insert(L, 1);
    status = lua_pcall(L, n, 0, 0);
  }
  if (status != LUA_OK) {
    const char *err = tomessage(L, -1);
    message(progname, lua_pushfstring(L, "error calling 'print' (%s)", err));
  }
  lua_settop(L, 0);
}

/* The loop of the REPL. Tasks spawned at the prompt run while it waits
 * (see waitinput); the REPL never calls socket.run(), so Ctrl-D leaves at
 * once, abandoning the tasks still running. ^C while a line is read drops
 * the entry and prompts again; ^C during a call interrupts the call. */
static void doREPL(lua_State *L) {
  const char *saved = progname;
  struct sigaction old;
  int status;
  progname = NULL;
  replL = L;
  interactive = isatty(STDIN_FILENO);
  /* Unbuffered, so that input read ahead never hides from the wait. */
  setvbuf(stdin, NULL, _IONBF, 0);
  sigaction(SIGINT, NULL, &old);
  set_handler(SIGINT, on_prompt_sigint);
#if LINEEDIT
  editing = interactive && openedit();
  if (editing)
    initedit(L);
#endif
  for (;;) {
    input_cancelled = 0;
    sigint_seen = 0;
    status = loadline(L);
    if (status == -1)
      break;
    if (status == -2) { /* ^C: a fresh prompt on a fresh line */
      fputs("\n", stdout);
      fflush(stdout);
      continue;
    }
    if (status == LUA_OK)
      status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK)
      printresults(L);
    else
      report(L, status);
  }
#if LINEEDIT
  if (editing)
    doneedit();
  editing = 0;
#endif
  sigaction(SIGINT, &old, NULL);
  lua_settop(L, 0);
  fputs("\n", stdout); /* end the last prompt's line */
  fflush(stdout);
  progname = saved;
  replL = NULL;
}

/* Everything that can raise runs here, under main's lua_pcall: a memory
 * error while building the state is then reported like any other. Returns
 * true only when every step succeeded. */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int script, nothing, repl;
  int opts = collectargs(argv, &script);
  luaL_checkversion(L);
  if (opts == BAD_OPTION) {
    print_usage(argv[script]);
    return 0;
  }
  if (opts & OPT_V)
    print_version();
  if (opts & OPT_NOENV) {
    /* The package library reads this flag and then skips LUA_PATH and
     * LUA_CPATH, as with lua -E. */
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  if (openlsock(L) != LUA_OK)
    return 0;
  if (opts & OPT_TRACE)
    lsockL_settrace(L, 1, 0);
  createargtable(L, argv, argc, script);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0); /* lua(1)'s choice for 5.4 */
  if (!(opts & OPT_NOENV) && luainit(L) != LUA_OK)
    return 0;
  if (!runargs(L, argv, script))
    return 0;
  if (script < argc && runscript(L, argv + script) != LUA_OK)
    return 0;
  /* Nothing to run: talk to a terminal, or run a piped script. */
  nothing = script >= argc && !(opts & (OPT_EXEC | OPT_V));
  repl = (opts & OPT_I) || (nothing && isatty(STDIN_FILENO));
  /* Before a REPL the tasks are not run to their end: they keep running
   * while the prompt waits, so `lsock -i server.lua` serves and prompts. */
  if (!repl && runtasks(L) != LUA_OK)
    return 0;
  if (repl) {
    if (!(opts & OPT_I))
      print_version();
    doREPL(L);
  } else if (nothing && (dofile(L, NULL) != LUA_OK || runtasks(L) != LUA_OK)) {
    return 0;
  }
  lua_pushboolean(L, 1);
  return 1;
}

int main(int argc, char **argv) {
  lua_State *L = lsockL_newstate();
  int status, ok;
  if (L == NULL) {
    message(PROGNAME, "cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  lua_gc(L, LUA_GCSTOP); /* no collections while the libraries load */
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  status = lua_pcall(L, 2, 1, 0);
  ok = lua_toboolean(L, -1);
  report(L, status);
  lua_close(L);
  return (ok && status == LUA_OK) ? EXIT_SUCCESS : EXIT_FAILURE;
}
