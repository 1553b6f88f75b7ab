/* bindings/l_policy: the network policy of a state. The rules are parsed
 * once, when the host sets them, into a userdata in the registry that the
 * state's context points at; each check reads that pointer and, for
 * addresses, compares prefixes. */
#include "l_policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l_error.h"

typedef struct Rule {
  int family;
  unsigned char addr[16];
  int prefix; /* bits */
} Rule;

struct Policy {
  unsigned families;
  int port_min, port_max;
  int max_sockets;
  int anyaddr; /* no address list: every address */
  int nrules;
  Rule rules[];
};
typedef struct Policy Policy;

/* registry: the Policy userdata, which keeps alive the one the context
 * points at */
static const char policykey = 0;

/* Raises the "policy" error: an error object like any other (errno
 * EACCES), whose kind and message say which rule refused the call. */
static void refuse(lua_State *L, const char *op, const char *where,
                   const char *rule) {
  lsockL_pusherror(L, EACCES, op, where);
  lua_pushliteral(L, "policy");
  lua_setfield(L, -2, "kind");
  lua_pushfstring(L, "refused by the network policy (%s)", rule);
  lua_setfield(L, -2, "message");
  lua_error(L);
}

static const char *familyname(int family) {
  switch (family) {
  case AF_INET: return "AF_INET";
  case AF_INET6: return "AF_INET6";
  case AF_UNIX: return "AF_UNIX";
  default: return "this family";
  }
}

void lsockL_policy_family(lua_State *L, const lsockL_Ctx *c, int family,
                          const char *op) {
  const Policy *p = c->policy;
  char rule[64];
  if (!p || p->families == 0)
    return;
  if (family >= 0 && family < 32 && (p->families & (1u << family)))
    return;
  snprintf(rule, sizeof rule, "%s not allowed", familyname(family));
  refuse(L, op, NULL, rule);
}

void lsockL_policy_count(lua_State *L, const lsockL_Ctx *c, int open,
                         const char *op) {
  const Policy *p = c->policy;
  char rule[64];
  if (!p || p->max_sockets == 0 || open < p->max_sockets)
    return;
  snprintf(rule, sizeof rule, "at most %d sockets", p->max_sockets);
  refuse(L, op, NULL, rule);
}

static int matches(const Rule *r, int family, const unsigned char *a) {
  if (r->family != family)
    return 0;
  int full = r->prefix / 8, rest = r->prefix % 8;
  if (memcmp(r->addr, a, (size_t)full) != 0)
    return 0;
  if (rest == 0)
    return 1;
  unsigned char mask = (unsigned char)(0xff << (8 - rest));
  return (r->addr[full] & mask) == (a[full] & mask);
}

void lsockL_policy_addr(lua_State *L, const lsockL_Ctx *c, const lsk_addr *a,
                        const char *op) {
  const Policy *p = c->policy;
  char where[LSK_ADDR_TEXT_MAX], rule[96];
  if (!p)
    return;
  int family = a->u.sa.sa_family;
  lsk_addr_format(a, where, sizeof where);
  lsockL_policy_family(L, c, family, op);
  if (family != AF_INET && family != AF_INET6)
    return;
  int port = lsk_addr_port(a);
  /* Port 0 asks the kernel for any free port (bind) and reaches nothing
   * (connect), so the range does not apply to it. */
  if (p->port_max > 0 && port != 0 &&
      (port < p->port_min || port > p->port_max)) {
    snprintf(rule, sizeof rule, "ports %d-%d only", p->port_min,
             p->port_max);
    refuse(L, op, where, rule);
  }
  if (p->anyaddr)
    return;
  const unsigned char *bytes =
      family == AF_INET ? (const unsigned char *)&a->u.in.sin_addr
                        : (const unsigned char *)&a->u.in6.sin6_addr;
  for (int i = 0; i < p->nrules; i++)
    if (matches(&p->rules[i], family, bytes))
      return;
  refuse(L, op, where, "address not in the allowed list");
}

/* "10.0.0.0/8", "::1", "127.0.0.1/32" into a rule. */
static int parserule(const char *text, Rule *r) {
  char buf[INET6_ADDRSTRLEN + 8];
  const char *slash = strchr(text, '/');
  size_t len = slash ? (size_t)(slash - text) : strlen(text);
  if (len >= INET6_ADDRSTRLEN)
    return EINVAL;
  memcpy(buf, text, len);
  buf[len] = '\0';
  memset(r, 0, sizeof *r);
  if (inet_pton(AF_INET, buf, r->addr) == 1) {
    r->family = AF_INET;
    r->prefix = 32;
  } else if (inet_pton(AF_INET6, buf, r->addr) == 1) {
    r->family = AF_INET6;
    r->prefix = 128;
  } else {
    return EINVAL;
  }
  if (slash) {
    char *end;
    long bits = strtol(slash + 1, &end, 10);
    if (*end || end == slash + 1 || bits < 0 || bits > r->prefix)
      return EINVAL;
    r->prefix = (int)bits;
  }
  return 0;
}

int lsockL_setpolicy(lua_State *L, const lsock_policy *lp) {
  lsockL_Ctx *c = lsockL_ctx(L);
  if (!lp) {
    c->policy = NULL;
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &policykey);
    return 0;
  }
  if (lp->port_min < 0 || lp->port_max > 65535 ||
      (lp->port_max > 0 && lp->port_min > lp->port_max) ||
      lp->max_sockets < 0)
    return EINVAL;
  int n = 0;
  if (lp->allow)
    while (lp->allow[n])
      n++;
  Policy *p = (Policy *)lua_newuserdatauv(
      L, sizeof(Policy) + (size_t)n * sizeof(Rule), 0);
  p->families = lp->families;
  p->port_min = lp->port_min;
  p->port_max = lp->port_max;
  p->max_sockets = lp->max_sockets;
  p->anyaddr = lp->allow == NULL;
  p->nrules = n;
  for (int i = 0; i < n; i++) {
    if (parserule(lp->allow[i], &p->rules[i]) != 0) {
      lua_pop(L, 1);
      return EINVAL;
    }
  }
  c->policy = p;
  lua_rawsetp(L, LUA_REGISTRYINDEX, &policykey);
  return 0;
}
